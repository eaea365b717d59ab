//! The event bus: every change an actor persists is published here, and every push to a browser
//! or device is fed from here, so a board on node B sees what happened on node A.
//!
//! In-process by default (a bounded broadcast channel). With Redis, a publish goes to a Redis
//! channel and every node, the publisher included, feeds what it hears from Redis into its local
//! broadcast: one path, one order, on every node.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::error::{Error, Result};
use crate::model::{presence::Presence, Millis};

/// Events kept for subscribers that fall behind. A subscriber further behind than this is told it
/// lagged; WebSocket sessions then drop the client, which reconnects and takes a fresh snapshot.
pub const BUS_CAPACITY: usize = 4096;

/// How often the Redis subscription is checked for life, and how long an answer may take.
const PING_EVERY: Duration = Duration::from_secs(5);
const PING_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The node that published it, set by [`Bus::publish`]: an actor that keeps a copy of state
    /// changed on another node knows to reload it.
    #[serde(default)]
    pub origin: u64,
    pub org_id: i64,
    pub branch_id: i64,
    pub at: Millis,
    #[serde(flatten)]
    pub kind: EventKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    TicketIssued {
        ticket_id: i64,
        number: String,
        service_id: i64,
        priority: i64,
    },
    /// A call or a recall: boards show and highlight it.
    TicketCalled {
        ticket_id: i64,
        number: String,
        service_id: i64,
        window_id: i64,
        window: String,
        operator_id: i64,
        /// As stored on the ticket, so a board rebuilt from the store shows the same.
        called_at: Millis,
        recall: bool,
    },
    /// Started, finished, no-show, or transferred (then `status` is waiting and `service_id` the new one).
    TicketChanged {
        ticket_id: i64,
        number: String,
        service_id: i64,
        from_service_id: i64,
        status: String,
        /// The operator who made the change.
        operator_id: i64,
    },
    /// A waiting ticket moved by a supervisor: to another service, or to the front or back of
    /// its line. It was waiting before and still is.
    TicketMoved {
        ticket_id: i64,
        number: String,
        service_id: i64,
        from_service_id: i64,
        /// The supervisor who moved it.
        by: i64,
    },
    OperatorChanged {
        operator_id: i64,
        presence: Presence,
        window_id: Option<i64>,
        service_ids: Vec<i64>,
    },
    /// A conversation's status, queue, assignee or offer changed. `thread_key` names the
    /// dialogue, so the customer's own session (widget, bridge) can follow it.
    ConversationChanged {
        conversation_id: i64,
        thread_key: String,
        status: crate::model::conversation::ConversationStatus,
        service_id: i64,
        assignee_id: Option<i64>,
        offered_to: Option<i64>,
        offer_expires_at: Option<Millis>,
    },
    /// A message stored in a conversation.
    MessageAdded {
        conversation_id: i64,
        thread_key: String,
        assignee_id: Option<i64>,
        message: crate::store::Message,
    },
    /// Someone is typing; not stored.
    Typing {
        conversation_id: i64,
        thread_key: String,
        assignee_id: Option<i64>,
        /// `visitor` or `operator`.
        author: String,
        operator_id: Option<i64>,
    },
    /// Sessions ended (sign-out, a password changed, a user disabled, a device's secret
    /// rotated): every node closes the live feeds of those sessions at once. A session is named
    /// by its token's hash, or all of a user's or a device's but `keep`. Never sent to clients.
    SessionsEnded {
        token_hash: Option<String>,
        user_id: Option<i64>,
        device_id: Option<i64>,
        keep: Option<String>,
    },
    /// A device's look or settings changed in the back office: its screens reload them.
    DeviceChanged { device_id: i64 },
    /// A service-desk request changed: its status, group, assignee or history. Every node's
    /// alarm clock re-reads when its next alarm is; consoles refresh their lists.
    RequestChanged {
        request_id: i64,
        status: String,
        group_id: Option<i64>,
        assignee_id: Option<i64>,
    },
    /// A request's clock reached a warning, its breach or an escalation step (`share` per cent
    /// of its target). Fired once, whichever node fires it.
    RequestAlarm {
        request_id: i64,
        /// `sla` or `ola`.
        track: String,
        clock: crate::model::sla::ClockKind,
        share: i64,
        due_at: Millis,
        fired_at: Millis,
        group_id: Option<i64>,
    },
    /// A staff note on a request calls a colleague by `@login`: their console says so.
    RequestMention {
        request_id: i64,
        user_id: i64,
        by_user: i64,
    },
    /// A vehicle's position, at most once a second: maps move it.
    VehicleMoved {
        vehicle_id: i64,
        fix_at: Millis,
        lat: f64,
        lon: f64,
        speed_kmh: Option<f64>,
        course: Option<f64>,
    },
    /// What a vehicle's track told that supervisors hear at once (speeding, a territory left or
    /// entered, a frozen receiver): `alert` is `model::fleet::Told`.
    VehicleAlert { vehicle_id: i64, alert: serde_json::Value },
    /// A vehicle's settings changed, or (`vehicle_id` 0) the organisation's territories: the
    /// vehicles' actors read them again.
    VehicleChanged { vehicle_id: i64 },
    /// A branch's settings changed in the back office (name, zone, hours, board rows, recalls):
    /// its boards and the operators at its windows reload them. The branch is the event's.
    BranchChanged,
    /// Not an event of the domain: this node's bus reconnected and may have missed events, so
    /// live state is reloaded from the store. Never crosses Redis.
    Resync,
}

#[derive(Clone)]
pub struct Bus {
    node: u64,
    local: broadcast::Sender<Arc<Event>>,
    redis: Option<RedisOut>,
}

#[derive(Clone)]
struct RedisOut {
    conn: redis::aio::ConnectionManager,
    channel: String,
}

impl Bus {
    pub fn in_process() -> Self {
        let (local, _) = broadcast::channel(BUS_CAPACITY);
        Self {
            node: rand::random(),
            local,
            redis: None,
        }
    }

    /// Connects to Redis and starts listening on `channel` until `stop` is cancelled. Fails fast
    /// if Redis cannot be reached at start, so a misconfigured node does not run half-connected.
    pub async fn redis(url: &str, channel: &str, tasks: &crate::tasks::Tasks) -> Result<Self> {
        let client = redis::Client::open(url).map_err(|e| Error::Bus(format!("redis url: {e}")))?;
        let conn = redis::aio::ConnectionManager::new(client.clone())
            .await
            .map_err(|e| Error::Bus(format!("connect {url}: {e}")))?;
        let (local, _) = broadcast::channel(BUS_CAPACITY);
        // Subscribe before returning, so nothing published after start-up is missed.
        let mut pubsub = client.get_async_pubsub().await.map_err(|e| Error::Bus(e.to_string()))?;
        pubsub.subscribe(channel).await.map_err(|e| Error::Bus(e.to_string()))?;
        let first = Arc::new(std::sync::Mutex::new(Some(pubsub)));
        let (name, out, stop) = (channel.to_string(), local.clone(), tasks.token());
        tasks.supervise("redis bus", move || {
            // Started again after a panic, it connects anew and tells the actors to resync.
            let pubsub = first.lock().unwrap_or_else(|p| p.into_inner()).take();
            listen(client.clone(), name.clone(), pubsub, out.clone(), stop.clone())
        });
        Ok(Self {
            node: rand::random(),
            local,
            redis: Some(RedisOut {
                conn,
                channel: channel.to_string(),
            }),
        })
    }

    /// This node's id, as stamped on what it publishes.
    pub fn node(&self) -> u64 {
        self.node
    }

    pub async fn publish(&self, mut event: Event) -> Result<()> {
        event.origin = self.node;
        match &self.redis {
            None => {
                // No receivers is fine: nobody is watching this node right now.
                let _ = self.local.send(Arc::new(event));
                Ok(())
            }
            Some(out) => {
                let payload = serde_json::to_string(&event).map_err(|e| Error::Internal(e.to_string()))?;
                let mut conn = out.conn.clone();
                redis::cmd("PUBLISH")
                    .arg(&out.channel)
                    .arg(payload)
                    .query_async::<i64>(&mut conn)
                    .await
                    .map_err(|e| Error::Bus(e.to_string()))?;
                Ok(())
            }
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.local.subscribe()
    }
}

impl EventKind {
    /// The dialogue a conversation event belongs to.
    pub fn thread_key(&self) -> Option<&str> {
        match self {
            EventKind::ConversationChanged { thread_key, .. }
            | EventKind::MessageAdded { thread_key, .. }
            | EventKind::Typing { thread_key, .. } => Some(thread_key),
            _ => None,
        }
    }
}

async fn listen(
    client: redis::Client,
    channel: String,
    mut pubsub: Option<redis::aio::PubSub>,
    local: broadcast::Sender<Arc<Event>>,
    stop: CancellationToken,
) {
    let mut backoff = Duration::from_millis(100);
    loop {
        if let Some(p) = pubsub.take() {
            // A connection can die without a word (a peer gone, a NAT forgetting us): a ping
            // that goes unanswered ends it as surely as a closed socket.
            let (mut sink, mut messages) = p.split();
            let mut liveness = tokio::time::interval(PING_EVERY);
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = liveness.tick() => {
                        if !matches!(tokio::time::timeout(PING_TIMEOUT, sink.ping::<redis::Value>()).await, Ok(Ok(_))) {
                            tracing::warn!(channel, "redis bus did not answer a ping");
                            break;
                        }
                    }
                    msg = messages.next() => {
                        let Some(msg) = msg else { break };
                        match serde_json::from_slice::<Event>(msg.get_payload_bytes()) {
                            Ok(event) if event.kind != EventKind::Resync => {
                                let _ = local.send(Arc::new(event));
                            }
                            Ok(_) => {}
                            Err(e) => tracing::warn!(error = %e, "ignoring malformed bus message"),
                        }
                    }
                }
            }
        }
        tracing::warn!(channel, "redis bus connection lost; reconnecting");
        // Reconnect with capped back-off; then tell local actors to reload what they may have missed.
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(backoff) => {}
            }
            match client.get_async_pubsub().await {
                Ok(mut p) => match p.subscribe(&channel).await {
                    Ok(()) => {
                        pubsub = Some(p);
                        backoff = Duration::from_millis(100);
                        tracing::info!(channel, "redis bus reconnected");
                        let _ = local.send(Arc::new(Event {
                            origin: 0,
                            org_id: 0,
                            branch_id: 0,
                            at: crate::model::now_millis(),
                            kind: EventKind::Resync,
                        }));
                        break;
                    }
                    Err(e) => tracing::warn!(error = %e, "redis subscribe failed"),
                },
                Err(e) => tracing::warn!(error = %e, "redis reconnect failed"),
            }
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    }
}
