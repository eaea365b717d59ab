-- Foundation: organisations, branches, services, windows, people, devices, sessions and the
-- electronic queue's tickets. Times are epoch milliseconds (INTEGER) on both backends.

CREATE TABLE organisations (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE branches (
    id                      INTEGER PRIMARY KEY,
    org_id                  INTEGER NOT NULL REFERENCES organisations(id),
    name                    TEXT NOT NULL,
    timezone                TEXT NOT NULL,
    lang                    TEXT NOT NULL DEFAULT 'ru',
    schedule                TEXT NOT NULL,
    recalls_before_no_show  INTEGER NOT NULL DEFAULT 1,
    board_size              INTEGER NOT NULL DEFAULT 8,
    vip_code                TEXT
);

-- A two-level menu: a group (prefix NULL) holds services; a service issues tickets.
CREATE TABLE services (
    id         INTEGER PRIMARY KEY,
    org_id     INTEGER NOT NULL REFERENCES organisations(id),
    branch_id  INTEGER NOT NULL REFERENCES branches(id),
    parent_id  INTEGER REFERENCES services(id),
    name_ru    TEXT NOT NULL,
    name_en    TEXT NOT NULL,
    prefix     TEXT,
    position   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX services_branch ON services(branch_id);

CREATE TABLE windows (
    id         INTEGER PRIMARY KEY,
    org_id     INTEGER NOT NULL REFERENCES organisations(id),
    branch_id  INTEGER NOT NULL REFERENCES branches(id),
    label      TEXT NOT NULL,
    UNIQUE (branch_id, label)
);

CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    org_id         INTEGER NOT NULL REFERENCES organisations(id),
    login          TEXT NOT NULL UNIQUE,
    name           TEXT NOT NULL,
    role           TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    lang           TEXT NOT NULL DEFAULT 'ru',
    created_at     INTEGER NOT NULL
);

CREATE TABLE devices (
    id           INTEGER PRIMARY KEY,
    org_id       INTEGER NOT NULL REFERENCES organisations(id),
    branch_id    INTEGER NOT NULL REFERENCES branches(id),
    kind         TEXT NOT NULL,
    login        TEXT NOT NULL UNIQUE,
    name         TEXT NOT NULL,
    secret_hash  TEXT NOT NULL,
    lang         TEXT NOT NULL DEFAULT 'ru'
);

-- A session belongs to a user or a device; only a SHA-256 of its token is kept.
CREATE TABLE sessions (
    token_hash  TEXT PRIMARY KEY,
    org_id      INTEGER NOT NULL REFERENCES organisations(id),
    user_id     INTEGER REFERENCES users(id),
    device_id   INTEGER REFERENCES devices(id),
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);

-- Per branch, prefix and local day: the last number issued. Bumped atomically by upsert.
CREATE TABLE ticket_counters (
    branch_id  INTEGER NOT NULL,
    prefix     TEXT NOT NULL,
    day        TEXT NOT NULL,
    last       INTEGER NOT NULL,
    PRIMARY KEY (branch_id, prefix, day)
);

CREATE TABLE tickets (
    id           INTEGER PRIMARY KEY,
    public_id    TEXT NOT NULL UNIQUE,
    org_id       INTEGER NOT NULL REFERENCES organisations(id),
    branch_id    INTEGER NOT NULL REFERENCES branches(id),
    service_id   INTEGER NOT NULL REFERENCES services(id),
    number       TEXT NOT NULL,
    day          TEXT NOT NULL,
    channel      TEXT NOT NULL,
    priority     INTEGER NOT NULL DEFAULT 0,
    sort_key     INTEGER NOT NULL,
    status       TEXT NOT NULL,
    recalls      INTEGER NOT NULL DEFAULT 0,
    issued_at    INTEGER NOT NULL,
    called_at    INTEGER,
    started_at   INTEGER,
    finished_at  INTEGER,
    window_id    INTEGER REFERENCES windows(id),
    operator_id  INTEGER REFERENCES users(id),
    comment      TEXT
);
CREATE INDEX tickets_waiting ON tickets(branch_id, status, priority DESC, sort_key, id);
CREATE INDEX tickets_called ON tickets(branch_id, called_at);
CREATE INDEX tickets_operator ON tickets(operator_id, status);

-- The ticket's timeline: every change, with who and where.
CREATE TABLE ticket_events (
    id           INTEGER PRIMARY KEY,
    ticket_id    INTEGER NOT NULL REFERENCES tickets(id),
    at           INTEGER NOT NULL,
    kind         TEXT NOT NULL,
    operator_id  INTEGER,
    window_id    INTEGER,
    detail       TEXT
);
CREATE INDEX ticket_events_ticket ON ticket_events(ticket_id);

-- Where an operator sits and what they serve, so a restarted actor picks up where it was.
CREATE TABLE operator_states (
    user_id      INTEGER PRIMARY KEY REFERENCES users(id),
    window_id    INTEGER REFERENCES windows(id),
    service_ids  TEXT NOT NULL DEFAULT '[]',
    presence     TEXT NOT NULL DEFAULT '{"state":"offline"}',
    since        INTEGER NOT NULL
);
