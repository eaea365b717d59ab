-- A request type's checklist: the items every request of the type starts with (the engineer
-- ticks them; a workflow's move may need them all done).
ALTER TABLE request_types ADD COLUMN checklist TEXT NOT NULL DEFAULT '[]';
