-- Board templates an organisation names and keeps apart from its boards: a board that follows
-- one shows the template's look, and a change to the template reaches every board following it.
-- A board that follows none shows its own look (devices.look).
CREATE TABLE board_templates (
    id          INTEGER PRIMARY KEY,
    org_id      BIGINT NOT NULL REFERENCES organisations(id),
    name        TEXT NOT NULL,
    look        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    UNIQUE (org_id, name)
);
ALTER TABLE devices ADD COLUMN template_id BIGINT REFERENCES board_templates(id);
