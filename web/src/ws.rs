//! WebSocket sessions for boards, operator consoles and ticket-status pages.
//!
//! One task per session `select!`s over the client's frames, the pushes meant for it and a
//! heartbeat. Pushes arrive through bounded queues; a write that the client does not take within
//! `SEND_TIMEOUT` ends the session, so a slow client never blocks others or grows memory. The
//! page reconnects and starts from a fresh snapshot.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::{web, HttpRequest, HttpResponse};
use actix_ws::{CloseCode, CloseReason, Message, MessageStream, Session};
use futures_util::{stream, Stream, StreamExt};
use tokio::sync::{broadcast::error::RecvError, mpsc};

use crate::auth::{Board, Operator};
use crate::metrics::SocketKind;
use crate::{ApiResult, AppState, Metrics};
use hub_actors::{
    actors::display::Connect,
    ask,
    bus::{Event, EventKind},
};

const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(5);
const CLIENT_TIMEOUT: Duration = Duration::from_secs(15);
const SEND_TIMEOUT: Duration = Duration::from_secs(2);
/// Pushes queued for one board connection before it counts as too slow.
const BOARD_QUEUE: usize = 16;
/// Clients only send pings and pongs; anything large is refused by the frame codec.
const MAX_FRAME: usize = 4 * 1024;

/// Counts a session in the gauges (all, and its kind's) for as long as it lives.
pub(crate) struct Live(Arc<Metrics>, SocketKind);

impl Live {
    pub(crate) fn new(m: &Arc<Metrics>, kind: SocketKind) -> Self {
        m.ws_sessions.fetch_add(1, Ordering::Relaxed);
        m.ws_open[kind as usize].fetch_add(1, Ordering::Relaxed);
        Self(m.clone(), kind)
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.0.ws_sessions.fetch_sub(1, Ordering::Relaxed);
        self.0.ws_open[self.1 as usize].fetch_sub(1, Ordering::Relaxed);
    }
}

enum Step {
    Continue,
    Stop(Option<CloseReason>),
}

use crate::frames::{Frames, Text};

/// The node's events as JSON, made once for all its feeds.
static FRAMES: Frames = Frames::new();

/// What a feed sends for an event meant for it.
enum Frame {
    /// The event itself, as JSON (made once for every feed).
    Event,
    /// A fixed text instead ("something changed").
    Fixed(&'static str),
}

use crate::sessions::Holder;

/// A signed-in session's credentials, checked again now and then: a feed must stop when its
/// session ends (sign-out, password change, expiry), not only refuse to start.
pub struct Recheck {
    pub store: hub_actors::store::Store,
    pub token: String,
    /// Rings the moment the session ends anywhere (sign-out, password change, …).
    pub watch: crate::sessions::Watch,
}

/// How often a signed-in feed checks that its session still exists.
const RECHECK_EVERY: Duration = Duration::from_secs(60);

/// The common loop: `pushes` yields text to send (an error: this session must end, and why).
async fn run<P>(
    kind: SocketKind,
    mut session: Session,
    stream: MessageStream,
    state: &Arc<AppState>,
    pushes: P,
    recheck: Option<Recheck>,
) where
    P: Stream<Item = Result<Text, Option<CloseReason>>>,
{
    let metrics = state.metrics.clone();
    let stop = state.hub.tasks().token();
    let mut checked = Instant::now();
    let mut pushes = std::pin::pin!(pushes);
    let _live = Live::new(&metrics, kind);
    let mut stream = stream.max_frame_size(MAX_FRAME);
    let mut last_seen = Instant::now();
    let mut heartbeat = tokio::time::interval(HEARTBEAT_INTERVAL);
    let ended = recheck.as_ref().map(|r| r.watch.ended.clone());
    let reason = loop {
        let session_ended = async {
            match &ended {
                Some(n) => n.notified().await,
                None => std::future::pending().await,
            }
        };
        let step = tokio::select! {
            // The node is stopping: the screen reconnects (to another node, or to this one
            // started again) and resynchronises.
            _ = stop.cancelled() => Step::Stop(Some(going_away())),
            _ = session_ended => Step::Stop(Some(CloseReason {
                code: CloseCode::Policy,
                description: Some("signed out".into()),
            })),
            push = pushes.next() => match push.unwrap_or(Err(None)) {
                Ok(text) => match tokio::time::timeout(SEND_TIMEOUT, session.text(text)).await {
                    Ok(Ok(())) => Step::Continue,
                    Ok(Err(_)) => Step::Stop(None),
                    Err(_) => {
                        metrics.ws_dropped_slow.fetch_add(1, Ordering::Relaxed);
                        Step::Stop(Some(slow()))
                    }
                },
                Err(reason) => {
                    // The feed gave up on this client for falling behind (its queue filled up
                    // while a write was pending): as much a slow-client drop as a timed-out write.
                    if reason.as_ref().is_some_and(|r| r.code == CloseCode::Again) {
                        metrics.ws_dropped_slow.fetch_add(1, Ordering::Relaxed);
                    }
                    Step::Stop(reason)
                }
            },
            frame = stream.next() => match frame {
                Some(Ok(Message::Ping(b))) => {
                    last_seen = Instant::now();
                    // Even a pong waits for room in the outgoing queue: bounded, like every write.
                    match tokio::time::timeout(SEND_TIMEOUT, session.pong(&b)).await {
                        Ok(Ok(())) => Step::Continue,
                        _ => Step::Stop(None),
                    }
                }
                Some(Ok(Message::Close(_))) | None => Step::Stop(None),
                Some(Err(e)) => Step::Stop(Some(CloseReason { code: CloseCode::Protocol, description: Some(e.to_string()) })),
                Some(Ok(_)) => { last_seen = Instant::now(); Step::Continue }
            },
            _ = heartbeat.tick() => {
                if last_seen.elapsed() > CLIENT_TIMEOUT {
                    Step::Stop(Some(CloseReason { code: CloseCode::Away, description: Some("no heartbeat".into()) }))
                } else if !matches!(tokio::time::timeout(SEND_TIMEOUT, session.ping(b"")).await, Ok(Ok(()))) {
                    Step::Stop(None)
                } else if recheck.as_ref().is_some_and(|_| checked.elapsed() >= RECHECK_EVERY) {
                    checked = Instant::now();
                    match recheck.as_ref().map(|r| r.store.principal(&r.token)) {
                        Some(fut) => match fut.await {
                            Err(hub_actors::Error::Unauthenticated) => Step::Stop(Some(CloseReason {
                                code: CloseCode::Policy,
                                description: Some("signed out".into()),
                            })),
                            // A store hiccup is no reason to drop a screen; check again later.
                            _ => Step::Continue,
                        },
                        None => Step::Continue,
                    }
                } else {
                    Step::Continue
                }
            }
        };
        if let Step::Stop(reason) = step {
            break reason;
        }
    };
    // A stalled client cannot take even the close frame; don't wait for it forever. Dropping the
    // session ends the response, and the connection goes with it.
    let _ = tokio::time::timeout(SEND_TIMEOUT, session.close(reason)).await;
}

pub(crate) fn going_away() -> CloseReason {
    CloseReason {
        code: CloseCode::Away,
        description: Some("the server is restarting; reconnect".into()),
    }
}

fn slow() -> CloseReason {
    CloseReason {
        code: CloseCode::Again,
        description: Some("too slow; reconnect for a fresh state".into()),
    }
}

async fn board(
    state: web::Data<AppState>,
    board: Board,
    req: HttpRequest,
    body: web::Payload,
) -> ApiResult<HttpResponse> {
    let (tx, rx) = mpsc::channel(BOARD_QUEUE);
    let snapshot = ask(&state.hub.display(board.device_id), Connect(tx)).await?;
    let (response, session, stream) = upgrade(&req, body)?;
    let first = stream::once(async move { Ok(snapshot) });
    // The display actor drops its sender when this connection fell too far behind.
    let rest = stream::unfold(rx, |mut rx| async move {
        let next = rx.recv().await.ok_or_else(|| Some(slow()));
        Some((next, rx))
    });
    let recheck = crate::auth::token_of(&req).map(|token| Recheck {
        store: state.hub.store().clone(),
        watch: state.sessions.watch(&token, Holder::Device(board.device_id)),
        token,
    });
    let state = state.into_inner();
    actix_web::rt::spawn(
        async move { run(SocketKind::Board, session, stream, &state, first.chain(rest), recheck).await },
    );
    Ok(response)
}

/// Pushes drawn from the bus: `pick` says what an event meant for this session becomes (None:
/// not for it); `on_lag` is what to do when the session fell behind the bus.
fn bus_pushes(
    state: &AppState,
    pick: impl Fn(&Event) -> Option<Frame> + 'static,
    on_lag: fn() -> Result<Text, Option<CloseReason>>,
) -> impl Stream<Item = Result<Text, Option<CloseReason>>> {
    let pick = std::rc::Rc::new(pick);
    stream::unfold(state.hub.bus().subscribe(), move |mut rx| {
        let pick = pick.clone();
        async move {
            let next = loop {
                match rx.recv().await {
                    // Events may have been lost while the bus reconnected: as after a lag.
                    Ok(e) if e.kind == EventKind::Resync => break on_lag(),
                    Ok(e) => match pick(&e) {
                        Some(Frame::Event) => break Ok(FRAMES.of(&e)),
                        Some(Frame::Fixed(text)) => break Ok(Text::from_static(text)),
                        None => continue,
                    },
                    Err(RecvError::Lagged(_)) => break on_lag(),
                    Err(RecvError::Closed) => break Err(None),
                }
            };
            Some((next, rx))
        }
    })
}

fn upgrade(req: &HttpRequest, body: web::Payload) -> ApiResult<(HttpResponse, Session, MessageStream)> {
    Ok(actix_ws::handle(req, body).map_err(|e| hub_actors::Error::Invalid(e.to_string()))?)
}

/// The operator console's feed: every event of the operator's organisation.
async fn operator(
    state: web::Data<AppState>,
    op: Operator,
    req: HttpRequest,
    body: web::Payload,
) -> ApiResult<HttpResponse> {
    let (response, session, stream) = upgrade(&req, body)?;
    let (org_id, me) = (op.org_id, op.user_id);
    let supervisor = op.role.at_least(hub_actors::model::role::Role::Supervisor);
    let pushes = bus_pushes(
        &state,
        move |e| {
            // A conversation's messages and typing go to the operator holding it (and to
            // supervisors); other operators only see that it changed.
            let for_me = match &e.kind {
                EventKind::Resync
                | EventKind::SessionsEnded { .. }
                | EventKind::DeviceChanged { .. }
                | EventKind::VehicleChanged { .. }
                | EventKind::BranchChanged => false,
                // Where the cars are is for supervisors and dispatchers.
                EventKind::VehicleMoved { .. } | EventKind::VehicleAlert { .. } => supervisor,
                EventKind::MessageAdded { assignee_id, .. } | EventKind::Typing { assignee_id, .. } => {
                    supervisor || *assignee_id == Some(me)
                }
                _ => true,
            };
            (e.org_id == org_id && for_me).then_some(Frame::Event)
        },
        // A console that missed events reconnects and reloads everything.
        || Err(Some(slow())),
    );
    let recheck = crate::auth::token_of(&req).map(|token| Recheck {
        store: state.hub.store().clone(),
        watch: state.sessions.watch(&token, Holder::User(me)),
        token,
    });
    // Counted open while the socket lives: the operator's presence follows it.
    let console = state.consoles.open(me);
    let state = state.into_inner();
    actix_web::rt::spawn(async move {
        run(SocketKind::Operator, session, stream, &state, pushes, recheck).await;
        drop(console);
    });
    Ok(response)
}

/// The map's feed: where the organisation's vehicles are and what they told, for supervisors.
/// Not a console: it keeps nobody present.
async fn fleet(
    state: web::Data<AppState>,
    sup: crate::auth::Supervisor,
    req: HttpRequest,
    body: web::Payload,
) -> ApiResult<HttpResponse> {
    let (response, session, stream) = upgrade(&req, body)?;
    let org_id = sup.org_id;
    let pushes = bus_pushes(
        &state,
        move |e| {
            let mine = e.org_id == org_id
                && matches!(
                    e.kind,
                    EventKind::VehicleMoved { .. }
                        | EventKind::VehicleAlert { .. }
                        | EventKind::VehicleChanged { .. }
                        // A request assigned or closed changes an engineer's day plan.
                        | EventKind::RequestChanged { .. }
                );
            mine.then_some(Frame::Event)
        },
        // A map that missed positions reconnects and reads them all again.
        || Err(Some(slow())),
    );
    let recheck = crate::auth::token_of(&req).map(|token| Recheck {
        store: state.hub.store().clone(),
        watch: state.sessions.watch(&token, Holder::User(sup.user_id)),
        token,
    });
    let state = state.into_inner();
    actix_web::rt::spawn(async move { run(SocketKind::Fleet, session, stream, &state, pushes, recheck).await });
    Ok(response)
}

/// A ticket status page's feed: "something changed in your branch; fetch your ticket again".
async fn ticket(
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: HttpRequest,
    body: web::Payload,
) -> ApiResult<HttpResponse> {
    let t = state.hub.store().public_ticket(&path).await?;
    let (response, session, stream) = upgrade(&req, body)?;
    let branch_id = t.branch_id;
    const CHANGED: &str = r#"{"type":"changed"}"#;
    let pushes = bus_pushes(
        &state,
        move |e| (e.branch_id == branch_id || e.kind == EventKind::Resync).then_some(Frame::Fixed(CHANGED)),
        // Missed events only mean a re-fetch; tell the page to do one.
        || Ok(Text::from_static(CHANGED)),
    );
    let state = state.into_inner();
    actix_web::rt::spawn(async move { run(SocketKind::Ticket, session, stream, &state, pushes, None).await });
    Ok(response)
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/ws/board", web::get().to(board))
        .route("/ws/operator", web::get().to(operator))
        .route("/ws/fleet", web::get().to(fleet))
        .route("/ws/ticket/{public_id}", web::get().to(ticket));
}
