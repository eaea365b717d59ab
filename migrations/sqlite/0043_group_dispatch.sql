-- How a support group gives out its requests: 'manual' (its engineers take them) or
-- 'least_loaded' (each to the member on duty with the fewest open requests, in turns); and when
-- a request's engineer was given it, for the turns.
ALTER TABLE support_groups ADD COLUMN dispatch TEXT NOT NULL DEFAULT 'manual';
ALTER TABLE requests ADD COLUMN assigned_at INTEGER;
