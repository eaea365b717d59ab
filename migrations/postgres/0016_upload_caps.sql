-- Uploads not yet sent in a message are capped per client address and per organisation, and
-- expire (see upload_unsent_*): the address they came from is kept for that.
ALTER TABLE attachments ADD COLUMN source_addr TEXT;
CREATE INDEX attachments_unsent_addr ON attachments(source_addr, message_id);
CREATE INDEX attachments_unsent_org ON attachments(org_id, message_id, created_at);
