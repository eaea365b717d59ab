//! Live figures: queues (waiting, longest wait, estimated wait) and operators (presence, load),
//! plus the lists the console needs for transfers.

use actix_web::{web, HttpResponse};
use serde::Serialize;

use crate::auth::{Operator, Supervisor};
use crate::{ApiResult, AppState};
use hub_actors::{
    model::now_millis,
    store::{OperatorFigures, QueueFigures},
};

#[derive(Serialize)]
struct Overview {
    queues: Vec<QueueFigures>,
    operators: Vec<OperatorFigures>,
}

async fn overview(state: web::Data<AppState>, sup: Supervisor) -> ApiResult<HttpResponse> {
    let store = state.hub.store();
    Ok(HttpResponse::Ok().json(Overview {
        queues: store.queue_figures(sup.org_id, now_millis()).await?,
        operators: store.operator_figures(sup.org_id).await?,
    }))
}

#[derive(Serialize)]
struct OperatorItem {
    user_id: i64,
    name: String,
    presence: String,
}

/// Transfer targets: every operator of the organisation with their presence.
async fn operators(state: web::Data<AppState>, op: Operator) -> ApiResult<HttpResponse> {
    let list: Vec<OperatorItem> = state
        .hub
        .store()
        .operator_figures(op.org_id)
        .await?
        .into_iter()
        .map(|o| OperatorItem {
            user_id: o.user_id,
            name: o.name,
            presence: o.presence,
        })
        .collect();
    Ok(HttpResponse::Ok().json(list))
}

async fn chat_queues(state: web::Data<AppState>, op: Operator) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(state.hub.store().queue_figures(op.org_id, now_millis()).await?))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/supervisor/overview", web::get().to(overview))
        .route("/api/operators", web::get().to(operators))
        .route("/api/chat-queues", web::get().to(chat_queues));
}
