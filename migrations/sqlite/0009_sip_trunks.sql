-- Trunks: the organisation's lines to a telephony provider. The hub registers to the provider
-- (outbound REGISTER with digest, refreshed, failing over between the provider's proxies in
-- their order), accepts the provider's calls to the organisation's numbers (DIDs) from those
-- proxies only, and places the operators' click-to-call calls through it.
--
-- The password answers the provider's digest challenges, so it is kept as the provider gave
-- it; the admin API takes it and never returns it.
CREATE TABLE sip_trunks (
    id            INTEGER PRIMARY KEY,
    org_id        INTEGER NOT NULL REFERENCES organisations(id),
    name          TEXT NOT NULL,
    -- The provider's SIP domain: the registrar and the host of outbound request URIs.
    domain        TEXT NOT NULL,
    -- JSON array of "host:port", in the provider's order of preference.
    proxies       TEXT NOT NULL,
    username      TEXT NOT NULL,
    password      TEXT NOT NULL,
    -- 0: the provider knows the hub by its address (no registration).
    register      INTEGER NOT NULL DEFAULT 1,
    expires_secs  INTEGER NOT NULL DEFAULT 300,
    -- The number shown to the people operators call.
    caller_id     TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    UNIQUE (org_id, name)
);

-- A number on a trunk takes calls only from that trunk's proxies.
ALTER TABLE sip_numbers ADD COLUMN trunk_id INTEGER REFERENCES sip_trunks(id);

-- Callers who wait ahead of the rest: a call from one of these numbers (E.164) enters its queue
-- with this priority (the routing engine serves higher priorities first).
CREATE TABLE sip_vip_numbers (
    id          INTEGER PRIMARY KEY,
    org_id      INTEGER NOT NULL REFERENCES organisations(id),
    number      TEXT NOT NULL,
    priority    INTEGER NOT NULL,
    note        TEXT,
    created_at  INTEGER NOT NULL,
    UNIQUE (org_id, number)
);
