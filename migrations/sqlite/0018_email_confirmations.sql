-- A web-chat visitor's e-mail address is used (the chat's answers sent there, mail from it taken
-- into the chat) only once it is confirmed: a code sent to it, entered in the widget. Otherwise
-- anyone could have an organisation write to a stranger, and read the stranger's answers.
CREATE TABLE email_confirmations (
    id           INTEGER PRIMARY KEY,
    org_id       INTEGER NOT NULL REFERENCES organisations(id),
    visitor_id   INTEGER NOT NULL REFERENCES visitors(id),
    address      TEXT NOT NULL,
    name         TEXT,
    -- SHA-256 of the code and the row's salt; the code itself is only in the mail.
    code_hash    TEXT NOT NULL,
    salt         TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    confirmed_at INTEGER
);
CREATE INDEX email_confirmations_visitor ON email_confirmations(visitor_id, created_at);
CREATE INDEX email_confirmations_address ON email_confirmations(address, created_at);
