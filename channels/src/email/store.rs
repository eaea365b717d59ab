//! E-mail in the store: mailboxes, received mail (kept raw until applied, so nothing acknowledged
//! to a mail server is lost), the dialogues mail belongs to, and the Message-IDs leading to them.

use serde::Serialize;
use serde_json::json;

use hub_actors::error::{Error, Result};
use hub_actors::model::field::FieldError;
use hub_actors::model::namespace::Standing;
use hub_actors::model::Millis;
use hub_actors::store::connector::{Connector, Leased};
use hub_actors::store::{BridgeTables, Sealed, Store};

/// The columns of this bridge the core seals at rest and checks names in.
pub const TABLES: BridgeTables = BridgeTables {
    sealed: &[
        Sealed {
            table: "mailboxes",
            column: "imap_url",
            digest: None,
        },
        Sealed {
            table: "mailboxes",
            column: "smtp_url",
            digest: None,
        },
    ],
    named: &[],
};

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Mailbox {
    pub id: i64,
    pub org_id: i64,
    pub service_id: i64,
    pub address: String,
    pub name: Option<String>,
    #[serde(skip)]
    pub imap_url: Option<String>,
    pub imap_folder: String,
    pub imap_after: String,
    #[serde(skip)]
    pub smtp_url: Option<String>,
    pub auto_reply: i64,
    /// Whether mailing lists and bulk mail open tickets (else they are kept, filtered).
    pub accept_bulk: i64,
    pub lang: String,
    pub enabled: i64,
    pub uid_validity: i64,
    pub last_uid: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
    /// When the address became the organisation's (vouched for by its domain, or its code came
    /// back); None while the hub waits for the code it mailed: the mailbox then takes no mail by
    /// SMTP, sends nothing but the code, and what its IMAP folder holds waits unapplied.
    pub confirmed_at: Option<i64>,
    /// When the last code was mailed.
    pub confirm_sent_at: Option<i64>,
}

/// One node at a time fetches a mailbox.
pub const MAILBOXES: Leased = Leased::table("mailboxes");

const MAILBOX_COLUMNS: &str = "id, org_id, service_id, address, name, imap_url, imap_folder, imap_after, smtp_url, \
    auto_reply, accept_bulk, lang, enabled, uid_validity, last_uid, last_error, created_at, confirmed_at, confirm_sent_at";

/// The mark a mailbox's confirmation code begins with, so it is found in any mail.
pub const MAILBOX_CODE_MARK: &str = "HUB-CONFIRM-";

/// How soon a new code may be mailed to a mailbox waiting for one.
const RESEND_MS: i64 = 60 * 1000;

pub struct NewMailbox<'a> {
    pub org_id: i64,
    pub service_id: i64,
    pub address: &'a str,
    pub name: Option<&'a str>,
    pub imap_url: Option<&'a str>,
    pub imap_folder: &'a str,
    pub imap_after: &'a str,
    pub smtp_url: Option<&'a str>,
    pub auto_reply: bool,
    pub accept_bulk: bool,
    pub lang: &'a str,
    /// The installation has a relay to mail a confirmation code through.
    pub can_mail_codes: bool,
}

/// A received mail waiting to be applied.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InboxMail {
    pub id: i64,
    pub mailbox_id: i64,
    pub source: String,
    pub raw: Vec<u8>,
    pub attempts: i64,
    pub received_at: i64,
    /// An operator let this filtered mail in: it opens its ticket as any mail would.
    pub admitted: i64,
}

/// A received mail that was kept without opening a ticket (a mailing list, bulk mail, an
/// automatic answer to nothing the hub sent), with the reason.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FilteredMail {
    pub id: i64,
    pub mailbox_id: i64,
    pub mailbox: String,
    pub received_at: i64,
    pub outcome: String,
    /// The mail's beginning, enough for its header.
    pub head: Vec<u8>,
}

/// An e-mail dialogue.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EmailThread {
    pub id: i64,
    pub org_id: i64,
    pub mailbox_id: Option<i64>,
    pub contact_id: i64,
    pub address: String,
    pub name: Option<String>,
    pub subject: String,
    pub channel: String,
    pub thread_key: String,
    pub last_in_id: Option<String>,
}

const THREAD_COLUMNS: &str =
    "t.id, t.org_id, t.mailbox_id, t.contact_id, t.address, t.name, t.subject, t.channel, t.thread_key, t.last_in_id";

/// Received mail per outcome, for `/metrics`.
#[derive(Debug, Clone, Copy, Default)]
pub struct InboxCounts {
    pub pending: i64,
    pub applied: i64,
    pub duplicates: i64,
    pub ignored: i64,
    pub refused: i64,
    pub bounces: i64,
    pub filtered: i64,
}

impl Connector for Mailbox {
    const TABLE: Leased = MAILBOXES;
    const COLUMNS: &'static str = MAILBOX_COLUMNS;
    const WHAT: &'static str = "mailbox";

    /// Its server URLs (with their passwords) opened.
    fn opened(mut self, store: &Store) -> Result<Self> {
        self.imap_url = self
            .imap_url
            .map(|u| store.open("mailboxes.imap_url", &u))
            .transpose()?;
        self.smtp_url = self
            .smtp_url
            .map(|u| store.open("mailboxes.smtp_url", &u))
            .transpose()?;
        Ok(self)
    }
}

/// Received mail as a job queue: a mail is to do until applied.
const INBOX: hub_actors::store::jobs::JobQueue = hub_actors::store::jobs::JobQueue {
    table: "email_inbox",
    lease: "claimed_until",
    open: "processed_at IS NULL",
    on_claim: "",
    on_release: "",
};

const INBOX_MAIL: &str = "id, mailbox_id, source, raw, attempts, received_at, admitted";

/// How long a confirmation code works.
const CONFIRM_MS: i64 = 30 * 60 * 1000;

fn after_ok(after: &str) -> bool {
    after == "seen" || after == "keep" || after.strip_prefix("move:").is_some_and(|f| !f.trim().is_empty())
}

/// The E-mail bridge's tables, kept through the core's store (which knows no channel).
#[allow(async_fn_in_trait)] // implemented for `Store` only: callers see its futures are `Send`
pub trait MailStore: Sync {
    fn db(&self) -> &Store;

    /// Adds a mailbox. Its address is the organisation's at once when the installation's owner
    /// vouched for its domain; otherwise it waits for the code [`Self::mailbox_code`] gives, and
    /// must have an IMAP folder to find it in (the hub's own SMTP receiver takes mail only for
    /// confirmed addresses). An address is unique among confirmed mailboxes, and within one
    /// organisation.
    async fn add_mailbox(&self, m: NewMailbox<'_>, now: Millis) -> Result<Mailbox> {
        self.db().remote_queue(m.org_id, m.service_id).await?;
        if !after_ok(m.imap_after) {
            return Err(
                FieldError::new("imap_after", "one_of", json!({ "values": "seen, keep, move:<folder>" })).into(),
            );
        }
        let address = m.address.trim().to_lowercase();
        let standing = self.db().address_standing(m.org_id, "address", &address).await?;
        let confirmed = match standing {
            Standing::Vouched => Some(now),
            Standing::ToConfirm if m.imap_url.is_none() || !m.can_mail_codes => {
                // Confirming means mailing a code to it through the installation's relay
                // ([email] smtp_relay) and finding that mail in the mailbox's IMAP folder.
                return Err(Error::NotYours(FieldError::new(
                    "address",
                    "address_to_confirm",
                    json!({}),
                )));
            }
            Standing::ToConfirm => None,
        };
        let inserted: Result<(i64,), sqlx::Error> = sqlx::query_as(
            "INSERT INTO mailboxes (org_id, service_id, address, name, imap_url, imap_folder, imap_after, smtp_url, \
             auto_reply, lang, created_at, accept_bulk, confirmed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
        )
        .bind(m.org_id)
        .bind(m.service_id)
        .bind(&address)
        .bind(m.name)
        .bind(m.imap_url.map(|u| self.db().seal("mailboxes.imap_url", u)))
        .bind(m.imap_folder)
        .bind(m.imap_after)
        .bind(m.smtp_url.map(|u| self.db().seal("mailboxes.smtp_url", u)))
        .bind(i64::from(m.auto_reply))
        .bind(m.lang)
        .bind(now)
        .bind(i64::from(m.accept_bulk))
        .bind(confirmed)
        .fetch_one(self.db().write())
        .await;
        match inserted {
            Ok((id,)) => self.mailbox(id).await,
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(Error::Conflict("this address is already a mailbox".into()))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// A new code for a mailbox waiting for confirmation (the previous one stops working), at
    /// most one a minute. The caller mails it to the address.
    async fn mailbox_code(&self, org_id: i64, id: i64, now: Millis) -> Result<String> {
        let code = format!(
            "{MAILBOX_CODE_MARK}{}",
            hub_actors::store::random_token(16).to_ascii_uppercase()
        );
        let n = sqlx::query(
            "UPDATE mailboxes SET confirm_hash = $1, confirm_sent_at = $2 \
             WHERE id = $3 AND org_id = $4 AND confirmed_at IS NULL AND COALESCE(confirm_sent_at, 0) < $5",
        )
        .bind(hub_actors::seal::digest(&code))
        .bind(now)
        .bind(id)
        .bind(org_id)
        .bind(now - RESEND_MS)
        .execute(self.db().write())
        .await?
        .rows_affected();
        if n == 1 {
            return Ok(code);
        }
        let m = self.mailbox(id).await?;
        if m.org_id != org_id {
            return Err(Error::NotFound("mailbox"));
        }
        if m.confirmed_at.is_some() {
            return Err(Error::Conflict("this mailbox's address is confirmed already".into()));
        }
        Err(Error::TooManyRequests(RESEND_MS / 1000))
    }

    /// A mail in the mailbox's folder carried these candidate codes: when one is the code last
    /// mailed, the address becomes the organisation's (unless another organisation confirmed
    /// it first). Answers whether it did.
    async fn confirm_mailbox(&self, id: i64, candidates: &[String], now: Millis) -> Result<bool> {
        let row: Option<(Option<String>,)> =
            sqlx::query_as("SELECT confirm_hash FROM mailboxes WHERE id = $1 AND confirmed_at IS NULL")
                .bind(id)
                .fetch_optional(self.db().write())
                .await?;
        let Some((Some(hash),)) = row else { return Ok(false) };
        if !candidates
            .iter()
            .any(|c| hub_actors::auth::constant_time_eq(&hub_actors::seal::digest(c), &hash))
        {
            return Ok(false);
        }
        let done = sqlx::query(
            "UPDATE mailboxes SET confirmed_at = $1, confirm_hash = NULL, last_error = NULL \
             WHERE id = $2 AND confirmed_at IS NULL",
        )
        .bind(now)
        .bind(id)
        .execute(self.db().write())
        .await;
        match done {
            Ok(r) => Ok(r.rows_affected() == 1),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                self.set_mailbox_error(id, Some("another organisation's mailbox has this address"))
                    .await?;
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn mailbox(&self, id: i64) -> Result<Mailbox> {
        self.db().connector(id).await
    }

    /// Mailboxes of one organisation, or of all.
    async fn mailboxes(&self, org_id: Option<i64>) -> Result<Vec<Mailbox>> {
        self.db().connectors(org_id).await
    }

    /// The enabled, confirmed mailbox of an address (lower-cased), whichever organisation holds it.
    async fn mailbox_by_address(&self, address: &str) -> Result<Option<Mailbox>> {
        let m: Option<Mailbox> = sqlx::query_as(hub_actors::store::sql(format!(
            "SELECT {MAILBOX_COLUMNS} FROM mailboxes WHERE address = $1 AND enabled = 1 AND confirmed_at IS NOT NULL"
        )))
        .bind(address)
        .fetch_optional(self.db().read())
        .await?;
        m.map(|m| m.opened(self.db())).transpose()
    }

    /// Pauses or resumes a mailbox of the organisation, and lets mailing lists and bulk mail
    /// open tickets or not; a flag left out stays as it is.
    async fn set_mailbox_flags(
        &self,
        org_id: i64,
        id: i64,
        enabled: Option<bool>,
        accept_bulk: Option<bool>,
    ) -> Result<Mailbox> {
        let n = sqlx::query(
            "UPDATE mailboxes SET enabled = COALESCE($1, enabled), accept_bulk = COALESCE($2, accept_bulk) \
             WHERE id = $3 AND org_id = $4",
        )
        .bind(enabled.map(i64::from))
        .bind(accept_bulk.map(i64::from))
        .bind(id)
        .bind(org_id)
        .execute(self.db().write())
        .await?
        .rows_affected();
        if n == 0 {
            return Err(Error::NotFound("mailbox"));
        }
        self.mailbox(id).await
    }

    async fn set_mailbox_error(&self, id: i64, error: Option<&str>) -> Result<()> {
        sqlx::query("UPDATE mailboxes SET last_error = $1 WHERE id = $2")
            .bind(error)
            .bind(id)
            .execute(self.db().write())
            .await?;
        Ok(())
    }

    /// The server renumbered the folder (UIDVALIDITY changed): fetching starts again from the
    /// first UID; mail already held is recognised by its Message-ID when applied.
    async fn reset_mailbox_uids(&self, id: i64, uid_validity: i64) -> Result<()> {
        sqlx::query("UPDATE mailboxes SET uid_validity = $1, last_uid = 0 WHERE id = $2")
            .bind(uid_validity)
            .bind(id)
            .execute(self.db().write())
            .await?;
        Ok(())
    }

    /// Stores fetched mail and moves the mailbox's last UID past it, in one transaction, and only
    /// while `node` still holds the lease and the folder is the same. Answers how many are new.
    async fn store_fetched(
        &self,
        mailbox_id: i64,
        node: &str,
        uid_validity: i64,
        mails: &[(i64, Vec<u8>)],
        now: Millis,
    ) -> Result<usize> {
        let Some(last) = mails.iter().map(|(uid, _)| *uid).max() else {
            return Ok(0);
        };
        let mut tx = self.db().write().begin().await?;
        let moved = sqlx::query(
            "UPDATE mailboxes SET last_uid = $1 WHERE id = $2 AND lease_node = $3 AND uid_validity = $4 AND last_uid < $1",
        )
        .bind(last)
        .bind(mailbox_id)
        .bind(node)
        .bind(uid_validity)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if moved == 0 {
            return Ok(0);
        }
        let mut new = 0;
        for (uid, raw) in mails {
            new += sqlx::query(
                "INSERT INTO email_inbox (mailbox_id, source, uid_validity, uid, raw, size, received_at) \
                 VALUES ($1, 'imap', $2, $3, $4, $5, $6) ON CONFLICT (mailbox_id, uid_validity, uid) DO NOTHING",
            )
            .bind(mailbox_id)
            .bind(uid_validity)
            .bind(*uid)
            .bind(raw.as_slice())
            .bind(raw.len() as i64)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected() as usize;
        }
        tx.commit().await?;
        Ok(new)
    }

    /// Stores a mail the SMTP receiver took, once per mailbox it was for. Answers the rows' ids.
    async fn store_received(&self, mailbox_ids: &[i64], raw: &[u8], now: Millis) -> Result<Vec<i64>> {
        let mut tx = self.db().write().begin().await?;
        let mut ids = Vec::with_capacity(mailbox_ids.len());
        for m in mailbox_ids {
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO email_inbox (mailbox_id, source, raw, size, received_at) VALUES ($1, 'smtp', $2, $3, $4) RETURNING id",
            )
            .bind(*m)
            .bind(raw)
            .bind(raw.len() as i64)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            ids.push(id);
        }
        tx.commit().await?;
        Ok(ids)
    }

    /// Claims received mail to apply, each the oldest unapplied of its mailbox, for `lease_ms`.
    async fn claim_inbox(&self, node: &str, now: Millis, lease_ms: i64, limit: i64) -> Result<Vec<InboxMail>> {
        let candidates: Vec<(i64,)> = sqlx::query_as(
            "SELECT e.id FROM email_inbox e WHERE e.processed_at IS NULL AND e.claimed_until < $1 \
             AND EXISTS (SELECT 1 FROM mailboxes m WHERE m.id = e.mailbox_id AND m.confirmed_at IS NOT NULL) \
             AND NOT EXISTS (SELECT 1 FROM email_inbox p WHERE p.mailbox_id = e.mailbox_id AND p.id < e.id \
                             AND p.processed_at IS NULL) \
             ORDER BY e.id LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(self.db().read())
        .await?;
        let ids: Vec<i64> = candidates.into_iter().map(|(id,)| id).collect();
        self.db()
            .claim_jobs(&INBOX, &ids, Some(node), now, lease_ms, INBOX_MAIL)
            .await
    }

    /// A node starting again releases the mail it was applying when it stopped.
    async fn release_inbox_claims(&self, node: &str) -> Result<u64> {
        self.db().release_jobs(&INBOX, node, None).await
    }

    async fn inbox_done(&self, id: i64, outcome: &str, conversation_id: Option<i64>, now: Millis) -> Result<()> {
        sqlx::query(
            "UPDATE email_inbox SET processed_at = $1, outcome = $2, conversation_id = $3, claimed_until = 0 WHERE id = $4",
        )
        .bind(now)
        .bind(outcome.chars().take(500).collect::<String>())
        .bind(conversation_id)
        .bind(id)
        .execute(self.db().write())
        .await?;
        Ok(())
    }

    /// Applying failed for a reason that may pass: try again after `retry_at`.
    async fn inbox_retry(&self, id: i64, retry_at: Millis) -> Result<()> {
        sqlx::query("UPDATE email_inbox SET claimed_until = $1 WHERE id = $2")
            .bind(retry_at)
            .bind(id)
            .execute(self.db().write())
            .await?;
        Ok(())
    }

    async fn inbox_counts(&self) -> Result<InboxCounts> {
        let rows: Vec<(Option<String>, i64)> = sqlx::query_as(
            "SELECT CASE WHEN processed_at IS NULL THEN NULL \
                 WHEN outcome LIKE 'ignored%' THEN 'ignored' WHEN outcome LIKE 'refused%' THEN 'refused' \
                 WHEN outcome LIKE 'filtered%' THEN 'filtered' \
                 ELSE outcome END AS o, COUNT(*) FROM email_inbox GROUP BY o",
        )
        .fetch_all(self.db().read())
        .await?;
        let mut c = InboxCounts::default();
        for (o, n) in rows {
            match o.as_deref() {
                None => c.pending += n,
                Some("duplicate") => c.duplicates += n,
                Some("ignored") => c.ignored += n,
                Some("refused") => c.refused += n,
                Some("bounce") => c.bounces += n,
                Some("filtered") => c.filtered += n,
                Some(_) => c.applied += n,
            }
        }
        Ok(c)
    }

    /// The outcome of a received mail (tests and support).
    async fn inbox_outcomes(&self, mailbox_id: i64) -> Result<Vec<(i64, Option<String>, Option<i64>)>> {
        Ok(
            sqlx::query_as("SELECT id, outcome, conversation_id FROM email_inbox WHERE mailbox_id = $1 ORDER BY id")
                .bind(mailbox_id)
                .fetch_all(self.db().read())
                .await?,
        )
    }

    /// Whether an address is one of the organisation's own mailboxes (mail from it is a loop).
    /// Only the organisation's own: another tenant registering an outside address as "theirs"
    /// must not silence that address's mail to everyone else.
    async fn is_own_address(&self, org_id: i64, address: &str) -> Result<bool> {
        let found: Option<(i64,)> =
            sqlx::query_as("SELECT id FROM mailboxes WHERE address = $1 AND org_id = $2 AND confirmed_at IS NOT NULL")
                .bind(address)
                .bind(org_id)
                .fetch_optional(self.db().read())
                .await?;
        Ok(found.is_some())
    }

    /// Mail of the organisation's mailboxes kept without a ticket, newest first.
    async fn filtered_mail(&self, org_id: i64, limit: i64) -> Result<Vec<FilteredMail>> {
        Ok(sqlx::query_as(
            "SELECT e.id, e.mailbox_id, m.address AS mailbox, e.received_at, e.outcome, \
             substr(e.raw, 1, 16384) AS head FROM email_inbox e JOIN mailboxes m ON m.id = e.mailbox_id \
             WHERE m.org_id = $1 AND e.outcome LIKE 'filtered:%' ORDER BY e.id DESC LIMIT $2",
        )
        .bind(org_id)
        .bind(limit)
        .fetch_all(self.db().read())
        .await?)
    }

    /// Lets a filtered mail in: it is applied again and opens its ticket.
    async fn admit_mail(&self, org_id: i64, id: i64) -> Result<()> {
        let n = sqlx::query(
            "UPDATE email_inbox SET admitted = 1, processed_at = NULL, outcome = NULL, claimed_until = 0, attempts = 0 \
             WHERE id = $1 AND outcome LIKE 'filtered:%' \
             AND mailbox_id IN (SELECT id FROM mailboxes WHERE org_id = $2)",
        )
        .bind(id)
        .bind(org_id)
        .execute(self.db().write())
        .await?
        .rows_affected();
        if n == 0 {
            return Err(Error::NotFound("filtered mail"));
        }
        Ok(())
    }

    /// The dialogue the first known of `ids` belongs to.
    async fn thread_by_ids(&self, org_id: i64, ids: &[String]) -> Result<Option<EmailThread>> {
        for id in ids {
            let t: Option<EmailThread> = sqlx::query_as(hub_actors::store::sql(format!(
                "SELECT {THREAD_COLUMNS} FROM email_ids i JOIN email_threads t ON t.id = i.thread_id \
                 WHERE i.org_id = $1 AND i.message_id = $2"
            )))
            .bind(org_id)
            .bind(id)
            .fetch_optional(self.db().read())
            .await?;
            if t.is_some() {
                return Ok(t);
            }
        }
        Ok(None)
    }

    /// The dialogue of a conversation (the ticket reference in a subject leads here).
    async fn thread_of_conversation(&self, org_id: i64, conversation_id: i64) -> Result<Option<EmailThread>> {
        match self.db().dialogue_of(org_id, conversation_id).await? {
            Some((channel, key)) => self.thread_by_key(&channel, &key).await,
            None => Ok(None),
        }
    }

    /// The dialogue under a conversation key.
    async fn thread_by_key(&self, channel: &str, thread_key: &str) -> Result<Option<EmailThread>> {
        Ok(sqlx::query_as(hub_actors::store::sql(format!(
            "SELECT {THREAD_COLUMNS} FROM email_threads t WHERE t.channel = $1 AND t.thread_key = $2"
        )))
        .bind(channel)
        .bind(thread_key)
        .fetch_optional(self.db().read())
        .await?)
    }

    /// Creates the dialogue under a key, or returns the one there (two mails racing create one).
    #[allow(clippy::too_many_arguments)]
    async fn open_thread(
        &self,
        org_id: i64,
        mailbox_id: Option<i64>,
        contact_id: i64,
        address: &str,
        name: Option<&str>,
        subject: &str,
        channel: &str,
        thread_key: &str,
        now: Millis,
    ) -> Result<EmailThread> {
        sqlx::query(
            "INSERT INTO email_threads (org_id, mailbox_id, contact_id, address, name, subject, channel, thread_key, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (channel, thread_key) DO NOTHING",
        )
        .bind(org_id)
        .bind(mailbox_id)
        .bind(contact_id)
        .bind(address)
        .bind(name)
        .bind(subject)
        .bind(channel)
        .bind(thread_key)
        .bind(now)
        .execute(self.db().write())
        .await?;
        self.thread_by_key(channel, thread_key)
            .await?
            .ok_or(Error::NotFound("e-mail thread"))
    }

    /// A web-chat visitor left their address: the operators' replies in their chat go there too,
    /// and their answers by mail come back into it. Answers false when the organisation has no
    /// mailbox to write from.
    async fn route_chat_by_email(
        &self,
        org_id: i64,
        contact_id: i64,
        thread_key: &str,
        address: &str,
        name: Option<&str>,
        now: Millis,
    ) -> Result<bool> {
        let mailbox: Option<(i64,)> =
            sqlx::query_as("SELECT id FROM mailboxes WHERE org_id = $1 AND enabled = 1 AND confirmed_at IS NOT NULL ORDER BY id LIMIT 1")
                .bind(org_id)
                .fetch_optional(self.db().read())
                .await?;
        let Some((mailbox,)) = mailbox else {
            return Ok(false);
        };
        let mut tx = self.db().write().begin().await?;
        sqlx::query(
            "INSERT INTO email_threads (org_id, mailbox_id, contact_id, address, name, subject, channel, thread_key, created_at) \
             VALUES ($1, $2, $3, $4, $5, '', 'webchat', $6, $7) \
             ON CONFLICT (channel, thread_key) DO UPDATE SET address = $4, name = COALESCE($5, email_threads.name), \
             contact_id = $3",
        )
        .bind(org_id)
        .bind(mailbox)
        .bind(contact_id)
        .bind(address.to_lowercase())
        .bind(name)
        .bind(thread_key)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        hub_actors::store::route_replies(&mut tx, "webchat", thread_key, "email").await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Starts confirming an address a web-chat visitor left: answers the mailbox to send the code
    /// from and the code, or None when the organisation has no mailbox (nothing is ever mailed
    /// there then). At most 3 codes per visitor and 5 per address an hour, so nobody can have the
    /// hub flood a stranger.
    async fn start_confirmation(
        &self,
        v: &hub_actors::store::Visitor,
        address: &str,
        name: Option<&str>,
        now: Millis,
    ) -> Result<Option<(i64, String, i64)>> {
        let mailbox: Option<(i64,)> =
            sqlx::query_as("SELECT id FROM mailboxes WHERE org_id = $1 AND enabled = 1 AND confirmed_at IS NOT NULL ORDER BY id LIMIT 1")
                .bind(v.org_id)
                .fetch_optional(self.db().read())
                .await?;
        let Some((mailbox,)) = mailbox else { return Ok(None) };
        let address = address.trim().to_lowercase();
        let hour_ago = now - 3600 * 1000;
        let (by_visitor, by_address): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM email_confirmations WHERE visitor_id = $1 AND created_at > $3), \
                    (SELECT COUNT(*) FROM email_confirmations WHERE address = $2 AND created_at > $3)",
        )
        .bind(v.id)
        .bind(&address)
        .bind(hour_ago)
        .fetch_one(self.db().write())
        .await?;
        if by_visitor >= 3 || by_address >= 5 {
            return Err(Error::TooManyRequests(3600));
        }
        let code = format!("{:06}", rand::random::<u32>() % 1_000_000);
        let salt = hub_actors::store::random_token(8);
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO email_confirmations (org_id, visitor_id, address, name, code_hash, salt, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(v.org_id)
        .bind(v.id)
        .bind(&address)
        .bind(name)
        .bind(hub_actors::seal::digest(&format!("{salt}{code}")))
        .bind(&salt)
        .bind(now)
        .bind(now + CONFIRM_MS)
        .fetch_one(self.db().write())
        .await?;
        Ok(Some((mailbox, code, id)))
    }

    /// Checks the code a visitor entered against their latest address waiting to be confirmed
    /// (five tries). Answers the confirmed address and name.
    async fn confirm_address(
        &self,
        v: &hub_actors::store::Visitor,
        code: &str,
        now: Millis,
    ) -> Result<(String, Option<String>)> {
        let row: Option<(i64, String, Option<String>, String, String, i64)> = sqlx::query_as(
            "SELECT id, address, name, code_hash, salt, attempts FROM email_confirmations \
             WHERE visitor_id = $1 AND confirmed_at IS NULL AND expires_at > $2 ORDER BY id DESC LIMIT 1",
        )
        .bind(v.id)
        .bind(now)
        .fetch_optional(self.db().write())
        .await?;
        let Some((id, address, name, hash, salt, attempts)) = row else {
            return Err(Error::WrongCode);
        };
        if attempts >= 5 {
            return Err(Error::WrongCode);
        }
        let given = hub_actors::seal::digest(&format!("{salt}{}", code.trim()));
        if !hub_actors::auth::constant_time_eq(&given, &hash) {
            sqlx::query("UPDATE email_confirmations SET attempts = attempts + 1 WHERE id = $1")
                .bind(id)
                .execute(self.db().write())
                .await?;
            return Err(Error::WrongCode);
        }
        sqlx::query("UPDATE email_confirmations SET confirmed_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(self.db().write())
            .await?;
        Ok((address, name))
    }

    /// Files Message-IDs under a dialogue (ids already filed keep their dialogue). `latest_in`:
    /// the mail just received, which the next reply answers. `automatic`: the ids newly filed are
    /// of automatic answers, which find the thread but never join a reply's References.
    async fn remember_ids(
        &self,
        org_id: i64,
        thread_id: i64,
        ids: &[String],
        latest_in: Option<&str>,
        automatic: bool,
        now: Millis,
    ) -> Result<()> {
        let mut tx = self.db().write().begin().await?;
        for id in ids {
            sqlx::query(
                "INSERT INTO email_ids (org_id, message_id, thread_id, at, automatic) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (org_id, message_id) DO NOTHING",
            )
            .bind(org_id)
            .bind(id)
            .bind(thread_id)
            .bind(now)
            .bind(i64::from(automatic))
            .execute(&mut *tx)
            .await?;
        }
        if let Some(latest) = latest_in {
            sqlx::query("UPDATE email_threads SET last_in_id = $1 WHERE id = $2")
                .bind(latest)
                .bind(thread_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The Message-IDs of a dialogue, oldest first, at most `limit` of the latest.
    async fn thread_ids(&self, thread_id: i64, limit: i64) -> Result<Vec<String>> {
        let mut ids: Vec<(String,)> = sqlx::query_as(
            "SELECT message_id FROM email_ids WHERE thread_id = $1 AND automatic = 0 \
             ORDER BY at DESC, message_id LIMIT $2",
        )
        .bind(thread_id)
        .bind(limit)
        .fetch_all(self.db().read())
        .await?;
        ids.reverse();
        Ok(ids.into_iter().map(|(i,)| i).collect())
    }
}

impl MailStore for Store {
    fn db(&self) -> &Store {
        self
    }
}
