-- The notifiers derive what they owe from the store (calls of bot tickets, closed Telegram
-- conversations to ask for a rating) every few seconds and after any lag on the bus: these
-- indexes keep that look cheap.
CREATE INDEX conversations_closed ON conversations(channel, closed_at);
CREATE INDEX telegram_tickets_ticket ON telegram_tickets(ticket_id);
