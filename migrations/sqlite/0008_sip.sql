-- Telephony: operators' SIP accounts (their desk phones), the organisation's numbers with their
-- IVR menus, and one record per call leg pair (the call detail record).

-- A SIP account belongs to one operator: the registrar knows whose phone registers, routing knows
-- where to ring them. ha1 = MD5(username:realm:password), what digest needs; the password itself
-- is never stored (and is not the operator's sign-in password).
CREATE TABLE sip_accounts (
    id          INTEGER PRIMARY KEY,
    org_id      INTEGER NOT NULL REFERENCES organisations(id),
    user_id     INTEGER NOT NULL UNIQUE REFERENCES users(id),
    username    TEXT NOT NULL UNIQUE,
    realm       TEXT NOT NULL,
    ha1         TEXT NOT NULL,
    -- The phone answers by itself: an offered call is accepted for the operator at once.
    auto_answer INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL
);

-- A number callers dial (a DID on a trunk, or an extension on the hub itself), with its menu:
-- choices is a JSON object of key → service id.
CREATE TABLE sip_numbers (
    id                  INTEGER PRIMARY KEY,
    org_id              INTEGER NOT NULL REFERENCES organisations(id),
    number              TEXT NOT NULL UNIQUE,
    greeting            TEXT NOT NULL,
    prompt              TEXT NOT NULL,
    choices             TEXT NOT NULL DEFAULT '{}',
    default_service_id  INTEGER NOT NULL REFERENCES services(id),
    lang                TEXT NOT NULL DEFAULT 'ru',
    -- How often a waiting caller hears their place in the queue.
    position_secs       INTEGER NOT NULL DEFAULT 30,
    -- After this long in the queue the caller is offered voicemail (0: never).
    max_wait_secs       INTEGER NOT NULL DEFAULT 600,
    created_at          INTEGER NOT NULL
);

-- One call: when it rang, was queued, answered by the operator's phone, ended, and who hung up.
CREATE TABLE calls (
    id               INTEGER PRIMARY KEY,
    org_id           INTEGER NOT NULL REFERENCES organisations(id),
    call_id          TEXT NOT NULL UNIQUE,
    direction        TEXT NOT NULL,
    caller           TEXT NOT NULL,
    number           TEXT NOT NULL,
    conversation_id  INTEGER REFERENCES conversations(id),
    operator_id      INTEGER REFERENCES users(id),
    started_at       INTEGER NOT NULL,
    queued_at        INTEGER,
    answered_at      INTEGER,
    ended_at         INTEGER,
    -- 'caller', 'operator', 'hub' (shutdown, failure), 'timeout'.
    ended_by         TEXT,
    -- 'answered', 'abandoned', 'voicemail', 'failed', 'menu'.
    outcome          TEXT,
    held_ms          INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX calls_org_started ON calls(org_id, started_at);
