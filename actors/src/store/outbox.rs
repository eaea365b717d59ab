//! The outbox every bridged channel sends from. A row is written in the same transaction as
//! what it sends (an operator's message), or once by its `dedup_key` (a bridge's own notice), so
//! nothing stored is left unsent and nothing is queued twice, whichever node noticed it.
//!
//! Sending: a node claims a row for a while (`claimed_until`), sends, then marks it sent or
//! schedules a retry. Rows of one dialogue go out in order: a row waits while an older one of
//! its thread is unsent.

use super::Store;
use super::Tx;
use crate::channel::ChannelKind;
use crate::error::Result;
use crate::model::Millis;

/// A row to send.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxItem {
    pub id: i64,
    pub org_id: i64,
    pub thread_key: String,
    pub message_id: Option<i64>,
    pub payload: Option<String>,
    /// Attempts so far, this one included.
    pub attempts: i64,
    /// Parts already sent by earlier attempts.
    pub parts_sent: i64,
}

pub(crate) async fn enqueue_message(
    tx: &mut Tx<'_>,
    org_id: i64,
    channel: &str,
    thread_key: &str,
    message_id: i64,
    now: Millis,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO outbox (org_id, channel, thread_key, message_id, created_at, next_at) \
         VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (message_id) DO NOTHING",
    )
    .bind(org_id)
    .bind(channel)
    .bind(thread_key)
    .bind(message_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The outbox as a job queue: a row is to do until sent or given up.
const OUTBOX: super::jobs::JobQueue = super::jobs::JobQueue {
    table: "outbox",
    lease: "claimed_until",
    open: "sent_at IS NULL AND failed_at IS NULL",
    on_claim: "",
    on_release: "",
};

const OUTBOX_ITEM: &str = "id, org_id, thread_key, message_id, payload, attempts, parts_sent";

impl Store {
    /// Queues a notice of a bridge (JSON `payload`) once per `dedup_key`. Answers whether it is
    /// new (false: another node, or an earlier pass, queued it already).
    pub async fn enqueue_notice(
        &self,
        org_id: i64,
        channel: &str,
        thread_key: &str,
        payload: &str,
        dedup_key: &str,
        now: Millis,
    ) -> Result<bool> {
        let n = sqlx::query(
            "INSERT INTO outbox (org_id, channel, thread_key, payload, dedup_key, created_at, next_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (dedup_key) DO NOTHING",
        )
        .bind(org_id)
        .bind(channel)
        .bind(thread_key)
        .bind(payload)
        .bind(dedup_key)
        .bind(now)
        .execute(&self.write)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Claims up to `limit` rows of `channel` that are due, each the oldest unsent of its
    /// thread, for `lease_ms`. Another node's claim is never taken while it lasts.
    pub async fn claim_outbox(&self, channel: &str, now: Millis, lease_ms: i64, limit: i64) -> Result<Vec<OutboxItem>> {
        self.claim_outbox_as(channel, "", now, lease_ms, limit).await
    }

    /// [`Store::claim_outbox`], recording the claiming node, so that node can take its claims
    /// back after a crash ([`Store::release_outbox_claims`]).
    pub async fn claim_outbox_as(
        &self,
        channel: &str,
        node: &str,
        now: Millis,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<OutboxItem>> {
        let candidates: Vec<(i64,)> = sqlx::query_as(
            "SELECT o.id FROM outbox o WHERE o.channel = $1 AND o.sent_at IS NULL AND o.failed_at IS NULL \
             AND o.next_at <= $2 AND o.claimed_until < $2 \
             AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.channel = o.channel AND p.thread_key = o.thread_key \
                             AND p.id < o.id AND p.sent_at IS NULL AND p.failed_at IS NULL) \
             ORDER BY o.id LIMIT $3",
        )
        .bind(channel)
        .bind(now)
        .bind(limit)
        // Looking is a read (every node looks twice a second); the claim below is the guarded write.
        .fetch_all(&self.read)
        .await?;
        let ids: Vec<i64> = candidates.into_iter().map(|(id,)| id).collect();
        let node = Some(node).filter(|n| !n.is_empty());
        self.claim_jobs(&OUTBOX, &ids, node, now, lease_ms, OUTBOX_ITEM).await
    }

    /// A node starting again releases what it had claimed before it stopped: those sends died
    /// with it. (A mail the server accepted just before the crash goes again, with the same
    /// Message-ID.)
    pub async fn release_outbox_claims(&self, channel: &str, node: &str) -> Result<u64> {
        self.release_jobs(&OUTBOX, node, Some(("channel", channel))).await
    }

    pub async fn outbox_sent(&self, id: i64, now: Millis) -> Result<()> {
        sqlx::query("UPDATE outbox SET sent_at = $1, claimed_until = 0, error = NULL WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Records that the first `parts` parts of the row are sent.
    pub async fn outbox_progress(&self, id: i64, parts: i64) -> Result<()> {
        sqlx::query("UPDATE outbox SET parts_sent = $1 WHERE id = $2")
            .bind(parts)
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Releases the claim and tries again at `next_at`.
    pub async fn outbox_retry(&self, id: i64, next_at: Millis, error: &str) -> Result<()> {
        sqlx::query("UPDATE outbox SET next_at = $1, claimed_until = 0, error = $2 WHERE id = $3")
            .bind(next_at)
            .bind(error)
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Gives up on a row the channel refuses for good (the chat is gone, the bot was blocked).
    pub async fn outbox_failed(&self, id: i64, now: Millis, error: &str) -> Result<()> {
        sqlx::query("UPDATE outbox SET failed_at = $1, claimed_until = 0, error = $2 WHERE id = $3")
            .bind(now)
            .bind(error)
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// A reply that will never reach the customer (the bridge gave up, or the mail came back):
    /// its row is marked failed and the conversation's timeline says why, by class, once.
    /// Answers the organisation and conversation to announce, when this was news.
    pub async fn reply_undelivered(
        &self,
        message_id: i64,
        why: crate::model::delivery::Undelivered,
        error: &str,
        now: Millis,
    ) -> Result<Option<(i64, i64)>> {
        let mut tx = self.write.begin().await?;
        let marked = sqlx::query(
            "UPDATE outbox SET failed_at = $1, claimed_until = 0, error = $2 WHERE message_id = $3 AND failed_at IS NULL",
        )
        .bind(now)
        .bind(error.chars().take(500).collect::<String>())
        .bind(message_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if marked == 0 {
            return Ok(None);
        }
        let (org_id, conversation_id): (i64, i64) = sqlx::query_as(
            "SELECT c.org_id, c.id FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE m.id = $1",
        )
        .bind(message_id)
        .fetch_one(&mut *tx)
        .await?;
        super::timeline(&mut tx, conversation_id, now, "undelivered", None, Some(why.as_str())).await?;
        tx.commit().await?;
        Ok(Some((org_id, conversation_id)))
    }

    /// The message an outbox row sent.
    pub async fn outbox_message_id(&self, outbox_id: i64) -> Result<Option<i64>> {
        let row: Option<(Option<i64>,)> = sqlx::query_as("SELECT message_id FROM outbox WHERE id = $1")
            .bind(outbox_id)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.and_then(|r| r.0))
    }

    /// Rows of `channel` still to send.
    pub async fn outbox_pending(&self, channel: &str) -> Result<i64> {
        let (n,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM outbox WHERE channel = $1 AND sent_at IS NULL AND failed_at IS NULL")
                .bind(channel)
                .fetch_one(&self.read)
                .await?;
        Ok(n)
    }
}

/// The bridge an operator's reply in a dialogue leaves through: the route a bridge set for the
/// dialogue, else the channel's own when its bridge sends replies (see
/// [`ChannelKind::sends_replies`]); None when the reply stays in the thread.
pub(super) async fn reply_via(tx: &mut Tx<'_>, channel: &str, thread_key: &str) -> Result<Option<String>> {
    let routed: Option<(String,)> =
        sqlx::query_as("SELECT via FROM reply_routes WHERE channel = $1 AND thread_key = $2")
            .bind(channel)
            .bind(thread_key)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(routed.map(|r| r.0).or_else(|| {
        ChannelKind::parse(channel)
            .filter(|k| k.sends_replies())
            .map(|k| k.as_str().to_string())
    }))
}

/// The hub's own notice to the customer of a request, in its latest thread (open or closed): a
/// message of the hub's, sent the way an operator's reply to that dialogue would be. In the
/// caller's transaction, so the notice is owed exactly when what caused it commits. None when the
/// request has no thread (made by hand, with no customer to write to).
pub(super) async fn notice(tx: &mut Tx<'_>, request_id: i64, body: &str, now: Millis) -> Result<Option<(i64, i64)>> {
    let thread: Option<(i64, i64, String, String)> = sqlx::query_as(
        "SELECT c.id, c.org_id, c.channel, c.thread_key FROM request_threads t JOIN conversations c ON c.id = t.conversation_id \
         WHERE t.request_id = $1 ORDER BY t.linked_at DESC, c.id DESC LIMIT 1",
    )
    .bind(request_id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some((conversation_id, org_id, channel, thread_key)) = thread else {
        return Ok(None);
    };
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO messages (org_id, conversation_id, author, operator_id, body, client_id, at) \
         VALUES ($1, $2, 'system', NULL, $3, NULL, $4) RETURNING id",
    )
    .bind(org_id)
    .bind(conversation_id)
    .bind(body)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    if let Some(out) = reply_via(tx, &channel, &thread_key).await? {
        enqueue_message(tx, org_id, &out, &thread_key, id, now).await?;
    }
    Ok(Some((conversation_id, id)))
}
