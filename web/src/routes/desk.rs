//! The engineer's side of the service desk: requests listed, opened, read with every timer,
//! moved through their workflow, approved, ticked off, logged and noted; a supervisor sends one
//! up its line. Every id is looked up within the caller's organisation.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use crate::auth::{Operator, Supervisor};
use crate::{ApiResult, AppState};
use hub_actors::model::field;
use hub_actors::store::requests::{MoveRequest, NewRequest, NewWorkLog};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/desk/requests", web::get().to(list))
        .route("/api/desk/requests", web::post().to(create))
        .route("/api/desk/requests/{id}", web::get().to(card))
        .route("/api/desk/requests/{id}/move", web::post().to(move_to))
        .route("/api/desk/requests/{id}/approve", web::post().to(approve))
        .route("/api/desk/requests/{id}/checklist", web::post().to(checklist))
        .route("/api/desk/requests/{id}/work-logs", web::post().to(work_log))
        .route("/api/desk/requests/{id}/notes", web::post().to(note))
        .route("/api/desk/requests/{id}/escalate", web::post().to(escalate))
        .route("/api/desk/requests/{id}/assign", web::post().to(assign));
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    /// Closed ones too.
    #[serde(default)]
    all: bool,
}

async fn list(state: web::Data<AppState>, op: Operator, q: web::Query<ListQuery>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(state.hub.store().requests(op.org_id, !q.all, 500).await?))
}

async fn create(state: web::Data<AppState>, op: Operator, body: web::Json<NewRequest>) -> ApiResult<HttpResponse> {
    let r = state.hub.create_request(op.org_id, &body, Some(op.user_id)).await?;
    Ok(HttpResponse::Created().json(r))
}

/// The request's card: its row, history, every timer, the moves the caller may make, the work
/// log.
async fn card(state: web::Data<AppState>, op: Operator, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let store = state.hub.store();
    let r = store.request(op.org_id, *path).await?;
    let facts = store.clock_facts(r.id).await?;
    let flow = store.workflow_version(r.workflow_version_id).await?;
    let moves: Vec<_> = flow
        .moves_from(&r.status, op.role)
        .map(|t| json!({ "to": t.to, "requires": t.requires }))
        .collect();
    let events: Vec<_> = store
        .request_events(r.id)
        .await?
        .into_iter()
        .map(|e| json!({ "id": e.id, "at": e.at, "kind": e.kind, "data": e.data(), "by_user": e.by_user }))
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "request": r,
        "statuses": flow.statuses,
        "moves": moves,
        "timers": facts.timers(),
        "spent": facts.spent(),
        "events": events,
        "work_logs": store.work_logs(r.id).await?,
    })))
}

async fn move_to(
    state: web::Data<AppState>,
    op: Operator,
    path: web::Path<i64>,
    body: web::Json<MoveRequest>,
) -> ApiResult<HttpResponse> {
    let r = state
        .hub
        .move_request(op.org_id, *path, &body, op.user_id, op.role)
        .await?;
    Ok(HttpResponse::Ok().json(r))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Approval {
    /// The status the approved move leads to.
    status: String,
}

async fn approve(
    state: web::Data<AppState>,
    op: Operator,
    path: web::Path<i64>,
    body: web::Json<Approval>,
) -> ApiResult<HttpResponse> {
    state
        .hub
        .store()
        .approve_request(op.org_id, *path, &body.status, op.user_id)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Tick {
    index: usize,
    done: bool,
}

async fn checklist(
    state: web::Data<AppState>,
    op: Operator,
    path: web::Path<i64>,
    body: web::Json<Tick>,
) -> ApiResult<HttpResponse> {
    state
        .hub
        .store()
        .set_checklist_item(op.org_id, *path, body.index, body.done, op.user_id)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn work_log(
    state: web::Data<AppState>,
    op: Operator,
    path: web::Path<i64>,
    body: web::Json<NewWorkLog>,
) -> ApiResult<HttpResponse> {
    let log = state
        .hub
        .store()
        .add_work_log(op.org_id, *path, &body, op.user_id)
        .await?;
    Ok(HttpResponse::Created().json(log))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Note {
    text: String,
}

/// A private note: staff only, never sent to the customer, and no answer for the clocks.
async fn note(
    state: web::Data<AppState>,
    op: Operator,
    path: web::Path<i64>,
    body: web::Json<Note>,
) -> ApiResult<HttpResponse> {
    field::text("text", &body.text, 5000, true).map_err(hub_actors::Error::from)?;
    state
        .hub
        .request_note(
            op.org_id,
            *path,
            "comment",
            json!({ "text": body.text.trim(), "private": true }),
            Some(op.user_id),
        )
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn escalate(state: web::Data<AppState>, sup: Supervisor, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let r = state.hub.escalate_request(sup.org_id, *path, sup.user_id).await?;
    Ok(HttpResponse::Ok().json(r))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Assign {
    /// The engineer; null: nobody.
    user_id: Option<i64>,
}

async fn assign(
    state: web::Data<AppState>,
    op: Operator,
    path: web::Path<i64>,
    body: web::Json<Assign>,
) -> ApiResult<HttpResponse> {
    let r = state
        .hub
        .assign_request(op.org_id, *path, body.user_id, op.user_id, op.role)
        .await?;
    Ok(HttpResponse::Ok().json(r))
}
