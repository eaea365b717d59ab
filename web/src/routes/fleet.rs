//! Vehicles: trackers reporting over HTTP (OsmAnd, Traccar Client), the back office's vehicles
//! and tracker devices, and the supervisors' map (positions, tracks, alerts).

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use hub_actors::model::field::FieldError;
use hub_actors::model::fleet::simplify;
use hub_actors::model::geo::Point;
use hub_actors::model::now_millis;
use hub_actors::store::fleet::{SensorRow, VehicleIn};
use hub_channels::trackers::store::DeviceStore;

use crate::auth::{Admin, Supervisor};
use crate::{ApiError, ApiResult, AppState};

/// A report of Traccar Client's batch of positions stays far below this.
const REPORT_LIMIT: usize = 256 * 1024;

/// A track shown on the map keeps the bends that are this far off a straight line, metres.
const TRACK_TOLERANCE_M: f64 = 5.0;

/// The longest stretch of track asked for at once.
const TRACK_SPAN_MS: i64 = 7 * 24 * 3_600_000;

/// OsmAnd's and Traccar Client's report: the query string (GET or POST), a form body, or
/// Traccar Client 9's JSON body. 200 once stored; 400 for an unknown device or a report that
/// cannot be read (as Traccar answers).
async fn osmand(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> ApiResult<HttpResponse> {
    let Some(t) = state.trackers.as_ref().filter(|t| t.osmand_enabled()) else {
        return Err(ApiError::NoRoute);
    };
    let content = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let text = std::str::from_utf8(&body)
        .map_err(|_| hub_channels::trackers::TrackerError::Malformed("the body is not UTF-8".into()))?;
    let res = if content.starts_with("application/json")
        || (text.trim_start().starts_with('{') && req.query_string().is_empty())
    {
        t.osmand("", Some(text)).await
    } else if !text.trim().is_empty() && req.query_string().is_empty() {
        t.osmand(text, None).await
    } else {
        t.osmand(req.query_string(), None).await
    };
    match res {
        Ok(_) => Ok(HttpResponse::Ok().finish()),
        Err(e) => {
            let peer = req.peer_addr().map(|a| a.ip().to_string()).unwrap_or_default();
            tracing::debug!(peer, error = %e, "osmand report refused");
            Err(e.into())
        }
    }
}

async fn vehicles(state: web::Data<AppState>, admin: Admin) -> ApiResult<HttpResponse> {
    let store = state.hub.store();
    Ok(HttpResponse::Ok().json(json!({
        "vehicles": store.vehicles(admin.org_id).await?,
        "devices": store.tracker_devices(admin.org_id).await?,
        "sensors": store.sensors(admin.org_id).await?,
        "listeners": state.trackers.as_ref().map(|t| t.listeners()),
    })))
}

async fn create_vehicle(
    state: web::Data<AppState>,
    admin: Admin,
    body: web::Json<VehicleIn>,
) -> ApiResult<HttpResponse> {
    let v = state.hub.create_vehicle(admin.org_id, &body).await?;
    Ok(HttpResponse::Created().json(v))
}

async fn edit_vehicle(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<i64>,
    body: web::Json<VehicleIn>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(state.hub.edit_vehicle(admin.org_id, *path, &body).await?))
}

async fn remove_vehicle(state: web::Data<AppState>, admin: Admin, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    state.hub.remove_vehicle(admin.org_id, *path).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A number the form sent, which a person may have typed as anything: refused by its field.
fn number(field: &'static str, v: &serde_json::Value) -> Result<f64, hub_actors::Error> {
    v.as_f64()
        .or_else(|| v.as_str().and_then(|s| s.trim().replace(',', ".").parse::<f64>().ok()))
        .filter(|n| n.is_finite())
        .ok_or_else(|| hub_actors::model::field::FieldError::new(field, "number", json!({})).into())
}

fn one() -> serde_json::Value {
    json!(1)
}

fn high() -> String {
    "high".into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewSensor {
    name: String,
    reading: String,
    /// Numbers, or text a person typed (`-15`, `0,1`): each said by its field when it is not one.
    #[serde(default = "one")]
    scale: serde_json::Value,
    bound: String,
    threshold: serde_json::Value,
    for_secs: i64,
    #[serde(default)]
    site_id: Option<i64>,
    #[serde(default)]
    type_id: Option<i64>,
    #[serde(default = "high")]
    priority: String,
}

async fn add_sensor(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<i64>,
    body: web::Json<NewSensor>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    let row = SensorRow {
        id: 0,
        vehicle_id: *path,
        name: b.name,
        reading: b.reading,
        scale: number("scale", &b.scale)?,
        bound: b.bound,
        threshold: number("threshold", &b.threshold)?,
        for_secs: b.for_secs,
        site_id: b.site_id,
        type_id: b.type_id,
        priority: b.priority,
    };
    Ok(HttpResponse::Created().json(state.hub.add_sensor(admin.org_id, *path, &row).await?))
}

async fn remove_sensor(state: web::Data<AppState>, admin: Admin, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    state.hub.remove_sensor(admin.org_id, *path).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewDevice {
    protocol: String,
    unique_id: String,
    vehicle_id: i64,
}

async fn add_device(state: web::Data<AppState>, admin: Admin, body: web::Json<NewDevice>) -> ApiResult<HttpResponse> {
    let d = state
        .hub
        .store()
        .add_tracker_device(admin.org_id, &body.protocol, &body.unique_id, body.vehicle_id)
        .await?;
    Ok(HttpResponse::Created().json(d))
}

async fn remove_device(state: web::Data<AppState>, admin: Admin, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    state.hub.store().remove_tracker_device(admin.org_id, *path).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The map's snapshot: the vehicles, where each was last, and the territories.
async fn fleet(state: web::Data<AppState>, sup: Supervisor) -> ApiResult<HttpResponse> {
    let store = state.hub.store();
    Ok(HttpResponse::Ok().json(json!({
        "vehicles": store.vehicles(sup.org_id).await?,
        "positions": store.positions(sup.org_id).await?,
        "territories": store.territories(sup.org_id).await?,
        "sites": store.sites(sup.org_id).await?,
        "engineers": store.plan_engineers(sup.org_id).await?,
        "open_requests": store
            .open_requests_by_site(sup.org_id)
            .await?
            .into_iter()
            .map(|(site_id, n)| json!({ "site_id": site_id, "open": n }))
            .collect::<Vec<_>>(),
        "tiles": { "url": state.map.url, "attribution": state.map.attribution },
        "now": now_millis(),
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Period {
    /// Milliseconds since the epoch; each report says its period when they are left out.
    #[serde(default)]
    from: Option<i64>,
    #[serde(default)]
    to: Option<i64>,
}

impl Period {
    /// From and to: up to now, `default_ms` back when no start is given, at most `span_ms`.
    fn within(&self, default_ms: i64, span_ms: i64) -> (i64, i64) {
        // Saturating: any number is a moment, however far (the store then finds nothing).
        let to = self.to.unwrap_or_else(now_millis);
        let from = self.from.unwrap_or(to.saturating_sub(default_ms));
        (from.max(to.saturating_sub(span_ms)), to)
    }
}

/// A vehicle's track for the map, its straight stretches thinned.
async fn track(
    state: web::Data<AppState>,
    sup: Supervisor,
    path: web::Path<i64>,
    q: web::Query<Period>,
) -> ApiResult<HttpResponse> {
    let (from, to) = q.within(24 * 3_600_000, TRACK_SPAN_MS);
    let all = state.hub.store().track(sup.org_id, *path, from, to).await?;
    let points: Vec<Point> = all.iter().map(|p| Point { lon: p.lon, lat: p.lat }).collect();
    let kept: Vec<_> = simplify(&points, TRACK_TOLERANCE_M)
        .into_iter()
        .map(|i| &all[i])
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "fixes": all.len(), "points": kept })))
}

/// The longest mileage report at once.
const MILEAGE_SPAN_MS: i64 = 62 * 24 * 3_600_000;

/// What a vehicle drove, day by day, in and outside its driver's shift (the last 7 days when
/// no period is given).
async fn mileage(
    state: web::Data<AppState>,
    sup: Supervisor,
    path: web::Path<i64>,
    q: web::Query<Period>,
) -> ApiResult<HttpResponse> {
    let (from, to) = q.within(7 * 24 * 3_600_000, MILEAGE_SPAN_MS);
    Ok(HttpResponse::Ok().json(state.hub.mileage(sup.org_id, *path, from, to).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EventsQuery {
    #[serde(default)]
    vehicle_id: Option<i64>,
    /// An event id: those before it (the next page).
    #[serde(default)]
    before: Option<i64>,
}

async fn events(state: web::Data<AppState>, sup: Supervisor, q: web::Query<EventsQuery>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(
        state
            .hub
            .store()
            .vehicle_events(sup.org_id, q.vehicle_id, q.before, 100)
            .await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanQuery {
    /// Required; optional here so that a caller without the right is told so first (a query
    /// is read before the session is).
    #[serde(default)]
    user_id: Option<i64>,
}

/// An engineer's day: their stops in the proposed or the saved order, each with its times.
async fn day_plan(state: web::Data<AppState>, sup: Supervisor, q: web::Query<PlanQuery>) -> ApiResult<HttpResponse> {
    let Some(user_id) = q.user_id else {
        return Err(
            hub_actors::error::Error::from(FieldError::new("user_id", "required", serde_json::Value::Null)).into(),
        );
    };
    Ok(HttpResponse::Ok().json(state.hub.day_plan(sup.org_id, user_id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanOrder {
    user_id: i64,
    /// The engineer's requests, each once, in the order to visit them.
    order: Vec<i64>,
}

async fn save_day_plan(
    state: web::Data<AppState>,
    sup: Supervisor,
    body: web::Json<PlanOrder>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(
        state
            .hub
            .save_day_plan(sup.org_id, body.user_id, &body.order, sup.user_id)
            .await?,
    ))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/trackers/osmand")
            .app_data(web::PayloadConfig::new(REPORT_LIMIT))
            .route(web::get().to(osmand))
            .route(web::post().to(osmand)),
    )
    .route("/api/admin/vehicles", web::get().to(vehicles))
    .route("/api/admin/vehicles", web::post().to(create_vehicle))
    .route("/api/admin/vehicles/{id}", web::put().to(edit_vehicle))
    .route("/api/admin/vehicles/{id}", web::delete().to(remove_vehicle))
    .route("/api/admin/vehicles/{id}/sensors", web::post().to(add_sensor))
    .route("/api/admin/sensors/{id}", web::delete().to(remove_sensor))
    .route("/api/admin/trackers", web::post().to(add_device))
    .route("/api/admin/trackers/{id}", web::delete().to(remove_device))
    .route("/api/supervisor/fleet", web::get().to(fleet))
    .route("/api/supervisor/vehicles/{id}/track", web::get().to(track))
    .route("/api/supervisor/vehicles/{id}/mileage", web::get().to(mileage))
    .route("/api/supervisor/vehicle-events", web::get().to(events))
    .route("/api/supervisor/day-plan", web::get().to(day_plan))
    .route("/api/supervisor/day-plan", web::put().to(save_day_plan));
}
