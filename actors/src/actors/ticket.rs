//! TicketActor: one per open conversation. Every change to the conversation goes through it,
//! one at a time: messages in and out, accept, transfer, close, rating. Each change is stored
//! (guarded, so another node's actor for the same conversation cannot undo it), then published,
//! and an operator's message is handed to the channel's bridge.
//!
//! The actor keeps no copy of the conversation: it takes changes one at a time and reads what
//! each needs from the store, so a change made by the router or on another node is never seen
//! stale. The store's guarded updates decide whether a change may happen; the thread, status,
//! assignee, timeline and clocks (first response, close) live there.

use std::time::{Duration, Instant};

use actix::prelude::*;

use crate::bus::{Event, EventKind};
use crate::channel::{ChannelKind, Deliver, Outbound};
use crate::error::{Error, Result};
use crate::model::conversation::ConversationStatus;
use crate::model::now_millis;
use crate::store::{Author, Conversation, Head, Message, TransferTo};
use crate::Core;

const IDLE_STOP: Duration = Duration::from_secs(300);
/// How long a bridge may take to accept an outgoing message.
const BRIDGE_TIMEOUT: Duration = Duration::from_secs(10);

pub struct TicketActor {
    core: Core,
    id: i64,
    last_used: Instant,
}

impl TicketActor {
    pub fn new(core: Core, id: i64) -> Self {
        Self {
            core,
            id,
            last_used: Instant::now(),
        }
    }
}

impl Actor for TicketActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(Duration::from_secs(30), |act, ctx| {
            if act.last_used.elapsed() >= IDLE_STOP {
                ctx.stop();
            }
        });
    }
}

/// Tells everyone following the conversation (its operator's console, supervisors, the
/// customer's session, the router) that it changed, and how.
fn conversation_event(c: &Conversation) -> Event {
    Event {
        origin: 0,
        org_id: c.row.org_id,
        branch_id: 0,
        at: now_millis(),
        kind: EventKind::ConversationChanged {
            conversation_id: c.row.id,
            thread_key: c.row.thread_key.clone(),
            status: c.row.status,
            service_id: c.row.service_id,
            assignee_id: c.row.assignee_id,
            offered_to: c.row.offered_to,
            offer_expires_at: c.row.offer_expires_at,
        },
    }
}

/// Publishes after the store has the change; a bus failure is logged (the change is durable and
/// sessions resume from the store).
pub(crate) async fn publish(core: &Core, events: Vec<Event>) {
    for e in events {
        if let Err(err) = core.bus.publish(e).await {
            tracing::warn!(error = %err, "publish failed; change is stored");
        }
    }
}

/// What every request carries: the organisation it acts in.
struct Scope {
    core: Core,
    org_id: i64,
    id: i64,
}

impl Scope {
    async fn load(&self) -> Result<Conversation> {
        self.core.store.conversation(self.org_id, self.id).await
    }
}

macro_rules! atomic {
    ($self:ident, $org:expr, |$scope:ident| $body:expr) => {{
        $self.last_used = Instant::now();
        let $scope = Scope {
            core: $self.core.clone(),
            org_id: $org,
            id: $self.id,
        };
        AtomicResponse::new(Box::pin(
            async move { $body }
                .into_actor($self)
                .map(|res, _, _| res.map(|(_, out)| out)),
        ))
    }};
}

/// A message from the customer or an operator. Answers the stored message and whether it is new
/// (false: a resend of a `client_id` already stored).
#[derive(Message)]
#[rtype(result = "Result<(Message, bool)>")]
pub struct Post {
    pub org_id: i64,
    pub author: Author,
    pub owner: String,
    pub body: String,
    pub client_id: Option<String>,
    pub attachment_ids: Vec<i64>,
}

impl Handler<Post> for TicketActor {
    type Result = AtomicResponse<Self, Result<(Message, bool)>>;

    fn handle(&mut self, msg: Post, _: &mut Context<Self>) -> Self::Result {
        self.last_used = Instant::now();
        let s = Scope {
            core: self.core.clone(),
            org_id: msg.org_id,
            id: self.id,
        };
        AtomicResponse::new(Box::pin(
            async move {
                let conv = s.core.store.conversation_head(s.org_id, s.id).await?;
                if conv.status == ConversationStatus::Closed {
                    // A resend of a message stored before the close is still just acknowledged.
                    if let Some(cid) = &msg.client_id {
                        if let Some(m) = s.core.store.message_by_client_id(s.id, cid).await? {
                            return Ok((m, false));
                        }
                    }
                    return Err(Error::ConversationClosed);
                }
                if let Author::Operator(op) = msg.author {
                    if conv.status != ConversationStatus::Open || conv.assignee_id != Some(op) {
                        return Err(Error::Conflict(
                            "only the operator holding this conversation can reply".into(),
                        ));
                    }
                }
                let (message, new) = s
                    .core
                    .store
                    .add_message(
                        s.org_id,
                        s.id,
                        msg.author,
                        &msg.owner,
                        &msg.body,
                        msg.client_id.as_deref(),
                        &msg.attachment_ids,
                        now_millis(),
                    )
                    .await?;
                if new {
                    publish(
                        &s.core,
                        vec![Event {
                            origin: 0,
                            org_id: s.org_id,
                            branch_id: 0,
                            at: message.at,
                            kind: EventKind::MessageAdded {
                                conversation_id: s.id,
                                thread_key: conv.thread_key.clone(),
                                assignee_id: conv.assignee_id,
                                message: message.clone(),
                            },
                        }],
                    )
                    .await;
                    if matches!(msg.author, Author::Operator(_)) {
                        deliver(&s.core, &conv, &message).await;
                    }
                    crate::desk::thread_message(&s.core, s.id, msg.author).await;
                }
                Ok((message, new))
            }
            .into_actor(self),
        ))
    }
}

/// A message the hub stored in a conversation outside its actor (a request's notice to its
/// customer): told to every console and to the visitor's session like any other, and handed to
/// the channel's bridge (its outbox row is already written).
pub(crate) async fn announce_message(core: &Core, org_id: i64, conversation_id: i64, message_id: i64) {
    let (Ok(conv), Ok(message)) = (
        core.store.conversation_head(org_id, conversation_id).await,
        core.store.message(message_id).await,
    ) else {
        return;
    };
    publish(
        core,
        vec![Event {
            origin: 0,
            org_id,
            branch_id: 0,
            at: message.at,
            kind: EventKind::MessageAdded {
                conversation_id,
                thread_key: conv.thread_key.clone(),
                assignee_id: conv.assignee_id,
                message: message.clone(),
            },
        }],
    )
    .await;
    deliver(core, &conv, &message).await;
}

/// Hands an operator's message to the bridge of the conversation's channel, if one is
/// registered. Web chat has none: its sessions follow the bus.
async fn deliver(core: &Core, conv: &Head, message: &Message) {
    let Some(channel) = ChannelKind::parse(&conv.channel) else {
        return;
    };
    let Some(bridge) = core.bridges.get(channel) else {
        return;
    };
    let out = Outbound {
        conversation_id: conv.id,
        channel,
        thread_key: conv.thread_key.clone(),
        message: message.clone(),
    };
    // A hung bridge must not hold the conversation: the message is stored either way.
    match tokio::time::timeout(BRIDGE_TIMEOUT, bridge.send(Deliver(out))).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e))) => tracing::warn!(conversation = conv.id, error = %e, "bridge could not deliver"),
        Ok(Err(e)) => tracing::warn!(conversation = conv.id, error = %e, "bridge unavailable"),
        Err(_) => tracing::warn!(conversation = conv.id, "bridge did not answer in time"),
    }
}

/// A change of status, assignee or rating.
#[derive(Debug, Clone)]
pub enum Change {
    Accept {
        operator: i64,
    },
    Decline {
        operator: i64,
    },
    Assign {
        operator: i64,
        by: i64,
    },
    Transfer {
        from: i64,
        to: TransferTo,
        note: Option<String>,
    },
    Close {
        operator: i64,
        resolution: Option<String>,
    },
    Rate {
        contact_id: i64,
        score: i64,
        comment: Option<String>,
    },
}

#[derive(Message)]
#[rtype(result = "Result<Conversation>")]
pub struct Apply {
    pub org_id: i64,
    pub change: Change,
}

impl Handler<Apply> for TicketActor {
    type Result = AtomicResponse<Self, Result<Conversation>>;

    fn handle(&mut self, msg: Apply, _: &mut Context<Self>) -> Self::Result {
        atomic!(self, msg.org_id, |s| {
            // Checks the organisation before anything is written.
            s.load().await?;
            let store = &s.core.store;
            let now = now_millis();
            match msg.change {
                Change::Accept { operator } => store.accept(s.id, operator, now).await?,
                Change::Decline { operator } => {
                    if !store.withdraw_offer(s.id, operator, false, now).await? {
                        return Err(Error::Conflict("this conversation is no longer offered to you".into()));
                    }
                }
                Change::Assign { operator, by } => {
                    let user = store.user(operator).await?;
                    if user.org_id != s.org_id {
                        return Err(Error::NotFound("operator"));
                    }
                    store.assign(s.id, operator, by, now).await?
                }
                Change::Transfer { from, to, note } => {
                    match to {
                        TransferTo::Operator(op) => {
                            if store.user(op).await.map(|u| u.org_id).ok() != Some(s.org_id) {
                                return Err(Error::NotFound("operator"));
                            }
                        }
                        TransferTo::Queue(q) => {
                            store.remote_queue(s.org_id, q).await?;
                        }
                    }
                    store.transfer(s.id, from, to, note.as_deref(), now).await?
                }
                Change::Close { operator, resolution } => {
                    store
                        .close_conversation(s.id, operator, resolution.as_deref(), now)
                        .await?
                }
                Change::Rate {
                    contact_id,
                    score,
                    comment,
                } => {
                    if !(1..=5).contains(&score) {
                        return Err(crate::model::field::FieldError::new(
                            "score",
                            "range",
                            serde_json::json!({"min": 1, "max": 5}),
                        )
                        .into());
                    }
                    store.rate(s.id, contact_id, score, comment.as_deref(), now).await?
                }
            }
            let after = s.load().await?;
            let events = vec![conversation_event(&after)];
            publish(&s.core, events).await;
            Ok((after.clone(), after))
        })
    }
}

/// Someone is typing: published, not stored.
#[derive(Message)]
#[rtype(result = "Result<()>")]
pub struct Typing {
    pub org_id: i64,
    pub author: Author,
}

impl Handler<Typing> for TicketActor {
    type Result = ResponseFuture<Result<()>>;

    fn handle(&mut self, msg: Typing, _: &mut Context<Self>) -> Self::Result {
        self.last_used = Instant::now();
        let s = Scope {
            core: self.core.clone(),
            org_id: msg.org_id,
            id: self.id,
        };
        Box::pin(async move {
            let conv = s.core.store.conversation_head(s.org_id, s.id).await?;
            if conv.status == ConversationStatus::Closed {
                return Err(Error::ConversationClosed);
            }
            if let Author::Operator(op) = msg.author {
                if conv.assignee_id != Some(op) {
                    return Err(Error::Conflict(
                        "only the operator holding this conversation types in it".into(),
                    ));
                }
            }
            let (author, operator_id) = match msg.author {
                Author::Operator(op) => ("operator", Some(op)),
                _ => ("visitor", None),
            };
            publish(
                &s.core,
                vec![Event {
                    origin: 0,
                    org_id: s.org_id,
                    branch_id: 0,
                    at: now_millis(),
                    kind: EventKind::Typing {
                        conversation_id: s.id,
                        thread_key: conv.thread_key.clone(),
                        assignee_id: conv.assignee_id,
                        author: author.into(),
                        operator_id,
                    },
                }],
            )
            .await;
            Ok(())
        })
    }
}

/// Publishes the conversation as stored now (after a change made outside this actor, such as
/// an offer by the router).
pub(crate) async fn announce(core: &Core, org_id: i64, id: i64) {
    match core.store.conversation(org_id, id).await {
        Ok(c) => publish(core, vec![conversation_event(&c)]).await,
        Err(e) => tracing::warn!(conversation = id, error = %e, "could not announce a conversation change"),
    }
}
