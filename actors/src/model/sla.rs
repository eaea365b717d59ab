//! A request's clocks: the targets of its service level (SLA) or of a support group's operating
//! level (OLA) for the first response, each next response and the resolution, run in the
//! business time of a calendar and paused in the statuses a policy names.
//!
//! Nothing here is stored as a running total. A clock is read from the request's history (what
//! happened, in order, and which policy applied from when) and today's definitions of the
//! policies' calendars, so it is recomputed exactly whenever the history, a policy or a calendar
//! changes. That closes the peers' known faults by construction:
//! - time in a pausing status never counts (GLPI #24481: SLA running while pending);
//! - a policy swapped mid-way keeps everything accrued, pauses included, because each stretch
//!   of the history is counted under the policy that applied then (GLPI #6902, #15605);
//! - the first response, each next response and the resolution are separate clocks, so a
//!   customer's new message never moves the first-response deadline (Zammad #5177);
//! - the calendar's open stretches meet at midnight (`Calendar::windows`, Zammad #3180);
//! - every clock and every warning has its own moment, not only the nearest (Zammad #3928).

use jiff::{tz::TimeZone, SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::schedule::Calendar;

/// The three clocks of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockKind {
    /// From the request's creation to the first answer the customer sees.
    FirstResponse,
    /// From a customer's message that waits for an answer to that answer (each time).
    NextResponse,
    /// From creation to the request resolved; reopening goes on from what was accrued.
    Resolution,
}

impl ClockKind {
    /// Its name as stored with the alarms it fires and as sent (the serde name).
    pub fn as_str(self) -> &'static str {
        match self {
            ClockKind::FirstResponse => "first_response",
            ClockKind::NextResponse => "next_response",
            ClockKind::Resolution => "resolution",
        }
    }
}

pub const CLOCKS: [ClockKind; 3] = [ClockKind::FirstResponse, ClockKind::NextResponse, ClockKind::Resolution];

/// A policy's targets and the business time they run in.
#[derive(Debug, Clone)]
pub struct Policy {
    pub first_response: Option<SignedDuration>,
    pub next_response: Option<SignedDuration>,
    pub resolution: Option<SignedDuration>,
    /// Statuses the clocks wait in ("waiting for the customer").
    pub pausing: Vec<String>,
    /// Warnings at these shares of a target, in per cent (75 = three quarters of the time).
    pub warn_at: Vec<u8>,
    pub calendar: Calendar,
    pub tz: TimeZone,
}

impl Policy {
    pub fn target(&self, kind: ClockKind) -> Option<SignedDuration> {
        match kind {
            ClockKind::FirstResponse => self.first_response,
            ClockKind::NextResponse => self.next_response,
            ClockKind::Resolution => self.resolution,
        }
    }
}

/// The clocks a status stops on entering it (its workflow's `stop_clock` actions): the first
/// response is over, as if answered; the waiting next response is answered; the resolution
/// stops while the request stays in it, as if resolved (it goes on from what was accrued when
/// the request moves to a status that does not stop it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Stops {
    pub first_response: bool,
    pub next_response: bool,
    pub resolution: bool,
}

impl Stops {
    pub fn of(kinds: impl IntoIterator<Item = ClockKind>) -> Self {
        let mut s = Stops::default();
        for k in kinds {
            match k {
                ClockKind::FirstResponse => s.first_response = true,
                ClockKind::NextResponse => s.next_response = true,
                ClockKind::Resolution => s.resolution = true,
            }
        }
        s
    }

    pub fn kinds(self) -> impl Iterator<Item = ClockKind> {
        [
            (self.first_response, ClockKind::FirstResponse),
            (self.next_response, ClockKind::NextResponse),
            (self.resolution, ClockKind::Resolution),
        ]
        .into_iter()
        .filter(|(on, _)| *on)
        .map(|(_, k)| k)
    }
}

/// What happened to a request that moves its clocks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The request entered a status (the first one is its creation). `done`: the workflow counts
    /// it as resolved; `stops`: the clocks entering it stops.
    Status {
        at: Timestamp,
        status: String,
        done: bool,
        stops: Stops,
    },
    /// The customer wrote (by any channel).
    CustomerWrote { at: Timestamp },
    /// Staff answered the customer (not a private note).
    Answered { at: Timestamp },
    /// From now on this policy applies (an index into the policies given with the history).
    Policy { at: Timestamp, policy: usize },
}

impl Event {
    pub fn at(&self) -> Timestamp {
        match self {
            Event::Status { at, .. }
            | Event::CustomerWrote { at }
            | Event::Answered { at }
            | Event::Policy { at, .. } => *at,
        }
    }
}

/// A clock as it stands at a moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    pub kind: ClockKind,
    /// The target of the policy that applies now.
    pub target: SignedDuration,
    /// Business time counted so far (this cycle's, for the next response).
    pub elapsed: SignedDuration,
    /// Counting now (not paused, not stopped).
    pub running: bool,
    /// When the clock stopped (answered, resolved); None while it can still run.
    pub stopped: Option<Timestamp>,
    /// The moment the elapsed time reaches the target: past when breached, to come while
    /// running, None when it is paused or stopped short of it.
    pub due: Option<Timestamp>,
    pub breached: bool,
    /// Each warning's share and the moment it is (or was) reached, like `due`.
    pub warnings: Vec<(u8, Option<Timestamp>)>,
}

/// One stretch of the history during which a clock counts, under one policy; `to` None: on
/// from there (the clock runs now).
#[derive(Debug, Clone, Copy)]
struct Run {
    from: Timestamp,
    to: Option<Timestamp>,
    policy: usize,
}

/// The state the history has put a request in at some point.
#[derive(Debug, Clone, Default)]
struct State {
    status: Option<(String, bool, Stops)>,
    policy: Option<usize>,
    /// When the first response ended (the first answer, or resolved with none).
    first_stop: Option<Timestamp>,
    /// The customer's message waiting for an answer, if any: when the current cycle began.
    waiting_since: Option<Timestamp>,
    /// When the last next-response cycle was answered.
    answered: Option<Timestamp>,
    /// Since when the request is resolved (or in statuses that stop the resolution), while it is.
    done_since: Option<Timestamp>,
    /// When the current (or last) next-response cycle began.
    cycle_since: Option<Timestamp>,
    /// The first event's moment: the request's creation.
    created: Option<Timestamp>,
}

impl State {
    fn apply(&mut self, e: &Event) {
        self.created.get_or_insert(e.at());
        match e {
            Event::Status {
                at,
                status,
                done,
                stops,
            } => {
                self.status = Some((status.clone(), *done, *stops));
                if *done || stops.first_response {
                    self.first_stop.get_or_insert(*at);
                }
                if *done || stops.resolution {
                    self.done_since.get_or_insert(*at);
                } else {
                    self.done_since = None;
                }
                if stops.next_response && self.waiting_since.take().is_some() {
                    self.answered = Some(*at);
                }
            }
            Event::Policy { policy, .. } => self.policy = Some(*policy),
            Event::CustomerWrote { at } => {
                // Before the first answer the first response is what the customer waits for.
                if self.first_stop.is_some() && self.waiting_since.is_none() {
                    self.waiting_since = Some(*at);
                    self.cycle_since = Some(*at);
                }
            }
            Event::Answered { at } => {
                self.first_stop.get_or_insert(*at);
                if self.waiting_since.take().is_some() {
                    self.answered = Some(*at);
                }
            }
        }
    }

    /// The policy `kind` counts under in this state, None when it does not count.
    fn counts(&self, kind: ClockKind, policies: &[Policy]) -> Option<usize> {
        let (status, done, stops) = self.status.as_ref()?;
        let policy = self.policy?;
        let p = policies.get(policy)?;
        if *done || p.pausing.iter().any(|s| s == status) {
            return None;
        }
        let on = match kind {
            ClockKind::FirstResponse => self.first_stop.is_none(),
            ClockKind::NextResponse => self.waiting_since.is_some(),
            ClockKind::Resolution => !stops.resolution,
        };
        on.then_some(policy)
    }

    /// When the clock of `kind` stopped, if it has (this cycle's, for the next response).
    fn stopped(&self, kind: ClockKind) -> Option<Timestamp> {
        match kind {
            ClockKind::FirstResponse => self.first_stop,
            ClockKind::NextResponse => self.waiting_since.is_none().then_some(self.answered).flatten(),
            ClockKind::Resolution => self.done_since,
        }
    }
}

/// The state at `now`, and the stretches up to it in which `kind` counts, in order (for the
/// next response, those of the current or last cycle only).
fn runs(kind: ClockKind, history: &[Event], policies: &[Policy], now: Timestamp) -> (State, Vec<Run>) {
    let mut state = State::default();
    let mut out: Vec<Run> = Vec::new();
    let mut open: Option<(Timestamp, usize)> = None;
    for e in history.iter().take_while(|e| e.at() <= now) {
        let waited = state.waiting_since.is_some();
        state.apply(e);
        if kind == ClockKind::NextResponse && !waited && state.waiting_since.is_some() {
            // A new cycle: what the last one counted is not this one's.
            out.clear();
            open = None;
        }
        let counts = state.counts(kind, policies);
        if open.map(|(_, p)| p) == counts {
            continue;
        }
        if let Some((from, policy)) = open {
            out.push(Run {
                from,
                to: Some(e.at()),
                policy,
            });
        }
        open = counts.map(|q| (e.at(), q));
    }
    if let Some((from, policy)) = open {
        out.push(Run { from, to: None, policy });
    }
    (state, out)
}

/// Reads the clock of `kind` at `now`: None when the policy that applies has no such target or
/// the clock has not started (no customer message waiting yet, for the next response).
pub fn read(kind: ClockKind, history: &[Event], policies: &[Policy], now: Timestamp) -> Option<Reading> {
    let (state, runs) = runs(kind, history, policies, now);
    let policy = policies.get(state.policy?)?;
    let target = policy.target(kind)?;
    if kind == ClockKind::NextResponse && state.waiting_since.is_none() && state.answered.is_none() {
        return None;
    }
    let running = runs.last().is_some_and(|r| r.to.is_none());
    let elapsed = runs
        .iter()
        .map(|r| {
            let p = &policies[r.policy];
            p.calendar.working_between(r.from, r.to.unwrap_or(now), &p.tz)
        })
        .fold(SignedDuration::ZERO, |a, b| a + b);
    let reach = |amount: SignedDuration| moment_of(amount, &runs, policies);
    let warnings = policy
        .warn_at
        .iter()
        .map(|share| (*share, reach(target * i32::from(*share) / 100)))
        .collect();
    Some(Reading {
        kind,
        target,
        elapsed,
        running,
        stopped: state.stopped(kind),
        due: reach(target),
        breached: elapsed >= target,
        warnings,
    })
}

/// A moment a clock owes an alarm: a warning at a share of its target, the breach (share 100)
/// or an escalation step past it (150: half as long again).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Alarm {
    pub kind: ClockKind,
    /// Which run of the clock: the request's creation for the first response and the
    /// resolution, the customer's message that began it for each next response. An alarm is
    /// owed once per clock, cycle and share, whatever later swaps of policy or calendar do.
    pub cycle: Timestamp,
    pub share: u16,
    /// When it is (or was) reached.
    pub at: Timestamp,
}

/// Every alarm of every clock that has been reached by `now` or will be while the clocks run
/// as they do now; each once, in no particular order. The caller fires those at or before
/// `now` it has not fired yet, and sets one timer for the earliest of the rest.
pub fn alarms(history: &[Event], policies: &[Policy], now: Timestamp) -> Vec<Alarm> {
    let mut state = State::default();
    for e in history.iter().take_while(|e| e.at() <= now) {
        state.apply(e);
    }
    let Some(created) = state.created else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for kind in CLOCKS {
        let Some(r) = read(kind, history, policies, now) else {
            continue;
        };
        let cycle = match kind {
            ClockKind::NextResponse => state.cycle_since.unwrap_or(created),
            _ => created,
        };
        let mut push = |share: u16, at: Option<Timestamp>| {
            if let Some(at) = at {
                if !out.iter().any(|a: &Alarm| a.kind == kind && a.share == share) {
                    out.push(Alarm { kind, cycle, share, at });
                }
            }
        };
        push(100, r.due);
        for (share, at) in r.warnings {
            push(u16::from(share), at);
        }
    }
    out
}

/// The history as a support group's operating-level clocks see it from `from` (when the group
/// took the request): the status it was in then, the OLA `policy`, and what happened after.
/// Each group's stint has clocks of its own, starting when it began.
pub fn stint(history: &[Event], from: Timestamp, policy: usize) -> Vec<Event> {
    let mut state = State::default();
    let mut out = Vec::new();
    for e in history {
        if e.at() <= from {
            state.apply(e);
            continue;
        }
        if out.is_empty() {
            out.extend(opening(&state, from, policy));
        }
        if !matches!(e, Event::Policy { .. }) {
            out.push(e.clone());
        }
    }
    if out.is_empty() {
        out.extend(opening(&state, from, policy));
    }
    out
}

fn opening(state: &State, from: Timestamp, policy: usize) -> Vec<Event> {
    let Some((status, done, stops)) = state.status.clone() else {
        return Vec::new();
    };
    vec![
        Event::Status {
            at: from,
            status,
            done,
            stops,
        },
        Event::Policy { at: from, policy },
    ]
}

/// The moment the counted time reaches `amount` along the runs; the last run, if open, goes on
/// in its policy's calendar. None when the runs end short of it.
fn moment_of(amount: SignedDuration, runs: &[Run], policies: &[Policy]) -> Option<Timestamp> {
    let mut left = amount;
    for r in runs {
        let p = &policies[r.policy];
        match r.to {
            None => return p.calendar.after_working(r.from, &p.tz, left),
            Some(to) => {
                let here = p.calendar.working_between(r.from, to, &p.tz);
                if here >= left {
                    return p.calendar.after_working(r.from, &p.tz, left);
                }
                left -= here;
            }
        }
    }
    None
}

#[cfg(test)]
mod tests;
