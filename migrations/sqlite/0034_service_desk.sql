-- The service desk (#11). Rules are plain data (JSON the model reads and checks: a workflow, a
-- policy's targets and conditions, a routing rule's conditions); what happened to a request is
-- its history (`request_events`), from which its clocks are read, never a running total.

-- Business calendars: a time zone, the week's hours and the exceptions (holidays, short days),
-- as `model::schedule` reads them. A policy with none runs 24/7 in UTC.
CREATE TABLE calendars (
    id          INTEGER PRIMARY KEY,
    org_id      INTEGER NOT NULL REFERENCES organisations(id),
    name        TEXT NOT NULL,
    timezone    TEXT NOT NULL,
    week        TEXT NOT NULL,
    exceptions  TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX calendars_org ON calendars (org_id);

-- SLA policies (chosen for a request by their conditions, in order) and OLA policies (named
-- by a support group). `targets`: minutes for each clock, the pausing statuses, the warning
-- shares and the escalation steps.
CREATE TABLE desk_policies (
    id           INTEGER PRIMARY KEY,
    org_id       INTEGER NOT NULL REFERENCES organisations(id),
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL,
    position     INTEGER NOT NULL DEFAULT 0,
    conditions   TEXT NOT NULL DEFAULT '{}',
    targets      TEXT NOT NULL,
    calendar_id  INTEGER REFERENCES calendars(id)
);
CREATE INDEX desk_policies_org ON desk_policies (org_id, kind, position);

-- Support groups, each a line of a grade (1: first line), with their members and their OLA.
CREATE TABLE support_groups (
    id             INTEGER PRIMARY KEY,
    org_id         INTEGER NOT NULL REFERENCES organisations(id),
    name           TEXT NOT NULL,
    grade          INTEGER NOT NULL DEFAULT 1,
    ola_policy_id  INTEGER REFERENCES desk_policies(id)
);
CREATE INDEX support_groups_org ON support_groups (org_id);
CREATE TABLE support_group_members (
    group_id  INTEGER NOT NULL REFERENCES support_groups(id),
    user_id   INTEGER NOT NULL REFERENCES users(id),
    PRIMARY KEY (group_id, user_id)
);

-- Territories: GeoJSON multipolygons; a site is in every territory its point lies in.
CREATE TABLE territories (
    id      INTEGER PRIMARY KEY,
    org_id  INTEGER NOT NULL REFERENCES organisations(id),
    name    TEXT NOT NULL,
    shape   TEXT NOT NULL
);
CREATE INDEX territories_org ON territories (org_id);

-- Client companies, and their objects: shops, offices, warehouses. `mail_domain`: mail from
-- this domain is from this counterparty.
CREATE TABLE counterparties (
    id           INTEGER PRIMARY KEY,
    org_id       INTEGER NOT NULL REFERENCES organisations(id),
    name         TEXT NOT NULL,
    mail_domain  TEXT
);
CREATE INDEX counterparties_org ON counterparties (org_id);
CREATE TABLE sites (
    id               INTEGER PRIMARY KEY,
    org_id           INTEGER NOT NULL REFERENCES organisations(id),
    name             TEXT NOT NULL,
    address          TEXT NOT NULL DEFAULT '',
    lon              REAL,
    lat              REAL,
    counterparty_id  INTEGER REFERENCES counterparties(id),
    region_id        INTEGER REFERENCES regions(id)
);
CREATE INDEX sites_org ON sites (org_id);

-- Workflows, versioned: a request keeps the version it started with.
CREATE TABLE workflows (
    id      INTEGER PRIMARY KEY,
    org_id  INTEGER NOT NULL REFERENCES organisations(id),
    name    TEXT NOT NULL
);
CREATE TABLE workflow_versions (
    id           INTEGER PRIMARY KEY,
    workflow_id  INTEGER NOT NULL REFERENCES workflows(id),
    version      INTEGER NOT NULL,
    body         TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    UNIQUE (workflow_id, version)
);

-- Request types: incident, service request, question, and the organisation's own.
CREATE TABLE request_types (
    id           INTEGER PRIMARY KEY,
    org_id       INTEGER NOT NULL REFERENCES organisations(id),
    name         TEXT NOT NULL,
    workflow_id  INTEGER NOT NULL REFERENCES workflows(id),
    fields       TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX request_types_org ON request_types (org_id);

-- Routing rules, in order: conditions and the groups of the line that serves them.
CREATE TABLE desk_rules (
    id          INTEGER PRIMARY KEY,
    org_id      INTEGER NOT NULL REFERENCES organisations(id),
    position    INTEGER NOT NULL,
    conditions  TEXT NOT NULL,
    group_ids   TEXT NOT NULL
);
CREATE INDEX desk_rules_org ON desk_rules (org_id, position);

CREATE TABLE requests (
    id                   INTEGER PRIMARY KEY,
    org_id               INTEGER NOT NULL REFERENCES organisations(id),
    type_id              INTEGER NOT NULL REFERENCES request_types(id),
    workflow_version_id  INTEGER NOT NULL REFERENCES workflow_versions(id),
    subject              TEXT NOT NULL,
    status               TEXT NOT NULL,
    -- The status's kind (open, waiting, resolved, closed), so lists filter without the workflow.
    status_kind          TEXT NOT NULL,
    priority             TEXT NOT NULL DEFAULT 'normal',
    category             TEXT,
    counterparty_id      INTEGER REFERENCES counterparties(id),
    site_id              INTEGER REFERENCES sites(id),
    contact_id           INTEGER REFERENCES contacts(id),
    rule_id              INTEGER,
    group_id             INTEGER REFERENCES support_groups(id),
    assignee_id          INTEGER REFERENCES users(id),
    fields               TEXT NOT NULL DEFAULT '{}',
    checklist            TEXT NOT NULL DEFAULT '[]',
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    -- The earliest alarm (warning, breach, escalation) still owed; null when none is. A node
    -- starting reads these to set its timers again.
    next_alarm_at        INTEGER
);
CREATE INDEX requests_org ON requests (org_id, status_kind, id);
CREATE INDEX requests_alarm ON requests (next_alarm_at);

-- What happened to a request, in order: statuses, the customer's messages and staff's answers,
-- policies applying, groups and assignees, comments, escalations.
CREATE TABLE request_events (
    id          INTEGER PRIMARY KEY,
    request_id  INTEGER NOT NULL REFERENCES requests(id),
    at          INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    data        TEXT NOT NULL DEFAULT '{}',
    by_user     INTEGER
);
CREATE INDEX request_events_request ON request_events (request_id, id);

-- Alarms fired: one row per request, track (sla, ola), clock, cycle and share, so each fires
-- once across restarts and nodes (the insert that makes the row is the one that fires it).
CREATE TABLE request_alarms (
    request_id  INTEGER NOT NULL REFERENCES requests(id),
    track       TEXT NOT NULL,
    clock       TEXT NOT NULL,
    cycle       INTEGER NOT NULL,
    share       INTEGER NOT NULL,
    due_at      INTEGER NOT NULL,
    fired_at    INTEGER NOT NULL,
    PRIMARY KEY (request_id, track, clock, cycle, share)
);

-- The conversations (chats, mails, calls) a request gathers. Their messages from `linked_at`
-- on are the request's "the customer wrote" and "staff answered", read with its history (so a
-- message and its effect on the clocks are one write).
CREATE TABLE request_threads (
    conversation_id  INTEGER PRIMARY KEY REFERENCES conversations(id),
    request_id       INTEGER NOT NULL REFERENCES requests(id),
    linked_at        INTEGER NOT NULL
);
CREATE INDEX request_threads_request ON request_threads (request_id);

-- Work logged by engineers.
CREATE TABLE work_logs (
    id          INTEGER PRIMARY KEY,
    request_id  INTEGER NOT NULL REFERENCES requests(id),
    user_id     INTEGER NOT NULL REFERENCES users(id),
    minutes     INTEGER NOT NULL,
    activity    TEXT NOT NULL,
    billable    INTEGER NOT NULL DEFAULT 0,
    note        TEXT NOT NULL DEFAULT '',
    at          INTEGER NOT NULL
);
CREATE INDEX work_logs_request ON work_logs (request_id);

-- Intake: a conversation opened in this queue (a mailbox's, a bot's, a chat's) opens a request
-- of this type at once, the customer's counterparty found by their mail domain and the site by
-- its name in the first message.
CREATE TABLE desk_intake (
    service_id  INTEGER PRIMARY KEY REFERENCES services(id),
    org_id      INTEGER NOT NULL REFERENCES organisations(id),
    type_id     INTEGER NOT NULL REFERENCES request_types(id)
);
