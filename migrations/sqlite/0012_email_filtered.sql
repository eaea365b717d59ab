-- Mail to many (mailing lists, newsletters, bulk) is kept but opens no ticket unless the mailbox
-- accepts it; an operator sees what was filtered and why (email_inbox.outcome 'filtered: …') and
-- may let a mail in (admitted), which then opens its ticket as any mail would.
ALTER TABLE mailboxes ADD COLUMN accept_bulk INTEGER NOT NULL DEFAULT 0;
ALTER TABLE email_inbox ADD COLUMN admitted INTEGER NOT NULL DEFAULT 0;
-- Message-IDs of automatic answers (out of office): they lead later mail to its thread, but a
-- reply's References carry only the people's mail.
ALTER TABLE email_ids ADD COLUMN automatic INTEGER NOT NULL DEFAULT 0;
