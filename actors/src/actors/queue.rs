//! QueueActor: the live picture of one branch's queues (waiting per service, operators serving
//! each, estimated wait). Kept current from bus events, so answering costs no store query; it
//! reloads from the store on start, when it may have missed events, and every half minute.

use std::collections::HashMap;
use std::time::Duration;

use actix::prelude::*;
use serde::Serialize;

use super::{bus_stream, Heard};
use crate::bus::EventKind;
use crate::error::Result;
use crate::model::{eta::estimate_wait_secs, numbering::local_day, presence::Presence};
use crate::Core;

const RELOAD_EVERY: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct QueueView {
    pub service_id: i64,
    pub waiting: i64,
    pub operators: i64,
    /// Estimated wait for a ticket issued now, in seconds; None while nobody serves the queue.
    pub eta_secs: Option<i64>,
}

pub struct QueueActor {
    core: Core,
    branch_id: i64,
    waiting: HashMap<i64, i64>,
    /// Available operators and the services each serves.
    serving: HashMap<i64, Vec<i64>>,
    avg_service_secs: Option<f64>,
}

impl QueueActor {
    pub fn new(core: Core, branch_id: i64) -> Self {
        Self {
            core,
            branch_id,
            waiting: HashMap::new(),
            serving: HashMap::new(),
            avg_service_secs: None,
        }
    }

    fn reload(&mut self, ctx: &mut Context<Self>) {
        let (core, branch_id) = (self.core.clone(), self.branch_id);
        let load = async move {
            let store = &core.store;
            let branch = store.branch_public(branch_id).await?;
            let day = local_day(jiff::Timestamp::now(), &branch.tz());
            let waiting = store.waiting_counts(branch_id, &day).await?;
            let ops = store.operators_serving(branch_id).await?;
            let stats = store.today_stats(branch_id, &day, None).await?;
            Ok::<_, crate::Error>((waiting, ops, stats.avg_service_secs))
        };
        // `wait` holds other messages until the reload lands, so nobody reads half-loaded state.
        ctx.wait(load.into_actor(self).map(|res, act, _| match res {
            Ok((waiting, ops, avg)) => {
                act.waiting = waiting.into_iter().collect();
                act.serving = ops
                    .into_iter()
                    .filter(|o| o.presence == Presence::Available)
                    .map(|o| (o.user_id, o.service_ids))
                    .collect();
                act.avg_service_secs = avg;
            }
            Err(e) => tracing::warn!(branch = act.branch_id, error = %e, "queue reload failed"),
        }));
    }

    fn view(&self, service_id: i64) -> QueueView {
        let waiting = self.waiting.get(&service_id).copied().unwrap_or(0);
        let operators = self.serving.values().filter(|s| s.contains(&service_id)).count() as i64;
        QueueView {
            service_id,
            waiting,
            operators,
            eta_secs: estimate_wait_secs(waiting, operators, self.avg_service_secs),
        }
    }
}

impl Actor for QueueActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.add_stream(bus_stream(self.core.bus.subscribe()));
        self.reload(ctx);
        ctx.run_interval(RELOAD_EVERY, |act, ctx| act.reload(ctx));
    }
}

impl StreamHandler<Heard> for QueueActor {
    fn handle(&mut self, heard: Heard, ctx: &mut Context<Self>) {
        let event = match heard {
            Heard::Missed => return self.reload(ctx),
            Heard::Event(e) => e,
        };
        if event.kind == EventKind::Resync {
            return self.reload(ctx);
        }
        if event.branch_id != self.branch_id {
            return;
        }
        let mut bump = |service: i64, by: i64| {
            let n = self.waiting.entry(service).or_insert(0);
            *n = (*n + by).max(0);
        };
        match &event.kind {
            EventKind::TicketIssued { service_id, .. } => bump(*service_id, 1),
            EventKind::TicketCalled {
                service_id,
                recall: false,
                ..
            } => bump(*service_id, -1),
            EventKind::TicketChanged { service_id, status, .. } if status == "waiting" => bump(*service_id, 1),
            EventKind::TicketMoved {
                service_id,
                from_service_id,
                ..
            } => {
                bump(*from_service_id, -1);
                bump(*service_id, 1);
            }
            EventKind::OperatorChanged {
                operator_id,
                presence,
                service_ids,
                ..
            } => {
                if *presence == Presence::Available {
                    self.serving.insert(*operator_id, service_ids.clone());
                } else {
                    self.serving.remove(operator_id);
                }
            }
            _ => {}
        }
    }

    // The bus closing means the node is shutting down; the actor goes with it.
    fn finished(&mut self, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

/// The branch's queues, one entry per service id asked for.
#[derive(Message)]
#[rtype(result = "Result<Vec<QueueView>>")]
pub struct Snapshot(pub Vec<i64>);

impl Handler<Snapshot> for QueueActor {
    type Result = Result<Vec<QueueView>>;

    fn handle(&mut self, msg: Snapshot, _: &mut Context<Self>) -> Self::Result {
        Ok(msg.0.into_iter().map(|s| self.view(s)).collect())
    }
}

/// Estimated wait for a ticket with `ahead` tickets before it in `service_id`'s queue.
#[derive(Message)]
#[rtype(result = "Option<i64>")]
pub struct Estimate {
    pub service_id: i64,
    pub ahead: i64,
}

impl Handler<Estimate> for QueueActor {
    type Result = Option<i64>;

    fn handle(&mut self, msg: Estimate, _: &mut Context<Self>) -> Option<i64> {
        let operators = self.view(msg.service_id).operators;
        estimate_wait_secs(msg.ahead, operators, self.avg_service_secs)
    }
}
