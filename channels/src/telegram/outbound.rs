//! The sender: claims due outbox rows of the Telegram channel and sends them, each dialogue in
//! order. A row is marked sent only after Telegram took every part; `retry_after` and network
//! errors reschedule it; a chat that is gone for good (blocked bot, deleted chat) fails it.

use std::time::Duration;

use futures_util::future::join_all;
use teloxide::payloads::SendMessageSetters;
use teloxide::requests::Requester;
use teloxide::types::{ChatId, InlineKeyboardButton, InlineKeyboardMarkup, InputFile};
use teloxide::{ApiError, RequestError};

use hub_actors::model::delivery::Undelivered;
use hub_actors::model::now_millis;
use hub_actors::store::OutboxItem;

use super::notices::Notice;
use super::{parse_thread_key, Metrics, Telegram};
use crate::telegram::store::BotStore;

/// How long a claimed row is this node's to send.
const CLAIM_MS: i64 = 60_000;
/// Rows sent at once (each to a different chat).
const BATCH: i64 = 8;
/// How often the outbox is looked at without a ring (rows of other nodes, retries coming due).
const IDLE_LOOK: Duration = Duration::from_millis(500);
/// Attempts before a row that keeps failing is given up on.
const MAX_ATTEMPTS: i64 = 12;

pub(super) async fn run(t: Telegram) {
    let channel = hub_actors::channel::ChannelKind::Telegram.as_str();
    loop {
        let claimed = match t
            .hub()
            .store()
            .claim_outbox(channel, now_millis(), CLAIM_MS, BATCH)
            .await
        {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the outbox");
                Vec::new()
            }
        };
        let busy = !claimed.is_empty();
        join_all(claimed.into_iter().map(|item| send_one(&t, item))).await;
        if busy {
            continue;
        }
        tokio::select! {
            _ = t.0.stop.cancelled() => return,
            _ = t.0.outbox_bell.notified() => {}
            _ = tokio::time::sleep(IDLE_LOOK) => {}
        }
    }
}

/// What one row sends, part by part.
enum Part {
    Text(String, Option<InlineKeyboardMarkup>),
    File { name: String, mime: String, data: Vec<u8> },
}

enum Failure {
    /// Try again at this time.
    Later(i64, String),
    /// Telegram will never take it, of this class.
    Never(Undelivered, String),
}

async fn send_one(t: &Telegram, item: OutboxItem) {
    let store = t.hub().store();
    let result = send_parts(t, &item).await;
    let now = now_millis();
    let marked = match result {
        Ok(()) => {
            Metrics::add(&t.0.metrics.sent, 1);
            store.outbox_sent(item.id, now).await
        }
        Err(Failure::Later(at, why)) if item.attempts < MAX_ATTEMPTS => {
            Metrics::add(&t.0.metrics.send_retries, 1);
            tracing::warn!(outbox = item.id, attempt = item.attempts, error = %why, "telegram send failed; will retry");
            store.outbox_retry(item.id, at, &why).await
        }
        Err(failure) => {
            let (class, why) = match failure {
                Failure::Later(_, why) => (Undelivered::GaveUp, why),
                Failure::Never(class, why) => (class, why),
            };
            Metrics::add(&t.0.metrics.send_failed, 1);
            tracing::error!(outbox = item.id, error = %why, "telegram send given up");
            match item.message_id {
                // An operator's reply: the thread and the console say it never arrived.
                Some(message) => t.hub().reply_undelivered(message, class, &why).await,
                None => store.outbox_failed(item.id, now, &why).await,
            }
        }
    };
    if let Err(e) = marked {
        // The claim runs out and the row is sent again: a duplicate is better than a loss.
        tracing::warn!(outbox = item.id, error = %e, "cannot mark the outbox row");
    }
}

async fn send_parts(t: &Telegram, item: &OutboxItem) -> Result<(), Failure> {
    let Some((bot_id, chat_id)) = parse_thread_key(&item.thread_key) else {
        return Err(Failure::Never(
            Undelivered::Gone,
            format!("not a Telegram dialogue: {}", item.thread_key),
        ));
    };
    let store = t.hub().store();
    let bot = match store.telegram_bot(bot_id).await {
        Ok(b) => b,
        Err(hub_actors::Error::NotFound(_)) => {
            return Err(Failure::Never(Undelivered::Gone, "the bot was removed".into()))
        }
        Err(e) => return Err(later(item, e.to_string())),
    };
    let parts = parts_of(t, item).await?;
    let api = t.bot(&bot);
    for (i, part) in parts.into_iter().enumerate().skip(item.parts_sent.max(0) as usize) {
        let sent = match part {
            Part::Text(text, keyboard) => {
                let mut req = api.send_message(ChatId(chat_id), text);
                if let Some(k) = keyboard {
                    req = req.reply_markup(k);
                }
                req.await.map(|_| ())
            }
            Part::File { name, mime, data } => {
                let file = InputFile::memory(data).file_name(name);
                if mime.starts_with("image/") && mime != "image/gif" {
                    api.send_photo(ChatId(chat_id), file).await.map(|_| ())
                } else {
                    api.send_document(ChatId(chat_id), file).await.map(|_| ())
                }
            }
        };
        match sent {
            Ok(()) => {
                if let Err(e) = store.outbox_progress(item.id, i as i64 + 1).await {
                    tracing::warn!(outbox = item.id, error = %e, "cannot record a sent part");
                }
            }
            Err(RequestError::RetryAfter(s)) => {
                Metrics::add(&t.0.metrics.rate_limited, 1);
                return Err(Failure::Later(
                    now_millis() + s.duration().as_millis() as i64,
                    format!("rate-limited for {} s", s.seconds()),
                ));
            }
            Err(RequestError::Api(e @ (ApiError::BotBlocked | ApiError::BotKicked))) => {
                return Err(Failure::Never(Undelivered::Blocked, e.to_string()))
            }
            Err(RequestError::Api(
                e @ (ApiError::ChatNotFound | ApiError::UserDeactivated | ApiError::CantInitiateConversation),
            )) => return Err(Failure::Never(Undelivered::Gone, e.to_string())),
            // Any other refusal of this request (400: too long, a file Telegram does not take, …)
            // is final for it; 5xx and network errors are tried again.
            Err(RequestError::Api(e)) if !matches!(e, ApiError::Unknown(_)) => {
                return Err(Failure::Never(Undelivered::Refused, e.to_string()))
            }
            // Telegram said ok but its answer is not the message teloxide expects (a newer API,
            // an emulator): it was sent, and sending it again would show it twice.
            Err(RequestError::InvalidJson { raw, .. }) if said_ok(&raw) => {
                tracing::warn!(outbox = item.id, raw = %raw.chars().take(200).collect::<String>(), "Telegram took the message; its answer did not parse");
                if let Err(e) = store.outbox_progress(item.id, i as i64 + 1).await {
                    tracing::warn!(outbox = item.id, error = %e, "cannot record a sent part");
                }
            }
            Err(e) => return Err(later(item, e.to_string())),
        }
    }
    Ok(())
}

/// Whether a Bot API answer says the request succeeded.
pub(super) fn said_ok(raw: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(raw)
        .ok()
        .and_then(|v| v.get("ok").and_then(serde_json::Value::as_bool))
        == Some(true)
}

/// Waits that double from 1 s up to 5 minutes with the row's attempts.
fn later(item: &OutboxItem, why: String) -> Failure {
    let secs = 1i64 << item.attempts.clamp(0, 8);
    Failure::Later(now_millis() + secs.min(300) * 1000, why)
}

async fn parts_of(t: &Telegram, item: &OutboxItem) -> Result<Vec<Part>, Failure> {
    let store = t.hub().store();
    if let Some(payload) = &item.payload {
        let notice: Notice = serde_json::from_str(payload)
            .map_err(|e| Failure::Never(Undelivered::Refused, format!("unreadable notice: {e}")))?;
        let keyboard = (!notice.buttons.is_empty()).then(|| {
            InlineKeyboardMarkup::new(notice.buttons.into_iter().map(|row| {
                row.into_iter()
                    .map(|(label, data)| InlineKeyboardButton::callback(label, data))
                    .collect::<Vec<_>>()
            }))
        });
        return Ok(vec![Part::Text(notice.text, keyboard)]);
    }
    let Some(message_id) = item.message_id else {
        return Err(Failure::Never(
            Undelivered::Refused,
            "an outbox row with nothing to send".into(),
        ));
    };
    let message = store
        .message(message_id)
        .await
        .map_err(|e| later(item, e.to_string()))?;
    let mut parts = Vec::new();
    if !message.body.trim().is_empty() {
        parts.push(Part::Text(message.body.clone(), None));
    }
    for a in &message.attachments {
        let (name, mime, data) = store
            .attachment(item.org_id, a.id, None)
            .await
            .map_err(|e| later(item, e.to_string()))?;
        parts.push(Part::File { name, mime, data });
    }
    Ok(parts)
}
