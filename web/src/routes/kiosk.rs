use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use std::sync::atomic::Ordering;

use crate::auth::Kiosk;
use crate::{ApiResult, AppState};
use hub_actors::model::kiosk::KioskLook;
use hub_actors::model::throttle::{Attempt, Outcome};
use hub_actors::store::{Look, Service};
use hub_channels::kiosk::{take_ticket, Channel, TakeTicket};

#[derive(Serialize)]
struct KioskView {
    branch: hub_actors::store::Branch,
    open: bool,
    services: Vec<Service>,
    /// The kiosk's options: receipt printing, logo.
    look: KioskLook,
    /// Where the QR codes on this kiosk lead, and whether a phone can open it.
    phone: PhoneLink,
}

#[derive(Serialize)]
struct PhoneLink {
    base_url: String,
    /// False when the address is this machine's own (`localhost`): a phone cannot open it, and
    /// the kiosk says so rather than showing a QR code that leads nowhere.
    reachable: bool,
}

async fn menu(state: web::Data<AppState>, kiosk: Kiosk, req: HttpRequest) -> ApiResult<HttpResponse> {
    let v = super::branch::branch_view(&state, kiosk.org_id, kiosk.branch_id).await?;
    let look = match state.hub.store().device_look(kiosk.device_id).await? {
        Look::Kiosk(look) => look,
        Look::Board(_) => KioskLook::default(),
    };
    let base_url = super::public::base_url(&state, &req);
    let host = base_url.split_once("://").map_or(base_url.as_str(), |(_, h)| h);
    let reachable = !super::public::is_loopback_host(host.split('/').next().unwrap_or(host));
    Ok(HttpResponse::Ok().json(KioskView {
        branch: v.branch,
        open: v.open,
        services: v.services,
        look,
        phone: PhoneLink { base_url, reachable },
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
