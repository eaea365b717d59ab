//! Telegram: the organisation's bots (admins connect, list, pause them) and the webhook Telegram
//! posts updates to when a bot runs in webhook mode.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use hub_channels::telegram::credentials;
use hub_channels::telegram::store::BotStore;
use hub_channels::telegram::store::NewBot;

use crate::auth::Admin;
use crate::error::bad;
use crate::{ApiError, ApiResult, AppState};
use serde_json::json;

/// Largest update Telegram posts (a 4096-character message with its entities is far below).
const UPDATE_LIMIT: usize = 256 * 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BotBody {
    /// The token @BotFather gave, `123456789:AA…`.
    token: String,
    /// The remote queue new dialogues wait in.
    queue_id: i64,
    /// The branch whose queue tickets the bot offers (/ticket); left out: every branch.
    #[serde(default)]
    branch_id: Option<i64>,
    /// `polling` (default) or `webhook`.
    #[serde(default)]
    mode: Option<String>,
    /// Required for webhooks: Telegram sends it back in `X-Telegram-Bot-Api-Secret-Token`.
    #[serde(default)]
    webhook_secret: Option<String>,
    #[serde(default)]
    lang: Option<String>,
}

async fn add_bot(state: web::Data<AppState>, admin: Admin, body: web::Json<BotBody>) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    let token = b.token.trim();
    if !credentials::valid_token(token) {
        return Err(bad("token", "bot_token", json!({})).into());
    }
    let mode = b.mode.as_deref().unwrap_or("polling");
    if !matches!(mode, "polling" | "webhook") {
        return Err(bad("mode", "one_of", json!({"values": "polling, webhook"})).into());
    }
    let secret = b.webhook_secret.as_deref().map(str::trim).filter(|s| !s.is_empty());
    if let Some(s) = secret {
        if !credentials::valid_webhook_secret(s) {
            return Err(bad("webhook_secret", "webhook_secret_form", json!({})).into());
        }
    }
    if mode == "webhook" && secret.is_none() {
        return Err(bad("webhook_secret", "required", json!({})).into());
    }
    let lang = match b.lang.as_deref().unwrap_or("ru") {
        l @ ("ru" | "en") => l.to_string(),
        _ => return Err(bad("lang", "lang", json!({})).into()),
    };
    let bot = state
        .hub
        .store()
        .add_telegram_bot(
            NewBot {
                org_id: admin.org_id,
                service_id: b.queue_id,
                branch_id: b.branch_id,
                token,
                mode,
                webhook_secret: secret,
                lang: &lang,
            },
            hub_actors::model::now_millis(),
        )
        .await?;
    tracing::info!(bot = bot.id, by = admin.user_id, mode, "telegram bot connected");
    if let Some(t) = &state.telegram {
        t.bots_changed();
    }
    Ok(HttpResponse::Created().json(bot))
}

async fn bots(state: web::Data<AppState>, admin: Admin) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(state.hub.store().telegram_bots(Some(admin.org_id)).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BotPatch {
    enabled: bool,
}

async fn patch_bot(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<i64>,
    body: web::Json<BotPatch>,
) -> ApiResult<HttpResponse> {
    let bot = state
        .hub
        .store()
        .set_telegram_bot_enabled(admin.org_id, *path, body.enabled)
        .await?;
    if let Some(t) = &state.telegram {
        t.bots_changed();
    }
    Ok(HttpResponse::Ok().json(bot))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetAsideQuery {
    /// Only updates set aside after a failure (not those of kinds the hub does not serve).
    #[serde(default)]
    failed: bool,
}

/// The bot's updates that were not applied, newest first (at most 200), each with its outcome
/// and the JSON Telegram sent: nothing a bot received is out of an admin's sight.
async fn set_aside(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<i64>,
    query: web::Query<SetAsideQuery>,
) -> ApiResult<HttpResponse> {
    let rows = state
        .hub
        .store()
        .set_aside_updates(admin.org_id, *path, query.failed, 200)
        .await?;
    let out: Vec<serde_json::Value> = rows
        .into_iter()
        .map(|r| {
            let update = serde_json::from_str::<serde_json::Value>(&r.payload)
                .unwrap_or(serde_json::Value::String(r.payload.clone()));
            serde_json::json!({
                "update_id": r.update_id,
                "received_at": r.received_at,
                "processed_at": r.processed_at,
                "attempts": r.attempts,
                "outcome": r.outcome,
                "update": update,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(out))
}

/// Telegram's POST of one update. 200 once stored; anything else makes Telegram try again.
async fn webhook(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let Some(t) = &state.telegram else {
        return Err(ApiError::NoRoute);
    };
    let secret = req
        .headers()
        .get("X-Telegram-Bot-Api-Secret-Token")
        .and_then(|h| h.to_str().ok());
    match t.webhook(*path, secret, &body).await {
        Ok(()) => Ok(HttpResponse::Ok().json(serde_json::json!({ "ok": true }))),
        Err(e) => {
            let peer = req.peer_addr().map(|a| a.ip().to_string()).unwrap_or_default();
            tracing::warn!(bot = *path, peer, error = %e, "telegram webhook refused");
            Err(e.into())
        }
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/admin/telegram/bots", web::post().to(add_bot))
        .route("/api/admin/telegram/bots", web::get().to(bots))
        .route("/api/admin/telegram/bots/{id}", web::patch().to(patch_bot))
        .route("/api/admin/telegram/bots/{id}/updates", web::get().to(set_aside))
        .service(
            web::resource("/telegram/{id}/webhook")
                .app_data(web::PayloadConfig::new(UPDATE_LIMIT))
                .route(web::post().to(webhook)),
        );
}
