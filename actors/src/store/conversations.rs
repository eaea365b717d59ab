//! Conversations (chats, and later e-mail threads, Telegram dialogues and calls): their thread,
//! status, offers and timeline. Every status change is a guarded update (it names the status it
//! expects), so two nodes or a double click cannot both win; each writes its timeline row in the
//! same transaction.

use serde::Serialize;

use super::{placeholders, sql, timeline, Store, Tx};
use crate::channel::ChannelKind;
use crate::error::{Error, Result};
use crate::model::conversation::{ConversationStatus as Status, Move};
use crate::model::presence::Presence;
use crate::model::routing::{Candidate, Load};
use crate::model::Millis;

pub use crate::model::message::MESSAGE_LIMIT;

const CONV_COLUMNS: &str = "c.id, c.org_id, c.service_id, s.name_ru AS service, c.contact_id, \
    COALESCE(k.name, 'Гость ' || c.contact_id) AS contact_name, c.channel, c.thread_key, c.status, c.priority, \
    c.created_at, c.queued_at, c.offered_to, c.offer_expires_at, c.assignee_id, u.name AS assignee, u.gender AS assignee_gender, \
    c.accepted_at, c.first_response_at, c.closed_at, c.resolution, c.rating, c.rating_comment, \
    c.last_message_at, c.operator_seen_id, \
    (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id AND m.author = 'visitor' \
        AND m.id > c.operator_seen_id) AS unread, \
    (SELECT COUNT(*) FROM messages m JOIN outbox o ON o.message_id = m.id \
        WHERE m.conversation_id = c.id AND o.failed_at IS NOT NULL) AS undelivered";

const CONV_FROM: &str = "conversations c JOIN services s ON s.id = c.service_id \
    JOIN contacts k ON k.id = c.contact_id LEFT JOIN users u ON u.id = c.assignee_id";

#[derive(Debug, Clone, Serialize, sqlx::FromRow, PartialEq)]
pub struct ConversationRow {
    pub id: i64,
    pub org_id: i64,
    pub service_id: i64,
    pub service: String,
    pub contact_id: i64,
    pub contact_name: String,
    pub channel: String,
    #[serde(skip)]
    pub thread_key: String,
    #[sqlx(try_from = "String")]
    pub status: Status,
    pub priority: i64,
    pub created_at: i64,
    pub queued_at: i64,
    pub offered_to: Option<i64>,
    pub offer_expires_at: Option<i64>,
    pub assignee_id: Option<i64>,
    pub assignee: Option<String>,
    /// 'f', 'm' or none: the assignee's gender, for "Анна подключилась".
    pub assignee_gender: Option<String>,
    pub accepted_at: Option<i64>,
    pub first_response_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub resolution: Option<String>,
    pub rating: Option<i64>,
    pub rating_comment: Option<String>,
    pub last_message_at: i64,
    #[serde(skip)]
    pub operator_seen_id: i64,
    pub unread: i64,
    /// Replies of this conversation that never reached the customer (the console marks them).
    pub undelivered: i64,
}

/// Today's customer satisfaction, as the supervisor sees it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Csat {
    pub rated: i64,
    /// Rated 4 or 5.
    pub satisfied: i64,
    pub average: Option<f64>,
    /// satisfied / rated, in per cent; none before the first rating.
    pub percent: Option<i64>,
}

/// The few fields of a conversation every message checks.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Head {
    pub id: i64,
    pub org_id: i64,
    #[sqlx(try_from = "String")]
    pub status: Status,
    pub assignee_id: Option<i64>,
    pub thread_key: String,
    pub channel: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ContactRef {
    pub id: i64,
    pub name: String,
}

/// A conversation as clients see it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Conversation {
    #[serde(flatten)]
    pub row: ConversationRow,
    pub contact: ContactRef,
    pub last_message: Option<Message>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct AttachmentMeta {
    pub id: i64,
    pub name: String,
    pub mime: String,
    pub size: i64,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Message {
    pub id: i64,
    pub conversation_id: i64,
    pub author: String,
    pub operator_id: Option<i64>,
    pub operator_name: Option<String>,
    pub body: String,
    pub attachments: Vec<AttachmentMeta>,
    pub client_id: Option<String>,
    pub at: i64,
    /// For a reply a bridge sends: `pending`, `sent` or `failed` (it never reached the customer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<String>,
}

#[derive(sqlx::FromRow)]
struct MessageRow {
    id: i64,
    conversation_id: i64,
    author: String,
    operator_id: Option<i64>,
    operator_name: Option<String>,
    body: String,
    client_id: Option<String>,
    at: i64,
    out_id: Option<i64>,
    out_sent_at: Option<i64>,
    out_failed_at: Option<i64>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct TimelineEntry {
    pub at: i64,
    pub kind: String,
    pub operator_id: Option<i64>,
    pub detail: Option<String>,
}

/// Who writes a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Author {
    Visitor,
    Operator(i64),
    /// The hub itself: transcripts, delivery notes.
    System,
}

impl Author {
    fn as_str(self) -> &'static str {
        match self {
            Author::Visitor => "visitor",
            Author::Operator(_) => "operator",
            Author::System => "system",
        }
    }

    fn operator(self) -> Option<i64> {
        match self {
            Author::Operator(id) => Some(id),
            _ => None,
        }
    }
}

/// Where a transfer sends a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferTo {
    Operator(i64),
    Queue(i64),
}

const MESSAGE_SELECT: &str = "SELECT m.id, m.conversation_id, m.author, m.operator_id, u.name AS operator_name, \
    m.body, m.client_id, m.at, o.id AS out_id, o.sent_at AS out_sent_at, o.failed_at AS out_failed_at \
    FROM messages m LEFT JOIN users u ON u.id = m.operator_id LEFT JOIN outbox o ON o.message_id = m.id";

/// The live conversation of a dialogue (`$1` org, `$2` channel, `$3` dialogue): at most one, by
/// the store's unique index on the same condition.
fn live_of_dialogue() -> String {
    format!(
        "SELECT id FROM conversations WHERE org_id = $1 AND channel = $2 AND thread_key = $3 AND {}",
        Status::sql_live("status")
    )
}

impl Store {
    pub async fn conversation(&self, org_id: i64, id: i64) -> Result<Conversation> {
        let row: ConversationRow = sqlx::query_as(super::sql(format!(
            "SELECT {CONV_COLUMNS} FROM {CONV_FROM} WHERE c.id = $1 AND c.org_id = $2"
        )))
        .bind(id)
        .bind(org_id)
        .fetch_optional(&self.read)
        .await?
        .ok_or(Error::NotFound("conversation"))?;
        self.dress(vec![row])
            .await?
            .pop()
            .ok_or(Error::NotFound("conversation"))
    }

    /// What a message or a typing signal needs to know of a conversation, in one cheap read.
    pub async fn conversation_head(&self, org_id: i64, id: i64) -> Result<Head> {
        sqlx::query_as(
            "SELECT id, org_id, status, assignee_id, thread_key, channel FROM conversations WHERE id = $1 AND org_id = $2",
        )
        .bind(id)
        .bind(org_id)
        .fetch_optional(&self.read)
        .await?
        .ok_or(Error::NotFound("conversation"))
    }

    /// Conversations matching `filter` (an SQL condition on `c` with `$1` = org id and `$2` = `arg`).
    async fn conversations_where(&self, org_id: i64, filter: &str, arg: i64, limit: i64) -> Result<Vec<Conversation>> {
        let rows: Vec<ConversationRow> = sqlx::query_as(super::sql(format!(
            "SELECT {CONV_COLUMNS} FROM {CONV_FROM} WHERE c.org_id = $1 AND {filter} \
             ORDER BY c.priority DESC, c.queued_at, c.id LIMIT {limit}"
        )))
        .bind(org_id)
        .bind(arg)
        .fetch_all(&self.read)
        .await?;
        self.dress(rows).await
    }

    /// Open conversations of an operator.
    pub async fn conversations_of(&self, org_id: i64, user_id: i64) -> Result<Vec<Conversation>> {
        let filter = format!("{} AND c.assignee_id = $2", Status::sql_in("c.status", &[Status::Open]));
        self.conversations_where(org_id, &filter, user_id, 500).await
    }

    pub async fn offers_to(&self, org_id: i64, user_id: i64) -> Result<Vec<Conversation>> {
        let filter = format!(
            "{} AND c.offered_to = $2",
            Status::sql_in("c.status", &[Status::Offered])
        );
        self.conversations_where(org_id, &filter, user_id, 100).await
    }

    /// Waiting conversations; with `skilled_user`, only in queues that user has a skill for.
    pub async fn queued(&self, org_id: i64, skilled_user: Option<i64>) -> Result<Vec<Conversation>> {
        let waiting = Status::sql_in("c.status", &Status::WAITING);
        match skilled_user {
            Some(u) => {
                let filter = format!(
                    "{waiting} AND c.service_id IN (SELECT service_id FROM operator_skills WHERE user_id = $2)"
                );
                self.conversations_where(org_id, &filter, u, 200).await
            }
            None => {
                self.conversations_where(org_id, &format!("{waiting} AND $2 = $2"), 0, 500)
                    .await
            }
        }
    }

    /// Every open conversation of the organisation (supervisors).
    pub async fn open_conversations(&self, org_id: i64) -> Result<Vec<Conversation>> {
        let filter = format!("{} AND $2 = $2", Status::sql_in("c.status", &[Status::Open]));
        self.conversations_where(org_id, &filter, 0, 2000).await
    }

    /// The open conversation of a dialogue, if any.
    pub async fn open_conversation_for(
        &self,
        org_id: i64,
        channel: &str,
        thread_key: &str,
    ) -> Result<Option<Conversation>> {
        let row: Option<ConversationRow> = sqlx::query_as(super::sql(format!(
            "SELECT {CONV_COLUMNS} FROM {CONV_FROM} WHERE c.org_id = $1 AND c.channel = $2 AND c.thread_key = $3 \
             AND {live}",
            live = Status::sql_live("c.status"),
        )))
        .bind(org_id)
        .bind(channel)
        .bind(thread_key)
        .fetch_optional(&self.read)
        .await?;
        match row {
            Some(r) => Ok(self.dress(vec![r]).await?.pop()),
            None => Ok(None),
        }
    }

    /// The id of the open conversation of a dialogue, if any.
    pub async fn open_conversation_id(&self, org_id: i64, channel: &str, thread_key: &str) -> Result<Option<i64>> {
        let row: Option<(i64,)> = sqlx::query_as(super::sql(live_of_dialogue()))
            .bind(org_id)
            .bind(channel)
            .bind(thread_key)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.map(|r| r.0))
    }

    /// The latest conversation of a dialogue, open or closed (a widget after a reload).
    pub async fn latest_conversation_for(
        &self,
        org_id: i64,
        channel: &str,
        thread_key: &str,
    ) -> Result<Option<Conversation>> {
        let row: Option<ConversationRow> = sqlx::query_as(super::sql(format!(
            "SELECT {CONV_COLUMNS} FROM {CONV_FROM} WHERE c.org_id = $1 AND c.channel = $2 AND c.thread_key = $3 \
             ORDER BY c.id DESC LIMIT 1"
        )))
        .bind(org_id)
        .bind(channel)
        .bind(thread_key)
        .fetch_optional(&self.read)
        .await?;
        match row {
            Some(r) => Ok(self.dress(vec![r]).await?.pop()),
            None => Ok(None),
        }
    }

    /// Adds contact and last message to rows.
    async fn dress(&self, rows: Vec<ConversationRow>) -> Result<Vec<Conversation>> {
        if rows.is_empty() {
            return Ok(vec![]);
        }
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let sql_text = format!(
            "{MESSAGE_SELECT} WHERE m.id IN (SELECT MAX(id) FROM messages WHERE conversation_id IN ({}) \
             GROUP BY conversation_id)",
            placeholders(1, ids.len())
        );
        let mut q = sqlx::query_as::<_, MessageRow>(super::sql(sql_text));
        for id in &ids {
            q = q.bind(*id);
        }
        let last = self.with_attachments(q.fetch_all(&self.read).await?).await?;
        Ok(rows
            .into_iter()
            .map(|row| Conversation {
                contact: ContactRef {
                    id: row.contact_id,
                    name: row.contact_name.clone(),
                },
                last_message: last.iter().find(|m| m.conversation_id == row.id).cloned(),
                row,
            })
            .collect())
    }

    async fn with_attachments(&self, rows: Vec<MessageRow>) -> Result<Vec<Message>> {
        let ids: Vec<i64> = rows.iter().map(|m| m.id).collect();
        let mut atts: Vec<(i64, i64, String, String, i64)> = vec![];
        if !ids.is_empty() {
            let sql_text = format!(
                "SELECT message_id, id, name, mime, size FROM attachments WHERE message_id IN ({}) ORDER BY id",
                placeholders(1, ids.len())
            );
            let mut q = sqlx::query_as(super::sql(sql_text));
            for id in &ids {
                q = q.bind(*id);
            }
            atts = q.fetch_all(&self.read).await?;
        }
        Ok(rows
            .into_iter()
            .map(|m| Message {
                attachments: atts
                    .iter()
                    .filter(|a| a.0 == m.id)
                    .map(|a| AttachmentMeta {
                        id: a.1,
                        name: a.2.clone(),
                        mime: a.3.clone(),
                        size: a.4,
                    })
                    .collect(),
                id: m.id,
                conversation_id: m.conversation_id,
                author: m.author,
                operator_id: m.operator_id,
                operator_name: m.operator_name,
                body: m.body,
                client_id: m.client_id,
                at: m.at,
                delivery: m.out_id.map(|_| {
                    crate::model::delivery::delivery_state(m.out_sent_at.is_some(), m.out_failed_at.is_some())
                        .to_string()
                }),
            })
            .collect())
    }

    /// Messages of a conversation after message id `after`, oldest first.
    pub async fn messages(&self, conversation_id: i64, after: i64, limit: i64) -> Result<Vec<Message>> {
        let rows: Vec<MessageRow> = sqlx::query_as(super::sql(format!(
            "{MESSAGE_SELECT} WHERE m.conversation_id = $1 AND m.id > $2 ORDER BY m.id LIMIT {limit}"
        )))
        .bind(conversation_id)
        .bind(after)
        .fetch_all(&self.read)
        .await?;
        self.with_attachments(rows).await
    }

    /// The latest `limit` messages after `after`, oldest first: a client that was away long
    /// gets the end of the thread, not its beginning.
    pub async fn latest_messages(&self, conversation_id: i64, after: i64, limit: i64) -> Result<Vec<Message>> {
        let mut rows: Vec<MessageRow> = sqlx::query_as(super::sql(format!(
            "{MESSAGE_SELECT} WHERE m.conversation_id = $1 AND m.id > $2 ORDER BY m.id DESC LIMIT {limit}"
        )))
        .bind(conversation_id)
        .bind(after)
        .fetch_all(&self.read)
        .await?;
        rows.reverse();
        self.with_attachments(rows).await
    }

    /// A message of any conversation of the dialogue, by its sender's id: a resend that arrives
    /// after its conversation closed is recognised, not stored again in a new one.
    pub async fn message_in_thread(
        &self,
        org_id: i64,
        channel: &str,
        thread_key: &str,
        client_id: &str,
    ) -> Result<Option<(i64, Message)>> {
        let found: Option<(i64, i64)> = sqlx::query_as(
            "SELECT m.id, c.id FROM messages m JOIN conversations c ON c.id = m.conversation_id \
             WHERE c.org_id = $1 AND c.channel = $2 AND c.thread_key = $3 AND m.client_id = $4",
        )
        .bind(org_id)
        .bind(channel)
        .bind(thread_key)
        .bind(client_id)
        .fetch_optional(&self.read)
        .await?;
        match found {
            Some((m, c)) => Ok(Some((c, self.message(m).await?))),
            None => Ok(None),
        }
    }

    pub async fn timeline(&self, conversation_id: i64) -> Result<Vec<TimelineEntry>> {
        Ok(sqlx::query_as(
            "SELECT at, kind, operator_id, detail FROM conversation_events WHERE conversation_id = $1 ORDER BY id",
        )
        .bind(conversation_id)
        .fetch_all(&self.read)
        .await?)
    }

    /// Opens a conversation for a dialogue, or returns the one already open (two first messages
    /// racing open one conversation: the store's unique index decides).
    #[allow(clippy::too_many_arguments)]
    pub async fn open_conversation(
        &self,
        org_id: i64,
        service_id: i64,
        contact_id: i64,
        channel: &str,
        thread_key: &str,
        priority: i64,
        now: Millis,
    ) -> Result<(i64, bool)> {
        // Most messages belong to a conversation already open: find it without the writer.
        if let Some(id) = self.open_conversation_id(org_id, channel, thread_key).await? {
            return Ok((id, false));
        }
        let mut tx = self.write.begin().await?;
        let inserted: Result<(i64,), sqlx::Error> = sqlx::query_as(sql(format!(
            "INSERT INTO conversations (org_id, service_id, contact_id, channel, thread_key, status, priority, \
             created_at, queued_at, last_message_at) VALUES ($1, $2, $3, $4, $5, '{queued}', $6, $7, $7, $7) RETURNING id",
            queued = Status::Queued.as_str(),
        )))
        .bind(org_id)
        .bind(service_id)
        .bind(contact_id)
        .bind(channel)
        .bind(thread_key)
        .bind(priority)
        .bind(now)
        .fetch_one(&mut *tx)
        .await;
        match inserted {
            Ok((id,)) => {
                timeline(&mut tx, id, now, "created", None, Some(channel)).await?;
                timeline(&mut tx, id, now, "queued", None, None).await?;
                tx.commit().await?;
                Ok((id, true))
            }
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                drop(tx);
                let (id,): (i64,) = sqlx::query_as(super::sql(live_of_dialogue()))
                    .bind(org_id)
                    .bind(channel)
                    .bind(thread_key)
                    .fetch_one(&self.write)
                    .await?;
                Ok((id, false))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Stores a message once: a resend with the same `client_id` returns the stored message and
    /// `false`. Attachments must be the author's own and not yet used.
    #[allow(clippy::too_many_arguments)]
    pub async fn add_message(
        &self,
        org_id: i64,
        conversation_id: i64,
        author: Author,
        owner: &str,
        body: &str,
        client_id: Option<&str>,
        attachment_ids: &[i64],
        now: Millis,
    ) -> Result<(Message, bool)> {
        let mut tx = self.write.begin().await?;
        if let Some(cid) = client_id {
            let found: Option<(i64,)> =
                sqlx::query_as("SELECT id FROM messages WHERE conversation_id = $1 AND client_id = $2")
                    .bind(conversation_id)
                    .bind(cid)
                    .fetch_optional(&mut *tx)
                    .await?;
            if let Some((id,)) = found {
                drop(tx);
                return Ok((self.message(id).await?, false));
            }
        }
        // The conversation must still take this message, checked and locked in this transaction:
        // a close (or a take-over) committed a moment ago on another node wins, and on
        // PostgreSQL the row lock makes one conversation's messages commit in id order.
        let first_response = matches!(author, Author::Operator(_));
        let (holder_only, operator) = match author {
            Author::Operator(op) => (1i64, op),
            _ => (0, 0),
        };
        // A live conversation takes the customer's messages; an operator's only while they hold it.
        let open: Option<(String, String)> = sqlx::query_as(super::sql(format!(
            "UPDATE conversations SET last_message_at = $1, \
             first_response_at = CASE WHEN $2 = 1 AND first_response_at IS NULL THEN $1 ELSE first_response_at END \
             WHERE id = $3 AND status <> '{closed}' AND ($4 = 0 OR (status = '{open}' AND assignee_id = $5)) \
             RETURNING channel, thread_key",
            closed = Status::Closed,
            open = Status::Open,
        )))
        .bind(now)
        .bind(i64::from(first_response))
        .bind(conversation_id)
        .bind(holder_only)
        .bind(operator)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((channel, thread_key)) = open else {
            return Err(match author {
                Author::Operator(_) => Error::Conflict("only the operator holding this conversation can reply".into()),
                _ => Error::ConversationClosed,
            });
        };
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO messages (org_id, conversation_id, author, operator_id, body, client_id, at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(org_id)
        .bind(conversation_id)
        .bind(author.as_str())
        .bind(author.operator())
        .bind(body)
        .bind(client_id)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        if !matches!(author, Author::System) {
            super::search::index(&mut tx, org_id, super::search::CONVERSATION, conversation_id, body).await?;
        }
        if !attachment_ids.is_empty() {
            let sql_text = format!(
                "UPDATE attachments SET message_id = $1, conversation_id = $2 WHERE owner = $3 AND org_id = $4 \
                 AND message_id IS NULL AND id IN ({})",
                placeholders(5, attachment_ids.len())
            );
            let mut q = sqlx::query(super::sql(sql_text))
                .bind(id)
                .bind(conversation_id)
                .bind(owner)
                .bind(org_id);
            for a in attachment_ids {
                q = q.bind(*a);
            }
            if q.execute(&mut *tx).await?.rows_affected() != attachment_ids.len() as u64 {
                return Err(crate::model::field::FieldError::new(
                    "attachment_ids",
                    "attachment_gone",
                    serde_json::json!({}),
                )
                .into());
            }
        }
        if matches!(author, Author::Visitor) && !attachment_ids.is_empty() {
            super::speech::enqueue_for_message(self, &mut tx, org_id, conversation_id, id, now).await?;
        }
        // A service-desk request gathering this conversation reads its clocks again.
        if !matches!(author, Author::System) {
            super::requests::recheck_thread(&mut tx, conversation_id, matches!(author, Author::Visitor), now).await?;
        }
        // A reply for a channel whose bridge sends it is queued for sending in the same
        // transaction: once stored, it will be sent. A dialogue may be answered through another
        // bridge too (a web chat whose visitor left their e-mail address).
        if matches!(author, Author::Operator(_)) {
            if let Some(out) = super::outbox::reply_via(&mut tx, &channel, &thread_key).await? {
                super::outbox::enqueue_message(&mut tx, org_id, &out, &thread_key, id, now).await?;
            }
        }
        tx.commit().await?;
        Ok((self.message(id).await?, true))
    }

    pub async fn message_by_client_id(&self, conversation_id: i64, client_id: &str) -> Result<Option<Message>> {
        let found: Option<(i64,)> =
            sqlx::query_as("SELECT id FROM messages WHERE conversation_id = $1 AND client_id = $2")
                .bind(conversation_id)
                .bind(client_id)
                .fetch_optional(&self.read)
                .await?;
        match found {
            Some((id,)) => Ok(Some(self.message(id).await?)),
            None => Ok(None),
        }
    }

    pub async fn message(&self, id: i64) -> Result<Message> {
        let rows: Vec<MessageRow> = sqlx::query_as(super::sql(format!("{MESSAGE_SELECT} WHERE m.id = $1")))
            .bind(id)
            .fetch_all(&self.write)
            .await?;
        self.with_attachments(rows)
            .await?
            .pop()
            .ok_or(Error::NotFound("message"))
    }

    /// A guarded move: applies it (its new status and `set`) only while the conversation is in a
    /// status the move starts from and as `expect` says (who holds it), and writes the timeline
    /// row with it. Returns whether it applied.
    #[allow(clippy::too_many_arguments)]
    async fn change(
        &self,
        id: i64,
        what: Move,
        set: &str,
        expect: &str,
        binds: &[Option<i64>],
        kind: &str,
        operator: Option<i64>,
        detail: Option<&str>,
        now: Millis,
    ) -> Result<bool> {
        let mut tx = self.write.begin().await?;
        let n = binds.len();
        let (status, guard) = (what.set(), what.guard());
        let sql_text = format!(
            "UPDATE conversations SET {status}, {set} WHERE id = ${} AND {guard} AND {expect}",
            n + 1
        );
        let mut q = sqlx::query(super::sql(sql_text));
        for b in binds {
            q = q.bind(*b);
        }
        let done = q.bind(id).execute(&mut *tx).await?.rows_affected() == 1;
        if done {
            timeline(&mut tx, id, now, kind, operator, detail).await?;
            tx.commit().await?;
        }
        Ok(done)
    }

    /// Offers a waiting conversation to `operator`, if it still waits and they may still take
    /// it: the room is the model's rule ([`Candidate::may_take`]) over the operator's figures
    /// read in the offer's own transaction, so two routers on two nodes can neither offer one
    /// conversation twice nor fill one operator past their capacity.
    pub async fn offer(&self, id: i64, operator: i64, expires_at: Millis, now: Millis) -> Result<bool> {
        let mut tx = self.write.begin().await?;
        let done = self.offer_in(&mut tx, id, operator, expires_at, now).await?;
        if done {
            tx.commit().await?;
        }
        Ok(done)
    }

    /// Several offers `(conversation, operator, expires_at)`, each as [`Store::offer`] makes it,
    /// in one transaction: on SQLite, whose single writer takes offers in turn anyway, one
    /// commit for a router's pass saves a round of statements per offer (a later offer to the
    /// same operator sees the earlier ones). Answers which were made; an error makes none.
    pub async fn offers(&self, offers: &[(i64, i64, Millis)], now: Millis) -> Result<Vec<bool>> {
        let mut tx = self.write.begin().await?;
        let mut made = Vec::with_capacity(offers.len());
        for (id, operator, expires_at) in offers {
            made.push(self.offer_in(&mut tx, *id, *operator, *expires_at, now).await?);
        }
        tx.commit().await?;
        Ok(made)
    }

    async fn offer_in(&self, tx: &mut Tx<'_>, id: i64, operator: i64, expires_at: Millis, now: Millis) -> Result<bool> {
        if self.backend == super::Backend::Postgres {
            // Offers to one operator take turns; SQLite's single writer does this by itself.
            sqlx::query("SELECT id FROM users WHERE id = $1 FOR UPDATE")
                .bind(operator)
                .execute(&mut **tx)
                .await?;
        }
        // What the operator holds now: open conversations and offers pending to them, by load,
        // and visits in hand.
        let held = format!(
            "((o.assignee_id = $1 AND o.status = '{open}') OR (o.offered_to = $1 AND o.status = '{offered}'))",
            open = Status::Open,
            offered = Status::Offered,
        );
        let figures: Option<OfferFigures> = sqlx::query_as(sql(format!(
            "SELECT c.channel, s.presence, s.wrap_up_until, u.chat_capacity, h.chats, u.mail_capacity, h.mails, \
               h.calls + (SELECT COUNT(*) FROM tickets t WHERE t.operator_id = $1 AND {in_hand}) \
             FROM conversations c JOIN users u ON u.id = $1 LEFT JOIN operator_states s ON s.user_id = u.id, \
               (SELECT COALESCE(SUM(CASE WHEN {o_chat} THEN 1 ELSE 0 END), 0) AS chats, \
                       COALESCE(SUM(CASE WHEN {o_mail} THEN 1 ELSE 0 END), 0) AS mails, \
                       COALESCE(SUM(CASE WHEN {o_exclusive} THEN 1 ELSE 0 END), 0) AS calls \
                FROM conversations o WHERE {held}) h \
             WHERE c.id = $2",
            o_exclusive = ChannelKind::sql_exclusive("o.channel"),
            o_chat = ChannelKind::sql_load("o.channel", Load::Chat),
            o_mail = ChannelKind::sql_load("o.channel", Load::Mail),
            in_hand = crate::model::ticket::TicketStatus::sql_in_hand("t.status"),
        )))
        .bind(operator)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
        let Some((channel, presence, wrap_up_until, capacity, chats, mail_capacity, mails, exclusive)) = figures else {
            return Ok(false);
        };
        let candidate = Candidate {
            id: operator,
            available: presence
                .and_then(|p| serde_json::from_str::<Presence>(&p).ok())
                .is_some_and(|p| p == Presence::Available),
            wrap_up_until: wrap_up_until.unwrap_or(0),
            chats: u32::try_from(chats).unwrap_or(u32::MAX),
            chat_capacity: u32::try_from(capacity).unwrap_or(0),
            mails: u32::try_from(mails).unwrap_or(u32::MAX),
            mail_capacity: u32::try_from(mail_capacity).unwrap_or(0),
            exclusive: u32::try_from(exclusive).unwrap_or(u32::MAX),
            idle_since: 0,
            last_offer_at: 0,
            missed_offers: 0,
            skills: Default::default(),
        };
        if !candidate.may_take(now, ChannelKind::load_of(&channel)) {
            return Ok(false);
        }
        let done = sqlx::query(sql(format!(
            "UPDATE conversations SET {set}, offered_to = $1, offer_expires_at = $2 WHERE id = $3 AND {guard}",
            set = Move::Offer.set(),
            guard = Move::Offer.guard(),
        )))
        .bind(operator)
        .bind(expires_at)
        .bind(id)
        .execute(&mut **tx)
        .await?
        .rows_affected()
            == 1;
        if !done {
            return Ok(false);
        }
        timeline(tx, id, now, "offered", Some(operator), None).await?;
        sqlx::query("UPDATE operator_states SET last_offer_at = $1 WHERE user_id = $2")
            .bind(now)
            .bind(operator)
            .execute(&mut **tx)
            .await?;
        Ok(true)
    }

    /// The offer ran out (`missed`) or was declined: the conversation waits again.
    pub async fn withdraw_offer(&self, id: i64, operator: i64, missed: bool, now: Millis) -> Result<bool> {
        let done = self
            .change(
                id,
                Move::Withdraw,
                "offered_to = NULL, offer_expires_at = NULL",
                "offered_to = $1",
                &[Some(operator)],
                if missed { "offer_expired" } else { "declined" },
                Some(operator),
                None,
                now,
            )
            .await?;
        if done && missed {
            sqlx::query("UPDATE operator_states SET missed_offers = missed_offers + 1 WHERE user_id = $1")
                .bind(operator)
                .execute(&self.write)
                .await?;
        }
        Ok(done)
    }

    pub async fn accept(&self, id: i64, operator: i64, now: Millis) -> Result<()> {
        let done = self
            .change(
                id,
                Move::Accept,
                "assignee_id = $1, offered_to = NULL, offer_expires_at = NULL, accepted_at = COALESCE(accepted_at, $2)",
                "offered_to = $1",
                &[Some(operator), Some(now)],
                "accepted",
                Some(operator),
                None,
                now,
            )
            .await?;
        if !done {
            return Err(Error::Conflict("this conversation is no longer offered to you".into()));
        }
        sqlx::query("UPDATE operator_states SET missed_offers = 0 WHERE user_id = $1")
            .bind(operator)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// A supervisor hands a waiting or open conversation to `operator` (manual pick, take over,
    /// reassign).
    pub async fn assign(&self, id: i64, operator: i64, by: i64, now: Millis) -> Result<()> {
        let detail = format!("by {by}");
        let done = self
            .change(
                id,
                Move::Assign,
                "assignee_id = $1, offered_to = NULL, offer_expires_at = NULL, accepted_at = COALESCE(accepted_at, $2)",
                "1 = 1",
                &[Some(operator), Some(now)],
                "assigned",
                Some(operator),
                Some(&detail),
                now,
            )
            .await?;
        if !done {
            return Err(Error::ConversationClosed);
        }
        Ok(())
    }

    pub async fn transfer(&self, id: i64, from: i64, to: TransferTo, note: Option<&str>, now: Millis) -> Result<()> {
        let done = match to {
            TransferTo::Operator(op) => {
                let detail = format!("to operator {op}{}", note.map(|n| format!(": {n}")).unwrap_or_default());
                self.change(
                    id,
                    Move::PassToOperator,
                    "assignee_id = $1",
                    "assignee_id = $2",
                    &[Some(op), Some(from)],
                    "transferred",
                    Some(from),
                    Some(&detail),
                    now,
                )
                .await?
            }
            TransferTo::Queue(service_id) => {
                let detail = format!(
                    "to queue {service_id}{}",
                    note.map(|n| format!(": {n}")).unwrap_or_default()
                );
                self.change(
                    id,
                    Move::PassToQueue,
                    "service_id = $1, assignee_id = NULL, queued_at = $3",
                    "assignee_id = $2",
                    &[Some(service_id), Some(from), Some(now)],
                    "transferred",
                    Some(from),
                    Some(&detail),
                    now,
                )
                .await?
            }
        };
        if !done {
            return Err(Error::Conflict(
                "only the operator holding an open conversation can transfer it".into(),
            ));
        }
        Ok(())
    }

    /// Closes a conversation; its operator goes into wrap-up.
    pub async fn close_conversation(
        &self,
        id: i64,
        operator: i64,
        resolution: Option<&str>,
        now: Millis,
    ) -> Result<()> {
        let mut tx = self.write.begin().await?;
        let done = sqlx::query(super::sql(format!(
            "UPDATE conversations SET {set}, closed_at = $1, resolution = $2, offered_to = NULL, \
             offer_expires_at = NULL WHERE id = $3 AND {guard} AND assignee_id = $4",
            set = Move::Close.set(),
            guard = Move::Close.guard(),
        )))
        .bind(now)
        .bind(resolution)
        .bind(id)
        .bind(operator)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !done {
            return Err(Error::Conflict(
                "only the operator holding an open conversation can close it".into(),
            ));
        }
        timeline(&mut tx, id, now, "closed", Some(operator), resolution).await?;
        sqlx::query(
            super::sql(format!(
                "UPDATE operator_states SET wrap_up_until = $1 + 1000 * (SELECT wrap_up_secs FROM users WHERE id = $2), \
                 idle_since = CASE WHEN EXISTS (SELECT 1 FROM conversations WHERE assignee_id = $2 AND status = '{open}') \
                                   THEN idle_since ELSE $1 END \
                 WHERE user_id = $2",
                open = Status::Open,
            )),
        )
        .bind(now)
        .bind(operator)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Customer satisfaction of a branch's conversations closed since `since`: how many were
    /// rated, the mean score, and how many rated 4 or 5 (CSAT is their share of those rated).
    pub async fn csat(&self, org_id: i64, branch_id: i64, since: Millis) -> Result<Csat> {
        let (rated, satisfied, average): (i64, i64, Option<f64>) = sqlx::query_as(
            "SELECT COUNT(*), CAST(COALESCE(SUM(CASE WHEN c.rating >= 4 THEN 1 ELSE 0 END), 0) AS BIGINT), \
                    CAST(AVG(c.rating) AS DOUBLE PRECISION) \
             FROM conversations c JOIN services s ON s.id = c.service_id \
             WHERE c.org_id = $1 AND s.branch_id = $2 AND c.rating IS NOT NULL AND c.closed_at >= $3",
        )
        .bind(org_id)
        .bind(branch_id)
        .bind(since)
        .fetch_one(&self.read)
        .await?;
        Ok(Csat {
            rated,
            satisfied,
            average,
            percent: (rated > 0).then(|| (satisfied as f64 * 100.0 / rated as f64).round() as i64),
        })
    }

    /// The visitor's rating of a closed conversation; given once.
    pub async fn rate(&self, id: i64, contact_id: i64, score: i64, comment: Option<&str>, now: Millis) -> Result<()> {
        let mut tx = self.write.begin().await?;
        let done = sqlx::query(super::sql(format!(
            "UPDATE conversations SET rating = $1, rating_comment = $2 \
             WHERE id = $3 AND status = '{closed}' AND rating IS NULL AND contact_id = $4",
            closed = Status::Closed,
        )))
        .bind(score)
        .bind(comment)
        .bind(id)
        .bind(contact_id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !done {
            return Err(Error::Conflict(
                "only a closed conversation can be rated, and only once".into(),
            ));
        }
        timeline(&mut tx, id, now, "rated", None, Some(&score.to_string())).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn mark_read(&self, id: i64, up_to: i64) -> Result<()> {
        // Never past the last message: a made-up id must not hide messages still to come.
        sqlx::query(
            "UPDATE conversations SET operator_seen_id = \
             (SELECT COALESCE(MAX(id), 0) FROM messages WHERE conversation_id = $2 AND id <= $1) \
             WHERE id = $2 AND operator_seen_id < $1",
        )
        .bind(up_to)
        .bind(id)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Withdraws the offers waiting for an operator's answer (they went on a break).
    pub async fn withdraw_offers_of(&self, operator: i64, now: Millis) -> Result<Vec<i64>> {
        self.release(
            operator,
            Move::Withdraw,
            "offered_to = NULL, offer_expires_at = NULL",
            "offered_to = $1",
            ("offer_withdrawn", "operator went on a break"),
            now,
        )
        .await
    }

    /// An operator signing out hands back what they hold: open and offered conversations wait
    /// again, keeping their age, so no customer is left with nobody.
    pub async fn hand_back(&self, operator: i64, now: Millis) -> Result<Vec<i64>> {
        self.release(
            operator,
            Move::HandBack,
            "assignee_id = NULL, offered_to = NULL, offer_expires_at = NULL",
            &format!(
                "((assignee_id = $1 AND status = '{open}') OR (offered_to = $1 AND status = '{offered}'))",
                open = Status::Open,
                offered = Status::Offered
            ),
            ("handed_back", "operator signed out"),
            now,
        )
        .await
    }

    /// Puts back in the queue every conversation of `operator` matching `which` (with `$1` the
    /// operator), each by a guarded change; answers the ones it moved.
    async fn release(
        &self,
        operator: i64,
        what: Move,
        set: &str,
        which: &str,
        (kind, why): (&str, &str),
        now: Millis,
    ) -> Result<Vec<i64>> {
        let guard = what.guard();
        let ids: Vec<(i64,)> = sqlx::query_as(super::sql(format!(
            "SELECT id FROM conversations WHERE {guard} AND {which}"
        )))
        .bind(operator)
        .fetch_all(&self.write)
        .await?;
        let mut moved = vec![];
        for (id,) in ids {
            if self
                .change(
                    id,
                    what,
                    set,
                    which,
                    &[Some(operator)],
                    kind,
                    Some(operator),
                    Some(why),
                    now,
                )
                .await?
            {
                moved.push(id);
            }
        }
        Ok(moved)
    }

    /// The customer left before an operator took the conversation (a caller hung up while
    /// queued or while the operator's phone rang): it closes, and its offer, if any, goes.
    pub async fn abandon_conversation(&self, id: i64, why: &str, now: Millis) -> Result<bool> {
        let mut tx = self.write.begin().await?;
        let done = sqlx::query(sql(format!(
            "UPDATE conversations SET {set}, closed_at = $1, resolution = $2, offered_to = NULL, \
             offer_expires_at = NULL WHERE id = $3 AND {guard}",
            set = Move::Abandon.set(),
            guard = Move::Abandon.guard(),
        )))
        .bind(now)
        .bind(why)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if done {
            timeline(&mut tx, id, now, "abandoned", None, Some(why)).await?;
        }
        tx.commit().await?;
        Ok(done)
    }

    /// The accepting operator's phone did not take the call: the conversation waits again,
    /// keeping its age, and counts as declined by them so the router offers it to someone else.
    pub async fn return_call(&self, id: i64, operator: i64, why: &str, now: Millis) -> Result<bool> {
        let mut tx = self.write.begin().await?;
        let done = sqlx::query(sql(format!(
            "UPDATE conversations SET {set}, assignee_id = NULL, offered_to = NULL, offer_expires_at = NULL \
             WHERE id = $1 AND {guard} AND assignee_id = $2",
            set = Move::Return.set(),
            guard = Move::Return.guard(),
        )))
        .bind(id)
        .bind(operator)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if done {
            timeline(&mut tx, id, now, "declined", Some(operator), Some(why)).await?;
        }
        tx.commit().await?;
        Ok(done)
    }

    /// The customer goes on in another channel (a web-chat visitor opens the Telegram bot with
    /// a hand-off code): their live conversation in dialogue `from` continues in dialogue `to`,
    /// keeping its history, queue and holder, unless a conversation is live there already (the
    /// customer then simply has both). Returns the moved conversation.
    pub async fn move_dialogue(
        &self,
        org_id: i64,
        from: (ChannelKind, &str),
        to: (ChannelKind, &str),
        now: Millis,
    ) -> Result<Option<i64>> {
        let mut tx = self.write.begin().await?;
        let moved: Option<(i64,)> = sqlx::query_as(sql(format!(
            "UPDATE conversations SET channel = $1, thread_key = $2 \
             WHERE org_id = $3 AND channel = $4 AND thread_key = $5 AND {live} \
             AND NOT EXISTS (SELECT 1 FROM conversations o WHERE o.org_id = $3 AND o.channel = $1 \
                             AND o.thread_key = $2 AND {other_live}) RETURNING id",
            live = Status::sql_live("status"),
            other_live = Status::sql_live("o.status"),
        )))
        .bind(to.0.as_str())
        .bind(to.1)
        .bind(org_id)
        .bind(from.0.as_str())
        .bind(from.1)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some((id,)) = moved {
            timeline(&mut tx, id, now, "handed_over", None, Some(to.0.as_str())).await?;
        }
        tx.commit().await?;
        Ok(moved.map(|m| m.0))
    }

    /// The channel and dialogue key of a conversation of `org_id`, in one light read.
    pub async fn dialogue_of(&self, org_id: i64, id: i64) -> Result<Option<(String, String)>> {
        Ok(
            sqlx::query_as("SELECT channel, thread_key FROM conversations WHERE id = $1 AND org_id = $2")
                .bind(id)
                .bind(org_id)
                .fetch_optional(&self.read)
                .await?,
        )
    }

    /// A conversation's status, holder and offer, in one light read (what a call needs to know
    /// after missing changes, or when it ends).
    pub async fn conversation_state(&self, id: i64) -> Result<Option<(String, Option<i64>, Option<i64>)>> {
        Ok(
            sqlx::query_as("SELECT status, assignee_id, offered_to FROM conversations WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.read)
                .await?,
        )
    }

    /// A waiting conversation's place among those of its queue (1: next), if it still waits.
    pub async fn queue_position(&self, id: i64) -> Result<Option<i64>> {
        let row: Option<(i64,)> = sqlx::query_as(sql(format!(
            "SELECT 1 + (SELECT COUNT(*) FROM conversations o WHERE o.org_id = c.org_id AND o.service_id = c.service_id \
               AND {o_waiting} AND o.id <> c.id \
               AND (o.priority > c.priority OR (o.priority = c.priority AND (o.queued_at < c.queued_at \
                    OR (o.queued_at = c.queued_at AND o.id < c.id))))) \
             FROM conversations c WHERE c.id = $1 AND {c_waiting}",
            o_waiting = Status::sql_in("o.status", &Status::WAITING),
            c_waiting = Status::sql_in("c.status", &Status::WAITING),
        )))
        .bind(id)
        .fetch_optional(&self.read)
        .await?;
        Ok(row.map(|r| r.0))
    }
}

/// What an offer reads of its conversation and operator: the channel, presence, wrap-up end,
/// chat capacity, chats held or offered, calls and visits in hand.
type OfferFigures = (String, Option<String>, Option<i64>, i64, i64, i64, i64, i64);

/// Sends an operator's replies in a dialogue of `channel` through the bridge of `via` from now on
/// (in the caller's transaction, with whatever made the route possible).
pub async fn route_replies(tx: &mut Tx<'_>, channel: &str, thread_key: &str, via: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO reply_routes (channel, thread_key, via) VALUES ($1, $2, $3) \
         ON CONFLICT (channel, thread_key) DO UPDATE SET via = $3",
    )
    .bind(channel)
    .bind(thread_key)
    .bind(via)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
