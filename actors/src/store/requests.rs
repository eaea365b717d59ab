//! Service-desk requests: creating one (placed by the routing rules, its SLA chosen), its
//! history, moves through its workflow version, the customer's messages and staff's answers,
//! work logs, and the alarms its clocks fire (each once: the row that records it is the fire).

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::desk::DeskPolicy;
use super::Store;
use crate::error::{Error, Result};
use crate::model::assignment::{self, Dispatch, Engineer, Placement, Subject};
use crate::model::desk::{self, Choice, Line};
use crate::model::field::{self, FieldError};
use crate::model::geo::{Area, Point};
use crate::model::presence::Presence;
use crate::model::role::Role;
use crate::model::schedule::Calendar;
use crate::model::workflow::{Attempt, StatusKind, Workflow};
use crate::model::{now_millis, sla, Millis};

pub const PRIORITIES: [&str; 4] = ["low", "normal", "high", "critical"];

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRequest {
    pub type_id: i64,
    pub subject: String,
    #[serde(default)]
    pub priority: Option<String>,
    /// low, medium (when absent) or high.
    #[serde(default)]
    pub impact: Option<String>,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub counterparty_id: Option<i64>,
    #[serde(default)]
    pub site_id: Option<i64>,
    #[serde(default)]
    pub contact_id: Option<i64>,
    #[serde(default)]
    pub fields: Map<String, Value>,
    #[serde(default)]
    pub checklist: Vec<String>,
    /// The chat, mail or call it is made from: the customer goes on talking there.
    #[serde(default)]
    pub conversation_id: Option<i64>,
}

/// A change of a request's priority and impact; what is absent stays.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Levels {
    #[serde(default)]
    pub priority: Option<String>,
    #[serde(default)]
    pub impact: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ChecklistItem {
    pub text: String,
    pub done: bool,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct RequestRow {
    pub id: i64,
    pub org_id: i64,
    pub type_id: i64,
    pub workflow_version_id: i64,
    pub subject: String,
    pub status: String,
    pub status_kind: String,
    pub priority: String,
    pub impact: String,
    pub category: Option<String>,
    pub counterparty_id: Option<i64>,
    pub site_id: Option<i64>,
    pub contact_id: Option<i64>,
    pub rule_id: Option<i64>,
    pub group_id: Option<i64>,
    pub assignee_id: Option<i64>,
    pub fields: String,
    pub checklist: String,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub next_alarm_at: Option<Millis>,
}

pub(super) const COLUMNS: &str = "id, org_id, type_id, workflow_version_id, subject, status, status_kind, priority, impact, category, \
    counterparty_id, site_id, contact_id, rule_id, group_id, assignee_id, fields, checklist, created_at, updated_at, next_alarm_at";

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct RequestEvent {
    pub id: i64,
    pub at: Millis,
    pub kind: String,
    #[sqlx(rename = "data")]
    #[serde(skip)]
    pub data_text: String,
    pub by_user: Option<i64>,
}

impl RequestEvent {
    pub fn data(&self) -> Value {
        serde_json::from_str(&self.data_text).unwrap_or(Value::Null)
    }
}

/// A policy with its calendar, as a request's clocks run under it.
#[derive(Debug, Clone)]
pub struct PolicyInForce {
    pub policy: DeskPolicy,
    pub calendar: Calendar,
    pub timezone: jiff::tz::TimeZone,
}

impl PolicyInForce {
    /// The policy as the clocks read it: targets, pauses, every alarm's share, the calendar.
    pub fn clocks(&self) -> sla::Policy {
        let mins = |m: Option<u32>| m.map(|m| jiff::SignedDuration::from_mins(i64::from(m)));
        let t = &self.policy.targets;
        sla::Policy {
            first_response: mins(t.first_response_mins),
            next_response: mins(t.next_response_mins),
            resolution: mins(t.resolution_mins),
            pausing: t.pausing.clone(),
            warn_at: t.shares(),
            calendar: self.calendar.clone(),
            tz: self.timezone.clone(),
        }
    }
}

impl ClockFacts {
    pub fn tracks(&self) -> Vec<desk::Track> {
        desk::tracks(&self.lines, |g| self.ola.get(&g).copied())
    }

    /// Time in each status, with each group and engineer: up to now, or to its close.
    pub fn spent(&self) -> desk::Spent {
        let closed = (self.request.status_kind == "closed")
            .then(|| {
                self.lines.iter().rev().find_map(|l| match l {
                    Line::Status { at, .. } => Some(*at),
                    _ => None,
                })
            })
            .flatten();
        desk::time_spent(&self.lines, closed.unwrap_or_else(jiff::Timestamp::now))
    }

    /// Every clock of the request now, for its card.
    pub fn timers(&self) -> Vec<desk::Timer> {
        let now = jiff::Timestamp::now();
        desk::timers(
            &self.tracks(),
            |p| self.policies.get(&p).map(PolicyInForce::clocks),
            now,
        )
    }
}

/// The organisation's side of every request's clocks.
#[derive(Debug, Clone)]
pub struct ClockRules {
    pub groups: Vec<super::desk::SupportGroup>,
    pub calendars: Vec<super::desk::DeskCalendar>,
    pub policies: Vec<DeskPolicy>,
}

/// What a request's actor loads to run its clocks.
#[derive(Debug, Clone)]
pub struct ClockFacts {
    pub request: RequestRow,
    pub lines: Vec<Line>,
    pub policies: HashMap<i64, PolicyInForce>,
    /// The OLA policy of each group the request has been with.
    pub ola: HashMap<i64, i64>,
    /// Alarms fired: (track, clock, cycle, share).
    pub fired: BTreeSet<(String, String, Millis, i64)>,
}

/// An alarm to record as fired.
#[derive(Debug, Clone, Serialize)]
pub struct Fired {
    pub track: &'static str,
    pub clock: String,
    pub cycle: Millis,
    pub share: i64,
    pub due_at: Millis,
    pub fired_at: Millis,
}

/// Which requests a list shows (each filter given narrows it).
#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    /// Not closed.
    pub open_only: bool,
    pub assignee: Option<i64>,
    /// With a group this user is a member of.
    pub member_of: Option<i64>,
    pub group_id: Option<i64>,
    pub status: Option<String>,
    pub type_id: Option<i64>,
    /// Carrying this label.
    pub label: Option<String>,
    pub counterparty_id: Option<i64>,
    pub contact_id: Option<i64>,
    /// Holding every one of these search terms (`model::search::query`), in its own words or
    /// its threads'.
    pub matching: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MoveRequest {
    pub to: String,
    #[serde(default)]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewWorkLog {
    pub minutes: i64,
    pub activity: String,
    #[serde(default)]
    pub billable: bool,
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct WorkLog {
    pub id: i64,
    pub user_id: i64,
    pub minutes: i64,
    pub activity: String,
    pub billable: i64,
    pub note: String,
    pub at: Millis,
}

fn ts(ms: Millis) -> jiff::Timestamp {
    jiff::Timestamp::from_millisecond(ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

fn kind_name(k: StatusKind) -> &'static str {
    match k {
        StatusKind::Open => "open",
        StatusKind::Waiting => "waiting",
        StatusKind::Resolved => "resolved",
        StatusKind::Closed => "closed",
    }
}

/// A thread's message as a line of the request's history.
fn spoken(at: Millis, author: &str) -> Line {
    if author == "visitor" {
        Line::Customer { at: ts(at) }
    } else {
        Line::Answer { at: ts(at) }
    }
}

fn is_done(kind: &str) -> bool {
    kind == "resolved" || kind == "closed"
}

/// The clocks entering a status stops (its `stop_clock` actions), kept with the status line so
/// the clocks read them from the history alone.
fn stops_of(status: &crate::model::workflow::Status) -> Vec<&'static str> {
    status
        .on_enter
        .iter()
        .filter_map(|a| match a {
            crate::model::workflow::Action::StopClock { clock } => Some(clock.as_str()),
            _ => None,
        })
        .collect()
}

/// A status line of a request's history, from its event's data.
pub(super) fn status_line(at: jiff::Timestamp, data: &Value) -> Line {
    Line::Status {
        at,
        status: data["status"].as_str().unwrap_or_default().to_string(),
        done: is_done(data["kind"].as_str().unwrap_or_default()),
        stops: stops_in(data),
    }
}

fn stops_in(data: &Value) -> crate::model::sla::Stops {
    use crate::model::sla::{ClockKind, Stops, CLOCKS};
    Stops::of(
        data["stops"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str())
            .filter_map(|name| CLOCKS.into_iter().find(|k: &ClockKind| k.as_str() == name)),
    )
}

pub(super) async fn event(
    tx: &mut super::Tx<'_>,
    request_id: i64,
    at: Millis,
    kind: &str,
    data: Value,
    by: Option<i64>,
) -> Result<i64> {
    let (event_id,): (i64,) = sqlx::query_as(
        "INSERT INTO request_events (request_id, at, kind, data, by_user) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(request_id)
    .bind(at)
    .bind(kind)
    .bind(data.to_string())
    .bind(by)
    .fetch_one(&mut **tx)
    .await?;
    // The organisation's webhooks hear of it, in this transaction: none is lost.
    if let Some(name) = crate::model::webhook::event_of(kind, &data) {
        super::webhooks::enqueue(tx, request_id, event_id, name, at, None).await?;
    }
    // What a person wrote on the request is found by search: a note, a comment, a field's value.
    let words = match kind {
        "comment" => data["text"].as_str(),
        "field" => data["value"].as_str(),
        _ => None,
    };
    if let Some(words) = words.filter(|w| !w.trim().is_empty()) {
        let (org_id,): (i64,) = sqlx::query_as("SELECT org_id FROM requests WHERE id = $1")
            .bind(request_id)
            .fetch_one(&mut **tx)
            .await?;
        super::search::index(tx, org_id, super::search::REQUEST, request_id, words).await?;
    }
    Ok(event_id)
}

/// `requests.next_alarm_at` is kept no later than the request's next alarm: a change that may
/// bring an alarm nearer (a status, a group, a customer's message, a policy) sets it to now in
/// its own transaction, so a node that dies before the request's actor has read the change
/// still wakes the request when it starts again; the actor then writes the true moment.
async fn recheck(tx: &mut super::Tx<'_>, request_id: i64, now: Millis) -> Result<()> {
    sqlx::query("UPDATE requests SET next_alarm_at = $1 WHERE id = $2 AND status_kind <> 'closed'")
        .bind(now)
        .bind(request_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The same for the request a conversation belongs to, in the transaction of its message.
pub(super) async fn recheck_thread(
    tx: &mut super::Tx<'_>,
    conversation_id: i64,
    customer: bool,
    now: Millis,
) -> Result<()> {
    if customer {
        resume_on_reply(tx, conversation_id, now).await?;
    }
    sqlx::query(
        "UPDATE requests SET next_alarm_at = $1 WHERE status_kind <> 'closed' \
         AND id IN (SELECT request_id FROM request_threads WHERE conversation_id = $2)",
    )
    .bind(now)
    .bind(conversation_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The customer wrote in a request's thread: a request whose status says where a reply takes it
/// ("waiting for the customer" → "in work") moves there, in the message's own write.
async fn resume_on_reply(tx: &mut super::Tx<'_>, conversation_id: i64, now: Millis) -> Result<()> {
    let linked: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT r.id, r.status, v.body FROM requests r JOIN workflow_versions v ON v.id = r.workflow_version_id \
         WHERE r.status_kind <> 'closed' \
         AND r.id IN (SELECT request_id FROM request_threads WHERE conversation_id = $1)",
    )
    .bind(conversation_id)
    .fetch_all(&mut **tx)
    .await?;
    for (id, status, body) in linked {
        let Ok(flow) = serde_json::from_str::<Workflow>(&body) else {
            continue;
        };
        let Some(to) = flow.on_customer_reply(&status) else {
            continue;
        };
        let kind = kind_name(to.kind);
        sqlx::query("UPDATE requests SET status = $1, status_kind = $2, updated_at = $3 WHERE id = $4")
            .bind(&to.key)
            .bind(kind)
            .bind(now)
            .bind(id)
            .execute(&mut **tx)
            .await?;
        event(
            tx,
            id,
            now,
            "status",
            json!({ "status": to.key, "kind": kind, "from": status, "cause": "customer_reply", "stops": stops_of(&to) }),
            None,
        )
        .await?;
    }
    Ok(())
}

fn check_impact(impact: &str) -> Result<()> {
    if desk::IMPACTS.contains(&impact) {
        Ok(())
    } else {
        Err(FieldError::new("impact", "one_of", json!({ "values": desk::IMPACTS.join(", ") })).into())
    }
}

/// The organisation's SLA policies (not its OLAs), in its order, as choosing reads them.
fn sla_choices(policies: &[DeskPolicy]) -> Vec<Choice<'_>> {
    policies
        .iter()
        .filter(|p| p.kind == "sla")
        .map(|p| Choice {
            id: p.id,
            when: &p.conditions,
        })
        .collect()
}

impl Store {
    /// What routing rules and policy conditions may ask of a request.
    pub async fn request_subject(
        &self,
        org_id: i64,
        site_id: Option<i64>,
        counterparty_id: Option<i64>,
        type_id: i64,
        category: Option<&str>,
        priority: &str,
        impact: &str,
    ) -> Result<Subject> {
        let mut s = Subject {
            site: site_id,
            counterparty: counterparty_id,
            request_type: Some(type_id),
            category: category.map(str::to_string),
            priority: Some(priority.to_string()),
            impact: Some(impact.to_string()),
            ..Default::default()
        };
        if let Some(site_id) = site_id {
            let site = self
                .site(org_id, site_id)
                .await?
                .ok_or_else(|| Error::Field(FieldError::new("site_id", "not_found", json!({ "id": site_id }))))?;
            if s.counterparty.is_none() {
                s.counterparty = site.counterparty_id;
            }
            if let (Some(lon), Some(lat)) = (site.lon, site.lat) {
                let p = Point { lon, lat };
                for t in self.territories(org_id).await? {
                    if Area::from_geojson("shape", &t.shape).is_ok_and(|a| a.contains(p)) {
                        s.territories.insert(t.id);
                    }
                }
            }
            let regions = self.regions(org_id).await?;
            let mut at = site.region_id;
            while let Some(r) = at.filter(|r| !s.regions.contains(r)) {
                s.regions.insert(r);
                at = regions.iter().find(|x| x.id == r).and_then(|x| x.parent_id);
            }
        }
        Ok(s)
    }

    /// Where the rules place a request of this subject at `grade`, and the SLA that then applies.
    async fn place_request(&self, org_id: i64, s: &mut Subject, grade: u8) -> Result<(Option<Placement>, Option<i64>)> {
        let rules = self.desk_rules(org_id).await?;
        let groups = self.desk_grades(org_id).await?;
        let placed = assignment::place(&rules, &groups, s, grade);
        s.group = placed.map(|p| p.group.id);
        let policies = self.desk_policies(org_id).await?;
        Ok((placed, desk::choose(&sla_choices(&policies), s)))
    }

    /// What a request is now, as its policies' conditions see it: `r` with `change` made.
    async fn subject_of(&self, r: &RequestRow, change: impl FnOnce(&mut Subject)) -> Result<Subject> {
        let mut s = self
            .request_subject(
                r.org_id,
                r.site_id,
                r.counterparty_id,
                r.type_id,
                r.category.as_deref(),
                &r.priority,
                &r.impact,
            )
            .await?;
        s.group = r.group_id;
        s.assignee = r.assignee_id;
        change(&mut s);
        Ok(s)
    }

    /// The engineer a request placed with `group_id` now goes to, when the group dispatches
    /// (`assignment::pick`: on duty, fewest open requests, in turns); None when its requests
    /// are taken by hand, or nobody is on duty (it then waits with the group).
    async fn dispatch_pick(&self, org_id: i64, group_id: i64, type_id: i64, now: Millis) -> Result<Option<i64>> {
        let groups = self.support_groups(org_id).await?;
        let Some(group) = groups.iter().find(|g| g.id == group_id) else {
            return Ok(None);
        };
        if Dispatch::parse(&group.dispatch) != Some(Dispatch::LeastLoaded) || group.members.is_empty() {
            return Ok(None);
        }
        let people: Vec<(i64, i64, Option<String>, Option<i64>, Option<String>)> = sqlx::query_as(
            "SELECT u.id, u.disabled, s.presence, p.calendar_id, p.request_types FROM users u \
             JOIN support_group_members m ON m.user_id = u.id AND m.group_id = $2 \
             LEFT JOIN operator_states s ON s.user_id = u.id LEFT JOIN desk_people p ON p.user_id = u.id \
             WHERE u.org_id = $1",
        )
        .bind(org_id)
        .bind(group_id)
        .fetch_all(&self.read)
        .await?;
        let load: Vec<(i64, i64, Option<i64>)> = sqlx::query_as(
            "SELECT assignee_id, SUM(CASE WHEN status_kind IN ('resolved', 'closed') THEN 0 ELSE 1 END), MAX(assigned_at) \
             FROM requests WHERE org_id = $1 AND assignee_id IS NOT NULL GROUP BY assignee_id",
        )
        .bind(org_id)
        .fetch_all(&self.read)
        .await?;
        let calendars = self.desk_calendars(org_id).await?;
        let at = ts(now);
        let engineers: Vec<Engineer> = people
            .into_iter()
            .map(|(id, disabled, presence, calendar, types)| {
                let types: Vec<i64> = types.and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default();
                let on_break = presence
                    .and_then(|p| serde_json::from_str::<Presence>(&p).ok())
                    .is_some_and(|p| matches!(p, Presence::Break { .. }));
                // Without a shift an engineer is taken to be at work whenever asked.
                let in_shift = calendar
                    .and_then(|c| calendars.iter().find(|x| x.id == c))
                    .is_none_or(|c| {
                        let tz = jiff::tz::TimeZone::get(&c.timezone).unwrap_or(jiff::tz::TimeZone::UTC);
                        Calendar::new(&c.week, &c.exceptions).is_open(at, &tz)
                    });
                let (open, last) = load
                    .iter()
                    .find(|(u, _, _)| *u == id)
                    .map_or((0, 0), |(_, n, last)| (*n, last.unwrap_or(0)));
                Engineer {
                    id,
                    on_duty: disabled == 0 && !on_break && in_shift,
                    skilled: types.is_empty() || types.contains(&type_id),
                    open: u32::try_from(open).unwrap_or(u32::MAX),
                    last_given: last,
                }
            })
            .collect();
        Ok(assignment::pick(&engineers))
    }

    /// Gives the request to the engineer dispatch picked, in the placing transaction.
    async fn give(tx: &mut super::Tx<'_>, id: i64, user: i64, now: Millis) -> Result<()> {
        sqlx::query("UPDATE requests SET assignee_id = $1, assigned_at = $2 WHERE id = $3")
            .bind(user)
            .bind(now)
            .bind(id)
            .execute(&mut **tx)
            .await?;
        event(
            tx,
            id,
            now,
            "assignee",
            json!({ "user_id": user, "why": "dispatch" }),
            None,
        )
        .await?;
        Ok(())
    }

    /// After a change its SLA policies may ask about (priority, impact, group, engineer): the
    /// policy they now choose, as a policy line in the change's own transaction when it is
    /// another (`desk::rechoose`); the request's clocks are read again from it.
    async fn repolicy(&self, tx: &mut super::Tx<'_>, org_id: i64, id: i64, s: &Subject, now: Millis) -> Result<()> {
        let policies = self.desk_policies(org_id).await?;
        let last: Option<(String,)> = sqlx::query_as(
            "SELECT data FROM request_events WHERE request_id = $1 AND kind = 'policy' ORDER BY id DESC LIMIT 1",
        )
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
        let current = last
            .and_then(|(d,)| serde_json::from_str::<Value>(&d).ok())
            .and_then(|d| d["policy_id"].as_i64());
        if let Some(p) = desk::rechoose(&sla_choices(&policies), s, current) {
            event(tx, id, now, "policy", json!({ "policy_id": p, "from": current }), None).await?;
            recheck(tx, id, now).await?;
        }
        Ok(())
    }

    /// Opens a request: its type's current workflow version, its first status, the group the
    /// rules place it with and the SLA its conditions choose, in one transaction.
    pub async fn create_request(&self, org_id: i64, new: &NewRequest, by: Option<i64>) -> Result<i64> {
        self.create_request_claiming(org_id, new, by, None)
            .await?
            .ok_or(Error::Internal("a request without a claim was not made".into()))
    }

    /// Opens the request a vehicle's event (a sensor's excursion) owes, in the transaction that
    /// marks the event answered: None when it was answered already (by another node, or before
    /// a crash), so an excursion opens one request however often it is told.
    pub async fn create_request_for_event(&self, org_id: i64, new: &NewRequest, event_id: i64) -> Result<Option<i64>> {
        self.create_request_claiming(org_id, new, None, Some(event_id)).await
    }

    async fn create_request_claiming(
        &self,
        org_id: i64,
        new: &NewRequest,
        by: Option<i64>,
        event_id: Option<i64>,
    ) -> Result<Option<i64>> {
        field::text("subject", &new.subject, 300, true)?;
        let priority = new.priority.clone().unwrap_or_else(|| "normal".into());
        if !PRIORITIES.contains(&priority.as_str()) {
            return Err(FieldError::new("priority", "one_of", json!({ "values": PRIORITIES.join(", ") })).into());
        }
        let impact = new.impact.clone().unwrap_or_else(|| "medium".into());
        check_impact(&impact)?;
        if let Some(c) = &new.category {
            field::text("category", c, 100, false)?;
        }
        if new.checklist.len() > 100 {
            return Err(FieldError::new("checklist", "too_many", json!({ "max": 100 })).into());
        }
        for item in &new.checklist {
            field::text("checklist", item, 300, true)?;
        }
        let (workflow_id, type_checklist, categories): (i64, String, String) = sqlx::query_as(
            "SELECT workflow_id, checklist, categories FROM request_types WHERE id = $1 AND org_id = $2",
        )
        .bind(new.type_id)
        .bind(org_id)
        .fetch_optional(&self.read)
        .await?
        .ok_or_else(|| Error::Field(FieldError::new("type_id", "not_found", json!({ "id": new.type_id }))))?;
        let category = desk::file_under(
            &serde_json::from_str::<Vec<String>>(&categories).unwrap_or_default(),
            new.category.as_deref(),
        )?;
        let flow = self
            .desk_workflows(org_id)
            .await?
            .into_iter()
            .find(|w| w.id == workflow_id)
            .ok_or(Error::NotFound("workflow"))?;
        let first = flow.body.initial().ok_or(Error::NotFound("status"))?.clone();
        self.owned(org_id, "counterparties", "counterparty_id", new.counterparty_id)
            .await?;
        self.owned(org_id, "contacts", "contact_id", new.contact_id).await?;
        self.owned(org_id, "conversations", "conversation_id", new.conversation_id)
            .await?;
        let mut s = self
            .request_subject(
                org_id,
                new.site_id,
                new.counterparty_id,
                new.type_id,
                category.as_deref(),
                &priority,
                &impact,
            )
            .await?;
        let (placed, sla) = self.place_request(org_id, &mut s, 1).await?;
        let engineer = match placed {
            Some(p) => {
                self.dispatch_pick(org_id, p.group.id, new.type_id, now_millis())
                    .await?
            }
            None => None,
        };
        // Its own checklist, or its type's.
        let from_type: Vec<String> = if new.checklist.is_empty() {
            serde_json::from_str(&type_checklist).unwrap_or_default()
        } else {
            Vec::new()
        };
        let checklist: Vec<ChecklistItem> = new
            .checklist
            .iter()
            .chain(from_type.iter())
            .map(|t| ChecklistItem {
                text: t.trim().to_string(),
                done: false,
            })
            .collect();
        let now = now_millis();
        let kind = kind_name(first.kind);
        let mut tx = self.write.begin().await?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO requests (org_id, type_id, workflow_version_id, subject, status, status_kind, priority, category, \
             counterparty_id, site_id, contact_id, rule_id, group_id, fields, checklist, created_at, updated_at, next_alarm_at, impact) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16, $16, $17) RETURNING id",
        )
        .bind(org_id)
        .bind(new.type_id)
        .bind(flow.version_id)
        .bind(new.subject.trim())
        .bind(&first.key)
        .bind(kind)
        .bind(&priority)
        .bind(category.as_deref())
        .bind(s.counterparty)
        .bind(new.site_id)
        .bind(new.contact_id)
        .bind(placed.map(|p| p.rule))
        .bind(placed.map(|p| p.group.id))
        .bind(Value::Object(new.fields.clone()).to_string())
        .bind(serde_json::to_string(&checklist).map_err(|e| Error::Internal(e.to_string()))?)
        .bind(now)
        .bind(&impact)
        .fetch_one(&mut *tx)
        .await?;
        let words = [new.subject.as_str(), category.as_deref().unwrap_or("")].join("\n")
            + "\n"
            + &super::search::field_words(&Value::Object(new.fields.clone()).to_string());
        super::search::index(&mut tx, org_id, super::search::REQUEST, id, &words).await?;
        event(
            &mut tx,
            id,
            now,
            "status",
            json!({ "status": first.key, "kind": kind, "stops": stops_of(&first) }),
            by,
        )
        .await?;
        if let Some(p) = sla {
            event(&mut tx, id, now, "policy", json!({ "policy_id": p }), None).await?;
        }
        if let Some(p) = placed {
            let data = json!({ "group_id": p.group.id, "rule_id": p.rule, "grade": p.group.grade, "why": "routing" });
            event(&mut tx, id, now, "group", data, None).await?;
        }
        if let Some(user) = engineer {
            Self::give(&mut tx, id, user, now).await?;
            s.assignee = Some(user);
            self.repolicy(&mut tx, org_id, id, &s, now).await?;
        }
        if let Some(c) = new.conversation_id {
            sqlx::query("INSERT INTO request_threads (conversation_id, request_id, linked_at) VALUES ($1, $2, $3)")
                .bind(c)
                .bind(id)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(|e| {
                    if super::base::is_unique_violation(&e) {
                        Error::Taken(FieldError::new("conversation_id", "thread_taken", json!({ "id": c })))
                    } else {
                        Error::Store(e)
                    }
                })?;
        }
        if let Some(e) = event_id {
            let claimed = sqlx::query(
                "UPDATE vehicle_events SET request_id = $1 WHERE id = $2 AND org_id = $3 AND request_id IS NULL",
            )
            .bind(id)
            .bind(e)
            .bind(org_id)
            .execute(&mut *tx)
            .await?;
            if claimed.rows_affected() == 0 {
                tx.rollback().await?;
                return Ok(None);
            }
        }
        tx.commit().await?;
        Ok(Some(id))
    }

    pub async fn request(&self, org_id: i64, id: i64) -> Result<RequestRow> {
        let q = super::sql(format!("SELECT {COLUMNS} FROM requests WHERE id = $1 AND org_id = $2"));
        sqlx::query_as(q)
            .bind(id)
            .bind(org_id)
            .fetch_optional(&self.read)
            .await?
            .ok_or(Error::NotFound("request"))
    }

    /// A request by id alone, for its actor (which was started for an id the store gave).
    pub async fn request_by_id(&self, id: i64) -> Result<RequestRow> {
        let q = super::sql(format!("SELECT {COLUMNS} FROM requests WHERE id = $1"));
        sqlx::query_as(q)
            .bind(id)
            .fetch_optional(&self.read)
            .await?
            .ok_or(Error::NotFound("request"))
    }

    /// The organisation's requests, newest first: those not closed, or all.
    pub async fn requests(&self, org_id: i64, open_only: bool, limit: i64) -> Result<Vec<RequestRow>> {
        let f = RequestFilter {
            open_only,
            ..Default::default()
        };
        self.request_list(org_id, &f, limit).await
    }

    /// Requests by the engineer's filters, newest first.
    pub async fn request_list(&self, org_id: i64, f: &RequestFilter, limit: i64) -> Result<Vec<RequestRow>> {
        let mut wh = vec!["org_id = $1".to_string()];
        let mut n = 1;
        let mut next = || {
            n += 1;
            n
        };
        if f.open_only {
            wh.push("status_kind <> 'closed'".into());
        }
        let assignee = f.assignee.map(|_| format!("assignee_id = ${}", next()));
        let member = f.member_of.map(|_| {
            format!(
                "group_id IN (SELECT group_id FROM support_group_members WHERE user_id = ${})",
                next()
            )
        });
        let group = f.group_id.map(|_| format!("group_id = ${}", next()));
        let counterparty = f.counterparty_id.map(|_| format!("counterparty_id = ${}", next()));
        let contact = f.contact_id.map(|_| format!("contact_id = ${}", next()));
        let status = f.status.as_ref().map(|_| format!("status = ${}", next()));
        let kind = f.type_id.map(|_| format!("type_id = ${}", next()));
        let label = f.label.as_ref().map(|_| {
            format!(
                "id IN (SELECT request_id FROM request_labels WHERE label = ${})",
                next()
            )
        });
        let matching = (!f.matching.is_empty()).then(|| {
            let first = next();
            for _ in 1..f.matching.len() {
                next();
            }
            super::search::request_condition(first, f.matching.len())
        });
        wh.extend(
            [
                assignee,
                member,
                group,
                counterparty,
                contact,
                status,
                kind,
                label,
                matching,
            ]
            .into_iter()
            .flatten(),
        );
        let q = super::sql(format!(
            "SELECT {COLUMNS} FROM requests WHERE {} ORDER BY id DESC LIMIT ${}",
            wh.join(" AND "),
            next()
        ));
        let mut q = sqlx::query_as(q).bind(org_id);
        for v in [f.assignee, f.member_of, f.group_id, f.counterparty_id, f.contact_id]
            .into_iter()
            .flatten()
        {
            q = q.bind(v);
        }
        if let Some(s) = &f.status {
            q = q.bind(s.clone());
        }
        if let Some(t) = f.type_id {
            q = q.bind(t);
        }
        if let Some(l) = &f.label {
            q = q.bind(l.clone());
        }
        for t in &f.matching {
            q = q.bind(t.clone());
        }
        Ok(q.bind(limit.clamp(1, 500)).fetch_all(&self.read).await?)
    }

    pub async fn request_events(&self, request_id: i64) -> Result<Vec<RequestEvent>> {
        Ok(
            sqlx::query_as("SELECT id, at, kind, data, by_user FROM request_events WHERE request_id = $1 ORDER BY id")
                .bind(request_id)
                .fetch_all(&self.read)
                .await?,
        )
    }

    /// Everything the request's clocks are read from.
    pub async fn clock_facts(&self, request_id: i64) -> Result<ClockFacts> {
        let request = self.request_by_id(request_id).await?;
        let rules = self.clock_rules(request.org_id).await?;
        self.clock_facts_under(request, &rules).await
    }

    /// The organisation's groups, calendars and policies, as every request's clocks read them:
    /// read once for many requests (the figures of a period).
    pub async fn clock_rules(&self, org_id: i64) -> Result<ClockRules> {
        Ok(ClockRules {
            groups: self.support_groups(org_id).await?,
            calendars: self.desk_calendars(org_id).await?,
            policies: self.desk_policies(org_id).await?,
        })
    }

    /// A request's clock facts under rules already read.
    pub async fn clock_facts_under(&self, request: RequestRow, rules: &ClockRules) -> Result<ClockFacts> {
        let request_id = request.id;
        let events = self.request_events(request_id).await?;
        let mut lines: Vec<Line> = Vec::with_capacity(events.len());
        let mut wanted: BTreeSet<i64> = BTreeSet::new();
        let mut groups: BTreeSet<i64> = BTreeSet::new();
        for e in &events {
            let d = e.data();
            let at = ts(e.at);
            let line = match e.kind.as_str() {
                "status" => Some(status_line(at, &d)),
                "customer" => Some(Line::Customer { at }),
                "answer" => Some(Line::Answer { at }),
                "policy" => d["policy_id"].as_i64().map(|policy| {
                    wanted.insert(policy);
                    Line::Sla { at, policy }
                }),
                "assignee" => Some(Line::Assignee {
                    at,
                    user: d["user_id"].as_i64(),
                }),
                "group" => d["group_id"].as_i64().map(|group| {
                    groups.insert(group);
                    Line::Group { at, group }
                }),
                _ => None,
            };
            lines.extend(line);
        }
        // The customer's messages and staff's answers in the conversations it gathers.
        let said: Vec<(Millis, String)> = sqlx::query_as(
            "SELECT m.at, m.author FROM messages m JOIN request_threads t ON t.conversation_id = m.conversation_id \
             WHERE t.request_id = $1 AND m.at >= t.linked_at AND m.author IN ('visitor', 'operator') ORDER BY m.at, m.id",
        )
        .bind(request_id)
        .fetch_all(&self.read)
        .await?;
        if !said.is_empty() {
            let mut merged = Vec::with_capacity(lines.len() + said.len());
            let mut said = said.into_iter().peekable();
            for line in lines {
                while let Some((at, author)) = said.next_if(|(at, _)| ts(*at) < desk::line_at(&line)) {
                    merged.push(spoken(at, &author));
                }
                merged.push(line);
            }
            merged.extend(said.map(|(at, author)| spoken(at, &author)));
            lines = merged;
        }
        let mut ola = HashMap::new();
        for (id, policy) in rules
            .groups
            .iter()
            .filter(|g| groups.contains(&g.id))
            .filter_map(|g| g.ola_policy_id.map(|p| (g.id, p)))
        {
            wanted.insert(policy);
            ola.insert(id, policy);
        }
        let calendars = &rules.calendars;
        let mut policies = HashMap::new();
        for p in rules.policies.iter().filter(|p| wanted.contains(&p.id)).cloned() {
            let (calendar, timezone) = match p.calendar_id.and_then(|c| calendars.iter().find(|x| x.id == c)) {
                Some(c) => (
                    Calendar::new(&c.week, &c.exceptions),
                    jiff::tz::TimeZone::get(&c.timezone).unwrap_or(jiff::tz::TimeZone::UTC),
                ),
                None => (
                    crate::model::schedule::Schedule::always().calendar(),
                    jiff::tz::TimeZone::UTC,
                ),
            };
            policies.insert(
                p.id,
                PolicyInForce {
                    policy: p,
                    calendar,
                    timezone,
                },
            );
        }
        let fired: Vec<(String, String, Millis, i64)> =
            sqlx::query_as("SELECT track, clock, cycle, share FROM request_alarms WHERE request_id = $1")
                .bind(request_id)
                .fetch_all(&self.read)
                .await?;
        Ok(ClockFacts {
            request,
            lines,
            policies,
            ola,
            fired: fired.into_iter().collect(),
        })
    }

    /// Records alarms as fired, each with its line in the history, and keeps the request's next
    /// moment (`next`: Some to change it), in one transaction. Answers, per alarm, whether this
    /// call fired it: false when it had been already (by this node before a restart, or by
    /// another node), and nothing is done again.
    pub async fn fire_alarms(
        &self,
        request_id: i64,
        alarms: &[Fired],
        next: Option<Option<Millis>>,
    ) -> Result<Vec<bool>> {
        let mut tx = self.write.begin().await?;
        let mut out = Vec::with_capacity(alarms.len());
        for a in alarms {
            let done = sqlx::query(
                "INSERT INTO request_alarms (request_id, track, clock, cycle, share, due_at, fired_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
            )
            .bind(request_id)
            .bind(a.track)
            .bind(&a.clock)
            .bind(a.cycle)
            .bind(a.share)
            .bind(a.due_at)
            .bind(a.fired_at)
            .execute(&mut *tx)
            .await?;
            let first = done.rows_affected() > 0;
            if first {
                let data = json!({ "track": a.track, "clock": a.clock, "share": a.share, "due_at": a.due_at });
                event(&mut tx, request_id, a.fired_at, "alarm", data, None).await?;
            }
            out.push(first);
        }
        if let Some(next) = next {
            sqlx::query("UPDATE requests SET next_alarm_at = $1 WHERE id = $2")
                .bind(next)
                .bind(request_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Every request with an alarm owed, and when: what a starting node's alarm clock holds.
    pub async fn owed_alarms(&self) -> Result<Vec<(i64, Millis)>> {
        Ok(
            sqlx::query_as("SELECT id, next_alarm_at FROM requests WHERE next_alarm_at IS NOT NULL")
                .fetch_all(&self.read)
                .await?,
        )
    }

    /// Moves a request through its workflow version, if the model allows who and when; the
    /// status changes only from the one the check was made against.
    /// Answers the request as moved and the notices its new status sent the customer
    /// (conversation, message), for the caller to announce.
    pub async fn move_request(
        &self,
        org_id: i64,
        id: i64,
        m: &MoveRequest,
        by: i64,
        role: Role,
    ) -> Result<(RequestRow, Vec<(i64, i64)>)> {
        if let Some(c) = &m.comment {
            field::text("comment", c, 5000, false)?;
        }
        let r = self.request(org_id, id).await?;
        let flow = self.workflow_version(r.workflow_version_id).await?;
        let fields: Map<String, Value> = serde_json::from_str(&r.fields).unwrap_or_default();
        let checklist: Vec<ChecklistItem> = serde_json::from_str(&r.checklist).unwrap_or_default();
        let events = self.request_events(id).await?;
        let approved_by: BTreeSet<i64> = events
            .iter()
            .filter(|e| e.kind == "approval")
            .filter(|e| e.data()["status"].as_str() == Some(m.to.as_str()))
            .filter_map(|e| e.by_user)
            .collect();
        let attempt = Attempt {
            role,
            filled: fields
                .iter()
                .filter(|(_, v)| !v.is_null() && v.as_str() != Some(""))
                .map(|(k, _)| k.as_str())
                .collect(),
            comment: m.comment.as_deref().filter(|c| !c.trim().is_empty()),
            checklist_open: checklist.iter().filter(|c| !c.done).count(),
            approved_by,
        };
        flow.check(&r.status, &m.to, &attempt)?;
        let to = flow.status(&m.to).ok_or(Error::NotFound("status"))?;
        let kind = kind_name(to.kind);
        let now = now_millis();
        let mut tx = self.write.begin().await?;
        let done = sqlx::query(
            "UPDATE requests SET status = $1, status_kind = $2, updated_at = $3 WHERE id = $4 AND org_id = $5 AND status = $6",
        )
        .bind(&to.key)
        .bind(kind)
        .bind(now)
        .bind(id)
        .bind(org_id)
        .bind(&r.status)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(Error::Taken(FieldError::new("status", "moved_meanwhile", Value::Null)));
        }
        let moved = event(
            &mut tx,
            id,
            now,
            "status",
            json!({ "status": to.key, "kind": kind, "from": r.status, "stops": stops_of(to) }),
            Some(by),
        )
        .await?;
        // What entering the status owes outside the hub is owed with the move, in its transaction.
        let mut notices = Vec::new();
        for a in &to.on_enter {
            match a {
                crate::model::workflow::Action::Webhook { webhook } => {
                    super::webhooks::enqueue(&mut tx, id, moved, "request.moved", now, Some(*webhook)).await?;
                }
                crate::model::workflow::Action::NotifyCustomer { template } => {
                    let text = crate::model::workflow::notice(template, id, &r.subject, &to.name);
                    let sent = super::outbox::notice(&mut tx, id, &text, now).await?;
                    let data = json!({ "text": text, "conversation_id": sent.map(|(c, _)| c) });
                    event(&mut tx, id, now, "notice", data, None).await?;
                    notices.extend(sent);
                }
                _ => {}
            }
        }
        recheck(&mut tx, id, now).await?;
        if let Some(c) = attempt.comment {
            event(
                &mut tx,
                id,
                now,
                "comment",
                json!({ "text": c, "private": true }),
                Some(by),
            )
            .await?;
        }
        tx.commit().await?;
        Ok((self.request(org_id, id).await?, notices))
    }

    /// The named approver gives their approval for a move to `status`.
    pub async fn approve_request(&self, org_id: i64, id: i64, status: &str, by: i64) -> Result<()> {
        let r = self.request(org_id, id).await?;
        let flow: Workflow = self.workflow_version(r.workflow_version_id).await?;
        let named = flow
            .transitions
            .iter()
            .any(|t| t.from == r.status && t.to == status && t.requires.approval_by.contains(&by));
        if !named {
            // Not a 403: the caller may act on the request, just not approve this move.
            return Err(FieldError::new("status", "not_an_approver", json!({ "status": status })).into());
        }
        let mut tx = self.write.begin().await?;
        event(
            &mut tx,
            id,
            now_millis(),
            "approval",
            json!({ "status": status }),
            Some(by),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A line of the request's history from outside its workflow: the customer wrote, staff
    /// answered, a comment. Refused on a closed request.
    pub async fn note_request(&self, org_id: i64, id: i64, kind: &str, data: Value, by: Option<i64>) -> Result<()> {
        let r = self.request(org_id, id).await?;
        if r.status_kind == "closed" {
            return Err(Error::Taken(FieldError::new("status", "request_closed", Value::Null)));
        }
        let mut tx = self.write.begin().await?;
        let now = now_millis();
        event(&mut tx, id, now, kind, data, by).await?;
        sqlx::query("UPDATE requests SET updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The request a conversation belongs to, if any.
    pub async fn request_of_conversation(&self, conversation_id: i64) -> Result<Option<(i64, i64)>> {
        Ok(sqlx::query_as(
            "SELECT r.org_id, r.id FROM request_threads t JOIN requests r ON r.id = t.request_id \
             WHERE t.conversation_id = $1",
        )
        .bind(conversation_id)
        .fetch_optional(&self.read)
        .await?)
    }

    /// Hands the request to `group` (escalation, a workflow's action, a supervisor).
    pub async fn regroup_request(
        &self,
        org_id: i64,
        id: i64,
        placed: Placement,
        why: &str,
        by: Option<i64>,
    ) -> Result<()> {
        let r = self.request(org_id, id).await?;
        let now = now_millis();
        let engineer = self.dispatch_pick(org_id, placed.group.id, r.type_id, now).await?;
        let s = self
            .subject_of(&r, |s| {
                s.group = Some(placed.group.id);
                s.assignee = engineer;
            })
            .await?;
        let mut tx = self.write.begin().await?;
        let done = sqlx::query(
            "UPDATE requests SET group_id = $1, rule_id = $2, assignee_id = NULL, updated_at = $3 WHERE id = $4 AND org_id = $5",
        )
        .bind(placed.group.id)
        .bind(placed.rule)
        .bind(now)
        .bind(id)
        .bind(org_id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound("request"));
        }
        let data =
            json!({ "group_id": placed.group.id, "rule_id": placed.rule, "grade": placed.group.grade, "why": why });
        event(&mut tx, id, now, "group", data, by).await?;
        if r.assignee_id.is_some() {
            event(&mut tx, id, now, "assignee", json!({ "user_id": null }), by).await?;
        }
        if let Some(user) = engineer {
            Self::give(&mut tx, id, user, now).await?;
        }
        self.repolicy(&mut tx, org_id, id, &s, now).await?;
        recheck(&mut tx, id, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The next grade of the request's line, per the rules as they are now.
    pub async fn escalation_of(&self, org_id: i64, r: &RequestRow) -> Result<Option<Placement>> {
        let (Some(rule), Some(group)) = (r.rule_id, r.group_id) else {
            return Ok(None);
        };
        let groups = self.desk_grades(org_id).await?;
        let Some(now) = groups.iter().find(|g| g.id == group).copied() else {
            return Ok(None);
        };
        let rules = self.desk_rules(org_id).await?;
        Ok(assignment::escalate(&rules, &groups, Placement { rule, group: now }))
    }

    /// Gives the request to an engineer of the organisation, or to nobody. An operator takes it
    /// for themselves or lets go of their own; a supervisor gives it to anyone.
    pub async fn assign_request(
        &self,
        org_id: i64,
        id: i64,
        user: Option<i64>,
        by: i64,
        role: Role,
    ) -> Result<RequestRow> {
        let r = self.request(org_id, id).await?;
        if r.status_kind == "closed" {
            return Err(Error::Taken(FieldError::new("status", "request_closed", Value::Null)));
        }
        let own = match user {
            Some(u) => u == by,
            None => r.assignee_id == Some(by),
        };
        if !own && !role.at_least(Role::Supervisor) {
            return Err(FieldError::new("user_id", "assign_others", Value::Null).into());
        }
        self.owned(org_id, "users", "user_id", user).await?;
        let s = self.subject_of(&r, |s| s.assignee = user).await?;
        let now = now_millis();
        let mut tx = self.write.begin().await?;
        sqlx::query(
            "UPDATE requests SET assignee_id = $1, assigned_at = $2, updated_at = $2 WHERE id = $3 AND org_id = $4",
        )
        .bind(user)
        .bind(now)
        .bind(id)
        .bind(org_id)
        .execute(&mut *tx)
        .await?;
        event(&mut tx, id, now, "assignee", json!({ "user_id": user }), Some(by)).await?;
        self.repolicy(&mut tx, org_id, id, &s, now).await?;
        tx.commit().await?;
        self.request(org_id, id).await
    }

    pub async fn set_checklist_item(&self, org_id: i64, id: i64, index: usize, done: bool, by: i64) -> Result<()> {
        let r = self.request(org_id, id).await?;
        let mut list: Vec<ChecklistItem> = serde_json::from_str(&r.checklist).unwrap_or_default();
        let item = list
            .get_mut(index)
            .ok_or_else(|| Error::Field(FieldError::new("index", "not_found", json!({ "id": index }))))?;
        item.done = done;
        let text = item.text.clone();
        let mut tx = self.write.begin().await?;
        sqlx::query("UPDATE requests SET checklist = $1, updated_at = $2 WHERE id = $3 AND checklist = $4")
            .bind(serde_json::to_string(&list).map_err(|e| Error::Internal(e.to_string()))?)
            .bind(now_millis())
            .bind(id)
            .bind(&r.checklist)
            .execute(&mut *tx)
            .await?;
        event(
            &mut tx,
            id,
            now_millis(),
            "checklist",
            json!({ "item": text, "done": done }),
            Some(by),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Ids of the organisation's requests not closed.
    pub async fn open_request_ids(&self, org_id: i64) -> Result<Vec<i64>> {
        let rows: Vec<(i64,)> = sqlx::query_as("SELECT id FROM requests WHERE org_id = $1 AND status_kind <> 'closed'")
            .bind(org_id)
            .fetch_all(&self.read)
            .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    pub async fn set_request_field(&self, org_id: i64, id: i64, name: &str, value: Value) -> Result<()> {
        let mut one = Map::new();
        one.insert(name.to_string(), value);
        self.set_request_fields(org_id, id, &one, None, None).await
    }

    /// Sets fields of a request (null or "" clears one); `allowed`: the only names a person may
    /// set (its type's fields). A concurrent edit is never lost: the write applies to the fields
    /// it read, or is tried again on the fresh ones.
    pub async fn set_request_fields(
        &self,
        org_id: i64,
        id: i64,
        changes: &Map<String, Value>,
        allowed: Option<&[String]>,
        by: Option<i64>,
    ) -> Result<()> {
        if changes.len() > 50 {
            return Err(FieldError::new("fields", "too_many", json!({ "max": 50 })).into());
        }
        for (name, value) in changes {
            if allowed.is_some_and(|a| !a.iter().any(|x| x == name)) {
                return Err(FieldError::new("fields", "field_unknown", json!({ "field": name })).into());
            }
            match value {
                Value::String(t) => field::text("fields", t, 2000, true)?,
                Value::Null | Value::Bool(_) | Value::Number(_) => {}
                _ => return Err(FieldError::new("fields", "field_value", json!({ "field": name })).into()),
            }
        }
        for _ in 0..5 {
            let r = self.request(org_id, id).await?;
            let mut fields: Map<String, Value> = serde_json::from_str(&r.fields).unwrap_or_default();
            for (name, value) in changes {
                if value.is_null() || value.as_str() == Some("") {
                    fields.remove(name);
                } else {
                    fields.insert(name.clone(), value.clone());
                }
            }
            let now = now_millis();
            let mut tx = self.write.begin().await?;
            let done = sqlx::query("UPDATE requests SET fields = $1, updated_at = $2 WHERE id = $3 AND fields = $4")
                .bind(Value::Object(fields).to_string())
                .bind(now)
                .bind(id)
                .bind(&r.fields)
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 0 {
                continue;
            }
            for (name, value) in changes {
                event(&mut tx, id, now, "field", json!({ "field": name, "value": value }), by).await?;
            }
            tx.commit().await?;
            return Ok(());
        }
        Err(Error::Taken(FieldError::new("fields", "moved_meanwhile", Value::Null)))
    }

    /// Sets a request's priority and impact (either may be left as it is), and the SLA they
    /// now choose.
    pub async fn set_request_levels(
        &self,
        org_id: i64,
        id: i64,
        priority: Option<&str>,
        impact: Option<&str>,
        by: Option<i64>,
    ) -> Result<RequestRow> {
        if priority.is_some_and(|p| !PRIORITIES.contains(&p)) {
            return Err(FieldError::new("priority", "one_of", json!({ "values": PRIORITIES.join(", ") })).into());
        }
        if let Some(i) = impact {
            check_impact(i)?;
        }
        let r = self.request(org_id, id).await?;
        let priority = priority.unwrap_or(&r.priority);
        let impact = impact.unwrap_or(&r.impact);
        if priority == r.priority && impact == r.impact {
            return Ok(r);
        }
        let s = self
            .subject_of(&r, |s| {
                s.priority = Some(priority.to_string());
                s.impact = Some(impact.to_string());
            })
            .await?;
        let now = now_millis();
        let mut tx = self.write.begin().await?;
        sqlx::query("UPDATE requests SET priority = $1, impact = $2, updated_at = $3 WHERE id = $4 AND org_id = $5")
            .bind(priority)
            .bind(impact)
            .bind(now)
            .bind(id)
            .bind(org_id)
            .execute(&mut *tx)
            .await?;
        if priority != r.priority {
            event(
                &mut tx,
                id,
                now,
                "priority",
                json!({ "priority": priority, "from": r.priority }),
                by,
            )
            .await?;
        }
        if impact != r.impact {
            event(
                &mut tx,
                id,
                now,
                "impact",
                json!({ "impact": impact, "from": r.impact }),
                by,
            )
            .await?;
        }
        self.repolicy(&mut tx, org_id, id, &s, now).await?;
        tx.commit().await?;
        self.request(org_id, id).await
    }

    pub async fn add_work_log(&self, org_id: i64, id: i64, w: &NewWorkLog, by: i64) -> Result<WorkLog> {
        self.request(org_id, id).await?;
        if !(1..=24 * 60).contains(&w.minutes) {
            return Err(FieldError::new("minutes", "range", json!({ "min": 1, "max": 24 * 60 })).into());
        }
        field::text("activity", &w.activity, 60, true)?;
        field::text("note", &w.note, 2000, false)?;
        let (log_id,): (i64,) = sqlx::query_as(
            "INSERT INTO work_logs (request_id, user_id, minutes, activity, billable, note, at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(id)
        .bind(by)
        .bind(w.minutes)
        .bind(w.activity.trim())
        .bind(i64::from(w.billable))
        .bind(w.note.trim())
        .bind(now_millis())
        .fetch_one(&self.write)
        .await?;
        Ok(
            sqlx::query_as("SELECT id, user_id, minutes, activity, billable, note, at FROM work_logs WHERE id = $1")
                .bind(log_id)
                .fetch_one(&self.read)
                .await?,
        )
    }

    /// The conversations a request gathers, in the order they were linked.
    pub async fn request_conversations(&self, request_id: i64) -> Result<Vec<i64>> {
        let rows: Vec<(i64,)> = sqlx::query_as(
            "SELECT conversation_id FROM request_threads WHERE request_id = $1 ORDER BY linked_at, conversation_id",
        )
        .bind(request_id)
        .fetch_all(&self.read)
        .await?;
        Ok(rows.into_iter().map(|(c,)| c).collect())
    }

    pub async fn work_logs(&self, request_id: i64) -> Result<Vec<WorkLog>> {
        Ok(sqlx::query_as(
            "SELECT id, user_id, minutes, activity, billable, note, at FROM work_logs WHERE request_id = $1 ORDER BY id",
        )
        .bind(request_id)
        .fetch_all(&self.read)
        .await?)
    }
}
