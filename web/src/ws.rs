//! The WebSocket feeds of boards, operator consoles, maps and ticket-status pages: who may open
//! each, and what each is sent. How a socket is served is `socket`'s: each handler checks the
//! handshake, opens a connection, files it where its pushes come from (a board's display actor,
//! the node's bus follower), and hands it over with the 101.

use std::sync::{Arc, Weak};

use actix_web::{web, HttpRequest, HttpResponse};

use crate::auth::{Board, Operator};
use crate::metrics::SocketKind;
use crate::sessions::Holder;
use crate::socket::{self, Conn, Handoff, Key, OnLag, Pick};
use crate::{ApiResult, AppState};
use hub_actors::{
    actors::display::{Connect, Push, Screen},
    ask,
    bus::EventKind,
};

/// Clients only send pings, pongs and the close; anything large is refused by the frame codec.
const MAX_FRAME: usize = 4 * 1024;

/// A board's connection as its display actor sees it.
struct BoardScreen(Weak<Conn>);

/// A display actor lets go of a screen when the connection is gone, or when the actor itself
/// stops: then the board must not stay open on a state nobody updates, so it is told to
/// reconnect (and finds a display actor again, with a fresh snapshot).
impl Drop for BoardScreen {
    fn drop(&mut self) {
        if let Some(c) = self.0.upgrade() {
            c.close(Some(actix_http::ws::CloseReason {
                code: actix_http::ws::CloseCode::Restart,
                description: Some("the board's state restarts; reconnect".into()),
            }));
        }
    }
}

impl Screen for BoardScreen {
    fn show(&self, push: &Push) -> bool {
        self.0.upgrade().is_some_and(|c| c.send(push.clone()))
    }

    fn gone(&self) -> bool {
        self.0.upgrade().is_none_or(|c| !c.is_open())
    }
}

/// Opens a connection of `kind` for this request, closed the moment its session ends.
fn open(state: &AppState, req: &HttpRequest, kind: SocketKind, holder: Option<Holder>) -> ApiResult<Arc<Conn>> {
    let token = crate::auth::token_of(req);
    let conn = state.sockets.open(kind, token.clone(), &state.metrics)?;
    if let (Some(token), Some(holder)) = (token, holder) {
        let weak = Arc::downgrade(&conn);
        conn.hold(state.sessions.watch(&token, holder, move || {
            if let Some(c) = weak.upgrade() {
                c.close(Some(socket::signed_out()));
            }
        }));
    }
    Ok(conn)
}

fn handoff(conn: Arc<Conn>) -> Handoff {
    Handoff {
        conn,
        inbox: None,
        max_frame: MAX_FRAME,
    }
}

async fn board(state: web::Data<AppState>, board: Board, req: HttpRequest) -> ApiResult<HttpResponse> {
    let handshake = socket::handshake(&req)?;
    let conn = open(&state, &req, SocketKind::Board, Some(Holder::Device(board.device_id)))?;
    // The display actor sends the board as it is now, then every change, in that order.
    ask(
        &state.hub.display(board.device_id),
        Connect(Some(Box::new(BoardScreen(Arc::downgrade(&conn))))),
    )
    .await?;
    Ok(socket::accept(handshake, handoff(conn)))
}

/// The operator console's feed: every event of the operator's organisation.
async fn operator(state: web::Data<AppState>, op: Operator, req: HttpRequest) -> ApiResult<HttpResponse> {
    let handshake = socket::handshake(&req)?;
    let conn = open(&state, &req, SocketKind::Operator, Some(Holder::User(op.user_id)))?;
    let me = op.user_id;
    let supervisor = op.role.at_least(hub_actors::model::role::Role::Supervisor);
    state.sockets.feeds.add(
        Key::Org(op.org_id),
        &conn,
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
            for_me.then_some(Pick::Event)
        },
        // A console that missed events reconnects and reloads everything.
        OnLag::Close,
    );
    // Counted open while the socket lives: the operator's presence follows it.
    conn.hold(state.consoles.open(me));
    Ok(socket::accept(handshake, handoff(conn)))
}

/// The map's feed: where the organisation's vehicles are and what they told, for supervisors.
/// Not a console: it keeps nobody present.
async fn fleet(state: web::Data<AppState>, sup: crate::auth::Supervisor, req: HttpRequest) -> ApiResult<HttpResponse> {
    let handshake = socket::handshake(&req)?;
    let conn = open(&state, &req, SocketKind::Fleet, Some(Holder::User(sup.user_id)))?;
    state.sockets.feeds.add(
        Key::Org(sup.org_id),
        &conn,
        |e| {
            matches!(
                e.kind,
                EventKind::VehicleMoved { .. }
                    | EventKind::VehicleAlert { .. }
                    | EventKind::VehicleChanged { .. }
                    // A request assigned or closed changes an engineer's day plan.
                    | EventKind::RequestChanged { .. }
            )
            .then_some(Pick::Event)
        },
        // A map that missed positions reconnects and reads them all again.
        OnLag::Close,
    );
    Ok(socket::accept(handshake, handoff(conn)))
}

/// A ticket status page's feed: "something changed in your branch; fetch your ticket again".
async fn ticket(state: web::Data<AppState>, path: web::Path<String>, req: HttpRequest) -> ApiResult<HttpResponse> {
    let t = state.hub.store().public_ticket(&path).await?;
    let handshake = socket::handshake(&req)?;
    let conn = open(&state, &req, SocketKind::Ticket, None)?;
    const CHANGED: &str = r#"{"type":"changed"}"#;
    state.sockets.feeds.add(
        Key::Branch(t.branch_id),
        &conn,
        |_| Some(Pick::Fixed(CHANGED)),
        OnLag::Send(CHANGED),
    );
    Ok(socket::accept(handshake, handoff(conn)))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/ws/board", web::get().to(board))
        .route("/ws/operator", web::get().to(operator))
        .route("/ws/fleet", web::get().to(fleet))
        .route("/ws/ticket/{public_id}", web::get().to(ticket));
}
