//! A branch's layout: the kiosk's menu of services (groups, prefixes, order) and its windows.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::{change, json_of};
use crate::audit::record;
use crate::auth::Admin;
use crate::{ApiResult, AppState};
use hub_actors::store::layout::ServiceEdit;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ServiceBody {
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

pub(super) async fn add_service(
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
pub(super) struct ServicePatch {
    #[serde(default)]
    name_ru: Option<String>,
    #[serde(default)]
    name_en: Option<String>,
}

pub(super) async fn patch_service(
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
pub(super) async fn remove_service(
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
pub(super) struct MenuOrder {
    /// The group whose entries these are; null: the top of the menu.
    #[serde(default)]
    parent_id: Option<i64>,
    ids: Vec<i64>,
}

/// Puts one level of the kiosk's menu in a new order.
pub(super) async fn order_services(
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

pub(super) async fn patch_window(
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
pub(super) async fn remove_window(
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
pub(super) struct WindowBody {
    label: String,
}

pub(super) async fn add_window(
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
