//! The organisation's webhooks and their deliveries (`model::webhook` has the rules). A delivery
//! is enqueued in the transaction of the request's change; the sender (hub-channels' `webhook`)
//! claims due ones through the leased job queue, composes the body once, and records each
//! attempt here.

use serde::Serialize;
use serde_json::{json, Value};

use super::base::{random_token, Tx};
use super::jobs::JobQueue;
use super::Store;
use crate::error::{Error, Result};
use crate::model::field::FieldError;
use crate::model::webhook;
use crate::model::{now_millis, Millis};

/// The sealed column: the signing secret.
pub const SECRET: &str = "webhooks.secret";

pub const QUEUE: JobQueue = JobQueue {
    table: "webhook_deliveries",
    lease: "lease_until",
    open: "status = 'pending'",
    on_claim: "",
    on_release: "",
};

/// An endpoint as the back office lists it (never its secret).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Webhook {
    pub id: i64,
    pub url: String,
    pub events: String,
    pub active: i64,
    pub created_at: Millis,
    /// Deliveries waiting (to be sent or tried again) and given up on.
    pub pending: i64,
    pub failed: i64,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Delivery {
    pub id: i64,
    pub event: String,
    pub request_id: i64,
    pub status: String,
    pub attempts: i64,
    pub next_at: Millis,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: Millis,
    pub sent_at: Option<Millis>,
}

/// A claimed delivery, as the sender needs it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Claimed {
    pub id: i64,
    pub org_id: i64,
    pub webhook_id: i64,
    pub event: String,
    pub request_id: i64,
    pub event_id: i64,
    pub body: Option<String>,
    pub attempts: i64,
}

/// Enqueues the event for the request's organisation's active webhooks subscribed to it, or for
/// the one named (a workflow's action), in the caller's transaction.
pub async fn enqueue(
    tx: &mut Tx<'_>,
    request_id: i64,
    event_id: i64,
    event: &str,
    at: Millis,
    only: Option<i64>,
) -> Result<()> {
    let (pick, value) = match only {
        Some(id) => ("w.id = $5", Value::from(id)),
        None => ("(' ' || w.events || ' ') LIKE $5", Value::from(format!("% {event} %"))),
    };
    let text = format!(
        "INSERT INTO webhook_deliveries (org_id, webhook_id, event, request_id, event_id, next_at, created_at) \
         SELECT w.org_id, w.id, $1, $2, $3, $4, $4 FROM webhooks w JOIN requests r ON r.org_id = w.org_id \
         WHERE r.id = $2 AND w.active = 1 AND {pick}"
    );
    let q = sqlx::query(super::sql(text))
        .bind(event)
        .bind(request_id)
        .bind(event_id)
        .bind(at);
    let q = match value {
        Value::Number(n) => q.bind(n.as_i64().unwrap_or(0)),
        v => q.bind(v.as_str().unwrap_or("").to_string()),
    };
    q.execute(&mut **tx).await?;
    Ok(())
}

fn unknown(id: i64) -> Error {
    FieldError::new("id", "webhook_unknown", json!({ "id": id })).into()
}

impl Store {
    pub async fn webhooks(&self, org_id: i64) -> Result<Vec<Webhook>> {
        Ok(sqlx::query_as(
            "SELECT w.id, w.url, w.events, w.active, w.created_at, \
             (SELECT COUNT(*) FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.status = 'pending') AS pending, \
             (SELECT COUNT(*) FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.status = 'failed') AS failed \
             FROM webhooks w WHERE w.org_id = $1 ORDER BY w.id",
        )
        .bind(org_id)
        .fetch_all(&self.read)
        .await?)
    }

    /// Adds an endpoint (its address already checked against the egress rule by the caller);
    /// answers its id and the secret, which is shown this once.
    pub async fn create_webhook(&self, org_id: i64, url: &str, events: &[String]) -> Result<(i64, String)> {
        webhook::endpoint(url)?;
        let events = webhook::events(events)?;
        let secret = random_token(24);
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO webhooks (org_id, url, secret, events, active, created_at) VALUES ($1, $2, $3, $4, 1, $5) RETURNING id",
        )
        .bind(org_id)
        .bind(url)
        .bind(self.seal(SECRET, &secret))
        .bind(events.join(" "))
        .bind(now_millis())
        .fetch_one(&self.write)
        .await?;
        Ok((id, secret))
    }

    pub async fn edit_webhook(
        &self,
        org_id: i64,
        id: i64,
        url: Option<&str>,
        events: Option<&[String]>,
        active: Option<bool>,
    ) -> Result<()> {
        self.owned(org_id, "webhooks", "id", Some(id))
            .await
            .map_err(|_| unknown(id))?;
        if let Some(u) = url {
            webhook::endpoint(u)?;
        }
        let events = events.map(webhook::events).transpose()?.map(|e| e.join(" "));
        sqlx::query(
            "UPDATE webhooks SET url = COALESCE($1, url), events = COALESCE($2, events), \
             active = COALESCE($3, active) WHERE id = $4 AND org_id = $5",
        )
        .bind(url)
        .bind(events)
        .bind(active.map(i64::from))
        .bind(id)
        .bind(org_id)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Removes an endpoint and what it was owed. Refused while a workflow's action names it.
    pub async fn delete_webhook(&self, org_id: i64, id: i64) -> Result<()> {
        self.owned(org_id, "webhooks", "id", Some(id))
            .await
            .map_err(|_| unknown(id))?;
        let mut tx = self.write.begin().await?;
        sqlx::query("DELETE FROM webhook_deliveries WHERE webhook_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM webhooks WHERE id = $1 AND org_id = $2")
            .bind(id)
            .bind(org_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// An endpoint's latest deliveries, newest first.
    pub async fn webhook_deliveries(&self, org_id: i64, id: i64, limit: i64) -> Result<Vec<Delivery>> {
        self.owned(org_id, "webhooks", "id", Some(id))
            .await
            .map_err(|_| unknown(id))?;
        Ok(sqlx::query_as(
            "SELECT id, event, request_id, status, attempts, next_at, last_status, last_error, created_at, sent_at \
             FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(id)
        .bind(limit.clamp(1, 500))
        .fetch_all(&self.read)
        .await?)
    }

    /// Sends a delivery again now, from a fresh retry schedule (an admin, after fixing their end;
    /// sent or not). Deliveries are at least once: the receiver knows a repeat by its
    /// `X-Hub-Delivery`.
    pub async fn redeliver(&self, org_id: i64, webhook_id: i64, delivery_id: i64) -> Result<()> {
        let done = sqlx::query(
            "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_at = $1, lease_until = 0 \
             WHERE id = $2 AND webhook_id = $3 AND org_id = $4",
        )
        .bind(now_millis())
        .bind(delivery_id)
        .bind(webhook_id)
        .bind(org_id)
        .execute(&self.write)
        .await?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound("delivery"));
        }
        Ok(())
    }

    /// Deliveries due now (pending, their time come, nobody holding them, their webhook not
    /// paused: a paused webhook's wait, their retries unspent, until it is resumed), oldest first.
    pub async fn due_deliveries(&self, now: Millis, limit: i64) -> Result<Vec<i64>> {
        let rows: Vec<(i64,)> = sqlx::query_as(
            "SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_at <= $1 AND lease_until < $1 \
             AND webhook_id IN (SELECT id FROM webhooks WHERE active = 1) ORDER BY next_at, id LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// The claimed delivery's endpoint: its address and secret (opened), if it is still active.
    pub async fn webhook_target(&self, webhook_id: i64) -> Result<Option<(String, String)>> {
        let row: Option<(String, String)> =
            sqlx::query_as("SELECT url, secret FROM webhooks WHERE id = $1 AND active = 1")
                .bind(webhook_id)
                .fetch_optional(&self.read)
                .await?;
        row.map(|(url, secret)| Ok((url, self.open(SECRET, &secret)?)))
            .transpose()
    }

    /// The body of a delivery, composed at its first attempt and kept: the event, its moment, the
    /// request as it is now and what its history's line says.
    pub async fn delivery_body(&self, d: &Claimed) -> Result<String> {
        if let Some(b) = &d.body {
            return Ok(b.clone());
        }
        let r = self.request(d.org_id, d.request_id).await?;
        let (at, kind, data): (Millis, String, String) =
            sqlx::query_as("SELECT at, kind, data FROM request_events WHERE id = $1")
                .bind(d.event_id)
                .fetch_one(&self.read)
                .await?;
        let data: Value = serde_json::from_str(&data).unwrap_or(Value::Null);
        let body = json!({
            "id": d.id,
            "event": d.event,
            "at": at,
            "line": kind,
            "data": data,
            "request": {
                "id": r.id, "subject": r.subject, "type_id": r.type_id, "status": r.status,
                "status_kind": r.status_kind, "priority": r.priority, "category": r.category,
                "counterparty_id": r.counterparty_id, "site_id": r.site_id, "contact_id": r.contact_id,
                "group_id": r.group_id, "assignee_id": r.assignee_id, "created_at": r.created_at,
            },
        })
        .to_string();
        sqlx::query("UPDATE webhook_deliveries SET body = $1 WHERE id = $2 AND body IS NULL")
            .bind(&body)
            .bind(d.id)
            .execute(&self.write)
            .await?;
        Ok(body)
    }

    /// Records an attempt: sent, or failed with what the endpoint said (or why it was not
    /// reached), tried again on the schedule or given up on.
    pub async fn delivery_attempted(
        &self,
        d: &Claimed,
        outcome: std::result::Result<u16, String>,
        now: Millis,
    ) -> Result<()> {
        match outcome {
            Ok(status) if (200..300).contains(&status) => {
                sqlx::query(
                    "UPDATE webhook_deliveries SET status = 'sent', sent_at = $1, last_status = $2, last_error = NULL, \
                     lease_until = 0 WHERE id = $3",
                )
                .bind(now)
                .bind(i64::from(status))
                .bind(d.id)
                .execute(&self.write)
                .await?;
            }
            other => {
                let (code, error) = match other {
                    Ok(s) => (Some(i64::from(s)), format!("answered {s}")),
                    Err(e) => (None, e),
                };
                let (status, next) = match webhook::retry_after_secs(d.attempts) {
                    Some(secs) => ("pending", now + secs * 1000),
                    None => ("failed", now),
                };
                sqlx::query(
                    "UPDATE webhook_deliveries SET status = $1, next_at = $2, last_status = $3, last_error = $4, \
                     lease_until = 0 WHERE id = $5",
                )
                .bind(status)
                .bind(next)
                .bind(code)
                .bind(error)
                .bind(d.id)
                .execute(&self.write)
                .await?;
            }
        }
        Ok(())
    }
}
