//! The e-mail bridge: mail to an organisation's mailboxes becomes conversations (fetched by IMAP,
//! or handed to the hub's SMTP receiver), and operators' replies leave by SMTP.
//!
//! Nothing acknowledged is lost, nothing is applied twice:
//! - a fetched mail is stored in the transaction that moves the mailbox's last UID past it; a
//!   mail handed over by SMTP is stored before the receiver answers 250;
//! - stored mail is applied in order per mailbox, each once: a mail is filed by its Message-ID
//!   (or its digest), so the same mail fetched again after a UIDVALIDITY change, or delivered
//!   twice, is recognised;
//! - a reply is a row of the outbox written with the operator's message; its Message-ID is fixed
//!   by the row, so a resend after a crash is the same mail to the customer's client.
//!
//! One node at a time fetches a mailbox (a lease in the store); every node applies and sends.

mod apply;
pub mod config;
mod confirm;
mod imap;
mod receiver;
mod sender;
pub mod store;
pub mod texts;

pub use confirm::send_code as send_mailbox_code;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use hub_actors::channel::ChannelKind;
use hub_actors::Hub;

use crate::email::store::MailStore;

/// The bridge's settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where the SMTP receiver listens (`127.0.0.1:2525`); `None`: no receiver.
    pub smtp_listen: Option<String>,
    /// The SMTP server replies leave through when a mailbox names none
    /// (`smtp://host:25`, `smtps://user:pass@host:465`, `smtp://host:587?tls=required`).
    pub smtp_relay: Option<String>,
    /// This hub's host name, in the receiver's greeting.
    pub host: String,
    /// How often a mailbox without IDLE is looked at, and the longest IDLE wait, seconds.
    pub poll_secs: u32,
    /// Largest mail taken, bytes.
    pub max_bytes: usize,
    /// PEM file of extra certificate authorities for IMAP over TLS (a private mail server).
    pub ca_file: Option<String>,
    /// This node's name in mailbox leases, the same across its restarts.
    pub node: String,
    /// Where mailboxes' servers may be (the installation's rule).
    pub egress: hub_actors::model::egress::Egress,
}

#[derive(Debug, thiserror::Error)]
pub enum EmailError {
    #[error("email_smtp_listen {0:?}: {1}")]
    Listen(String, std::io::Error),
    #[error("email_ca_file {0:?}: {1}")]
    CaFile(String, String),
    #[error(transparent)]
    Core(#[from] hub_actors::Error),
}

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    pub fetched: AtomicU64,
    pub received_smtp: AtomicU64,
    pub refused_smtp: AtomicU64,
    pub applied: AtomicU64,
    pub apply_failed: AtomicU64,
    pub sent: AtomicU64,
    pub send_retries: AtomicU64,
    pub send_failed: AtomicU64,
    pub fetch_errors: AtomicU64,
    pub uidvalidity_changes: AtomicU64,
}

impl Metrics {
    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

struct Inner {
    hub: Hub,
    settings: Settings,
    limits: hub_email::Limits,
    tls: Arc<rustls::ClientConfig>,
    /// Rings when stored mail waits to be applied.
    inbox_bell: Notify,
    /// Rings when the outbox has something new.
    outbox_bell: Notify,
    /// Rings when mailboxes were added or changed.
    mailboxes_bell: Notify,
    metrics: Metrics,
    stop: CancellationToken,
}

/// The running bridge. Cheap to clone.
#[derive(Clone)]
pub struct Email(Arc<Inner>);

impl Email {
    /// Starts the bridge: the mailboxes' fetchers, the SMTP receiver, the applier and the sender,
    /// until `stop`.
    pub async fn start(hub: Hub, settings: Settings, stop: CancellationToken) -> Result<Self, EmailError> {
        let tls = Arc::new(imap::tls_config(settings.ca_file.as_deref())?);
        let limits = hub_email::Limits {
            max_bytes: settings.max_bytes,
            ..hub_email::Limits::default()
        };
        let listener = match &settings.smtp_listen {
            Some(addr) => Some(
                tokio::net::TcpListener::bind(addr)
                    .await
                    .map_err(|e| EmailError::Listen(addr.clone(), e))?,
            ),
            None => None,
        };
        let e = Email(Arc::new(Inner {
            hub,
            settings,
            limits,
            tls,
            inbox_bell: Notify::new(),
            outbox_bell: Notify::new(),
            mailboxes_bell: Notify::new(),
            metrics: Metrics::default(),
            stop,
        }));
        // Claims this node held when it stopped died with it: take them back now.
        let node = &e.0.settings.node;
        let store = e.hub().store();
        let (mails, sends) = (
            store.release_inbox_claims(node).await?,
            store.release_outbox_claims("email", node).await?,
        );
        if mails + sends > 0 {
            tracing::info!(
                mails,
                sends,
                "e-mail: took back this node's claims from before it stopped"
            );
        }
        let doorbell = actix::Actor::start(crate::Doorbell(Box::new({
            let e = e.clone();
            move || e.0.outbox_bell.notify_one()
        })));
        e.hub().core.bridges.register(ChannelKind::Email, doorbell.recipient());
        if let Some(listener) = listener {
            tracing::info!(listen = ?e.0.settings.smtp_listen, "e-mail: SMTP receiver listening");
            let listener = Arc::new(listener);
            e.hub().tasks().supervise("e-mail SMTP receiver", {
                let e = e.clone();
                move || receiver::run(e.clone(), listener.clone())
            });
        }
        e.hub().tasks().supervise("e-mail fetchers", {
            let e = e.clone();
            move || imap::run_all(e.clone())
        });
        e.hub().tasks().supervise("e-mail applier", {
            let e = e.clone();
            move || apply::run(e.clone())
        });
        e.hub().tasks().supervise("e-mail sender", {
            let e = e.clone();
            move || sender::run(e.clone())
        });
        Ok(e)
    }

    pub fn metrics(&self) -> &Metrics {
        &self.0.metrics
    }

    /// Mailboxes were added or changed: the bridge picks them up now.
    /// A mail was let in (or put back) to apply: the applier looks now.
    pub fn inbox_changed(&self) {
        self.0.inbox_bell.notify_one();
    }

    pub fn mailboxes_changed(&self) {
        self.0.mailboxes_bell.notify_one();
    }

    /// A web-chat visitor left their address: replies in their chat go there too.
    pub fn chat_routed(&self) {
        self.0.outbox_bell.notify_one();
    }

    /// Whether the installation has a relay, the only way a mailbox's confirmation code leaves.
    pub fn has_relay(&self) -> bool {
        self.0.settings.smtp_relay.is_some()
    }

    /// The address the hub writes from as itself (a mailbox's confirmation), lower-cased.
    fn hub_sender(&self) -> String {
        format!("no-reply@{}", self.0.settings.host).to_lowercase()
    }

    fn hub(&self) -> &Hub {
        &self.0.hub
    }

    /// Sleeps, or returns early (false) when the bridge stops.
    async fn pause(&self, d: std::time::Duration) -> bool {
        tokio::select! {
            _ = self.0.stop.cancelled() => false,
            _ = tokio::time::sleep(d) => true,
        }
    }
}

/// Checks an IMAP server URL as an admin gives it; the error says what is wrong.
pub fn check_imap_url(url: &str) -> Result<(), String> {
    imap::server_of(url).map(|_| ())
}

/// The dialogue key of a new e-mail thread: the mailbox and the first mail's id.
pub fn thread_key(mailbox_id: i64, first_mail: &str) -> String {
    format!("mail:{mailbox_id}:{first_mail}")
}
