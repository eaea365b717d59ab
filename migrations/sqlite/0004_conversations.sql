-- Conversations: chats, and later e-mail threads, Telegram dialogues and calls. Every
-- conversation is a ticket in a queue; a queue for remote channels is a service of kind 'remote'
-- at a branch (the contact centre's site), whose working hours say when operators answer.

ALTER TABLE services ADD COLUMN kind TEXT NOT NULL DEFAULT 'visit';
-- Routing policy of the queue: strategy, widening steps (JSON: [{"after_secs":0,"min_proficiency":4},…]),
-- how long an offer waits for an answer, and misses in a row that send an operator on a break.
ALTER TABLE services ADD COLUMN strategy TEXT NOT NULL DEFAULT 'longest_idle';
ALTER TABLE services ADD COLUMN steps TEXT NOT NULL DEFAULT '[]';
ALTER TABLE services ADD COLUMN offer_secs INTEGER NOT NULL DEFAULT 20;
ALTER TABLE services ADD COLUMN missed_limit INTEGER NOT NULL DEFAULT 3;
-- The public key a customer's site puts in the widget's script tag.
ALTER TABLE services ADD COLUMN widget_key TEXT;
CREATE UNIQUE INDEX services_widget_key ON services(widget_key) WHERE widget_key IS NOT NULL;

-- How many chats an operator holds at once, and the pause after a conversation ends.
ALTER TABLE users ADD COLUMN chat_capacity INTEGER NOT NULL DEFAULT 3;
ALTER TABLE users ADD COLUMN wrap_up_secs INTEGER NOT NULL DEFAULT 10;

-- Routing state of an operator: idle since (longest idle), last offer (round robin), offers
-- missed in a row, and the end of the current wrap-up.
ALTER TABLE operator_states ADD COLUMN idle_since INTEGER NOT NULL DEFAULT 0;
ALTER TABLE operator_states ADD COLUMN last_offer_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE operator_states ADD COLUMN missed_offers INTEGER NOT NULL DEFAULT 0;
ALTER TABLE operator_states ADD COLUMN wrap_up_until INTEGER NOT NULL DEFAULT 0;

CREATE TABLE operator_skills (
    user_id      INTEGER NOT NULL REFERENCES users(id),
    service_id   INTEGER NOT NULL REFERENCES services(id),
    proficiency  INTEGER NOT NULL CHECK (proficiency BETWEEN 1 AND 5),
    PRIMARY KEY (user_id, service_id)
);

CREATE TABLE contacts (
    id           INTEGER PRIMARY KEY,
    org_id       INTEGER NOT NULL REFERENCES organisations(id),
    name         TEXT,
    email        TEXT,
    phone        TEXT,
    note         TEXT,
    -- A card merged into another points at it and is no longer shown.
    merged_into  INTEGER REFERENCES contacts(id),
    created_at   INTEGER NOT NULL
);
CREATE INDEX contacts_org ON contacts(org_id);

-- Every way a contact reaches us: web visitor id, phone number, Telegram chat, e-mail address.
CREATE TABLE contact_identities (
    id          INTEGER PRIMARY KEY,
    org_id      INTEGER NOT NULL REFERENCES organisations(id),
    contact_id  INTEGER NOT NULL REFERENCES contacts(id),
    kind        TEXT NOT NULL,
    value       TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    UNIQUE (org_id, kind, value)
);
CREATE INDEX contact_identities_contact ON contact_identities(contact_id);

-- A web-chat visitor: only a SHA-256 of the token kept in their browser.
CREATE TABLE visitors (
    id          INTEGER PRIMARY KEY,
    org_id      INTEGER NOT NULL REFERENCES organisations(id),
    service_id  INTEGER NOT NULL REFERENCES services(id),
    contact_id  INTEGER NOT NULL REFERENCES contacts(id),
    token_hash  TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);

CREATE TABLE conversations (
    id                 INTEGER PRIMARY KEY,
    org_id             INTEGER NOT NULL REFERENCES organisations(id),
    service_id         INTEGER NOT NULL REFERENCES services(id),
    contact_id         INTEGER NOT NULL REFERENCES contacts(id),
    channel            TEXT NOT NULL,
    -- The channel's own key for the dialogue: visitor id, Telegram chat, e-mail thread, call id.
    thread_key         TEXT NOT NULL,
    status             TEXT NOT NULL,
    priority           INTEGER NOT NULL DEFAULT 0,
    created_at         INTEGER NOT NULL,
    queued_at          INTEGER NOT NULL,
    offered_to         INTEGER REFERENCES users(id),
    offer_expires_at   INTEGER,
    assignee_id        INTEGER REFERENCES users(id),
    accepted_at        INTEGER,
    first_response_at  INTEGER,
    closed_at          INTEGER,
    resolution         TEXT,
    rating             INTEGER,
    rating_comment     TEXT,
    last_message_at    INTEGER NOT NULL,
    -- The last message each side has seen, for unread counts.
    operator_seen_id   INTEGER NOT NULL DEFAULT 0
);
-- One open conversation per dialogue: two first messages racing on two nodes open one.
CREATE UNIQUE INDEX conversations_open ON conversations(org_id, channel, thread_key) WHERE status <> 'closed';
CREATE INDEX conversations_waiting ON conversations(org_id, status);
CREATE INDEX conversations_assignee ON conversations(assignee_id, status);
CREATE INDEX conversations_offered ON conversations(offered_to, status);
CREATE INDEX conversations_contact ON conversations(contact_id);
CREATE INDEX conversations_thread ON conversations(org_id, channel, thread_key);

CREATE TABLE messages (
    id               INTEGER PRIMARY KEY,
    org_id           INTEGER NOT NULL REFERENCES organisations(id),
    conversation_id  INTEGER NOT NULL REFERENCES conversations(id),
    author           TEXT NOT NULL,
    operator_id      INTEGER REFERENCES users(id),
    body             TEXT NOT NULL,
    -- The sender's own id for the message: a resend after a lost acknowledgement finds it.
    client_id        TEXT,
    at               INTEGER NOT NULL
);
CREATE UNIQUE INDEX messages_client ON messages(conversation_id, client_id) WHERE client_id IS NOT NULL;
CREATE INDEX messages_conversation ON messages(conversation_id, id);

CREATE TABLE attachments (
    id               INTEGER PRIMARY KEY,
    org_id           INTEGER NOT NULL REFERENCES organisations(id),
    -- Who uploaded it: 'visitor:<visitor id>' or 'user:<user id>'; only they may attach it.
    owner            TEXT NOT NULL,
    message_id       INTEGER REFERENCES messages(id),
    conversation_id  INTEGER REFERENCES conversations(id),
    name             TEXT NOT NULL,
    mime             TEXT NOT NULL,
    size             INTEGER NOT NULL,
    data             BLOB NOT NULL,
    created_at       INTEGER NOT NULL
);
CREATE INDEX attachments_message ON attachments(message_id);
CREATE INDEX attachments_owner ON attachments(owner, message_id);

-- The conversation's timeline: created, queued, offered, accepted, transferred, closed, rated.
CREATE TABLE conversation_events (
    id               INTEGER PRIMARY KEY,
    conversation_id  INTEGER NOT NULL REFERENCES conversations(id),
    at               INTEGER NOT NULL,
    kind             TEXT NOT NULL,
    operator_id      INTEGER,
    detail           TEXT
);
CREATE INDEX conversation_events_conversation ON conversation_events(conversation_id);

-- Canned responses: the organisation's (user_id NULL) and an operator's own.
CREATE TABLE canned_responses (
    id        INTEGER PRIMARY KEY,
    org_id    INTEGER NOT NULL REFERENCES organisations(id),
    user_id   INTEGER REFERENCES users(id),
    shortcut  TEXT NOT NULL,
    title     TEXT NOT NULL,
    body      TEXT NOT NULL
);
CREATE UNIQUE INDEX canned_shortcut ON canned_responses(org_id, COALESCE(user_id, 0), shortcut);
