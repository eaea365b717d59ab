use actix_web::{http::header, web, HttpResponse};

use crate::{ApiResult, AppState};

async fn healthz(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    state.hub.store().ping().await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "status": "ok" })))
}

async fn metrics(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let waiting = state.hub.store().waiting_total().await?;
    let body = state.metrics.render(waiting, state.hub.running_displays());
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/plain; version=0.0.4"))
        .body(body))
}

pub const OPENAPI: &str = include_str!("../../openapi.json");

async fn openapi() -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(OPENAPI)
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/metrics", web::get().to(metrics))
        .route("/api/openapi.json", web::get().to(openapi));
}
