-- The reasons an operator picks from when taking a break (Обед, Технический перерыв, …): a list
-- each organisation edits in the back office, in the order it is shown. Organisations that
-- exist get the usual four; an empty list lets operators type their own reason.
CREATE TABLE break_reasons (
    id        INTEGER PRIMARY KEY,
    org_id    BIGINT NOT NULL REFERENCES organisations(id),
    name      TEXT NOT NULL,
    position  INTEGER NOT NULL,
    UNIQUE (org_id, name)
);
INSERT INTO break_reasons (org_id, name, position) SELECT id, 'Обед', 1 FROM organisations;
INSERT INTO break_reasons (org_id, name, position) SELECT id, 'Технический перерыв', 2 FROM organisations;
INSERT INTO break_reasons (org_id, name, position) SELECT id, 'Личное время', 3 FROM organisations;
INSERT INTO break_reasons (org_id, name, position) SELECT id, 'Обучение', 4 FROM organisations;
