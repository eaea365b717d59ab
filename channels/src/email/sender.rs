//! The sender: claims due outbox rows of the e-mail channel and sends each as one mail by SMTP.
//! A row is marked sent only once the server accepted the mail; a server that is down or answers
//! 4xx reschedules it with back-off; a 5xx refusal fails it, and the thread says so.

use std::time::Duration;

use lettre::address::Envelope;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use hub_actors::model::delivery::Undelivered;
use hub_actors::model::now_millis;
use hub_actors::store::OutboxItem;
use hub_email::compose::{compose, Outgoing};
use hub_email::thread;

use super::{texts, Email, Metrics};
use crate::email::store::MailStore;
use crate::email::store::{EmailThread, Mailbox};

const CLAIM_MS: i64 = 120_000;
const BATCH: i64 = 8;
const IDLE_LOOK: Duration = Duration::from_millis(500);
/// Attempts before a row is given up on: with back-off capped at 10 minutes, about two days.
const MAX_ATTEMPTS: i64 = 300;
/// How long one SMTP exchange may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(60);

pub(super) async fn run(e: Email) {
    loop {
        let claimed = match e
            .hub()
            .store()
            .claim_outbox_as("email", &e.0.settings.node, now_millis(), CLAIM_MS, BATCH)
            .await
        {
            Ok(c) => c,
            Err(err) => {
                tracing::warn!(error = %err, "e-mail: cannot read the outbox");
                Vec::new()
            }
        };
        let busy = !claimed.is_empty();
        futures_util::future::join_all(claimed.into_iter().map(|item| send_one(&e, item))).await;
        if busy {
            continue;
        }
        tokio::select! {
            _ = e.0.stop.cancelled() => return,
            _ = e.0.outbox_bell.notified() => {}
            _ = tokio::time::sleep(IDLE_LOOK) => {}
        }
    }
}

enum Failure {
    /// Try again later (the server is down or busy).
    Later(String),
    /// The mail will never go (the server refused it, the address is unusable).
    Never(String),
}

async fn send_one(e: &Email, item: OutboxItem) {
    let store = e.hub().store();
    let result = send(e, &item).await;
    let now = now_millis();
    let marked = match result {
        Ok(to) => {
            Metrics::add(&e.0.metrics.sent, 1);
            tracing::info!(outbox = item.id, to = %to, "e-mail: sent");
            store.outbox_sent(item.id, now).await
        }
        Err(Failure::Later(why)) if item.attempts < MAX_ATTEMPTS => {
            Metrics::add(&e.0.metrics.send_retries, 1);
            let secs = (1i64 << item.attempts.clamp(0, 10)).min(600);
            tracing::warn!(outbox = item.id, attempt = item.attempts, retry_in_s = secs, error = %why, "e-mail: send failed; will retry");
            store.outbox_retry(item.id, now + secs * 1000, &why).await
        }
        Err(failure) => {
            let (class, why) = match failure {
                Failure::Later(why) => (Undelivered::GaveUp, why),
                Failure::Never(why) => (Undelivered::Refused, why),
            };
            Metrics::add(&e.0.metrics.send_failed, 1);
            tracing::error!(outbox = item.id, error = %why, "e-mail: send given up");
            match item.message_id {
                // An operator's reply: the thread and the console say it never went.
                Some(message) => e.hub().reply_undelivered(message, class, &why).await,
                None => store.outbox_failed(item.id, now, &why).await,
            }
        }
    };
    if let Err(err) = marked {
        tracing::warn!(outbox = item.id, error = %err, "e-mail: cannot mark the outbox row");
    }
}

fn later(err: impl std::fmt::Display) -> Failure {
    Failure::Later(err.to_string())
}

/// Sends the row; answers the recipient.
async fn send(e: &Email, item: &OutboxItem) -> Result<String, Failure> {
    let store = e.hub().store();
    if let Some(payload) = &item.payload {
        let v: serde_json::Value =
            serde_json::from_str(payload).map_err(|err| Failure::Never(format!("unreadable notice: {err}")))?;
        let text = v
            .get("text")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_string();
        // A mail to an address not yet confirmed (the code that confirms it): no thread.
        if let Some(to) = v.get("to").and_then(serde_json::Value::as_str) {
            let mailbox_id = v.get("mailbox_id").and_then(serde_json::Value::as_i64).unwrap_or(0);
            let mailbox = store.mailbox(mailbox_id).await.map_err(later)?;
            let subject = v
                .get("subject")
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default()
                .to_string();
            // A mailbox's own confirmation leaves by the installation's relay: the tenant's own
            // server would see the code.
            let via_relay = v.get("relay").and_then(serde_json::Value::as_bool).unwrap_or(false);
            return deliver(
                e,
                item,
                &mailbox,
                (to, None),
                &subject,
                None,
                &[],
                &text,
                Vec::new(),
                true,
                via_relay,
            )
            .await;
        }
        let conv = v.get("ack").and_then(serde_json::Value::as_i64).unwrap_or(0);
        let thread = store
            .thread_by_key("email", &item.thread_key)
            .await
            .map_err(later)?
            .ok_or_else(|| Failure::Never("the e-mail thread is gone".into()))?;
        return send_in_thread(e, item, &thread, conv, text, Vec::new(), true).await;
    }
    let Some(message_id) = item.message_id else {
        return Err(Failure::Never("an outbox row with nothing to send".into()));
    };
    let message = store.message(message_id).await.map_err(later)?;
    let conv = store
        .conversation(item.org_id, message.conversation_id)
        .await
        .map_err(later)?;
    let thread = store
        .thread_by_key(&conv.row.channel, &conv.row.thread_key)
        .await
        .map_err(later)?
        .ok_or_else(|| Failure::Never("this conversation has no e-mail address to answer".into()))?;
    let mut files = Vec::new();
    for a in &message.attachments {
        files.push(store.attachment(item.org_id, a.id, None).await.map_err(later)?);
    }
    let mut text = message.body.clone();
    if conv.row.channel == "webchat" {
        let lang = mailbox_of(e, &thread).await?.lang;
        text.push_str(&format!("\n\n-- \n{}", texts::chat_footer(&lang)));
    }
    send_in_thread(e, item, &thread, message.conversation_id, text, files, false).await
}

/// A mail of a dialogue: its subject, In-Reply-To and References, its Message-ID filed first.
async fn send_in_thread(
    e: &Email,
    item: &OutboxItem,
    thread: &EmailThread,
    conversation_id: i64,
    text: String,
    files: Vec<(String, String, Vec<u8>)>,
    automatic: bool,
) -> Result<String, Failure> {
    let store = e.hub().store();
    let mailbox = mailbox_of(e, thread).await?;
    let domain = mailbox.address.rsplit('@').next().unwrap_or("hub.invalid").to_string();
    let own_id = thread::outgoing_id(item.id, item.org_id, &domain);
    // Filed before it leaves: an answer to it finds the thread even if the hub stops right after.
    store
        .remember_ids(
            item.org_id,
            thread.id,
            std::slice::from_ref(&own_id),
            None,
            false,
            now_millis(),
        )
        .await
        .map_err(later)?;
    let references = store.thread_ids(thread.id, 20).await.map_err(later)?;
    let references: Vec<String> = references.into_iter().filter(|r| *r != own_id).collect();
    let base = if thread.subject.is_empty() {
        texts::chat_subject(&mailbox.lang).to_string()
    } else {
        thread.subject.clone()
    };
    deliver(
        e,
        item,
        &mailbox,
        (&thread.address, thread.name.as_deref()),
        &thread::reply_subject(&base, conversation_id),
        thread.last_in_id.as_deref(),
        &references,
        &text,
        files,
        automatic,
        false,
    )
    .await
}

/// Composes one mail and hands it to the mailbox's SMTP server (or the installation's relay).
#[allow(clippy::too_many_arguments)]
async fn deliver(
    e: &Email,
    item: &OutboxItem,
    mailbox: &Mailbox,
    to: (&str, Option<&str>),
    subject: &str,
    in_reply_to: Option<&str>,
    references: &[String],
    text: &str,
    files: Vec<(String, String, Vec<u8>)>,
    automatic: bool,
    via_relay: bool,
) -> Result<String, Failure> {
    // A mailbox's own server is where a tenant said: reached only at an address the
    // installation's rule permits, the one checked. The installation's relay is its own.
    let url = match (&mailbox.smtp_url, &e.0.settings.smtp_relay) {
        (_, None) if via_relay => {
            return Err(Failure::Never(
                "the installation has no relay ([email] smtp_relay) to send the confirmation through".into(),
            ))
        }
        (_, Some(relay)) if via_relay => SmtpUrl::from(relay.clone()),
        (Some(own), _) => pinned(&e.0.settings.egress, own).await?,
        (None, Some(relay)) => SmtpUrl::from(relay.clone()),
        (None, None) => {
            return Err(Failure::Later(
                "no SMTP server is set (the mailbox's smtp_url or the [email] smtp_relay setting)".into(),
            ))
        }
    };
    let domain = mailbox.address.rsplit('@').next().unwrap_or("hub.invalid").to_string();
    let own_id = thread::outgoing_id(item.id, item.org_id, &domain);
    // Through the installation's relay the hub writes as itself: the address being confirmed is
    // not yet the organisation's, and its domain's SPF would not vouch for the relay anyway.
    let hub_itself = e.hub_sender();
    let (sender, sender_name) = if via_relay && hub_itself.parse::<lettre::Address>().is_ok() {
        (hub_itself, Some("Hub"))
    } else {
        (mailbox.address.clone(), mailbox.name.as_deref())
    };
    let raw = compose(&Outgoing {
        from: (&sender, sender_name),
        to,
        subject,
        message_id: &own_id,
        in_reply_to,
        references,
        text,
        files,
        automatic,
        date: now_millis() / 1000,
    })
    .map_err(|err| Failure::Never(err.to_string()))?;
    let envelope = Envelope::new(
        Some(
            sender
                .parse()
                .map_err(|_| Failure::Never(format!("{sender:?} is not an address")))?,
        ),
        vec![to
            .0
            .parse()
            .map_err(|_| Failure::Never(format!("{:?} is not an address", to.0)))?],
    )
    .map_err(|err| Failure::Never(err.to_string()))?;
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(&url.url)
        .map_err(|err| Failure::Later(format!("the SMTP URL is not usable: {err}")))?
        .timeout(Some(SMTP_TIMEOUT));
    if let Some(tls) = url.tls {
        builder = builder.tls(tls);
    }
    let transport = builder.build();
    match transport.send_raw(&envelope, &raw).await {
        Ok(_) => Ok(to.0.to_string()),
        Err(err) if err.is_permanent() => Err(Failure::Never(format!("the mail server refused it: {err}"))),
        Err(err) => Err(Failure::Later(format!("the mail server is unreachable or busy: {err}"))),
    }
}

/// An SMTP URL to connect by, with the TLS to use when its host was replaced by an address.
struct SmtpUrl {
    url: String,
    tls: Option<lettre::transport::smtp::client::Tls>,
}

impl From<String> for SmtpUrl {
    fn from(url: String) -> Self {
        SmtpUrl { url, tls: None }
    }
}

/// The URL with its host replaced by a permitted address it resolves to; TLS still checks the
/// certificate against the name the tenant gave.
async fn pinned(egress: &hub_actors::model::egress::Egress, url: &str) -> Result<SmtpUrl, Failure> {
    use lettre::transport::smtp::client::{Tls, TlsParameters};
    let bad = |why: &str| Failure::Later(format!("the mailbox's SMTP URL: {why}"));
    let mut u = url::Url::parse(url).map_err(|_| bad("not a URL"))?;
    let host = u.host_str().ok_or_else(|| bad("no host"))?.to_string();
    let tls_mode = u.query_pairs().find(|(k, _)| k == "tls").map(|(_, v)| v.to_string());
    let port = u.port().unwrap_or(match (u.scheme(), tls_mode.as_deref()) {
        ("smtps", _) => 465,
        ("smtp", Some(_)) => 587,
        _ => 25,
    });
    let addr = crate::egress::resolve(egress, &host, port)
        .await
        .map_err(|err| Failure::Later(err.to_string()))?[0];
    u.set_ip_host(addr.ip())
        .map_err(|()| bad("the host cannot be replaced"))?;
    let params = || TlsParameters::new(host.clone()).map_err(|_| bad("no TLS for this name"));
    let tls = match (u.scheme(), tls_mode.as_deref()) {
        ("smtps", _) => Some(Tls::Wrapper(params()?)),
        ("smtp", Some("required")) => Some(Tls::Required(params()?)),
        ("smtp", Some("opportunistic")) => Some(Tls::Opportunistic(params()?)),
        _ => None,
    };
    Ok(SmtpUrl { url: u.into(), tls })
}

async fn mailbox_of(e: &Email, thread: &EmailThread) -> Result<Mailbox, Failure> {
    let Some(id) = thread.mailbox_id else {
        return Err(Failure::Later("the organisation has no mailbox to send from".into()));
    };
    e.hub().store().mailbox(id).await.map_err(later)
}
