//! Hub's core: the model (plain rules), the store, the event bus and the actors that hold live
//! state. Nothing here knows about HTTP, SIP or Telegram.

pub mod actors;
pub mod auth;
pub mod bus;
pub mod error;
pub mod model;
pub mod store;

use std::sync::Arc;

use actix::{Addr, ArbiterHandle};

pub use error::{Error, Result};

use actors::{display::DisplayActor, operator::OperatorActor, queue::QueueActor, registry::Registry};
use bus::{Bus, Event, EventKind};
use model::{now_millis, numbering::local_day};
use store::{IssuedTicket, Store};

/// What every actor needs: the store of record and the bus.
#[derive(Clone)]
pub struct Core {
    pub store: Store,
    pub bus: Bus,
}

/// The running core: shared state plus the actor registries. Cheap to clone.
#[derive(Clone)]
pub struct Hub {
    pub core: Core,
    operators: Arc<Registry<OperatorActor>>,
    queues: Arc<Registry<QueueActor>>,
    displays: Arc<Registry<DisplayActor>>,
}

/// A ticket just issued, with its estimated wait.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Issued {
    #[serde(flatten)]
    pub issued: IssuedTicket,
    pub eta_secs: Option<i64>,
}

impl Hub {
    /// Actors run on `arbiter`; see [`Registry::new`].
    pub fn new(core: Core, arbiter: ArbiterHandle) -> Self {
        let c = core.clone();
        let operators = Registry::new("operator", arbiter.clone(), move |id| OperatorActor::new(c.clone(), id));
        let c = core.clone();
        let queues = Registry::new("queue", arbiter.clone(), move |id| QueueActor::new(c.clone(), id));
        let c = core.clone();
        let displays = Registry::new("display", arbiter, move |id| DisplayActor::new(c.clone(), id));
        Self {
            core,
            operators,
            queues,
            displays,
        }
    }

    pub fn store(&self) -> &Store {
        &self.core.store
    }

    pub fn bus(&self) -> &Bus {
        &self.core.bus
    }

    pub fn operator(&self, user_id: i64) -> Addr<OperatorActor> {
        self.operators.get(user_id)
    }

    pub fn queue(&self, branch_id: i64) -> Addr<QueueActor> {
        self.queues.get(branch_id)
    }

    pub fn display(&self, device_id: i64) -> Addr<DisplayActor> {
        self.displays.get(device_id)
    }

    pub fn running_displays(&self) -> usize {
        self.displays.len()
    }

    /// Issues a ticket at a branch, as a kiosk or a visitor's phone asks: checks the working
    /// hours in the branch's zone and the VIP code, stores the ticket, then publishes it.
    pub async fn issue_ticket(
        &self,
        org_id: i64,
        branch_id: i64,
        service_id: i64,
        channel: &str,
        vip_code: Option<&str>,
    ) -> Result<Issued> {
        let branch = self.store().branch(org_id, branch_id).await?;
        let now = jiff::Timestamp::now();
        let tz = branch.tz();
        if !branch.schedule().is_open(now, &tz) {
            return Err(Error::BranchClosed);
        }
        let vip = match (vip_code.filter(|c| !c.is_empty()), branch.vip_code.as_deref()) {
            (None, _) => false,
            (Some(given), Some(expected)) if constant_time_eq(given, expected) => true,
            (Some(_), _) => return Err(Error::Invalid("the VIP code is not valid".into())),
        };
        let day = local_day(now, &tz);
        let issued = self
            .store()
            .issue_ticket(org_id, branch_id, service_id, &day, channel, vip, now.as_millisecond())
            .await?;
        let t = &issued.ticket;
        let event = Event {
            origin: 0,
            org_id,
            branch_id,
            at: now_millis(),
            kind: EventKind::TicketIssued {
                ticket_id: t.id,
                number: t.number.clone(),
                service_id: t.service_id,
                priority: t.priority,
            },
        };
        if let Err(e) = self.bus().publish(event).await {
            tracing::warn!(error = %e, "publish failed; ticket is stored");
        }
        let eta_secs = self.estimate(branch_id, t.service_id, issued.ahead).await;
        Ok(Issued { issued, eta_secs })
    }

    pub async fn estimate(&self, branch_id: i64, service_id: i64, ahead: i64) -> Option<i64> {
        self.queue(branch_id)
            .send(actors::queue::Estimate { service_id, ahead })
            .await
            .unwrap_or(None)
    }
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Sends to an actor and flattens "the actor is gone" into the error type.
pub async fn ask<A, M, T>(addr: &Addr<A>, msg: M) -> Result<T>
where
    A: actix::Actor<Context = actix::Context<A>> + actix::Handler<M>,
    M: actix::Message<Result = Result<T>> + Send + 'static,
    T: Send + 'static,
{
    addr.send(msg).await.map_err(|e| Error::Actor(e.to_string()))?
}
