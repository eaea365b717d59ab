//! RequestActor: one per service-desk request with clocks to watch. It holds what the clocks
//! are read from (the history, the policies and calendars, the alarms fired), fires the alarms
//! owed (each once: the store's row decides), carries out escalation steps, and tells the
//! node's alarm clock when to wake it next. Idle, it stops (passivation); the alarm clock or the
//! next change starts it again and it reloads.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;

use super::alarms::AlarmClock;
use crate::bus::EventKind;
use crate::error::Result;
use crate::model::desk::{self, Escalation};
use crate::model::{now_millis, Millis};
use crate::store::requests::{ClockFacts, Fired, PolicyInForce};
use crate::Core;

pub struct RequestActor {
    core: Core,
    id: i64,
    clock: AlarmClock,
    facts: Option<ClockFacts>,
    last_used: Instant,
    /// Seconds without a message after which the actor stops (shared, so a test or a benchmark
    /// can change it for all).
    idle_secs: Arc<AtomicU64>,
}

/// Wake up: a moment came (`reload` false), or the request changed (`reload` true: read it
/// again, since the history, a policy or a calendar may differ).
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct Wake {
    pub reload: bool,
}

/// Whether the actor holds its request's facts now (answered after any wake before it).
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "bool")]
pub struct Held;

impl Handler<Held> for RequestActor {
    type Result = bool;

    fn handle(&mut self, _: Held, _: &mut Context<Self>) -> bool {
        self.last_used = Instant::now();
        self.facts.is_some()
    }
}

impl RequestActor {
    pub fn new(core: Core, id: i64, clock: AlarmClock, idle_secs: Arc<AtomicU64>) -> Self {
        Self {
            core,
            id,
            clock,
            facts: None,
            last_used: Instant::now(),
            idle_secs,
        }
    }
}

impl Actor for RequestActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(Duration::from_secs(5), |act, ctx| {
            if act.last_used.elapsed() >= Duration::from_secs(act.idle_secs.load(Ordering::Relaxed)) {
                ctx.stop();
            }
        });
    }
}

impl Handler<Wake> for RequestActor {
    type Result = ();

    fn handle(&mut self, msg: Wake, ctx: &mut Context<Self>) {
        self.last_used = Instant::now();
        let facts = if msg.reload { None } else { self.facts.take() };
        let (core, id) = (self.core.clone(), self.id);
        // One wake at a time: the mailbox waits while this one reads and fires.
        ctx.wait(
            async move { check(&core, id, facts).await }
                .into_actor(self)
                .map(move |res, act, _| match res {
                    Ok((facts, next)) => {
                        act.clock.set(act.id, next);
                        act.facts = facts;
                    }
                    Err(e) => {
                        // The store is away: try again shortly rather than lose the alarm.
                        tracing::warn!(request = act.id, error = %e, "request clocks not checked; retrying");
                        act.facts = None;
                        act.clock.set(act.id, Some(now_millis() + 2_000));
                    }
                }),
        );
    }
}

/// Reads the clocks, fires what is owed, escalates, and answers what to keep and when to wake.
async fn check(core: &Core, id: i64, facts: Option<ClockFacts>) -> Result<(Option<ClockFacts>, Option<Millis>)> {
    let mut facts = facts;
    // An escalation hands the request to another group, whose OLA then applies: read again.
    for _ in 0..4 {
        let mut f = match facts.take() {
            Some(f) => f,
            None => core.store.clock_facts(id).await?,
        };
        if f.request.status_kind == "closed" {
            if f.request.next_alarm_at.is_some() {
                core.store.fire_alarms(id, &[], Some(None)).await?;
            }
            return Ok((None, None));
        }
        let now = now_millis();
        let tracks = f.tracks();
        let (due, next) = desk::owed(
            &tracks,
            |p| f.policies.get(&p).map(PolicyInForce::clocks),
            |track, kind, cycle, share| {
                f.fired.contains(&(
                    track.to_string(),
                    kind.as_str().to_string(),
                    cycle.as_millisecond(),
                    i64::from(share),
                ))
            },
            jiff::Timestamp::from_millisecond(now).unwrap_or(jiff::Timestamp::UNIX_EPOCH),
        );
        let next = next.map(|t| t.as_millisecond());
        let fired: Vec<Fired> = due
            .iter()
            .map(|d| Fired {
                track: d.track,
                clock: d.alarm.kind.as_str().to_string(),
                cycle: d.alarm.cycle.as_millisecond(),
                share: i64::from(d.alarm.share),
                due_at: d.alarm.at.as_millisecond(),
                fired_at: now,
            })
            .collect();
        // Every alarm due and the next moment, in one write. An escalation below reads the
        // request again, and keeps its own next moment then.
        let keep_next = (f.request.next_alarm_at != next).then_some(next);
        if fired.is_empty() && keep_next.is_none() {
            return Ok((Some(f), next));
        }
        let first = core.store.fire_alarms(id, &fired, keep_next).await?;
        f.request.next_alarm_at = next;
        let mut regrouped = false;
        for ((d, a), first) in due.iter().zip(&fired).zip(first) {
            f.fired.insert((a.track.to_string(), a.clock.clone(), a.cycle, a.share));
            if !first {
                continue;
            }
            crate::desk::desk_event(
                core,
                f.request.org_id,
                EventKind::RequestAlarm {
                    request_id: id,
                    track: a.track.to_string(),
                    clock: d.alarm.kind,
                    share: a.share,
                    due_at: a.due_at,
                    fired_at: a.fired_at,
                    group_id: f.request.group_id,
                },
            )
            .await;
            let steps: Vec<Escalation> = f
                .policies
                .get(&d.policy)
                .map(|p| p.policy.targets.steps_at(d.alarm.share).collect())
                .unwrap_or_default();
            for step in steps {
                if step == Escalation::RaiseGrade && !regrouped {
                    if let Some(to) = core.store.escalation_of(f.request.org_id, &f.request).await? {
                        core.store
                            .regroup_request(f.request.org_id, id, to, "escalation", None)
                            .await?;
                        regrouped = true;
                        crate::desk::desk_event(
                            core,
                            f.request.org_id,
                            EventKind::RequestChanged {
                                request_id: id,
                                status: f.request.status.clone(),
                                group_id: Some(to.group.id),
                                assignee_id: None,
                            },
                        )
                        .await;
                    }
                }
                // Notify: the alarm's event is on every console of the organisation already.
            }
        }
        if regrouped {
            continue;
        }
        return Ok((Some(f), next));
    }
    // Escalated along a whole line in one go (every grade's step already past): settle on the
    // next wake.
    Ok((None, Some(now_millis())))
}
