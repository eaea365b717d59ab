//! Telephony: operators' phone accounts, the trunks to providers, the numbers callers dial and
//! the VIP callers (admins), click-to-call (operators) and the call detail records (supervisors).

use std::collections::BTreeMap;

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use hub_actors::model::now_millis;
use hub_actors::Error;
use hub_channels::sip::store::PhoneStore;
use hub_channels::sip::store::{NewSipNumber, PhoneAccount, SipAccount};
use hub_channels::sip::trunk_store::TrunkStore;
use hub_channels::sip::trunk_store::{NewTrunk, SipTrunk};
use hub_channels::sip::{DialError, DialRequest, TrunkStatus};

use crate::auth::{Admin, Operator, Supervisor};
use crate::error::bad;
use crate::{ApiResult, AppState};
use serde_json::json;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountBody {
    /// The phone's SIP user name ("1001").
    username: String,
    /// The phone's own password (not the operator's sign-in password): at least 10 characters.
    password: String,
    /// The phone answers by itself: calls offered to the operator are accepted at once.
    #[serde(default)]
    auto_answer: bool,
}

fn realm(state: &AppState) -> String {
    state.sip.as_ref().map_or_else(|| "hub".to_string(), |s| s.realm())
}

fn check_user_part(what: &'static str, s: &str) -> Result<(), Error> {
    let ok = !s.is_empty() && s.len() <= 32 && s.chars().all(|c| c.is_ascii_alphanumeric() || "+-_.".contains(c));
    if ok {
        Ok(())
    } else {
        Err(bad(what, "sip_name_form", json!({})))
    }
}

async fn put_account(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<i64>,
    body: web::Json<AccountBody>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    check_user_part("username", &b.username)?;
    if b.password.chars().count() < 10 || b.password.chars().any(char::is_control) {
        return Err(bad("password", "password_length", json!({"min": 10, "max": 128})).into());
    }
    let realm = realm(&state);
    let ha1 = hub_sip::digest::ha1(&b.username, &realm, &b.password);
    let account = state
        .hub
        .store()
        .set_sip_account(
            admin.org_id,
            *path,
            PhoneAccount {
                username: &b.username,
                realm: &realm,
                ha1: &ha1,
                auto_answer: b.auto_answer,
            },
            now_millis(),
        )
        .await?;
    tracing::info!(user = *path, sip_user = %account.username, by = admin.user_id, "phone account set");
    Ok(HttpResponse::Ok().json(account))
}

#[derive(Serialize)]
struct AccountView {
    #[serde(flatten)]
    account: SipAccount,
    /// Registered with this node now.
    registered: bool,
}

async fn accounts(state: web::Data<AppState>, admin: Admin) -> ApiResult<HttpResponse> {
    let list = state.hub.store().sip_accounts(admin.org_id).await?;
    let views: Vec<AccountView> = list
        .into_iter()
        .map(|account| AccountView {
            registered: state.sip.as_ref().is_some_and(|s| s.phone_registered(account.user_id)),
            account,
        })
        .collect();
    Ok(HttpResponse::Ok().json(views))
}

async fn delete_account(state: web::Data<AppState>, admin: Admin, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    if !state.hub.store().delete_sip_account(admin.org_id, *path).await? {
        return Err(Error::NotFound("SIP account").into());
    }
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NumberBody {
    /// What callers dial: the user part of the request URI ("8800", "+74951234567").
    number: String,
    greeting: String,
    /// The menu's prompt ("Press 1 for sales, 2 for support").
    prompt: String,
    /// Key → remote queue id.
    #[serde(default)]
    choices: BTreeMap<String, i64>,
    /// Where silence or repeated wrong keys lead.
    default_queue_id: i64,
    #[serde(default)]
    lang: Option<String>,
    /// How often a waiting caller hears their place (default 30 s).
    #[serde(default)]
    position_secs: Option<i64>,
    /// After this long waiting the caller is offered voicemail (default 600 s; 0: never).
    #[serde(default)]
    max_wait_secs: Option<i64>,
    /// The trunk this number is a DID of: its calls are then taken from that provider only.
    #[serde(default)]
    trunk_id: Option<i64>,
}

async fn add_number(state: web::Data<AppState>, admin: Admin, body: web::Json<NumberBody>) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    check_user_part("number", &b.number)?;
    for (what, text) in [("greeting", &b.greeting), ("prompt", &b.prompt)] {
        if text.trim().is_empty() {
            return Err(bad(what, "required", json!({})).into());
        }
        if text.chars().count() > 500 {
            return Err(bad(what, "too_long", json!({"max": 500})).into());
        }
        if text.chars().any(char::is_control) {
            return Err(bad(what, "control_chars", json!({})).into());
        }
    }
    let mut choices = BTreeMap::new();
    for (k, v) in &b.choices {
        let mut c = k.chars();
        match (c.next(), c.next()) {
            (Some(key), None) if key.is_ascii_digit() || key == '*' || key == '#' => {
                if key == '0' {
                    return Err(bad("choices", "voicemail_key", json!({})).into());
                }
                choices.insert(key, *v);
            }
            _ => return Err(bad("choices", "choice_key", json!({ "key": k })).into()),
        }
    }
    let lang = match b.lang.as_deref().unwrap_or("ru") {
        l @ ("ru" | "en") => l.to_string(),
        _ => return Err(bad("lang", "lang", json!({})).into()),
    };
    let position_secs = b.position_secs.unwrap_or(30);
    let max_wait_secs = b.max_wait_secs.unwrap_or(600);
    if !(5..=600).contains(&position_secs) {
        return Err(bad("position_secs", "range", json!({"min": 5, "max": 600})).into());
    }
    if !(0..=7200).contains(&max_wait_secs) {
        return Err(bad("max_wait_secs", "range", json!({"min": 0, "max": 7200})).into());
    }
    let n = state
        .hub
        .store()
        .add_sip_number(
            NewSipNumber {
                org_id: admin.org_id,
                number: &b.number,
                greeting: b.greeting.trim(),
                prompt: b.prompt.trim(),
                choices: &choices,
                default_service_id: b.default_queue_id,
                lang: &lang,
                position_secs,
                max_wait_secs,
                trunk_id: b.trunk_id,
            },
            now_millis(),
        )
        .await?;
    tracing::info!(number = %n.number, by = admin.user_id, "phone number added");
    Ok(HttpResponse::Created().json(n))
}

async fn numbers(state: web::Data<AppState>, admin: Admin) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(state.hub.store().sip_numbers(admin.org_id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CallsQuery {
    #[serde(default)]
    limit: Option<i64>,
}

async fn calls(state: web::Data<AppState>, sup: Supervisor, q: web::Query<CallsQuery>) -> ApiResult<HttpResponse> {
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    Ok(HttpResponse::Ok().json(state.hub.store().calls(sup.org_id, limit).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TrunkBody {
    name: String,
    /// The provider's SIP domain ("sip.example.net").
    domain: String,
    /// The provider's proxies as "host:port", preferred first; registration fails over in order.
    proxies: Vec<String>,
    username: String,
    password: String,
    /// Register to the provider (default); false when the provider knows the hub by address.
    #[serde(default)]
    register: Option<bool>,
    /// Registration lifetime asked for (10 to 86400 s; default 300). The provider may grant less.
    #[serde(default)]
    expires_secs: Option<i64>,
    /// The number called people see; defaults to the username.
    #[serde(default)]
    caller_id: Option<String>,
}

/// A host name or address with an optional port, nothing else (it goes into SIP URIs and DNS).
fn check_host(what: &'static str, s: &str) -> Result<(), Error> {
    let (host, port) = match s.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (s, None),
    };
    let host_ok = !host.is_empty()
        && host.len() <= 253
        && host.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p > 0));
    if host_ok && port_ok {
        Ok(())
    } else {
        Err(bad(what, "host_form", json!({})))
    }
}

#[derive(Serialize)]
struct TrunkView {
    #[serde(flatten)]
    trunk: SipTrunk,
    proxies: Vec<String>,
    /// The registration as this node sees it (absent when telephony is off here).
    status: Option<TrunkStatus>,
}

fn trunk_view(state: &AppState, trunk: SipTrunk) -> TrunkView {
    TrunkView {
        proxies: trunk.proxy_list(),
        status: state.sip.as_ref().and_then(|s| s.trunk_status(trunk.id)),
        trunk,
    }
}

async fn add_trunk(state: web::Data<AppState>, admin: Admin, body: web::Json<TrunkBody>) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    if b.name.trim().is_empty() || b.name.chars().count() > 100 || b.name.chars().any(char::is_control) {
        return Err(bad("name", "range", json!({"min": 1, "max": 100})).into());
    }
    if b.domain.contains(':') {
        return Err(bad("domain", "domain_port", json!({})).into());
    }
    check_host("domain", &b.domain)?;
    if b.proxies.is_empty() || b.proxies.len() > 8 {
        return Err(bad("proxies", "count_range", json!({"min": 1, "max": 8})).into());
    }
    for p in &b.proxies {
        check_host("proxies", p)?;
        let host = p
            .rsplit_once(':')
            .filter(|(_, port)| port.parse::<u16>().is_ok())
            .map_or(p.as_str(), |(h, _)| h);
        if hub_channels::egress::refuses_literal(&state.egress, host) {
            return Err(bad("proxies", "internal_address", json!({ "value": p })).into());
        }
    }
    check_user_part("username", &b.username)?;
    if b.password.is_empty() || b.password.len() > 128 || b.password.chars().any(char::is_control) {
        return Err(bad("password", "password_length", json!({"min": 1, "max": 128})).into());
    }
    let caller_id = b.caller_id.unwrap_or_else(|| b.username.clone());
    check_user_part("caller_id", &caller_id)?;
    let expires_secs = b.expires_secs.unwrap_or(300);
    if !(10..=86_400).contains(&expires_secs) {
        return Err(bad("expires_secs", "range", json!({"min": 10, "max": 86400})).into());
    }
    let trunk = state
        .hub
        .store()
        .add_trunk(
            NewTrunk {
                org_id: admin.org_id,
                name: b.name.trim(),
                domain: &b.domain,
                proxies: &b.proxies,
                username: &b.username,
                password: &b.password,
                register: b.register.unwrap_or(true),
                expires_secs,
                caller_id: &caller_id,
            },
            now_millis(),
        )
        .await?;
    tracing::info!(trunk = %trunk.name, domain = %trunk.domain, by = admin.user_id, "trunk added");
    if let Some(sip) = &state.sip {
        sip.reload_trunks().await;
    }
    Ok(HttpResponse::Created().json(trunk_view(&state, trunk)))
}

async fn trunks(state: web::Data<AppState>, admin: Admin) -> ApiResult<HttpResponse> {
    let list = state.hub.store().trunks(admin.org_id).await?;
    let views: Vec<TrunkView> = list.into_iter().map(|t| trunk_view(&state, t)).collect();
    Ok(HttpResponse::Ok().json(views))
}

async fn delete_trunk(state: web::Data<AppState>, admin: Admin, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    if !state.hub.store().delete_trunk(admin.org_id, *path).await? {
        return Err(Error::NotFound("trunk").into());
    }
    tracing::info!(trunk = *path, by = admin.user_id, "trunk removed");
    if let Some(sip) = &state.sip {
        sip.reload_trunks().await;
    }
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DialBody {
    /// The number to call (digits, optionally with a leading +).
    number: String,
    /// The conversation the call is about: its timeline shows the call.
    #[serde(default)]
    conversation_id: Option<i64>,
}

/// Click-to-call: the hub rings the signed-in operator's phone, then the number.
async fn dial(state: web::Data<AppState>, op: Operator, body: web::Json<DialBody>) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    let sip = state.sip.as_ref().ok_or(DialError::Off)?;
    if let Some(c) = b.conversation_id {
        // Another organisation's conversation is not found (tenant check).
        state.hub.store().conversation(op.org_id, c).await?;
    }
    let call_id = sip
        .dial(DialRequest {
            org_id: op.org_id,
            operator: op.user_id,
            number: b.number,
            conversation_id: b.conversation_id,
        })
        .await?;
    Ok(HttpResponse::Accepted().json(serde_json::json!({ "call_id": call_id })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VipBody {
    /// The caller's number; kept in E.164 (what calls arrive with).
    number: String,
    /// 1 to 100: higher waits ahead of lower; everyone else is 0.
    priority: i64,
    #[serde(default)]
    note: Option<String>,
}

async fn put_vip(state: web::Data<AppState>, admin: Admin, body: web::Json<VipBody>) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    let number = hub_actors::model::phone::normalise(&b.number)
        .ok_or_else(|| bad("number", "phone_number", json!({ "number": b.number })))?;
    if !(1..=100).contains(&b.priority) {
        return Err(bad("priority", "range", json!({"min": 1, "max": 100})).into());
    }
    let note = b.note.as_deref().map(str::trim).filter(|n| !n.is_empty());
    if note.is_some_and(|n| n.chars().count() > 200 || n.chars().any(char::is_control)) {
        return Err(bad("note", "too_long", json!({"max": 200})).into());
    }
    let vip = state
        .hub
        .store()
        .set_vip(admin.org_id, &number, b.priority, note, now_millis())
        .await?;
    tracing::info!(number = %vip.number, priority = vip.priority, by = admin.user_id, "VIP number set");
    Ok(HttpResponse::Ok().json(vip))
}

async fn vips(state: web::Data<AppState>, admin: Admin) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(state.hub.store().vip_numbers(admin.org_id).await?))
}

async fn delete_vip(state: web::Data<AppState>, admin: Admin, path: web::Path<String>) -> ApiResult<HttpResponse> {
    let number = hub_actors::model::phone::normalise(&path).unwrap_or_else(|| path.to_string());
    if !state.hub.store().delete_vip(admin.org_id, &number).await? {
        return Err(Error::NotFound("VIP number").into());
    }
    Ok(HttpResponse::NoContent().finish())
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/admin/sip/accounts", web::get().to(accounts))
        .route("/api/admin/sip/accounts/{user_id}", web::put().to(put_account))
        .route("/api/admin/sip/accounts/{user_id}", web::delete().to(delete_account))
        .route("/api/admin/sip/numbers", web::post().to(add_number))
        .route("/api/admin/sip/numbers", web::get().to(numbers))
        .route("/api/admin/sip/trunks", web::post().to(add_trunk))
        .route("/api/admin/sip/trunks", web::get().to(trunks))
        .route("/api/admin/sip/trunks/{id}", web::delete().to(delete_trunk))
        .route("/api/admin/sip/vip", web::put().to(put_vip))
        .route("/api/admin/sip/vip", web::get().to(vips))
        .route("/api/admin/sip/vip/{number}", web::delete().to(delete_vip))
        .route("/api/calls/dial", web::post().to(dial))
        .route("/api/calls", web::get().to(calls));
}
