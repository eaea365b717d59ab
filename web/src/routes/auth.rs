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

fn session_response(state: &AppState, token: String, principal: Principal) -> HttpResponse {
    let cookie = Cookie::build(SESSION_COOKIE, token.clone())
        .path("/")
        .http_only(true)
        .secure(state.secure_cookies)
        // Strict keeps the cookie off cross-site requests: with JSON-only endpoints that is the
        // CSRF defence.
        .same_site(SameSite::Strict)
        .finish();
    HttpResponse::Ok().cookie(cookie).json(Session { token, principal })
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
        .route("/api/auth/device", web::post().to(device))
        .route("/api/auth/logout", web::post().to(logout))
        .route("/api/me", web::get().to(me));
}
