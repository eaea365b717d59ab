-- Speech: how each board announces calls, what it says per organisation and language, and the
-- transcription jobs for recorded audio.

-- Board voice: speak each call (1) or only show it; a chime before the phrase. The language is
-- the device's own `lang`.
ALTER TABLE devices ADD COLUMN voice INTEGER NOT NULL DEFAULT 1;
ALTER TABLE devices ADD COLUMN chime INTEGER NOT NULL DEFAULT 1;

-- "Талон {ticket}, пройдите к окну {window}"; without a row the built-in phrase is said.
CREATE TABLE speech_templates (
    org_id      INTEGER NOT NULL REFERENCES organisations(id),
    lang        TEXT NOT NULL,
    template    TEXT NOT NULL,
    PRIMARY KEY (org_id, lang)
);

-- One job per audio attachment a contact sent, queued in the transaction that stored it.
CREATE TABLE transcriptions (
    id               INTEGER PRIMARY KEY,
    org_id           INTEGER NOT NULL REFERENCES organisations(id),
    attachment_id    INTEGER NOT NULL UNIQUE REFERENCES attachments(id),
    conversation_id  INTEGER NOT NULL REFERENCES conversations(id),
    -- queued, running, done, failed, skipped (the queue was full)
    status           TEXT NOT NULL,
    lang             TEXT,
    attempts         INTEGER NOT NULL DEFAULT 0,
    -- The node running the job ("host/listen"): restarted, it takes its jobs back at once;
    -- another node takes them once lease_until passes.
    claimed_by       TEXT,
    lease_until      INTEGER NOT NULL DEFAULT 0,
    text             TEXT,
    error            TEXT,
    audio_ms         INTEGER,
    took_ms          INTEGER,
    created_at       INTEGER NOT NULL,
    finished_at      INTEGER
);
CREATE INDEX transcriptions_queue ON transcriptions(status, id);
