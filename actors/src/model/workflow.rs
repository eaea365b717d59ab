//! A request type's business process: its statuses, who may move a request from which status to
//! which, what a move needs (fields filled, a comment, the checklist done, approvals by named
//! people), and what happens on entering a status. Plain data an organisation edits in the back
//! office; checked whole before it is saved (every status reachable, none a trap), then only
//! evaluated here. A request keeps the version it started with, so an edit never strands one.

use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::field::{self, FieldError};
use super::role::Role;
use super::sla::ClockKind;

/// What a status means to the clocks and the lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusKind {
    /// Being worked on.
    Open,
    /// Waiting for someone outside (the customer, a supplier): a policy may pause its clocks here.
    Waiting,
    /// Resolved: the resolution clock stops; the customer may still reopen.
    Resolved,
    /// Closed for good: no way out is needed.
    Closed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Status {
    /// A stable key (`in_progress`), what transitions and policies name.
    pub key: String,
    pub name: String,
    pub kind: StatusKind,
    /// Done on entering it, in order.
    #[serde(default)]
    pub on_enter: Vec<Action>,
    /// Where a request here goes when the customer writes (by any channel): "waiting for the
    /// customer" back to "in work", "resolved" reopened. The customer's message is the move, in
    /// the message's own write, so it never needs an engineer to notice it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_customer_reply: Option<String>,
}

/// What a move needs before it is made.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requirements {
    /// Fields of the request that must be filled.
    #[serde(default)]
    pub fields: Vec<String>,
    #[serde(default)]
    pub comment: bool,
    /// Every checklist item done.
    #[serde(default)]
    pub checklist: bool,
    /// Users (by id) each of whom must have approved.
    #[serde(default)]
    pub approval_by: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transition {
    pub from: String,
    pub to: String,
    /// The least role that may make it (an operator's move a supervisor may make too).
    pub role: Role,
    #[serde(default)]
    pub requires: Requirements,
}

/// What entering a status does. Carried out by the request's actor; named here so a workflow is
/// data the back office edits and the model checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "do", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Tell the customer through the channel of the request's latest thread: the text, with
    /// `{id}`, `{subject}` and `{status}` filled in (`notice`).
    NotifyCustomer {
        template: String,
    },
    /// Hand the request to a support group.
    Assign {
        group: i64,
    },
    SetField {
        field: String,
        value: serde_json::Value,
    },
    RaisePriority,
    /// Open a child task of a request type.
    CreateChild {
        request_type: i64,
    },
    /// Send the move to one of the organisation's webhooks (signed, retried, checked against
    /// internal addresses where it is sent), whatever events it subscribes to.
    Webhook {
        webhook: i64,
    },
    /// Stop a clock on entering the status (`sla::Stops`: the first response ends, the waiting
    /// next response is answered, the resolution holds while the request stays there). Kept with
    /// the status line of the request's history, so its clocks read it from the history alone.
    StopClock {
        clock: ClockKind,
    },
}

/// A workflow as stored: statuses in order (the first is where a request starts) and moves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workflow {
    pub statuses: Vec<Status>,
    pub transitions: Vec<Transition>,
}

/// A notice's text: 1 to `NOTICE_MAX` characters, lines allowed, its placeholders known.
pub const NOTICE_MAX: usize = 1000;
const PLACEHOLDERS: [&str; 3] = ["id", "subject", "status"];

fn notice_template(t: &str) -> Result<(), FieldError> {
    if t.trim().is_empty() {
        return Err(bad("on_enter", "notice_required", serde_json::Value::Null));
    }
    if t.chars().count() > NOTICE_MAX {
        return Err(bad("on_enter", "too_long", json!({ "max": NOTICE_MAX })));
    }
    if t.chars().any(|c| c.is_control() && c != '\n') {
        return Err(bad("on_enter", "control_chars", serde_json::Value::Null));
    }
    let mut rest = t;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else { break };
        let name = &after[..close];
        if !PLACEHOLDERS.contains(&name) {
            return Err(bad("on_enter", "notice_placeholder", json!({ "name": name })));
        }
        rest = &after[close + 1..];
    }
    Ok(())
}

/// The notice the customer reads: the template with the request's number, subject and the name
/// of the status it entered.
pub fn notice(template: &str, id: i64, subject: &str, status: &str) -> String {
    // One pass over the template: what is filled in is never read for placeholders again.
    let mut out = String::with_capacity(template.len() + subject.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let value = after.find('}').and_then(|close| {
            let v = match &after[..close] {
                "id" => id.to_string(),
                "subject" => subject.to_string(),
                "status" => status.to_string(),
                _ => return None,
            };
            Some((v, close))
        });
        match value {
            Some((v, close)) => {
                out.push_str(&v);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// How many statuses and moves a workflow may have: more is a script gone wrong.
pub const MAX_STATUSES: usize = 50;
pub const MAX_TRANSITIONS: usize = 500;
const KEY_MAX: usize = 40;

fn bad(field: &'static str, reason: &'static str, args: serde_json::Value) -> FieldError {
    FieldError::new(field, reason, args)
}

impl Workflow {
    pub fn status(&self, key: &str) -> Option<&Status> {
        self.statuses.iter().find(|s| s.key == key)
    }

    pub fn initial(&self) -> Option<&Status> {
        self.statuses.first()
    }

    /// Checks the workflow whole: well-formed keys and names, moves between known statuses,
    /// every status reachable from the first, and from every status a way to a closed one (no
    /// dead end, no loop a request cannot leave). The first problem is named with its status.
    pub fn validate(&self) -> Result<(), FieldError> {
        if self.statuses.is_empty() {
            return Err(bad("statuses", "required", serde_json::Value::Null));
        }
        if self.statuses.len() > MAX_STATUSES {
            return Err(bad("statuses", "too_many", json!({ "max": MAX_STATUSES })));
        }
        if self.transitions.len() > MAX_TRANSITIONS {
            return Err(bad("transitions", "too_many", json!({ "max": MAX_TRANSITIONS })));
        }
        let mut keys = BTreeSet::new();
        for s in &self.statuses {
            let well_formed = !s.key.is_empty()
                && s.key.len() <= KEY_MAX
                && s.key
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !well_formed {
                return Err(bad("statuses", "status_key", json!({ "key": s.key, "max": KEY_MAX })));
            }
            field::name("statuses", &s.name)?;
            if !keys.insert(s.key.as_str()) {
                return Err(bad("statuses", "status_twice", json!({ "key": s.key })));
            }
        }
        for s in &self.statuses {
            for a in &s.on_enter {
                if let Action::NotifyCustomer { template } = a {
                    notice_template(template)?;
                }
            }
        }
        for s in &self.statuses {
            if let Some(to) = &s.on_customer_reply {
                if !keys.contains(to.as_str()) {
                    return Err(bad("statuses", "status_unknown", json!({ "key": to })));
                }
                if *to == s.key || s.kind == StatusKind::Closed {
                    return Err(bad("statuses", "reply_move", json!({ "key": s.key })));
                }
            }
        }
        let mut moves = BTreeSet::new();
        for t in &self.transitions {
            for end in [&t.from, &t.to] {
                if !keys.contains(end.as_str()) {
                    return Err(bad("transitions", "status_unknown", json!({ "key": end })));
                }
            }
            if t.from == t.to || !moves.insert((t.from.as_str(), t.to.as_str())) {
                return Err(bad("transitions", "move_twice", json!({ "from": t.from, "to": t.to })));
            }
        }
        if !self.statuses.iter().any(|s| s.kind == StatusKind::Closed) {
            return Err(bad("statuses", "no_closed_status", serde_json::Value::Null));
        }
        let out: BTreeMap<&str, Vec<&str>> = self.transitions.iter().fold(BTreeMap::new(), |mut m, t| {
            m.entry(t.from.as_str()).or_insert_with(Vec::new).push(t.to.as_str());
            m
        });
        let back: BTreeMap<&str, Vec<&str>> = self.transitions.iter().fold(BTreeMap::new(), |mut m, t| {
            m.entry(t.to.as_str()).or_insert_with(Vec::new).push(t.from.as_str());
            m
        });
        let first = self.statuses[0].key.as_str();
        let reached = reach([first], &out);
        if let Some(s) = self.statuses.iter().find(|s| !reached.contains(s.key.as_str())) {
            return Err(bad("transitions", "status_unreachable", json!({ "key": s.key })));
        }
        let closed = self
            .statuses
            .iter()
            .filter(|s| s.kind == StatusKind::Closed)
            .map(|s| s.key.as_str());
        let can_close = reach(closed, &back);
        if let Some(s) = self.statuses.iter().find(|s| !can_close.contains(s.key.as_str())) {
            return Err(bad("transitions", "status_dead_end", json!({ "key": s.key })));
        }
        Ok(())
    }

    /// Where the customer's message moves a request that is in `status`, if anywhere.
    pub fn on_customer_reply(&self, status: &str) -> Option<&Status> {
        let to = self.status(status)?.on_customer_reply.as_deref()?;
        self.status(to)
    }

    /// The moves a person of `role` may offer from `from`: the buttons on the request's card.
    pub fn moves_from<'a>(&'a self, from: &'a str, role: Role) -> impl Iterator<Item = &'a Transition> + 'a {
        self.transitions
            .iter()
            .filter(move |t| t.from == from && role.at_least(t.role))
    }

    /// Whether the move from `from` to `to` may be made now, and if not, why.
    pub fn check(&self, from: &str, to: &str, who: &Attempt) -> Result<&Transition, MoveError> {
        let t = self
            .transitions
            .iter()
            .find(|t| t.from == from && t.to == to)
            .ok_or_else(|| MoveError::NoSuchMove {
                from: from.to_string(),
                to: to.to_string(),
            })?;
        if !who.role.at_least(t.role) {
            return Err(MoveError::Role { needs: t.role });
        }
        let r = &t.requires;
        if let Some(f) = r.fields.iter().find(|f| !who.filled.contains(f.as_str())) {
            return Err(MoveError::FieldEmpty { field: f.clone() });
        }
        if r.comment && who.comment.is_none_or(|c| c.trim().is_empty()) {
            return Err(MoveError::CommentNeeded);
        }
        if r.checklist && who.checklist_open > 0 {
            return Err(MoveError::ChecklistOpen {
                left: who.checklist_open,
            });
        }
        let missing: Vec<i64> = r
            .approval_by
            .iter()
            .copied()
            .filter(|u| !who.approved_by.contains(u))
            .collect();
        if !missing.is_empty() {
            return Err(MoveError::ApprovalNeeded { from_users: missing });
        }
        Ok(t)
    }
}

/// Everything reachable from `start` along `edges`.
fn reach<'a>(start: impl IntoIterator<Item = &'a str>, edges: &BTreeMap<&'a str, Vec<&'a str>>) -> BTreeSet<&'a str> {
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    let mut queue: VecDeque<&str> = start.into_iter().collect();
    while let Some(s) = queue.pop_front() {
        if seen.insert(s) {
            queue.extend(edges.get(s).into_iter().flatten().copied());
        }
    }
    seen
}

/// Who tries a move and what the request has at that moment.
#[derive(Debug, Clone)]
pub struct Attempt<'a> {
    pub role: Role,
    /// The request's fields that hold a value.
    pub filled: BTreeSet<&'a str>,
    pub comment: Option<&'a str>,
    /// Checklist items not done yet.
    pub checklist_open: usize,
    pub approved_by: BTreeSet<i64>,
}

/// Why a move is refused; each has a stable reason for the page to word.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoveError {
    #[error("there is no move from {from} to {to}")]
    NoSuchMove { from: String, to: String },
    #[error("this move needs the role {}", needs.as_str())]
    Role { needs: Role },
    #[error("the field {field} must be filled first")]
    FieldEmpty { field: String },
    #[error("this move needs a comment")]
    CommentNeeded,
    #[error("{left} checklist items are not done")]
    ChecklistOpen { left: usize },
    #[error("this move needs approval by users {from_users:?}")]
    ApprovalNeeded { from_users: Vec<i64> },
}

impl MoveError {
    pub fn reason(&self) -> (&'static str, serde_json::Value) {
        match self {
            Self::NoSuchMove { from, to } => ("move_unknown", json!({ "from": from, "to": to })),
            Self::Role { needs } => ("move_role", json!({ "role": needs.as_str() })),
            Self::FieldEmpty { field } => ("move_field", json!({ "field": field })),
            Self::CommentNeeded => ("move_comment", serde_json::Value::Null),
            Self::ChecklistOpen { left } => ("move_checklist", json!({ "left": left })),
            Self::ApprovalNeeded { from_users } => ("move_approval", json!({ "users": from_users })),
        }
    }
}

#[cfg(test)]
mod tests;
