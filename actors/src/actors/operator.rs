//! OperatorActor: one per signed-in operator. Holds where they sit (window, services served),
//! their presence and the ticket in their hands; every action goes through it, one at a time,
//! so a double click cannot call two tickets. Each change is stored, then published.

use std::time::{Duration, Instant};

use actix::prelude::*;
use serde::Serialize;

use crate::bus::{Event, EventKind};
use crate::error::{Error, Result};
use crate::model::field::FieldError;
use crate::model::{
    now_millis,
    ordering::Placement,
    presence::{self, Presence, PresenceError},
    ticket::{TicketAction, TicketStatus},
    Millis,
};
use crate::store::{Branch, OperatorState, Ticket, Window};
use crate::Core;

use super::{bus_stream, Heard};

const IDLE_STOP: Duration = Duration::from_secs(600);

#[derive(Debug, Clone, Serialize)]
pub struct OperatorView {
    pub user_id: i64,
    pub name: String,
    pub state: OperatorState,
    pub window: Option<Window>,
    pub in_hand: Option<Ticket>,
    /// Has a skill in a remote queue: may be available without a window (chats only).
    pub remote: bool,
}

pub struct OperatorActor {
    core: Core,
    user_id: i64,
    org_id: i64,
    name: String,
    state: OperatorState,
    window: Option<Window>,
    branch: Option<Branch>,
    in_hand: Option<Ticket>,
    /// A skill in a remote queue: may be available without a window.
    remote: bool,
    last_used: Instant,
}

impl OperatorActor {
    pub fn new(core: Core, user_id: i64) -> Self {
        Self {
            core,
            user_id,
            org_id: 0,
            name: String::new(),
            state: OperatorState {
                user_id,
                window_id: None,
                service_ids: vec![],
                presence: Presence::Offline,
                since: 0,
            },
            window: None,
            branch: None,
            in_hand: None,
            remote: false,
            last_used: Instant::now(),
        }
    }

    fn view(&self) -> OperatorView {
        OperatorView {
            user_id: self.user_id,
            name: self.name.clone(),
            state: self.state.clone(),
            window: self.window.clone(),
            in_hand: self.in_hand.clone(),
            remote: self.remote,
        }
    }

    fn event(&self, kind: EventKind) -> Event {
        Event {
            origin: 0,
            org_id: self.org_id,
            branch_id: self.branch.as_ref().map_or(0, |b| b.id),
            at: now_millis(),
            kind,
        }
    }
}

impl Actor for OperatorActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.add_stream(bus_stream(self.core.bus.subscribe()));
        self.load(ctx);
        ctx.run_interval(Duration::from_secs(30), |act, ctx| {
            if act.last_used.elapsed() >= IDLE_STOP {
                ctx.stop();
            }
        });
    }
}

impl OperatorActor {
    /// (Re)loads everything from the store; other messages wait until it is done.
    fn load(&mut self, ctx: &mut Context<Self>) {
        let (core, user_id) = (self.core.clone(), self.user_id);
        let load = async move {
            let user = core.store.user(user_id).await?;
            let state = core.store.operator_state(user_id).await?;
            let (window, branch) = match state.as_ref().and_then(|s| s.window_id) {
                Some(w) => {
                    let window = core.store.window(user.org_id, w).await?;
                    let branch = core.store.branch(user.org_id, window.branch_id).await?;
                    (Some(window), Some(branch))
                }
                None => (None, None),
            };
            let in_hand = core.store.in_hand(user_id).await?;
            let remote = core.store.has_remote_skill(user_id).await?;
            Ok::<_, Error>((user, state, window, branch, in_hand, remote))
        };
        ctx.wait(load.into_actor(self).map(|res, act, ctx| match res {
            Ok((user, state, window, branch, in_hand, remote)) => {
                act.remote = remote;
                act.org_id = user.org_id;
                act.name = user.name;
                if let Some(s) = state {
                    act.state = s;
                }
                act.window = window;
                act.branch = branch;
                act.in_hand = in_hand;
            }
            Err(e) => {
                tracing::warn!(operator = act.user_id, error = %e, "operator load failed");
                ctx.stop();
            }
        }));
    }
}

impl StreamHandler<Heard> for OperatorActor {
    /// The same operator may be served by another node too (a console open on two nodes, or a
    /// load balancer without sticky sessions). A change made there for this operator, or events
    /// this node may have missed, make this copy reload from the store.
    fn handle(&mut self, heard: Heard, ctx: &mut Context<Self>) {
        let event = match heard {
            Heard::Missed => return self.load(ctx),
            Heard::Event(e) => e,
        };
        let me = self.user_id;
        let mine = match &event.kind {
            EventKind::Resync => true,
            EventKind::OperatorChanged { operator_id, .. }
            | EventKind::TicketCalled { operator_id, .. }
            | EventKind::TicketChanged { operator_id, .. } => *operator_id == me,
            EventKind::TicketIssued { .. }
            | EventKind::TicketMoved { .. }
            | EventKind::ConversationChanged { .. }
            | EventKind::MessageAdded { .. }
            | EventKind::Typing { .. }
            | EventKind::SessionsEnded { .. }
            | EventKind::DeviceChanged { .. }
            | EventKind::RequestChanged { .. }
            | EventKind::RequestAlarm { .. }
            | EventKind::RequestMention { .. }
            | EventKind::VehicleMoved { .. }
            | EventKind::VehicleAlert { .. }
            | EventKind::VehicleChanged { .. } => false,
            // The branch's rules (recalls before a no-show) are read when the state loads.
            EventKind::BranchChanged => self.branch.as_ref().is_some_and(|b| b.id == event.branch_id),
        };
        if mine && event.origin != self.core.bus.node() {
            self.load(ctx);
        }
    }

    fn finished(&mut self, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

/// Reload from the store (skills or limits changed).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Reload;

impl Handler<Reload> for OperatorActor {
    type Result = ();

    fn handle(&mut self, _: Reload, ctx: &mut Context<Self>) {
        self.load(ctx);
    }
}

/// The operator's state as their console shows it.
#[derive(Message)]
#[rtype(result = "Result<OperatorView>")]
pub struct View;

impl Handler<View> for OperatorActor {
    type Result = Result<OperatorView>;

    fn handle(&mut self, _: View, _: &mut Context<Self>) -> Self::Result {
        self.last_used = Instant::now();
        Ok(self.view())
    }
}

/// Sit at a window and choose the services to serve there.
#[derive(Message)]
#[rtype(result = "Result<OperatorView>")]
pub struct SetPlace {
    pub window_id: i64,
    pub service_ids: Vec<i64>,
}

impl Handler<SetPlace> for OperatorActor {
    type Result = AtomicResponse<Self, Result<OperatorView>>;

    fn handle(&mut self, msg: SetPlace, _: &mut Context<Self>) -> Self::Result {
        self.last_used = Instant::now();
        let (core, org_id, in_hand) = (self.core.clone(), self.org_id, self.in_hand.is_some());
        let user_id = self.user_id;
        let mut state = self.state.clone();
        let fut = async move {
            if in_hand {
                return Err(PresenceError::TicketInHand.into());
            }
            let window = core.store.window(org_id, msg.window_id).await?;
            let windows: Vec<i64> = core
                .store
                .windows(window.branch_id)
                .await?
                .iter()
                .map(|w| w.id)
                .collect();
            if !windows.contains(&window.id) {
                return Err(Error::NotFound("window"));
            }
            let branch = core.store.branch(org_id, window.branch_id).await?;
            if !presence::may_work_at(&core.store.user_branches(user_id).await?, branch.id) {
                return Err(PresenceError::NotYourBranch { branch: branch.name }.into());
            }
            let listed = presence::listed_here(&core.store.user_windows(user_id).await?, &windows);
            if !presence::may_take(&listed, window.id) {
                return Err(PresenceError::NotYourWindow { window: window.label }.into());
            }
            let services = core.store.services(branch.id).await?;
            let menu: Vec<(i64, bool)> = services.iter().map(|s| (s.id, s.prefix.is_some())).collect();
            let skilled: Vec<i64> = core.store.proficiencies(user_id).await?.into_keys().collect();
            let ids = presence::services_to_serve(&msg.service_ids, &menu, &skilled).map_err(|e| match e {
                presence::PlaceError::UnknownService(_) => Error::NotFound("service"),
                presence::PlaceError::NotYours(_) => PresenceError::NotYourService.into(),
                presence::PlaceError::NoService => {
                    FieldError::new("service_ids", "no_service", serde_json::json!({})).into()
                }
                presence::PlaceError::Group(_) => {
                    FieldError::new("service_ids", "menu_group", serde_json::json!({})).into()
                }
            })?;
            state.window_id = Some(window.id);
            state.service_ids = ids;
            state.presence = Presence::Available;
            state.since = now_millis();
            core.store.save_operator_state(&state).await?;
            Ok((state, window, branch))
        };
        AtomicResponse::new(Box::pin(fut.into_actor(self).then(|res, act, _| {
            let out = res.map(|(state, window, branch)| {
                act.state = state;
                act.window = Some(window);
                act.branch = Some(branch);
                act.view()
            });
            let publish = out.as_ref().ok().map(|_| act.presence_event());
            act.publish(publish).map(move |_, _, _| out)
        })))
    }
}

/// Go available, take a break (with a reason), or sign off.
#[derive(Message)]
#[rtype(result = "Result<OperatorView>")]
pub struct SetPresence(pub Presence);

impl Handler<SetPresence> for OperatorActor {
    type Result = AtomicResponse<Self, Result<OperatorView>>;

    fn handle(&mut self, msg: SetPresence, _: &mut Context<Self>) -> Self::Result {
        self.last_used = Instant::now();
        let check = presence::change(&msg.0, self.in_hand.is_some(), self.window.is_some() || self.remote);
        let mut state = self.state.clone();
        let (core, user_id, org_id) = (self.core.clone(), self.user_id, self.org_id);
        let fut = async move {
            check?;
            let offline = msg.0 == Presence::Offline;
            let away = msg.0 != Presence::Available;
            state.presence = msg.0;
            state.since = now_millis();
            core.store.save_operator_state(&state).await?;
            if offline {
                // Signing out hands back the conversations in hand; they wait for someone else.
                for id in core.store.hand_back(user_id, now_millis()).await? {
                    crate::actors::ticket::announce(&core, org_id, id).await;
                }
            } else if away {
                // A break keeps the chats in hand but not the offers still waiting for an answer:
                // they go to someone else now, and do not count as missed.
                for id in core.store.withdraw_offers_of(user_id, now_millis()).await? {
                    crate::actors::ticket::announce(&core, org_id, id).await;
                }
            }
            Ok(state)
        };
        AtomicResponse::new(Box::pin(fut.into_actor(self).then(|res, act, _| {
            let out = res.map(|state| {
                act.state = state;
                act.view()
            });
            let publish = out.as_ref().ok().map(|_| act.presence_event());
            act.publish(publish).map(move |_, _, _| out)
        })))
    }
}

/// Call the next visitor to this operator's window.
#[derive(Message)]
#[rtype(result = "Result<Option<Ticket>>")]
pub struct CallNext;

impl Handler<CallNext> for OperatorActor {
    type Result = AtomicResponse<Self, Result<Option<Ticket>>>;

    fn handle(&mut self, _: CallNext, _: &mut Context<Self>) -> Self::Result {
        self.last_used = Instant::now();
        let core = self.core.clone();
        let (user_id, window, branch) = (self.user_id, self.window.clone(), self.branch.clone());
        let services = self.state.service_ids.clone();
        let at_work = presence::may_call(&self.state.presence);
        let fut = async move {
            let (Some(window), Some(branch)) = (window, branch) else {
                return Err(PresenceError::NoWindow.into());
            };
            at_work?;
            // Today's queue only: tickets left waiting at yesterday's closing are not called.
            let day = branch.today();
            let now = now_millis();
            let cut_offs = visit_cut_offs(&core, user_id, &services, now).await?;
            let called = if cut_offs.is_empty() {
                Ok(None)
            } else {
                core.store
                    .call_next_within(branch.id, &day, user_id, window.id, &cut_offs, now)
                    .await
            };
            Ok((called, window))
        };
        AtomicResponse::new(Box::pin(fut.into_actor(self).then(move |res, act, _| {
            let mut events = Vec::new();
            let out = res.and_then(|(called, window)| {
                let ticket = called?;
                if let Some(t) = &ticket {
                    act.in_hand = Some(t.clone());
                    events.push(act.event(EventKind::TicketCalled {
                        ticket_id: t.id,
                        number: t.number.clone(),
                        service_id: t.service_id,
                        window_id: window.id,
                        window: window.label.clone(),
                        operator_id: act.user_id,
                        called_at: t.called_at.unwrap_or_else(now_millis),
                        recall: false,
                    }));
                }
                Ok(ticket)
            });
            act.publish_all(events).map(move |_, _, _| out)
        })))
    }
}

/// Recall, no-show, start, finish or transfer the ticket in hand.
#[derive(Message)]
#[rtype(result = "Result<Ticket>")]
pub struct Act {
    pub ticket_id: i64,
    pub action: TicketAction,
    pub transfer: Option<(i64, Placement)>,
    pub comment: Option<String>,
}

impl Handler<Act> for OperatorActor {
    type Result = AtomicResponse<Self, Result<Ticket>>;

    fn handle(&mut self, msg: Act, _: &mut Context<Self>) -> Self::Result {
        self.last_used = Instant::now();
        let core = self.core.clone();
        let user_id = self.user_id;
        let recalls = self.branch.as_ref().map_or(1, |b| b.recalls_before_no_show);
        let window = self.window.clone();
        // The ticket in hand is known; anything else is read, and refused unless it is ours.
        let known = self.in_hand.clone().filter(|t| t.id == msg.ticket_id);
        let fut = async move {
            let before = match known {
                Some(t) => t,
                None => core.store.ticket_owned(user_id, msg.ticket_id).await?,
            };
            let result = core
                .store
                .act_on_ticket(
                    &before,
                    user_id,
                    msg.action,
                    recalls,
                    msg.transfer,
                    msg.comment.as_deref(),
                    now_millis(),
                )
                .await;
            let after = match result {
                Err(Error::Conflict(m)) => {
                    // Someone else changed it (another node, another tab): drop what we knew.
                    let fresh = core.store.in_hand(user_id).await?;
                    return Err(Error::Stale(m, fresh.map(Box::new)));
                }
                other => other?,
            };
            Ok((before, after, window))
        };
        AtomicResponse::new(Box::pin(fut.into_actor(self).then(move |res, act, _| {
            let mut events = Vec::new();
            let res = match res {
                Err(Error::Stale(m, fresh)) => {
                    act.in_hand = fresh.map(|b| *b);
                    Err(Error::Conflict(m))
                }
                other => other,
            };
            let out = res.map(|(before, after, window)| {
                let status = TicketStatus::parse(&after.status);
                act.in_hand = status.filter(|s| s.in_hand()).map(|_| after.clone());
                let kind = match (msg.action, window) {
                    (TicketAction::Recall, Some(w)) => EventKind::TicketCalled {
                        ticket_id: after.id,
                        number: after.number.clone(),
                        service_id: after.service_id,
                        window_id: w.id,
                        window: w.label,
                        operator_id: act.user_id,
                        called_at: after.called_at.unwrap_or_else(now_millis),
                        recall: true,
                    },
                    _ => EventKind::TicketChanged {
                        ticket_id: after.id,
                        number: after.number.clone(),
                        service_id: after.service_id,
                        from_service_id: before.service_id,
                        status: after.status.clone(),
                        operator_id: act.user_id,
                    },
                };
                events.push(act.event(kind));
                after
            });
            act.publish_all(events).map(move |_, _, _| out)
        })))
    }
}

/// The routing engine's widening steps for visits: for each service the operator serves, the
/// latest issue time of a ticket they may take now. A service chosen at the window without a
/// skill row counts as proficiency [`DEFAULT_PROFICIENCY`].
async fn visit_cut_offs(core: &Core, user_id: i64, services: &[i64], now: Millis) -> Result<Vec<(i64, Millis)>> {
    if services.is_empty() {
        return Err(FieldError::new("service_ids", "no_service", serde_json::json!({})).into());
    }
    let skills = core.store.proficiencies(user_id).await?;
    let policies = core.store.policies_for(services).await?;
    Ok(services
        .iter()
        .filter_map(|s| {
            let p = skills.get(s).copied().unwrap_or(DEFAULT_PROFICIENCY);
            let wait = policies.get(s).map_or(Some(0), |policy| policy.wait_needed(p))?;
            // No wait needed: no time condition at all, so clocks of other nodes do not matter.
            Some((*s, if wait == 0 { Millis::MAX } else { now - wait }))
        })
        .collect())
}

/// The proficiency assumed for a service an operator serves without a stated skill.
pub const DEFAULT_PROFICIENCY: u8 = 3;

impl OperatorActor {
    fn presence_event(&self) -> Event {
        self.event(EventKind::OperatorChanged {
            operator_id: self.user_id,
            presence: self.state.presence.clone(),
            window_id: self.state.window_id,
            service_ids: self.state.service_ids.clone(),
        })
    }

    fn publish(&self, event: Option<Event>) -> impl ActorFuture<Self, Output = ()> {
        self.publish_all(event.into_iter().collect())
    }

    /// Publishes after the store has the change. A bus failure is logged, not returned: the
    /// change is durable, and the boards' periodic reload catches up.
    fn publish_all(&self, events: Vec<Event>) -> impl ActorFuture<Self, Output = ()> {
        let bus = self.core.bus.clone();
        async move {
            for e in events {
                if let Err(err) = bus.publish(e).await {
                    tracing::warn!(error = %err, "publish failed; change is stored");
                }
            }
        }
        .into_actor(self)
    }
}
