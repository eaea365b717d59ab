-- A branch's address, and the days unlike its week: holidays closed all day, shortened eves,
-- Saturdays worked in exchange. JSON list of {"date": "2027-01-01", "hours": null, "note": ""}.
ALTER TABLE branches ADD COLUMN address TEXT NOT NULL DEFAULT '';
ALTER TABLE branches ADD COLUMN holidays TEXT NOT NULL DEFAULT '[]';

-- The branches a user works in; none listed: every branch of the organisation.
CREATE TABLE user_branches (
    user_id    BIGINT NOT NULL REFERENCES users(id),
    branch_id  BIGINT NOT NULL REFERENCES branches(id),
    PRIMARY KEY (user_id, branch_id)
);

-- A service or window taken off the branch (the kiosk's menu, the console's windows) keeps its
-- row, so past tickets still name it; adding the same window label again brings it back.
ALTER TABLE services ADD COLUMN retired BIGINT NOT NULL DEFAULT 0;
ALTER TABLE windows ADD COLUMN retired BIGINT NOT NULL DEFAULT 0;
