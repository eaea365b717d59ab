//! The operator's window: place, presence, call next and the actions on the ticket in hand.
//! Every request goes through the operator's actor, which serialises them.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use std::sync::atomic::Ordering;

use crate::auth::Operator;
use crate::error::bad;
use crate::{ApiResult, AppState};
use hub_actors::{
    actors::operator::{Act, CallNext, OperatorView, SetPlace, SetPresence, View},
    ask,
    model::{ordering::Placement, presence::Presence, ticket::TicketAction},
    store::{Ticket, TodayStats},
    Error,
};
use serde_json::json;

#[derive(Serialize)]
struct Console {
    #[serde(flatten)]
    view: OperatorView,
    branch_id: Option<i64>,
    stats: Option<TodayStats>,
    /// The window's counters, as the console shows them above the ticket.
    counters: Option<Counters>,
    /// The server's time, epoch ms: the console's timers run from it, not the PC's clock.
    now: i64,
    /// What an admin listed for them: the place selector offers only these where a branch has
    /// any listed (`model::presence::listed_here`).
    listed: Listed,
}

#[derive(Serialize)]
struct Listed {
    /// Windows they may sit at.
    window_ids: Vec<i64>,
    /// Services they have a skill in (visit services among them bind at their branch).
    service_ids: Vec<i64>,
}

/// Всего / Ко мне / Обслужено / Осталось.
#[derive(Serialize)]
struct Counters {
    /// Tickets the branch issued today.
    total: i64,
    /// Waiting now for the services this operator serves.
    for_me: i64,
    /// Served by this operator today.
    served: i64,
    /// Waiting now in the whole branch.
    left: i64,
}

async fn console(state: &AppState, view: OperatorView) -> ApiResult<Console> {
    let branch_id = view.window.as_ref().map(|w| w.branch_id);
    let (stats, counters) = match branch_id {
        Some(b) => {
            let store = state.hub.store();
            let branch = store.branch_public(b).await?;
            let day = branch.today();
            let mine = store.today_stats(b, &day, Some(view.user_id)).await?;
            let waiting = store.waiting_counts(b, &day).await?;
            let for_me = waiting
                .iter()
                .filter(|(service, _)| view.state.service_ids.contains(service))
                .map(|(_, n)| n)
                .sum();
            let counters = Counters {
                total: mine.issued,
                for_me,
                served: mine.served,
                left: mine.waiting,
            };
            (Some(mine), Some(counters))
        }
        None => (None, None),
    };
    let store = state.hub.store();
    let mut service_ids: Vec<i64> = store.proficiencies(view.user_id).await?.into_keys().collect();
    service_ids.sort_unstable();
    let listed = Listed {
        window_ids: store.user_windows(view.user_id).await?,
        service_ids,
    };
    Ok(Console {
        view,
        branch_id,
        stats,
        counters,
        now: hub_actors::model::now_millis(),
        listed,
    })
}

/// The reasons an operator picks from for a break, in the organisation's order.
async fn break_reasons(state: web::Data<AppState>, op: Operator) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(state.hub.store().break_reasons(op.org_id).await?))
}

async fn get(state: web::Data<AppState>, op: Operator) -> ApiResult<HttpResponse> {
    let view = ask(&state.hub.operator(op.user_id), View).await?;
    Ok(HttpResponse::Ok().json(console(&state, view).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Place {
    window_id: i64,
    service_ids: Vec<i64>,
}

async fn place(state: web::Data<AppState>, op: Operator, body: web::Json<Place>) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let view = ask(
        &state.hub.operator(op.user_id),
        SetPlace {
            window_id: body.window_id,
            service_ids: body.service_ids,
        },
    )
    .await?;
    Ok(HttpResponse::Ok().json(console(&state, view).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PresenceBody {
    state: String,
    #[serde(default)]
    reason: Option<String>,
}

async fn presence(state: web::Data<AppState>, op: Operator, body: web::Json<PresenceBody>) -> ApiResult<HttpResponse> {
    let p = match body.state.as_str() {
        "available" => Presence::Available,
        "offline" => Presence::Offline,
        "break" => Presence::Break {
            reason: body.reason.clone().unwrap_or_default(),
        },
        other => {
            return Err(Error::Invalid(format!("unknown presence {other:?}: use available, break or offline")).into())
        }
    };
    let view = ask(&state.hub.operator(op.user_id), SetPresence(p)).await?;
    Ok(HttpResponse::Ok().json(console(&state, view).await?))
}

#[derive(Serialize)]
struct Called {
    ticket: Option<Ticket>,
}

async fn call_next(state: web::Data<AppState>, op: Operator) -> ApiResult<HttpResponse> {
    let ticket = ask(&state.hub.operator(op.user_id), CallNext).await?;
    if let Some(t) = &ticket {
        state.metrics.tickets_called.fetch_add(1, Ordering::Relaxed);
        tracing::info!(number = %t.number, operator = op.user_id, "ticket called");
    }
    Ok(HttpResponse::Ok().json(Called { ticket }))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ActBody {
    #[serde(default)]
    comment: Option<String>,
    #[serde(default)]
    service_id: Option<i64>,
    #[serde(default)]
    placement: Option<Placement>,
}

const COMMENT_LIMIT: usize = 2000;

async fn act(
    state: web::Data<AppState>,
    op: Operator,
    path: web::Path<(i64, String)>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let (ticket_id, action) = path.into_inner();
    let action = match action.as_str() {
        "recall" => TicketAction::Recall,
        "no-show" => TicketAction::NoShow,
        "start" => TicketAction::Start,
        "finish" => TicketAction::Finish,
        "transfer" => TicketAction::Transfer,
        _ => return Err(Error::NotFound("action").into()),
    };
    // The body is optional (recall, start need none), but when present it must be valid JSON.
    let body: ActBody = if body.iter().all(u8::is_ascii_whitespace) {
        ActBody::default()
    } else if body.len() > crate::JSON_LIMIT {
        return Err(crate::ApiError::TooLarge(crate::JSON_LIMIT));
    } else {
        serde_json::from_slice(&body).map_err(|e| crate::ApiError::BadJson(format!("malformed JSON: {e}")))?
    };
    if body.comment.as_ref().is_some_and(|c| c.chars().count() > COMMENT_LIMIT) {
        return Err(bad("comment", "too_long", json!({ "max": COMMENT_LIMIT })).into());
    }
    let transfer = match (action, body.service_id) {
        (TicketAction::Transfer, Some(s)) => Some((s, body.placement.unwrap_or(Placement::Back))),
        (TicketAction::Transfer, None) => return Err(bad("service_id", "required", json!({})).into()),
        _ => None,
    };
    let comment = body.comment.filter(|c| !c.trim().is_empty());
    let ticket = ask(
        &state.hub.operator(op.user_id),
        Act {
            ticket_id,
            action,
            transfer,
            comment,
        },
    )
    .await?;
    tracing::info!(number = %ticket.number, action = action.as_str(), operator = op.user_id, "ticket action");
    Ok(HttpResponse::Ok().json(ticket))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/operator", web::get().to(get))
        .route("/api/operator/place", web::put().to(place))
        .route("/api/break-reasons", web::get().to(break_reasons))
        .route("/api/operator/presence", web::put().to(presence))
        .route("/api/operator/call-next", web::post().to(call_next))
        .route("/api/operator/tickets/{id}/{action}", web::post().to(act));
}
