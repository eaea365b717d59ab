//! The organisation's break reasons and its audit log.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::{change, json_of};
use crate::audit::record;
use crate::auth::Admin;
use crate::{ApiResult, AppState};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BreakReasons {
    reasons: Vec<String>,
}

/// Replaces the organisation's break reasons (their order is the list's).
pub(super) async fn set_break_reasons(
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
pub(super) struct AuditParams {
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
pub(super) async fn audit_log(
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
