-- Vehicles and their tracks (#12). A vehicle is the core's; its live state (moving, trips,
-- territories) is its actor's, worked out again from the stored track when the actor starts.
CREATE TABLE vehicles (
    id               INTEGER PRIMARY KEY,
    org_id           INTEGER NOT NULL REFERENCES organisations(id),
    name             TEXT NOT NULL,
    plate            TEXT NOT NULL DEFAULT '',
    -- Who usually drives it: a field engineer's position is their vehicle's.
    driver_id        INTEGER REFERENCES users(id),
    -- Its own speed limit (a lorry's), beside the territories' limits.
    speed_limit_kmh  REAL
);
CREATE INDEX vehicles_org ON vehicles (org_id);
CREATE INDEX vehicles_driver ON vehicles (driver_id);

-- Every fix taken, in full for reports; one row per vehicle and moment, so a tracker that sends
-- again what was not acknowledged stores nothing twice. `late`: older than a fix already taken
-- (a tracker emptying its memory), kept for the track but raising no event.
CREATE TABLE vehicle_fixes (
    vehicle_id   INTEGER NOT NULL REFERENCES vehicles(id),
    at           INTEGER NOT NULL,
    lat          REAL NOT NULL,
    lon          REAL NOT NULL,
    speed_kmh    REAL,
    course       REAL,
    altitude     REAL,
    satellites   INTEGER,
    accuracy     REAL,
    io           TEXT NOT NULL DEFAULT '{}',
    late         INTEGER NOT NULL DEFAULT 0,
    received_at  INTEGER NOT NULL,
    PRIMARY KEY (vehicle_id, at)
) WITHOUT ROWID;

-- What a vehicle's track told: trips, stops, speeding, territories left and entered. Keyed by
-- what it is about, so the same track worked out twice (after a restart) tells nothing twice.
CREATE TABLE vehicle_events (
    id          INTEGER PRIMARY KEY,
    org_id      INTEGER NOT NULL REFERENCES organisations(id),
    vehicle_id  INTEGER NOT NULL REFERENCES vehicles(id),
    kind        TEXT NOT NULL,
    at          INTEGER NOT NULL,
    -- The territory a crossing is about; 0 for the others.
    subject_id  INTEGER NOT NULL DEFAULT 0,
    data        TEXT NOT NULL DEFAULT '{}',
    -- The request a sensor's excursion opened, set in that request's own transaction: an
    -- excursion stored without one is owed one (after a crash, the next start opens it).
    request_id  INTEGER REFERENCES requests(id),
    UNIQUE (vehicle_id, kind, at, subject_id)
);
CREATE INDEX vehicle_events_org ON vehicle_events (org_id, id);

-- Sensors on a vehicle (or on a unit standing at a site: a freezer with a tracker of its own):
-- the reading's name in the tracker's frames, the factor to its unit, the threshold, and the
-- request an excursion opens (its type, for which site, at what priority).
CREATE TABLE vehicle_sensors (
    id          INTEGER PRIMARY KEY,
    org_id      INTEGER NOT NULL REFERENCES organisations(id),
    vehicle_id  INTEGER NOT NULL REFERENCES vehicles(id),
    name        TEXT NOT NULL,
    reading     TEXT NOT NULL,
    scale       REAL NOT NULL DEFAULT 1,
    bound       TEXT NOT NULL,
    threshold   REAL NOT NULL,
    for_secs    INTEGER NOT NULL,
    site_id     INTEGER REFERENCES sites(id),
    type_id     INTEGER REFERENCES request_types(id),
    priority    TEXT NOT NULL DEFAULT 'high'
);
CREATE INDEX vehicle_sensors_vehicle ON vehicle_sensors (vehicle_id);
CREATE INDEX vehicle_events_owed ON vehicle_events (kind, request_id);

-- An engineer on the way to a request's site in their vehicle: what the customer was told (the
-- estimate and when), arrival and leaving, and the time on site logged as work. One visit under
-- way per vehicle.
CREATE TABLE request_visits (
    id           INTEGER PRIMARY KEY,
    org_id       INTEGER NOT NULL REFERENCES organisations(id),
    request_id   INTEGER NOT NULL REFERENCES requests(id),
    user_id      INTEGER NOT NULL REFERENCES users(id),
    vehicle_id   INTEGER NOT NULL REFERENCES vehicles(id),
    started_at   INTEGER NOT NULL,
    eta_told     INTEGER,
    told_at      INTEGER,
    arrived_at   INTEGER,
    left_at      INTEGER,
    work_log_id  INTEGER REFERENCES work_logs(id),
    ended_at     INTEGER
);
CREATE UNIQUE INDEX request_visits_under_way ON request_visits (vehicle_id) WHERE ended_at IS NULL;
CREATE INDEX request_visits_request ON request_visits (request_id);

-- A territory's speed limit (a town's 60, a site's yard 20), beside the vehicle's own.
ALTER TABLE territories ADD COLUMN speed_limit_kmh REAL;

-- The trackers' bridge: a device by its unique id (OsmAnd's id, Teltonika's IMEI), bound to a
-- vehicle. Unique across the installation: one listener serves every organisation.
CREATE TABLE tracker_devices (
    id            INTEGER PRIMARY KEY,
    org_id        INTEGER NOT NULL REFERENCES organisations(id),
    protocol      TEXT NOT NULL,
    unique_id     TEXT NOT NULL UNIQUE,
    -- A vehicle taken away takes its trackers with it.
    vehicle_id    INTEGER NOT NULL REFERENCES vehicles(id) ON DELETE CASCADE,
    last_seen_at  INTEGER
);
CREATE INDEX tracker_devices_org ON tracker_devices (org_id);
