-- An organisation's webhooks: where its own systems hear of its requests' creation, moves and
-- alarms (model::webhook). The secret signs each delivery; sealed at rest.
CREATE TABLE webhooks (
    id          INTEGER PRIMARY KEY,
    org_id      INTEGER NOT NULL REFERENCES organisations(id),
    url         TEXT NOT NULL,
    secret      TEXT NOT NULL,
    -- The events subscribed to, separated by spaces ("request.moved request.alarm").
    events      TEXT NOT NULL,
    active      INTEGER NOT NULL DEFAULT 1,
    created_at  INTEGER NOT NULL
);
CREATE INDEX webhooks_org ON webhooks (org_id);

-- Each event owed to each endpoint, enqueued in the transaction of the change it reports and
-- sent by whichever node claims it (store::jobs): pending until the endpoint answers 2xx (sent)
-- or the retry schedule is spent (failed, until an admin sends it again). The body is composed
-- at the first attempt and kept, so every retry sends the same bytes.
CREATE TABLE webhook_deliveries (
    id           INTEGER PRIMARY KEY,
    org_id       INTEGER NOT NULL,
    webhook_id   INTEGER NOT NULL REFERENCES webhooks(id),
    event        TEXT NOT NULL,
    request_id   INTEGER NOT NULL,
    -- The line of the request's history it reports.
    event_id     INTEGER NOT NULL,
    body         TEXT,
    status       TEXT NOT NULL DEFAULT 'pending',
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_at      INTEGER NOT NULL,
    lease_until  INTEGER NOT NULL DEFAULT 0,
    claimed_by   TEXT,
    last_status  INTEGER,
    last_error   TEXT,
    created_at   INTEGER NOT NULL,
    sent_at      INTEGER
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_at);
CREATE INDEX webhook_deliveries_hook ON webhook_deliveries (webhook_id, id);
