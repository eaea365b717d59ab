//! The organisation's regions: the tree its branches are filed in, made, renamed, moved and
//! taken away (once empty) in the back office.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::{change, json_of, some_or_null};
use crate::audit::record;
use crate::auth::Admin;
use crate::{ApiResult, AppState};

pub(super) async fn list(state: web::Data<AppState>, admin: Admin) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(state.hub.store().regions(admin.org_id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewRegion {
    name: String,
    /// The region it sits in; none: at the top.
    #[serde(default)]
    parent_id: Option<i64>,
}

pub(super) async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: Admin,
    body: web::Json<NewRegion>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    let region = state
        .hub
        .store()
        .create_region(admin.org_id, &b.name, b.parent_id)
        .await?;
    record(
        &state,
        &req,
        change("region", "create", Some(region.id), None, json_of(&region)),
    )
    .await;
    Ok(HttpResponse::Created().json(region))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RegionPatch {
    #[serde(default)]
    name: Option<String>,
    /// Another region to sit in, or null for the top.
    #[serde(default, deserialize_with = "some_or_null")]
    parent_id: Option<Option<i64>>,
}

/// Renames a region or moves it, with everything filed in it.
pub(super) async fn edit(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: Admin,
    path: web::Path<i64>,
    body: web::Json<RegionPatch>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    let store = state.hub.store();
    let before = store.region(admin.org_id, *path).await?;
    let after = store
        .edit_region(admin.org_id, *path, b.name.as_deref(), b.parent_id)
        .await?;
    record(
        &state,
        &req,
        change("region", "edit", Some(after.id), json_of(&before), json_of(&after)),
    )
    .await;
    Ok(HttpResponse::Ok().json(after))
}

/// Takes a region away; refused while branches or sub-regions are filed in it.
pub(super) async fn remove(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: Admin,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let gone = state.hub.store().remove_region(admin.org_id, *path).await?;
    record(
        &state,
        &req,
        change("region", "remove", Some(gone.id), json_of(&gone), None),
    )
    .await;
    Ok(HttpResponse::NoContent().finish())
}
