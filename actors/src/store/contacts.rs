//! Contacts with every identity they reach us by, web-chat visitors, canned responses and
//! attachments.

use serde::Serialize;

use super::{random_token, Store};
use crate::auth::token_hash;
use crate::error::{Error, Result};
use crate::model::Millis;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Identity {
    pub kind: String,
    pub value: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct HistoryItem {
    pub kind: String,
    pub id: i64,
    pub channel: String,
    pub status: String,
    pub created_at: i64,
    pub closed_at: Option<i64>,
    pub resolution: Option<String>,
    pub rating: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ContactCard {
    pub id: i64,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub note: Option<String>,
    /// Where the contact last said they are (a shared location), "latitude,longitude".
    pub location: Option<String>,
    pub identities: Vec<Identity>,
    pub history: Vec<HistoryItem>,
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactPatch {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub note: Option<String>,
}

/// A web-chat visitor, resolved from the token in their browser.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Visitor {
    pub id: i64,
    pub org_id: i64,
    pub service_id: i64,
    pub contact_id: i64,
}

impl Visitor {
    /// The dialogue key of this visitor's chats, and their attachments' owner.
    pub fn thread_key(&self) -> String {
        format!("visitor:{}", self.id)
    }
}

/// A queue for remote channels, as the widget and the router see it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct RemoteQueue {
    pub id: i64,
    pub org_id: i64,
    pub branch_id: i64,
    pub name: String,
    pub strategy: String,
    /// Stored as JSON text; shown as the list it is.
    #[serde(serialize_with = "json_text")]
    pub steps: String,
    pub offer_secs: i64,
    pub missed_limit: i64,
    pub widget_key: Option<String>,
}

#[allow(clippy::ptr_arg)]
fn json_text<S: serde::Serializer>(text: &String, s: S) -> std::result::Result<S::Ok, S::Error> {
    use serde::Serialize;
    serde_json::from_str::<serde_json::Value>(text)
        .unwrap_or(serde_json::Value::Null)
        .serialize(s)
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Canned {
    pub id: i64,
    pub shortcut: String,
    pub title: String,
    pub body: String,
    pub personal: bool,
}

#[derive(sqlx::FromRow)]
struct CannedRow {
    id: i64,
    shortcut: String,
    title: String,
    body: String,
    user_id: Option<i64>,
}

/// How much unsent upload a client address and an organisation may hold.
#[derive(Debug, Clone, Copy)]
pub struct UploadCaps {
    pub per_address: i64,
    pub per_org: i64,
    /// When an address over its cap may try again (as unsent uploads expire).
    pub retry_secs: i64,
}

pub struct Attachment {
    pub org_id: i64,
    pub owner: String,
    pub conversation_id: Option<i64>,
    pub name: String,
    pub mime: String,
    pub data: Vec<u8>,
}

/// id, name, email, phone, note, merged_into, location.
type ContactRow = (
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<String>,
);
/// name, mime, data, owner, and the channel and dialogue of the conversation it was sent in.
type AttachmentRow = (String, String, Vec<u8>, String, Option<String>, Option<String>);

const QUEUE_COLUMNS: &str =
    "id, org_id, branch_id, name_ru AS name, strategy, steps, offer_secs, missed_limit, widget_key";

impl Store {
    pub async fn widget_queue(&self, key: &str) -> Result<RemoteQueue> {
        sqlx::query_as(super::sql(format!(
            "SELECT {QUEUE_COLUMNS} FROM services WHERE widget_key = $1 AND kind = 'remote'"
        )))
        .bind(key)
        .fetch_optional(&self.read)
        .await?
        .ok_or(Error::NotFound("chat"))
    }

    pub async fn remote_queue(&self, org_id: i64, id: i64) -> Result<RemoteQueue> {
        sqlx::query_as(super::sql(format!(
            "SELECT {QUEUE_COLUMNS} FROM services WHERE id = $1 AND org_id = $2 AND kind = 'remote'"
        )))
        .bind(id)
        .bind(org_id)
        .fetch_optional(&self.read)
        .await?
        .ok_or(Error::NotFound("queue"))
    }

    pub async fn remote_queues(&self, org_id: i64) -> Result<Vec<RemoteQueue>> {
        Ok(sqlx::query_as(super::sql(format!(
            "SELECT {QUEUE_COLUMNS} FROM services WHERE org_id = $1 AND kind = 'remote' ORDER BY position, id"
        )))
        .bind(org_id)
        .fetch_all(&self.read)
        .await?)
    }

    /// Creates a queue for remote channels at a branch (whose hours it keeps).
    #[allow(clippy::too_many_arguments)]
    pub async fn add_remote_queue(
        &self,
        org_id: i64,
        branch_id: i64,
        name: &str,
        strategy: &str,
        steps_json: &str,
        offer_secs: i64,
        missed_limit: i64,
        widget_key: Option<&str>,
    ) -> Result<RemoteQueue> {
        if let Some(key) = widget_key {
            self.check_name(org_id, "widget_key", key).await?;
        }
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO services (org_id, branch_id, parent_id, name_ru, name_en, prefix, position, kind, strategy, \
             steps, offer_secs, missed_limit, widget_key) \
             SELECT $1, $2, NULL, $3, $3, NULL, 0, 'remote', $4, $5, $6, $7, $8 \
             WHERE EXISTS (SELECT 1 FROM branches WHERE id = $2 AND org_id = $1) RETURNING id",
        )
        .bind(org_id)
        .bind(branch_id)
        .bind(name)
        .bind(strategy)
        .bind(steps_json)
        .bind(offer_secs)
        .bind(missed_limit)
        .bind(widget_key)
        .fetch_optional(&self.write)
        .await
        .map_err(|e| super::unique_as_conflict(e, "this widget key is taken"))?
        .ok_or(Error::NotFound("branch"))?;
        self.remote_queue(org_id, id).await
    }

    pub async fn set_skill(&self, user_id: i64, service_id: i64, proficiency: i64) -> Result<()> {
        if !(1..=5).contains(&proficiency) {
            return Err(Error::Invalid("proficiency is 1 to 5".into()));
        }
        sqlx::query(
            "INSERT INTO operator_skills (user_id, service_id, proficiency) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id, service_id) DO UPDATE SET proficiency = excluded.proficiency",
        )
        .bind(user_id)
        .bind(service_id)
        .bind(proficiency)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    pub async fn skills(&self, user_id: i64) -> Result<Vec<(i64, i64)>> {
        Ok(
            sqlx::query_as(
                "SELECT service_id, proficiency FROM operator_skills WHERE user_id = $1 ORDER BY service_id",
            )
            .bind(user_id)
            .fetch_all(&self.read)
            .await?,
        )
    }

    pub async fn operator_limits(&self, user_id: i64) -> Result<(i64, i64)> {
        sqlx::query_as("SELECT chat_capacity, wrap_up_secs FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(&self.read)
            .await?
            .ok_or(Error::NotFound("user"))
    }

    /// Replaces an operator's skills and limits in one transaction.
    pub async fn replace_skills(
        &self,
        user_id: i64,
        skills: &[(i64, i64)],
        chat_capacity: i64,
        wrap_up_secs: i64,
    ) -> Result<()> {
        let mut tx = self.write.begin().await?;
        sqlx::query("DELETE FROM operator_skills WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        for (service_id, proficiency) in skills {
            sqlx::query("INSERT INTO operator_skills (user_id, service_id, proficiency) VALUES ($1, $2, $3)")
                .bind(user_id)
                .bind(service_id)
                .bind(proficiency)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("UPDATE users SET chat_capacity = $1, wrap_up_secs = $2 WHERE id = $3")
            .bind(chat_capacity)
            .bind(wrap_up_secs)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A new web-chat visitor: a contact card with a `web` identity, and a token for their browser.
    pub async fn new_visitor(&self, queue: &RemoteQueue, now: Millis) -> Result<(Visitor, String)> {
        let token = random_token(32);
        let mut tx = self.write.begin().await?;
        let (contact_id,): (i64,) =
            sqlx::query_as("INSERT INTO contacts (org_id, created_at) VALUES ($1, $2) RETURNING id")
                .bind(queue.org_id)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO visitors (org_id, service_id, contact_id, token_hash, created_at) VALUES ($1, $2, $3, $4, $5) \
             RETURNING id",
        )
        .bind(queue.org_id)
        .bind(queue.id)
        .bind(contact_id)
        .bind(token_hash(&token))
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO contact_identities (org_id, contact_id, kind, value, created_at) VALUES ($1, $2, 'web', $3, $4)",
        )
        .bind(queue.org_id)
        .bind(contact_id)
        .bind(format!("visitor:{id}"))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((
            Visitor {
                id,
                org_id: queue.org_id,
                service_id: queue.id,
                contact_id,
            },
            token,
        ))
    }

    /// The visitor holding `token`; their contact may since have been merged into another card.
    pub async fn visitor(&self, token: &str) -> Result<Visitor> {
        sqlx::query_as(
            "SELECT v.id, v.org_id, v.service_id, COALESCE(c.merged_into, v.contact_id) AS contact_id \
             FROM visitors v JOIN contacts c ON c.id = v.contact_id WHERE v.token_hash = $1",
        )
        .bind(token_hash(token))
        .fetch_optional(&self.read)
        .await?
        .ok_or(Error::Unauthenticated)
    }

    /// A visitor by id (a hand-off code names one), with the card their contact now lives on.
    pub async fn visitor_by_id(&self, visitor_id: i64) -> Result<Visitor> {
        sqlx::query_as(
            "SELECT v.id, v.org_id, v.service_id, COALESCE(c.merged_into, v.contact_id) AS contact_id \
             FROM visitors v JOIN contacts c ON c.id = v.contact_id WHERE v.id = $1",
        )
        .bind(visitor_id)
        .fetch_optional(&self.write)
        .await?
        .ok_or(Error::NotFound("visitor"))
    }

    /// The contact of an identity, created on first contact (Telegram chat, e-mail address, phone).
    pub async fn contact_for(
        &self,
        org_id: i64,
        kind: &str,
        value: &str,
        name: Option<&str>,
        now: Millis,
    ) -> Result<i64> {
        let found: Option<(i64,)> = sqlx::query_as(
            "SELECT COALESCE(c.merged_into, c.id) FROM contact_identities i JOIN contacts c ON c.id = i.contact_id \
             WHERE i.org_id = $1 AND i.kind = $2 AND i.value = $3",
        )
        .bind(org_id)
        .bind(kind)
        .bind(value)
        .fetch_optional(&self.read)
        .await?;
        if let Some((id,)) = found {
            return Ok(id);
        }
        let mut tx = self.write.begin().await?;
        // A card made from a phone number (a caller) shows that number as its phone.
        let (contact_id,): (i64,) = sqlx::query_as(
            "INSERT INTO contacts (org_id, name, phone, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(org_id)
        .bind(name)
        .bind((kind == "phone").then_some(value))
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let added = sqlx::query(
            "INSERT INTO contact_identities (org_id, contact_id, kind, value, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (org_id, kind, value) DO NOTHING",
        )
        .bind(org_id)
        .bind(contact_id)
        .bind(kind)
        .bind(value)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if added == 0 {
            // Another request created it a moment ago: use theirs.
            drop(tx);
            return Box::pin(self.contact_for(org_id, kind, value, name, now)).await;
        }
        tx.commit().await?;
        Ok(contact_id)
    }

    pub async fn contact_card(&self, org_id: i64, id: i64) -> Result<ContactCard> {
        let row: Option<ContactRow> = sqlx::query_as(
            "SELECT id, name, email, phone, note, merged_into, location FROM contacts WHERE id = $1 AND org_id = $2",
        )
        .bind(id)
        .bind(org_id)
        .fetch_optional(&self.read)
        .await?;
        let (id, name, email, phone, note, merged_into, location) = row.ok_or(Error::NotFound("contact"))?;
        if let Some(into) = merged_into {
            return Box::pin(self.contact_card(org_id, into)).await;
        }
        let identities: Vec<Identity> =
            sqlx::query_as("SELECT kind, value FROM contact_identities WHERE contact_id = $1 ORDER BY id")
                .bind(id)
                .fetch_all(&self.read)
                .await?;
        let history: Vec<HistoryItem> = sqlx::query_as(
            "SELECT 'conversation' AS kind, id, channel, status, created_at, closed_at, resolution, rating \
             FROM conversations WHERE contact_id = $1 ORDER BY id DESC LIMIT 100",
        )
        .bind(id)
        .fetch_all(&self.read)
        .await?;
        Ok(ContactCard {
            id,
            name: name.unwrap_or_else(|| format!("Гость {id}")),
            email,
            phone,
            note,
            location,
            identities,
            history,
        })
    }

    pub async fn update_contact(&self, org_id: i64, id: i64, patch: &ContactPatch) -> Result<ContactCard> {
        let card = self.contact_card(org_id, id).await?;
        let clean = |v: &Option<String>| v.as_ref().map(|s| s.trim().to_string());
        sqlx::query(
            "UPDATE contacts SET name = COALESCE($1, name), email = COALESCE($2, email), phone = COALESCE($3, phone), \
             note = COALESCE($4, note) WHERE id = $5 AND org_id = $6",
        )
        .bind(clean(&patch.name))
        .bind(clean(&patch.email))
        .bind(clean(&patch.phone))
        .bind(clean(&patch.note))
        .bind(card.id)
        .bind(org_id)
        .execute(&self.write)
        .await?;
        if let Some(email) = clean(&patch.email).filter(|e| !e.is_empty()) {
            sqlx::query(
                "INSERT INTO contact_identities (org_id, contact_id, kind, value, created_at) VALUES ($1, $2, 'email', $3, $4) \
                 ON CONFLICT (org_id, kind, value) DO NOTHING",
            )
            .bind(org_id)
            .bind(card.id)
            .bind(email.to_lowercase())
            .bind(crate::model::now_millis())
            .execute(&self.write)
            .await?;
        }
        self.contact_card(org_id, card.id).await
    }

    /// Merges card `other` into `keep`: identities, conversations and visitors move over; what
    /// `keep` lacks (name, e-mail, phone, note) is taken from `other`; `other` is then hidden.
    pub async fn merge_contacts(&self, org_id: i64, keep: i64, other: i64) -> Result<ContactCard> {
        let keep = self.contact_card(org_id, keep).await?.id;
        let other = self.contact_card(org_id, other).await?.id;
        if keep == other {
            return Err(crate::model::field::FieldError::new("other_id", "same_card", serde_json::json!({})).into());
        }
        let mut tx = self.write.begin().await?;
        for table in ["contact_identities", "conversations", "visitors"] {
            sqlx::query(super::sql(format!(
                "UPDATE {table} SET contact_id = $1 WHERE contact_id = $2"
            )))
            .bind(keep)
            .bind(other)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "UPDATE contacts SET name = COALESCE(name, (SELECT name FROM contacts WHERE id = $2)), \
             email = COALESCE(email, (SELECT email FROM contacts WHERE id = $2)), \
             phone = COALESCE(phone, (SELECT phone FROM contacts WHERE id = $2)), \
             note = COALESCE(note, (SELECT note FROM contacts WHERE id = $2)), \
             location = COALESCE(location, (SELECT location FROM contacts WHERE id = $2)) WHERE id = $1",
        )
        .bind(keep)
        .bind(other)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE contacts SET merged_into = $1 WHERE id = $2 OR merged_into = $2")
            .bind(keep)
            .bind(other)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.contact_card(org_id, keep).await
    }

    pub async fn canned(&self, org_id: i64, user_id: i64) -> Result<Vec<Canned>> {
        let rows: Vec<CannedRow> = sqlx::query_as(
            "SELECT id, shortcut, title, body, user_id FROM canned_responses \
             WHERE org_id = $1 AND (user_id IS NULL OR user_id = $2) ORDER BY shortcut, id",
        )
        .bind(org_id)
        .bind(user_id)
        .fetch_all(&self.read)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| Canned {
                id: r.id,
                shortcut: r.shortcut,
                title: r.title,
                body: r.body,
                personal: r.user_id.is_some(),
            })
            .collect())
    }

    /// Adds a canned response.
    pub async fn add_canned(
        &self,
        org_id: i64,
        user_id: Option<i64>,
        shortcut: &str,
        title: &str,
        body: &str,
    ) -> Result<Canned> {
        // A shortcut is one response for whoever types it: a personal one may not shadow the
        // organisation's, nor a new organisation's one anybody's personal one.
        let taken: Option<(i64,)> = sqlx::query_as(
            "SELECT id FROM canned_responses WHERE org_id = $1 AND lower(shortcut) = lower($2) \
             AND ($3 = 0 OR user_id IS NULL OR user_id = $3)",
        )
        .bind(org_id)
        .bind(shortcut)
        .bind(user_id.unwrap_or(0))
        .fetch_optional(&self.read)
        .await?;
        if taken.is_some() {
            return Err(Error::Taken(crate::model::field::FieldError::new(
                "shortcut",
                "shortcut_taken",
                serde_json::json!({ "shortcut": shortcut }),
            )));
        }
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO canned_responses (org_id, user_id, shortcut, title, body) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(org_id)
        .bind(user_id)
        .bind(shortcut)
        .bind(title)
        .bind(body)
        .fetch_one(&self.write)
        .await
        .map_err(|e| super::unique_as_conflict(e, "this shortcut is taken"))?;
        Ok(Canned {
            id,
            shortcut: shortcut.into(),
            title: title.into(),
            body: body.into(),
            personal: user_id.is_some(),
        })
    }

    /// Deletes a canned response: an operator their own, a supervisor also the organisation's.
    pub async fn delete_canned(&self, org_id: i64, user_id: i64, may_delete_shared: bool, id: i64) -> Result<()> {
        let n = sqlx::query(
            "DELETE FROM canned_responses WHERE id = $1 AND org_id = $2 AND (user_id = $3 OR ($4 = 1 AND user_id IS NULL))",
        )
        .bind(id)
        .bind(org_id)
        .bind(user_id)
        .bind(i64::from(may_delete_shared))
        .execute(&self.write)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(Error::NotFound("canned response"));
        }
        Ok(())
    }

    /// Files `owner` uploaded and has not sent in a message.
    pub async fn unsent_attachments(&self, org_id: i64, owner: &str) -> Result<i64> {
        let (n,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM attachments WHERE org_id = $1 AND owner = $2 AND message_id IS NULL")
                .bind(org_id)
                .bind(owner)
                .fetch_one(&self.read)
                .await?;
        Ok(n)
    }

    /// The files stored for `owner` and not yet sent in a message, oldest first: what an earlier
    /// attempt at applying the same inbound message stored before it stopped.
    pub async fn unsent_attachment_ids(&self, org_id: i64, owner: &str) -> Result<Vec<i64>> {
        let rows: Vec<(i64,)> = sqlx::query_as(
            "SELECT id FROM attachments WHERE org_id = $1 AND owner = $2 AND message_id IS NULL ORDER BY id",
        )
        .bind(org_id)
        .bind(owner)
        .fetch_all(&self.read)
        .await?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// Stores an upload (not yet sent in a message) from `source` (the client's address), unless
    /// the address or the organisation already holds its `caps` of unsent uploads.
    pub async fn add_upload(&self, a: Attachment, source: &str, caps: UploadCaps, now: Millis) -> Result<i64> {
        let size = a.data.len() as i64;
        let (by_source,): (i64,) = sqlx::query_as(
            "SELECT COALESCE(SUM(size), 0) FROM attachments WHERE source_addr = $1 AND message_id IS NULL",
        )
        .bind(source)
        .fetch_one(&self.read)
        .await?;
        if by_source + size > caps.per_address {
            return Err(Error::TooManyRequests(caps.retry_secs));
        }
        let (by_org,): (i64,) =
            sqlx::query_as("SELECT COALESCE(SUM(size), 0) FROM attachments WHERE org_id = $1 AND message_id IS NULL")
                .bind(a.org_id)
                .fetch_one(&self.read)
                .await?;
        if by_org + size > caps.per_org {
            return Err(Error::StorageFull);
        }
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO attachments (org_id, owner, conversation_id, name, mime, size, data, created_at, source_addr) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(a.org_id)
        .bind(&a.owner)
        .bind(a.conversation_id)
        .bind(&a.name)
        .bind(&a.mime)
        .bind(size)
        .bind(a.data)
        .bind(now)
        .bind(source)
        .fetch_one(&self.write)
        .await?;
        Ok(id)
    }

    /// Deletes uploads never sent: people's (visitors', operators') older than `before`, and the
    /// leftovers of a bridge's attempts older than a week. Answers how many.
    pub async fn expire_unsent(&self, before: Millis) -> Result<u64> {
        Ok(sqlx::query(
            "DELETE FROM attachments WHERE message_id IS NULL AND \
             ((created_at < $1 AND (owner LIKE 'visitor:%' OR owner LIKE 'user:%')) OR created_at < $2)",
        )
        .bind(before)
        .bind(before - 7 * 24 * 3600 * 1000)
        .execute(&self.write)
        .await?
        .rows_affected())
    }

    pub async fn add_attachment(&self, a: Attachment, now: Millis) -> Result<i64> {
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO attachments (org_id, owner, conversation_id, name, mime, size, data, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(a.org_id)
        .bind(&a.owner)
        .bind(a.conversation_id)
        .bind(&a.name)
        .bind(&a.mime)
        .bind(a.data.len() as i64)
        .bind(a.data)
        .bind(now)
        .fetch_one(&self.write)
        .await?;
        Ok(id)
    }

    /// An attachment's name, type and bytes, if `org_id` owns it and, for a visitor, it belongs to
    /// their own conversation (or they uploaded it).
    pub async fn attachment(
        &self,
        org_id: i64,
        id: i64,
        visitor: Option<&Visitor>,
    ) -> Result<(String, String, Vec<u8>)> {
        let row: Option<AttachmentRow> = sqlx::query_as(
            "SELECT a.name, a.mime, a.data, a.owner, c.channel, c.thread_key FROM attachments a \
             LEFT JOIN conversations c ON c.id = a.conversation_id WHERE a.id = $1 AND a.org_id = $2",
        )
        .bind(id)
        .bind(org_id)
        .fetch_optional(&self.read)
        .await?;
        let (name, mime, data, owner, channel, thread) = row.ok_or(Error::NotFound("attachment"))?;
        // A visitor reaches what they uploaded and what was sent in their own chats, nothing
        // else of their card (a merged card may hold e-mail threads or calls).
        if let Some(v) = visitor {
            let in_own_chat =
                channel.as_deref() == Some("webchat") && thread.as_deref() == Some(v.thread_key().as_str());
            if owner != v.thread_key() && !in_own_chat {
                return Err(Error::NotFound("attachment"));
            }
        }
        Ok((name, mime, data))
    }

    /// Keeps where the contact said they are.
    pub async fn set_contact_location(&self, contact_id: i64, location: &str) -> Result<()> {
        sqlx::query("UPDATE contacts SET location = $1 WHERE id = $2")
            .bind(location)
            .bind(contact_id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Adds a phone number the contact shared to their card. When another card already holds
    /// the number (an earlier call, say), the two are one person: the older card keeps both.
    /// Answers the card that holds the number now.
    pub async fn add_contact_phone(&self, org_id: i64, contact_id: i64, phone: &str, now: Millis) -> Result<i64> {
        let found: Option<(i64,)> = sqlx::query_as(
            "SELECT COALESCE(c.merged_into, c.id) FROM contact_identities i JOIN contacts c ON c.id = i.contact_id \
             WHERE i.org_id = $1 AND i.kind = 'phone' AND i.value = $2",
        )
        .bind(org_id)
        .bind(phone)
        .fetch_optional(&self.write)
        .await?;
        let keep = match found {
            None => {
                let added = sqlx::query(
                    "INSERT INTO contact_identities (org_id, contact_id, kind, value, created_at) \
                     VALUES ($1, $2, 'phone', $3, $4) ON CONFLICT (org_id, kind, value) DO NOTHING",
                )
                .bind(org_id)
                .bind(contact_id)
                .bind(phone)
                .bind(now)
                .execute(&self.write)
                .await?
                .rows_affected();
                if added == 0 {
                    // Someone else added the number a moment ago: merge with them.
                    return Box::pin(self.add_contact_phone(org_id, contact_id, phone, now)).await;
                }
                contact_id
            }
            Some((holder,)) if holder == contact_id => contact_id,
            Some((holder,)) => {
                self.merge_contacts(org_id, holder.min(contact_id), holder.max(contact_id))
                    .await?
                    .id
            }
        };
        sqlx::query("UPDATE contacts SET phone = COALESCE(phone, $1) WHERE id = $2")
            .bind(phone)
            .bind(keep)
            .execute(&self.write)
            .await?;
        Ok(keep)
    }
}
