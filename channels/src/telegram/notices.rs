//! What the bot says on its own: answers to commands and buttons, "you are next" and "go to
//! window 3" for queue tickets taken through it, and the rating question after a conversation
//! closes. Every node hears the bus; a notice is queued once by its key, whoever hears it first.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast::error::RecvError;

use hub_actors::bus::{Event, EventKind};
use hub_actors::model::now_millis;
use hub_actors::Result;

use super::button::Button;
use super::texts::{self, Lang};
use super::{parse_thread_key, thread_key, Telegram};

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

pub(super) async fn run(t: Telegram) {
    let mut rx = t.hub().bus().subscribe();
    loop {
        let next = tokio::select! {
            _ = t.0.stop.cancelled() => return,
            n = rx.recv() => n,
        };
        match next {
            Ok(event) => {
                if let Err(e) = on_event(&t, &event).await {
                    tracing::warn!(error = %e, "a Telegram notice could not be queued");
                }
            }
            // Missed events: the tickets waiting now are checked once more; calls missed are
            // not announced late (the board shows them).
            Err(RecvError::Lagged(n)) => tracing::warn!(missed = n, "Telegram notifier fell behind the bus"),
            Err(RecvError::Closed) => return,
        }
    }
}

async fn on_event(t: &Telegram, event: &Arc<Event>) -> Result<()> {
    match &event.kind {
        EventKind::ConversationChanged {
            conversation_id,
            thread_key: key,
            status,
            ..
        } if status == "closed" => {
            let Some((bot_id, _)) = parse_thread_key(key) else {
                return Ok(());
            };
            let bot = t.hub().store().telegram_bot(bot_id).await?;
            let lang = Lang::parse(&bot.lang);
            let scores = (1..=5)
                .map(|score| {
                    (
                        "★".repeat(score as usize),
                        Button::Rate {
                            conversation: *conversation_id,
                            score,
                        }
                        .encode(),
                    )
                })
                .collect();
            Notice::buttons(texts::rate_question(lang), vec![scores])
                .enqueue(t, event.org_id, key, &format!("csat:{conversation_id}"))
                .await?;
        }
        EventKind::TicketCalled {
            ticket_id,
            number,
            window,
            called_at,
            recall,
            ..
        } => {
            for bt in t.hub().store().bot_tickets(event.branch_id, Some(*ticket_id)).await? {
                let bot = t.hub().store().telegram_bot(bt.bot_id).await?;
                Notice::text(texts::called(Lang::parse(&bot.lang), number, window, *recall))
                    .enqueue(
                        t,
                        event.org_id,
                        &thread_key(bt.bot_id, bt.chat_id),
                        &format!("called:{ticket_id}:{called_at}"),
                    )
                    .await?;
            }
            next_in_line(t, event).await?;
        }
        EventKind::TicketChanged { .. } | EventKind::TicketIssued { .. } => next_in_line(t, event).await?,
        _ => {}
    }
    Ok(())
}

/// Tells holders of bot tickets at the branch who have nobody ahead any more that they are next.
async fn next_in_line(t: &Telegram, event: &Event) -> Result<()> {
    let store = t.hub().store();
    for bt in store.bot_tickets(event.branch_id, None).await? {
        let p = store.public_ticket(&bt.public_id).await?;
        if p.status != "waiting" || p.ahead != Some(0) {
            continue;
        }
        let bot = store.telegram_bot(bt.bot_id).await?;
        Notice::text(texts::you_are_next(Lang::parse(&bot.lang), &p.number))
            .enqueue(
                t,
                event.org_id,
                &thread_key(bt.bot_id, bt.chat_id),
                &format!("next:{}", bt.ticket_id),
            )
            .await?;
    }
    Ok(())
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
