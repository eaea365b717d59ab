//! What needs no sign-in: the mobile registrar (a visitor takes a ticket on their own phone) and
//! a ticket's live status page. A ticket is reached only by its unguessable public id.

use actix_web::{http::header, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use std::sync::atomic::Ordering;

use crate::{ApiResult, AppState};
use hub_actors::{
    store::{PublicTicket, Service},
    Error,
};
use hub_channels::kiosk::{take_ticket, Channel, PhoneTicketTaken, TakeTicket};

#[derive(Serialize)]
struct PublicBranch {
    id: i64,
    name: String,
    lang: String,
}

#[derive(Serialize)]
struct RegistrarView {
    branch: PublicBranch,
    open: bool,
    services: Vec<Service>,
}

#[derive(Serialize)]
struct TicketView {
    #[serde(flatten)]
    ticket: PublicTicket,
    eta_secs: Option<i64>,
}

async fn branch(state: web::Data<AppState>, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let store = state.hub.store();
    let b = store.branch_public(*path).await?;
    let open = b.is_open_now();
    let services = store.services(b.id).await?;
    Ok(HttpResponse::Ok().json(RegistrarView {
        branch: PublicBranch {
            id: b.id,
            name: b.name,
            lang: b.lang,
        },
        open,
        services,
    }))
}

/// The phone's request: a service, nothing else (no VIP code from the street).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PhoneTicket {
    service_id: i64,
}

async fn issue(
    state: web::Data<AppState>,
    http: actix_web::HttpRequest,
    path: web::Path<i64>,
    body: web::Json<PhoneTicket>,
) -> ApiResult<HttpResponse> {
    let b = state.hub.store().branch_public(*path).await?;
    // Anyone may take a ticket from their phone; nobody may fill the queue with a script.
    state.anonymous_hit(&http)?;
    let req = TakeTicket {
        service_id: body.service_id,
        vip_code: None,
    };
    let taken = take_ticket(&state.hub, b.org_id, b.id, Channel::Mobile, req).await?;
    state.metrics.tickets_issued.fetch_add(1, Ordering::Relaxed);
    Ok(HttpResponse::Created().json(PhoneTicketTaken::from(taken)))
}

fn valid_public_id(id: &str) -> Result<(), Error> {
    if id.len() == 24 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(Error::NotFound("ticket"))
    }
}

async fn ticket(state: web::Data<AppState>, path: web::Path<String>) -> ApiResult<HttpResponse> {
    valid_public_id(&path)?;
    let t = state.hub.store().public_ticket(&path).await?;
    let eta_secs = match t.ahead {
        Some(ahead) => state.hub.estimate(t.branch_id, t.service_id, ahead).await,
        None => None,
    };
    Ok(HttpResponse::Ok().json(TicketView { ticket: t, eta_secs }))
}

/// Where people reach the hub: the configured public URL; else, for a screen opened on the
/// hub's own machine (`localhost`), the hub's LAN address; else what this request came to.
pub(crate) fn base_url(state: &AppState, req: &HttpRequest) -> String {
    match &state.public_url {
        Some(url) => url.trim_end_matches('/').to_string(),
        // The Host header only: forwarded headers are client-controlled without a proxy that
        // sets them, and a QR code must not be steered elsewhere.
        None => {
            let host = req
                .headers()
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("localhost");
            match &state.lan_url {
                Some(lan) if is_loopback_host(host) => lan.clone(),
                _ => format!("http://{host}"),
            }
        }
    }
}

/// `localhost`, `127.x.y.z` or `[::1]`, with or without a port: an address only this machine opens.
pub(crate) fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    };
    name.eq_ignore_ascii_case("localhost") || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn qr_svg(url: &str, configured: bool) -> ApiResult<HttpResponse> {
    let code = qrcode::QrCode::new(url.as_bytes()).map_err(|e| Error::Internal(format!("qr: {e}")))?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "image/svg+xml"))
        // Shared caches may keep it only when the link does not depend on the request.
        .insert_header((
            header::CACHE_CONTROL,
            if configured {
                "public, max-age=86400"
            } else {
                "private, max-age=86400"
            },
        ))
        .body(svg))
}

/// The QR code of a ticket's status page, shown on the kiosk screen.
async fn ticket_qr(state: web::Data<AppState>, req: HttpRequest, path: web::Path<String>) -> ApiResult<HttpResponse> {
    valid_public_id(&path)?;
    // Only for tickets that exist: the endpoint must not become a free QR generator.
    state.hub.store().public_ticket(&path).await?;
    qr_svg(
        &format!("{}/t/{}", base_url(&state, &req), path.as_str()),
        state.public_url.is_some(),
    )
}

/// The QR code of a branch's phone registrar, for a poster at the entrance or the kiosk screen.
async fn registrar_qr(state: web::Data<AppState>, req: HttpRequest, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let b = state.hub.store().branch_public(*path).await?;
    qr_svg(
        &format!("{}/r/{}", base_url(&state, &req), b.id),
        state.public_url.is_some(),
    )
}

#[cfg(test)]
mod tests {
    use super::is_loopback_host;

    #[test]
    fn loopback_hosts_are_known() {
        for h in [
            "localhost",
            "localhost:8080",
            "127.0.0.1:8080",
            "127.3.4.5",
            "[::1]:8080",
            "LOCALHOST",
        ] {
            assert!(is_loopback_host(h), "{h}");
        }
        for h in ["192.168.1.20:8080", "hub.example", "[fe80::1]:80", "10.0.0.1"] {
            assert!(!is_loopback_host(h), "{h}");
        }
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/public/branches/{id}", web::get().to(branch))
        .route("/api/public/branches/{id}/tickets", web::post().to(issue))
        .route("/api/public/tickets/{public_id}", web::get().to(ticket))
        .route("/api/public/branches/{id}/qr.svg", web::get().to(registrar_qr))
        .route("/api/public/tickets/{public_id}/qr.svg", web::get().to(ticket_qr));
}
