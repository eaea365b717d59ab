-- Every change an admin or a supervisor makes: who, when, what, and the object before and after
-- (JSON, secrets blanked). Kept per organisation; the back office reads it newest first.
CREATE TABLE audit_log (
    id           INTEGER PRIMARY KEY,
    org_id       BIGINT NOT NULL REFERENCES organisations(id),
    at           BIGINT NOT NULL,
    actor_id     BIGINT,
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL,
    object_kind  TEXT NOT NULL,
    object_id    BIGINT,
    before       TEXT,
    after        TEXT,
    -- The entry's words in lower case (the actor, the action, before and after), for search:
    -- LIKE folds only ASCII on SQLite and nothing on PostgreSQL.
    haystack     TEXT NOT NULL
);
CREATE INDEX audit_log_org ON audit_log(org_id, id);
