-- A mailbox's address is the organisation's only once vouched for (its domain assigned to the
-- organisation by the installation's owner) or confirmed (the hub mailed a code to it and found
-- that mail in the mailbox's IMAP folder). So an address is unique among confirmed mailboxes
-- only: another organisation waiting on an address it cannot confirm blocks nobody.
ALTER TABLE mailboxes DROP CONSTRAINT mailboxes_address_key;
-- When the address became the organisation's; NULL while it waits for its code.
ALTER TABLE mailboxes ADD COLUMN confirmed_at BIGINT;
-- SHA-256 of the code mailed to the address, and when it was sent.
ALTER TABLE mailboxes ADD COLUMN confirm_hash TEXT;
ALTER TABLE mailboxes ADD COLUMN confirm_sent_at BIGINT;
UPDATE mailboxes SET confirmed_at = created_at;
CREATE UNIQUE INDEX mailboxes_confirmed_address ON mailboxes(address) WHERE confirmed_at IS NOT NULL;
CREATE UNIQUE INDEX mailboxes_org_address ON mailboxes(org_id, address);
