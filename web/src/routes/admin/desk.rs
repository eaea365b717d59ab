//! The service desk's set-up in the back office: calendars, SLA and OLA policies, support
//! groups, territories, counterparties and their sites, workflows, request types and the
//! routing rules. The rules are checked by the model (`model::workflow`, `model::desk`,
//! `model::assignment`, `model::geo`); every change is in the audit trail (recorded at the edge).

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::Admin;
use crate::{ApiResult, AppState};
use hub_actors::model::assignment::Conditions;
use hub_actors::model::desk::Targets;
use hub_actors::model::schedule::{Exception, Schedule};
use hub_actors::model::workflow::Workflow;
use hub_actors::store::desk::{GroupForm, Site};

/// A territory's GeoJSON may be a detailed border: up to 4 MiB.
pub(super) const SHAPE_LIMIT: usize = 4 * 1024 * 1024;
/// A workflow with its statuses and moves.
pub(super) const WORKFLOW_LIMIT: usize = 256 * 1024;

fn created(id: i64) -> HttpResponse {
    HttpResponse::Created().json(json!({ "id": id }))
}

pub(super) async fn setup(state: web::Data<AppState>, admin: Admin) -> ApiResult<HttpResponse> {
    let store = state.hub.store();
    let mut setup = serde_json::to_value(store.desk_setup(admin.org_id).await?)
        .map_err(|e| hub_actors::Error::Internal(e.to_string()))?;
    setup["people"] = json!(store.desk_people(admin.org_id).await?);
    setup["activities"] = json!(store.desk_activities(admin.org_id).await?);
    Ok(HttpResponse::Ok().json(setup))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DeskPersonBody {
    #[serde(default)]
    calendar_id: Option<i64>,
    #[serde(default)]
    rate_cents: Option<i64>,
    /// The request types they handle; none: every type.
    #[serde(default)]
    request_types: Vec<i64>,
}

/// An engineer's shift (a business calendar), hourly rate and the request types dispatch gives
/// them; null clears either of the first two.
pub(super) async fn set_person(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<i64>,
    body: web::Json<DeskPersonBody>,
) -> ApiResult<HttpResponse> {
    state
        .hub
        .store()
        .set_desk_person(
            admin.org_id,
            path.into_inner(),
            body.calendar_id,
            body.rate_cents,
            &body.request_types,
        )
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewActivity {
    name: String,
    #[serde(default)]
    rate_cents: Option<i64>,
}

pub(super) async fn create_activity(
    state: web::Data<AppState>,
    admin: Admin,
    body: web::Json<NewActivity>,
) -> ApiResult<HttpResponse> {
    let id = state
        .hub
        .store()
        .create_activity(admin.org_id, &body.name, body.rate_cents)
        .await?;
    Ok(created(id))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ActivityRate {
    rate_cents: Option<i64>,
}

pub(super) async fn set_activity_rate(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<i64>,
    body: web::Json<ActivityRate>,
) -> ApiResult<HttpResponse> {
    state
        .hub
        .store()
        .set_activity_rate(admin.org_id, path.into_inner(), body.rate_cents)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewCalendar {
    name: String,
    timezone: String,
    week: Schedule,
    #[serde(default)]
    exceptions: Vec<Exception>,
}

pub(super) async fn create_calendar(
    state: web::Data<AppState>,
    admin: Admin,
    body: web::Json<NewCalendar>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    let id = state
        .hub
        .store()
        .create_desk_calendar(admin.org_id, &b.name, &b.timezone, &b.week, &b.exceptions)
        .await?;
    Ok(created(id))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewPolicy {
    name: String,
    kind: String,
    #[serde(default)]
    conditions: Conditions,
    targets: Targets,
    #[serde(default)]
    calendar_id: Option<i64>,
}

pub(super) async fn create_policy(
    state: web::Data<AppState>,
    admin: Admin,
    body: web::Json<NewPolicy>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    let id = state
        .hub
        .store()
        .create_desk_policy(admin.org_id, &b.name, &b.kind, &b.conditions, &b.targets, b.calendar_id)
        .await?;
    Ok(created(id))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PolicyEdit {
    targets: Targets,
    #[serde(default)]
    calendar_id: Option<i64>,
}

/// New targets or calendar: every open request's clocks are read again under them.
pub(super) async fn edit_policy(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<i64>,
    body: web::Json<PolicyEdit>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    state
        .hub
        .store()
        .edit_desk_policy(admin.org_id, *path, &b.targets, b.calendar_id)
        .await?;
    state.hub.desk_rules_changed(admin.org_id).await?;
    Ok(HttpResponse::NoContent().finish())
}

pub(super) async fn create_group(
    state: web::Data<AppState>,
    admin: Admin,
    body: web::Json<GroupForm>,
) -> ApiResult<HttpResponse> {
    let id = state.hub.store().create_support_group(admin.org_id, &body).await?;
    Ok(created(id))
}

/// A group's name, grade, OLA, members and dispatch, changed; the requests it holds stay.
pub(super) async fn update_group(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<i64>,
    body: web::Json<GroupForm>,
) -> ApiResult<HttpResponse> {
    state
        .hub
        .store()
        .update_support_group(admin.org_id, *path, &body)
        .await?;
    state.hub.desk_rules_changed(admin.org_id).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewTerritory {
    name: String,
    /// GeoJSON: a Polygon or MultiPolygon, bare, in a Feature or a FeatureCollection.
    shape: Value,
    /// Vehicles inside go no faster than this, km/h.
    #[serde(default)]
    speed_limit_kmh: Option<f64>,
}

pub(super) async fn create_territory(
    state: web::Data<AppState>,
    admin: Admin,
    body: web::Json<NewTerritory>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    let id = state
        .hub
        .store()
        .create_territory(admin.org_id, &b.name, &b.shape, b.speed_limit_kmh)
        .await?;
    state.hub.territories_changed(admin.org_id).await;
    Ok(created(id))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewCounterparty {
    name: String,
    #[serde(default)]
    mail_domain: Option<String>,
}

pub(super) async fn create_counterparty(
    state: web::Data<AppState>,
    admin: Admin,
    body: web::Json<NewCounterparty>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    let id = state
        .hub
        .store()
        .create_counterparty(admin.org_id, &b.name, b.mail_domain.as_deref())
        .await?;
    Ok(created(id))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewSite {
    name: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    lon: Option<f64>,
    #[serde(default)]
    lat: Option<f64>,
    #[serde(default)]
    counterparty_id: Option<i64>,
    #[serde(default)]
    region_id: Option<i64>,
}

pub(super) async fn create_site(
    state: web::Data<AppState>,
    admin: Admin,
    body: web::Json<NewSite>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    let site = Site {
        id: 0,
        name: b.name,
        address: b.address,
        lon: b.lon,
        lat: b.lat,
        counterparty_id: b.counterparty_id,
        region_id: b.region_id,
    };
    let id = state.hub.store().create_site(admin.org_id, &site).await?;
    Ok(created(id))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewWorkflow {
    name: String,
    body: Workflow,
}

pub(super) async fn create_workflow(
    state: web::Data<AppState>,
    admin: Admin,
    body: web::Json<NewWorkflow>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    let id = state
        .hub
        .store()
        .create_workflow(admin.org_id, &b.name, &b.body)
        .await?;
    Ok(created(id))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct WorkflowEdit {
    body: Workflow,
}

/// A new version: requests opened from now on follow it, open ones keep theirs.
pub(super) async fn edit_workflow(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<i64>,
    body: web::Json<WorkflowEdit>,
) -> ApiResult<HttpResponse> {
    let version = state
        .hub
        .store()
        .edit_workflow(admin.org_id, *path, &body.into_inner().body)
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "id": *path, "version": version })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewRequestType {
    name: String,
    workflow_id: i64,
    #[serde(default)]
    fields: Vec<String>,
    /// What every request of the type starts with on its checklist.
    #[serde(default)]
    checklist: Vec<String>,
    /// What a request of the type is filed under.
    #[serde(default)]
    categories: Vec<String>,
}

pub(super) async fn create_request_type(
    state: web::Data<AppState>,
    admin: Admin,
    body: web::Json<NewRequestType>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    let id = state
        .hub
        .store()
        .create_request_type(
            admin.org_id,
            &b.name,
            b.workflow_id,
            &b.fields,
            &b.checklist,
            &b.categories,
        )
        .await?;
    Ok(created(id))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RuleBody {
    #[serde(default)]
    when: Conditions,
    groups: Vec<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Rules {
    rules: Vec<RuleBody>,
}

/// Replaces the routing rules, in the order given.
pub(super) async fn put_rules(
    state: web::Data<AppState>,
    admin: Admin,
    body: web::Json<Rules>,
) -> ApiResult<HttpResponse> {
    let rules: Vec<(Conditions, Vec<i64>)> = body
        .into_inner()
        .rules
        .into_iter()
        .map(|r| (r.when, r.groups))
        .collect();
    Ok(HttpResponse::Ok().json(state.hub.store().put_desk_rules(admin.org_id, &rules).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Intake {
    /// A chat queue (a mailbox's, a bot's, the web chat's).
    service_id: i64,
    /// The request type its new conversations open; null: none.
    type_id: Option<i64>,
}

pub(super) async fn set_intake(
    state: web::Data<AppState>,
    admin: Admin,
    body: web::Json<Intake>,
) -> ApiResult<HttpResponse> {
    state
        .hub
        .store()
        .set_desk_intake(admin.org_id, body.service_id, body.type_id)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
