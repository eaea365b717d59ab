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
    res
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        // Pages load only their own scripts and styles; nothing inline can run.
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            format!(
                "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; \
                 connect-src 'self'; frame-ancestors {frame_ancestors}; base-uri 'none'; form-action 'self'"
            ),
        ))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .body(body)
}

const ASSETS: &[(&str, &str, &str)] = &[
    ("hub.css", "text/css; charset=utf-8", page!("hub.css")),
    ("hub.js", "text/javascript; charset=utf-8", page!("hub.js")),
    ("operator.js", "text/javascript; charset=utf-8", page!("operator.js")),
    ("kiosk.js", "text/javascript; charset=utf-8", page!("kiosk.js")),
    ("board.js", "text/javascript; charset=utf-8", page!("board.js")),
    ("ticket.js", "text/javascript; charset=utf-8", page!("ticket.js")),
    ("registrar.js", "text/javascript; charset=utf-8", page!("registrar.js")),
    ("login.js", "text/javascript; charset=utf-8", page!("login.js")),
    ("widget-frame.js", "text/javascript; charset=utf-8", page!("widget-frame.js")),
    ("supervisor.js", "text/javascript; charset=utf-8", page!("supervisor.js")),
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

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(|| async { html(page!("index.html")) }))
        .route("/login", web::get().to(|| async { html(page!("login.html")) }))
        .route("/operator", web::get().to(|| async { html(page!("operator.html")) }))
        .route("/kiosk", web::get().to(|| async { html(page!("kiosk.html")) }))
        .route("/board", web::get().to(|| async { html(page!("board.html")) }))
        .route("/t/{public_id}", web::get().to(|| async { html(page!("ticket.html")) }))
        .route(
            "/r/{branch_id}",
            web::get().to(|| async { html(page!("registrar.html")) }),
        )
        .route("/static/{file}", web::get().to(asset))
        .route("/supervisor", web::get().to(|| async { html(page!("supervisor.html")) }))
        .route("/demo/site", web::get().to(|| async { html(page!("demo-site.html")) }))
        .route("/widget", web::get().to(|| async { embeddable(page!("widget.html")) }))
        .route("/widget.js", web::get().to(widget_script));
}
