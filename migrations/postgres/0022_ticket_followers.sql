-- Visit tickets followed from a dialogue (a bot's chat): their holder hears "you are next" and
-- "go to window N" there. The core keeps this and answers which notices are owed; before, the
-- Telegram bridge joined its own `telegram_tickets` to the core's tickets, windows and outbox.
-- `telegram_tickets` stays the bridge's: which update took which ticket (so a repeat takes none).
CREATE TABLE ticket_followers (
    ticket_id  BIGINT PRIMARY KEY REFERENCES tickets(id),
    channel    TEXT NOT NULL,
    thread_key TEXT NOT NULL
);
CREATE INDEX ticket_followers_channel ON ticket_followers(channel, ticket_id);

INSERT INTO ticket_followers (ticket_id, channel, thread_key)
SELECT ticket_id, 'telegram', 'tg:' || CAST(bot_id AS TEXT) || ':' || CAST(chat_id AS TEXT) FROM telegram_tickets;
