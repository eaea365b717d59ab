//! Visit tickets followed from a dialogue, and the notices a dialogue is owed.
//!
//! A ticket taken through a channel (a bot's chat) is followed by that dialogue: its holder hears
//! "you are next" and "go to window 3" there, and a closed conversation's customer is asked for
//! a rating. The core keeps which dialogue follows which ticket and answers, from its own tables,
//! which notices are owed and not yet queued (so no missed bus event loses one); the bridge only
//! words them in its language and sends them. The keys a notice is queued under are the core's
//! ([`notice_key`]), so the bridge's queueing and these queries cannot drift apart.

use crate::error::Result;
use crate::model::conversation::ConversationStatus;
use crate::model::ticket::TicketStatus;
use crate::model::Millis;

use super::{sql, Store, Tx};

/// The keys notices are queued under in the outbox: once per key, whoever notices first.
pub mod notice_key {
    /// "Go to window N" for one call (a recall is a new call, so a new notice).
    pub fn called(ticket_id: i64, called_at: i64) -> String {
        format!("called:{ticket_id}:{called_at}")
    }

    /// "You are next", once per ticket.
    pub fn next(ticket_id: i64) -> String {
        format!("next:{ticket_id}")
    }

    /// The rating question after a conversation closed.
    pub fn rating(conversation_id: i64) -> String {
        format!("csat:{conversation_id}")
    }
}

/// A followed ticket with what its holder needs to hear.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FollowedTicket {
    pub ticket_id: i64,
    pub thread_key: String,
    pub public_id: String,
}

/// A call of a followed ticket whose "go to window" notice is not queued yet.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OwedCall {
    pub ticket_id: i64,
    pub org_id: i64,
    pub thread_key: String,
    pub number: String,
    pub window: String,
    pub called_at: i64,
    pub recalls: i64,
}

/// A closed conversation whose customer has not been asked for a rating yet.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OwedRating {
    pub conversation_id: i64,
    pub org_id: i64,
    pub thread_key: String,
}

/// Keeps dialogue `thread_key` of `channel` following `ticket_id`, in the ticket's own
/// transaction (call it from a [`super::WithTicket`]).
pub async fn follow_ticket(tx: &mut Tx<'static>, ticket_id: i64, channel: &str, thread_key: &str) -> Result<()> {
    sqlx::query("INSERT INTO ticket_followers (ticket_id, channel, thread_key) VALUES ($1, $2, $3)")
        .bind(ticket_id)
        .bind(channel)
        .bind(thread_key)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// How far back "waiting" tickets are looked at: queues are per day.
const DAY_MS: i64 = 24 * 3600 * 1000;

impl Store {
    /// Tickets of the branch followed from `channel` that still wait (issued in the last day),
    /// or just the one given.
    pub async fn followed_tickets(
        &self,
        channel: &str,
        branch_id: i64,
        ticket_id: Option<i64>,
    ) -> Result<Vec<FollowedTicket>> {
        Ok(sqlx::query_as(sql(format!(
            "SELECT t.id AS ticket_id, f.thread_key, t.public_id FROM ticket_followers f \
             JOIN tickets t ON t.id = f.ticket_id \
             WHERE f.channel = $1 AND t.branch_id = $2 \
             AND (t.id = $3 OR ($3 = 0 AND t.status = '{waiting}' AND t.issued_at > $4))",
            waiting = TicketStatus::Waiting.as_str(),
        )))
        .bind(channel)
        .bind(branch_id)
        .bind(ticket_id.unwrap_or(0))
        .bind(crate::model::now_millis() - DAY_MS)
        .fetch_all(&self.read)
        .await?)
    }

    /// Calls since `since` of tickets followed from `channel` whose notice is not queued.
    pub async fn owed_call_notices(&self, channel: &str, since: Millis) -> Result<Vec<OwedCall>> {
        Ok(sqlx::query_as(sql(format!(
            "SELECT t.id AS ticket_id, t.org_id, f.thread_key, t.number, w.label AS window, t.called_at, t.recalls \
             FROM ticket_followers f JOIN tickets t ON t.id = f.ticket_id JOIN windows w ON w.id = t.window_id \
             WHERE f.channel = $1 AND t.status = '{called}' AND t.called_at > $2 AND NOT EXISTS (SELECT 1 FROM outbox o \
               WHERE o.dedup_key = 'called:' || CAST(t.id AS TEXT) || ':' || CAST(t.called_at AS TEXT))",
            called = TicketStatus::Called.as_str(),
        )))
        .bind(channel)
        .bind(since)
        .fetch_all(&self.read)
        .await?)
    }

    /// (branch, organisation) with tickets followed from `channel` waiting (issued since `since`)
    /// whose holder was not yet told they are next.
    pub async fn branches_owing_next(&self, channel: &str, since: Millis) -> Result<Vec<(i64, i64)>> {
        Ok(sqlx::query_as(sql(format!(
            "SELECT DISTINCT t.branch_id, t.org_id FROM ticket_followers f JOIN tickets t ON t.id = f.ticket_id \
             WHERE f.channel = $1 AND t.status = '{waiting}' AND t.issued_at > $2 AND NOT EXISTS (SELECT 1 FROM outbox o \
               WHERE o.dedup_key = 'next:' || CAST(t.id AS TEXT))",
            waiting = TicketStatus::Waiting.as_str(),
        )))
        .bind(channel)
        .bind(since)
        .fetch_all(&self.read)
        .await?)
    }

    /// Conversations of `channel` closed since `since` whose rating question is not queued.
    pub async fn owed_rating_questions(&self, channel: &str, since: Millis) -> Result<Vec<OwedRating>> {
        Ok(sqlx::query_as(sql(format!(
            "SELECT c.id AS conversation_id, c.org_id, c.thread_key FROM conversations c \
             WHERE c.channel = $1 AND c.status = '{closed}' AND c.closed_at > $2 AND NOT EXISTS \
               (SELECT 1 FROM outbox o WHERE o.dedup_key = 'csat:' || CAST(c.id AS TEXT))",
            closed = ConversationStatus::Closed.as_str(),
        )))
        .bind(channel)
        .bind(since)
        .fetch_all(&self.read)
        .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::notice_key;

    /// The owed-notice queries spell these keys in SQL; a change here must change them too.
    #[test]
    fn notice_keys_are_the_ones_the_queries_look_for() {
        assert_eq!(notice_key::called(7, 1700), "called:7:1700");
        assert_eq!(notice_key::next(7), "next:7");
        assert_eq!(notice_key::rating(9), "csat:9");
    }
}
