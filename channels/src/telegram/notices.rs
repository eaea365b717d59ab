//! What the bot says on its own: answers to commands and buttons, "you are next" and "go to
//! window 3" for queue tickets taken through it, and the rating question after a conversation
//! closes. A notice is queued once by its key, whoever notices first.
//!
//! What is owed is derived from the store, never from the bus alone: the bus (lossy under load)
//! is only the fast path; every few seconds, and at once after the notifier fell behind, the
//! store is asked which calls, "next" notices and rating questions are owed and not queued.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast::error::RecvError;

use hub_actors::bus::{Event, EventKind};
use hub_actors::model::now_millis;
use hub_actors::model::ticket::TicketStatus;
use hub_actors::store::notice_key;
use hub_actors::Result;

use super::button::Button;
use super::texts::{self, Lang};
use super::{parse_thread_key, Telegram};
use crate::telegram::store::BotStore;

/// The dialogues this bridge follows tickets and conversations in.
const TELEGRAM: &str = hub_actors::channel::ChannelKind::Telegram.as_str();

/// A message of the bot, as the outbox keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notice {
    pub text: String,
    /// Inline buttons, by row: (label, callback data).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buttons: Vec<Vec<(String, String)>>,
}

impl Notice {
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            buttons: Vec::new(),
        }
    }

    pub fn buttons(text: impl Into<String>, buttons: Vec<Vec<(String, String)>>) -> Self {
        Self {
            text: text.into(),
            buttons,
        }
    }

    /// Queues the notice for the dialogue once per `key`; rings the sender when it is new.
    pub(super) async fn enqueue(&self, t: &Telegram, org_id: i64, thread: &str, key: &str) -> Result<bool> {
        let payload = serde_json::to_string(self).map_err(|e| hub_actors::Error::Internal(e.to_string()))?;
        let new = t
            .hub()
            .store()
            .enqueue_notice(
                org_id,
                hub_actors::channel::ChannelKind::Telegram.as_str(),
                thread,
                &payload,
                key,
                now_millis(),
            )
            .await?;
        if new {
            t.0.outbox_bell.notify_one();
        }
        Ok(new)
    }
}

/// How often the store is asked what is owed, when the bus said nothing was missed.
const RECONCILE: Duration = Duration::from_secs(5);
/// How far back owed notices are looked for: a call or a close older than this is news no more.
const OWED_WINDOW_MS: i64 = 3 * 3600 * 1000;

pub(super) async fn run(t: Telegram) {
    let mut rx = t.hub().bus().subscribe();
    // At start too: whatever was owed when this node stopped.
    let mut reconcile_at = tokio::time::Instant::now();
    loop {
        let next = tokio::select! {
            _ = t.0.stop.cancelled() => return,
            _ = tokio::time::sleep_until(reconcile_at) => {
                if let Err(e) = reconcile(&t).await {
                    tracing::warn!(error = %e, "cannot read which Telegram notices are owed");
                }
                reconcile_at = tokio::time::Instant::now() + RECONCILE;
                continue;
            }
            n = rx.recv() => n,
        };
        match next {
            Ok(event) => {
                if let Err(e) = on_event(&t, &event).await {
                    tracing::warn!(error = %e, "a Telegram notice could not be queued");
                }
            }
            // Missed events: what they owed is read from the store now.
            Err(RecvError::Lagged(n)) => {
                tracing::info!(
                    missed = n,
                    "Telegram notifier fell behind the bus; reading what is owed from the store"
                );
                reconcile_at = tokio::time::Instant::now();
            }
            Err(RecvError::Closed) => return,
        }
    }
}

/// Queues every notice the store says is owed and not queued.
async fn reconcile(t: &Telegram) -> Result<()> {
    let store = t.hub().store();
    let since = now_millis() - OWED_WINDOW_MS;
    for c in store.owed_call_notices(TELEGRAM, since).await? {
        let Some(lang) = lang_of(t, &c.thread_key).await? else {
            continue;
        };
        Notice::text(texts::called(lang, &c.number, &c.window, c.recalls > 0))
            .enqueue(
                t,
                c.org_id,
                &c.thread_key,
                &notice_key::called(c.ticket_id, c.called_at),
            )
            .await?;
    }
    for (branch_id, org_id) in store.branches_owing_next(TELEGRAM, since).await? {
        next_in_line(t, org_id, branch_id).await?;
    }
    for r in store.owed_rating_questions(TELEGRAM, since).await? {
        ask_for_rating(t, r.org_id, r.conversation_id, &r.thread_key).await?;
    }
    Ok(())
}

/// The rating question after a Telegram conversation closed.
async fn ask_for_rating(t: &Telegram, org_id: i64, conversation_id: i64, key: &str) -> Result<()> {
    let Some(lang) = lang_of(t, key).await? else {
        return Ok(());
    };
    let scores = (1..=5)
        .map(|score| {
            (
                "★".repeat(score as usize),
                Button::Rate {
                    conversation: conversation_id,
                    score,
                }
                .encode(),
            )
        })
        .collect();
    Notice::buttons(texts::rate_question(lang), vec![scores])
        .enqueue(t, org_id, key, &notice_key::rating(conversation_id))
        .await?;
    Ok(())
}

async fn on_event(t: &Telegram, event: &Arc<Event>) -> Result<()> {
    match &event.kind {
        EventKind::ConversationChanged {
            conversation_id,
            thread_key: key,
            status,
            ..
        } if *status == hub_actors::model::conversation::ConversationStatus::Closed => {
            ask_for_rating(t, event.org_id, *conversation_id, key).await?
        }
        EventKind::TicketCalled {
            ticket_id,
            number,
            window,
            called_at,
            recall,
            ..
        } => {
            let followers = t
                .hub()
                .store()
                .followed_tickets(TELEGRAM, event.branch_id, Some(*ticket_id))
                .await?;
            for ft in followers {
                let Some(lang) = lang_of(t, &ft.thread_key).await? else {
                    continue;
                };
                Notice::text(texts::called(lang, number, window, *recall))
                    .enqueue(
                        t,
                        event.org_id,
                        &ft.thread_key,
                        &notice_key::called(*ticket_id, *called_at),
                    )
                    .await?;
            }
            next_in_line(t, event.org_id, event.branch_id).await?;
        }
        EventKind::TicketChanged { .. } | EventKind::TicketIssued { .. } | EventKind::TicketMoved { .. } => {
            next_in_line(t, event.org_id, event.branch_id).await?
        }
        _ => {}
    }
    Ok(())
}

/// Tells holders of bot tickets at the branch who have nobody ahead any more that they are next.
async fn next_in_line(t: &Telegram, org_id: i64, branch_id: i64) -> Result<()> {
    let store = t.hub().store();
    for ft in store.followed_tickets(TELEGRAM, branch_id, None).await? {
        let p = store.public_ticket(&ft.public_id).await?;
        if p.status != TicketStatus::Waiting.as_str() || p.ahead != Some(0) {
            continue;
        }
        let Some(lang) = lang_of(t, &ft.thread_key).await? else {
            continue;
        };
        Notice::text(texts::you_are_next(lang, &p.number))
            .enqueue(t, org_id, &ft.thread_key, &notice_key::next(ft.ticket_id))
            .await?;
    }
    Ok(())
}

/// The language of the bot behind a dialogue key; None for a key that is not a bot's chat.
async fn lang_of(t: &Telegram, key: &str) -> Result<Option<Lang>> {
    let Some((bot_id, _)) = parse_thread_key(key) else {
        return Ok(None);
    };
    let bot = t.hub().store().telegram_bot(bot_id).await?;
    Ok(Some(Lang::parse(&bot.lang)))
}

#[cfg(test)]
mod tests {
    use super::Notice;

    #[test]
    fn notices_keep_their_buttons_and_refuse_unknown_fields() {
        let n = Notice::buttons("Оцените", vec![vec![("★".into(), "r:1:1".into())]]);
        let json = serde_json::to_string(&n).unwrap_or_default();
        assert_eq!(serde_json::from_str::<Notice>(&json).ok(), Some(n));
        assert!(serde_json::from_str::<Notice>(r#"{"text":"x","extra":1}"#).is_err());
    }
}
