-- An engineer's shift (a business calendar: their working hours, days off and holidays) and
-- hourly rate, for the load and labour cost figures (model::labour). Rates are in the
-- currency's minor unit (kopecks, cents) per hour.
CREATE TABLE desk_people (
    user_id      INTEGER PRIMARY KEY REFERENCES users(id),
    org_id       INTEGER NOT NULL REFERENCES organisations(id),
    calendar_id  INTEGER REFERENCES calendars(id),
    rate_cents   INTEGER
);
CREATE INDEX desk_people_org ON desk_people (org_id);

-- The kinds of work engineers log (a visit, a remote session), each with its own hourly rate,
-- which wins over the engineer's.
CREATE TABLE desk_activities (
    id          INTEGER PRIMARY KEY,
    org_id      INTEGER NOT NULL REFERENCES organisations(id),
    name        TEXT NOT NULL,
    -- The name in lower case (by Unicode's rules, made by the hub: SQLite's lower() knows ASCII only).
    name_key    TEXT NOT NULL,
    rate_cents  INTEGER
);
CREATE UNIQUE INDEX desk_activities_name ON desk_activities (org_id, name_key);
CREATE INDEX work_logs_at ON work_logs (at);
