-- A user an admin disabled: cannot sign in, and their sessions were ended (the row stays, so
-- their conversations and tickets keep their name).
ALTER TABLE users ADD COLUMN disabled BIGINT NOT NULL DEFAULT 0;
