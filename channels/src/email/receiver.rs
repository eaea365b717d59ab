//! The SMTP receiver: a mail for one of the hub's mailboxes is stored before the sender hears 250.

use std::time::Duration;

use hub_actors::model::now_millis;
use hub_email::smtp::{self, Envelope};

use super::{Email, Metrics};
use crate::email::store::MailStore;

/// Connections served at once; more wait in the kernel's backlog.
const MAX_CONNECTIONS: usize = 64;

/// How long a session in progress may go on once the hub stops taking mail: one finishing its
/// DATA is stored and answered; an idle one is closed (the sender tries again, as SMTP does).
const FINISH_WITHIN: Duration = Duration::from_secs(5);

pub(super) async fn run(e: Email, listener: std::sync::Arc<tokio::net::TcpListener>) {
    let settings = smtp::Settings {
        host: e.0.settings.host.clone(),
        max_bytes: e.0.settings.max_bytes,
        max_recipients: 50,
        idle: Duration::from_secs(300),
    };
    let settings = std::sync::Arc::new(settings);
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let accepted = tokio::select! {
            _ = e.0.stop.cancelled() => return,
            a = listener.accept() => a,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(err) => {
                tracing::warn!(error = %err, "e-mail: SMTP accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let (e, settings) = (e.clone(), settings.clone());
        let (stop, tasks) = (e.0.stop.clone(), e.hub().tasks().clone());
        tasks.spawn(async move {
            let _permit = permit;
            let handler = Handler(e.clone());
            let serve = smtp::serve(stream, peer.to_string(), &settings, &handler);
            tokio::pin!(serve);
            let served = tokio::select! {
                r = &mut serve => Some(r),
                _ = async {
                    stop.cancelled().await;
                    tokio::time::sleep(FINISH_WITHIN).await;
                } => None,
            };
            if let Some(Err(err)) = served {
                tracing::debug!(%peer, error = %err, "e-mail: SMTP connection ended");
            }
        });
    }
}

struct Handler(Email);

impl smtp::Receiver for Handler {
    async fn accepts(&self, recipient: &str) -> bool {
        matches!(self.0.hub().store().mailbox_by_address(recipient).await, Ok(Some(_)))
    }

    async fn deliver(&self, mail: Envelope) -> Result<String, String> {
        let store = self.0.hub().store();
        let mut mailboxes = Vec::new();
        for r in &mail.recipients {
            match store.mailbox_by_address(r).await {
                Ok(Some(m)) => mailboxes.push(m.id),
                Ok(None) => {}
                Err(err) => return Err(err.to_string()),
            }
        }
        if mailboxes.is_empty() {
            Metrics::add(&self.0 .0.metrics.refused_smtp, 1);
            return Err("the mailbox was removed meanwhile".into());
        }
        let ids = store
            .store_received(&mailboxes, &mail.data, now_millis())
            .await
            .map_err(|err| {
                tracing::error!(error = %err, "e-mail: cannot store a received mail; the sender will retry");
                "storage unavailable".to_string()
            })?;
        Metrics::add(&self.0 .0.metrics.received_smtp, 1);
        tracing::info!(peer = %mail.peer, sender = %mail.sender, bytes = mail.data.len(), inbox = ?ids, "e-mail: mail received by SMTP");
        self.0 .0.inbox_bell.notify_one();
        Ok(ids
            .iter()
            .map(|i| format!("hub-inbox-{i}"))
            .collect::<Vec<_>>()
            .join(","))
    }
}
