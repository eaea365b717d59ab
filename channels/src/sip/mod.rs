//! The SIP bridge: the hub as a SIP endpoint (UDP, on rsipstack's transactions and dialogs).
//! Callers dial a number; the hub answers, speaks its menu, queues the call as a conversation on
//! the phone channel (the same routing engine as chats), rings the accepting operator's
//! registered phone and relays the media between the two legs. Operators' phones register here
//! with digest. Each call is one task that owns its two legs (see [`call`]).

mod call;
pub mod config;
mod dial;
mod door;
mod prompts;
pub mod registrar;
pub mod store;
mod texts;
mod trunk;
pub mod trunk_store;

pub use dial::{DialError, DialRequest};
pub use trunk::TrunkStatus;

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use hub_actors::bus::EventKind;
use hub_actors::Hub;
use hub_sip::lockout::Lockout;
use hub_sip::ports::PortRange;
use rsipstack::dialog::dialog::{DialogState, DialogStateReceiver, DialogStateSender};
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::sip::prelude::*;
use rsipstack::sip::{Method, StatusCode};
use rsipstack::transaction::transaction::Transaction;
use rsipstack::transport::{udp::UdpConnection, TransportLayer};
use rsipstack::EndpointBuilder;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use call::{tell, CallEvent, CallEvents};
use registrar::Registrar;

use crate::sip::store::PhoneStore;
use crate::speech::Speech;

#[derive(Debug, Clone)]
pub struct Settings {
    /// `ip:port` the SIP endpoint listens on (UDP).
    pub listen: SocketAddr,
    /// The address put in SDP and Contact; the listening address when it is not a wildcard.
    pub public_ip: Option<IpAddr>,
    pub rtp_first: u16,
    pub rtp_last: u16,
    pub realm: String,
    /// Key of the nonces' HMAC; nodes that share it accept each other's challenges.
    pub secret: Vec<u8>,
    pub nonce_secs: i64,
    /// Failed authentications from one address before it is locked out, within `lockout_window_secs`.
    pub lockout_limit: u32,
    pub lockout_window_secs: i64,
    pub lockout_secs: i64,
    /// Calls at once; more are refused with 503.
    pub max_calls: usize,
    /// How long an operator's phone rings before the call goes back to the queue.
    pub ring_secs: u64,
    /// Where trunks' proxies may be (the installation's rule).
    pub egress: hub_actors::model::egress::Egress,
}

#[derive(Debug, thiserror::Error)]
pub enum SipError {
    #[error("cannot listen for SIP on {0}: {1}")]
    Listen(SocketAddr, String),
}

/// Live counters for `/metrics`.
#[derive(Default)]
pub struct Metrics {
    pub calls_total: AtomicU64,
    pub calls_active: AtomicU64,
    pub calls_bridged: AtomicU64,
    /// Calls bridged to an operator's phone right now.
    pub bridged_now: AtomicU64,
    pub calls_refused: AtomicU64,
    pub calls_failed: AtomicU64,
    pub voicemails: AtomicU64,
    pub rtp_dropped: AtomicU64,
    /// RTP packets the hub sent (prompts and relayed media), counted as calls end.
    pub rtp_sent: AtomicU64,
    /// Requests refused at the door (malformed, unknown method, unsupported scheme, …).
    pub refused_at_door: Arc<AtomicU64>,
    /// Datagrams dropped at the door (responses that cannot be read, garbage).
    pub dropped_at_door: Arc<AtomicU64>,
}

pub struct SipFigures {
    pub calls_total: u64,
    pub calls_active: u64,
    pub calls_bridged: u64,
    pub bridged_now: u64,
    pub calls_refused: u64,
    pub calls_failed: u64,
    pub voicemails: u64,
    pub rtp_dropped: u64,
    pub rtp_sent: u64,
    pub registered: usize,
    pub trunks_registered: usize,
    pub auth_failures: u64,
    pub lockouts: u64,
    pub refused_at_door: u64,
    pub dropped_at_door: u64,
}

#[derive(Clone)]
pub struct Sip(Arc<Inner>);

pub(crate) struct Inner {
    hub: Hub,
    prompts: prompts::Prompts,
    settings: Settings,
    public_ip: IpAddr,
    dialogs: Arc<DialogLayer>,
    state_tx: DialogStateSender,
    registrar: Mutex<Registrar>,
    /// Call-ID of either leg → the call's task.
    calls: Mutex<HashMap<String, CallEvents>>,
    /// Conversation → the call's task.
    conversations: Mutex<HashMap<i64, CallEvents>>,
    ports: PortRange,
    contact: rsipstack::sip::Uri,
    metrics: Metrics,
    /// Organisation → its queues' estimated waits.
    figures: Arc<Mutex<HashMap<i64, Figures>>>,
    trunks: Mutex<trunk::Trunks>,
    /// Operators placing a click-to-call call now (one each).
    dialling: Mutex<HashSet<i64>>,
    /// The SIP runtime, for work asked from the HTTP side.
    runtime: tokio::runtime::Handle,
    stop: CancellationToken,
}

/// The last estimated waits of an organisation's remote queues, and whether a refresh runs.
#[derive(Default)]
struct Figures {
    taken: Option<std::time::Instant>,
    waits: Vec<(i64, Option<i64>)>,
    refreshing: bool,
}

/// How long the queue figures (for the wait said to callers) are reused: they cost a pass over
/// every operator and queue of the organisation, too much to take for each call.
const FIGURES_TTL: std::time::Duration = std::time::Duration::from_secs(5);

impl Inner {
    /// The estimated wait of a remote queue, from the last figures taken. Figures older than
    /// [`FIGURES_TTL`] are refreshed in the background: a call never waits for them (working
    /// them out passes over every operator and queue, and a burst of callers each doing so
    /// held every call's next step for seconds). None until the first figures are in.
    fn queue_wait_secs(&self, org_id: i64, service_id: Option<i64>) -> Option<i64> {
        let service_id = service_id?;
        let mut cache = self.figures.lock().unwrap_or_else(|p| p.into_inner());
        let entry = cache.entry(org_id).or_default();
        let stale = entry.taken.is_none_or(|t| t.elapsed() >= FIGURES_TTL);
        if stale && !entry.refreshing {
            entry.refreshing = true;
            let (hub, figures) = (self.hub.clone(), self.figures.clone());
            tokio::spawn(async move {
                let taken = hub.store().queue_figures(org_id, hub_actors::model::now_millis()).await;
                let mut cache = figures.lock().unwrap_or_else(|p| p.into_inner());
                let entry = cache.entry(org_id).or_default();
                entry.refreshing = false;
                match taken {
                    Ok(f) => {
                        entry.taken = Some(std::time::Instant::now());
                        entry.waits = f.into_iter().map(|q| (q.service_id, q.ewt_secs)).collect();
                    }
                    Err(e) => tracing::debug!(error = %e, "queue figures not taken"),
                }
            });
        }
        entry.waits.iter().find(|q| q.0 == service_id).and_then(|q| q.1)
    }

    fn registrar(&self) -> std::sync::MutexGuard<'_, Registrar> {
        self.registrar.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn trunks(&self) -> std::sync::MutexGuard<'_, trunk::Trunks> {
        self.trunks.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn calls(&self) -> std::sync::MutexGuard<'_, HashMap<String, CallEvents>> {
        self.calls.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn conversations(&self) -> std::sync::MutexGuard<'_, HashMap<i64, CallEvents>> {
        self.conversations.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Sip {
    /// Starts the endpoint on a runtime of its own (two worker threads): the hub's main thread
    /// is a single-threaded actix system, and media for hundreds of calls must not wait behind
    /// HTTP, bridges and actors there, nor they behind media. The runtime lives until `stop`.
    pub async fn start(
        hub: Hub,
        speech: Option<Speech>,
        settings: Settings,
        stop: CancellationToken,
    ) -> Result<Self, SipError> {
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let listen = settings.listen;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("sip")
            .enable_all()
            .build()
            .map_err(|e| SipError::Listen(listen, e.to_string()))?;
        std::thread::Builder::new()
            .name("sip-runtime".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let started = Self::start_here(hub, speech, settings, stop.clone()).await;
                    let ok = started.is_ok();
                    let _ = ready_tx.send(started);
                    if ok {
                        stop.cancelled().await;
                    }
                });
                runtime.shutdown_timeout(std::time::Duration::from_secs(2));
            })
            .map_err(|e| SipError::Listen(listen, e.to_string()))?;
        ready_rx
            .await
            .map_err(|_| SipError::Listen(listen, "the SIP runtime stopped while starting".into()))?
    }

    async fn start_here(
        hub: Hub,
        speech: Option<Speech>,
        settings: Settings,
        stop: CancellationToken,
    ) -> Result<Self, SipError> {
        let token = stop.child_token();
        let transport = TransportLayer::new(token.clone());
        // Every datagram passes the door (RFC 3261's checks, RFC 4475's torture) before the stack.
        let door = door::Door::bind(settings.listen).map_err(|e| SipError::Listen(settings.listen, e.to_string()))?;
        let (refused, dropped) = (door.refused.clone(), door.dropped.clone());
        let conn = UdpConnection::from_socket(Arc::new(door), None, Some(token.child_token()))
            .await
            .map_err(|e| SipError::Listen(settings.listen, e.to_string()))?;
        transport.add_transport(conn.into());
        let endpoint = EndpointBuilder::new()
            .with_cancel_token(token.clone())
            .with_transport_layer(transport)
            .with_user_agent(concat!("Hub/", env!("CARGO_PKG_VERSION")))
            .build();
        let incoming = endpoint
            .incoming_transactions()
            .map_err(|e| SipError::Listen(settings.listen, e.to_string()))?;
        let dialogs = Arc::new(DialogLayer::new(endpoint.inner.clone()));
        let (state_tx, state_rx) = dialogs.new_dialog_state_channel();
        let public_ip = settings.public_ip.unwrap_or_else(|| {
            if settings.listen.ip().is_unspecified() {
                IpAddr::from([127, 0, 0, 1])
            } else {
                settings.listen.ip()
            }
        });
        let contact = rsipstack::sip::Uri::try_from(
            format!("sip:hub@{}", SocketAddr::new(public_ip, settings.listen.port())).as_str(),
        )
        .map_err(|e| SipError::Listen(settings.listen, e.to_string()))?;
        let rtp_ip = if settings.listen.ip().is_unspecified() {
            settings.listen.ip()
        } else {
            public_ip
        };
        let mut registrar = Registrar::new(
            settings.realm.clone(),
            &settings.secret,
            settings.nonce_secs,
            Lockout::new(
                settings.lockout_limit,
                settings.lockout_window_secs * 1000,
                settings.lockout_secs * 1000,
            ),
        );
        match hub.store().live_sip_bindings(hub_actors::model::now_millis()).await {
            Ok(rows) => {
                let n = registrar.restore(rows);
                if n > 0 {
                    tracing::info!(phones = n, "phone registrations of the last run restored");
                }
            }
            Err(e) => tracing::warn!(error = %e, "kept phone registrations not read; phones are found as they refresh"),
        }
        if let Ok(n) = hub.store().end_orphaned_calls(hub_actors::model::now_millis()).await {
            if n > 0 {
                tracing::info!(calls = n, "calls left open by the last run marked ended");
            }
        }
        let inner = Arc::new(Inner {
            hub,
            prompts: prompts::Prompts::new(speech),
            ports: PortRange::new(rtp_ip, settings.rtp_first, settings.rtp_last),
            public_ip,
            settings,
            dialogs,
            state_tx,
            registrar: Mutex::new(registrar),
            calls: Mutex::default(),
            conversations: Mutex::default(),
            contact,
            metrics: Metrics {
                refused_at_door: refused,
                dropped_at_door: dropped,
                ..Metrics::default()
            },
            figures: Arc::default(),
            trunks: Mutex::default(),
            dialling: Mutex::default(),
            runtime: tokio::runtime::Handle::current(),
            stop: token.clone(),
        });
        trunk::reload(&inner).await;
        tracing::info!(listen = %inner.settings.listen, public = %inner.public_ip, "SIP endpoint listening (UDP)");
        let tasks = inner.hub.tasks().clone();
        let serve_stop = token.clone();
        // rsipstack's endpoint is served once: watched (its end or panic is logged and shown),
        // not started again.
        tasks.watch("sip endpoint", async move {
            tokio::select! {
                _ = endpoint.serve() => {}
                _ = serve_stop.cancelled() => {}
            }
        });
        let incoming = Arc::new(tokio::sync::Mutex::new(incoming));
        tasks.supervise("sip requests", {
            let (inner, incoming) = (inner.clone(), incoming.clone());
            move || accept_loop(inner.clone(), incoming.clone())
        });
        let state_rx = Arc::new(tokio::sync::Mutex::new(state_rx));
        tasks.supervise("sip dialogs", {
            let (inner, state_rx) = (inner.clone(), state_rx.clone());
            move || state_loop(inner.clone(), state_rx.clone())
        });
        tasks.supervise("sip conversations", {
            let (inner, token) = (inner.clone(), token.clone());
            move || watch_conversations(inner.clone(), token.clone())
        });
        Ok(Self(inner))
    }

    pub fn figures(&self) -> SipFigures {
        let m = &self.0.metrics;
        let r = self.0.registrar();
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        SipFigures {
            calls_total: get(&m.calls_total),
            calls_active: get(&m.calls_active),
            calls_bridged: get(&m.calls_bridged),
            bridged_now: get(&m.bridged_now),
            calls_refused: get(&m.calls_refused),
            calls_failed: get(&m.calls_failed),
            voicemails: get(&m.voicemails),
            rtp_dropped: get(&m.rtp_dropped),
            rtp_sent: get(&m.rtp_sent),
            registered: r.registered(),
            trunks_registered: self.0.trunks().registered(),
            auth_failures: r.failures,
            lockouts: r.lockouts,
            refused_at_door: get(&m.refused_at_door),
            dropped_at_door: get(&m.dropped_at_door),
        }
    }

    /// Whether the operator's phone is registered now.
    pub fn phone_registered(&self, user_id: i64) -> bool {
        self.0.registrar().binding(user_id).is_some()
    }

    /// Starts the trunks added to the store and stops the removed ones (after the admin API).
    pub async fn reload_trunks(&self) {
        let inner = self.0.clone();
        let _ = self.0.runtime.spawn(async move { trunk::reload(&inner).await }).await;
    }

    /// A trunk's registration as this node sees it.
    pub fn trunk_status(&self, trunk_id: i64) -> Option<TrunkStatus> {
        self.0.trunks().status(trunk_id)
    }

    /// Click-to-call: rings the operator's phone, then the number through the trunk.
    pub async fn dial(&self, req: DialRequest) -> Result<String, DialError> {
        let inner = self.0.clone();
        self.0
            .runtime
            .spawn(dial::place(inner, req))
            .await
            .map_err(|e| DialError::Failed(e.to_string()))?
    }

    pub fn realm(&self) -> String {
        self.0.settings.realm.clone()
    }
}

async fn accept_loop(
    inner: Arc<Inner>,
    incoming: Arc<tokio::sync::Mutex<rsipstack::transaction::TransactionReceiver>>,
) {
    // Shared with the loop started again after a panic (a tokio lock is not poisoned).
    let mut incoming = incoming.lock().await;
    loop {
        let tx = tokio::select! {
            _ = inner.stop.cancelled() => return,
            tx = incoming.recv() => tx,
        };
        let Some(tx) = tx else { return };
        let inner = inner.clone();
        tokio::spawn(async move {
            let method = tx.original.method;
            if let Err(e) = on_request(&inner, tx).await {
                tracing::debug!(%method, error = %e, "SIP request not completed");
            }
        });
    }
}

fn sdp_type() -> rsipstack::sip::Header {
    rsipstack::sip::Header::ContentType("application/sdp".into())
}

/// Answers a re-INVITE on `leg`: an offer with SDP (hold, resume) is answered in kind and its
/// hold state returned; one without SDP gets our current description; an unusable one 488.
async fn answer_reinvite(
    leg: &hub_sip::media::Leg,
    session_id: u64,
    req: &rsipstack::sip::Request,
    handle: rsipstack::dialog::dialog::TransactionHandle,
) -> Option<bool> {
    let (direction, hold) = match hub_sip::sdp::parse(&req.body) {
        Ok(offer) => {
            let hold = offer.direction.is_hold();
            leg.set_held(hold);
            (offer.direction, Some(hold))
        }
        Err(_) if req.body.is_empty() => (hub_sip::sdp::Direction::SendRecv, None),
        Err(_) => {
            let _ = handle.reply(StatusCode::NotAcceptableHere).await;
            return None;
        }
    };
    let answer = hub_sip::sdp::build_answer_for(leg.local, session_id, leg.codec(), leg.telephone_event(), direction);
    let _ = handle
        .respond(StatusCode::OK, Some(vec![sdp_type()]), Some(answer.into_bytes()))
        .await;
    hold
}

/// Sends an INVITE for one leg of a call (the operator's phone, a customer through a trunk): the
/// leg's dialog changes go to the call by `leg_call_id`, and its final answer arrives as
/// [`CallEvent::LegAnswered`] from the returned task.
fn invite_leg(
    inner: &Inner,
    option: rsipstack::dialog::invitation::InviteOption,
    leg_call_id: &str,
    events: &CallEvents,
) -> Result<
    (
        rsipstack::dialog::invite_dialog::InviteDialog,
        tokio::task::JoinHandle<()>,
    ),
    String,
> {
    inner.calls().insert(leg_call_id.to_string(), events.clone());
    let (dialog, handle) = match inner.dialogs.do_invite_async(option, inner.state_tx.clone()) {
        Ok(d) => d,
        Err(e) => {
            inner.calls().remove(leg_call_id);
            return Err(e.to_string());
        }
    };
    let (tx, id) = (events.clone(), leg_call_id.to_string());
    let waiter = tokio::spawn(async move {
        let r = match handle.await {
            Ok(r) => r,
            Err(e) => Err(rsipstack::Error::Error(e.to_string())),
        };
        tell(&tx, CallEvent::LegAnswered(id, r));
    });
    Ok((dialog, waiter))
}

/// A media leg on the next free RTP port, sending to `remote` until it hears where its peer
/// really is, its reader running; what it hears (keys, recorded audio) arrives on the receiver.
/// Its SDP address is the port on the public IP.
#[allow(clippy::type_complexity)]
fn media_leg(
    inner: &Inner,
    remote: SocketAddr,
    codec: hub_sip::sdp::Codec,
    telephone_event: Option<u8>,
) -> Result<
    (
        Arc<hub_sip::media::Leg>,
        mpsc::Receiver<hub_sip::media::Heard>,
        tokio::task::JoinHandle<()>,
    ),
    String,
> {
    let sock = inner.ports.bind().map_err(|e| e.to_string())?;
    let port = sock.local_addr().map(|a| a.port()).unwrap_or(0);
    let advertised = SocketAddr::new(inner.public_ip, port);
    let (leg, heard) = hub_sip::media::Leg::new(sock, advertised, remote, codec, telephone_event)
        .map_err(|e| format!("cannot watch an RTP socket: {e}"))?;
    let task = tokio::spawn(leg.clone().run());
    Ok((leg, heard, task))
}

fn source_of(tx: &Transaction) -> Option<SocketAddr> {
    tx.connection.as_ref()?.get_remote_addr()?.get_socketaddr().ok()
}

async fn on_request(inner: &Arc<Inner>, mut tx: Transaction) -> rsipstack::Result<()> {
    let Some(source) = source_of(&tx) else {
        return Ok(());
    };
    // Requests inside a dialog the hub holds go to that dialog.
    if let Some(rsipstack::dialog::dialog::Dialog::Invite(mut d)) = inner.dialogs.match_dialog(&tx) {
        return d.handle(&mut tx).await;
    }
    match tx.original.method {
        Method::Register => registrar::handle(&inner.registrar, inner.hub.store(), &mut tx, source).await,
        Method::Invite => {
            let in_dialog = tx
                .original
                .to_header()
                .ok()
                .and_then(|t| t.tag().ok().flatten())
                .is_some();
            if in_dialog {
                return tx.reply(StatusCode::CallTransactionDoesNotExist).await;
            }
            call::inbound(inner.clone(), tx, source).await
        }
        Method::Options => tx.reply(StatusCode::OK).await,
        Method::Ack => Ok(()),
        Method::Bye | Method::Info | Method::Update | Method::PRack => {
            tx.reply(StatusCode::CallTransactionDoesNotExist).await
        }
        _ => {
            tx.reply_with(
                StatusCode::MethodNotAllowed,
                vec![rsipstack::sip::Header::Allow(hub_sip::guard::ALLOW.into())],
                None,
            )
            .await
        }
    }
}

/// Hands each dialog's changes to the call holding it.
async fn state_loop(inner: Arc<Inner>, states: Arc<tokio::sync::Mutex<DialogStateReceiver>>) {
    let mut states = states.lock().await;
    loop {
        let state = tokio::select! {
            _ = inner.stop.cancelled() => return,
            state = states.recv() => state,
        };
        let Some(state) = state else { return };
        let id = match &state {
            DialogState::Calling(id)
            | DialogState::Trying(id)
            | DialogState::Early(id, _)
            | DialogState::WaitAck(id, _)
            | DialogState::Confirmed(id, _)
            | DialogState::Updated(id, ..)
            | DialogState::Publish(id, ..)
            | DialogState::Notify(id, ..)
            | DialogState::Refer(id, ..)
            | DialogState::Message(id, ..)
            | DialogState::Info(id, ..)
            | DialogState::Options(id, ..)
            | DialogState::Terminated(id, _) => id.clone(),
        };
        if let DialogState::Terminated(..) = state {
            inner.dialogs.remove_dialog(&id);
        }
        let to = inner.calls().get(&id.call_id).cloned();
        match to {
            Some(call) => {
                tell(&call, CallEvent::Dialog(id.call_id.clone(), state));
            }
            None => {
                // A request in a dialog no call holds any more: answer it so the peer does not wait.
                match state {
                    DialogState::Updated(_, _, h) | DialogState::Info(_, _, h) | DialogState::Options(_, _, h) => {
                        let _ = h.reply(StatusCode::CallTransactionDoesNotExist).await;
                    }
                    _ => {}
                }
            }
        }
    }
}

/// Tells each call what happens to its conversation (accepted in a console, closed).
async fn watch_conversations(inner: Arc<Inner>, stop: CancellationToken) {
    let mut events = inner.hub.bus().subscribe();
    loop {
        let e = tokio::select! {
            _ = stop.cancelled() => return,
            e = events.recv() => e,
        };
        match e {
            Ok(e) => {
                if let EventKind::ConversationChanged {
                    conversation_id,
                    status,
                    assignee_id,
                    offered_to,
                    ..
                } = &e.kind
                {
                    let to = inner.conversations().get(conversation_id).cloned();
                    if let Some(call) = to {
                        tell(
                            &call,
                            CallEvent::Conversation {
                                status: status.to_string(),
                                assignee: *assignee_id,
                                offered_to: *offered_to,
                            },
                        );
                    }
                }
            }
            Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                // Missed changes: each call re-reads its conversation.
                tracing::warn!(
                    missed = n,
                    "SIP bridge lagged behind the bus; calls re-read their conversations"
                );
                let calls: Vec<_> = inner.conversations().values().cloned().collect();
                for c in calls {
                    tell(&c, CallEvent::Recheck);
                }
            }
            Err(_) => return,
        }
    }
}
