use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use std::sync::atomic::Ordering;

use crate::auth::Kiosk;
use crate::{ApiResult, AppState};
use hub_actors::{store::Service, Issued};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssueRequest {
    pub service_id: i64,
    #[serde(default)]
    pub vip_code: Option<String>,
}

/// An issued ticket with the links a kiosk or phone shows.
#[derive(Serialize)]
pub struct IssuedView {
    #[serde(flatten)]
    pub issued: Issued,
    pub status_url: String,
    pub qr_url: String,
}

impl From<Issued> for IssuedView {
    fn from(issued: Issued) -> Self {
        let id = issued.issued.ticket.public_id.clone();
        Self {
            issued,
            status_url: format!("/t/{id}"),
            qr_url: format!("/api/public/tickets/{id}/qr.svg"),
        }
    }
}

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

async fn issue(state: web::Data<AppState>, kiosk: Kiosk, body: web::Json<IssueRequest>) -> ApiResult<HttpResponse> {
    let issued = state
        .hub
        .issue_ticket(
            kiosk.org_id,
            kiosk.branch_id,
            body.service_id,
            "kiosk",
            body.vip_code.as_deref(),
        )
        .await?;
    state.metrics.tickets_issued.fetch_add(1, Ordering::Relaxed);
    tracing::info!(number = %issued.issued.ticket.number, branch = kiosk.branch_id, "ticket issued at kiosk");
    Ok(HttpResponse::Created().json(IssuedView::from(issued)))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/kiosk", web::get().to(menu))
        .route("/api/kiosk/tickets", web::post().to(issue));
}
