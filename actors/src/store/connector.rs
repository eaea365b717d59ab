//! Connectors: an organisation's link to an outside service that a node serves (a bot it polls,
//! a mailbox it fetches). Read the same way (secrets opened as they are read), and served by one
//! node at a time under a lease: taken or extended by a guarded update, it lapses when its node
//! stops renewing it, so a connector whose node died is taken up by another within a lease.

use sqlx::any::AnyRow;

use super::{sql, Store};
use crate::error::{Error, Result};
use crate::model::Millis;

/// A kind of connector as the store keeps it.
pub trait Connector: for<'r> sqlx::FromRow<'r, AnyRow> + Send + Unpin + Sized {
    /// Its table, with `id`, `org_id`, `enabled`, `lease_node` and `lease_until` columns.
    const TABLE: Leased;
    /// The columns read.
    const COLUMNS: &'static str;
    /// What one is called in "not found".
    const WHAT: &'static str;
    /// The row as read, its sealed secrets opened.
    fn opened(self, store: &Store) -> Result<Self>;
}

/// A table of connectors a node serves one at a time (its `lease_node`, `lease_until` and
/// `enabled` columns).
#[derive(Debug, Clone, Copy)]
pub struct Leased(&'static str);

impl Leased {
    pub const fn table(name: &'static str) -> Self {
        Leased(name)
    }
}

impl Store {
    /// One connector, whichever organisation's.
    pub async fn connector<C: Connector>(&self, id: i64) -> Result<C> {
        let (table, columns) = (C::TABLE.0, C::COLUMNS);
        let c: C = sqlx::query_as(sql(format!("SELECT {columns} FROM {table} WHERE id = $1")))
            .bind(id)
            .fetch_optional(&self.read)
            .await?
            .ok_or(Error::NotFound(C::WHAT))?;
        c.opened(self)
    }

    /// The connectors of one organisation, or of all.
    pub async fn connectors<C: Connector>(&self, org_id: Option<i64>) -> Result<Vec<C>> {
        let (table, columns) = (C::TABLE.0, C::COLUMNS);
        let all: Vec<C> = sqlx::query_as(sql(format!(
            "SELECT {columns} FROM {table} WHERE ($1 = 0 OR org_id = $1) ORDER BY id"
        )))
        .bind(org_id.unwrap_or(0))
        .fetch_all(&self.read)
        .await?;
        all.into_iter().map(|c| c.opened(self)).collect()
    }

    /// Takes or extends `node`'s lease on an enabled connector until `until`; false while another
    /// node holds it.
    pub async fn take_lease(&self, what: Leased, id: i64, node: &str, until: Millis, now: Millis) -> Result<bool> {
        let table = what.0;
        let n = sqlx::query(sql(format!(
            "UPDATE {table} SET lease_node = $1, lease_until = $2 \
             WHERE id = $3 AND enabled = 1 AND (lease_node = $1 OR lease_until < $4)"
        )))
        .bind(node)
        .bind(until)
        .bind(id)
        .bind(now)
        .execute(&self.write)
        .await?
        .rows_affected();
        Ok(n == 1)
    }
}
