//! The service desk's clients: each counterparty and each contact with the requests they made,
//! for the engineer's list of clients (each one's history is the request list filtered by them).

use serde::Serialize;

use super::Store;
use crate::error::Result;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ClientCounterparty {
    pub id: i64,
    pub name: String,
    pub mail_domain: Option<String>,
    pub sites: i64,
    pub requests: i64,
    /// Not resolved or closed.
    pub open: i64,
    pub last_at: Option<i64>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ClientContact {
    pub id: i64,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub counterparty_id: Option<i64>,
    pub requests: i64,
    pub open: i64,
    pub last_at: Option<i64>,
}

const OPEN: &str = "r.status_kind IN ('open', 'waiting')";

impl Store {
    /// Every counterparty of the organisation with its sites and requests, busiest first.
    pub async fn client_counterparties(&self, org_id: i64) -> Result<Vec<ClientCounterparty>> {
        let sql = format!(
            "SELECT c.id, c.name, c.mail_domain, \
             (SELECT COUNT(*) FROM sites s WHERE s.counterparty_id = c.id) AS sites, \
             COUNT(r.id) AS requests, \
             CAST(COALESCE(SUM(CASE WHEN {OPEN} THEN 1 ELSE 0 END), 0) AS BIGINT) AS open, \
             MAX(r.created_at) AS last_at \
             FROM counterparties c LEFT JOIN requests r ON r.counterparty_id = c.id AND r.org_id = c.org_id \
             WHERE c.org_id = $1 GROUP BY c.id, c.name, c.mail_domain ORDER BY requests DESC, c.name"
        );
        Ok(sqlx::query_as(super::sql(sql))
            .bind(org_id)
            .fetch_all(&self.read)
            .await?)
    }

    /// The contacts who have made requests, the latest first (at most 500), each with the
    /// counterparty of their latest request.
    pub async fn client_contacts(&self, org_id: i64) -> Result<Vec<ClientContact>> {
        let sql = format!(
            "SELECT k.id, k.name, k.email, k.phone, \
             (SELECT r2.counterparty_id FROM requests r2 WHERE r2.contact_id = k.id ORDER BY r2.id DESC LIMIT 1) AS counterparty_id, \
             COUNT(r.id) AS requests, \
             CAST(COALESCE(SUM(CASE WHEN {OPEN} THEN 1 ELSE 0 END), 0) AS BIGINT) AS open, \
             MAX(r.created_at) AS last_at \
             FROM contacts k JOIN requests r ON r.contact_id = k.id AND r.org_id = k.org_id \
             WHERE k.org_id = $1 GROUP BY k.id, k.name, k.email, k.phone ORDER BY last_at DESC LIMIT 500"
        );
        Ok(sqlx::query_as(super::sql(sql))
            .bind(org_id)
            .fetch_all(&self.read)
            .await?)
    }
}
