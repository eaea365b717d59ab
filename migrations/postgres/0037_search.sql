-- Full-text search: each request's and each conversation's terms (model::search: stemmed
-- Russian and English words, numbers whole), one row per term, so a query finds the objects
-- having all its terms through the primary key. Written by the indexer after the fact, from
-- the messages and request events past its marks.
CREATE TABLE search_terms (
    org_id     BIGINT NOT NULL,
    term       TEXT NOT NULL,
    -- 'r' a request, 'c' a conversation
    kind       TEXT NOT NULL,
    object_id  BIGINT NOT NULL,
    PRIMARY KEY (org_id, term, kind, object_id)
);

-- How far the indexer has read each source ('messages', 'request_events').
CREATE TABLE search_marks (
    source   TEXT PRIMARY KEY,
    last_id  BIGINT NOT NULL
);
-- What was written before the index: the start indexes messages and requests up to these.
INSERT INTO search_marks (source, last_id) VALUES ('messages', 0), ('requests', 0);
INSERT INTO search_marks (source, last_id) SELECT 'messages_upto', COALESCE(MAX(id), 0) FROM messages;
INSERT INTO search_marks (source, last_id) SELECT 'requests_upto', COALESCE(MAX(id), 0) FROM requests;
