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

use actix_web::{web, HttpRequest, HttpResponse};
use actix_ws::{CloseCode, CloseReason, Message as Frame, MessageStream, Session};
use futures_util::StreamExt;
use serde::Deserialize;
use tokio::sync::mpsc;

use hub_actors::{bus::Event, store::Visitor, Error};
use hub_channels::webchat::{self, ClientFrame, ForWidget, ServerFrame};

use crate::ws::Live;
use crate::{ApiResult, AppState};

const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(5);
const CLIENT_TIMEOUT: Duration = Duration::from_secs(15);
const SEND_TIMEOUT: Duration = Duration::from_secs(2);
/// Events queued for one widget before it counts as too slow (it then reconnects and resumes).
const QUEUE: usize = 64;
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

async fn chat(state: web::Data<AppState>, req: HttpRequest, body: web::Payload) -> ApiResult<HttpResponse> {
    let q = web::Query::<Query>::from_query(req.query_string())
        .map_err(|e| crate::ApiError::BadJson(format!("bad query: {e}")))?
        .into_inner();
    let token = q.token.ok_or(Error::Unauthenticated)?;
    let visitor = state.hub.store().visitor(&token).await?;
    let (response, session, stream) =
        actix_ws::handle(&req, body).map_err(|e| hub_actors::Error::Invalid(e.to_string()))?;
    let (tx, rx) = mpsc::channel(QUEUE);
    let line = state
        .hub
        .switchboard()
        .register(visitor.org_id, &visitor.thread_key(), tx);
    let state = state.into_inner();
    actix_web::rt::spawn(async move {
        let _line = line;
        let _live = Live::new(&state.metrics, crate::metrics::SocketKind::Widget);
        let reason = run(&state, &visitor, session.clone(), stream, rx, q.after).await;
        let session = session;
        let _ = tokio::time::timeout(SEND_TIMEOUT, session.close(reason)).await;
    });
    Ok(response)
}

async fn send(session: &mut Session, text: String) -> Result<(), Option<CloseReason>> {
    match tokio::time::timeout(SEND_TIMEOUT, session.text(text)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(None),
        Err(_) => Err(Some(CloseReason {
            code: CloseCode::Again,
            description: Some("too slow; reconnect".into()),
        })),
    }
}

async fn run(
    state: &Arc<AppState>,
    visitor: &Visitor,
    mut session: Session,
    stream: MessageStream,
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
            if let Err(r) = send(&mut session, text).await {
                return r;
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
    let mut stream = stream.max_frame_size(webchat::MAX_FRAME);
    let mut last_seen = Instant::now();
    let mut heartbeat = tokio::time::interval(HEARTBEAT_INTERVAL);
    let mut sent: VecDeque<Instant> = VecDeque::new();
    let mut typed: Option<Instant> = None;
    let stop = state.hub.tasks().token();
    loop {
        tokio::select! {
            // The node is stopping: the widget reconnects and resumes from the store.
            _ = stop.cancelled() => return Some(crate::ws::going_away()),
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
                if let Err(r) = send(&mut session, text).await {
                    return r;
                }
            }
            frame = stream.next() => {
                let text = match frame {
                    Some(Ok(Frame::Text(t))) => t,
                    Some(Ok(Frame::Ping(b))) => {
                        last_seen = Instant::now();
                        if tokio::time::timeout(SEND_TIMEOUT, session.pong(&b)).await.is_err() {
                            return None;
                        }
                        continue;
                    }
                    Some(Ok(Frame::Close(_))) | None => return None,
                    Some(Err(e)) => {
                        return Some(CloseReason { code: CloseCode::Protocol, description: Some(e.to_string()) })
                    }
                    Some(Ok(_)) => {
                        last_seen = Instant::now();
                        continue;
                    }
                };
                last_seen = Instant::now();
                let reply = handle_frame(state, visitor, &text, &mut sent, &mut typed).await;
                if let Some(reply) = reply {
                    if let Err(r) = send(&mut session, reply).await {
                        return r;
                    }
                }
            }
            _ = heartbeat.tick() => {
                if last_seen.elapsed() > CLIENT_TIMEOUT {
                    return Some(CloseReason { code: CloseCode::Away, description: Some("no heartbeat".into()) });
                }
                if !matches!(tokio::time::timeout(SEND_TIMEOUT, session.ping(b"")).await, Ok(Ok(()))) {
                    return None;
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
