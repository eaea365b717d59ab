//! Telegram bots of the organisations, the updates they received and the queue tickets taken
//! through them. An update is stored in the same transaction that moves the bot's offset past it,
//! so Telegram is never told "received" about an update the hub does not hold.

use serde::Serialize;

use hub_actors::channel::ChannelKind;
use hub_actors::error::{Error, Result};
use hub_actors::model::Millis;
use hub_actors::store::connector::{Connector, Leased};
use hub_actors::store::{BridgeTables, Sealed, Store};

/// The columns of this bridge the core seals at rest and checks names in.
pub const TABLES: BridgeTables = BridgeTables {
    sealed: &[
        Sealed {
            table: "telegram_bots",
            column: "token",
            digest: Some("token_digest"),
        },
        Sealed {
            table: "telegram_bots",
            column: "webhook_secret",
            digest: None,
        },
    ],
    named: &[],
};

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct TelegramBot {
    pub id: i64,
    pub org_id: i64,
    pub service_id: i64,
    pub branch_id: Option<i64>,
    #[serde(skip)]
    pub token: String,
    pub username: Option<String>,
    pub mode: String,
    #[serde(skip)]
    pub webhook_secret: Option<String>,
    pub lang: String,
    pub enabled: i64,
    pub update_offset: i64,
    pub created_at: i64,
}

/// One node at a time polls a bot.
pub const BOTS: Leased = Leased::table("telegram_bots");

const BOT_COLUMNS: &str = "id, org_id, service_id, branch_id, token, username, mode, webhook_secret, lang, \
    enabled, update_offset, created_at";

pub struct NewBot<'a> {
    pub org_id: i64,
    pub service_id: i64,
    pub branch_id: Option<i64>,
    pub token: &'a str,
    pub mode: &'a str,
    pub webhook_secret: Option<&'a str>,
    pub lang: &'a str,
}

/// The bot chat a queue ticket is taken from, and the update that asked for it.
#[derive(Debug, Clone, Copy)]
pub struct BotLink {
    pub bot_id: i64,
    pub chat_id: i64,
    pub update_id: i64,
}

impl BotLink {
    /// Keeps the chat with the ticket, in the ticket's own transaction: a repeated update finds
    /// the ticket it already took (`telegram_ticket_of_update`) and never takes a second.
    pub fn with_ticket(self) -> hub_actors::store::WithTicket {
        Box::new(move |tx, ticket_id| {
            Box::pin(async move {
                sqlx::query(
                    "INSERT INTO telegram_tickets (ticket_id, bot_id, chat_id, update_id) VALUES ($1, $2, $3, $4)",
                )
                .bind(ticket_id)
                .bind(self.bot_id)
                .bind(self.chat_id)
                .bind(self.update_id)
                .execute(&mut **tx)
                .await?;
                // The chat hears "you are next" and "go to window N": the core keeps who follows.
                hub_actors::store::follow_ticket(
                    tx,
                    ticket_id,
                    ChannelKind::Telegram.as_str(),
                    &super::thread_key(self.bot_id, self.chat_id),
                )
                .await
            })
        })
    }
}

/// What a hand-off from the web chat did.
#[derive(Debug, Clone)]
pub struct Handoff {
    /// The card that now holds both the visitor and the Telegram chat.
    pub contact_id: i64,
    /// The visitor's open web chat, which now goes on in the Telegram dialogue.
    pub moved: Option<i64>,
}

/// How long a hand-off link works.
const HANDOFF_MS: i64 = 3600 * 1000;

/// An update waiting to be applied.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PendingUpdate {
    pub update_id: i64,
    pub payload: String,
    pub attempts: i64,
}

/// An update that was not applied (ignored, or set aside after failing), with the JSON Telegram
/// sent, for an admin to see.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct SetAsideUpdate {
    pub update_id: i64,
    pub received_at: i64,
    pub processed_at: Option<i64>,
    pub attempts: i64,
    pub outcome: Option<String>,
    pub payload: String,
}

/// A file of a Telegram message still to fetch.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FileJob {
    pub id: i64,
    pub bot_id: i64,
    pub chat_id: i64,
    pub message_id: i64,
    pub file_id: String,
    pub name: String,
    pub kind: String,
    pub attempts: i64,
}

impl Connector for TelegramBot {
    const TABLE: Leased = BOTS;
    const COLUMNS: &'static str = BOT_COLUMNS;
    const WHAT: &'static str = "bot";

    /// Its token and webhook secret opened.
    fn opened(mut self, store: &Store) -> Result<Self> {
        self.token = store.open("telegram_bots.token", &self.token)?;
        self.webhook_secret = self
            .webhook_secret
            .map(|w| store.open("telegram_bots.webhook_secret", &w))
            .transpose()?;
        Ok(self)
    }
}

/// The Telegram bridge's tables, kept through the core's store (which knows no channel).
#[allow(async_fn_in_trait)] // implemented for `Store` only: callers see its futures are `Send`
pub trait BotStore: Sync {
    fn db(&self) -> &Store;

    async fn add_telegram_bot(&self, b: NewBot<'_>, now: Millis) -> Result<TelegramBot> {
        // The queue must be a remote queue of the organisation.
        self.db().remote_queue(b.org_id, b.service_id).await?;
        if let Some(branch) = b.branch_id {
            self.db().branch(b.org_id, branch).await?;
        }
        let inserted: Result<(i64,), sqlx::Error> = sqlx::query_as(
            "INSERT INTO telegram_bots (org_id, service_id, branch_id, token, mode, webhook_secret, lang, created_at, \
             token_digest) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(b.org_id)
        .bind(b.service_id)
        .bind(b.branch_id)
        .bind(self.db().seal("telegram_bots.token", b.token))
        .bind(b.mode)
        .bind(
            b.webhook_secret
                .map(|w| self.db().seal("telegram_bots.webhook_secret", w)),
        )
        .bind(b.lang)
        .bind(now)
        .bind(hub_actors::seal::digest(b.token))
        .fetch_one(self.db().write())
        .await;
        match inserted {
            Ok((id,)) => self.telegram_bot(id).await,
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(Error::Conflict("this bot token is already connected".into()))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn telegram_bot(&self, id: i64) -> Result<TelegramBot> {
        self.db().connector(id).await
    }

    async fn telegram_bots(&self, org_id: Option<i64>) -> Result<Vec<TelegramBot>> {
        self.db().connectors(org_id).await
    }

    async fn set_telegram_bot_enabled(&self, org_id: i64, id: i64, enabled: bool) -> Result<TelegramBot> {
        let n = sqlx::query("UPDATE telegram_bots SET enabled = $1 WHERE id = $2 AND org_id = $3")
            .bind(i64::from(enabled))
            .bind(id)
            .bind(org_id)
            .execute(self.db().write())
            .await?
            .rows_affected();
        if n == 0 {
            return Err(Error::NotFound("bot"));
        }
        self.telegram_bot(id).await
    }

    async fn set_telegram_username(&self, id: i64, username: &str) -> Result<()> {
        sqlx::query("UPDATE telegram_bots SET username = $1 WHERE id = $2")
            .bind(username)
            .bind(id)
            .execute(self.db().write())
            .await?;
        Ok(())
    }

    /// Stores received updates and moves the offset past them, together; a node that lost its
    /// lease meanwhile stores nothing (the new holder fetches them again). Answers how many of
    /// them were new.
    async fn store_updates(
        &self,
        bot_id: i64,
        node: Option<&str>,
        updates: &[(i64, String)],
        now: Millis,
    ) -> Result<usize> {
        let Some(max) = updates.iter().map(|(id, _)| *id).max() else {
            return Ok(0);
        };
        let mut tx = self.db().write().begin().await?;
        let moved = sqlx::query(
            "UPDATE telegram_bots SET update_offset = CASE WHEN update_offset > $1 THEN update_offset ELSE $1 END \
             WHERE id = $2 AND ($3 = '' OR lease_node = $3)",
        )
        .bind(max + 1)
        .bind(bot_id)
        .bind(node.unwrap_or(""))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if moved == 0 {
            return Err(Error::Conflict("another node polls this bot now".into()));
        }
        let mut new = 0;
        for (id, payload) in updates {
            new += sqlx::query(
                "INSERT INTO telegram_updates (bot_id, update_id, payload, received_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (bot_id, update_id) DO NOTHING",
            )
            .bind(bot_id)
            .bind(*id)
            .bind(payload)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected() as usize;
        }
        tx.commit().await?;
        Ok(new)
    }

    async fn pending_updates(&self, bot_id: i64, limit: i64) -> Result<Vec<PendingUpdate>> {
        Ok(sqlx::query_as(
            "SELECT update_id, payload, attempts FROM telegram_updates \
             WHERE bot_id = $1 AND processed_at IS NULL ORDER BY update_id LIMIT $2",
        )
        .bind(bot_id)
        .bind(limit)
        .fetch_all(self.db().read())
        .await?)
    }

    /// Marks an update applied (or given up on), with what became of it.
    async fn finish_update(&self, bot_id: i64, update_id: i64, outcome: &str, now: Millis) -> Result<()> {
        sqlx::query(
            "UPDATE telegram_updates SET processed_at = $1, outcome = $2, attempts = attempts + 1 \
             WHERE bot_id = $3 AND update_id = $4",
        )
        .bind(now)
        .bind(outcome)
        .bind(bot_id)
        .bind(update_id)
        .execute(self.db().write())
        .await?;
        Ok(())
    }

    /// Counts a failed attempt; the update stays pending.
    async fn update_failed(&self, bot_id: i64, update_id: i64, error: &str) -> Result<()> {
        sqlx::query(
            "UPDATE telegram_updates SET attempts = attempts + 1, outcome = $1 WHERE bot_id = $2 AND update_id = $3",
        )
        .bind(error)
        .bind(bot_id)
        .bind(update_id)
        .execute(self.db().write())
        .await?;
        Ok(())
    }

    /// The bot's updates that were not applied: set aside after failing, or ignored (a kind the
    /// hub does not serve), newest first. `failed_only`: only those set aside after failing.
    async fn set_aside_updates(
        &self,
        org_id: i64,
        bot_id: i64,
        failed_only: bool,
        limit: i64,
    ) -> Result<Vec<SetAsideUpdate>> {
        self.telegram_bot_of(org_id, bot_id).await?;
        Ok(sqlx::query_as(
            "SELECT update_id, received_at, processed_at, attempts, outcome, payload FROM telegram_updates \
             WHERE bot_id = $1 AND (outcome LIKE 'failed:%' OR ($2 = 0 AND outcome LIKE 'ignored:%')) \
             ORDER BY update_id DESC LIMIT $3",
        )
        .bind(bot_id)
        .bind(i64::from(failed_only))
        .bind(limit)
        .fetch_all(self.db().read())
        .await?)
    }

    /// A bot of the organisation (NotFound for another organisation's).
    async fn telegram_bot_of(&self, org_id: i64, bot_id: i64) -> Result<TelegramBot> {
        match self.telegram_bot(bot_id).await {
            Ok(b) if b.org_id == org_id => Ok(b),
            Ok(_) => Err(Error::NotFound("bot")),
            Err(e) => Err(e),
        }
    }

    /// Queues a file to fetch on its own; once per message. Answers whether it is new.
    #[allow(clippy::too_many_arguments)]
    async fn queue_telegram_file(
        &self,
        bot_id: i64,
        chat_id: i64,
        message_id: i64,
        file_id: &str,
        name: &str,
        kind: &str,
        error: &str,
        next_at: Millis,
        now: Millis,
    ) -> Result<bool> {
        let n = sqlx::query(
            "INSERT INTO telegram_files (bot_id, chat_id, message_id, file_id, name, kind, attempts, next_at, outcome, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8, $9) ON CONFLICT (bot_id, chat_id, message_id) DO NOTHING",
        )
        .bind(bot_id)
        .bind(chat_id)
        .bind(message_id)
        .bind(file_id)
        .bind(name)
        .bind(kind)
        .bind(next_at)
        .bind(error)
        .bind(now)
        .execute(self.db().write())
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Files due for a (next) attempt, of enabled bots.
    async fn due_telegram_files(&self, now: Millis, limit: i64) -> Result<Vec<FileJob>> {
        Ok(sqlx::query_as(
            "SELECT f.id, f.bot_id, f.chat_id, f.message_id, f.file_id, f.name, f.kind, f.attempts \
             FROM telegram_files f JOIN telegram_bots b ON b.id = f.bot_id \
             WHERE f.done_at IS NULL AND f.next_at <= $1 AND b.enabled = 1 ORDER BY f.next_at LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(self.db().read())
        .await?)
    }

    /// When the next file falls due, if any.
    async fn next_telegram_file_at(&self) -> Result<Option<Millis>> {
        let (at,): (Option<i64>,) = sqlx::query_as("SELECT MIN(next_at) FROM telegram_files WHERE done_at IS NULL")
            .fetch_one(self.db().read())
            .await?;
        Ok(at)
    }

    /// Takes a due file for one attempt, pushing its next attempt to `until` (so a node that dies
    /// while downloading leaves it due again then). False: another node took it.
    async fn claim_telegram_file(&self, id: i64, node: &str, until: Millis, now: Millis) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE telegram_files SET next_at = $1, attempts = attempts + 1, claimed_by = $4 \
             WHERE id = $2 AND done_at IS NULL AND next_at <= $3",
        )
        .bind(until)
        .bind(id)
        .bind(now)
        .bind(node)
        .execute(self.db().write())
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Files this node was trying when it stopped (a crash): due again now.
    async fn release_telegram_files(&self, node: &str, now: Millis) -> Result<u64> {
        Ok(sqlx::query(
            "UPDATE telegram_files SET next_at = $1, claimed_by = NULL \
             WHERE claimed_by = $2 AND done_at IS NULL AND next_at > $1",
        )
        .bind(now)
        .bind(node)
        .execute(self.db().write())
        .await?
        .rows_affected())
    }

    /// A failed attempt: tried again at `next_at`.
    async fn retry_telegram_file(&self, id: i64, next_at: Millis, error: &str) -> Result<()> {
        sqlx::query(
            "UPDATE telegram_files SET next_at = $1, outcome = $2, claimed_by = NULL WHERE id = $3 AND done_at IS NULL",
        )
        .bind(next_at)
        .bind(error)
        .bind(id)
        .execute(self.db().write())
        .await?;
        Ok(())
    }

    async fn finish_telegram_file(&self, id: i64, outcome: &str, now: Millis) -> Result<()> {
        sqlx::query("UPDATE telegram_files SET done_at = $1, outcome = $2 WHERE id = $3")
            .bind(now)
            .bind(outcome)
            .bind(id)
            .execute(self.db().write())
            .await?;
        Ok(())
    }

    async fn telegram_updates_pending(&self) -> Result<i64> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM telegram_updates WHERE processed_at IS NULL")
            .fetch_one(self.db().read())
            .await?;
        Ok(n)
    }

    /// The ticket an update already took, if any.
    async fn telegram_ticket_of_update(&self, bot_id: i64, update_id: i64) -> Result<Option<i64>> {
        let found: Option<(i64,)> =
            sqlx::query_as("SELECT ticket_id FROM telegram_tickets WHERE bot_id = $1 AND update_id = $2")
                .bind(bot_id)
                .bind(update_id)
                .fetch_optional(self.db().read())
                .await?;
        Ok(found.map(|r| r.0))
    }

    /// Whether the organisation has a bot a web-chat visitor can go on with.
    async fn handoff_bot(&self, org_id: i64, service_id: i64) -> Result<Option<(i64, String)>> {
        Ok(sqlx::query_as(
            "SELECT id, username FROM telegram_bots WHERE org_id = $1 AND enabled = 1 \
             AND username IS NOT NULL AND username <> '' \
             ORDER BY CASE WHEN service_id = $2 THEN 0 ELSE 1 END, id LIMIT 1",
        )
        .bind(org_id)
        .bind(service_id)
        .fetch_optional(self.db().read())
        .await?)
    }

    /// A one-time code for a visitor to go on in Telegram, with the bot's @name.
    async fn create_handoff(&self, v: &hub_actors::store::Visitor, now: Millis) -> Result<Option<(String, String)>> {
        let Some((bot_id, username)) = self.handoff_bot(v.org_id, v.service_id).await? else {
            return Ok(None);
        };
        let code = hub_actors::store::random_token(16);
        sqlx::query(
            "INSERT INTO telegram_handoffs (code, org_id, bot_id, visitor_id, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&code)
        .bind(v.org_id)
        .bind(bot_id)
        .bind(v.id)
        .bind(now)
        .execute(self.db().write())
        .await?;
        Ok(Some((username, code)))
    }

    /// Takes a hand-off code a Telegram user started the bot with (once, within the hour): the
    /// visitor's card and the chat's become one (the older keeps both), and the visitor's open
    /// web chat, if any, goes on in the Telegram dialogue `thread_key` (unless one is open
    /// there already). None: unknown, used or expired.
    async fn take_handoff(
        &self,
        org_id: i64,
        bot_id: i64,
        code: &str,
        contact_id: i64,
        thread_key: &str,
        now: Millis,
    ) -> Result<Option<Handoff>> {
        let taken: Option<(i64,)> = sqlx::query_as(
            "UPDATE telegram_handoffs SET used_at = $1 WHERE code = $2 AND org_id = $3 AND bot_id = $4 \
             AND used_at IS NULL AND created_at > $5 RETURNING visitor_id",
        )
        .bind(now)
        .bind(code)
        .bind(org_id)
        .bind(bot_id)
        .bind(now - HANDOFF_MS)
        .fetch_optional(self.db().write())
        .await?;
        let Some((visitor_id,)) = taken else {
            return Ok(None);
        };
        let visitor = self.db().visitor_by_id(visitor_id).await?;
        let card = if visitor.contact_id == contact_id {
            contact_id
        } else {
            self.db()
                .merge_contacts(
                    org_id,
                    visitor.contact_id.min(contact_id),
                    visitor.contact_id.max(contact_id),
                )
                .await?
                .id
        };
        let moved = self
            .db()
            .move_dialogue(
                org_id,
                (ChannelKind::Webchat, &visitor.thread_key()),
                (ChannelKind::Telegram, thread_key),
                now,
            )
            .await?;
        Ok(Some(Handoff {
            contact_id: card,
            moved,
        }))
    }
}

impl BotStore for Store {
    fn db(&self) -> &Store {
        self
    }
}
