//! The Telegram bridge: an organisation's bots bring their users' messages into conversations,
//! and operators' replies, queue notices and rating questions go back to the chats.
//!
//! Nothing acknowledged is lost, nothing is applied twice:
//! - an update is stored in the transaction that moves the bot's offset past it (long polling),
//!   or before the webhook answers 200; only then does Telegram consider it delivered;
//! - stored updates are applied in order, each idempotently (a message by its Telegram id, a
//!   ticket by the update that asked for it), and marked applied after;
//! - whatever goes out is a row of the outbox written with its cause (the operator's message,
//!   or a notice keyed by what it answers), sent by whichever node claims it, with Telegram's
//!   `retry_after` and back-off honoured; a message's parts (text, files) are counted as sent so
//!   a retry sends only the rest.
//!
//! One node at a time polls a bot (a lease in the store); every node sends and notifies.

mod api;
mod button;
pub mod config;
pub mod credentials;
mod files;
mod inbound;
mod notices;
mod outbound;
mod poller;
pub mod store;
pub mod texts;
pub mod update;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use teloxide::Bot;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use hub_actors::channel::ChannelKind;
use hub_actors::Hub;

use crate::telegram::store::BotStore;
use crate::telegram::store::TelegramBot;

pub use button::Button;
pub use notices::Notice;

/// Largest file taken from a chat (Telegram's own bot download limit is 20 MB).
pub const MAX_FILE: usize = hub_actors::model::attachment::MAX_BYTES;

/// The bridge's settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Bot API base, `https://api.telegram.org` (a test points it at an emulator).
    pub api_url: String,
    /// Where Telegram reaches this hub for webhooks (`public_url`); empty: webhooks cannot be set.
    pub public_url: String,
    /// Long-polling wait, seconds.
    pub poll_timeout_secs: u32,
    /// How long a node's hold on a bot lasts without renewal: how soon another node takes over
    /// the bots of a node that died. At least the polling wait plus 2 s.
    pub lease_secs: u32,
    /// First wait before a file that failed to download is tried again, milliseconds.
    pub file_retry_ms: u64,
    /// This node's name in bot leases, the same across its restarts (host and listen address),
    /// so a node restarted after a crash takes its bots back at once.
    pub node: String,
}

#[derive(Debug, thiserror::Error)]
pub enum TelegramError {
    #[error("[telegram] api_url {0:?} is not a URL")]
    ApiUrl(String),
    #[error("bot not found")]
    NoBot,
    #[error("this bot does not take webhooks")]
    NotWebhook,
    #[error("wrong webhook secret")]
    WrongSecret,
    #[error("the update is not valid JSON: {0}")]
    BadUpdate(String),
    #[error(transparent)]
    Core(#[from] hub_actors::Error),
}

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    pub updates_received: AtomicU64,
    pub updates_applied: AtomicU64,
    pub updates_ignored: AtomicU64,
    pub updates_failed: AtomicU64,
    /// Files fetched on their own after their message landed, and those given up on.
    pub files_fetched_late: AtomicU64,
    pub files_lost: AtomicU64,
    pub sent: AtomicU64,
    pub send_retries: AtomicU64,
    pub rate_limited: AtomicU64,
    pub send_failed: AtomicU64,
    pub poll_errors: AtomicU64,
}

impl Metrics {
    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

struct Inner {
    hub: Hub,
    api_url: url::Url,
    public_url: String,
    poll_timeout_secs: u32,
    lease_ms: i64,
    /// This node's name in bot leases.
    node: String,
    /// Bots by id, built once.
    bots: Mutex<HashMap<i64, Bot>>,
    /// Rings when the outbox has something new (an operator's reply on this node).
    outbox_bell: Notify,
    /// Rings when bots were added or changed.
    bots_bell: Notify,
    /// Rings when a file was queued to fetch on its own.
    files_bell: Notify,
    file_retry_ms: u64,
    /// Per running bot task: rings when a webhook stored updates for it.
    update_bells: Mutex<HashMap<i64, Arc<Notify>>>,
    metrics: Metrics,
    stop: CancellationToken,
}

/// The running bridge. Cheap to clone.
#[derive(Clone)]
pub struct Telegram(Arc<Inner>);

impl Telegram {
    /// Starts the bridge: the bots' tasks, the sender and the notifier, until `stop`.
    pub fn start(hub: Hub, settings: Settings, stop: CancellationToken) -> Result<Self, TelegramError> {
        let api_url: url::Url = settings
            .api_url
            .parse()
            .map_err(|_| TelegramError::ApiUrl(settings.api_url.clone()))?;
        let inner = Arc::new(Inner {
            hub,
            api_url,
            public_url: settings.public_url.trim_end_matches('/').to_string(),
            poll_timeout_secs: settings.poll_timeout_secs,
            lease_ms: i64::from(settings.lease_secs.max(settings.poll_timeout_secs + 2)) * 1000,
            node: settings.node.clone(),
            bots: Mutex::new(HashMap::new()),
            outbox_bell: Notify::new(),
            bots_bell: Notify::new(),
            files_bell: Notify::new(),
            file_retry_ms: settings.file_retry_ms,
            update_bells: Mutex::new(HashMap::new()),
            metrics: Metrics::default(),
            stop,
        });
        let t = Telegram(inner);
        let doorbell = actix::Actor::start(crate::Doorbell(Box::new({
            let t = t.clone();
            move || t.0.outbox_bell.notify_one()
        })));
        t.0.hub
            .core
            .bridges
            .register(ChannelKind::Telegram, doorbell.recipient());
        t.0.hub.tasks().supervise("telegram bots", {
            let t = t.clone();
            move || poller::run_all(t.clone())
        });
        t.0.hub.tasks().supervise("telegram sender", {
            let t = t.clone();
            move || outbound::run(t.clone())
        });
        t.0.hub.tasks().supervise("telegram files", {
            let t = t.clone();
            move || files::run(t.clone())
        });
        t.0.hub.tasks().supervise("telegram notices", {
            let t = t.clone();
            move || notices::run(t.clone())
        });
        Ok(t)
    }

    pub fn metrics(&self) -> &Metrics {
        &self.0.metrics
    }

    /// Bots were added or changed: the bridge picks them up now rather than at its next look.
    pub fn bots_changed(&self) {
        self.0.bots_bell.notify_one();
    }

    /// An update Telegram posted to the bot's webhook: checked against the bot's secret, stored,
    /// then applied by the bot's task. Answers once it is stored, so Telegram retries otherwise.
    pub async fn webhook(&self, bot_id: i64, secret: Option<&str>, body: &[u8]) -> Result<(), TelegramError> {
        let bot = match self.0.hub.store().telegram_bot(bot_id).await {
            Ok(b) => b,
            Err(hub_actors::Error::NotFound(_)) => return Err(TelegramError::NoBot),
            Err(e) => return Err(e.into()),
        };
        if bot.enabled == 0 {
            return Err(TelegramError::NoBot);
        }
        if bot.mode != "webhook" {
            return Err(TelegramError::NotWebhook);
        }
        let expected = bot.webhook_secret.as_deref().unwrap_or("");
        if expected.is_empty() || !hub_actors::auth::constant_time_eq(secret.unwrap_or(""), expected) {
            return Err(TelegramError::WrongSecret);
        }
        let value: serde_json::Value =
            serde_json::from_slice(body).map_err(|e| TelegramError::BadUpdate(e.to_string()))?;
        let update_id = value
            .get("update_id")
            .and_then(serde_json::Value::as_i64)
            .ok_or_else(|| TelegramError::BadUpdate("no update_id".into()))?;
        let now = hub_actors::model::now_millis();
        let new = self
            .0
            .hub
            .store()
            .store_updates(bot.id, None, &[(update_id, value.to_string())], now)
            .await?;
        Metrics::add(&self.0.metrics.updates_received, new as u64);
        if let Some(bell) = self
            .0
            .update_bells
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&bot.id)
        {
            bell.notify_one();
        }
        Ok(())
    }

    /// The API client of a bot, built once.
    fn bot(&self, bot: &TelegramBot) -> Bot {
        let mut bots = self.0.bots.lock().unwrap_or_else(|p| p.into_inner());
        bots.entry(bot.id)
            .or_insert_with(|| Bot::new(bot.token.clone()).set_api_url(self.0.api_url.clone()))
            .clone()
    }

    fn hub(&self) -> &Hub {
        &self.0.hub
    }

    fn stopped(&self) -> bool {
        self.0.stop.is_cancelled()
    }

    /// Sleeps, or returns early (false) when the bridge stops.
    async fn pause(&self, d: std::time::Duration) -> bool {
        tokio::select! {
            _ = self.0.stop.cancelled() => false,
            _ = tokio::time::sleep(d) => true,
        }
    }
}

/// The dialogue key of a bot's chat.
pub fn thread_key(bot_id: i64, chat_id: i64) -> String {
    format!("tg:{bot_id}:{chat_id}")
}

/// The bot and chat of a dialogue key.
pub fn parse_thread_key(key: &str) -> Option<(i64, i64)> {
    let rest = key.strip_prefix("tg:")?;
    let (bot, chat) = rest.split_once(':')?;
    Some((bot.parse().ok()?, chat.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_keys_round_trip() {
        assert_eq!(parse_thread_key(&thread_key(3, -5001)), Some((3, -5001)));
        assert_eq!(parse_thread_key("visitor:3"), None);
        assert_eq!(parse_thread_key("tg:x:1"), None);
    }
}
