use actix_web::{web, HttpResponse};
use serde::Serialize;

use crate::auth::{Operator, Supervisor};
use crate::{ApiResult, AppState};
use hub_actors::{
    actors::queue::Snapshot,
    ask,
    model::{presence::may_work_at, role::Role},
    store::{Branch, Service, Window},
};

#[derive(Serialize)]
pub struct BranchView {
    pub branch: Branch,
    pub open: bool,
    pub services: Vec<Service>,
    pub windows: Vec<Window>,
}

pub async fn branch_view(state: &AppState, org_id: i64, branch_id: i64) -> ApiResult<BranchView> {
    let store = state.hub.store();
    let branch = store.branch(org_id, branch_id).await?;
    let open = branch.is_open_now();
    let services = store.services(branch_id).await?;
    let windows = store.windows(branch_id).await?;
    Ok(BranchView {
        branch,
        open,
        services,
        windows,
    })
}

/// The branches a person may work in: an admin's are all; others', those an admin listed for
/// them (none listed: all).
async fn list(state: web::Data<AppState>, user: Operator) -> ApiResult<HttpResponse> {
    let store = state.hub.store();
    let mut branches = store.branches(user.org_id).await?;
    if user.role != Role::Admin {
        let mine = store.user_branches(user.user_id).await?;
        branches.retain(|b| may_work_at(&mine, b.id));
    }
    Ok(HttpResponse::Ok().json(branches))
}

async fn one(state: web::Data<AppState>, user: Operator, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(branch_view(&state, user.org_id, *path).await?))
}

async fn queues(state: web::Data<AppState>, user: Operator, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let branch_id = *path;
    // Checks the branch is this organisation's before anything is revealed.
    state.hub.store().branch(user.org_id, branch_id).await?;
    let services: Vec<i64> = state
        .hub
        .store()
        .services(branch_id)
        .await?
        .into_iter()
        .filter(|s| s.prefix.is_some())
        .map(|s| s.id)
        .collect();
    let views = ask(&state.hub.queue(branch_id), Snapshot(services)).await?;
    Ok(HttpResponse::Ok().json(views))
}

async fn stats(state: web::Data<AppState>, user: Supervisor, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let branch = state.hub.store().branch(user.org_id, *path).await?;
    let day = branch.today();
    Ok(HttpResponse::Ok().json(state.hub.store().today_stats(branch.id, &day, None).await?))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/branches", web::get().to(list))
        .route("/api/branches/{id}", web::get().to(one))
        .route("/api/branches/{id}/queues", web::get().to(queues))
        .route("/api/branches/{id}/stats", web::get().to(stats));
}
