//! The web-chat widget's live session, `/ws/chat?token=…&after=…`.
//!
//! The session follows the visitor's dialogue on the switchboard *before* it reads the thread
//! from the store, so nothing published in between is missed (a message may arrive twice; the
//! widget shows each id once). A message from the widget is stored (once per `client_id`) and
//! only then acknowledged: the widget keeps unacknowledged messages and resends them after a
//! reconnect, so a drop at any moment loses nothing and duplicates nothing.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_http::ws::{CloseCode, CloseReason};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use tokio::sync::mpsc;

use hub_actors::{bus::Event, store::Visitor, Error};
use hub_channels::webchat::{self, ClientFrame, ForWidget, ServerFrame};

use crate::metrics::SocketKind;
use crate::socket::{self, Conn, Handoff, Text};
use crate::{ApiResult, AppState};

/// Events queued for one widget before it counts as too slow (it then reconnects and resumes).
const QUEUE: usize = 64;
/// The visitor's frames read ahead of the one being handled (then the socket waits).
const READ_AHEAD: usize = 4;
/// Messages a visitor may send in `FLOOD_WINDOW` before being told to slow down.
const FLOOD_LIMIT: usize = 20;
const FLOOD_WINDOW: Duration = Duration::from_secs(10);
/// Typing signals relayed per session at most this often; the rest are dropped.
const TYPING_EVERY: Duration = Duration::from_millis(1500);
/// Messages sent on connect; a longer thread is cut to its latest messages.
const HELLO_MESSAGES: i64 = 500;

#[derive(Deserialize)]
struct Query {
    token: Option<String>,
    #[serde(default)]
    after: i64,
}

async fn chat(state: web::Data<AppState>, req: HttpRequest) -> ApiResult<HttpResponse> {
    let q = web::Query::<Query>::from_query(req.query_string())
        .map_err(|e| crate::ApiError::BadJson(format!("bad query: {e}")))?
        .into_inner();
    let token = q.token.ok_or(Error::Unauthenticated)?;
    let visitor = state.hub.store().visitor(&token).await?;
    let handshake = socket::handshake(&req)?;
    let conn = state.sockets.open(SocketKind::Widget, None, &state.metrics)?;
    let (tx, rx) = mpsc::channel(QUEUE);
    let line = state
        .hub
        .switchboard()
        .register(visitor.org_id, &visitor.thread_key(), tx);
    let (inbox, incoming) = mpsc::channel(READ_AHEAD);
    let state = state.into_inner();
    let session = conn.clone();
    actix_web::rt::spawn(async move {
        let _line = line;
        let reason = run(&state, &visitor, &session, incoming, rx, q.after).await;
        session.close(reason);
    });
    Ok(socket::accept(
        handshake,
        Handoff {
            conn,
            inbox: Some(inbox),
            max_frame: webchat::MAX_FRAME,
        },
    ))
}

/// The session: its hello, then the dialogue's events out and the visitor's frames in, until
/// either side ends it (the connection's end closes `incoming`). Answers why it ended.
async fn run(
    state: &Arc<AppState>,
    visitor: &Visitor,
    conn: &Conn,
    mut incoming: mpsc::Receiver<Text>,
    mut rx: mpsc::Receiver<Arc<Event>>,
    after: i64,
) -> Option<CloseReason> {
    let store = state.hub.store();
    let hello = async {
        let conv = store
            .latest_conversation_for(visitor.org_id, "webchat", &visitor.thread_key())
            .await?;
        let messages = match &conv {
            Some(c) => store.latest_messages(c.row.id, after, HELLO_MESSAGES).await?,
            None => vec![],
        };
        Ok::<_, Error>(
            ServerFrame::Hello {
                conversation: conv.as_ref().map(webchat::VisitorConversation::of),
                messages: &messages,
            }
            .text(),
        )
    };
    match hello.await {
        Ok(text) => {
            if !conn.send(Text::from(text)) {
                return None;
            }
        }
        Err(e) => {
            tracing::warn!(visitor = visitor.id, error = %e, "widget hello failed");
            return Some(CloseReason {
                code: CloseCode::Again,
                description: Some("temporarily unavailable".into()),
            });
        }
    }
    let mut sent: VecDeque<Instant> = VecDeque::new();
    let mut typed: Option<Instant> = None;
    loop {
        tokio::select! {
            event = rx.recv() => {
                let Some(event) = event else {
                    // The switchboard dropped us: too slow, or it lost track. Resume afresh.
                    return Some(CloseReason { code: CloseCode::Again, description: Some("resume".into()) });
                };
                let text = match webchat::for_widget(&event.kind) {
                    ForWidget::Frame(f) => f.text(),
                    ForWidget::Status(id) => match store.conversation(visitor.org_id, id).await {
                        Ok(c) => {
                            let waiting = c.row.status.waiting();
                            let ewt_secs = match waiting {
                                true => crate::routes::queue_ewt(state, c.row.org_id, c.row.service_id).await.ok().flatten(),
                                false => None,
                            };
                            ServerFrame::Status {
                                conversation: webchat::VisitorConversation::of(&c),
                                ewt_secs,
                            }
                            .text()
                        }
                        Err(_) => continue,
                    },
                    ForWidget::Nothing => continue,
                };
                if !conn.send(Text::from(text)) {
                    return None;
                }
            }
            text = incoming.recv() => {
                // None: the connection ended (the client left, or the node closed it).
                let text = text?;
                let reply = handle_frame(state, visitor, &text, &mut sent, &mut typed).await;
                if let Some(reply) = reply {
                    if !conn.send(Text::from(reply)) {
                        return None;
                    }
                }
            }
        }
    }
}

/// Handles one frame from the widget; answers the frame to send back, if any.
async fn handle_frame(
    state: &AppState,
    visitor: &Visitor,
    text: &str,
    sent: &mut VecDeque<Instant>,
    typed: &mut Option<Instant>,
) -> Option<String> {
    let error = |code: &str, message: &str, client_id: Option<&str>| {
        Some(
            ServerFrame::Error {
                code,
                message,
                client_id,
                reason: None,
                args: None,
            }
            .text(),
        )
    };
    // A refusal with a reason: the widget words it in the visitor's language.
    let refusal = |e: &Error, client_id: &str| {
        let (reason, args) = e
            .reason()
            .map_or((None, None), |(r, a)| (Some(r), Some(a).filter(|a| !a.is_null())));
        Some(
            ServerFrame::Error {
                code: e.code(),
                message: &e.to_string(),
                client_id: Some(client_id),
                reason,
                args,
            }
            .text(),
        )
    };
    let frame = match webchat::parse(text) {
        Ok(f) => f,
        Err(e) => return error("bad_json", &e, None),
    };
    match frame {
        ClientFrame::Typing => {
            // Every signal crosses the bus to every node: a page typing fast (or a script) is
            // heard once per interval.
            if typed.is_some_and(|t| t.elapsed() < TYPING_EVERY) {
                return None;
            }
            *typed = Some(Instant::now());
            if let Ok(Some(id)) = state
                .hub
                .store()
                .open_conversation_id(visitor.org_id, "webchat", &visitor.thread_key())
                .await
            {
                let _ = state
                    .hub
                    .ticket(id)
                    .send(hub_actors::actors::ticket::Typing {
                        org_id: visitor.org_id,
                        author: hub_actors::store::Author::Visitor,
                    })
                    .await;
            }
            None
        }
        ClientFrame::Message {
            client_id,
            body,
            attachment_ids,
        } => {
            if let Err(e) = hub_actors::model::message::check(&body, Some(&client_id), &attachment_ids) {
                return refusal(&Error::from(e.clone()), &client_id);
            }
            let now = Instant::now();
            while sent.front().is_some_and(|t| now.duration_since(*t) > FLOOD_WINDOW) {
                sent.pop_front();
            }
            if sent.len() >= FLOOD_LIMIT {
                return error(
                    "too_many_messages",
                    "too many messages at once; wait a few seconds",
                    Some(&client_id),
                );
            }
            sent.push_back(now);
            match state
                .hub
                .inbound(webchat::inbound(visitor, client_id.clone(), body, attachment_ids))
                .await
            {
                Ok((_, m, new)) => {
                    if new {
                        state
                            .metrics
                            .messages_in
                            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    Some(
                        ServerFrame::Ack {
                            client_id: &client_id,
                            message_id: m.id,
                        }
                        .text(),
                    )
                }
                Err(e) => {
                    let code = e.code();
                    let message = if matches!(
                        code,
                        "store_unavailable" | "bus_unavailable" | "unavailable" | "internal"
                    ) {
                        tracing::warn!(visitor = visitor.id, error = %e, "widget message not stored");
                        "not stored; it will be sent again".to_string()
                    } else if e.reason().is_some() {
                        return refusal(&e, &client_id);
                    } else {
                        e.to_string()
                    };
                    error(code, &message, Some(&client_id))
                }
            }
        }
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/ws/chat", web::get().to(chat));
}
