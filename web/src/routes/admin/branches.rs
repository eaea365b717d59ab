//! Branches: name, address, time zone, language, the working week and holidays, queue rules.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use super::{change, json_of, some_or_null};
use crate::audit::record;
use crate::auth::Admin;
use crate::{ApiResult, AppState};
use hub_actors::{
    model::{
        branch::BranchSettings,
        schedule::{Exception, Schedule},
    },
    store::org::Branch,
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BranchBody {
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
    /// The region it is filed in; none: at the top.
    #[serde(default)]
    region_id: Option<i64>,
}

/// A region given for a branch must be one of the organisation's.
async fn region_of_org(state: &AppState, org_id: i64, region: Option<i64>) -> Result<(), hub_actors::Error> {
    if let Some(r) = region {
        state.hub.store().region(org_id, r).await.map_err(|_| {
            hub_actors::Error::Field(hub_actors::model::field::FieldError::new(
                "region_id",
                "not_found",
                serde_json::json!({}),
            ))
        })?;
    }
    Ok(())
}

/// A branch as the back office edits it: its settings with the week and holidays as data, and
/// whether a VIP code is set (the code itself is not shown again).
#[derive(Serialize)]
pub(super) struct BranchView {
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
    region_id: Option<i64>,
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
            region_id: b.region_id,
        }
    }
}

pub(super) async fn add_branch(
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
    settings.validate().map_err(hub_actors::Error::from)?;
    region_of_org(&state, admin.org_id, b.region_id).await?;
    let id = store.create_branch(admin.org_id, &settings).await?;
    if b.region_id.is_some() {
        store.set_branch_region(admin.org_id, id, b.region_id).await?;
    }
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

pub(super) async fn branches(state: web::Data<AppState>, admin: Admin) -> ApiResult<HttpResponse> {
    let list = state.hub.store().branches(admin.org_id).await?;
    Ok(HttpResponse::Ok().json(list.iter().map(BranchView::from).collect::<Vec<_>>()))
}

/// A branch's settings to change; what is left out stays.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BranchPatch {
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
    /// The region it is filed in, or null for none.
    #[serde(default, deserialize_with = "some_or_null")]
    region_id: Option<Option<i64>>,
}

/// Edits a branch: its name, address, zone, language, week, holidays and queue rules. Its boards
/// and the operators at its windows take the change at once.
pub(super) async fn patch_branch(
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
    if let Some(region) = p.region_id {
        s.validate().map_err(hub_actors::Error::from)?;
        region_of_org(&state, admin.org_id, region).await?;
    }
    let mut branch = state.hub.update_branch(admin.org_id, *path, &s).await?;
    if let Some(region) = p.region_id {
        state
            .hub
            .store()
            .set_branch_region(admin.org_id, branch.id, region)
            .await?;
        branch = state.hub.store().branch(admin.org_id, branch.id).await?;
    }
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
