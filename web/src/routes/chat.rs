//! The web-chat widget's HTTP side (the live side is `/ws/chat`): start or resume as a visitor,
//! leave an e-mail address when nobody can answer now, rate a closed conversation, and
//! attachments for visitors and operators.
//!
//! A visitor is identified by a random token kept in the widget's storage, sent as a bearer
//! token (or `?token=` on downloads); only its hash is stored. A visitor reaches only their own
//! conversations and attachments.

use actix_web::{http::header, web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use crate::auth::Operator;
use crate::error::bad;
use crate::{ApiError, ApiResult, AppState};
use hub_actors::{
    actors::ticket::{Apply, Change},
    ask,
    model::{attachment, message, now_millis},
    store::{Attachment, RemoteQueue, Visitor},
    Error,
};
use hub_channels::email::store::MailStore;
use hub_channels::telegram::store::BotStore;
use hub_channels::webchat::VisitorConversation;
use serde_json::json;

/// The visitor of the request: bearer token, or `?token=` (links to attachments).
pub async fn visitor(state: &AppState, req: &HttpRequest) -> ApiResult<Visitor> {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_string())
        .or_else(|| {
            web::Query::<crate::auth::TokenQuery>::from_query(req.query_string())
                .ok()
                .and_then(|q| q.0.token)
        })
        .ok_or(Error::Unauthenticated)?;
    Ok(state.hub.store().visitor(&token).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Start {
    key: String,
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    lang: Option<String>,
}

#[derive(Serialize)]
pub struct ServiceState {
    pub name: String,
    pub open: bool,
    pub operators_available: bool,
    /// When a message left now will be answered, at the latest: the next opening after hours.
    pub answer_by: Option<i64>,
    /// Estimated wait for a conversation starting now (None: nobody serving, so unknown).
    pub ewt_secs: Option<i64>,
}

#[derive(Serialize)]
struct Started<'a> {
    token: String,
    conversation: Option<VisitorConversation<'a>>,
    service: ServiceState,
    contact: ContactFields,
    /// The visitor may go on in Telegram (POST /api/chat/telegram gives the link).
    telegram: bool,
}

#[derive(Serialize)]
struct ContactFields {
    name: Option<String>,
    email: Option<String>,
}

pub async fn service_state(state: &AppState, queue: &RemoteQueue) -> ApiResult<ServiceState> {
    let store = state.hub.store();
    let branch = store.branch(queue.org_id, queue.branch_id).await?;
    let open = branch.is_open_now();
    let operators_available = open && store.operators_available_for(queue.org_id, queue.id).await?;
    let answer_by = if open { None } else { branch.next_open() };
    let ewt_secs = queue_ewt(state, queue.org_id, queue.id).await?;
    Ok(ServiceState {
        name: queue.name.clone(),
        ewt_secs,
        open,
        operators_available,
        answer_by,
    })
}

/// The queue's estimated wait now, from recent handling times and the operators serving it.
pub async fn queue_ewt(state: &AppState, org_id: i64, service_id: i64) -> ApiResult<Option<i64>> {
    Ok(state
        .hub
        .store()
        .queue_figures(org_id, now_millis())
        .await?
        .into_iter()
        .find(|q| q.service_id == service_id)
        .and_then(|q| q.ewt_secs))
}

async fn start(state: web::Data<AppState>, req: HttpRequest, body: web::Json<Start>) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    let store = state.hub.store();
    let queue = store.widget_queue(&b.key).await?;
    let _ = b.lang;
    // A token of another widget (another queue or organisation), or an unknown one, starts a
    // new visitor.
    let known = match b.token.as_deref().filter(|t| !t.is_empty() && t.len() <= 128) {
        Some(t) => match store.visitor(t).await {
            Ok(v) if v.org_id == queue.org_id && v.service_id == queue.id => Some((v, t.to_string())),
            Ok(_) | Err(Error::Unauthenticated) => None,
            Err(e) => return Err(e.into()),
        },
        None => None,
    };
    let (visitor, token) = match known {
        Some(k) => k,
        None => {
            state.anonymous_hit(&req)?;
            let (v, t) = store.new_visitor(&queue, now_millis()).await?;
            tracing::info!(visitor = v.id, queue = queue.id, "new web-chat visitor");
            (v, t)
        }
    };
    let conversation = store
        .latest_conversation_for(visitor.org_id, "webchat", &visitor.thread_key())
        .await?;
    let card = store.contact_card(visitor.org_id, visitor.contact_id).await?;
    Ok(HttpResponse::Ok().json(Started {
        token,
        conversation: conversation.as_ref().map(VisitorConversation::of),
        service: service_state(&state, &queue).await?,
        contact: ContactFields {
            name: Some(card.name).filter(|_| card.identities.iter().any(|i| i.kind != "web")),
            email: card.email,
        },
        telegram: store.handoff_bot(visitor.org_id, visitor.service_id).await?.is_some(),
    }))
}

/// A link that opens the organisation's Telegram bot and carries this visitor's conversation
/// over: the bot's /start takes the one-time code, joins the cards and moves an open chat.
async fn telegram_handoff(state: web::Data<AppState>, req: HttpRequest) -> ApiResult<HttpResponse> {
    let v = visitor(&state, &req).await?;
    let (username, code) = state
        .hub
        .store()
        .create_handoff(&v, now_millis())
        .await?
        .ok_or(Error::NotFound("Telegram bot"))?;
    tracing::info!(visitor = v.id, "web-chat hand-off to Telegram offered");
    Ok(HttpResponse::Ok().json(serde_json::json!({ "url": format!("https://t.me/{username}?start=w{code}") })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LeaveContact {
    email: String,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Serialize)]
struct Promise {
    answer_by: Option<i64>,
    /// A code was sent to the address: the answers go there once the visitor enters it.
    confirm: bool,
}

/// Nobody can answer now: the visitor leaves an address; the answer is promised by the next
/// opening (or within the working day when open but everyone is busy). When the organisation
/// answers by mail, the address is used only once confirmed: a code is mailed to it first, so
/// nobody can have the organisation write to a stranger (and read the stranger's answers).
async fn leave_contact(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<LeaveContact>,
) -> ApiResult<HttpResponse> {
    let v = visitor(&state, &req).await?;
    let b = body.into_inner();
    let email = b.email.trim();
    if !message::looks_like_email(email) {
        return Err(bad("email", "email_form", json!({ "address": email })).into());
    }
    if b.name.as_ref().is_some_and(|n| n.chars().count() > 200) {
        return Err(bad("name", "too_long", json!({"max": 200})).into());
    }
    let store = state.hub.store();
    let name = b.name.clone().filter(|n| !n.trim().is_empty());
    let started = store
        .start_confirmation(&v, email, name.as_deref(), now_millis())
        .await?;
    let confirm = match started {
        Some((mailbox_id, code, id)) => {
            let lang = store.mailbox(mailbox_id).await?.lang;
            let payload = serde_json::json!({
                "to": email,
                "mailbox_id": mailbox_id,
                "subject": hub_channels::email::texts::confirm_subject(&lang),
                "text": hub_channels::email::texts::confirm_code(&lang, &code),
            });
            store
                .enqueue_notice(
                    v.org_id,
                    "email",
                    &format!("confirm:{}", v.id),
                    &payload.to_string(),
                    &format!("confirm:{id}"),
                    now_millis(),
                )
                .await?;
            if let Some(e) = &state.email {
                e.chat_routed();
            }
            if name.is_some() {
                store
                    .update_contact(
                        v.org_id,
                        v.contact_id,
                        &hub_actors::store::ContactPatch {
                            name: name.clone(),
                            email: None,
                            phone: None,
                            note: None,
                        },
                    )
                    .await?;
            }
            true
        }
        None => {
            // No mailbox: nothing is ever mailed; the address is a note on the card.
            save_contact(&state, &v, email, name.as_deref()).await?;
            false
        }
    };
    let queue = store.remote_queue(v.org_id, v.service_id).await?;
    let s = service_state(&state, &queue).await?;
    // Closed: by the next opening. Open but nobody free: within the working hours the model
    // promises, on the branch's clock (a promise made just before closing runs on next morning).
    let answer_by = match s.answer_by {
        Some(at) => Some(at),
        None => store
            .branch(queue.org_id, queue.branch_id)
            .await?
            .after_working(hub_actors::model::eta::ANSWER_WITHIN_WORKING_MS),
    };
    Ok(HttpResponse::Ok().json(Promise { answer_by, confirm }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfirmContact {
    code: String,
}

/// The code the visitor was mailed: the address joins their card, and the chat's answers go
/// there from now on (and mail from it comes back into the chat).
async fn confirm_contact(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<ConfirmContact>,
) -> ApiResult<HttpResponse> {
    let v = visitor(&state, &req).await?;
    let (address, name) = state.hub.store().confirm_address(&v, &body.code, now_millis()).await?;
    save_contact(&state, &v, &address, name.as_deref()).await?;
    let routed = state
        .hub
        .store()
        .route_chat_by_email(
            v.org_id,
            v.contact_id,
            &v.thread_key(),
            &address,
            name.as_deref(),
            now_millis(),
        )
        .await?;
    if routed {
        if let Some(e) = &state.email {
            e.chat_routed();
        }
    }
    tracing::info!(visitor = v.id, "a visitor's e-mail address confirmed");
    Ok(HttpResponse::Ok().json(serde_json::json!({ "confirmed": true, "email": address })))
}

/// Puts the address (and name) on the visitor's card.
async fn save_contact(state: &AppState, v: &Visitor, email: &str, name: Option<&str>) -> ApiResult<()> {
    state
        .hub
        .store()
        .update_contact(
            v.org_id,
            v.contact_id,
            &hub_actors::store::ContactPatch {
                name: name.map(str::to_string).filter(|n| !n.trim().is_empty()),
                email: Some(email.to_string()),
                phone: None,
                note: None,
            },
        )
        .await?;
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Rating {
    conversation_id: i64,
    score: i64,
    #[serde(default)]
    comment: Option<String>,
}

async fn rate(state: web::Data<AppState>, req: HttpRequest, body: web::Json<Rating>) -> ApiResult<HttpResponse> {
    let v = visitor(&state, &req).await?;
    let b = body.into_inner();
    if b.comment.as_ref().is_some_and(|c| c.chars().count() > 2000) {
        return Err(bad("comment", "too_long", json!({"max": 2000})).into());
    }
    // Only the visitor's own conversation: another's id reads as unknown.
    let c = state.hub.store().conversation(v.org_id, b.conversation_id).await?;
    if c.row.thread_key != v.thread_key() {
        return Err(Error::NotFound("conversation").into());
    }
    ask(
        &state.hub.ticket(c.row.id),
        Apply {
            org_id: v.org_id,
            change: Change::Rate {
                contact_id: c.row.contact_id,
                score: b.score,
                comment: b.comment.filter(|c| !c.trim().is_empty()),
            },
        },
    )
    .await?;
    tracing::info!(conversation = c.row.id, score = b.score, "rated");
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
struct NameQuery {
    name: Option<String>,
}

/// Reads an upload, refusing it as soon as it passes the limit (not after reading it all).
async fn read_upload(mut payload: web::Payload) -> ApiResult<Vec<u8>> {
    let mut data = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::BadJson(format!("upload interrupted: {e}")))?;
        if data.len() + chunk.len() > attachment::MAX_BYTES {
            return Err(ApiError::TooLarge(attachment::MAX_BYTES));
        }
        data.extend_from_slice(&chunk);
    }
    Ok(data)
}

/// Uploaded files not yet sent in a message, per uploader.
const UNSENT_LIMIT: i64 = 20;

#[derive(Serialize)]
struct Uploaded {
    id: i64,
    name: String,
    mime: String,
    size: usize,
}

async fn store_upload(
    state: &AppState,
    req: &HttpRequest,
    org_id: i64,
    owner: String,
    name: Option<String>,
    data: Vec<u8>,
) -> ApiResult<HttpResponse> {
    // Files uploaded but not (yet) sent are capped per uploader, so nobody can fill the store.
    if state.hub.store().unsent_attachments(org_id, &owner).await? >= UNSENT_LIMIT {
        return Err(bad("file", "unsent_files", json!({ "max": UNSENT_LIMIT })).into());
    }
    let mime = attachment::classify(&data).map_err(|e| match e {
        attachment::AttachmentError::TooLarge => ApiError::TooLarge(attachment::MAX_BYTES),
        other => ApiError::Core(Error::Attachment(other)),
    })?;
    let name = attachment::clean_name(name.as_deref().unwrap_or("file"));
    let size = data.len();
    // And by the bytes a client address and the organisation hold unsent (they expire).
    let source = req.peer_addr().map(|a| a.ip().to_string()).unwrap_or_default();
    let id = state
        .hub
        .store()
        .add_upload(
            Attachment {
                org_id,
                owner,
                conversation_id: None,
                name: name.clone(),
                mime: mime.to_string(),
                data,
            },
            &source,
            state.upload_caps,
            now_millis(),
        )
        .await?;
    Ok(HttpResponse::Created().json(Uploaded {
        id,
        name,
        mime: mime.to_string(),
        size,
    }))
}

async fn visitor_upload(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<NameQuery>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let v = visitor(&state, &req).await?;
    let data = read_upload(payload).await?;
    store_upload(&state, &req, v.org_id, v.thread_key(), q.into_inner().name, data).await
}

async fn operator_upload(
    state: web::Data<AppState>,
    req: HttpRequest,
    op: Operator,
    q: web::Query<NameQuery>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let data = read_upload(payload).await?;
    store_upload(
        &state,
        &req,
        op.org_id,
        format!("user:{}", op.user_id),
        q.into_inner().name,
        data,
    )
    .await
}

fn download(name: String, mime: String, data: Vec<u8>) -> HttpResponse {
    // Images may show inline; everything else downloads. Nothing is ever sniffed into HTML.
    let disposition = if mime.starts_with("image/") {
        "inline"
    } else {
        "attachment"
    };
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, mime))
        .insert_header((
            header::CONTENT_DISPOSITION,
            hub_actors::model::attachment::content_disposition(disposition, &name),
        ))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CONTENT_SECURITY_POLICY, "default-src 'none'; sandbox"))
        .insert_header((header::CACHE_CONTROL, "private, max-age=3600"))
        .body(data)
}

async fn visitor_download(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let v = visitor(&state, &req).await?;
    let (name, mime, data) = state.hub.store().attachment(v.org_id, *path, Some(&v)).await?;
    Ok(download(name, mime, data))
}

async fn operator_download(state: web::Data<AppState>, op: Operator, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let (name, mime, data) = state.hub.store().attachment(op.org_id, *path, None).await?;
    Ok(download(name, mime, data))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/chat/start", web::post().to(start))
        .route("/api/chat/contact", web::post().to(leave_contact))
        .route("/api/chat/contact/confirm", web::post().to(confirm_contact))
        .route("/api/chat/rating", web::post().to(rate))
        .route("/api/chat/telegram", web::post().to(telegram_handoff))
        .route("/api/chat/attachments", web::post().to(visitor_upload))
        .route("/api/chat/attachments/{id}", web::get().to(visitor_download))
        .route("/api/attachments", web::post().to(operator_upload))
        .route("/api/attachments/{id}", web::get().to(operator_download));
}
