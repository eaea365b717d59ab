use actix_web::{web, HttpResponse};
use serde::Serialize;
use std::sync::atomic::Ordering;

use crate::auth::Kiosk;
use crate::{ApiResult, AppState};
use hub_actors::model::throttle::{Attempt, Outcome};
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
    let body = body.into_inner();
    // A VIP code is a secret staff hand out: wrong ones are counted per branch, so it cannot be
    // guessed at a kiosk (a ticket without the code is always issued).
    let mut reservation = match body.vip_code.as_deref() {
        Some(c) if !c.is_empty() => Some(state.reserve(Attempt::vip_code(kiosk.branch_id))?),
        _ => None,
    };
    let taken = take_ticket(&state.hub, kiosk.org_id, kiosk.branch_id, Channel::Kiosk, body).await;
    if let (Some(r), Err(hub_actors::Error::WrongVipCode)) = (reservation.as_mut(), &taken) {
        r.outcome = Outcome::Failed;
        tracing::warn!(
            branch = kiosk.branch_id,
            device = kiosk.device_id,
            "wrong VIP code at a kiosk"
        );
    }
    let taken = taken?;
    state.metrics.tickets_issued.fetch_add(1, Ordering::Relaxed);
    Ok(HttpResponse::Created().json(taken))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/kiosk", web::get().to(menu))
        .route("/api/kiosk/tickets", web::post().to(issue));
}
