-- Files of Telegram messages still to be fetched. A message's text lands in its conversation at
-- once; a file whose download failed is fetched here on its own, with retries (next_at, which a
-- node also pushes ahead while it downloads, so a node that dies mid-way leaves the job due
-- again; a node restarted after a crash takes its own tries back at once, by claimed_by), and
-- lands as its own message, or as a note that it could not be fetched.
CREATE TABLE telegram_files (
    id          INTEGER PRIMARY KEY,
    bot_id      INTEGER NOT NULL REFERENCES telegram_bots(id),
    chat_id     INTEGER NOT NULL,
    message_id  INTEGER NOT NULL,
    file_id     TEXT NOT NULL,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    claimed_by  TEXT,
    next_at     INTEGER NOT NULL,
    done_at     INTEGER,
    -- 'fetched', 'lost: <why>', or the last error while it is retried.
    outcome     TEXT,
    created_at  INTEGER NOT NULL,
    UNIQUE (bot_id, chat_id, message_id)
);
CREATE INDEX telegram_files_due ON telegram_files(done_at, next_at);
