-- Labels on requests, as an engineer tags them ("касса", "VIP"): a row per label, so a list
-- filters by one with an index.
CREATE TABLE request_labels (
    request_id  BIGINT NOT NULL REFERENCES requests(id),
    label       TEXT NOT NULL,
    PRIMARY KEY (request_id, label)
);
CREATE INDEX request_labels_label ON request_labels (label, request_id);
