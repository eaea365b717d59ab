-- Where an operator's replies in a dialogue go when not through its own channel's bridge: a web
-- chat whose visitor left their address is answered by mail too. The core reads this table and
-- knows no channel; the e-mail bridge writes it (before, the core read `email_threads`).
CREATE TABLE reply_routes (
    channel TEXT NOT NULL,
    thread_key TEXT NOT NULL,
    via TEXT NOT NULL,
    PRIMARY KEY (channel, thread_key)
);

INSERT INTO reply_routes (channel, thread_key, via)
SELECT DISTINCT channel, thread_key, 'email' FROM email_threads WHERE channel = 'webchat';
