-- An engineer's day as the dispatcher ordered it: the requests to visit, in order. The hub
-- proposes an order (model::visits); one saved here is the dispatcher's, for that local day.
CREATE TABLE visit_plans (
    org_id       INTEGER NOT NULL REFERENCES organisations(id),
    user_id      INTEGER NOT NULL REFERENCES users(id),
    day          TEXT NOT NULL,
    request_ids  TEXT NOT NULL,
    by_user      INTEGER NOT NULL REFERENCES users(id),
    at           INTEGER NOT NULL,
    PRIMARY KEY (org_id, user_id, day)
);
