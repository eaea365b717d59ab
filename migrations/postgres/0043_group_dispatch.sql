-- How a support group gives out its requests: 'manual' (its engineers take them) or
-- 'least_loaded' (each to the member on duty, skilled in its type, with the fewest open
-- requests, in turns); when a request's engineer was given it, for the turns; and the request
-- types an engineer handles (a JSON list of ids; empty: every type).
ALTER TABLE support_groups ADD COLUMN dispatch TEXT NOT NULL DEFAULT 'manual';
ALTER TABLE desk_people ADD COLUMN request_types TEXT NOT NULL DEFAULT '[]';
ALTER TABLE requests ADD COLUMN assigned_at BIGINT;
