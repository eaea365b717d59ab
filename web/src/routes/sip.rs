//! Telephony: operators' phone accounts and the numbers callers dial (admins), and the call
//! detail records (supervisors).

use std::collections::BTreeMap;

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use crate::auth::{Admin, Supervisor};
use crate::{ApiResult, AppState};
use hub_actors::model::now_millis;
use hub_actors::store::sip::{NewSipNumber, PhoneAccount, SipAccount};
use hub_actors::Error;

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

fn check_user_part(what: &str, s: &str) -> Result<(), Error> {
    let ok = !s.is_empty() && s.len() <= 32 && s.chars().all(|c| c.is_ascii_alphanumeric() || "+-_.".contains(c));
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "{what}: 1 to 32 letters, digits or + - _ . (it goes into SIP URIs)"
        )))
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
        return Err(Error::Invalid("password: at least 10 characters, no control characters".into()).into());
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
}

async fn add_number(state: web::Data<AppState>, admin: Admin, body: web::Json<NumberBody>) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    check_user_part("number", &b.number)?;
    for (what, text) in [("greeting", &b.greeting), ("prompt", &b.prompt)] {
        if text.trim().is_empty() || text.chars().count() > 500 || text.chars().any(char::is_control) {
            return Err(Error::Invalid(format!("{what}: 1 to 500 characters, no control characters")).into());
        }
    }
    let mut choices = BTreeMap::new();
    for (k, v) in &b.choices {
        let mut c = k.chars();
        match (c.next(), c.next()) {
            (Some(key), None) if key.is_ascii_digit() || key == '*' || key == '#' => {
                if key == '0' {
                    return Err(Error::Invalid("key 0 is kept for voicemail".into()).into());
                }
                choices.insert(key, *v);
            }
            _ => return Err(Error::Invalid(format!("choice {k:?}: one key, 1-9, * or #")).into()),
        }
    }
    let lang = match b.lang.as_deref().unwrap_or("ru") {
        l @ ("ru" | "en") => l.to_string(),
        other => return Err(Error::Invalid(format!("language {other:?}: use ru or en")).into()),
    };
    let position_secs = b.position_secs.unwrap_or(30);
    let max_wait_secs = b.max_wait_secs.unwrap_or(600);
    if !(5..=600).contains(&position_secs) || !(0..=7200).contains(&max_wait_secs) {
        return Err(Error::Invalid("position_secs: 5 to 600; max_wait_secs: 0 to 7200".into()).into());
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

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/admin/sip/accounts", web::get().to(accounts))
        .route("/api/admin/sip/accounts/{user_id}", web::put().to(put_account))
        .route("/api/admin/sip/accounts/{user_id}", web::delete().to(delete_account))
        .route("/api/admin/sip/numbers", web::post().to(add_number))
        .route("/api/admin/sip/numbers", web::get().to(numbers))
        .route("/api/calls", web::get().to(calls));
}
