-- Tenants' secrets are sealed at rest (bot tokens, webhook secrets, mailbox URLs with their
-- passwords, trunk passwords): a sealed token differs at each sealing, so its uniqueness is
-- kept by a digest. The hub seals what is still in clear at start.
ALTER TABLE telegram_bots ADD COLUMN token_digest TEXT;
CREATE UNIQUE INDEX telegram_bots_token_digest ON telegram_bots(token_digest);
