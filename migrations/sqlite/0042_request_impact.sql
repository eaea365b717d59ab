-- How much of the customer's business a request touches (ITIL's impact: one person, a team or
-- a shop, the whole organisation), beside its priority: SLA policies and routing rules may ask
-- for it. Requests made before it read as medium.
ALTER TABLE requests ADD COLUMN impact TEXT NOT NULL DEFAULT 'medium';
