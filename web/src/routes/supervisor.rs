//! Live figures: queues (waiting, longest wait, estimated wait) and operators (presence, load),
//! plus the lists the console needs for transfers.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use crate::audit::record;
use crate::auth::{Operator, Supervisor};
use crate::{ApiResult, AppState};
use hub_actors::{
    actors::operator::Act,
    ask,
    model::{now_millis, ordering::Placement, ticket::TicketAction},
    store::{audit::Change, Csat, LiveTicket, OperatorFigures, QueueFigures},
    Error,
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

/// A branch as the supervisor watches it: every ticket in play, and today's CSAT.
#[derive(Serialize)]
struct Live {
    tickets: Vec<LiveTicket>,
    csat: Csat,
}

async fn live(state: web::Data<AppState>, sup: Supervisor, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let store = state.hub.store();
    let branch = store.branch(sup.org_id, *path).await?;
    Ok(HttpResponse::Ok().json(Live {
        tickets: store.live_tickets(sup.org_id, branch.id, &branch.today()).await?,
        csat: store.csat(sup.org_id, branch.id, branch.today_began()).await?,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Requeue {
    /// Another service of the ticket's branch; absent: its own.
    #[serde(default)]
    service_id: Option<i64>,
    placement: Placement,
}

/// Moves a waiting ticket: to the front (or back) of its line, or to another service.
async fn requeue(
    state: web::Data<AppState>,
    req: HttpRequest,
    sup: Supervisor,
    path: web::Path<i64>,
    body: web::Json<Requeue>,
) -> ApiResult<HttpResponse> {
    let t = state
        .hub
        .requeue(sup.org_id, *path, body.service_id, body.placement, sup.user_id)
        .await?;
    tracing::info!(number = %t.number, by = sup.user_id, "ticket moved by a supervisor");
    let after = serde_json::json!({ "number": t.number, "service_id": t.service_id, "placement": body.placement });
    record(&state, &req, ticket_change("requeue", t.id, Some(after))).await;
    Ok(HttpResponse::Ok().json(t))
}

/// Acts on a ticket in an operator's hands as that operator would: returns it to the front of
/// its line (the operator left without a word) or finishes it. The operator's actor applies it,
/// so the operator's console and the board follow.
async fn act_in_hand(
    state: web::Data<AppState>,
    req: HttpRequest,
    sup: Supervisor,
    path: web::Path<(i64, String)>,
) -> ApiResult<HttpResponse> {
    let (ticket_id, action) = path.into_inner();
    let store = state.hub.store();
    let ticket = store.ticket_of_org(sup.org_id, ticket_id).await?;
    let operator = ticket
        .operator_id
        .ok_or(Error::NotFound("ticket in an operator's hands"))?;
    let (action, transfer) = match action.as_str() {
        "return" => (TicketAction::Transfer, Some((ticket.service_id, Placement::Front))),
        "finish" => (TicketAction::Finish, None),
        _ => return Err(Error::NotFound("action").into()),
    };
    let t = ask(
        &state.hub.operator(operator),
        Act {
            ticket_id,
            action,
            transfer,
            comment: None,
        },
    )
    .await?;
    tracing::info!(number = %t.number, action = action.as_str(), operator, by = sup.user_id, "supervisor acted on a ticket");
    let after = serde_json::json!({ "number": t.number, "status": t.status, "operator_id": operator });
    record(&state, &req, ticket_change(action.as_str(), t.id, Some(after))).await;
    Ok(HttpResponse::Ok().json(t))
}

/// Signs an operator off (they left without saying): a called visitor goes back to the front of
/// the line, their chats go back to their queues, and their window is free.
async fn sign_off(
    state: web::Data<AppState>,
    req: HttpRequest,
    sup: Supervisor,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let user = state.hub.store().user(*path).await?;
    if user.org_id != sup.org_id {
        return Err(Error::NotFound("operator").into());
    }
    state.hub.operator_left(user.id).await?;
    tracing::info!(
        operator = user.id,
        by = sup.user_id,
        "operator signed off by a supervisor"
    );
    let change = Change {
        action: "operator.sign_off".into(),
        object_kind: "operator",
        object_id: Some(user.id),
        before: None,
        after: Some(serde_json::json!({ "name": user.name })),
    };
    record(&state, &req, change).await;
    Ok(HttpResponse::NoContent().finish())
}

fn ticket_change(verb: &str, id: i64, after: Option<serde_json::Value>) -> Change {
    Change {
        action: format!("ticket.{verb}"),
        object_kind: "ticket",
        object_id: Some(id),
        before: None,
        after,
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/supervisor/overview", web::get().to(overview))
        .route("/api/supervisor/branches/{id}/live", web::get().to(live))
        .route("/api/supervisor/tickets/{id}/requeue", web::post().to(requeue))
        .route("/api/supervisor/tickets/{id}/{action}", web::post().to(act_in_hand))
        .route("/api/supervisor/operators/{id}/sign-off", web::post().to(sign_off))
        .route("/api/operators", web::get().to(operators))
        .route("/api/chat-queues", web::get().to(chat_queues));
}
