//! E-mail: the organisation's mailboxes (admins add, list, pause them).

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use hub_actors::model::message;
use hub_actors::Error;
use hub_channels::email::store::MailStore;
use hub_channels::email::store::NewMailbox;

use crate::auth::{Admin, Operator};
use crate::error::bad;
use crate::{ApiResult, AppState};
use serde_json::json;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MailboxBody {
    /// The address customers write to.
    address: String,
    /// The remote queue new threads wait in.
    queue_id: i64,
    /// The name replies are signed with ("Support").
    #[serde(default)]
    name: Option<String>,
    /// `imaps://user:password@host:993` (or `imap://` on a trusted network); left out: mail
    /// arrives only through the hub's SMTP receiver.
    #[serde(default)]
    imap_url: Option<String>,
    #[serde(default)]
    imap_folder: Option<String>,
    /// `seen` (default), `keep`, or `move:<folder>`.
    #[serde(default)]
    imap_after: Option<String>,
    /// `smtp://…`, `smtps://…`; left out: the node's `[email] smtp_relay`.
    #[serde(default)]
    smtp_url: Option<String>,
    /// Acknowledge new requests by mail (default true; never to programs, lists or bounces).
    #[serde(default)]
    auto_reply: Option<bool>,
    /// Let mailing lists, newsletters and bulk mail open tickets (default false: they are kept,
    /// filtered, for an operator to let in).
    #[serde(default)]
    accept_bulk: Option<bool>,
    #[serde(default)]
    lang: Option<String>,
}

async fn add_mailbox(
    state: web::Data<AppState>,
    admin: Admin,
    body: web::Json<MailboxBody>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    let address = b.address.trim().to_lowercase();
    if !message::looks_like_email(&address) {
        return Err(bad("address", "email_form", json!({ "address": address })).into());
    }
    let imap_url = b.imap_url.as_deref().map(str::trim).filter(|u| !u.is_empty());
    if let Some(u) = imap_url {
        hub_channels::email::check_imap_url(u).map_err(|_| bad("imap_url", "imap_url_form", json!({})))?;
    }
    let smtp_url = b.smtp_url.as_deref().map(str::trim).filter(|u| !u.is_empty());
    if let Some(u) = smtp_url {
        if !(u.starts_with("smtp://") || u.starts_with("smtps://")) {
            return Err(bad("smtp_url", "smtp_url_form", json!({})).into());
        }
    }
    // An internal address is refused at once (a name is checked again each time the hub
    // connects, on what it resolves to).
    for (field, u) in [("imap_url", imap_url), ("smtp_url", smtp_url)] {
        let host = u
            .and_then(|u| url::Url::parse(u).ok())
            .and_then(|u| u.host_str().map(str::to_string));
        if host.is_some_and(|h| hub_channels::egress::refuses_literal(&state.egress, &h)) {
            return Err(bad(field, "internal_address", json!({})).into());
        }
    }
    let lang = match b.lang.as_deref().unwrap_or("ru") {
        l @ ("ru" | "en") => l.to_string(),
        _ => return Err(bad("lang", "lang", json!({})).into()),
    };
    let name = b.name.as_deref().map(str::trim).filter(|n| !n.is_empty());
    if name.is_some_and(|n| n.chars().count() > 100 || n.chars().any(char::is_control)) {
        return Err(bad("name", "too_long", json!({"max": 100})).into());
    }
    let store = state.hub.store();
    let mailbox = store
        .add_mailbox(
            NewMailbox {
                org_id: admin.org_id,
                service_id: b.queue_id,
                address: &address,
                name,
                imap_url,
                imap_folder: b.imap_folder.as_deref().unwrap_or("INBOX"),
                imap_after: b.imap_after.as_deref().unwrap_or("seen"),
                smtp_url,
                auto_reply: b.auto_reply.unwrap_or(true),
                accept_bulk: b.accept_bulk.unwrap_or(false),
                lang: &lang,
                can_mail_codes: state.email.as_ref().is_some_and(|e| e.has_relay()),
            },
            hub_actors::model::now_millis(),
        )
        .await?;
    tracing::info!(mailbox = mailbox.id, address = %mailbox.address, by = admin.user_id, imap = imap_url.is_some(), "mailbox added");
    let mailbox = if mailbox.confirmed_at.is_none() {
        hub_channels::email::send_mailbox_code(&state.hub, &mailbox).await?;
        tracing::info!(mailbox = mailbox.id, "mailbox waits for its confirmation code");
        store.mailbox(mailbox.id).await?
    } else {
        mailbox
    };
    if let Some(e) = &state.email {
        e.mailboxes_changed();
        e.chat_routed();
    }
    Ok(HttpResponse::Created().json(mailbox))
}

async fn mailboxes(state: web::Data<AppState>, admin: Admin) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(state.hub.store().mailboxes(Some(admin.org_id)).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MailboxPatch {
    #[serde(default)]
    enabled: Option<bool>,
    #[serde(default)]
    accept_bulk: Option<bool>,
}

async fn patch_mailbox(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<i64>,
    body: web::Json<MailboxPatch>,
) -> ApiResult<HttpResponse> {
    if body.enabled.is_none() && body.accept_bulk.is_none() {
        return Err(bad(
            "enabled",
            "nothing_to_change",
            json!({"fields": "enabled, accept_bulk"}),
        )
        .into());
    }
    let m = state
        .hub
        .store()
        .set_mailbox_flags(admin.org_id, *path, body.enabled, body.accept_bulk)
        .await?;
    if let Some(e) = &state.email {
        e.mailboxes_changed();
    }
    Ok(HttpResponse::Ok().json(m))
}

/// Mails a new confirmation code to a mailbox still waiting for one (at most one a minute).
async fn resend_code(state: web::Data<AppState>, admin: Admin, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let store = state.hub.store();
    let m = store.mailbox(*path).await?;
    if m.org_id != admin.org_id {
        return Err(Error::NotFound("mailbox").into());
    }
    hub_channels::email::send_mailbox_code(&state.hub, &m).await?;
    if let Some(e) = &state.email {
        e.chat_routed();
    }
    Ok(HttpResponse::Accepted().json(store.mailbox(m.id).await?))
}

/// Mail kept without a ticket (mailing lists, bulk mail, automatic answers to nothing the hub
/// sent), newest first, with who sent it, its subject and why it was filtered.
async fn filtered(state: web::Data<AppState>, op: Operator) -> ApiResult<HttpResponse> {
    let rows = state.hub.store().filtered_mail(op.org_id, 200).await?;
    let out: Vec<serde_json::Value> = rows
        .into_iter()
        .map(|r| {
            let (from, subject) = hub_email::parse::sender_of(&r.head).unwrap_or_default();
            serde_json::json!({
                "id": r.id,
                "mailbox_id": r.mailbox_id,
                "mailbox": r.mailbox,
                "received_at": r.received_at,
                "from": from,
                "subject": subject,
                "reason": r.outcome.strip_prefix("filtered: ").unwrap_or(&r.outcome),
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(out))
}

/// Lets a filtered mail in: it opens its ticket as any mail would.
async fn admit(state: web::Data<AppState>, op: Operator, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    state.hub.store().admit_mail(op.org_id, *path).await?;
    tracing::info!(inbox = *path, by = op.user_id, "e-mail: a filtered mail let in");
    if let Some(e) = &state.email {
        e.inbox_changed();
    }
    Ok(HttpResponse::Accepted().json(serde_json::json!({ "admitted": *path })))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/admin/mailboxes", web::post().to(add_mailbox))
        .route("/api/admin/mailboxes", web::get().to(mailboxes))
        .route("/api/admin/mailboxes/{id}", web::patch().to(patch_mailbox))
        .route("/api/admin/mailboxes/{id}/confirmation", web::post().to(resend_code))
        .route("/api/email/filtered", web::get().to(filtered))
        .route("/api/email/filtered/{id}/admit", web::post().to(admit));
}
