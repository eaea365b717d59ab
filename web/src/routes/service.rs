use actix_web::{http::header, web, HttpRequest, HttpResponse};

use hub_channels::email::store::MailStore;
use hub_channels::telegram::store::BotStore;

use crate::{ApiResult, AppState};

async fn healthz(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    state.hub.store().ping().await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "status": "ok" })))
}

/// Figures span every organisation, so they are not for anyone on the network: a scraper sends
/// the configured token, or, with none configured, asks from this machine.
fn may_scrape(state: &AppState, req: &HttpRequest) -> bool {
    match &state.metrics_token {
        Some(expected) => req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer "))
            .is_some_and(|t| hub_actors::auth::token_hash(t.trim()) == hub_actors::auth::token_hash(expected)),
        None => req.peer_addr().is_some_and(|a| a.ip().is_loopback()),
    }
}

async fn metrics(state: web::Data<AppState>, req: HttpRequest) -> ApiResult<HttpResponse> {
    if !may_scrape(&state, &req) {
        return Err(hub_actors::Error::Forbidden.into());
    }
    let waiting = state.hub.store().waiting_total().await?;
    let mut body = state.metrics.render(waiting, state.hub.running_displays());
    if let Some(t) = &state.telegram {
        let pending = state.hub.store().telegram_updates_pending().await?;
        let outbox = state.hub.store().outbox_pending("telegram").await?;
        crate::metrics::render_telegram(&mut body, t.metrics(), pending, outbox);
    }
    if let Some(e) = &state.email {
        let inbox = state.hub.store().inbox_counts().await?;
        let outbox = state.hub.store().outbox_pending("email").await?;
        crate::metrics::render_email(&mut body, e.metrics(), &inbox, outbox);
    }
    if let Some(s) = &state.speech {
        let jobs = state.hub.store().transcription_counts().await?;
        crate::metrics::render_speech(&mut body, &s.metrics(), &jobs);
    }
    if let Some(s) = &state.sip {
        crate::metrics::render_sip(&mut body, &s.figures());
    }
    {
        use std::fmt::Write;
        let _ = writeln!(
            body,
            "# HELP hub_operator_consoles Operator consoles open on this node (presence follows them).\n\
             # TYPE hub_operator_consoles gauge\nhub_operator_consoles {}",
            state.consoles.count()
        );
    }
    crate::metrics::render_tasks(&mut body, &state.hub.tasks().figures());
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
