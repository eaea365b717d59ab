//! Board templates the organisation names and keeps apart from its boards: made, renamed, given
//! a new look (every board following it shows it at once), removed (its boards keep the look as
//! their own), and followed by a board or not.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::{change, json_of, some_or_null};
use crate::audit::record;
use crate::auth::Admin;
use crate::{ApiResult, AppState};

pub(super) async fn list(state: web::Data<AppState>, admin: Admin) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(state.hub.store().board_templates(admin.org_id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewTemplate {
    name: String,
    /// A board's look; absent fields keep their defaults.
    #[serde(default = "empty_look")]
    look: serde_json::Value,
}

fn empty_look() -> serde_json::Value {
    serde_json::json!({})
}

pub(super) async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: Admin,
    body: web::Json<NewTemplate>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    let template = state
        .hub
        .store()
        .create_board_template(admin.org_id, &b.name, b.look)
        .await?;
    record(
        &state,
        &req,
        change("board_template", "create", Some(template.id), None, json_of(&template)),
    )
    .await;
    Ok(HttpResponse::Created().json(template))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TemplatePatch {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    look: Option<serde_json::Value>,
}

/// Renames a template or gives it a new look: each board following it, on every node, shows
/// the new look at once.
pub(super) async fn edit(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: Admin,
    path: web::Path<i64>,
    body: web::Json<TemplatePatch>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    let store = state.hub.store();
    let before = store.board_template(admin.org_id, *path).await?;
    let looks_new = b.look.is_some();
    let after = store
        .edit_board_template(admin.org_id, *path, b.name.as_deref(), b.look)
        .await?;
    if looks_new {
        for board in &after.boards {
            state.hub.device_changed(admin.org_id, *board).await;
        }
    }
    record(
        &state,
        &req,
        change(
            "board_template",
            "edit",
            Some(after.id),
            json_of(&before),
            json_of(&after),
        ),
    )
    .await;
    Ok(HttpResponse::Ok().json(after))
}

/// Removes a template; the boards that followed it keep its look as their own.
pub(super) async fn remove(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: Admin,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let removed = state.hub.store().remove_board_template(admin.org_id, *path).await?;
    record(
        &state,
        &req,
        change("board_template", "remove", Some(removed.id), json_of(&removed), None),
    )
    .await;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Follow {
    /// The template to follow; null: the board's own look again.
    #[serde(deserialize_with = "some_or_null")]
    template_id: Option<Option<i64>>,
}

/// Makes a board follow a template (or none): its screens show the look at once.
pub(super) async fn follow(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: Admin,
    path: web::Path<i64>,
    body: web::Json<Follow>,
) -> ApiResult<HttpResponse> {
    let template_id = body.into_inner().template_id.flatten();
    let store = state.hub.store();
    let (org_id, _) = store.device_branch(*path).await?;
    let before = if org_id == admin.org_id {
        store.device_look_and_template(*path).await.ok().map(|(_, t)| t)
    } else {
        None
    };
    store.follow_board_template(admin.org_id, *path, template_id).await?;
    state.hub.device_changed(admin.org_id, *path).await;
    record(
        &state,
        &req,
        change(
            "device",
            "template",
            Some(*path),
            before.map(|t| serde_json::json!({ "template_id": t })),
            Some(serde_json::json!({ "template_id": template_id })),
        ),
    )
    .await;
    Ok(HttpResponse::NoContent().finish())
}
