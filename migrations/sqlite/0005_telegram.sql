-- Telegram bots, the updates they receive (kept until applied, so nothing acknowledged to
-- Telegram is lost), and the outbox every bridged channel sends from.

-- A bot of an organisation, bound to the queue its new dialogues wait in. `update_offset` is the
-- next update to ask Telegram for: it moves only in the transaction that stores the updates.
-- One node at a time polls a bot: the one holding the lease.
CREATE TABLE telegram_bots (
    id              INTEGER PRIMARY KEY,
    org_id          INTEGER NOT NULL REFERENCES organisations(id),
    service_id      INTEGER NOT NULL REFERENCES services(id),
    -- The queue branch whose services the bot offers for queue tickets (/ticket); NULL: every branch.
    branch_id       INTEGER REFERENCES branches(id),
    token           TEXT NOT NULL UNIQUE,
    username        TEXT,
    -- 'polling' or 'webhook'.
    mode            TEXT NOT NULL DEFAULT 'polling',
    webhook_secret  TEXT,
    lang            TEXT NOT NULL DEFAULT 'ru',
    enabled         INTEGER NOT NULL DEFAULT 1,
    update_offset   INTEGER NOT NULL DEFAULT 0,
    lease_node      TEXT,
    lease_until     INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL
);

CREATE TABLE telegram_updates (
    bot_id        INTEGER NOT NULL REFERENCES telegram_bots(id),
    update_id     INTEGER NOT NULL,
    payload       TEXT NOT NULL,
    received_at   INTEGER NOT NULL,
    processed_at  INTEGER,
    attempts      INTEGER NOT NULL DEFAULT 0,
    outcome       TEXT,
    PRIMARY KEY (bot_id, update_id)
);
CREATE INDEX telegram_updates_pending ON telegram_updates(bot_id, processed_at, update_id);

-- Queue tickets taken through a bot, so its holder hears "you are next" and the window.
CREATE TABLE telegram_tickets (
    ticket_id   INTEGER PRIMARY KEY REFERENCES tickets(id),
    bot_id      INTEGER NOT NULL REFERENCES telegram_bots(id),
    chat_id     INTEGER NOT NULL,
    -- The update that asked for it: a repeated update finds the ticket instead of taking another.
    update_id   INTEGER NOT NULL,
    UNIQUE (bot_id, update_id)
);

-- What a bridge must send: an operator's message (message_id) or a notice of the bridge itself
-- (payload, JSON), once (dedup_key). A row is claimed by one node at a time, sent, then marked.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    org_id          INTEGER NOT NULL REFERENCES organisations(id),
    channel         TEXT NOT NULL,
    thread_key      TEXT NOT NULL,
    message_id      INTEGER UNIQUE REFERENCES messages(id),
    payload         TEXT,
    dedup_key       TEXT UNIQUE,
    created_at      INTEGER NOT NULL,
    next_at         INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    claimed_until   INTEGER NOT NULL DEFAULT 0,
    sent_at         INTEGER,
    failed_at       INTEGER,
    error           TEXT,
    -- Parts of a message already sent (its text, then each file), so a retry sends only the rest.
    parts_sent      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX outbox_pending ON outbox(channel, sent_at, failed_at, next_at);
CREATE INDEX outbox_thread ON outbox(thread_key, id);

-- A web-chat visitor going on in Telegram: t.me/<bot>?start=w<code>, usable once within an hour.
CREATE TABLE telegram_handoffs (
    code        TEXT PRIMARY KEY,
    org_id      INTEGER NOT NULL REFERENCES organisations(id),
    bot_id      INTEGER NOT NULL REFERENCES telegram_bots(id),
    visitor_id  INTEGER NOT NULL REFERENCES visitors(id),
    created_at  INTEGER NOT NULL,
    used_at     INTEGER
);

-- Where a contact last said they are (a shared location), as "latitude,longitude".
ALTER TABLE contacts ADD COLUMN location TEXT;
