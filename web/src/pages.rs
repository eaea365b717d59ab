//! The pages, embedded in the binary so the hub stays one file to deploy.

use actix_web::{http::header, web, HttpResponse};

use crate::ApiError;

macro_rules! page {
    ($file:literal) => {
        include_str!(concat!("../pages/", $file))
    };
}

fn html(body: &'static str) -> HttpResponse {
    page_response(body, "'none'")
}

/// The chat frame is embedded by customers' sites (any site, for now: the widget key is public
/// anyway), so it alone may be framed. It still runs only its own scripts.
fn embeddable(body: &'static str) -> HttpResponse {
    page_response(body, "*")
}

fn page_response(body: &'static str, frame_ancestors: &str) -> HttpResponse {
    let mut res = HttpResponse::Ok();
    if frame_ancestors == "'none'" {
        res.insert_header((header::X_FRAME_OPTIONS, "DENY"));
    }
    res.insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        // Pages load only their own scripts and styles; nothing inline can run.
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            format!(
                "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; \
                 connect-src 'self'; frame-ancestors {frame_ancestors}; base-uri 'none'; form-action 'self'"
            ),
        ))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        // Nothing reaches other sites (a ticket's /t/ link stays private); same-origin requests
        // keep their referrer, and so their real Origin: under no-referrer a browser's own form
        // post says "Origin: null", which `same_origin` rightly refuses.
        .insert_header((header::REFERRER_POLICY, "same-origin"))
        .body(body)
}

/// A script served with the pages (the back office's are ES modules imported by admin.js).
macro_rules! js {
    ($file:literal) => {
        ($file, "text/javascript; charset=utf-8", page!($file))
    };
}

macro_rules! css {
    ($file:literal) => {
        ($file, "text/css; charset=utf-8", page!($file))
    };
}

const ASSETS: &[(&str, &str, &str)] = &[
    css!("hub.css"),
    js!("hub.js"),
    js!("operator.js"),
    js!("operator-state.js"),
    js!("operator-window.js"),
    js!("operator-chats.js"),
    js!("operator-reply.js"),
    js!("operator-card.js"),
    js!("kiosk.js"),
    js!("board.js"),
    js!("ticket.js"),
    js!("registrar.js"),
    js!("login.js"),
    js!("widget-frame.js"),
    js!("supervisor.js"),
    js!("canned.js"),
    js!("admin.js"),
    js!("admin-kit.js"),
    js!("admin-branches.js"),
    js!("admin-regions.js"),
    js!("admin-layout.js"),
    js!("admin-devices.js"),
    js!("admin-users.js"),
    js!("admin-breaks.js"),
    js!("admin-audit.js"),
    js!("admin-chats.js"),
    js!("admin-channels.js"),
    js!("admin-phones.js"),
];

async fn asset(path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let (_, mime, body) = ASSETS
        .iter()
        .find(|(name, _, _)| *name == path.as_str())
        .ok_or(ApiError::NoRoute)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, *mime))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(*body))
}

/// The embed script, loaded by customers' sites from their own pages.
async fn widget_script() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/javascript; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(page!("widget.js"))
}

/// Pages answer HEAD as well as GET: link checkers and monitors probe with HEAD (actix sends
/// the headers without the body).
fn get_or_head() -> actix_web::Route {
    use actix_web::guard;
    web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", get_or_head().to(|| async { html(page!("index.html")) }))
        .route("/login", get_or_head().to(|| async { html(page!("login.html")) }))
        .route("/operator", get_or_head().to(|| async { html(page!("operator.html")) }))
        .route("/kiosk", get_or_head().to(|| async { html(page!("kiosk.html")) }))
        .route("/board", get_or_head().to(|| async { html(page!("board.html")) }))
        .route(
            "/t/{public_id}",
            get_or_head().to(|| async { html(page!("ticket.html")) }),
        )
        .route(
            "/r/{branch_id}",
            get_or_head().to(|| async { html(page!("registrar.html")) }),
        )
        .route("/static/{file}", get_or_head().to(asset))
        .route(
            "/supervisor",
            get_or_head().to(|| async { html(page!("supervisor.html")) }),
        )
        .route(
            "/demo/site",
            get_or_head().to(|| async { html(page!("demo-site.html")) }),
        )
        .route(
            "/widget",
            get_or_head().to(|| async { embeddable(page!("widget.html")) }),
        )
        .route("/widget.js", get_or_head().to(widget_script))
        .route("/admin", get_or_head().to(|| async { html(page!("admin.html")) }));
}
