//! Setting an organisation up: branches, their menus and windows, kiosks and boards, people.
//! Admins only, and only inside their own organisation.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use crate::audit::record;
use crate::auth::Admin;
use crate::error::bad;
use crate::{ApiResult, AppState};
use hub_actors::{
    model::{
        branch::BranchSettings,
        field::FieldError,
        person::Gender,
        role::{DeviceKind, Role},
        routing::{Policy, Step, Strategy},
        schedule::{Exception, Schedule},
    },
    store::{audit::Change, layout::ServiceEdit, org::Branch, people::UserEdit, random_token},
    Error,
};
use serde_json::json;

/// A routing rule that is wrong, named by its field.
fn routing_field(e: hub_actors::model::routing::RoutingError) -> Error {
    use hub_actors::model::routing::RoutingError as R;
    match e {
        R::UnknownStrategy(_) => bad(
            "strategy",
            "one_of",
            json!({"values": "longest_idle, round_robin, fewest_active, skills"}),
        ),
        R::StepsNotWidening => bad("steps", "steps_widening", json!({})),
        R::ProficiencyRange => bad("steps", "range", json!({"min": 0, "max": 5})),
        R::Limits => bad("offer_secs", "range", json!({"min": 5, "max": 600})),
    }
}

fn lang(l: Option<String>) -> Result<String, Error> {
    match l.as_deref().unwrap_or("ru") {
        l @ ("ru" | "en") => Ok(l.to_string()),
        _ => Err(bad("lang", "lang", json!({}))),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BranchBody {
    name: String,
    timezone: String,
    #[serde(default)]
    address: Option<String>,
    #[serde(default)]
    lang: Option<String>,
    /// `{"mon": "09:00-18:00", ...}`; a day left out is closed.
    schedule: Schedule,
    /// The days unlike the week: `[{"date": "2027-01-01", "hours": null, "note": "New Year"}]`.
    #[serde(default)]
    holidays: Vec<Exception>,
    #[serde(default)]
    recalls_before_no_show: Option<i64>,
    #[serde(default)]
    board_size: Option<i64>,
    #[serde(default)]
    vip_code: Option<String>,
}

/// A branch as the back office edits it: its settings with the week and holidays as data, and
/// whether a VIP code is set (the code itself is not shown again).
#[derive(Serialize)]
struct BranchView {
    id: i64,
    name: String,
    address: String,
    timezone: String,
    lang: String,
    schedule: Schedule,
    holidays: Vec<Exception>,
    recalls_before_no_show: i64,
    board_size: i64,
    vip_code_set: bool,
    open_now: bool,
}

impl From<&Branch> for BranchView {
    fn from(b: &Branch) -> Self {
        Self {
            id: b.id,
            name: b.name.clone(),
            address: b.address.clone(),
            timezone: b.timezone.clone(),
            lang: b.lang.clone(),
            schedule: b.schedule(),
            holidays: b.holidays(),
            recalls_before_no_show: b.recalls_before_no_show,
            board_size: b.board_size,
            vip_code_set: b.vip_code.is_some(),
            open_now: b.is_open_now(),
        }
    }
}

async fn add_branch(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: Admin,
    body: web::Json<BranchBody>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    let settings = BranchSettings {
        name: b.name,
        address: b.address.unwrap_or_default(),
        timezone: b.timezone,
        lang: b.lang.unwrap_or_else(|| "ru".into()),
        schedule: b.schedule,
        holidays: b.holidays,
        recalls_before_no_show: b.recalls_before_no_show.unwrap_or(1),
        board_size: b.board_size.unwrap_or(8),
        vip_code: b.vip_code.filter(|c| !c.is_empty()),
    };
    let store = state.hub.store();
    let id = store.create_branch(admin.org_id, &settings).await?;
    tracing::info!(branch = id, by = admin.user_id, "branch added");
    let branch = store.branch(admin.org_id, id).await?;
    record(
        &state,
        &req,
        change("branch", "create", Some(id), None, json_of(&BranchView::from(&branch))),
    )
    .await;
    Ok(HttpResponse::Created().json(branch))
}

async fn branches(state: web::Data<AppState>, admin: Admin) -> ApiResult<HttpResponse> {
    let list = state.hub.store().branches(admin.org_id).await?;
    Ok(HttpResponse::Ok().json(list.iter().map(BranchView::from).collect::<Vec<_>>()))
}

/// A branch's settings to change; what is left out stays.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BranchPatch {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    address: Option<String>,
    #[serde(default)]
    timezone: Option<String>,
    #[serde(default)]
    lang: Option<String>,
    #[serde(default)]
    schedule: Option<Schedule>,
    #[serde(default)]
    holidays: Option<Vec<Exception>>,
    #[serde(default)]
    recalls_before_no_show: Option<i64>,
    #[serde(default)]
    board_size: Option<i64>,
    /// A new code, or null (or "") for no VIP tickets.
    #[serde(default, deserialize_with = "some_or_null")]
    vip_code: Option<Option<String>>,
}

/// Edits a branch: its name, address, zone, language, week, holidays and queue rules. Its boards
/// and the operators at its windows take the change at once.
async fn patch_branch(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: Admin,
    path: web::Path<i64>,
    body: web::Json<BranchPatch>,
) -> ApiResult<HttpResponse> {
    let p = body.into_inner();
    let old = state.hub.store().branch(admin.org_id, *path).await?;
    let mut s = old.settings();
    s.name = p.name.unwrap_or(s.name);
    s.address = p.address.unwrap_or(s.address);
    s.timezone = p.timezone.unwrap_or(s.timezone);
    s.lang = p.lang.unwrap_or(s.lang);
    s.schedule = p.schedule.unwrap_or(s.schedule);
    s.holidays = p.holidays.unwrap_or(s.holidays);
    s.recalls_before_no_show = p.recalls_before_no_show.unwrap_or(s.recalls_before_no_show);
    s.board_size = p.board_size.unwrap_or(s.board_size);
    if let Some(code) = p.vip_code {
        s.vip_code = code.filter(|c| !c.is_empty());
    }
    let branch = state.hub.update_branch(admin.org_id, *path, &s).await?;
    record(
        &state,
        &req,
        change(
            "branch",
            "edit",
            Some(branch.id),
            json_of(&BranchView::from(&old)),
            json_of(&BranchView::from(&branch)),
        ),
    )
    .await;
    tracing::info!(branch = branch.id, by = admin.user_id, "branch changed");
    Ok(HttpResponse::Ok().json(BranchView::from(&branch)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ServiceBody {
    name_ru: String,
    name_en: String,
    /// One to three Latin capitals; leave out for a menu group.
    #[serde(default)]
    prefix: Option<String>,
    #[serde(default)]
    parent_id: Option<i64>,
    #[serde(default)]
    position: Option<i64>,
}

async fn add_service(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: Admin,
    path: web::Path<i64>,
    body: web::Json<ServiceBody>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    let service = state
        .hub
        .store()
        .add_service(
            admin.org_id,
            *path,
            b.parent_id,
            (b.name_ru.trim(), b.name_en.trim()),
            b.prefix.as_deref(),
            b.position.unwrap_or(0),
        )
        .await?;
    record(
        &state,
        &req,
        change("service", "create", Some(service.id), None, json_of(&service)),
    )
    .await;
    Ok(HttpResponse::Created().json(service))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ServicePatch {
    #[serde(default)]
    name_ru: Option<String>,
    #[serde(default)]
    name_en: Option<String>,
}

async fn patch_service(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: Admin,
    path: web::Path<i64>,
    body: web::Json<ServicePatch>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    let store = state.hub.store();
    let before = store.service_in_menu(admin.org_id, *path).await.ok().map(|(s, _)| s);
    let edit = ServiceEdit {
        name_ru: b.name_ru.as_deref(),
        name_en: b.name_en.as_deref(),
    };
    let service = store.edit_service(admin.org_id, *path, &edit).await?;
    record(
        &state,
        &req,
        change(
            "service",
            "edit",
            Some(service.id),
            before.as_ref().and_then(json_of),
            json_of(&service),
        ),
    )
    .await;
    Ok(HttpResponse::Ok().json(service))
}

/// Takes a service or an empty group off the kiosk's menu, once nobody waits for it.
async fn remove_service(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: Admin,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let service = state.hub.store().retire_service(admin.org_id, *path).await?;
    record(
        &state,
        &req,
        change("service", "remove", Some(service.id), json_of(&service), None),
    )
    .await;
    tracing::info!(service = service.id, by = admin.user_id, "service taken off the menu");
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MenuOrder {
    /// The group whose entries these are; null: the top of the menu.
    #[serde(default)]
    parent_id: Option<i64>,
    ids: Vec<i64>,
}

/// Puts one level of the kiosk's menu in a new order.
async fn order_services(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: Admin,
    path: web::Path<i64>,
    body: web::Json<MenuOrder>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    state
        .hub
        .store()
        .order_services(admin.org_id, *path, b.parent_id, &b.ids)
        .await?;
    record(
        &state,
        &req,
        change(
            "branch",
            "menu_order",
            Some(*path),
            None,
            Some(serde_json::json!({ "parent_id": b.parent_id, "ids": b.ids })),
        ),
    )
    .await;
    Ok(HttpResponse::NoContent().finish())
}

async fn patch_window(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: Admin,
    path: web::Path<i64>,
    body: web::Json<WindowBody>,
) -> ApiResult<HttpResponse> {
    let store = state.hub.store();
    let before = store.window(admin.org_id, *path).await?;
    let window = store.relabel_window(admin.org_id, *path, &body.label).await?;
    record(
        &state,
        &req,
        change("window", "edit", Some(window.id), json_of(&before), json_of(&window)),
    )
    .await;
    Ok(HttpResponse::Ok().json(window))
}

/// Takes a window off the branch, once nobody works at it.
async fn remove_window(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: Admin,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let window = state.hub.store().retire_window(admin.org_id, *path).await?;
    record(
        &state,
        &req,
        change("window", "remove", Some(window.id), json_of(&window), None),
    )
    .await;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WindowBody {
    label: String,
}

async fn add_window(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: Admin,
    path: web::Path<i64>,
    body: web::Json<WindowBody>,
) -> ApiResult<HttpResponse> {
    let window = state.hub.store().add_window(admin.org_id, *path, &body.label).await?;
    record(
        &state,
        &req,
        change("window", "create", Some(window.id), None, json_of(&window)),
    )
    .await;
    Ok(HttpResponse::Created().json(window))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeviceBody {
    kind: DeviceKind,
    login: String,
    name: String,
    #[serde(default)]
    lang: Option<String>,
}

/// A new device and its secret. The secret is shown this once; only its hash is kept.
#[derive(Serialize)]
struct NewDevice {
    id: i64,
    branch_id: i64,
    kind: DeviceKind,
    login: String,
    name: String,
    secret: String,
}

async fn add_device(
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserBody {
    login: String,
    name: String,
    role: Role,
    password: String,
    #[serde(default)]
    lang: Option<String>,
    #[serde(default)]
    gender: Option<Gender>,
    /// The branches the user works in; none: every branch.
    #[serde(default)]
    branch_ids: Vec<i64>,
}

async fn add_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: Admin,
    body: web::Json<UserBody>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    let lang = b.lang.unwrap_or_else(|| "ru".into());
    UserEdit {
        name: Some(&b.name),
        lang: Some(&lang),
        ..Default::default()
    }
    .validate()
    .map_err(Error::from)?;
    hub_actors::model::password::check(&b.password).map_err(Error::from)?;
    let store = state.hub.store();
    for branch in &b.branch_ids {
        store
            .branch(admin.org_id, *branch)
            .await
            .map_err(|_| Error::Field(FieldError::new("branch_ids", "not_found", serde_json::json!({}))))?;
    }
    let id = store
        .create_user(admin.org_id, &b.login, b.name.trim(), b.role, &b.password, &lang)
        .await?;
    tracing::info!(login = %b.login, role = b.role.as_str(), by = admin.user_id, "user added");
    let user = match b.gender {
        Some(g) => store.set_user_gender(admin.org_id, id, Some(g)).await?,
        None => store.user(id).await?,
    };
    store.set_user_branches(admin.org_id, id, &b.branch_ids).await?;
    let view = UserView {
        branch_ids: store.user_branches(id).await?,
        user,
        skills: None,
    };
    record(&state, &req, change("user", "create", Some(id), None, json_of(&view))).await;
    Ok(HttpResponse::Created().json(view))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserPatch {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    role: Option<Role>,
    #[serde(default)]
    lang: Option<String>,
    /// "f", "m", or null to clear: how Russian pages speak of the user.
    #[serde(default, deserialize_with = "some_or_null")]
    gender: Option<Option<Gender>>,
    /// Chats held at once.
    #[serde(default)]
    chat_capacity: Option<i64>,
    /// The branches the user works in; empty: every branch.
    #[serde(default)]
    branch_ids: Option<Vec<i64>>,
    #[serde(default)]
    disabled: Option<bool>,
}

/// Tells a field sent as null (clear it) from one not sent at all (leave it).
fn some_or_null<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// A user as the back office lists them: with the branches they work in (and, in the list,
/// their skills).
#[derive(Serialize)]
struct UserView {
    #[serde(flatten)]
    user: hub_actors::store::UserRow,
    branch_ids: Vec<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    skills: Option<Vec<SkillItem>>,
}

/// Edits a user: name, role, language, gender, chat capacity, branches; disables them (they
/// cannot sign in, and every session of theirs ends at once on every node) or enables them
/// again. An admin cannot disable themselves or change their own role. A new role ends the
/// user's sessions, so their next sign-in carries it.
async fn patch_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: Admin,
    path: web::Path<i64>,
    body: web::Json<UserPatch>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let self_edit = *path == admin.user_id;
    if self_edit && body.disabled == Some(true) {
        return Err(Error::Field(FieldError::new("disabled", "not_yourself", serde_json::json!({}))).into());
    }
    let store = state.hub.store();
    let user = store.user(*path).await?;
    if user.org_id != admin.org_id {
        return Err(Error::NotFound("user").into());
    }
    if self_edit && body.role.is_some_and(|r| r.as_str() != user.role) {
        return Err(Error::Field(FieldError::new("role", "not_yourself", serde_json::json!({}))).into());
    }
    let before = json_of(&UserView {
        branch_ids: store.user_branches(user.id).await?,
        user,
        skills: None,
    });
    let role_changes = body
        .role
        .is_some_and(|r| before.as_ref().and_then(|b| b["role"].as_str()) != Some(r.as_str()));
    let edit = UserEdit {
        name: body.name.as_deref(),
        role: body.role.filter(|_| role_changes),
        lang: body.lang.as_deref(),
        chat_capacity: body.chat_capacity,
    };
    let mut user = store.edit_user(admin.org_id, *path, &edit).await?;
    if let Some(gender) = body.gender {
        user = store.set_user_gender(admin.org_id, *path, gender).await?;
    }
    if let Some(branches) = &body.branch_ids {
        store
            .set_user_branches(admin.org_id, *path, branches)
            .await
            .map_err(|e| match e {
                Error::NotFound(_) => Error::Field(FieldError::new("branch_ids", "not_found", serde_json::json!({}))),
                other => other,
            })?;
    }
    if let Some(disabled) = body.disabled {
        user = store.set_user_disabled(admin.org_id, *path, disabled).await?;
    }
    let verb = match body.disabled {
        Some(true) => "disable",
        Some(false) => "enable",
        None => "edit",
    };
    let view = UserView {
        branch_ids: store.user_branches(user.id).await?,
        user,
        skills: None,
    };
    record(
        &state,
        &req,
        change("user", verb, Some(view.user.id), before, json_of(&view)),
    )
    .await;
    if body.disabled == Some(true) || role_changes {
        state
            .end_sessions(
                admin.org_id,
                crate::sessions::Ended {
                    user_id: Some(view.user.id),
                    ..Default::default()
                },
            )
            .await;
    }
    tracing::info!(user = view.user.id, disabled = ?body.disabled, by = admin.user_id, "user changed");
    Ok(HttpResponse::Ok().json(view))
}

/// A new secret for a device (shown once, like at its creation): the screen signed in with the
/// old one is signed out at once and signs in with the new one.
async fn rotate_device_secret(
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

const LOOK_LIMIT: usize = 160 * 1024;

/// A change for the audit trail: `object.verb`, the object, and how it was and is.
fn change(
    object_kind: &'static str,
    verb: &str,
    object_id: Option<i64>,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> Change {
    Change {
        action: hub_actors::model::audit::action_name(object_kind, verb),
        object_kind,
        object_id,
        before,
        after,
    }
}

fn json_of<T: Serialize>(v: &T) -> Option<serde_json::Value> {
    serde_json::to_value(v).ok()
}

/// A board's template or a kiosk's options, as the back office edits them.
async fn device_look(state: web::Data<AppState>, admin: Admin, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let (org_id, _) = state.hub.store().device_branch(*path).await?;
    if org_id != admin.org_id {
        return Err(hub_actors::Error::NotFound("device").into());
    }
    Ok(HttpResponse::Ok().json(state.hub.store().device_look(*path).await?))
}

async fn set_device_look(
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BreakReasons {
    reasons: Vec<String>,
}

/// Replaces the organisation's break reasons (their order is the list's).
async fn set_break_reasons(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: Admin,
    body: web::Json<BreakReasons>,
) -> ApiResult<HttpResponse> {
    let before = state.hub.store().break_reasons(admin.org_id).await?;
    let reasons = state.hub.store().set_break_reasons(admin.org_id, &body.reasons).await?;
    record(
        &state,
        &req,
        change("break_reasons", "set", None, json_of(&before), json_of(&reasons)),
    )
    .await;
    tracing::info!(by = admin.user_id, n = reasons.len(), "break reasons set");
    Ok(HttpResponse::Ok().json(reasons))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewPassword {
    password: String,
}

/// An admin sets a user's new password (they forgot it): every session of theirs ends.
async fn reset_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: Admin,
    path: web::Path<i64>,
    body: web::Json<NewPassword>,
) -> ApiResult<HttpResponse> {
    let store = state.hub.store();
    let user = store.user(*path).await?;
    if user.org_id != admin.org_id {
        return Err(Error::NotFound("user").into());
    }
    hub_actors::model::password::check(&body.password).map_err(Error::from)?;
    store.set_password(&user.login, &body.password).await?;
    state
        .end_sessions(
            admin.org_id,
            crate::sessions::Ended {
                user_id: Some(user.id),
                ..Default::default()
            },
        )
        .await;
    record(
        &state,
        &req,
        change("user", "reset_password", Some(user.id), None, None),
    )
    .await;
    Ok(HttpResponse::NoContent().finish())
}

async fn devices(state: web::Data<AppState>, admin: Admin) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(state.hub.store().org_devices(admin.org_id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DevicePatch {
    disabled: bool,
}

/// Disables a kiosk or board (its screens are out at once, open sockets included) or enables it.
async fn patch_device(
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
struct PairBody {
    code: String,
}

/// The admin types the code a new screen shows: that screen becomes this device (and signs in
/// as it at once). Wrong codes are counted per organisation.
async fn pair_device(
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditParams {
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    object_id: Option<i64>,
    #[serde(default)]
    before: Option<i64>,
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    limit: Option<i64>,
}

/// The organisation's audit log, newest first; `before` pages back, `q` searches.
async fn audit_log(
    state: web::Data<AppState>,
    admin: Admin,
    params: web::Query<AuditParams>,
) -> ApiResult<HttpResponse> {
    let p = params.into_inner();
    let q = hub_actors::store::audit::AuditQuery {
        object_kind: p.kind.filter(|k| !k.is_empty()),
        object_id: p.object_id,
        before_id: p.before,
        text: p
            .q
            .map(|t| t.trim().chars().take(100).collect::<String>())
            .filter(|t| !t.is_empty()),
        limit: p.limit.unwrap_or(50),
    };
    Ok(HttpResponse::Ok().json(state.hub.store().audit_log(admin.org_id, &q).await?))
}

/// The organisation's chat queues with their routing rules, as the back office edits them.
async fn chat_queues(state: web::Data<AppState>, admin: Admin) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(state.hub.store().remote_queues(admin.org_id).await?))
}

async fn users(state: web::Data<AppState>, admin: Admin) -> ApiResult<HttpResponse> {
    let store = state.hub.store();
    let pairs = store.org_user_branches(admin.org_id).await?;
    let skills = store.org_skills(admin.org_id).await?;
    let list: Vec<UserView> = store
        .org_users(admin.org_id)
        .await?
        .into_iter()
        .map(|user| UserView {
            branch_ids: pairs.iter().filter(|(u, _)| *u == user.id).map(|(_, b)| *b).collect(),
            skills: Some(
                skills
                    .iter()
                    .filter(|(u, _, _)| *u == user.id)
                    .map(|&(_, service_id, proficiency)| SkillItem {
                        service_id,
                        proficiency,
                    })
                    .collect(),
            ),
            user,
        })
        .collect();
    Ok(HttpResponse::Ok().json(list))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChatQueueBody {
    name: String,
    #[serde(default)]
    strategy: Option<Strategy>,
    /// Widening steps: `[{"after_secs": 0, "min_proficiency": 4}, {"after_secs": 30, "min_proficiency": 2}]`.
    #[serde(default)]
    steps: Vec<Step>,
    #[serde(default)]
    offer_secs: Option<i64>,
    #[serde(default)]
    missed_limit: Option<i64>,
    /// The key a customer's site puts in the widget's script tag; none: no widget.
    #[serde(default)]
    widget_key: Option<String>,
}

/// A queue for remote channels (chats, later calls, e-mail, Telegram) at a branch, whose working
/// hours it keeps.
async fn add_chat_queue(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<i64>,
    body: web::Json<ChatQueueBody>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    if b.name.trim().is_empty() || b.name.chars().count() > 200 {
        return Err(bad("name", "range", json!({"min": 1, "max": 200})).into());
    }
    let strategy = b.strategy.unwrap_or(Strategy::LongestIdle);
    let offer_secs = b.offer_secs.unwrap_or(20);
    let missed = b.missed_limit.unwrap_or(3);
    Policy::checked(strategy, b.steps.clone(), offer_secs, missed).map_err(routing_field)?;
    if let Some(k) = &b.widget_key {
        if k.is_empty() || k.len() > 64 || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(bad("widget_key", "widget_key_form", json!({})).into());
        }
    }
    let steps = serde_json::to_string(&b.steps).map_err(|e| Error::Internal(e.to_string()))?;
    let q = state
        .hub
        .store()
        .add_remote_queue(
            admin.org_id,
            *path,
            b.name.trim(),
            strategy.as_str(),
            &steps,
            offer_secs,
            missed,
            b.widget_key.as_deref(),
        )
        .await?;
    tracing::info!(queue = q.id, strategy = strategy.as_str(), "chat queue added");
    Ok(HttpResponse::Created().json(q))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SkillsBody {
    /// Service (visit or remote queue) → proficiency 1–5.
    skills: Vec<SkillItem>,
    #[serde(default)]
    chat_capacity: Option<i64>,
    #[serde(default)]
    wrap_up_secs: Option<i64>,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct SkillItem {
    service_id: i64,
    proficiency: i64,
}

/// An operator's skills (the list replaces the ones they had), chat capacity and wrap-up time
/// (each kept as it was when left out).
async fn set_skills(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<i64>,
    body: web::Json<SkillsBody>,
) -> ApiResult<HttpResponse> {
    let store = state.hub.store();
    let user = store.user(*path).await?;
    if user.org_id != admin.org_id {
        return Err(Error::NotFound("user").into());
    }
    let b = body.into_inner();
    let (old_capacity, old_wrap_up) = store.operator_limits(user.id).await?;
    let capacity = b.chat_capacity.unwrap_or(old_capacity);
    let wrap_up = b.wrap_up_secs.unwrap_or(old_wrap_up);
    if !(0..=50).contains(&capacity) {
        return Err(bad("chat_capacity", "range", json!({"min": 0, "max": 50})).into());
    }
    if !(0..=3600).contains(&wrap_up) {
        return Err(bad("wrap_up_secs", "range", json!({"min": 0, "max": 3600})).into());
    }
    // Everything is checked before anything is written.
    let mut skills = Vec::new();
    for s in &b.skills {
        if !(1..=5).contains(&s.proficiency) {
            return Err(bad("skills", "range", json!({"min": 1, "max": 5})).into());
        }
        if store.service_org(s.service_id).await? != Some(admin.org_id) {
            return Err(Error::NotFound("service").into());
        }
        if skills.iter().any(|(id, _)| *id == s.service_id) {
            return Err(bad("skills", "duplicate", json!({ "value": s.service_id })).into());
        }
        skills.push((s.service_id, s.proficiency));
    }
    store.replace_skills(user.id, &skills, capacity, wrap_up).await?;
    // The operator's actor learns whether they may now work without a window.
    state
        .hub
        .operator(user.id)
        .do_send(hub_actors::actors::operator::Reload);
    let skills: Vec<serde_json::Value> = store
        .skills(user.id)
        .await?
        .into_iter()
        .map(|(service_id, proficiency)| serde_json::json!({"service_id": service_id, "proficiency": proficiency}))
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "user_id": user.id,
        "skills": skills,
        "chat_capacity": capacity,
        "wrap_up_secs": wrap_up,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoutingBody {
    strategy: Strategy,
    #[serde(default)]
    steps: Vec<Step>,
    #[serde(default)]
    offer_secs: Option<i64>,
    #[serde(default)]
    missed_limit: Option<i64>,
}

/// The routing policy of any service: a visit service's widening steps apply at call-next, a
/// remote queue's whole policy to offers.
async fn set_routing(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<i64>,
    body: web::Json<RoutingBody>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    let store = state.hub.store();
    if store.service_org(*path).await? != Some(admin.org_id) {
        return Err(Error::NotFound("service").into());
    }
    let (old_offer, old_missed) = store.offer_limits(*path).await?;
    let offer_secs = b.offer_secs.unwrap_or(old_offer);
    let missed = b.missed_limit.unwrap_or(old_missed);
    Policy::checked(b.strategy, b.steps.clone(), offer_secs, missed).map_err(routing_field)?;
    let steps = serde_json::to_string(&b.steps).map_err(|e| Error::Internal(e.to_string()))?;
    store
        .set_routing(*path, b.strategy.as_str(), &steps, offer_secs, missed)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/admin/branches", web::post().to(add_branch))
        .route("/api/admin/branches", web::get().to(branches))
        .route("/api/admin/branches/{id}", web::patch().to(patch_branch))
        .route("/api/admin/branches/{id}/service-order", web::put().to(order_services))
        .route("/api/admin/services/{id}", web::patch().to(patch_service))
        .route("/api/admin/services/{id}", web::delete().to(remove_service))
        .route("/api/admin/windows/{id}", web::patch().to(patch_window))
        .route("/api/admin/windows/{id}", web::delete().to(remove_window))
        .route("/api/admin/branches/{id}/services", web::post().to(add_service))
        .route("/api/admin/branches/{id}/windows", web::post().to(add_window))
        .route("/api/admin/branches/{id}/devices", web::post().to(add_device))
        .route("/api/admin/users", web::post().to(add_user))
        .route("/api/admin/users", web::get().to(users))
        .route("/api/admin/chat-queues", web::get().to(chat_queues))
        .route("/api/admin/break-reasons", web::put().to(set_break_reasons))
        .route("/api/admin/audit", web::get().to(audit_log))
        .route("/api/admin/devices/{id}/pair", web::post().to(pair_device))
        .route("/api/admin/devices", web::get().to(devices))
        .route("/api/admin/users/{id}/password", web::put().to(reset_password))
        .route("/api/admin/devices/{id}", web::patch().to(patch_device))
        .route("/api/admin/users/{id}", web::patch().to(patch_user))
        .route("/api/admin/devices/{id}/secret", web::post().to(rotate_device_secret))
        .service(
            web::resource("/api/admin/devices/{id}/look")
                // A look carries its logo inline (96 KiB as base64 and the rest).
                .app_data(crate::json_config(LOOK_LIMIT))
                .route(web::get().to(device_look))
                .route(web::put().to(set_device_look)),
        )
        .route("/api/admin/branches/{id}/chat-queues", web::post().to(add_chat_queue))
        .route("/api/admin/users/{id}/skills", web::put().to(set_skills))
        .route("/api/admin/services/{id}/routing", web::put().to(set_routing));
}
