-- Mail threads an operator holds at once, apart from their chats: a full inbox does not keep
-- chats from them, nor chats their mail.
ALTER TABLE users ADD COLUMN mail_capacity BIGINT NOT NULL DEFAULT 10;
