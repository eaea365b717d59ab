use actix_web::{web, HttpResponse};
use serde::Serialize;
use std::sync::atomic::Ordering;

use crate::auth::Kiosk;
use crate::{ApiResult, AppState};
use hub_actors::store::Service;
use hub_channels::kiosk::{take_ticket, Channel, TakeTicket};

#[derive(Serialize)]
struct KioskView {
    branch: hub_actors::store::Branch,
    open: bool,
    services: Vec<Service>,
}

async fn menu(state: web::Data<AppState>, kiosk: Kiosk) -> ApiResult<HttpResponse> {
    let v = super::branch::branch_view(&state, kiosk.org_id, kiosk.branch_id).await?;
    Ok(HttpResponse::Ok().json(KioskView {
        branch: v.branch,
        open: v.open,
        services: v.services,
    }))
}

async fn issue(state: web::Data<AppState>, kiosk: Kiosk, body: web::Json<TakeTicket>) -> ApiResult<HttpResponse> {
    let taken = take_ticket(
        &state.hub,
        kiosk.org_id,
        kiosk.branch_id,
        Channel::Kiosk,
        body.into_inner(),
    )
    .await?;
    state.metrics.tickets_issued.fetch_add(1, Ordering::Relaxed);
    Ok(HttpResponse::Created().json(taken))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/kiosk", web::get().to(menu))
        .route("/api/kiosk/tickets", web::post().to(issue));
}
