-- no-transaction
-- A mailbox's address is the organisation's only once vouched for (its domain assigned to the
-- organisation by the installation's owner) or confirmed (the hub mailed a code to it and found
-- that mail in the mailbox's IMAP folder). So an address is unique among confirmed mailboxes
-- only: another organisation waiting on an address it cannot confirm blocks nobody. SQLite
-- cannot drop a UNIQUE constraint, so the table is rebuilt the way SQLite documents: foreign keys
-- off around one transaction (the rows that point here keep their ids).
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE mailboxes_new (
    id              INTEGER PRIMARY KEY,
    org_id          INTEGER NOT NULL REFERENCES organisations(id),
    service_id      INTEGER NOT NULL REFERENCES services(id),
    -- Lower-cased.
    address         TEXT NOT NULL,
    name            TEXT,
    imap_url        TEXT,
    imap_folder     TEXT NOT NULL DEFAULT 'INBOX',
    imap_after      TEXT NOT NULL DEFAULT 'seen',
    smtp_url        TEXT,
    auto_reply      INTEGER NOT NULL DEFAULT 1,
    lang            TEXT NOT NULL DEFAULT 'ru',
    enabled         INTEGER NOT NULL DEFAULT 1,
    uid_validity    INTEGER NOT NULL DEFAULT 0,
    last_uid        INTEGER NOT NULL DEFAULT 0,
    lease_node      TEXT,
    lease_until     INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    accept_bulk     INTEGER NOT NULL DEFAULT 0,
    -- When the address became the organisation's; NULL while it waits for its code.
    confirmed_at    INTEGER,
    -- SHA-256 of the code mailed to the address, and when it was sent.
    confirm_hash    TEXT,
    confirm_sent_at INTEGER
);
INSERT INTO mailboxes_new (id, org_id, service_id, address, name, imap_url, imap_folder, imap_after, smtp_url,
    auto_reply, lang, enabled, uid_validity, last_uid, lease_node, lease_until, last_error, created_at,
    accept_bulk, confirmed_at)
SELECT id, org_id, service_id, address, name, imap_url, imap_folder, imap_after, smtp_url,
    auto_reply, lang, enabled, uid_validity, last_uid, lease_node, lease_until, last_error, created_at,
    accept_bulk, created_at
FROM mailboxes;
DROP TABLE mailboxes;
ALTER TABLE mailboxes_new RENAME TO mailboxes;
CREATE UNIQUE INDEX mailboxes_confirmed_address ON mailboxes(address) WHERE confirmed_at IS NOT NULL;
CREATE UNIQUE INDEX mailboxes_org_address ON mailboxes(org_id, address);
COMMIT;
PRAGMA foreign_keys = ON;
