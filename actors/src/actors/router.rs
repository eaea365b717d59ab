//! RouterActor: one per organisation. Runs the routing engine over the organisation's waiting
//! conversations whenever something changes (a conversation queued or closed, an operator's
//! presence) and on a short tick (offers running out, widening steps, wrap-up ending).
//!
//! It reads its input from the store each pass and writes each decision as a guarded update,
//! so it holds no state that a restart or a second node could contradict: two routers of the
//! same organisation on two nodes may both decide, and the store lets one offer stand.

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use futures_util::StreamExt;

use super::operator::{OperatorActor, SetPresence};
use super::registry::Registry;
use super::ticket::publish;
use super::{bus_stream, Heard};
use crate::bus::{Event, EventKind};
use crate::model::conversation::ConversationStatus;
use crate::model::{
    now_millis,
    presence::Presence,
    routing::{self, Decision},
};
use crate::store::Backend;
use crate::Core;

/// Decisions of one pass written to the store at the same time.
const CONCURRENT_DECISIONS: usize = 8;
/// Offers made in one transaction on SQLite: enough to save most commits, few enough that a
/// visitor's message never waits long behind a routing burst.
const OFFERS_PER_COMMIT: usize = 16;

/// How often a pass runs even when nothing was heard.
const TICK: Duration = Duration::from_millis(500);

/// The reason shown for a break the router imposes.
pub const MISSED_OFFERS: &str = "missed offers";

pub struct RouterActor {
    core: Core,
    org_id: i64,
    operators: Arc<Registry<OperatorActor>>,
    running: bool,
    dirty: bool,
}

impl RouterActor {
    pub fn new(core: Core, org_id: i64, operators: Arc<Registry<OperatorActor>>) -> Self {
        Self {
            core,
            org_id,
            operators,
            running: false,
            dirty: true,
        }
    }

    fn pass(&mut self, ctx: &mut Context<Self>) {
        if self.running {
            self.dirty = true;
            return;
        }
        self.running = true;
        self.dirty = false;
        let (core, org_id, operators) = (self.core.clone(), self.org_id, self.operators.clone());
        let work = async move {
            let snap = core.store.routing_snapshot(org_id).await?;
            let now = now_millis();
            let decisions = routing::route(now, &snap.waiting, &snap.operators, &snap.policies);
            // The event for a decision is built from the snapshot: no read per decision.
            let services: std::collections::HashMap<i64, i64> =
                snap.waiting.iter().map(|w| (w.id, w.service_id)).collect();
            let changed = |ticket: i64, status: ConversationStatus, offer: Option<(i64, i64)>| Event {
                origin: 0,
                org_id,
                branch_id: 0,
                at: now,
                kind: EventKind::ConversationChanged {
                    conversation_id: ticket,
                    thread_key: snap.threads.get(&ticket).cloned().unwrap_or_default(),
                    status,
                    service_id: services.get(&ticket).copied().unwrap_or(0),
                    assignee_id: None,
                    offered_to: offer.map(|o| o.0),
                    offer_expires_at: offer.map(|o| o.1),
                },
            };
            // On SQLite, whose single writer takes them in turn anyway, the offers go to the
            // store in batches of one transaction each, after the rest (expired offers free
            // the places the offers were decided on).
            let batched = core.store.backend() == Backend::Sqlite;
            let (offers, rest): (Vec<Decision>, Vec<Decision>) = decisions
                .into_iter()
                .partition(|d| batched && matches!(d, Decision::Offer { .. }));
            // Decisions touch different rows; several go to the store at once (PostgreSQL
            // serves them in parallel).
            let (core, operators, changed) = (&core, &operators, &changed);
            futures_util::stream::iter(rest)
                .for_each_concurrent(CONCURRENT_DECISIONS, |d| async move {
                    if let Err(e) = apply(core, operators, changed, d, now).await {
                        tracing::warn!(error = %e, "routing decision not applied; the next pass retries");
                    }
                })
                .await;
            let offers: Vec<(i64, i64, i64)> = offers
                .into_iter()
                .filter_map(|d| match d {
                    Decision::Offer {
                        ticket,
                        operator,
                        expires_at,
                    } => Some((ticket, operator, expires_at)),
                    _ => None,
                })
                .collect();
            for batch in offers.chunks(OFFERS_PER_COMMIT) {
                match core.store.offers(batch, now).await {
                    Ok(made) => {
                        let events = batch
                            .iter()
                            .zip(made)
                            .filter(|(_, made)| *made)
                            .map(|((ticket, operator, expires_at), _)| {
                                tracing::info!(conversation = ticket, operator, "offered");
                                changed(*ticket, ConversationStatus::Offered, Some((*operator, *expires_at)))
                            })
                            .collect();
                        publish(core, events).await;
                    }
                    Err(e) => tracing::warn!(error = %e, "offers not made; the next pass retries"),
                }
            }
            Ok::<_, crate::Error>(())
        };
        ctx.spawn(work.into_actor(self).map(|res, act, ctx| {
            if let Err(e) = res {
                tracing::warn!(org = act.org_id, error = %e, "routing pass failed; retrying on the next tick");
            }
            act.running = false;
            if act.dirty {
                act.pass(ctx);
            }
        }));
    }
}

/// Stores one decision and publishes it.
async fn apply(
    core: &Core,
    operators: &Registry<OperatorActor>,
    changed: &impl Fn(i64, ConversationStatus, Option<(i64, i64)>) -> Event,
    d: Decision,
    now: i64,
) -> crate::Result<()> {
    match d {
        Decision::Offer {
            ticket,
            operator,
            expires_at,
        } => {
            if core.store.offer(ticket, operator, expires_at, now).await? {
                tracing::info!(conversation = ticket, operator, "offered");
                publish(
                    core,
                    vec![changed(
                        ticket,
                        ConversationStatus::Offered,
                        Some((operator, expires_at)),
                    )],
                )
                .await;
            }
        }
        Decision::Expire {
            ticket,
            operator,
            to_break,
        } => {
            if core.store.withdraw_offer(ticket, operator, true, now).await? {
                tracing::info!(conversation = ticket, operator, "offer ran out");
                publish(core, vec![changed(ticket, ConversationStatus::Queued, None)]).await;
                if to_break {
                    tracing::info!(operator, "missed offers in a row; set on a break");
                    send_on_break(operators, operator).await;
                }
            }
        }
        Decision::Break { operator } => {
            tracing::info!(
                operator,
                "missed offers in a row; set on a break now that their hands are free"
            );
            send_on_break(operators, operator).await;
        }
    }
    Ok(())
}

async fn send_on_break(operators: &Registry<OperatorActor>, operator: i64) {
    let res = operators
        .get(operator)
        .send(SetPresence(Presence::Break {
            reason: MISSED_OFFERS.into(),
        }))
        .await;
    if !matches!(res, Ok(Ok(_))) {
        // A visitor at their window: the engine offers them nothing and tries again later.
        tracing::warn!(operator, "could not set the operator on a break yet");
    }
}

impl Actor for RouterActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.add_stream(bus_stream(self.core.bus.subscribe()));
        ctx.run_interval(TICK, |act, ctx| act.pass(ctx));
        self.pass(ctx);
    }
}

impl StreamHandler<Heard> for RouterActor {
    fn handle(&mut self, heard: Heard, ctx: &mut Context<Self>) {
        let relevant = match heard {
            Heard::Missed => true,
            Heard::Event(e) => {
                e.kind == EventKind::Resync
                    || (e.org_id == self.org_id
                        && matches!(
                            e.kind,
                            EventKind::ConversationChanged { .. }
                                | EventKind::OperatorChanged { .. }
                                | EventKind::TicketChanged { .. }
                        ))
            }
        };
        if relevant {
            self.pass(ctx);
        }
    }

    fn finished(&mut self, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

/// Asks for a pass now (a conversation was queued, an operator came back).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Poke;

impl Handler<Poke> for RouterActor {
    type Result = ();

    fn handle(&mut self, _: Poke, ctx: &mut Context<Self>) {
        self.pass(ctx);
    }
}
