use actix_web::{cookie::Cookie, cookie::SameSite, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use crate::auth::{token_of, Signed, SESSION_COOKIE};
use crate::{ApiResult, AppState};
use hub_actors::{
    actors::operator::SetPresence,
    ask,
    model::{now_millis, presence::Presence, throttle::Throttle},
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

/// Runs a sign-in under the per-login throttle: refused outright while the login is locked,
/// counted when the password is wrong, cleared when it is right.
async fn throttled<F>(state: &AppState, login: &str, sign_in: F) -> ApiResult<(String, Principal)>
where
    F: std::future::Future<Output = Result<(String, Principal), hub_actors::Error>>,
{
    fn lock(s: &AppState) -> std::sync::MutexGuard<'_, Throttle> {
        s.throttle.lock().unwrap_or_else(|p| p.into_inner())
    }
    if let Some(wait) = lock(state).check(login, now_millis()) {
        return Err(hub_actors::Error::TooManyAttempts(wait).into());
    }
    match sign_in.await {
        Ok(ok) => {
            lock(state).succeeded(login);
            Ok(ok)
        }
        Err(hub_actors::Error::BadCredentials) => {
            lock(state).failed(login, now_millis());
            tracing::warn!(login, "wrong credentials");
            Err(hub_actors::Error::BadCredentials.into())
        }
        Err(e) => Err(e.into()),
    }
}

async fn login(state: web::Data<AppState>, body: web::Json<Login>) -> ApiResult<HttpResponse> {
    let (token, principal) = throttled(
        &state,
        &body.login,
        state.hub.store().sign_in_user(&body.login, &body.password),
    )
    .await?;
    tracing::info!(login = %body.login, "user signed in");
    Ok(session_response(&state, token, principal))
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
async fn login_form(state: web::Data<AppState>, next: web::Query<Next>, body: web::Form<LoginForm>) -> HttpResponse {
    use actix_web::http::header::LOCATION;
    let next = safe_next(next.next.as_deref());
    let signed = throttled(
        &state,
        &body.login,
        state.hub.store().sign_in_user(&body.login, &body.password),
    )
    .await;
    match signed {
        Ok((token, _)) => {
            tracing::info!(login = %body.login, "user signed in (form)");
            HttpResponse::SeeOther()
                .cookie(session_cookie(&state, token))
                .insert_header((LOCATION, next))
                .finish()
        }
        Err(e) => {
            let query = serde_urlencoded::to_string([("next", next), ("failed", e.code())]).unwrap_or_default();
            let back = format!("/login?{query}");
            HttpResponse::SeeOther().insert_header((LOCATION, back)).finish()
        }
    }
}

async fn device(state: web::Data<AppState>, body: web::Json<DeviceLogin>) -> ApiResult<HttpResponse> {
    let (token, principal) = throttled(
        &state,
        &body.login,
        state.hub.store().sign_in_device(&body.login, &body.secret),
    )
    .await?;
    tracing::info!(device = %body.login, "device signed in");
    Ok(session_response(&state, token, principal))
}

async fn logout(state: web::Data<AppState>, req: HttpRequest) -> ApiResult<HttpResponse> {
    if let Some(token) = token_of(&req) {
        // An operator who signs out leaves their window: queues stop counting them as serving.
        if let Ok(Principal {
            kind: PrincipalKind::User { user_id, .. },
            ..
        }) = state.hub.store().principal(&token).await
        {
            if let Err(e) = ask(&state.hub.operator(user_id), SetPresence(Presence::Offline)).await {
                tracing::warn!(user = user_id, error = %e, "could not set presence offline at sign-out");
            }
        }
        state.sessions.forget(&token);
        state.hub.store().sign_out(&token).await?;
    }
    let mut gone = Cookie::build(SESSION_COOKIE, "").path("/").finish();
    gone.make_removal();
    Ok(HttpResponse::NoContent().cookie(gone).finish())
}

async fn me(who: Signed) -> HttpResponse {
    HttpResponse::Ok().json(who.0)
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/auth/login", web::post().to(login))
        .route("/login", web::post().to(login_form))
        .route("/api/auth/device", web::post().to(device))
        .route("/api/auth/logout", web::post().to(logout))
        .route("/api/me", web::get().to(me));
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
