//! The routing engine: which operator gets which waiting ticket. One set of rules for visits,
//! chats and calls. Pure: it takes a snapshot of the waiting tickets and the operators and
//! returns decisions; the router actor stores them (guarded, so two nodes cannot hand one ticket
//! to two people) and the operator's actor applies the pull side (call next at a window).
//!
//! Order of the waiting: priority (VIP) first, then age. Eligibility: the operator is available,
//! not in wrap-up, has room for the ticket's kind, was not already tried for it, and is skilled
//! enough for how long the ticket has waited (the queue's widening steps). Among the eligible,
//! the queue's strategy chooses.

use std::collections::HashMap;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::Millis;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// The operator free for the longest time.
    LongestIdle,
    /// Operators in turn: the one offered something longest ago.
    RoundRobin,
    /// The operator with the fewest tickets in hand.
    FewestActive,
    /// The most proficient operator in the queue's service.
    Skills,
}

impl Strategy {
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::LongestIdle => "longest_idle",
            Strategy::RoundRobin => "round_robin",
            Strategy::FewestActive => "fewest_active",
            Strategy::Skills => "skills",
        }
    }
}

impl FromStr for Strategy {
    type Err = RoutingError;
    fn from_str(s: &str) -> Result<Self, RoutingError> {
        match s {
            "longest_idle" => Ok(Strategy::LongestIdle),
            "round_robin" => Ok(Strategy::RoundRobin),
            "fewest_active" => Ok(Strategy::FewestActive),
            "skills" => Ok(Strategy::Skills),
            other => Err(RoutingError::UnknownStrategy(other.to_string())),
        }
    }
}

/// From `after_secs` of waiting on, operators with at least `min_proficiency` are eligible.
/// Proficiency 0 stands for "anyone available", skilled in the service or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub after_secs: i64,
    pub min_proficiency: u8,
}

/// The latest a widening step may start: a day.
pub const MAX_STEP_SECS: i64 = 24 * 3600;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoutingError {
    #[error("unknown strategy {0:?}: use longest_idle, round_robin, fewest_active or skills")]
    UnknownStrategy(String),
    #[error("widening steps must start at 0 s, grow in time (up to a day) and never ask for more proficiency later")]
    StepsNotWidening,
    #[error("proficiency is 1 to 5 (0 in a step: anyone)")]
    ProficiencyRange,
    #[error("offer_secs is 5 to 600, missed_limit 1 to 100")]
    Limits,
}

/// A queue's routing rules.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub strategy: Strategy,
    steps: Vec<Step>,
    /// How long an operator has to accept an offer.
    pub offer_ms: Millis,
    /// Offers missed in a row that put an operator on a break.
    pub missed_limit: u32,
}

impl Policy {
    /// Checks that the steps only ever widen: starting at 0 s, later steps ask for no more
    /// proficiency than earlier ones. No steps: anyone with the skill, from the start.
    pub fn new(
        strategy: Strategy,
        steps: Vec<Step>,
        offer_ms: Millis,
        missed_limit: u32,
    ) -> Result<Self, RoutingError> {
        if steps.iter().any(|s| s.min_proficiency > 5) {
            return Err(RoutingError::ProficiencyRange);
        }
        if steps.iter().any(|s| !(0..=MAX_STEP_SECS).contains(&s.after_secs)) {
            return Err(RoutingError::StepsNotWidening);
        }
        if let Some(first) = steps.first() {
            if first.after_secs != 0 {
                return Err(RoutingError::StepsNotWidening);
            }
        }
        if steps
            .windows(2)
            .any(|w| w[1].after_secs <= w[0].after_secs || w[1].min_proficiency > w[0].min_proficiency)
        {
            return Err(RoutingError::StepsNotWidening);
        }
        Ok(Self {
            strategy,
            steps,
            offer_ms: offer_ms.max(1000),
            missed_limit: missed_limit.max(1),
        })
    }

    /// A policy as an administrator sets it: offers last 5 to 600 s, 1 to 100 misses in a row
    /// mean a break.
    pub fn checked(
        strategy: Strategy,
        steps: Vec<Step>,
        offer_secs: i64,
        missed_limit: i64,
    ) -> Result<Self, RoutingError> {
        if !(5..=600).contains(&offer_secs) || !(1..=100).contains(&missed_limit) {
            return Err(RoutingError::Limits);
        }
        Self::new(strategy, steps, offer_secs * 1000, missed_limit as u32)
    }

    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// The proficiency a ticket needs after waiting `waited` ms.
    pub fn min_proficiency(&self, waited: Millis) -> u8 {
        self.steps
            .iter()
            .rev()
            .find(|s| s.after_secs * 1000 <= waited)
            .map_or(1, |s| s.min_proficiency)
    }

    /// How long a ticket must have waited before an operator of `proficiency` may take it
    /// (None: never). The pull side (call next at a window) turns this into a cut-off time.
    pub fn wait_needed(&self, proficiency: u8) -> Option<Millis> {
        if self.steps.is_empty() {
            return (proficiency >= 1).then_some(0);
        }
        self.steps
            .iter()
            .find(|s| proficiency >= s.min_proficiency)
            .map(|s| s.after_secs * 1000)
    }
}

/// What a ticket takes from an operator's capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Load {
    /// A chat or a message thread: several at once, up to the operator's chat capacity.
    Chat,
    /// A mail thread: answered at the operator's pace, many at once, up to their mail capacity
    /// (its own, so a full inbox never keeps chats from them, nor chats their mail).
    Mail,
    /// A visit or a call: one at a time.
    Exclusive,
}

/// A ticket waiting for an operator, or offered to one.
#[derive(Debug, Clone, PartialEq)]
pub struct Waiting {
    pub id: i64,
    pub service_id: i64,
    pub priority: i64,
    /// When it started waiting: the age the steps and the order use.
    pub queued_at: Millis,
    pub load: Load,
    /// The offer in progress, if any: to whom, until when.
    pub offer: Option<(i64, Millis)>,
    /// Operators it was already offered to and who let it pass.
    pub tried: Vec<i64>,
}

/// An operator as the router sees them.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub id: i64,
    /// Signed in and available (not on a break, not offline).
    pub available: bool,
    pub wrap_up_until: Millis,
    pub chats: u32,
    pub chat_capacity: u32,
    pub mails: u32,
    pub mail_capacity: u32,
    /// Visits and calls in hand (at most one).
    pub exclusive: u32,
    pub idle_since: Millis,
    pub last_offer_at: Millis,
    pub missed_offers: u32,
    /// Service id → proficiency 1–5.
    pub skills: HashMap<i64, u8>,
}

impl Candidate {
    fn active(&self) -> u32 {
        self.chats + self.mails + self.exclusive
    }

    /// Whether a ticket of `load` may be offered to this operator at `now`: available, past
    /// their wrap-up, with room for it. The router asks it for every pick; the store asks it
    /// again inside the offer's transaction, over that moment's figures, so two routers (on two
    /// nodes) never fill one operator past their capacity.
    pub fn may_take(&self, now: Millis, load: Load) -> bool {
        self.available && self.wrap_up_until <= now && self.has_room(load)
    }

    fn has_room(&self, load: Load) -> bool {
        match load {
            Load::Chat => self.chats < self.chat_capacity,
            Load::Mail => self.mails < self.mail_capacity,
            Load::Exclusive => self.exclusive == 0,
        }
    }

    fn take(&mut self, load: Load) {
        match load {
            Load::Chat => self.chats += 1,
            Load::Mail => self.mails += 1,
            Load::Exclusive => self.exclusive += 1,
        }
    }

    fn proficiency(&self, service_id: i64) -> u8 {
        self.skills.get(&service_id).copied().unwrap_or(0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Offer ticket `ticket` to `operator` until `expires_at`.
    Offer {
        ticket: i64,
        operator: i64,
        expires_at: Millis,
    },
    /// The offer of `ticket` to `operator` ran out; the ticket waits again. `to_break`: the
    /// operator has now missed too many in a row and goes on a break.
    Expire { ticket: i64, operator: i64, to_break: bool },
    /// An operator who reached the miss limit earlier but could not be put on a break then (a
    /// visitor was at their window) is free now: the break happens now.
    Break { operator: i64 },
}

/// Priority first, then age, then id: the order in which waiting tickets are served.
pub fn order(waiting: &mut [Waiting]) {
    waiting.sort_by_key(|w| (-w.priority, w.queued_at, w.id));
}

/// One routing pass. Offers that ran out are expired first (their operators count a miss), then
/// every waiting ticket without an offer, best first, goes to the best eligible operator. An
/// operator's pending offers count against their capacity.
pub fn route(
    now: Millis,
    waiting: &[Waiting],
    operators: &[Candidate],
    policies: &HashMap<i64, Policy>,
) -> Vec<Decision> {
    let mut decisions = Vec::new();
    let mut ops: Vec<Candidate> = operators.to_vec();
    let mut queue: Vec<Waiting> = Vec::with_capacity(waiting.len());
    for w in waiting {
        let mut w = w.clone();
        if let Some((op_id, expires_at)) = w.offer {
            if expires_at <= now {
                let limit = policies.get(&w.service_id).map_or(3, |p| p.missed_limit);
                let mut to_break = false;
                if let Some(op) = ops.iter_mut().find(|o| o.id == op_id) {
                    op.missed_offers += 1;
                    if op.missed_offers >= limit {
                        op.available = false;
                        to_break = true;
                    }
                }
                decisions.push(Decision::Expire {
                    ticket: w.id,
                    operator: op_id,
                    to_break,
                });
                w.offer = None;
                w.tried.push(op_id);
            } else {
                // A live offer holds a place in the operator's capacity.
                if let Some(op) = ops.iter_mut().find(|o| o.id == op_id) {
                    op.take(w.load);
                }
                continue;
            }
        }
        queue.push(w);
    }
    // The smallest miss limit of the queues: reaching it anywhere means a break.
    let limit = policies.values().map(|p| p.missed_limit).min().unwrap_or(3);
    for op in &ops {
        let just_sent = decisions
            .iter()
            .any(|d| matches!(d, Decision::Expire { operator, to_break: true, .. } if *operator == op.id));
        if op.available && op.exclusive == 0 && op.missed_offers >= limit && !just_sent {
            decisions.push(Decision::Break { operator: op.id });
        }
    }
    order(&mut queue);
    for w in &queue {
        let Some(policy) = policies.get(&w.service_id) else {
            continue;
        };
        let Some(i) = choose(now, w, &ops, policy) else {
            continue;
        };
        let op = &mut ops[i];
        op.take(w.load);
        op.last_offer_at = now;
        decisions.push(Decision::Offer {
            ticket: w.id,
            operator: op.id,
            expires_at: now + policy.offer_ms,
        });
    }
    decisions
}

/// Whether `op` may take `w` now, ignoring who was tried before.
fn eligible(now: Millis, w: &Waiting, op: &Candidate, policy: &Policy) -> bool {
    op.may_take(now, w.load)
        // Someone who missed too many in a row gets no more, even if the break could not be
        // set (a visitor at their window).
        && op.missed_offers < policy.missed_limit
        && op.proficiency(w.service_id) >= policy.min_proficiency(now - w.queued_at)
}

/// The index in `ops` of the operator the strategy picks for `w`. Operators already tried are
/// passed over while someone else is eligible; when all were tried, the round starts again.
fn choose(now: Millis, w: &Waiting, ops: &[Candidate], policy: &Policy) -> Option<usize> {
    let eligible: Vec<usize> = (0..ops.len()).filter(|&i| eligible(now, w, &ops[i], policy)).collect();
    let fresh: Vec<usize> = eligible
        .iter()
        .copied()
        .filter(|&i| !w.tried.contains(&ops[i].id))
        .collect();
    let pool = if fresh.is_empty() { eligible } else { fresh };
    let key = |i: &usize| {
        let o = &ops[*i];
        // Operators with empty hands count as idle since they became free and come first; among
        // the busy ones the least loaded does (then the longest idle), so chats spread out.
        let idle = (i64::from(o.active()), o.idle_since);
        match policy.strategy {
            Strategy::LongestIdle => (0i64, idle.0, idle.1, o.id),
            Strategy::RoundRobin => (o.last_offer_at, 0, 0, o.id),
            Strategy::FewestActive => (i64::from(o.active()), 0, o.idle_since, o.id),
            Strategy::Skills => (-i64::from(o.proficiency(w.service_id)), idle.0, idle.1, o.id),
        }
    };
    pool.into_iter().min_by_key(key)
}

/// The pull side, for an operator at a window pressing "call next": the best waiting ticket
/// they are eligible for, in the same order and under the same steps as [`route`].
pub fn pick_for(now: Millis, op: &Candidate, waiting: &[Waiting], policies: &HashMap<i64, Policy>) -> Option<i64> {
    let mut queue: Vec<Waiting> = waiting.iter().filter(|w| w.offer.is_none()).cloned().collect();
    order(&mut queue);
    queue
        .iter()
        .find(|w| policies.get(&w.service_id).is_some_and(|p| eligible(now, w, op, p)))
        .map(|w| w.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 10;
    const T: i64 = 20;

    fn policy(strategy: Strategy) -> HashMap<i64, Policy> {
        let p = Policy::new(strategy, vec![], 20_000, 3).unwrap();
        HashMap::from([(S, p.clone()), (T, p)])
    }

    fn op(id: i64) -> Candidate {
        Candidate {
            id,
            available: true,
            wrap_up_until: 0,
            chats: 0,
            chat_capacity: 3,
            mails: 0,
            mail_capacity: 10,
            exclusive: 0,
            idle_since: 0,
            last_offer_at: 0,
            missed_offers: 0,
            skills: HashMap::from([(S, 3), (T, 3)]),
        }
    }

    fn chat(id: i64, queued_at: Millis) -> Waiting {
        Waiting {
            id,
            service_id: S,
            priority: 0,
            queued_at,
            load: Load::Chat,
            offer: None,
            tried: vec![],
        }
    }

    fn offers(d: &[Decision]) -> Vec<(i64, i64)> {
        d.iter()
            .filter_map(|d| match d {
                Decision::Offer { ticket, operator, .. } => Some((*ticket, *operator)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn longest_idle_picks_who_has_been_free_longest() {
        let mut a = op(1);
        a.idle_since = 5_000;
        let mut b = op(2);
        b.idle_since = 1_000;
        let d = route(10_000, &[chat(100, 0)], &[a, b], &policy(Strategy::LongestIdle));
        assert_eq!(offers(&d), vec![(100, 2)]);
    }

    #[test]
    fn longest_idle_prefers_empty_hands() {
        let mut busy = op(1);
        busy.idle_since = 0;
        busy.chats = 1;
        let mut free = op(2);
        free.idle_since = 9_000;
        let d = route(10_000, &[chat(100, 0)], &[busy, free], &policy(Strategy::LongestIdle));
        assert_eq!(offers(&d), vec![(100, 2)]);
    }

    #[test]
    fn among_busy_operators_the_least_loaded_comes_first() {
        let mut long_idle_but_loaded = op(1);
        long_idle_but_loaded.idle_since = 0;
        long_idle_but_loaded.chats = 2;
        let mut lighter = op(2);
        lighter.idle_since = 5_000;
        lighter.chats = 1;
        for strategy in [Strategy::LongestIdle, Strategy::Skills] {
            let d = route(
                10_000,
                &[chat(100, 0)],
                &[long_idle_but_loaded.clone(), lighter.clone()],
                &policy(strategy),
            );
            assert_eq!(offers(&d), vec![(100, 2)], "{strategy:?}");
        }
        // A burst spreads over everyone instead of filling one operator first.
        let w: Vec<Waiting> = (0..6).map(|i| chat(i, i)).collect();
        let d = route(10_000, &w, &[op(1), op(2), op(3)], &policy(Strategy::LongestIdle));
        let mut per_op = HashMap::new();
        for (_, o) in offers(&d) {
            *per_op.entry(o).or_insert(0) += 1;
        }
        assert_eq!(per_op, HashMap::from([(1, 2), (2, 2), (3, 2)]));
    }

    #[test]
    fn round_robin_takes_turns() {
        let mut a = op(1);
        a.last_offer_at = 900;
        let mut b = op(2);
        b.last_offer_at = 100;
        let mut c = op(3);
        c.last_offer_at = 500;
        let d = route(
            10_000,
            &[chat(100, 0), chat(101, 1), chat(102, 2)],
            &[a, b, c],
            &policy(Strategy::RoundRobin),
        );
        // Oldest offer first, and each offer moves the operator to the back of the turn.
        assert_eq!(offers(&d), vec![(100, 2), (101, 3), (102, 1)]);
    }

    #[test]
    fn fewest_active_balances_the_load() {
        let mut a = op(1);
        a.chats = 2;
        let mut b = op(2);
        b.chats = 1;
        let d = route(
            10_000,
            &[chat(100, 0), chat(101, 1)],
            &[a, b],
            &policy(Strategy::FewestActive),
        );
        // b has fewer; after taking one, a and b both hold 2 and the tie goes to the longer idle.
        assert_eq!(offers(&d), vec![(100, 2), (101, 1)]);
    }

    #[test]
    fn skills_picks_the_most_proficient() {
        let mut a = op(1);
        a.skills.insert(S, 2);
        let mut b = op(2);
        b.skills.insert(S, 5);
        let d = route(10_000, &[chat(100, 0)], &[a, b], &policy(Strategy::Skills));
        assert_eq!(offers(&d), vec![(100, 2)]);
    }

    #[test]
    fn steps_widen_the_eligible_operators_with_the_wait() {
        let steps = vec![
            Step {
                after_secs: 0,
                min_proficiency: 4,
            },
            Step {
                after_secs: 30,
                min_proficiency: 2,
            },
            Step {
                after_secs: 60,
                min_proficiency: 0,
            },
        ];
        let p = Policy::new(Strategy::LongestIdle, steps, 20_000, 3).unwrap();
        let policies = HashMap::from([(S, p.clone())]);
        let mut novice = op(1);
        novice.skills = HashMap::from([(S, 2)]);
        let mut outsider = op(2);
        outsider.skills.clear();
        let ops = [novice.clone(), outsider.clone()];
        // 10 s: needs ≥ 4; nobody qualifies.
        assert!(offers(&route(10_000, &[chat(100, 0)], &ops, &policies)).is_empty());
        // 30 s: ≥ 2; the novice qualifies.
        assert_eq!(offers(&route(30_000, &[chat(100, 0)], &ops, &policies)), vec![(100, 1)]);
        // 60 s: anyone, even without the skill.
        assert_eq!(
            offers(&route(60_000, &[chat(100, 0)], &[outsider], &policies)),
            vec![(100, 2)]
        );
        assert_eq!(p.wait_needed(5), Some(0));
        assert_eq!(p.wait_needed(2), Some(30_000));
        assert_eq!(p.wait_needed(0), Some(60_000));
    }

    #[test]
    fn steps_that_narrow_are_refused() {
        let narrowing = vec![
            Step {
                after_secs: 0,
                min_proficiency: 2,
            },
            Step {
                after_secs: 30,
                min_proficiency: 4,
            },
        ];
        assert_eq!(
            Policy::new(Strategy::LongestIdle, narrowing, 1, 1),
            Err(RoutingError::StepsNotWidening)
        );
        let late_start = vec![Step {
            after_secs: 5,
            min_proficiency: 2,
        }];
        assert_eq!(
            Policy::new(Strategy::LongestIdle, late_start, 1, 1),
            Err(RoutingError::StepsNotWidening)
        );
        assert_eq!(
            Policy::checked(Strategy::Skills, vec![], 4, 3),
            Err(RoutingError::Limits)
        );
        assert_eq!(
            Policy::checked(Strategy::Skills, vec![], 20, 0),
            Err(RoutingError::Limits)
        );
        assert!(Policy::checked(Strategy::Skills, vec![], 20, 3).is_ok());
        let too_high = vec![Step {
            after_secs: 0,
            min_proficiency: 6,
        }];
        assert_eq!(
            Policy::new(Strategy::LongestIdle, too_high, 1, 1),
            Err(RoutingError::ProficiencyRange)
        );
        assert!("nearest".parse::<Strategy>().is_err());
    }

    #[test]
    fn no_steps_means_anyone_with_the_skill() {
        let p = Policy::new(Strategy::LongestIdle, vec![], 20_000, 3).unwrap();
        assert_eq!(p.min_proficiency(0), 1);
        assert_eq!(p.wait_needed(1), Some(0));
        assert_eq!(p.wait_needed(0), None);
        let mut outsider = op(1);
        outsider.skills.clear();
        assert!(route(99_000, &[chat(100, 0)], &[outsider], &policy(Strategy::LongestIdle)).is_empty());
    }

    #[test]
    fn vip_first_then_age() {
        let mut vip = chat(102, 5_000);
        vip.priority = 1;
        let mut one = op(1);
        one.chat_capacity = 1;
        let d = route(
            10_000,
            &[chat(100, 0), chat(101, 1_000), vip],
            &[one],
            &policy(Strategy::LongestIdle),
        );
        assert_eq!(offers(&d), vec![(102, 1)]);
        let mut w = vec![chat(100, 0), chat(101, 1_000), chat(102, 5_000)];
        w[2].priority = 1;
        order(&mut w);
        assert_eq!(w.iter().map(|w| w.id).collect::<Vec<_>>(), vec![102, 100, 101]);
    }

    #[test]
    fn no_operator_or_all_on_break_leaves_the_ticket_waiting() {
        assert!(route(1_000, &[chat(100, 0)], &[], &policy(Strategy::LongestIdle)).is_empty());
        let mut a = op(1);
        a.available = false;
        let mut b = op(2);
        b.available = false;
        assert!(route(1_000, &[chat(100, 0)], &[a, b], &policy(Strategy::LongestIdle)).is_empty());
    }

    #[test]
    fn an_offer_that_runs_out_goes_to_the_next_operator() {
        let mut w = chat(100, 0);
        w.offer = Some((1, 20_000));
        let ops = [op(1), op(2)];
        // Still running: nothing happens, and the offer holds a place in operator 1's capacity.
        assert!(route(19_999, std::slice::from_ref(&w), &ops, &policy(Strategy::LongestIdle)).is_empty());
        let d = route(20_000, &[w], &ops, &policy(Strategy::LongestIdle));
        assert_eq!(
            d,
            vec![
                Decision::Expire {
                    ticket: 100,
                    operator: 1,
                    to_break: false
                },
                Decision::Offer {
                    ticket: 100,
                    operator: 2,
                    expires_at: 40_000
                },
            ]
        );
    }

    #[test]
    fn when_everyone_was_tried_the_round_starts_again() {
        let mut w = chat(100, 0);
        w.tried = vec![1, 2];
        let d = route(1_000, &[w], &[op(1), op(2)], &policy(Strategy::LongestIdle));
        assert_eq!(offers(&d), vec![(100, 1)]);
    }

    #[test]
    fn missing_offers_in_a_row_sends_the_operator_on_a_break() {
        let mut w = chat(100, 0);
        w.offer = Some((1, 20_000));
        let mut tired = op(1);
        tired.missed_offers = 2;
        let d = route(20_000, &[w], &[tired], &policy(Strategy::LongestIdle));
        // The third miss in a row (limit 3) is a break; the ticket is not offered back to them.
        assert_eq!(
            d,
            vec![Decision::Expire {
                ticket: 100,
                operator: 1,
                to_break: true
            }]
        );
    }

    #[test]
    fn an_operator_at_the_miss_limit_gets_no_offers_even_without_a_break() {
        // Their break could not be set (a visitor at the window): they still get nothing new.
        let mut busy_at_window = op(1);
        busy_at_window.exclusive = 1;
        busy_at_window.missed_offers = 3;
        assert!(route(
            1_000,
            &[chat(100, 0)],
            &[busy_at_window.clone()],
            &policy(Strategy::LongestIdle)
        )
        .is_empty());
        // Once the visitor has gone, the break they earned happens.
        let mut free_now = busy_at_window.clone();
        free_now.exclusive = 0;
        assert_eq!(
            route(1_000, &[chat(100, 0)], &[free_now], &policy(Strategy::LongestIdle)),
            vec![Decision::Break { operator: 1 }]
        );
        busy_at_window.missed_offers = 2;
        assert_eq!(
            offers(&route(
                1_000,
                &[chat(100, 0)],
                &[busy_at_window],
                &policy(Strategy::LongestIdle)
            )),
            vec![(100, 1)]
        );
    }

    #[test]
    fn mail_has_a_capacity_of_its_own() {
        let mut a = op(1);
        a.chats = 3;
        let mut mail = chat(100, 0);
        mail.load = Load::Mail;
        // Chats full: a mail still comes.
        assert_eq!(
            offers(&route(
                1_000,
                &[mail.clone()],
                &[a.clone()],
                &policy(Strategy::LongestIdle)
            )),
            vec![(100, 1)]
        );
        // Mail full: no mail, but a chat comes once there is room for one.
        a.mails = 10;
        assert!(route(1_000, &[mail.clone()], &[a.clone()], &policy(Strategy::LongestIdle)).is_empty());
        a.chats = 2;
        assert_eq!(
            offers(&route(
                1_000,
                &[mail, chat(101, 5)],
                &[a],
                &policy(Strategy::LongestIdle)
            )),
            vec![(101, 1)]
        );
        // Mail capacity 0: this operator takes no mail at all.
        let mut no_mail = op(2);
        no_mail.mail_capacity = 0;
        assert!(!no_mail.may_take(1_000, Load::Mail));
        assert!(no_mail.may_take(1_000, Load::Chat));
    }

    #[test]
    fn capacity_limits_chats_and_exclusive_work_separately() {
        let mut full = op(1);
        full.chats = 3;
        assert!(route(1_000, &[chat(100, 0)], &[full.clone()], &policy(Strategy::LongestIdle)).is_empty());
        // A full chat capacity leaves room for a call or visit, and a visit in hand leaves room for chats.
        let mut call = chat(101, 0);
        call.load = Load::Exclusive;
        assert_eq!(
            offers(&route(1_000, &[call.clone()], &[full], &policy(Strategy::LongestIdle))),
            vec![(101, 1)]
        );
        let mut visiting = op(2);
        visiting.exclusive = 1;
        assert!(route(1_000, &[call], &[visiting.clone()], &policy(Strategy::LongestIdle)).is_empty());
        assert_eq!(
            offers(&route(
                1_000,
                &[chat(102, 0)],
                &[visiting],
                &policy(Strategy::LongestIdle)
            )),
            vec![(102, 2)]
        );
        // Capacity 2 with 4 waiting: two offers, the rest keeps waiting.
        let mut two = op(3);
        two.chat_capacity = 2;
        let w = [chat(1, 0), chat(2, 1), chat(3, 2), chat(4, 3)];
        assert_eq!(
            offers(&route(1_000, &w, &[two], &policy(Strategy::LongestIdle))),
            vec![(1, 3), (2, 3)]
        );
    }

    #[test]
    fn wrap_up_holds_new_work_back_until_it_ends() {
        let mut a = op(1);
        a.wrap_up_until = 5_000;
        assert!(route(4_999, &[chat(100, 0)], &[a.clone()], &policy(Strategy::LongestIdle)).is_empty());
        assert_eq!(
            offers(&route(5_000, &[chat(100, 0)], &[a], &policy(Strategy::LongestIdle))),
            vec![(100, 1)]
        );
    }

    #[test]
    fn a_queue_without_a_policy_is_not_routed() {
        let mut w = chat(100, 0);
        w.service_id = 999;
        assert!(route(1_000, &[w], &[op(1)], &policy(Strategy::LongestIdle)).is_empty());
    }

    #[test]
    fn the_pull_side_takes_the_best_ticket_the_operator_may_serve() {
        let steps = vec![
            Step {
                after_secs: 0,
                min_proficiency: 4,
            },
            Step {
                after_secs: 30,
                min_proficiency: 2,
            },
        ];
        let strict = Policy::new(Strategy::LongestIdle, steps, 20_000, 3).unwrap();
        let policies = HashMap::from([
            (S, strict),
            (T, Policy::new(Strategy::LongestIdle, vec![], 20_000, 3).unwrap()),
        ]);
        let mut visit_s = chat(100, 0);
        visit_s.load = Load::Exclusive;
        let mut visit_t = chat(101, 5_000);
        visit_t.service_id = T;
        visit_t.load = Load::Exclusive;
        let mut novice = op(1);
        novice.skills = HashMap::from([(S, 2), (T, 2)]);
        // At 10 s the older S visit needs ≥ 4: the novice gets the T visit.
        assert_eq!(
            pick_for(10_000, &novice, &[visit_s.clone(), visit_t.clone()], &policies),
            Some(101)
        );
        // At 30 s the S visit opens up to ≥ 2 and, older, comes first.
        assert_eq!(
            pick_for(30_000, &novice, &[visit_s.clone(), visit_t.clone()], &policies),
            Some(100)
        );
        // A VIP comes before age.
        visit_t.priority = 1;
        assert_eq!(pick_for(30_000, &novice, &[visit_s, visit_t], &policies), Some(101));
        assert_eq!(pick_for(30_000, &novice, &[], &policies), None);
    }

    #[test]
    fn an_operator_who_signs_out_with_tickets_in_hand_gets_no_new_ones() {
        let mut gone = op(1);
        gone.available = false;
        gone.chats = 2;
        let d = route(1_000, &[chat(100, 0)], &[gone, op(2)], &policy(Strategy::FewestActive));
        assert_eq!(offers(&d), vec![(100, 2)]);
    }

    #[test]
    fn room_is_availability_wrap_up_and_capacity_by_load() {
        let mut o = op(1);
        o.chat_capacity = 2;
        o.chats = 1;
        assert!(o.may_take(100, Load::Chat));
        assert!(o.may_take(100, Load::Exclusive), "a call or a visit needs none in hand");
        o.chats = 2;
        assert!(!o.may_take(100, Load::Chat), "chat capacity full");
        o.exclusive = 1;
        assert!(!o.may_take(100, Load::Exclusive), "one call or visit at a time");
        o.chats = 0;
        assert!(
            o.may_take(100, Load::Chat),
            "chats beside a call, as the capacity allows"
        );
        o.wrap_up_until = 200;
        assert!(!o.may_take(100, Load::Chat), "in wrap-up");
        assert!(o.may_take(200, Load::Chat), "wrap-up over");
        o.available = false;
        assert!(!o.may_take(300, Load::Chat), "not available");
    }
}
