use actix_web::{cookie::Cookie, cookie::SameSite, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use crate::auth::{token_of, Signed, SESSION_COOKIE};
use crate::{ApiResult, AppState};
use hub_actors::{
    model::throttle::{Attempt, Kind, Outcome},
    store::{Principal, PrincipalKind},
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Login {
    login: String,
    password: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeviceLogin {
    login: String,
    secret: String,
}

#[derive(Serialize)]
struct Session {
    token: String,
    principal: Principal,
}

fn session_cookie(state: &AppState, token: String) -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE, token)
        .path("/")
        .http_only(true)
        .secure(state.secure_cookies)
        // Strict keeps the cookie off cross-site requests; with `same_origin` refusing foreign
        // origins' writes, that is the CSRF defence.
        .same_site(SameSite::Strict)
        .finish()
}

fn session_response(state: &AppState, token: String, principal: Principal) -> HttpResponse {
    HttpResponse::Ok()
        .cookie(session_cookie(state, token.clone()))
        .json(Session { token, principal })
}

/// The cookie naming a browser a user signed in from before (a random id, stored hashed).
const KNOWN_COOKIE: &str = "hub_known";
const KNOWN_DAYS: i64 = 365;

/// What a sign-in answers: the session, and for a user the known-device cookie to set.
struct SignedIn {
    token: String,
    principal: Principal,
    known: Option<Cookie<'static>>,
}

/// Runs a sign-in under the throttle (see `model::throttle`): refused while any of its keys is
/// at its limit, counted before the password is hashed, cleared when it is right.
async fn throttled<F>(state: &AppState, req: &HttpRequest, kind: Kind, login: &str, sign_in: F) -> ApiResult<SignedIn>
where
    F: std::future::Future<Output = Result<(String, Principal), hub_actors::Error>>,
{
    let address = req.peer_addr().map(|a| a.ip().to_string()).unwrap_or_default();
    let cookie = req
        .cookie(KNOWN_COOKIE)
        .map(|c| c.value().to_string())
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()));
    let known = match (&cookie, kind) {
        (Some(c), Kind::User) if state.hub.store().is_known_device(login, c).await? => {
            // The throttle keys on a digest, never the cookie itself.
            Some(hub_actors::auth::token_hash(c)[..16].to_string())
        }
        _ => None,
    };
    let mut reservation = state
        .reserve(Attempt::new(kind, login, &address, known.as_deref()))
        .inspect_err(|_| tracing::warn!(login, address, "sign-in refused: too many wrong attempts"))?;
    match sign_in.await {
        Ok((token, principal)) => {
            reservation.outcome = Outcome::Succeeded;
            let known = match principal.kind {
                PrincipalKind::User { user_id, .. } => {
                    let id = cookie.unwrap_or_else(|| hub_actors::store::random_token(32));
                    state.hub.store().remember_device(user_id, &id).await?;
                    Some(
                        Cookie::build(KNOWN_COOKIE, id)
                            .path("/")
                            .http_only(true)
                            .secure(state.secure_cookies)
                            .same_site(SameSite::Strict)
                            .max_age(actix_web::cookie::time::Duration::days(KNOWN_DAYS))
                            .finish(),
                    )
                }
                PrincipalKind::Device { .. } => None,
            };
            Ok(SignedIn {
                token,
                principal,
                known,
            })
        }
        Err(hub_actors::Error::BadCredentials) => {
            reservation.outcome = Outcome::Failed;
            tracing::warn!(login, address, "wrong credentials");
            Err(hub_actors::Error::BadCredentials.into())
        }
        Err(e) => Err(e.into()),
    }
}

fn signed_in_response(state: &AppState, s: SignedIn) -> HttpResponse {
    let mut res = session_response(state, s.token, s.principal);
    if let Some(c) = s.known {
        if let Err(e) = res.add_cookie(&c) {
            tracing::warn!(error = %e, "cannot set the known-device cookie");
        }
    }
    res
}

async fn login(state: web::Data<AppState>, req: HttpRequest, body: web::Json<Login>) -> ApiResult<HttpResponse> {
    let signed = throttled(
        &state,
        &req,
        Kind::User,
        &body.login,
        state.hub.store().sign_in_user(&body.login, &body.password),
    )
    .await?;
    tracing::info!(login = %body.login, "user signed in");
    Ok(signed_in_response(&state, signed))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginForm {
    login: String,
    password: String,
}

/// The sign-in page's own query: the form posts to the page's URL, which after a refusal also
/// carries `failed=`, so other fields are let through.
#[derive(Deserialize)]
struct Next {
    next: Option<String>,
}

/// Where a sign-in may send the browser on: a path of this site, else the operator console. A
/// second slash or any backslash would make browsers read another host ("//evil", "/\\evil"),
/// URL parsers drop control characters, and a redirect's Location must be plain ASCII, so
/// anything but visible ASCII falls back too.
fn safe_next(next: Option<&str>) -> &str {
    const HOME: &str = "/operator";
    match next {
        Some(n)
            if n.starts_with('/')
                && !n[1..].starts_with('/')
                && !n.contains('\\')
                && n.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            n
        }
        _ => HOME,
    }
}

/// The sign-in form posted by the browser itself (no script yet, or none at all): the same
/// sign-in as the JSON endpoint, answered with a redirect, so credentials never end up in a URL.
/// A refusal goes back to the form with the reason in `failed=`, which the page shows.
async fn login_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    next: web::Query<Next>,
    body: web::Form<LoginForm>,
) -> HttpResponse {
    use actix_web::http::header::LOCATION;
    let next = safe_next(next.next.as_deref());
    let signed = throttled(
        &state,
        &req,
        Kind::User,
        &body.login,
        state.hub.store().sign_in_user(&body.login, &body.password),
    )
    .await;
    match signed {
        Ok(s) => {
            tracing::info!(login = %body.login, "user signed in (form)");
            let mut res = HttpResponse::SeeOther();
            res.cookie(session_cookie(&state, s.token));
            if let Some(c) = s.known {
                res.cookie(c);
            }
            res.insert_header((LOCATION, next)).finish()
        }
        Err(e) => {
            let query = serde_urlencoded::to_string([("next", next), ("failed", e.code())]).unwrap_or_default();
            let back = format!("/login?{query}");
            HttpResponse::SeeOther().insert_header((LOCATION, back)).finish()
        }
    }
}

async fn device(state: web::Data<AppState>, req: HttpRequest, body: web::Json<DeviceLogin>) -> ApiResult<HttpResponse> {
    let signed = throttled(
        &state,
        &req,
        Kind::Device,
        &body.login,
        state.hub.store().sign_in_device(&body.login, &body.secret),
    )
    .await?;
    tracing::info!(device = %body.login, "device signed in");
    Ok(signed_in_response(&state, signed))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PairingStart {
    kind: hub_actors::model::role::DeviceKind,
}

/// A new screen asks to be paired: it shows the code, an admin types it at the device in the
/// back office. Counted like other things strangers create.
async fn pairing_start(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<PairingStart>,
) -> ApiResult<HttpResponse> {
    state.anonymous_hit(&req)?;
    let p = state.hub.store().start_pairing(body.kind).await?;
    Ok(HttpResponse::Created().json(p))
}

/// The screen polls with its ticket: 202 while waiting, the session once paired, 404 when the
/// code expired (the screen asks for a new one).
async fn pairing_poll(state: web::Data<AppState>, path: web::Path<String>) -> ApiResult<HttpResponse> {
    let ticket = path.into_inner();
    if ticket.len() != 48 || !ticket.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(hub_actors::Error::NotFound("pairing").into());
    }
    match state.hub.store().finish_pairing(&ticket).await? {
        hub_actors::store::pairing::Paired::Waiting => {
            Ok(HttpResponse::Accepted().json(serde_json::json!({ "paired": false })))
        }
        hub_actors::store::pairing::Paired::Done(token, principal) => {
            tracing::info!(org = principal.org_id, "a screen paired by its code");
            Ok(session_response(&state, token, principal))
        }
    }
}

async fn logout(state: web::Data<AppState>, req: HttpRequest) -> ApiResult<HttpResponse> {
    if let Some(token) = token_of(&req) {
        // An operator who signs out leaves their window: queues stop counting them as serving.
        if let Ok(Principal {
            kind: PrincipalKind::User { user_id, .. },
            ..
        }) = state.hub.store().principal(&token).await
        {
            // The console asks first what becomes of a ticket in hand; a client that signs out
            // without saying leaves it as the model says (a called visitor goes back in line).
            if let Err(e) = state.hub.operator_left(user_id).await {
                tracing::warn!(user = user_id, error = %e, "could not sign the operator off at sign-out");
            }
        }
        state.sessions.forget(&token);
        let org_id = state.hub.store().principal(&token).await.map(|p| p.org_id).ok();
        state.hub.store().sign_out(&token).await?;
        if let Some(org_id) = org_id {
            state
                .end_sessions(
                    org_id,
                    crate::sessions::Ended {
                        token_hash: Some(hub_actors::auth::token_hash(&token)),
                        ..Default::default()
                    },
                )
                .await;
        }
    }
    let mut gone = Cookie::build(SESSION_COOKIE, "").path("/").finish();
    gone.make_removal();
    Ok(HttpResponse::NoContent().cookie(gone).finish())
}

async fn me(who: Signed) -> HttpResponse {
    HttpResponse::Ok().json(who.0)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewPassword {
    current: String,
    new: String,
}

/// Changes one's own password (the current one given, counted like a sign-in): every other
/// session of the user ends at once, on every node; this one goes on.
async fn change_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    who: Signed,
    body: web::Json<NewPassword>,
) -> ApiResult<HttpResponse> {
    let PrincipalKind::User { user_id, .. } = who.0.kind else {
        return Err(hub_actors::Error::Forbidden.into());
    };
    let b = body.into_inner();
    hub_actors::model::password::check(&b.new).map_err(hub_actors::Error::from)?;
    let token = token_of(&req).ok_or(hub_actors::Error::Unauthenticated)?;
    let login = state.hub.store().user(user_id).await?.login;
    let address = req.peer_addr().map(|a| a.ip().to_string()).unwrap_or_default();
    let mut reservation = state.reserve(Attempt::new(Kind::User, &login, &address, None))?;
    match state
        .hub
        .store()
        .change_password(user_id, &b.current, &b.new, &token)
        .await
    {
        Ok(()) => reservation.outcome = Outcome::Succeeded,
        Err(hub_actors::Error::BadCredentials) => {
            reservation.outcome = Outcome::Failed;
            return Err(hub_actors::Error::BadCredentials.into());
        }
        Err(e) => return Err(e.into()),
    }
    drop(reservation);
    state
        .end_sessions(
            who.0.org_id,
            crate::sessions::Ended {
                user_id: Some(user_id),
                keep: Some(hub_actors::auth::token_hash(&token)),
                ..Default::default()
            },
        )
        .await;
    tracing::info!(user = user_id, "password changed; other sessions ended");
    Ok(HttpResponse::NoContent().finish())
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/auth/login", web::post().to(login))
        .route("/login", web::post().to(login_form))
        .route("/api/auth/device", web::post().to(device))
        .route("/api/pairing", web::post().to(pairing_start))
        .route("/api/pairing/{ticket}", web::get().to(pairing_poll))
        .route("/api/auth/logout", web::post().to(logout))
        .route("/api/me", web::get().to(me))
        .route("/api/me/password", web::post().to(change_password));
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn a_sign_in_goes_on_only_to_a_path_of_this_site() {
        assert_eq!(safe_next(Some("/supervisor?tab=kpi#x")), "/supervisor?tab=kpi#x");
        assert_eq!(safe_next(Some("/")), "/");
        for refused in [
            "//evil.example/",
            "/\\evil.example",
            "https://evil.example/",
            "evil",
            "",
            "/\t/evil",
            "/a\\b",
            "/t/абв",
            "/a b",
        ] {
            assert_eq!(safe_next(Some(refused)), "/operator", "{refused:?}");
        }
        assert_eq!(safe_next(None), "/operator");
    }
}
