//! Hub's core: the model (plain rules), the store, the event bus and the actors that hold live
//! state. Nothing here knows about HTTP, SIP or Telegram.

pub mod actors;
pub mod auth;
pub mod bus;
pub mod channel;
pub mod dayplan;
pub mod desk;
pub mod error;
pub mod fleet;
pub mod model;
pub mod seal;
pub mod store;
pub mod switchboard;
pub mod tasks;

#[cfg(test)]
mod bridgeless;

use std::sync::Arc;

use actix::{Addr, ArbiterHandle};

pub use error::{Error, Result};

use actors::{alarms::AlarmClock, request::RequestActor, vehicle::VehicleActor};
use actors::{
    display::DisplayActor, operator::OperatorActor, queue::QueueActor, registry::Registry, router::RouterActor,
    ticket::TicketActor,
};
use bus::{Bus, Event, EventKind};
use channel::{Bridges, Inbound, Sender};
use model::{now_millis, numbering::local_day};
use store::{Author, IssuedTicket, Message, Store};
use switchboard::Switchboard;
use tasks::Tasks;

/// What every actor needs: the store of record, the bus and the channel bridges.
#[derive(Clone)]
pub struct Core {
    pub store: Store,
    pub bus: Bus,
    pub bridges: Bridges,
    /// The owner of the node's long-lived tasks (restarts, shutdown).
    pub tasks: Tasks,
}

impl Core {
    pub fn new(store: Store, bus: Bus, tasks: Tasks) -> Self {
        Self {
            store,
            bus,
            bridges: Bridges::default(),
            tasks,
        }
    }
}

/// The running core: shared state plus the actor registries. Cheap to clone.
#[derive(Clone)]
pub struct Hub {
    pub core: Core,
    operators: Arc<Registry<OperatorActor>>,
    queues: Arc<Registry<QueueActor>>,
    displays: Arc<Registry<DisplayActor>>,
    tickets: Arc<Registry<TicketActor>>,
    routers: Arc<Registry<RouterActor>>,
    switchboard: Switchboard,
    requests: Arc<Registry<RequestActor>>,
    alarms: AlarmClock,
    request_idle: Arc<std::sync::atomic::AtomicU64>,
    vehicles: Arc<Registry<VehicleActor>>,
    fleet: Arc<fleet::Fleet>,
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
        let displays = Registry::new("display", arbiter.clone(), move |id| DisplayActor::new(c.clone(), id));
        let c = core.clone();
        let tickets = Registry::new("ticket", arbiter.clone(), move |id| TicketActor::new(c.clone(), id));
        let (c, ops) = (core.clone(), operators.clone());
        let routers = Registry::new("router", arbiter.clone(), move |org| {
            RouterActor::new(c.clone(), org, ops.clone())
        });
        let alarms = AlarmClock::default();
        let request_idle = Arc::new(std::sync::atomic::AtomicU64::new(desk::REQUEST_IDLE_SECS));
        let (c, a, idle) = (core.clone(), alarms.clone(), request_idle.clone());
        let requests = Registry::new("request", arbiter.clone(), move |id| {
            RequestActor::new(c.clone(), id, a.clone(), idle.clone())
        });
        let fleet = Arc::new(fleet::Fleet::new(core.store.clone(), &core.tasks));
        let (c, f) = (core.clone(), fleet.clone());
        let vehicles = Registry::new("vehicle", arbiter, move |id| {
            VehicleActor::new(c.clone(), f.clone(), id)
        });
        let switchboard = Switchboard::start(&core.bus, &core.tasks);
        Self {
            core,
            operators,
            queues,
            displays,
            tickets,
            routers,
            switchboard,
            requests,
            alarms,
            request_idle,
            vehicles,
            fleet,
        }
    }

    /// The actor of an open conversation.
    pub fn ticket(&self, conversation_id: i64) -> Addr<TicketActor> {
        self.tickets.get(conversation_id)
    }

    /// The organisation's router.
    pub fn router(&self, org_id: i64) -> Addr<RouterActor> {
        self.routers.get(org_id)
    }

    pub fn switchboard(&self) -> &Switchboard {
        &self.switchboard
    }

    /// Starts the routers of every organisation, so conversations left waiting before a restart
    /// are routed without waiting for a new event.
    pub async fn start_routers(&self) -> Result<()> {
        for (org_id, _) in self.store().orgs().await? {
            self.router(org_id).do_send(actors::router::Poke);
        }
        Ok(())
    }

    /// A customer's message from any channel: finds or creates the contact and the open
    /// conversation of the dialogue, stores the message once (by `client_id`) and publishes it.
    /// Answers the conversation id, the stored message and whether it is new.
    /// Posts the hub's own note (a transcript, say) into a conversation, once per `client_id`.
    /// `Ok(None)` when the conversation has closed meanwhile: the note then stays where it was
    /// made (the transcription record) and the closed thread is left alone.
    pub async fn post_system(
        &self,
        org_id: i64,
        conversation_id: i64,
        body: String,
        client_id: String,
    ) -> Result<Option<Message>> {
        let posted = ask(
            &self.ticket(conversation_id),
            actors::ticket::Post {
                org_id,
                author: Author::System,
                owner: String::new(),
                body,
                client_id: Some(client_id),
                attachment_ids: Vec::new(),
            },
        )
        .await;
        match posted {
            Ok((m, _)) => Ok(Some(m)),
            Err(Error::ConversationClosed) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn inbound(&self, msg: Inbound) -> Result<(i64, Message, bool)> {
        let now = now_millis();
        let contact_id = match &msg.sender {
            Sender::Contact(id) => *id,
            Sender::Identity { kind, value, name } => {
                self.store()
                    .contact_for(msg.org_id, kind, value, name.as_deref(), now)
                    .await?
            }
        };
        // A conversation closed between finding it and posting to it: open a new one, once.
        for _ in 0..2 {
            // A resend of a message already stored (in this conversation or an earlier one of the
            // dialogue, say before a close) is that message, never a second copy.
            if let Some(cid) = &msg.client_id {
                if let Some((conv, m)) = self
                    .store()
                    .message_in_thread(msg.org_id, msg.channel.as_str(), &msg.thread_key, cid)
                    .await?
                {
                    return Ok((conv, m, false));
                }
            }
            let (id, created) = self
                .store()
                .open_conversation(
                    msg.org_id,
                    msg.service_id,
                    contact_id,
                    msg.channel.as_str(),
                    &msg.thread_key,
                    msg.priority,
                    now,
                )
                .await?;
            if created {
                tracing::info!(conversation = id, channel = msg.channel.as_str(), "conversation opened");
                actors::ticket::announce(&self.core, msg.org_id, id).await;
                self.router(msg.org_id).do_send(actors::router::Poke);
            }
            let posted = ask(
                &self.ticket(id),
                actors::ticket::Post {
                    org_id: msg.org_id,
                    author: Author::Visitor,
                    owner: msg.owner.clone(),
                    body: msg.body.clone(),
                    client_id: msg.client_id.clone(),
                    attachment_ids: msg.attachment_ids.clone(),
                },
            )
            .await;
            match posted {
                Ok((m, new)) => {
                    if created {
                        self.intake(msg.org_id, msg.service_id, id, contact_id, &msg.body).await;
                    }
                    return Ok((id, m, new));
                }
                Err(Error::ConversationClosed) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(Error::Conflict(
            "the conversation closed while the message arrived; send it again".into(),
        ))
    }

    /// Tells everyone following a conversation that it changed outside its actor (a channel
    /// moved it, say).
    /// A bridge gave up on a reply (or it came back): the reply is marked, the thread says why,
    /// and every console showing the conversation hears of it.
    pub async fn reply_undelivered(
        &self,
        message_id: i64,
        why: model::delivery::Undelivered,
        error: &str,
    ) -> Result<()> {
        if let Some((org_id, conversation_id)) = self
            .store()
            .reply_undelivered(message_id, why, error, now_millis())
            .await?
        {
            tracing::warn!(
                conversation = conversation_id,
                message = message_id,
                why = why.as_str(),
                "a reply never reached the customer"
            );
            self.announce_conversation(org_id, conversation_id).await;
        }
        Ok(())
    }

    pub async fn announce_conversation(&self, org_id: i64, id: i64) {
        actors::ticket::announce(&self.core, org_id, id).await;
    }

    pub fn store(&self) -> &Store {
        &self.core.store
    }

    pub fn bus(&self) -> &Bus {
        &self.core.bus
    }

    /// The owner of the node's long-lived tasks: a bridge runs its loops under it.
    pub fn tasks(&self) -> &Tasks {
        &self.core.tasks
    }

    pub fn operator(&self, user_id: i64) -> Addr<OperatorActor> {
        self.operators.get(user_id)
    }

    /// The operator left without saying what becomes of their work (their console closed and
    /// did not come back, or they signed out with a ticket in hand): what the model says of the
    /// ticket in hand is done (a called visitor goes back to the front of its queue), then they
    /// are signed off, which hands their conversations back and withdraws their offers.
    pub async fn operator_left(&self, user_id: i64) -> Result<()> {
        use actors::operator::{Act, SetPresence, View};
        use model::presence::{left_without_saying, Presence};
        use model::ticket::{TicketAction, TicketStatus};
        let op = self.operator(user_id);
        let view = ask(&op, View).await?;
        if let Some(t) = view.in_hand {
            let status = TicketStatus::parse(&t.status);
            if let Some(TicketAction::Transfer) = left_without_saying(status) {
                let back = Act {
                    ticket_id: t.id,
                    action: TicketAction::Transfer,
                    transfer: Some((t.service_id, model::ordering::Placement::Front)),
                    comment: t.comment.clone(),
                };
                match ask(&op, back).await {
                    Ok(t) => {
                        tracing::info!(number = %t.number, operator = user_id, "called ticket returned to its queue: the operator left")
                    }
                    // Finished or taken meanwhile: nothing is left to return.
                    Err(Error::Conflict(_) | Error::Transition(_)) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        if view.state.presence != Presence::Offline {
            ask(&op, SetPresence(Presence::Offline)).await?;
        }
        Ok(())
    }

    /// A supervisor moves a waiting ticket (another service, the front or back of its line);
    /// queues, boards and consoles hear it as a transfer.
    pub async fn requeue(
        &self,
        org_id: i64,
        ticket_id: i64,
        service_id: Option<i64>,
        placement: model::ordering::Placement,
        by: i64,
    ) -> Result<store::Ticket> {
        let (before, after) = self
            .store()
            .requeue(org_id, ticket_id, service_id, placement, model::now_millis())
            .await?;
        let event = bus::Event {
            origin: 0,
            org_id,
            branch_id: after.branch_id,
            at: model::now_millis(),
            kind: bus::EventKind::TicketMoved {
                ticket_id: after.id,
                number: after.number.clone(),
                service_id: after.service_id,
                from_service_id: before.service_id,
                by,
            },
        };
        if let Err(e) = self.bus().publish(event).await {
            tracing::warn!(error = %e, ticket = ticket_id, "a moved ticket not announced; queues reload it");
        }
        Ok(after)
    }

    pub fn queue(&self, branch_id: i64) -> Addr<QueueActor> {
        self.queues.get(branch_id)
    }

    pub fn display(&self, device_id: i64) -> Addr<DisplayActor> {
        self.displays.get(device_id)
    }

    /// Replaces a branch's settings; its boards and operators on every node take them at once.
    pub async fn update_branch(
        &self,
        org_id: i64,
        branch_id: i64,
        settings: &model::branch::BranchSettings,
    ) -> Result<store::org::Branch> {
        let branch = self.store().update_branch(org_id, branch_id, settings).await?;
        let event = bus::Event {
            origin: 0,
            org_id,
            branch_id,
            at: model::now_millis(),
            kind: bus::EventKind::BranchChanged,
        };
        if let Err(e) = self.bus().publish(event).await {
            tracing::warn!(error = %e, branch = branch_id, "a branch's new settings not announced");
        }
        Ok(branch)
    }

    /// Sets a board's template or a kiosk's options; its screens on every node take it at once.
    pub async fn set_device_look(&self, org_id: i64, device_id: i64, look: serde_json::Value) -> Result<store::Look> {
        let look = self.store().set_device_look(org_id, device_id, look).await?;
        self.device_changed(org_id, device_id).await;
        Ok(look)
    }

    /// Tells a device's screens on every node that its settings changed (a look, a voice).
    pub async fn device_changed(&self, org_id: i64, device_id: i64) {
        let event = bus::Event {
            origin: 0,
            org_id,
            branch_id: 0,
            at: model::now_millis(),
            kind: bus::EventKind::DeviceChanged { device_id },
        };
        if let Err(e) = self.bus().publish(event).await {
            // Stored: boards take it at their next periodic reload.
            tracing::warn!(error = %e, device = device_id, "a device's change not announced");
        }
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
        with_ticket: Option<store::WithTicket>,
    ) -> Result<Issued> {
        let branch = self.store().branch(org_id, branch_id).await?;
        let now = jiff::Timestamp::now();
        let tz = branch.tz();
        if !branch.schedule().is_open(now, &tz) {
            return Err(Error::BranchClosed);
        }
        let vip = match (vip_code.filter(|c| !c.is_empty()), branch.vip_code.as_deref()) {
            (None, _) => false,
            (Some(given), Some(expected)) if auth::constant_time_eq(given, expected) => true,
            (Some(_), _) => return Err(Error::WrongVipCode),
        };
        let day = local_day(now, &tz);
        let issued = self
            .store()
            .issue_ticket(
                org_id,
                branch_id,
                service_id,
                &day,
                channel,
                vip,
                now.as_millisecond(),
                with_ticket,
            )
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

/// Sends to an actor and flattens "the actor is gone" into the error type.
pub async fn ask<A, M, T>(addr: &Addr<A>, msg: M) -> Result<T>
where
    A: actix::Actor<Context = actix::Context<A>> + actix::Handler<M>,
    M: actix::Message<Result = Result<T>> + Send + 'static,
    T: Send + 'static,
{
    addr.send(msg).await.map_err(|e| Error::Actor(e.to_string()))?
}
