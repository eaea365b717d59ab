//! The organisation's webhooks: endpoints that hear of its requests (created, moved, alarms),
//! each with its signing secret (shown once, when made), and what each was sent.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use crate::auth::Admin;
use crate::{ApiResult, AppState};
use hub_actors::model::field::FieldError;
use hub_actors::model::webhook;

/// An address the installation's egress rule refuses is refused when saved, so the admin hears
/// at once; a name is checked on what it resolves to each time a delivery is sent.
fn check_url(state: &AppState, url: &str) -> ApiResult<()> {
    webhook::endpoint(url).map_err(hub_actors::Error::from)?;
    if hub_channels::egress::refuses_url(&state.egress, url.trim()) {
        return Err(hub_actors::Error::from(FieldError::new("url", "internal_address", json!({}))).into());
    }
    Ok(())
}

pub(super) async fn list(state: web::Data<AppState>, admin: Admin) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(state.hub.store().webhooks(admin.org_id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewWebhook {
    url: String,
    events: Vec<String>,
}

pub(super) async fn create(
    state: web::Data<AppState>,
    admin: Admin,
    body: web::Json<NewWebhook>,
) -> ApiResult<HttpResponse> {
    check_url(&state, &body.url)?;
    let (id, secret) = state
        .hub
        .store()
        .create_webhook(admin.org_id, body.url.trim(), &body.events)
        .await?;
    Ok(HttpResponse::Created().json(json!({ "id": id, "secret": secret })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EditWebhook {
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    events: Option<Vec<String>>,
    #[serde(default)]
    active: Option<bool>,
}

pub(super) async fn edit(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<i64>,
    body: web::Json<EditWebhook>,
) -> ApiResult<HttpResponse> {
    if let Some(u) = &body.url {
        check_url(&state, u)?;
    }
    state
        .hub
        .store()
        .edit_webhook(
            admin.org_id,
            path.into_inner(),
            body.url.as_deref().map(str::trim),
            body.events.as_deref(),
            body.active,
        )
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

pub(super) async fn remove(state: web::Data<AppState>, admin: Admin, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    state
        .hub
        .store()
        .delete_webhook(admin.org_id, path.into_inner())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

pub(super) async fn deliveries(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(
        state
            .hub
            .store()
            .webhook_deliveries(admin.org_id, path.into_inner(), 100)
            .await?,
    ))
}

pub(super) async fn redeliver(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(i64, i64)>,
) -> ApiResult<HttpResponse> {
    let (webhook_id, delivery_id) = path.into_inner();
    state
        .hub
        .store()
        .redeliver(admin.org_id, webhook_id, delivery_id)
        .await?;
    Ok(HttpResponse::Accepted().finish())
}
