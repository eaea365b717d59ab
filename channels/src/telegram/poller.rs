//! One task per enabled bot: takes the bot's lease, fetches updates (long polling) or waits for
//! the webhook to store them, and applies what is stored, in order.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use teloxide::payloads::SetWebhookSetters;
use teloxide::requests::Requester;
use teloxide::types::AllowedUpdate;
use teloxide::RequestError;
use tokio::sync::Notify;

use futures_util::{FutureExt, StreamExt};
use hub_actors::model::now_millis;

use super::api::{self, ApiCallError};
use super::update::{by_chat, read, Incoming};
use super::{inbound, Metrics, Telegram};
use crate::telegram::store::BotStore;
use crate::telegram::store::{PendingUpdate, TelegramBot};

/// How often the list of bots is read again (a change made on another node).
const RESCAN: Duration = Duration::from_secs(10);
/// Attempts at applying an update before it is set aside (logged with its error).
const MAX_ATTEMPTS: i64 = 5;

/// Keeps one task running per enabled bot.
pub(super) async fn run_all(t: Telegram) {
    let mut running: HashMap<i64, tokio::task::JoinHandle<()>> = HashMap::new();
    loop {
        match t.hub().store().telegram_bots(None).await {
            Ok(bots) => {
                running.retain(|_, h| !h.is_finished());
                for bot in bots.into_iter().filter(|b| b.enabled == 1) {
                    if !running.contains_key(&bot.id) {
                        let (id, t) = (bot.id, t.clone());
                        running.insert(id, tokio::spawn(run_bot(t, id)));
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot read the Telegram bots; trying again"),
        }
        tokio::select! {
            _ = t.0.stop.cancelled() => break,
            _ = t.0.bots_bell.notified() => {}
            _ = tokio::time::sleep(RESCAN) => {}
        }
    }
    for (_, h) in running {
        h.abort();
    }
}

async fn run_bot(t: Telegram, id: i64) {
    let bell = Arc::new(Notify::new());
    t.0.update_bells
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(id, bell.clone());
    let mut prepared_as: Option<String> = None;
    let mut backoff = Backoff::default();
    while !t.stopped() {
        let bot = match t.hub().store().telegram_bot(id).await {
            Ok(b) if b.enabled == 1 => b,
            Ok(_) => break,
            Err(hub_actors::Error::NotFound(_)) => break,
            Err(e) => {
                tracing::warn!(bot = id, error = %e, "cannot read the bot");
                if !t.pause(backoff.next()).await {
                    break;
                }
                continue;
            }
        };
        let now = now_millis();
        match t
            .hub()
            .store()
            .take_lease(crate::telegram::store::BOTS, id, &t.0.node, now + t.0.lease_ms, now)
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                // Another node polls this bot; look again before its lease could run out.
                prepared_as = None;
                if !t.pause(Duration::from_millis(t.0.lease_ms as u64 / 3)).await {
                    break;
                }
                continue;
            }
            Err(e) => {
                tracing::warn!(bot = id, error = %e, "cannot take the bot's lease");
                if !t.pause(backoff.next()).await {
                    break;
                }
                continue;
            }
        }
        if prepared_as.as_deref() != Some(bot.mode.as_str()) {
            if !prepare(&t, &bot).await {
                // A wrong token or a webhook that cannot be set: said in the log, tried again
                // less and less often.
                if !t.pause(backoff.next()).await {
                    break;
                }
                continue;
            }
            prepared_as = Some(bot.mode.clone());
        }
        let applied = apply_pending(&t, &bot).await;
        let fetched = if bot.mode == "webhook" {
            tokio::select! {
                _ = t.0.stop.cancelled() => break,
                _ = bell.notified() => Ok(()),
                _ = tokio::time::sleep(Duration::from_secs(2)) => Ok(()),
            }
        } else {
            tokio::select! {
                _ = t.0.stop.cancelled() => break,
                r = poll(&t, &bot) => r,
            }
        };
        match (applied, fetched) {
            (true, Ok(())) => backoff.reset(),
            (_, Err(wait)) => {
                if !t.pause(wait.unwrap_or_else(|| backoff.next())).await {
                    break;
                }
            }
            (false, Ok(())) => {
                if !t.pause(backoff.next()).await {
                    break;
                }
            }
        }
    }
    t.0.update_bells.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
    tracing::info!(bot = id, "bot task ended");
}

/// Learns the bot's name and sets Telegram up for its mode. Answers whether it succeeded.
async fn prepare(t: &Telegram, bot: &TelegramBot) -> bool {
    let api = t.bot(bot);
    match api.get_me().await {
        Ok(me) => {
            let username = me.username.clone().unwrap_or_default();
            if bot.username.as_deref() != Some(username.as_str()) {
                if let Err(e) = t.hub().store().set_telegram_username(bot.id, &username).await {
                    tracing::warn!(bot = bot.id, error = %e, "cannot store the bot's name");
                }
            }
            tracing::info!(bot = bot.id, username = %username, mode = %bot.mode, "telegram bot connected");
        }
        Err(RequestError::InvalidJson { raw, .. }) if super::outbound::said_ok(&raw) => {
            tracing::warn!(
                bot = bot.id,
                "getMe answered in a shape teloxide does not know; going on without the bot's name"
            );
        }
        Err(e) => {
            tracing::warn!(bot = bot.id, error = %e, "getMe failed; is the token right?");
            return false;
        }
    }
    // The chat's menu button lists the bot's commands.
    let lang = super::texts::Lang::parse(&bot.lang);
    let commands = super::texts::commands(lang)
        .into_iter()
        .map(|(c, d)| teloxide::types::BotCommand::new(c, d));
    if let Err(e) = api.set_my_commands(commands).await {
        tracing::warn!(bot = bot.id, error = %e, "setMyCommands failed; the menu button will not list the commands");
    }
    if bot.mode == "webhook" {
        if t.0.public_url.is_empty() {
            tracing::error!(
                bot = bot.id,
                "webhook mode needs public_url (the https address Telegram reaches)"
            );
            return false;
        }
        let url = format!("{}/telegram/{}/webhook", t.0.public_url, bot.id);
        let Ok(url) = url.parse::<url::Url>() else {
            tracing::error!(bot = bot.id, url, "the webhook address is not a URL");
            return false;
        };
        let mut req = api.set_webhook(url).allowed_updates(allowed());
        if let Some(secret) = &bot.webhook_secret {
            req = req.secret_token(secret.clone());
        }
        if let Err(e) = req.await {
            tracing::warn!(bot = bot.id, error = %e, "setWebhook failed");
            return false;
        }
    } else if let Err(e) = api.delete_webhook().await {
        // getUpdates does not work while a webhook is set.
        tracing::warn!(bot = bot.id, error = %e, "deleteWebhook failed");
        return false;
    }
    true
}

fn allowed() -> Vec<AllowedUpdate> {
    vec![
        AllowedUpdate::Message,
        AllowedUpdate::EditedMessage,
        AllowedUpdate::CallbackQuery,
    ]
}

/// The same, as `getUpdates` names them. Telegram may still send other kinds (a server that
/// ignores the list, a list changed meanwhile): they are stored and set aside by name.
const ALLOWED: &[&str] = &["message", "edited_message", "callback_query"];

/// One long poll. The offset moves (in the store) only with the updates stored. Err carries how
/// long to wait first, when Telegram said. Updates are read as raw JSON and stored as sent:
/// nothing in an update can fail here, whatever its kind or fields.
async fn poll(t: &Telegram, bot: &TelegramBot) -> Result<(), Option<Duration>> {
    let api = t.bot(bot);
    let started = std::time::Instant::now();
    let updates = match api::get_updates(&api, bot.update_offset, t.0.poll_timeout_secs, ALLOWED).await {
        Ok(u) => u,
        Err(e) => {
            Metrics::add(&t.0.metrics.poll_errors, 1);
            return Err(match e {
                ApiCallError::RetryAfter(d) => {
                    tracing::warn!(bot = bot.id, secs = d.as_secs(), "getUpdates rate-limited");
                    Some(d)
                }
                ApiCallError::Conflict => {
                    tracing::warn!(bot = bot.id, "another program polls this bot's token");
                    None
                }
                ApiCallError::Malformed => {
                    tracing::warn!(
                        bot = bot.id,
                        "malformed JSON from the Bot API; nothing taken, polling again"
                    );
                    None
                }
                ApiCallError::Refused { code, description } => {
                    tracing::warn!(bot = bot.id, code, description, "getUpdates refused");
                    None
                }
                other => {
                    tracing::warn!(bot = bot.id, error = ?other, "getUpdates failed");
                    None
                }
            });
        }
    };
    if updates.is_empty() {
        // A server that answers an empty long poll at once (an emulator, a proxy) would have
        // this loop spin: wait a little as a long poll would have.
        if started.elapsed() < Duration::from_millis(200) {
            t.pause(Duration::from_millis(200)).await;
        }
        return Ok(());
    }
    let rows: Vec<(i64, String)> = updates.into_iter().map(|u| (u.id, u.json)).collect();
    match t
        .hub()
        .store()
        .store_updates(bot.id, Some(&t.0.node), &rows, now_millis())
        .await
    {
        Ok(new) => {
            Metrics::add(&t.0.metrics.updates_received, new as u64);
            Ok(())
        }
        Err(e) => {
            // Not stored, so not acknowledged: the next poll asks for the same updates.
            tracing::warn!(bot = bot.id, error = %e, "cannot store updates; they will be fetched again");
            Err(None)
        }
    }
}

/// Chats whose updates are applied at the same time (each chat's in order).
const CONCURRENT_CHATS: usize = 8;

/// Applies stored updates, each chat's in order and several chats at once. A chat stops at its
/// first update that fails (it is tried again next pass, so later messages of the chat do not
/// overtake it), which is set aside after a few attempts. Answers whether all went well.
async fn apply_pending(t: &Telegram, bot: &TelegramBot) -> bool {
    let store = t.hub().store();
    // The caller holds the lease now; a long backlog outlasts it, so it is renewed batch by
    // batch, and the work stops if another node has the bot meanwhile.
    let mut renew = false;
    loop {
        if renew {
            let now = now_millis();
            match store
                .take_lease(crate::telegram::store::BOTS, bot.id, &t.0.node, now + t.0.lease_ms, now)
                .await
            {
                Ok(true) => {}
                Ok(false) => return true,
                Err(e) => {
                    tracing::warn!(bot = bot.id, error = %e, "cannot renew the bot's lease");
                    return false;
                }
            }
        }
        renew = true;
        let pending = match store.pending_updates(bot.id, 200).await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(bot = bot.id, error = %e, "cannot read stored updates");
                return false;
            }
        };
        if pending.is_empty() {
            return true;
        }
        let read: Vec<(PendingUpdate, Option<Incoming>)> = pending
            .into_iter()
            .map(|p| {
                let incoming = serde_json::from_str::<serde_json::Value>(&p.payload)
                    .ok()
                    .map(|u| read(&u));
                (p, incoming)
            })
            .collect();
        let groups = by_chat(read, |(_, incoming)| incoming.as_ref().and_then(Incoming::chat_id));
        let all_well = futures_util::stream::iter(groups)
            .map(|group| apply_chat(t, bot, group))
            .buffer_unordered(CONCURRENT_CHATS)
            .fold(true, |acc, ok| async move { acc && ok })
            .await;
        if !all_well || t.stopped() {
            return all_well;
        }
    }
}

async fn apply_chat(t: &Telegram, bot: &TelegramBot, updates: Vec<(PendingUpdate, Option<Incoming>)>) -> bool {
    let store = t.hub().store();
    for (p, update) in updates {
        if t.stopped() {
            return true;
        }
        let outcome = match update {
            // A fault in applying one update (a panic anywhere below) sets that update aside at
            // once, with its JSON kept; the bot goes on with the next.
            Some(incoming) => std::panic::AssertUnwindSafe(inbound::apply(t, bot, p.update_id, incoming))
                .catch_unwind()
                .await
                .unwrap_or_else(|panic| Err(Panicked(panic_text(&panic)).into())),
            None => Ok(inbound::Outcome::Ignored("not JSON".into())),
        };
        let now = now_millis();
        let marked = match outcome {
            Err(hub_actors::Error::Internal(e)) if e.starts_with(PANICKED) => {
                Metrics::add(&t.0.metrics.updates_failed, 1);
                tracing::error!(bot = bot.id, update = p.update_id, error = %e, "update set aside: applying it failed");
                store
                    .finish_update(bot.id, p.update_id, &format!("failed: {e}"), now)
                    .await
            }
            Ok(inbound::Outcome::Applied) => {
                Metrics::add(&t.0.metrics.updates_applied, 1);
                store.finish_update(bot.id, p.update_id, "applied", now).await
            }
            Ok(inbound::Outcome::Ignored(why)) => {
                Metrics::add(&t.0.metrics.updates_ignored, 1);
                tracing::info!(bot = bot.id, update = p.update_id, reason = %why, "update ignored");
                store
                    .finish_update(bot.id, p.update_id, &format!("ignored: {why}"), now)
                    .await
            }
            Err(e) if p.attempts + 1 >= MAX_ATTEMPTS => {
                Metrics::add(&t.0.metrics.updates_failed, 1);
                tracing::error!(bot = bot.id, update = p.update_id, error = %e, "update set aside after repeated failures");
                store
                    .finish_update(bot.id, p.update_id, &format!("failed: {e}"), now)
                    .await
            }
            Err(e) => {
                tracing::warn!(bot = bot.id, update = p.update_id, error = %e, "update not applied; will try again");
                let _ = store.update_failed(bot.id, p.update_id, &e.to_string()).await;
                return false;
            }
        };
        if let Err(e) = marked {
            tracing::warn!(bot = bot.id, update = p.update_id, error = %e, "cannot mark the update applied");
            return false;
        }
    }
    true
}

const PANICKED: &str = "the hub failed on this update: ";

/// A panic while applying an update, as an error that sets it aside.
struct Panicked(String);

impl From<Panicked> for hub_actors::Error {
    fn from(p: Panicked) -> Self {
        hub_actors::Error::Internal(format!("{PANICKED}{}", p.0))
    }
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".into())
        .chars()
        .take(200)
        .collect()
}

/// Waits that grow from 1 s to 30 s while things keep failing.
#[derive(Default)]
struct Backoff(u32);

impl Backoff {
    fn next(&mut self) -> Duration {
        self.0 = (self.0 + 1).min(5);
        Duration::from_secs((1u64 << (self.0 - 1)).min(30))
    }

    fn reset(&mut self) {
        self.0 = 0;
    }
}
