//! The audit log: every change an admin or a supervisor made, newest first.

use serde::Serialize;
use serde_json::Value;

use super::Store;
use crate::error::Result;
use crate::model::{audit::redact, now_millis};

/// One change, as a route describes it.
#[derive(Debug, Clone)]
pub struct Change {
    /// `<object>.<verb>`: `user.disable`, `device.look`, `branch.create`…
    pub action: String,
    pub object_kind: &'static str,
    pub object_id: Option<i64>,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// Who made it.
#[derive(Debug, Clone)]
pub struct Actor {
    pub org_id: i64,
    pub user_id: i64,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AuditEntry {
    pub id: i64,
    pub at: i64,
    pub actor_id: Option<i64>,
    pub actor: String,
    pub action: String,
    pub object_kind: String,
    pub object_id: Option<i64>,
    #[sqlx(rename = "before")]
    #[serde(skip)]
    pub before_json: Option<String>,
    #[sqlx(rename = "after")]
    #[serde(skip)]
    pub after_json: Option<String>,
    #[sqlx(skip)]
    pub before: Option<Value>,
    #[sqlx(skip)]
    pub after: Option<Value>,
}

/// What the back office asks of the log.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub object_kind: Option<String>,
    pub object_id: Option<i64>,
    /// Entries older than this id (the page before).
    pub before_id: Option<i64>,
    /// Words in the action, the actor's name or the objects.
    pub text: Option<String>,
    pub limit: i64,
}

impl Store {
    pub async fn record_change(&self, actor: &Actor, change: Change) -> Result<()> {
        let json = |v: Option<Value>| {
            v.map(|mut v| {
                redact(&mut v);
                v.to_string()
            })
        };
        let (before, after) = (json(change.before), json(change.after));
        let haystack = [
            Some(actor.name.as_str()),
            Some(change.action.as_str()),
            before.as_deref(),
            after.as_deref(),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("\n")
        .to_lowercase();
        sqlx::query(
            "INSERT INTO audit_log (org_id, at, actor_id, actor, action, object_kind, object_id, before, after, haystack) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(actor.org_id)
        .bind(now_millis())
        .bind(actor.user_id)
        .bind(&actor.name)
        .bind(&change.action)
        .bind(change.object_kind)
        .bind(change.object_id)
        .bind(before)
        .bind(after)
        .bind(haystack)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// A page of the organisation's log, newest first.
    pub async fn audit_log(&self, org_id: i64, q: &AuditQuery) -> Result<Vec<AuditEntry>> {
        // Lower-cased here as the haystack was: the same folding for Cyrillic and Latin alike.
        let text = q
            .text
            .as_deref()
            .map(|t| format!("%{}%", t.to_lowercase().replace(['%', '_', '\\'], "")));
        let mut rows: Vec<AuditEntry> = sqlx::query_as(
            "SELECT id, at, actor_id, actor, action, object_kind, object_id, before, after FROM audit_log \
             WHERE org_id = $1 AND ($2 = '' OR object_kind = $2) AND ($3 = 0 OR object_id = $3) \
               AND ($4 = 0 OR id < $4) \
               AND ($5 = '' OR haystack LIKE $5) \
             ORDER BY id DESC LIMIT $6",
        )
        .bind(org_id)
        .bind(q.object_kind.clone().unwrap_or_default())
        .bind(q.object_id.unwrap_or(0))
        .bind(q.before_id.unwrap_or(0))
        .bind(text.unwrap_or_default())
        .bind(q.limit.clamp(1, 200))
        .fetch_all(&self.read)
        .await?;
        for r in &mut rows {
            r.before = r.before_json.as_deref().and_then(|j| serde_json::from_str(j).ok());
            r.after = r.after_json.as_deref().and_then(|j| serde_json::from_str(j).ok());
        }
        Ok(rows)
    }
}
