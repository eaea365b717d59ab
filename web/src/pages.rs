//! The pages, embedded in the binary so the hub stays one file to deploy.

use actix_web::{http::header, web, HttpRequest, HttpResponse};

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

/// The map page: its tiles come from the installation's tile server, the one origin besides
/// the hub's own that images may come from.
async fn map_page(state: web::Data<crate::AppState>) -> HttpResponse {
    page_with(page!("map.html"), "'none'", &state.map.origin)
}

fn page_response(body: &'static str, frame_ancestors: &str) -> HttpResponse {
    page_with(body, frame_ancestors, "")
}

fn page_with(body: &'static str, frame_ancestors: &str, images: &str) -> HttpResponse {
    let mut res = HttpResponse::Ok();
    if frame_ancestors == "'none'" {
        res.insert_header((header::X_FRAME_OPTIONS, "DENY"));
    }
    res.insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        // Pages load only their own scripts and styles; nothing inline can run.
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            format!(
                "default-src 'self'; img-src 'self' data: blob: {images}; style-src 'self'; script-src 'self'; \
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

/// A script served with the pages: every page's script is an ES module importing `hub.js`.
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
    js!("words-en.js"),
    js!("words-ru.js"),
    js!("i18n.js"),
    js!("storage.js"),
    js!("dom.js"),
    js!("icons.js"),
    js!("api.js"),
    js!("message.js"),
    js!("socket.js"),
    js!("format.js"),
    js!("files.js"),
    js!("conversation.js"),
    js!("menu.js"),
    js!("device.js"),
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
    js!("desk.js"),
    js!("desk-state.js"),
    js!("desk-card.js"),
    js!("desk-kpis.js"),
    js!("desk-clients.js"),
    js!("desk-search.js"),
    js!("admin-desk-hooks.js"),
    js!("admin-desk-people.js"),
    js!("admin-desk-vehicles.js"),
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
    js!("admin-desk.js"),
    js!("admin-desk-flow.js"),
    js!("map.js"),
    js!("map-plan.js"),
    js!("map-draw.js"),
    js!("vehicle-alert.js"),
    // Leaflet 1.9.4 from npm (BSD-2-Clause, LICENSE in leaflet-LICENSE.txt), its ES module.
    js!("leaflet-1.9.4.esm.js"),
    css!("leaflet-1.9.4.css"),
];

/// A script or the styles. `no-cache` with an ETag: a page loads a dozen modules, and a browser
/// that has them asks again on every load (a new hub version is seen at once) but is answered
/// 304 without the bodies while they are unchanged.
async fn asset(req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let (_, mime, body) = ASSETS
        .iter()
        .find(|(name, _, _)| *name == path.as_str())
        .ok_or(ApiError::NoRoute)?;
    let tag = etag(body);
    let known = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag || t.trim() == "*"));
    let mut res = if known {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::ETAG, tag.as_str()));
    if known {
        return Ok(res.finish());
    }
    Ok(res.insert_header((header::CONTENT_TYPE, *mime)).body(*body))
}

/// A strong validator from the content (FNV-1a): the same file gives the same tag on every node
/// and after every restart.
fn etag(body: &str) -> String {
    let hash = body.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("\"{hash:016x}\"")
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
        .route("/desk", get_or_head().to(|| async { html(page!("desk.html")) }))
        .route("/admin", get_or_head().to(|| async { html(page!("admin.html")) }))
        .route("/map", get_or_head().to(map_page));
}

#[cfg(test)]
mod tests {
    //! The pages are ES modules without a build step: a name imported that its module does not
    //! export, or a `Hub.x` the kit does not have, fails only in a browser, on the page that
    //! uses it. These checks read the shipped files and fail here instead.
    use super::ASSETS;
    use std::collections::BTreeSet;

    fn source(file: &str) -> &'static str {
        ASSETS
            .iter()
            .find(|(name, _, _)| *name == file)
            .map(|(_, _, body)| *body)
            .unwrap_or_else(|| panic!("{file} is imported but not served"))
    }

    /// `./x.js` in a module's `from './x.js'`.
    fn target(line: &str) -> Option<&str> {
        let rest = line.split(" from '").nth(1)?;
        rest.split('\'').next()?.strip_prefix("./")
    }

    fn ident(s: &str) -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '$')
            .collect()
    }

    /// What a module exports, following `export * from` (top-level statements only: the pages
    /// write each on its own line).
    fn exports(file: &str, seen: &mut BTreeSet<String>) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        if !seen.insert(file.to_string()) {
            return out;
        }
        for line in source(file).lines() {
            let Some(rest) = line.strip_prefix("export ") else {
                continue;
            };
            if rest.starts_with("* from") {
                out.extend(exports(target(line).expect("export * from"), seen));
            } else if rest.starts_with("default") {
                out.insert("default".into());
            } else if let Some(list) = rest.strip_prefix('{') {
                for item in list.split('}').next().unwrap_or("").split(',') {
                    let name = item.split(" as ").last().unwrap_or("").trim();
                    out.insert(ident(name));
                }
            } else {
                let rest = rest.strip_prefix("async ").unwrap_or(rest);
                for kw in ["function ", "const ", "let ", "class "] {
                    if let Some(name) = rest.strip_prefix(kw) {
                        out.insert(ident(name));
                    }
                }
            }
        }
        out
    }

    fn modules() -> impl Iterator<Item = (&'static str, &'static str)> {
        ASSETS
            .iter()
            .filter(|(name, _, _)| name.ends_with(".js"))
            .map(|(name, _, body)| (*name, *body))
    }

    #[test]
    fn every_import_is_exported_by_its_module() {
        for (file, body) in modules() {
            for line in body.lines().filter(|l| l.starts_with("import ")) {
                let from = target(line).unwrap_or_else(|| panic!("{file}: {line}"));
                let have = exports(from, &mut BTreeSet::new());
                let what = line["import ".len()..].split(" from ").next().unwrap().trim();
                if what.starts_with("* as ") {
                    continue;
                }
                let names: Vec<String> = match what.strip_prefix('{') {
                    Some(list) => list
                        .trim_end_matches('}')
                        .split(',')
                        .map(|i| ident(i.trim().split(" as ").next().unwrap().trim()))
                        .filter(|n| !n.is_empty())
                        .collect(),
                    None => vec!["default".into()],
                };
                for name in names {
                    assert!(
                        have.contains(&name),
                        "{file} imports {name} from {from}, which does not export it"
                    );
                }
            }
        }
    }

    #[test]
    fn every_use_of_the_kit_names_what_it_has() {
        let kit = exports("hub.js", &mut BTreeSet::new());
        assert!(kit.contains("api") && kit.contains("t") && kit.contains("lang"));
        for (file, body) in modules() {
            let mut rest = body;
            while let Some(at) = rest.find("Hub.") {
                // `HubWidget.`, `window.Hub.` and the like are not the kit.
                let before = rest[..at].chars().last();
                let name = ident(&rest[at + 4..]);
                rest = &rest[at + 4..];
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.') {
                    continue;
                }
                assert!(
                    kit.contains(&name),
                    "{file} uses Hub.{name}, which hub.js does not export"
                );
                assert!(
                    body.contains("import * as Hub from './hub.js';"),
                    "{file} uses Hub without importing it"
                );
            }
        }
    }

    #[test]
    fn every_page_loads_its_script_as_a_module_that_is_served() {
        for page in [
            page!("index.html"),
            page!("login.html"),
            page!("operator.html"),
            page!("supervisor.html"),
            page!("admin.html"),
            page!("kiosk.html"),
            page!("board.html"),
            page!("ticket.html"),
            page!("registrar.html"),
            page!("widget.html"),
        ] {
            let scripts: Vec<&str> = page.split("<script ").skip(1).collect();
            assert!(!scripts.is_empty());
            for tag in scripts {
                let src = tag.split("src=\"/static/").nth(1).and_then(|s| s.split('"').next());
                let src = src.expect("a page's script is a file under /static/");
                source(src);
                assert!(tag.contains("type=\"module\""), "{src} is loaded as a classic script");
            }
        }
    }

    #[actix_web::test]
    async fn a_module_unchanged_is_answered_304() {
        use actix_web::{http::StatusCode, test, App};
        let app = test::init_service(App::new().configure(super::configure)).await;
        let res = test::call_service(&app, test::TestRequest::get().uri("/static/hub.js").to_request()).await;
        assert_eq!(res.status(), StatusCode::OK);
        let tag = res
            .headers()
            .get("etag")
            .expect("an ETag")
            .to_str()
            .unwrap()
            .to_string();
        assert_eq!(res.headers().get("cache-control").unwrap(), "no-cache");
        let again = test::TestRequest::get()
            .uri("/static/hub.js")
            .insert_header(("if-none-match", format!("W/\"x\", {tag}")))
            .to_request();
        let res = test::call_service(&app, again).await;
        assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
        assert!(test::read_body(res).await.is_empty());
        let other = test::TestRequest::get()
            .uri("/static/dom.js")
            .insert_header(("if-none-match", tag.as_str()))
            .to_request();
        assert_eq!(test::call_service(&app, other).await.status(), StatusCode::OK);
    }

    #[test]
    fn both_languages_have_the_same_words() {
        let keys = |file: &str| -> BTreeSet<String> {
            source(file)
                .lines()
                .flat_map(|l| l.split("', '").map(str::to_string).collect::<Vec<_>>())
                .filter_map(|part| {
                    let part = part.trim_start().trim_start_matches('\'');
                    part.split_once("': ").map(|(k, _)| k.to_string())
                })
                .collect()
        };
        let (en, ru) = (keys("words-en.js"), keys("words-ru.js"));
        assert!(en.len() > 300, "{} keys read", en.len());
        let only_en: Vec<_> = en.difference(&ru).collect();
        let only_ru: Vec<_> = ru.difference(&en).collect();
        assert!(
            only_en.is_empty() && only_ru.is_empty(),
            "only in en: {only_en:?}; only in ru: {only_ru:?}"
        );
    }
}
