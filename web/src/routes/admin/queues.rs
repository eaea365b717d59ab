//! Chat queues and the routing policy of any service.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::{change, json_of};
use crate::audit::record;
use crate::auth::Admin;
use crate::error::bad;
use crate::{ApiResult, AppState};
use hub_actors::{
    model::routing::{Policy, Step, Strategy},
    Error,
};
use serde_json::json;

/// A routing rule that is wrong, named by its field.
fn routing_field(e: hub_actors::model::routing::RoutingError) -> Error {
    use hub_actors::model::routing::RoutingError as R;
    match e {
        R::UnknownStrategy(_) => bad(
            "strategy",
            "one_of",
            json!({"values": "longest_idle, round_robin, fewest_active, skills"}),
        ),
        R::StepsNotWidening => bad("steps", "steps_widening", json!({})),
        R::ProficiencyRange => bad("steps", "range", json!({"min": 0, "max": 5})),
        R::Limits => bad("offer_secs", "range", json!({"min": 5, "max": 600})),
    }
}

/// The organisation's chat queues with their routing rules, as the back office edits them.
pub(super) async fn chat_queues(state: web::Data<AppState>, admin: Admin) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(state.hub.store().remote_queues(admin.org_id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ChatQueueBody {
    name: String,
    #[serde(default)]
    strategy: Option<Strategy>,
    /// Widening steps: `[{"after_secs": 0, "min_proficiency": 4}, {"after_secs": 30, "min_proficiency": 2}]`.
    #[serde(default)]
    steps: Vec<Step>,
    #[serde(default)]
    offer_secs: Option<i64>,
    #[serde(default)]
    missed_limit: Option<i64>,
    /// The key a customer's site puts in the widget's script tag; none: no widget.
    #[serde(default)]
    widget_key: Option<String>,
}

/// A queue for remote channels (chats, later calls, e-mail, Telegram) at a branch, whose working
/// hours it keeps.
pub(super) async fn add_chat_queue(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: Admin,
    path: web::Path<i64>,
    body: web::Json<ChatQueueBody>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    hub_actors::model::field::name("name", &b.name).map_err(Error::from)?;
    let strategy = b.strategy.unwrap_or(Strategy::LongestIdle);
    let offer_secs = b.offer_secs.unwrap_or(20);
    let missed = b.missed_limit.unwrap_or(3);
    Policy::checked(strategy, b.steps.clone(), offer_secs, missed).map_err(routing_field)?;
    if let Some(k) = &b.widget_key {
        if k.is_empty() || k.len() > 64 || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(bad("widget_key", "widget_key_form", json!({})).into());
        }
    }
    let steps = serde_json::to_string(&b.steps).map_err(|e| Error::Internal(e.to_string()))?;
    let q = state
        .hub
        .store()
        .add_remote_queue(
            admin.org_id,
            *path,
            b.name.trim(),
            strategy.as_str(),
            &steps,
            offer_secs,
            missed,
            b.widget_key.as_deref(),
        )
        .await?;
    tracing::info!(queue = q.id, strategy = strategy.as_str(), "chat queue added");
    record(
        &state,
        &req,
        change("chat_queue", "create", Some(q.id), None, json_of(&q)),
    )
    .await;
    Ok(HttpResponse::Created().json(q))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RoutingBody {
    strategy: Strategy,
    #[serde(default)]
    steps: Vec<Step>,
    #[serde(default)]
    offer_secs: Option<i64>,
    #[serde(default)]
    missed_limit: Option<i64>,
}

/// The routing policy of any service: a visit service's widening steps apply at call-next, a
/// remote queue's whole policy to offers.
pub(super) async fn set_routing(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: Admin,
    path: web::Path<i64>,
    body: web::Json<RoutingBody>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    let store = state.hub.store();
    if store.service_org(*path).await? != Some(admin.org_id) {
        return Err(Error::NotFound("service").into());
    }
    let (old_offer, old_missed) = store.offer_limits(*path).await?;
    let offer_secs = b.offer_secs.unwrap_or(old_offer);
    let missed = b.missed_limit.unwrap_or(old_missed);
    Policy::checked(b.strategy, b.steps.clone(), offer_secs, missed).map_err(routing_field)?;
    let steps = serde_json::to_string(&b.steps).map_err(|e| Error::Internal(e.to_string()))?;
    let before = routing_view(store, *path).await?;
    store
        .set_routing(*path, b.strategy.as_str(), &steps, offer_secs, missed)
        .await?;
    let after = routing_view(store, *path).await?;
    record(
        &state,
        &req,
        change("chat_queue", "routing", Some(*path), before, after),
    )
    .await;
    Ok(HttpResponse::NoContent().finish())
}

/// The routing policy of any service of the organisation: its strategy, widening steps and
/// offer limits, as the back office edits them.
pub(super) async fn routing(state: web::Data<AppState>, admin: Admin, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let store = state.hub.store();
    if store.service_org(*path).await? != Some(admin.org_id) {
        return Err(Error::NotFound("service").into());
    }
    let view = routing_view(store, *path).await?.ok_or(Error::NotFound("service"))?;
    Ok(HttpResponse::Ok().json(view))
}

/// A service's routing policy as the back office reads it and the audit trail keeps it.
async fn routing_view(store: &hub_actors::store::Store, service_id: i64) -> Result<Option<serde_json::Value>, Error> {
    Ok(store.policies_for(&[service_id]).await?.get(&service_id).map(|p| {
        json!({
            "strategy": p.strategy.as_str(),
            "steps": p.steps(),
            "offer_secs": p.offer_ms / 1000,
            "missed_limit": p.missed_limit,
        })
    }))
}
