//! Kiosks and boards: added, paired by the code a new screen shows, given a new secret,
//! disabled, and their look (a board's template, a kiosk's options).

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use super::{change, json_of, lang};
use crate::audit::record;
use crate::auth::Admin;
use crate::{ApiResult, AppState};
use hub_actors::{model::role::DeviceKind, store::random_token, Error};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DeviceBody {
    kind: DeviceKind,
    login: String,
    name: String,
    #[serde(default)]
    lang: Option<String>,
}

/// A new device and its secret. The secret is shown this once; only its hash is kept.
#[derive(Serialize)]
pub(super) struct NewDevice {
    id: i64,
    branch_id: i64,
    kind: DeviceKind,
    login: String,
    name: String,
    secret: String,
}

pub(super) async fn add_device(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: Admin,
    path: web::Path<i64>,
    body: web::Json<DeviceBody>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    let store = state.hub.store();
    let branch = store.branch(admin.org_id, *path).await?;
    let secret = random_token(12);
    let lang = lang(b.lang)?;
    let id = store
        .create_device(admin.org_id, branch.id, b.kind, &b.login, b.name.trim(), &secret, &lang)
        .await?;
    tracing::info!(device = %b.login, kind = b.kind.as_str(), branch = branch.id, "device added");
    let device = NewDevice {
        id,
        branch_id: branch.id,
        kind: b.kind,
        login: b.login,
        name: b.name,
        secret,
    };
    // The secret is blanked in the trail (model::audit::redact).
    record(
        &state,
        &req,
        change("device", "create", Some(id), None, json_of(&device)),
    )
    .await;
    Ok(HttpResponse::Created().json(device))
}

/// A new secret for a device (shown once, like at its creation): the screen signed in with the
/// old one is signed out at once and signs in with the new one.
pub(super) async fn rotate_device_secret(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: Admin,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let secret = random_token(12);
    state
        .hub
        .store()
        .rotate_device_secret(admin.org_id, *path, &secret)
        .await?;
    state
        .end_sessions(
            admin.org_id,
            crate::sessions::Ended {
                device_id: Some(*path),
                ..Default::default()
            },
        )
        .await;
    tracing::info!(device = *path, by = admin.user_id, "device secret rotated");
    record(&state, &req, change("device", "new_secret", Some(*path), None, None)).await;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "id": *path, "secret": secret })))
}

/// A look carries its pictures inline, as base64: a logo (96 KiB) and a banner image (160 KiB)
/// grow by a third, and the rest is small.
pub(super) const LOOK_LIMIT: usize = 400 * 1024;

/// A board's template or a kiosk's options, as the back office edits them.
pub(super) async fn device_look(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let (org_id, _) = state.hub.store().device_branch(*path).await?;
    if org_id != admin.org_id {
        return Err(hub_actors::Error::NotFound("device").into());
    }
    let (look, template_id) = state.hub.store().device_look_and_template(*path).await?;
    Ok(HttpResponse::Ok().json(DeviceLook { look, template_id }))
}

/// A device's look as the back office reads it: with the board template it follows, if any.
#[derive(Serialize)]
struct DeviceLook {
    #[serde(flatten)]
    look: hub_actors::store::Look,
    template_id: Option<i64>,
}

pub(super) async fn set_device_look(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: Admin,
    path: web::Path<i64>,
    body: web::Json<serde_json::Value>,
) -> ApiResult<HttpResponse> {
    let (org_id, _) = state.hub.store().device_branch(*path).await?;
    let before = if org_id == admin.org_id {
        json_of(&state.hub.store().device_look(*path).await?)
    } else {
        None
    };
    let look = state
        .hub
        .set_device_look(admin.org_id, *path, body.into_inner())
        .await?;
    record(
        &state,
        &req,
        change("device", "look", Some(*path), before, json_of(&look)),
    )
    .await;
    tracing::info!(device = *path, by = admin.user_id, "device look set");
    Ok(HttpResponse::Ok().json(look))
}

pub(super) async fn devices(state: web::Data<AppState>, admin: Admin) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(state.hub.store().org_devices(admin.org_id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DevicePatch {
    disabled: bool,
}

/// Disables a kiosk or board (its screens are out at once, open sockets included) or enables it.
pub(super) async fn patch_device(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: Admin,
    path: web::Path<i64>,
    body: web::Json<DevicePatch>,
) -> ApiResult<HttpResponse> {
    let device = state
        .hub
        .store()
        .set_device_disabled(admin.org_id, *path, body.disabled)
        .await?;
    if body.disabled {
        state
            .end_sessions(
                admin.org_id,
                crate::sessions::Ended {
                    device_id: Some(device.id),
                    ..Default::default()
                },
            )
            .await;
    }
    let verb = if body.disabled { "disable" } else { "enable" };
    record(
        &state,
        &req,
        change("device", verb, Some(device.id), None, json_of(&device)),
    )
    .await;
    Ok(HttpResponse::Ok().json(device))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PairBody {
    code: String,
}

/// The admin types the code a new screen shows: that screen becomes this device (and signs in
/// as it at once). Wrong codes are counted per organisation.
pub(super) async fn pair_device(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: Admin,
    path: web::Path<i64>,
    body: web::Json<PairBody>,
) -> ApiResult<HttpResponse> {
    use hub_actors::model::throttle::{Attempt, Outcome};
    let mut attempt = state.reserve(Attempt::pairing_code(admin.org_id))?;
    let claimed = state.hub.store().claim_pairing(admin.org_id, *path, &body.code).await;
    if matches!(&claimed, Err(Error::Field(f)) if f.field == "code") {
        attempt.outcome = Outcome::Failed;
    } else if claimed.is_ok() {
        attempt.outcome = Outcome::Succeeded;
    }
    claimed?;
    tracing::info!(device = *path, by = admin.user_id, "a screen paired");
    record(&state, &req, change("device", "pair", Some(*path), None, None)).await;
    Ok(HttpResponse::NoContent().finish())
}
