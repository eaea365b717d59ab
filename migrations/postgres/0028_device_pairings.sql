-- A new screen pairs by a code it shows (rather than someone typing a secret on a TV): the
-- screen asks for a pairing and keeps its ticket (only a SHA-256 of it is here), shows the code;
-- an admin types the code at the device in the back office; the screen, polling with its
-- ticket, then gets a session as that device. Codes live ten minutes.
CREATE TABLE device_pairings (
    ticket_hash  TEXT PRIMARY KEY,
    code         TEXT NOT NULL UNIQUE,
    kind         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    device_id    BIGINT REFERENCES devices(id)
);

-- A device an admin disabled: it cannot sign in or pair, and its sessions were ended.
ALTER TABLE devices ADD COLUMN disabled BIGINT NOT NULL DEFAULT 0;
