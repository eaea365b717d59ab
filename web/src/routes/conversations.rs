//! The operator's side of conversations: the list, a thread with its contact card and
//! timeline, accept or decline an offer, reply, typing, transfer, close, and a supervisor's
//! manual assignment. Every change goes through the conversation's actor.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use crate::auth::{Operator, Supervisor};
use crate::error::bad;
use crate::{ApiResult, AppState};
use hub_actors::{
    actors::ticket::{Apply, Change, Post, Typing},
    ask,
    model::{message, role::Role},
    store::{Author, ContactCard, Conversation, Message, TimelineEntry, TransferTo},
    Error,
};
use serde_json::json;

#[derive(Serialize)]
struct Lists {
    mine: Vec<Conversation>,
    offers: Vec<Conversation>,
    queued: Vec<Conversation>,
    /// Supervisors: every open conversation of the organisation.
    #[serde(skip_serializing_if = "Option::is_none")]
    open: Option<Vec<Conversation>>,
}

fn is_supervisor(role: Role) -> bool {
    role.at_least(Role::Supervisor)
}

async fn list(state: web::Data<AppState>, op: Operator) -> ApiResult<HttpResponse> {
    let store = state.hub.store();
    let skilled = (!is_supervisor(op.role)).then_some(op.user_id);
    Ok(HttpResponse::Ok().json(Lists {
        mine: store.conversations_of(op.org_id, op.user_id).await?,
        offers: store.offers_to(op.org_id, op.user_id).await?,
        queued: store.queued(op.org_id, skilled).await?,
        open: match is_supervisor(op.role) {
            true => Some(store.open_conversations(op.org_id).await?),
            false => None,
        },
    }))
}

#[derive(Serialize)]
struct Thread {
    conversation: Conversation,
    messages: Vec<Message>,
    timeline: Vec<TimelineEntry>,
    contact: ContactCard,
}

/// Messages shown when a thread opens: the latest ones.
const THREAD_PAGE: i64 = 500;

async fn one(state: web::Data<AppState>, op: Operator, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let store = state.hub.store();
    let conversation = store.conversation(op.org_id, *path).await?;
    let messages = store.latest_messages(conversation.row.id, 0, THREAD_PAGE).await?;
    let timeline = store.timeline(conversation.row.id).await?;
    let contact = store.contact_card(op.org_id, conversation.row.contact_id).await?;
    Ok(HttpResponse::Ok().json(Thread {
        conversation,
        messages,
        timeline,
        contact,
    }))
}

async fn apply(state: &AppState, org_id: i64, id: i64, change: Change) -> ApiResult<Conversation> {
    Ok(ask(&state.hub.ticket(id), Apply { org_id, change }).await?)
}

async fn accept(state: web::Data<AppState>, op: Operator, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let c = apply(&state, op.org_id, *path, Change::Accept { operator: op.user_id }).await?;
    tracing::info!(conversation = c.row.id, operator = op.user_id, "accepted");
    Ok(HttpResponse::Ok().json(c))
}

async fn decline(state: web::Data<AppState>, op: Operator, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    apply(&state, op.org_id, *path, Change::Decline { operator: op.user_id }).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reply {
    pub client_id: Option<String>,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub attachment_ids: Vec<i64>,
}

async fn reply(
    state: web::Data<AppState>,
    op: Operator,
    path: web::Path<i64>,
    body: web::Json<Reply>,
) -> ApiResult<HttpResponse> {
    let r = body.into_inner();
    message::check(&r.body, r.client_id.as_deref(), &r.attachment_ids).map_err(Error::from)?;
    let (message, new) = ask(
        &state.hub.ticket(*path),
        Post {
            org_id: op.org_id,
            author: Author::Operator(op.user_id),
            owner: format!("user:{}", op.user_id),
            body: r.body,
            client_id: r.client_id,
            attachment_ids: r.attachment_ids,
        },
    )
    .await?;
    if new {
        state
            .metrics
            .messages_out
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    Ok(HttpResponse::Ok().json(message))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Read {
    up_to: i64,
}

async fn read(
    state: web::Data<AppState>,
    op: Operator,
    path: web::Path<i64>,
    body: web::Json<Read>,
) -> ApiResult<HttpResponse> {
    let c = state.hub.store().conversation_head(op.org_id, *path).await?;
    // Unread counts are the holder's: another operator looking in does not clear them.
    if c.assignee_id != Some(op.user_id) && !is_supervisor(op.role) {
        return Err(Error::Conflict("only the operator holding this conversation marks it read".into()).into());
    }
    state.hub.store().mark_read(c.id, body.up_to).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn typing(state: web::Data<AppState>, op: Operator, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    ask(
        &state.hub.ticket(*path),
        Typing {
            org_id: op.org_id,
            author: Author::Operator(op.user_id),
        },
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

const NOTE_LIMIT: usize = 2000;

fn check_note(note: &Option<String>, what: &'static str) -> Result<Option<String>, Error> {
    match note.as_deref().map(str::trim) {
        Some(n) if n.chars().count() > NOTE_LIMIT => Err(bad(what, "too_long", json!({ "max": NOTE_LIMIT }))),
        Some("") | None => Ok(None),
        Some(n) => Ok(Some(n.to_string())),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TransferBody {
    operator_id: Option<i64>,
    service_id: Option<i64>,
    note: Option<String>,
}

async fn transfer(
    state: web::Data<AppState>,
    op: Operator,
    path: web::Path<i64>,
    body: web::Json<TransferBody>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    let to = match (b.operator_id, b.service_id) {
        (Some(o), None) if o == op.user_id => return Err(bad("operator_id", "transfer_to_self", json!({})).into()),
        (Some(o), None) => TransferTo::Operator(o),
        (None, Some(s)) => TransferTo::Queue(s),
        _ => return Err(bad("operator_id", "transfer_target", json!({})).into()),
    };
    let note = check_note(&b.note, "note")?;
    apply(
        &state,
        op.org_id,
        *path,
        Change::Transfer {
            from: op.user_id,
            to,
            note,
        },
    )
    .await?;
    tracing::info!(conversation = *path, operator = op.user_id, "transferred");
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CloseBody {
    resolution: Option<String>,
}

async fn close(
    state: web::Data<AppState>,
    op: Operator,
    path: web::Path<i64>,
    body: web::Json<CloseBody>,
) -> ApiResult<HttpResponse> {
    let resolution = check_note(&body.resolution, "resolution")?;
    let c = apply(
        &state,
        op.org_id,
        *path,
        Change::Close {
            operator: op.user_id,
            resolution,
        },
    )
    .await?;
    tracing::info!(conversation = c.row.id, operator = op.user_id, "closed");
    Ok(HttpResponse::Ok().json(c))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AssignBody {
    operator_id: i64,
}

async fn assign(
    state: web::Data<AppState>,
    sup: Supervisor,
    path: web::Path<i64>,
    body: web::Json<AssignBody>,
) -> ApiResult<HttpResponse> {
    let c = apply(
        &state,
        sup.org_id,
        *path,
        Change::Assign {
            operator: body.operator_id,
            by: sup.user_id,
        },
    )
    .await?;
    tracing::info!(
        conversation = c.row.id,
        operator = body.operator_id,
        by = sup.user_id,
        "assigned"
    );
    Ok(HttpResponse::Ok().json(c))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/conversations", web::get().to(list))
        .route("/api/conversations/{id}", web::get().to(one))
        .route("/api/conversations/{id}/accept", web::post().to(accept))
        .route("/api/conversations/{id}/decline", web::post().to(decline))
        .route("/api/conversations/{id}/messages", web::post().to(reply))
        .route("/api/conversations/{id}/read", web::post().to(read))
        .route("/api/conversations/{id}/typing", web::post().to(typing))
        .route("/api/conversations/{id}/transfer", web::post().to(transfer))
        .route("/api/conversations/{id}/close", web::post().to(close))
        .route("/api/conversations/{id}/assign", web::post().to(assign));
}
