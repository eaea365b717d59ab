//! Contact cards (view, edit, merge) and canned responses.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use crate::auth::Operator;
use crate::error::bad;
use crate::{ApiResult, AppState};
use hub_actors::{
    model::{message, role::Role},
    store::ContactPatch,
    Error,
};
use serde_json::json;

async fn card(state: web::Data<AppState>, op: Operator, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(state.hub.store().contact_card(op.org_id, *path).await?))
}

const FIELD_LIMIT: usize = 500;

async fn patch(
    state: web::Data<AppState>,
    op: Operator,
    path: web::Path<i64>,
    body: web::Json<ContactPatch>,
) -> ApiResult<HttpResponse> {
    let p = body.into_inner();
    for (field, v) in [("name", &p.name), ("email", &p.email), ("phone", &p.phone)] {
        let Some(v) = v else { continue };
        if v.chars().count() > FIELD_LIMIT {
            return Err(bad(field, "too_long", json!({ "max": FIELD_LIMIT })).into());
        }
    }
    if p.note.as_ref().is_some_and(|n| n.chars().count() > 4 * FIELD_LIMIT) {
        return Err(bad("note", "too_long", json!({ "max": 4 * FIELD_LIMIT })).into());
    }
    if let Some(e) = p.email.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
        if !message::looks_like_email(e) {
            return Err(bad("email", "email_form", json!({ "address": e })).into());
        }
    }
    Ok(HttpResponse::Ok().json(state.hub.store().update_contact(op.org_id, *path, &p).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Merge {
    other_id: i64,
}

async fn merge(
    state: web::Data<AppState>,
    op: Operator,
    path: web::Path<i64>,
    body: web::Json<Merge>,
) -> ApiResult<HttpResponse> {
    let card = state
        .hub
        .store()
        .merge_contacts(op.org_id, *path, body.other_id)
        .await?;
    tracing::info!(
        keep = card.id,
        merged = body.other_id,
        operator = op.user_id,
        "contacts merged"
    );
    Ok(HttpResponse::Ok().json(card))
}

async fn canned(state: web::Data<AppState>, op: Operator) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(state.hub.store().canned(op.org_id, op.user_id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewCanned {
    shortcut: String,
    title: String,
    body: String,
    #[serde(default)]
    personal: bool,
}

async fn add_canned(state: web::Data<AppState>, op: Operator, body: web::Json<NewCanned>) -> ApiResult<HttpResponse> {
    let c = body.into_inner();
    let shortcut = message::shortcut(&c.shortcut).map_err(|e| {
        let (reason, args) = e.reason();
        bad("shortcut", reason, args)
    })?;
    let shortcut = shortcut.as_str();
    if c.body.trim().is_empty() {
        return Err(bad("body", "required", json!({})).into());
    }
    if c.body.chars().count() > message::MESSAGE_LIMIT {
        return Err(bad("body", "too_long", json!({ "max": message::MESSAGE_LIMIT })).into());
    }
    if c.title.chars().count() > 200 {
        return Err(bad("title", "too_long", json!({ "max": 200 })).into());
    }
    // Shared responses are the organisation's voice: supervisors write them.
    if !c.personal && !op.role.at_least(Role::Supervisor) {
        return Err(Error::Forbidden.into());
    }
    let owner = c.personal.then_some(op.user_id);
    let row = state
        .hub
        .store()
        .add_canned(op.org_id, owner, shortcut, c.title.trim(), &c.body)
        .await?;
    Ok(HttpResponse::Created().json(row))
}

async fn delete_canned(state: web::Data<AppState>, op: Operator, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    state
        .hub
        .store()
        .delete_canned(op.org_id, op.user_id, op.role.at_least(Role::Supervisor), *path)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/contacts/{id}", web::get().to(card))
        .route("/api/contacts/{id}", web::patch().to(patch))
        .route("/api/contacts/{id}/merge", web::post().to(merge))
        .route("/api/canned", web::get().to(canned))
        .route("/api/canned", web::post().to(add_canned))
        .route("/api/canned/{id}", web::delete().to(delete_canned));
}
