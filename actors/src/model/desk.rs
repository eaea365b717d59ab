//! The service desk's policies as an organisation writes them: targets in minutes, the statuses
//! clocks pause in, warning shares and escalation steps (plain data, checked here), and which
//! SLA policy applies to a request (the first whose conditions hold). The clocks themselves are
//! `model::sla`; where a request goes, `model::assignment`.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::assignment::{Conditions, Subject};
use super::field::FieldError;
use super::sla;
use jiff::Timestamp;

/// The longest target: a year of business time.
pub const MAX_TARGET_MINS: u32 = 525_600;

/// What a policy promises. Minutes of business time in its calendar.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Targets {
    #[serde(default)]
    pub first_response_mins: Option<u32>,
    #[serde(default)]
    pub next_response_mins: Option<u32>,
    #[serde(default)]
    pub resolution_mins: Option<u32>,
    /// Statuses (workflow keys) the clocks wait in.
    #[serde(default)]
    pub pausing: Vec<String>,
    /// Warnings, in per cent of a target (1 to 99).
    #[serde(default)]
    pub warn_at: Vec<u8>,
    /// What is done when a clock reaches a share of its target (100: the breach, or later).
    #[serde(default)]
    pub escalations: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Per cent of the target, 100 to 255.
    pub share: u8,
    #[serde(rename = "do")]
    pub action: Escalation,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Escalation {
    /// Tell the group and the supervisors (the alarm's event, on every console).
    Notify,
    /// Hand the request to the next grade of its routing rule's line.
    RaiseGrade,
}

impl Targets {
    pub fn validate(&self) -> Result<(), FieldError> {
        for (field, v) in [
            ("first_response_mins", self.first_response_mins),
            ("next_response_mins", self.next_response_mins),
            ("resolution_mins", self.resolution_mins),
        ] {
            if let Some(m) = v {
                if !(1..=MAX_TARGET_MINS).contains(&m) {
                    return Err(FieldError::new(
                        field,
                        "range",
                        json!({ "min": 1, "max": MAX_TARGET_MINS }),
                    ));
                }
            }
        }
        if self.first_response_mins.is_none() && self.next_response_mins.is_none() && self.resolution_mins.is_none() {
            return Err(FieldError::new("resolution_mins", "required", serde_json::Value::Null));
        }
        for w in &self.warn_at {
            if !(1..=99).contains(w) {
                return Err(FieldError::new("warn_at", "range", json!({ "min": 1, "max": 99 })));
            }
        }
        for s in &self.escalations {
            if s.share < 100 {
                return Err(FieldError::new(
                    "escalations",
                    "range",
                    json!({ "min": 100, "max": 255 }),
                ));
            }
        }
        if self.warn_at.len() + self.escalations.len() > 10 || self.pausing.len() > 50 {
            return Err(FieldError::new("warn_at", "too_many", json!({ "max": 10 })));
        }
        Ok(())
    }

    /// Every share a clock owes an alarm at, besides the breach: warnings and steps.
    pub fn shares(&self) -> Vec<u8> {
        let mut out: Vec<u8> = self.warn_at.iter().copied().collect();
        out.extend(self.escalations.iter().map(|s| s.share));
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The escalations due at `share`.
    pub fn steps_at(&self, share: u16) -> impl Iterator<Item = Escalation> + '_ {
        self.escalations
            .iter()
            .filter(move |s| u16::from(s.share) == share)
            .map(|s| s.action)
    }
}

/// An SLA policy as choosing sees it.
#[derive(Debug, Clone)]
pub struct Choice<'a> {
    pub id: i64,
    pub when: &'a Conditions,
}

/// The SLA policy for a request: the first, in the organisation's order, whose conditions
/// hold. None: the request has no service level.
pub fn choose(policies: &[Choice], s: &Subject) -> Option<i64> {
    policies.iter().find(|p| p.when.hold(s)).map(|p| p.id)
}

/// What a request's SLA becomes when something its policies ask about changed (its priority or
/// impact, its group, its engineer): the policy now chosen, when one is and it is not the one
/// it has. A request that no policy matches any more keeps its own: handing it on must not
/// silently take its promise away. The clocks carry the time already run into the new policy
/// (`sla`'s policy lines), so nothing paused or spent is lost by the swap.
pub fn rechoose(policies: &[Choice], s: &Subject, current: Option<i64>) -> Option<i64> {
    choose(policies, s).filter(|p| Some(*p) != current)
}

/// The category a request is filed under, as its type names it: one of the type's categories
/// (matched whatever the case, kept in the type's spelling), or any text when the type names
/// none; none at all is always allowed (not yet sorted).
pub fn file_under(categories: &[String], asked: Option<&str>) -> Result<Option<String>, FieldError> {
    let Some(asked) = asked.map(str::trim).filter(|a| !a.is_empty()) else {
        return Ok(None);
    };
    if categories.is_empty() {
        return Ok(Some(asked.to_string()));
    }
    let key = asked.to_lowercase();
    categories
        .iter()
        .find(|c| c.to_lowercase() == key)
        .cloned()
        .map(Some)
        .ok_or_else(|| {
            FieldError::new(
                "category",
                "category_unknown",
                json!({ "values": categories.join(", ") }),
            )
        })
}

/// How much of the customer's business a request touches, least first.
pub const IMPACTS: [&str; 3] = ["low", "medium", "high"];

/// One line of a request's history, as its clocks need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    Status {
        at: Timestamp,
        status: String,
        done: bool,
        /// The clocks entering it stops (`sla::Stops`).
        stops: sla::Stops,
    },
    Customer {
        at: Timestamp,
    },
    Answer {
        at: Timestamp,
    },
    /// This SLA policy applies from now on.
    Sla {
        at: Timestamp,
        policy: i64,
    },
    /// This support group holds the request from now on.
    Group {
        at: Timestamp,
        group: i64,
    },
    /// This engineer holds it from now on (None: nobody).
    Assignee {
        at: Timestamp,
        user: Option<i64>,
    },
}

/// When a line happened.
pub fn line_at(l: &Line) -> Timestamp {
    match l {
        Line::Status { at, .. }
        | Line::Customer { at }
        | Line::Answer { at }
        | Line::Sla { at, .. }
        | Line::Group { at, .. }
        | Line::Assignee { at, .. } => *at,
    }
}

/// Calendar time a request spent in each status, with each group and with each engineer, up to
/// `until` (now, or when it closed), from its history: what time tracking reports, never kept
/// as totals.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Spent {
    pub statuses: std::collections::BTreeMap<String, i64>,
    pub groups: std::collections::BTreeMap<i64, i64>,
    pub engineers: std::collections::BTreeMap<i64, i64>,
}

pub fn time_spent(lines: &[Line], until: Timestamp) -> Spent {
    use std::collections::BTreeMap;
    fn close<K: Ord>(map: &mut BTreeMap<K, i64>, held: Option<(K, Timestamp)>, to: Timestamp) {
        if let Some((k, from)) = held {
            *map.entry(k).or_default() += (to.as_second() - from.as_second()).max(0);
        }
    }
    let mut out = Spent::default();
    let mut status: Option<(String, Timestamp)> = None;
    let mut group: Option<(i64, Timestamp)> = None;
    let mut engineer: Option<(i64, Timestamp)> = None;
    for l in lines.iter().take_while(|l| line_at(l) <= until) {
        match l {
            Line::Status { at, status: s, .. } => close(&mut out.statuses, status.replace((s.clone(), *at)), *at),
            Line::Group { at, group: g } => close(&mut out.groups, group.replace((*g, *at)), *at),
            Line::Assignee { at, user } => {
                let was = engineer.take();
                close(&mut out.engineers, was, *at);
                engineer = user.map(|u| (u, *at));
            }
            _ => {}
        }
    }
    close(&mut out.statuses, status, until);
    close(&mut out.groups, group, until);
    close(&mut out.engineers, engineer, until);
    out
}

/// The stretches each engineer held a request not yet resolved, up to `until`: (engineer, from,
/// to). What an engineer's tracked time is made of (`labour::load`).
pub fn held(lines: &[Line], until: Timestamp) -> Vec<(i64, Timestamp, Timestamp)> {
    let mut out = Vec::new();
    let mut engineer: Option<i64> = None;
    let mut done = false;
    // Who holds it unresolved now, and since when.
    let mut open: Option<(i64, Timestamp)> = None;
    for l in lines.iter().take_while(|l| line_at(l) <= until) {
        match l {
            Line::Status { done: d, .. } => done = *d,
            Line::Assignee { user, .. } => engineer = *user,
            _ => continue,
        }
        let holding = engineer.filter(|_| !done);
        if open.map(|(u, _)| u) != holding {
            let at = line_at(l);
            if let Some((u, from)) = open.take() {
                if at > from {
                    out.push((u, from, at));
                }
            }
            open = holding.map(|u| (u, at));
        }
    }
    if let Some((u, from)) = open {
        if until > from {
            out.push((u, from, until));
        }
    }
    out
}

/// One set of clocks of a request: its SLA's, or the OLA's of the group holding it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Track {
    /// `sla` or `ola`: alarms are kept apart by it.
    pub name: &'static str,
    pub history: Vec<sla::Event>,
    /// The policies `history` names, by index.
    pub policies: Vec<i64>,
}

/// The request's tracks: the SLA's over its whole history; the OLA of the group that holds it
/// now over that group's stint (`ola_of` names a group's OLA policy, if it has one).
pub fn tracks(lines: &[Line], ola_of: impl Fn(i64) -> Option<i64>) -> Vec<Track> {
    let mut policies: Vec<i64> = Vec::new();
    let mut history = Vec::with_capacity(lines.len());
    let mut holder: Option<(Timestamp, i64)> = None;
    for l in lines {
        match l {
            Line::Status {
                at,
                status,
                done,
                stops,
            } => history.push(sla::Event::Status {
                at: *at,
                status: status.clone(),
                done: *done,
                stops: *stops,
            }),
            Line::Customer { at } => history.push(sla::Event::CustomerWrote { at: *at }),
            Line::Answer { at } => history.push(sla::Event::Answered { at: *at }),
            Line::Sla { at, policy } => {
                let idx = policies.iter().position(|p| p == policy).unwrap_or_else(|| {
                    policies.push(*policy);
                    policies.len() - 1
                });
                history.push(sla::Event::Policy { at: *at, policy: idx });
            }
            Line::Group { at, group } => holder = Some((*at, *group)),
            Line::Assignee { .. } => {}
        }
    }
    let mut out = Vec::with_capacity(2);
    if let Some((from, ola)) = holder.and_then(|(at, g)| ola_of(g).map(|p| (at, p))) {
        out.push(Track {
            name: "ola",
            history: sla::stint(&history, from, 0),
            policies: vec![ola],
        });
    }
    if !policies.is_empty() {
        out.insert(
            0,
            Track {
                name: "sla",
                history,
                policies,
            },
        );
    }
    out
}

/// An alarm a track owes now, under the policy that applies now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    pub track: &'static str,
    pub policy: i64,
    pub alarm: sla::Alarm,
}

/// The alarms owed at `now` (reached, not yet `fired`) and the moment of the next one to come.
/// `policy_of` gives a policy's clocks' rules (None: it is gone, and its track is silent).
pub fn owed(
    tracks: &[Track],
    policy_of: impl Fn(i64) -> Option<sla::Policy>,
    fired: impl Fn(&str, sla::ClockKind, Timestamp, u16) -> bool,
    now: Timestamp,
) -> (Vec<Due>, Option<Timestamp>) {
    let mut due = Vec::new();
    let mut next: Option<Timestamp> = None;
    for t in tracks {
        let Some(policies) = t.policies.iter().map(|p| policy_of(*p)).collect::<Option<Vec<_>>>() else {
            continue;
        };
        let current = t
            .history
            .iter()
            .take_while(|e| e.at() <= now)
            .filter_map(|e| match e {
                sla::Event::Policy { policy, .. } => t.policies.get(*policy).copied(),
                _ => None,
            })
            .last();
        let Some(policy) = current else { continue };
        for alarm in sla::alarms(&t.history, &policies, now) {
            if fired(t.name, alarm.kind, alarm.cycle, alarm.share) {
                continue;
            }
            if alarm.at <= now {
                due.push(Due {
                    track: t.name,
                    policy,
                    alarm,
                });
            } else if next.is_none_or(|n| alarm.at < n) {
                next = Some(alarm.at);
            }
        }
    }
    due.sort_by_key(|d| (d.alarm.at, d.alarm.share));
    (due, next)
}

/// One clock of a request as the engineer's card shows it: business time left (negative once
/// breached), and the moment it runs out in calendar time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Timer {
    pub track: &'static str,
    pub clock: sla::ClockKind,
    pub target_secs: i64,
    pub elapsed_secs: i64,
    pub left_secs: i64,
    pub running: bool,
    pub breached: bool,
    /// Milliseconds since the epoch.
    pub due_at: Option<i64>,
    pub stopped_at: Option<i64>,
}

impl Timer {
    /// Breached, or running with a quarter of its time or less left: what the breaching view
    /// and the manager's "breaching now" list show.
    pub fn breaching(&self) -> bool {
        self.stopped_at.is_none() && (self.breached || self.left_secs * 4 <= self.target_secs)
    }
}

/// Every clock of every track at `now`.
pub fn timers(tracks: &[Track], policy_of: impl Fn(i64) -> Option<sla::Policy>, now: Timestamp) -> Vec<Timer> {
    let mut out = Vec::new();
    for t in tracks {
        let Some(policies) = t.policies.iter().map(|p| policy_of(*p)).collect::<Option<Vec<_>>>() else {
            continue;
        };
        for kind in sla::CLOCKS {
            if let Some(r) = sla::read(kind, &t.history, &policies, now) {
                out.push(Timer {
                    track: t.name,
                    clock: kind,
                    target_secs: r.target.as_secs(),
                    elapsed_secs: r.elapsed.as_secs(),
                    left_secs: (r.target - r.elapsed).as_secs(),
                    running: r.running,
                    breached: r.breached,
                    due_at: r.due.map(|d| d.as_millisecond()),
                    stopped_at: r.stopped.map(|d| d.as_millisecond()),
                });
            }
        }
    }
    out
}

/// A request's subject from the first message of a conversation: its first line with words
/// in it, without the marks a channel puts before it, at most 300 characters.
pub fn intake_subject(body: &str) -> String {
    let line = body
        .lines()
        .map(|l| l.trim_start_matches(|c: char| !c.is_alphanumeric()).trim())
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let subject: String = line.chars().filter(|c| !c.is_control()).take(300).collect();
    if subject.is_empty() {
        "(no subject)".into()
    } else {
        subject
    }
}

/// Which of a counterparty's sites a message is about: the one whose name it mentions (the
/// longest such name, so "Shop 12" wins over "Shop 1"), else the only one there is.
pub fn intake_site(text: &str, sites: &[(i64, String)]) -> Option<i64> {
    let text = text.to_lowercase();
    let named = sites
        .iter()
        .filter(|(_, name)| {
            let name = name.trim().to_lowercase();
            !name.is_empty()
                && text.match_indices(&name).any(|(i, _)| {
                    // A whole name: not followed by more of a word or number ("Shop 1" in "Shop 12").
                    !text[i + name.len()..].chars().next().is_some_and(char::is_alphanumeric)
                })
        })
        .max_by_key(|(_, name)| name.trim().chars().count());
    match named {
        Some((id, _)) => Some(*id),
        None if sites.len() == 1 => Some(sites[0].0),
        None => None,
    }
}

/// The domain of a mail address, lower-cased.
pub fn mail_domain(address: &str) -> Option<String> {
    let (_, domain) = address.trim().rsplit_once('@')?;
    let domain = domain.trim_end_matches('>').trim().to_ascii_lowercase();
    (!domain.is_empty()).then_some(domain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intake_finds_the_subject_and_the_site() {
        assert_eq!(
            intake_subject("✉ Касса не работает\n\nВторой день"),
            "Касса не работает"
        );
        assert_eq!(intake_subject("\n\n  > Re: till down"), "Re: till down");
        assert_eq!(intake_subject("🙂"), "(no subject)");
        assert_eq!(intake_subject(&"x".repeat(500)).chars().count(), 300);
        let sites = [
            (1, "Shop 1".to_string()),
            (12, "Shop 12".to_string()),
            (3, "Склад на Лиговском".into()),
        ];
        assert_eq!(
            intake_site("The till in shop 12 is down", &sites),
            Some(12),
            "the longer name"
        );
        assert_eq!(
            intake_site("shop 1: the till", &sites),
            Some(1),
            "a whole name, not the start of another"
        );
        assert_eq!(intake_site("Проблема: СКЛАД НА ЛИГОВСКОМ", &sites), Some(3), "any case");
        assert_eq!(
            intake_site("The till is down", &sites),
            None,
            "several sites, none named"
        );
        assert_eq!(intake_site("The till is down", &sites[..1]), Some(1), "the only site");
        assert_eq!(intake_site("anything", &[]), None);
        assert_eq!(mail_domain("Ivan <ivan@Shop.Example>"), Some("shop.example".into()));
        assert_eq!(mail_domain("no address"), None);
    }

    #[test]
    fn an_engineer_holds_a_request_until_it_is_resolved_or_handed_on() {
        let t = |s: &str| -> Timestamp { s.parse().unwrap() };
        let st = |at: &str, s: &str, done: bool| Line::Status {
            at: t(at),
            status: s.into(),
            done,
            stops: Default::default(),
        };
        let who = |at: &str, user: Option<i64>| Line::Assignee { at: t(at), user };
        let lines = [
            st("2026-03-02T09:00:00Z", "new", false),
            who("2026-03-02T09:10:00Z", Some(7)),
            st("2026-03-02T09:30:00Z", "work", false),
            who("2026-03-02T10:00:00Z", Some(8)),
            st("2026-03-02T11:00:00Z", "resolved", true),
            st("2026-03-02T12:00:00Z", "work", false),
            who("2026-03-02T12:30:00Z", None),
            who("2026-03-02T13:00:00Z", Some(7)),
        ];
        assert_eq!(
            held(&lines, t("2026-03-02T14:00:00Z")),
            [
                (7, t("2026-03-02T09:10:00Z"), t("2026-03-02T10:00:00Z")),
                (8, t("2026-03-02T10:00:00Z"), t("2026-03-02T11:00:00Z")),
                (8, t("2026-03-02T12:00:00Z"), t("2026-03-02T12:30:00Z")),
                (7, t("2026-03-02T13:00:00Z"), t("2026-03-02T14:00:00Z")),
            ]
        );
    }

    #[test]
    fn time_in_each_status_group_and_hands() {
        let t = |s: &str| -> Timestamp { s.parse().unwrap() };
        let st = |at: &str, s: &str| Line::Status {
            at: t(at),
            status: s.into(),
            done: false,
            stops: Default::default(),
        };
        let who = |at: &str, user: Option<i64>| Line::Assignee { at: t(at), user };
        let grp = |at: &str, group: i64| Line::Group { at: t(at), group };
        let lines = [
            st("2026-12-07T09:00:00Z", "new"),
            grp("2026-12-07T09:00:00Z", 1),
            who("2026-12-07T09:10:00Z", Some(7)),
            st("2026-12-07T09:10:00Z", "work"),
            grp("2026-12-07T10:00:00Z", 2),
            who("2026-12-07T10:00:00Z", None),
            who("2026-12-07T10:30:00Z", Some(8)),
            st("2026-12-07T11:00:00Z", "new"),
            st("2026-12-07T11:05:00Z", "work"),
        ];
        let s = time_spent(&lines, t("2026-12-07T12:00:00Z"));
        assert_eq!(
            s.statuses.get("new"),
            Some(&(600 + 300)),
            "twice in new: 10 + 5 minutes"
        );
        assert_eq!(
            s.statuses.get("work"),
            Some(&(6600 + 3300)),
            "09:10-11:00 and 11:05-12:00"
        );
        assert_eq!(s.groups, [(1, 3600), (2, 7200)].into_iter().collect());
        assert_eq!(
            s.engineers,
            [(7, 3000), (8, 5400)].into_iter().collect(),
            "half an hour with nobody"
        );
        // Up to a moment in the middle: only what happened by then.
        let s = time_spent(&lines, t("2026-12-07T09:30:00Z"));
        assert_eq!(
            (s.statuses.get("work"), s.engineers.get(&7)),
            (Some(&1200), Some(&1200))
        );
    }

    #[test]
    fn owed_alarms_and_the_next_one() {
        let t = |s: &str| -> Timestamp { s.parse().unwrap() };
        let policy = sla::Policy {
            first_response: Some(jiff::SignedDuration::from_mins(60)),
            next_response: None,
            resolution: Some(jiff::SignedDuration::from_mins(240)),
            pausing: vec![],
            warn_at: vec![50],
            calendar: crate::model::schedule::Schedule::always().calendar(),
            tz: jiff::tz::TimeZone::UTC,
        };
        let lines = [
            Line::Status {
                at: t("2026-12-07T09:00:00Z"),
                status: "new".into(),
                done: false,
                stops: Default::default(),
            },
            Line::Sla {
                at: t("2026-12-07T09:00:00Z"),
                policy: 5,
            },
        ];
        let tr = tracks(&lines, |_| None);
        let of = |p: i64| (p == 5).then(|| policy.clone());
        let (due, next) = owed(&tr, of, |_, _, _, _| false, t("2026-12-07T09:45:00Z"));
        assert_eq!(due.len(), 1, "the first response's half-time, at 09:30");
        assert_eq!((due[0].track, due[0].policy, due[0].alarm.share), ("sla", 5, 50));
        assert_eq!(next, Some(t("2026-12-07T10:00:00Z")), "its breach comes next");
        // Fired once, never owed again; a gone policy silences its track.
        let fired = |_: &str, k, _, s| k == sla::ClockKind::FirstResponse && s == 50;
        let (due, _) = owed(&tr, of, fired, t("2026-12-07T09:45:00Z"));
        assert!(due.is_empty());
        assert_eq!(
            owed(&tr, |_| None, |_, _, _, _| false, t("2026-12-07T12:00:00Z")),
            (vec![], None)
        );
        // Hours later: every alarm passed is owed, in the order they were reached.
        let (due, next) = owed(&tr, of, |_, _, _, _| false, t("2026-12-07T14:00:00Z"));
        let order: Vec<(sla::ClockKind, u16)> = due.iter().map(|d| (d.alarm.kind, d.alarm.share)).collect();
        use sla::ClockKind::*;
        assert_eq!(
            order,
            vec![
                (FirstResponse, 50),
                (FirstResponse, 100),
                (Resolution, 50),
                (Resolution, 100)
            ]
        );
        assert_eq!(next, None);
    }

    #[test]
    fn a_requests_tracks() {
        let t = |s: &str| -> Timestamp { s.parse().unwrap() };
        let lines = [
            Line::Status {
                at: t("2026-12-07T09:00:00Z"),
                status: "new".into(),
                done: false,
                stops: Default::default(),
            },
            Line::Sla {
                at: t("2026-12-07T09:00:00Z"),
                policy: 40,
            },
            Line::Group {
                at: t("2026-12-07T09:00:00Z"),
                group: 1,
            },
            Line::Answer {
                at: t("2026-12-07T09:10:00Z"),
            },
            Line::Sla {
                at: t("2026-12-07T10:00:00Z"),
                policy: 41,
            },
            Line::Group {
                at: t("2026-12-07T11:00:00Z"),
                group: 2,
            },
            Line::Customer {
                at: t("2026-12-07T12:00:00Z"),
            },
            Line::Sla {
                at: t("2026-12-07T13:00:00Z"),
                policy: 40,
            },
        ];
        let ola = |g: i64| (g == 2).then_some(77);
        let tr = tracks(&lines, ola);
        assert_eq!(tr.len(), 2);
        assert_eq!((tr[0].name, tr[0].policies.clone()), ("sla", vec![40, 41]));
        assert!(tr[0].history.contains(&sla::Event::Policy {
            at: t("2026-12-07T13:00:00Z"),
            policy: 0
        }));
        // The OLA of group 2, from when it took the request: its status then, then what followed.
        assert_eq!((tr[1].name, tr[1].policies.clone()), ("ola", vec![77]));
        assert_eq!(
            tr[1].history.first().map(sla::Event::at),
            Some(t("2026-12-07T11:00:00Z"))
        );
        assert_eq!(tr[1].history.len(), 3, "status, policy, the customer's message");
        // Group 1 has no OLA: held by it, the request has its SLA alone.
        assert_eq!(tracks(&lines[..4], ola).len(), 1);
        // No SLA and no OLA: no clocks.
        assert!(tracks(&lines[..1], ola).is_empty());
    }

    fn targets(v: serde_json::Value) -> Result<Targets, String> {
        let t: Targets = serde_json::from_value(v).map_err(|e| e.to_string())?;
        t.validate().map_err(|e| format!("{}:{}", e.field, e.reason))?;
        Ok(t)
    }

    #[test]
    fn targets_are_checked() {
        let t = targets(json!({"resolution_mins": 480, "warn_at": [75, 50], "pausing": ["waiting"],
            "escalations": [{"share": 100, "do": "raise_grade"}, {"share": 150, "do": "notify"}, {"share": 100, "do": "notify"}]}))
        .unwrap();
        assert_eq!(t.shares(), vec![50, 75, 100, 150]);
        assert_eq!(
            t.steps_at(100).collect::<Vec<_>>(),
            vec![Escalation::RaiseGrade, Escalation::Notify]
        );
        assert_eq!(t.steps_at(75).count(), 0);
        assert_eq!(targets(json!({})).unwrap_err(), "resolution_mins:required");
        assert_eq!(
            targets(json!({"resolution_mins": 0})).unwrap_err(),
            "resolution_mins:range"
        );
        assert_eq!(
            targets(json!({"first_response_mins": MAX_TARGET_MINS + 1})).unwrap_err(),
            "first_response_mins:range"
        );
        assert_eq!(
            targets(json!({"resolution_mins": 5, "warn_at": [100]})).unwrap_err(),
            "warn_at:range"
        );
        assert_eq!(
            targets(json!({"resolution_mins": 5, "escalations": [{"share": 90, "do": "notify"}]})).unwrap_err(),
            "escalations:range"
        );
        assert!(targets(json!({"resolution_mins": 5, "escalations": [{"share": 100, "do": "reboot"}]})).is_err());
        assert!(
            targets(json!({"resolution_mins": 5, "resolutoin_mins": 6})).is_err(),
            "unknown names refused"
        );
    }

    #[test]
    fn the_first_policy_whose_conditions_hold() {
        let vip = Conditions {
            priorities: vec!["critical".into()],
            ..Default::default()
        };
        let any = Conditions::default();
        let list = [Choice { id: 1, when: &vip }, Choice { id: 2, when: &any }];
        let s = |p: &str| Subject {
            priority: Some(p.into()),
            ..Default::default()
        };
        assert_eq!(choose(&list, &s("critical")), Some(1));
        assert_eq!(choose(&list, &s("normal")), Some(2));
        assert_eq!(choose(&list[..1], &s("normal")), None);
    }

    #[test]
    fn a_request_is_filed_under_one_of_its_types_categories() {
        let kinds = vec!["Кассы".to_string(), "Принтеры".to_string()];
        assert_eq!(file_under(&kinds, Some(" принтеры ")), Ok(Some("Принтеры".into())));
        assert_eq!(file_under(&kinds, None), Ok(None));
        assert_eq!(file_under(&kinds, Some("  ")), Ok(None), "blank: not yet sorted");
        let e = file_under(&kinds, Some("Сеть")).unwrap_err();
        assert_eq!((e.field, e.reason), ("category", "category_unknown"));
        assert_eq!(
            file_under(&[], Some("anything")),
            Ok(Some("anything".into())),
            "a type with none takes any"
        );
    }

    #[test]
    fn a_change_the_conditions_see_swaps_the_policy_but_never_drops_it() {
        let on_site = Conditions {
            impacts: vec!["high".into()],
            assignees: vec![7],
            ..Default::default()
        };
        let l2 = Conditions {
            groups: vec![12],
            ..Default::default()
        };
        let list = [Choice { id: 1, when: &on_site }, Choice { id: 2, when: &l2 }];
        let s = |impact: &str, group: i64, assignee: Option<i64>| Subject {
            impact: Some(impact.into()),
            group: Some(group),
            assignee,
            ..Default::default()
        };
        // Escalated to L2: its policy.
        assert_eq!(rechoose(&list, &s("medium", 12, None), None), Some(2));
        assert_eq!(
            rechoose(&list, &s("medium", 12, None), Some(2)),
            None,
            "no change, no swap"
        );
        // Its engineer 7 takes it, with a high impact: every condition of the first holds.
        assert_eq!(rechoose(&list, &s("high", 12, Some(7)), Some(2)), Some(1));
        assert_eq!(rechoose(&list, &s("medium", 12, Some(7)), Some(1)), Some(2));
        // Back to L1 with nobody: nothing matches, and it keeps what it had.
        assert_eq!(rechoose(&list, &s("medium", 11, None), Some(2)), None);
    }

    #[test]
    fn a_clock_is_breaching_when_breached_or_in_its_last_quarter() {
        let t = |left: i64, breached: bool, stopped: bool| Timer {
            track: "sla",
            clock: sla::ClockKind::Resolution,
            target_secs: 400,
            elapsed_secs: 400 - left,
            left_secs: left,
            running: !stopped,
            breached,
            due_at: None,
            stopped_at: stopped.then_some(1),
        };
        assert!(!t(101, false, false).breaching());
        assert!(t(100, false, false).breaching());
        assert!(t(-5, true, false).breaching());
        assert!(!t(-5, true, true).breaching(), "a stopped clock is done, late or not");
    }
}
