-- Where each operator's phone registered: kept so that a restart does not forget phones that
-- were told "registered for an hour" (they would be unreachable until they refreshed). The
-- registrar loads the live ones at start; a REGISTER is answered 200 only once its binding is
-- written here.
CREATE TABLE sip_bindings (
    user_id     INTEGER PRIMARY KEY REFERENCES users(id),
    org_id      INTEGER NOT NULL REFERENCES organisations(id),
    -- The SIP account's user name when it registered: a binding of an account since renamed or
    -- deleted is not restored.
    username    TEXT NOT NULL,
    -- The Contact URI the phone gave.
    contact     TEXT NOT NULL,
    -- Where INVITEs go (ip:port): the Contact's address, or the REGISTER's source behind NAT.
    target      TEXT NOT NULL,
    expires_at  INTEGER NOT NULL
);
