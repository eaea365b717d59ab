//! The people of the organisation: added, edited, disabled, a password reset, chat skills.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use super::{change, json_of, some_or_null};
use crate::audit::record;
use crate::auth::Admin;
use crate::error::bad;
use crate::{ApiResult, AppState};
use hub_actors::{
    model::{
        field::FieldError,
        person::Gender,
        role::Role,
        user::{UserEdit, MAX_CHAT_CAPACITY},
    },
    Error,
};
use serde_json::json;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct UserBody {
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
    /// The windows they may sit at; at a branch where none is listed: any of its windows.
    #[serde(default)]
    window_ids: Vec<i64>,
}

pub(super) async fn add_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: Admin,
    body: web::Json<UserBody>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    let lang = b.lang.unwrap_or_else(|| "ru".into());
    // Checked whole before the user exists, so a refused value leaves nobody half made.
    let rest = UserEdit {
        gender: b.gender.map(Some),
        branch_ids: Some(&b.branch_ids),
        window_ids: Some(&b.window_ids),
        ..Default::default()
    };
    UserEdit {
        name: Some(&b.name),
        lang: Some(&lang),
        ..rest.clone()
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
    for window in &b.window_ids {
        store
            .window(admin.org_id, *window)
            .await
            .map_err(|_| Error::Field(FieldError::new("window_ids", "not_found", serde_json::json!({}))))?;
    }
    let id = store
        .create_user(admin.org_id, &b.login, b.name.trim(), b.role, &b.password, &lang)
        .await?;
    tracing::info!(login = %b.login, role = b.role.as_str(), by = admin.user_id, "user added");
    let user = store.edit_user(admin.org_id, id, &rest).await?;
    let view = UserView {
        branch_ids: store.user_branches(id).await?,
        window_ids: store.user_windows(id).await?,
        user,
        skills: None,
    };
    record(&state, &req, change("user", "create", Some(id), None, json_of(&view))).await;
    Ok(HttpResponse::Created().json(view))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct UserPatch {
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
    /// Mail threads held at once.
    #[serde(default)]
    mail_capacity: Option<i64>,
    /// The branches the user works in; empty: every branch.
    #[serde(default)]
    branch_ids: Option<Vec<i64>>,
    /// The windows they may sit at; at a branch where none is listed: any of its windows.
    #[serde(default)]
    window_ids: Option<Vec<i64>>,
    #[serde(default)]
    disabled: Option<bool>,
}

/// A user as the back office lists them: with the branches they work in (and, in the list,
/// their skills).
#[derive(Serialize)]
pub(super) struct UserView {
    #[serde(flatten)]
    user: hub_actors::store::UserRow,
    branch_ids: Vec<i64>,
    window_ids: Vec<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    skills: Option<Vec<SkillItem>>,
}

/// Edits a user: name, role, language, gender, chat capacity, branches; disables them (they
/// cannot sign in, and every session of theirs ends at once on every node) or enables them
/// again. An admin cannot disable themselves or change their own role. A new role ends the
/// user's sessions, so their next sign-in carries it.
pub(super) async fn patch_user(
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
    let edit = UserEdit {
        name: body.name.as_deref(),
        role: body.role,
        lang: body.lang.as_deref(),
        gender: body.gender,
        chat_capacity: body.chat_capacity,
        mail_capacity: body.mail_capacity,
        branch_ids: body.branch_ids.as_deref(),
        window_ids: body.window_ids.as_deref(),
        disabled: body.disabled,
    };
    let signs_out = edit.ends_sessions(Role::parse(&user.role).unwrap_or(Role::Operator));
    let before = json_of(&UserView {
        branch_ids: store.user_branches(user.id).await?,
        window_ids: store.user_windows(user.id).await?,
        user,
        skills: None,
    });
    let user = store.edit_user(admin.org_id, *path, &edit).await?;
    let verb = match body.disabled {
        Some(true) => "disable",
        Some(false) => "enable",
        None => "edit",
    };
    let view = UserView {
        branch_ids: store.user_branches(user.id).await?,
        window_ids: store.user_windows(user.id).await?,
        user,
        skills: None,
    };
    record(
        &state,
        &req,
        change("user", verb, Some(view.user.id), before, json_of(&view)),
    )
    .await;
    if signs_out {
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewPassword {
    password: String,
}

/// An admin sets a user's new password (they forgot it): every session of theirs ends.
pub(super) async fn reset_password(
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

pub(super) async fn users(state: web::Data<AppState>, admin: Admin) -> ApiResult<HttpResponse> {
    let store = state.hub.store();
    let pairs = store.org_user_branches(admin.org_id).await?;
    let windows = store.org_user_windows(admin.org_id).await?;
    let skills = store.org_skills(admin.org_id).await?;
    let list: Vec<UserView> = store
        .org_users(admin.org_id)
        .await?
        .into_iter()
        .map(|user| UserView {
            branch_ids: pairs.iter().filter(|(u, _)| *u == user.id).map(|(_, b)| *b).collect(),
            window_ids: windows.iter().filter(|(u, _)| *u == user.id).map(|(_, w)| *w).collect(),
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
pub(super) struct SkillsBody {
    /// Service (visit or remote queue) → proficiency 1–5.
    skills: Vec<SkillItem>,
    #[serde(default)]
    chat_capacity: Option<i64>,
    #[serde(default)]
    wrap_up_secs: Option<i64>,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SkillItem {
    service_id: i64,
    proficiency: i64,
}

/// An operator's skills (the list replaces the ones they had), chat capacity and wrap-up time
/// (each kept as it was when left out).
pub(super) async fn set_skills(
    state: web::Data<AppState>,
    req: HttpRequest,
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
    if !(0..=MAX_CHAT_CAPACITY).contains(&capacity) {
        return Err(bad("chat_capacity", "range", json!({"min": 0, "max": MAX_CHAT_CAPACITY})).into());
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
    let before = skills_view(store, user.id, old_capacity, old_wrap_up).await?;
    store.replace_skills(user.id, &skills, capacity, wrap_up).await?;
    // The operator's actor learns whether they may now work without a window.
    state
        .hub
        .operator(user.id)
        .do_send(hub_actors::actors::operator::Reload);
    let after = skills_view(store, user.id, capacity, wrap_up).await?;
    record(
        &state,
        &req,
        change("user", "skills", Some(user.id), Some(before), Some(after.clone())),
    )
    .await;
    Ok(HttpResponse::Ok().json(after))
}

/// An operator's skills and limits, as the API answers and the audit trail keeps them.
async fn skills_view(
    store: &hub_actors::store::Store,
    user_id: i64,
    capacity: i64,
    wrap_up: i64,
) -> Result<serde_json::Value, Error> {
    let skills: Vec<serde_json::Value> = store
        .skills(user_id)
        .await?
        .into_iter()
        .map(|(service_id, proficiency)| json!({"service_id": service_id, "proficiency": proficiency}))
        .collect();
    Ok(json!({
        "user_id": user_id,
        "skills": skills,
        "chat_capacity": capacity,
        "wrap_up_secs": wrap_up,
    }))
}
