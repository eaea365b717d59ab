-- E-mail: the organisations' mailboxes, every mail received (stored raw before it is
-- acknowledged, then applied), the dialogues mail belongs to and the Message-IDs that lead to them.

-- A mailbox customers write to, bound to the queue its new threads wait in. Mail arrives by IMAP
-- (imap_url) or through the hub's SMTP receiver; replies leave through smtp_url (or the node's
-- default). uid_validity and last_uid move only in the transaction that stores fetched mail.
CREATE TABLE mailboxes (
    id              INTEGER PRIMARY KEY,
    org_id          INTEGER NOT NULL REFERENCES organisations(id),
    service_id      INTEGER NOT NULL REFERENCES services(id),
    -- Lower-cased.
    address         TEXT NOT NULL UNIQUE,
    name            TEXT,
    imap_url        TEXT,
    imap_folder     TEXT NOT NULL DEFAULT 'INBOX',
    -- What is done with a fetched mail on the server: 'seen', 'keep', 'move:<folder>'.
    imap_after      TEXT NOT NULL DEFAULT 'seen',
    smtp_url        TEXT,
    -- Acknowledge a new request by mail (never to programs, lists or bounces).
    auto_reply      INTEGER NOT NULL DEFAULT 1,
    lang            TEXT NOT NULL DEFAULT 'ru',
    enabled         INTEGER NOT NULL DEFAULT 1,
    uid_validity    INTEGER NOT NULL DEFAULT 0,
    last_uid        INTEGER NOT NULL DEFAULT 0,
    lease_node      TEXT,
    lease_until     INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    created_at      INTEGER NOT NULL
);

CREATE TABLE email_inbox (
    id              INTEGER PRIMARY KEY,
    mailbox_id      INTEGER NOT NULL REFERENCES mailboxes(id),
    -- 'imap' or 'smtp'.
    source          TEXT NOT NULL,
    uid_validity    INTEGER,
    uid             INTEGER,
    raw             BLOB NOT NULL,
    size            INTEGER NOT NULL,
    received_at     INTEGER NOT NULL,
    claimed_until   INTEGER NOT NULL DEFAULT 0,
    claimed_by      TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    processed_at    INTEGER,
    -- What applying it did: 'new', 'reply', 'duplicate', 'bounce', 'ignored: …', 'refused: …'.
    outcome         TEXT,
    conversation_id INTEGER,
    UNIQUE (mailbox_id, uid_validity, uid)
);
CREATE INDEX email_inbox_pending ON email_inbox(processed_at, mailbox_id, id);

-- An e-mail dialogue and the conversation key it lives under: an e-mail thread ('email',
-- 'mail:<mailbox>:<first mail>') or a web chat whose visitor left their address ('webchat').
CREATE TABLE email_threads (
    id              INTEGER PRIMARY KEY,
    org_id          INTEGER NOT NULL REFERENCES organisations(id),
    mailbox_id      INTEGER REFERENCES mailboxes(id),
    contact_id      INTEGER NOT NULL REFERENCES contacts(id),
    address         TEXT NOT NULL,
    name            TEXT,
    subject         TEXT NOT NULL DEFAULT '',
    channel         TEXT NOT NULL,
    thread_key      TEXT NOT NULL,
    -- The latest mail received, which the next reply answers.
    last_in_id      TEXT,
    created_at      INTEGER NOT NULL,
    UNIQUE (channel, thread_key)
);

-- Every Message-ID the hub knows, received or sent, and its dialogue.
CREATE TABLE email_ids (
    org_id          INTEGER NOT NULL REFERENCES organisations(id),
    message_id      TEXT NOT NULL,
    thread_id       INTEGER NOT NULL REFERENCES email_threads(id),
    at              INTEGER NOT NULL,
    PRIMARY KEY (org_id, message_id)
);
CREATE INDEX email_ids_thread ON email_ids(thread_id, at);

-- Which node holds a claim, so a node restarted after a crash takes its own claims back at once
-- instead of waiting for them to run out.
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
