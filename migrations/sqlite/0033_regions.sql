-- The organisation's regions: a tree (a region may sit in another) its branches are filed in,
-- so a network of many branches reads as its structure (Урал → Екатеринбург → branches).
CREATE TABLE regions (
    id          INTEGER PRIMARY KEY,
    org_id      BIGINT NOT NULL REFERENCES organisations(id),
    parent_id   BIGINT REFERENCES regions(id),
    name        TEXT NOT NULL
);
CREATE INDEX regions_org ON regions (org_id);
ALTER TABLE branches ADD COLUMN region_id BIGINT REFERENCES regions(id);
