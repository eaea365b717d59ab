//! One leased job queue for every table of work the nodes share (the outbox, received mail,
//! transcriptions): a node claims a row for a while by a guarded update, so no two nodes work one
//! row; a claim lapses when its node dies, and a node starting again takes its own back at once.
//! What a queue's rows hold, and how one is finished or tried again, stays with its module.

use sqlx::any::AnyRow;

use super::{sql, Store};
use crate::error::Result;
use crate::model::Millis;

/// A table of work, as the queue sees it.
pub struct JobQueue {
    pub table: &'static str,
    /// The column a claim's lease ends at (0: nobody holds the row).
    pub lease: &'static str,
    /// What a row still to do satisfies.
    pub open: &'static str,
    /// Set by a claim, besides the lease, the attempt and the node (`, status = 'running'`).
    pub on_claim: &'static str,
    /// Set by a release, besides clearing the lease.
    pub on_release: &'static str,
}

impl Store {
    /// Claims each of `ids` still free and to do, until `now + lease_ms`, for `node` (None: a
    /// caller that never takes its claims back). Answers the rows claimed, read by `returning`.
    pub async fn claim_jobs<T>(
        &self,
        q: &JobQueue,
        ids: &[i64],
        node: Option<&str>,
        now: Millis,
        lease_ms: i64,
        returning: &str,
    ) -> Result<Vec<T>>
    where
        T: for<'r> sqlx::FromRow<'r, AnyRow> + Send + Unpin,
    {
        let JobQueue {
            table,
            lease,
            open,
            on_claim,
            ..
        } = q;
        let text = format!(
            "UPDATE {table} SET {lease} = $1, attempts = attempts + 1, claimed_by = $4{on_claim} \
             WHERE id = $2 AND {open} AND {lease} < $3 RETURNING {returning}"
        );
        let mut claimed = Vec::with_capacity(ids.len());
        for id in ids {
            let row: Option<T> = sqlx::query_as(sql(text.clone()))
                .bind(now + lease_ms)
                .bind(*id)
                .bind(now)
                .bind(node)
                .fetch_optional(&self.write)
                .await?;
            claimed.extend(row);
        }
        Ok(claimed)
    }

    /// A node starting again releases what it held when it stopped (those attempts died with
    /// it), within `scope` (a column and its value) when the queue is shared by several bridges.
    pub async fn release_jobs(&self, q: &JobQueue, node: &str, scope: Option<(&'static str, &str)>) -> Result<u64> {
        let JobQueue {
            table,
            lease,
            open,
            on_release,
            ..
        } = q;
        let within = scope
            .map(|(column, _)| format!(" AND {column} = $2"))
            .unwrap_or_default();
        let text = format!(
            "UPDATE {table} SET {lease} = 0{on_release} WHERE claimed_by = $1 AND {open} AND {lease} > 0{within}"
        );
        let mut query = sqlx::query(sql(text)).bind(node);
        if let Some((_, value)) = scope {
            query = query.bind(value);
        }
        Ok(query.execute(&self.write).await?.rows_affected())
    }
}
