-- Names shared by the whole installation are handed out by its owner (see model::namespace):
-- every organisation but the installation's own has a name prefix its logins, device logins,
-- SIP user names and widget keys begin with; numbers and mail domains are assigned to
-- organisations. Organisations added before this keep the names they have; their new names take
-- the prefix 'org<id>' until the owner sets another.
ALTER TABLE organisations ADD COLUMN name_prefix TEXT;
UPDATE organisations SET name_prefix = 'org' || id WHERE id <> (SELECT MIN(id) FROM organisations);
CREATE UNIQUE INDEX organisations_name_prefix ON organisations(name_prefix) WHERE name_prefix IS NOT NULL;

-- kind: 'number' (a number, or a block written with a final '*') or 'domain' (a mail domain
-- and its subdomains).
CREATE TABLE org_assignments (
    id          INTEGER PRIMARY KEY,
    org_id      INTEGER NOT NULL REFERENCES organisations(id),
    kind        TEXT NOT NULL,
    value       TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    UNIQUE (kind, value)
);
