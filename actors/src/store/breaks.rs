//! An organisation's break reasons, in their order.

use super::Store;
use crate::error::Result;
use crate::model::breaks;

impl Store {
    pub async fn break_reasons(&self, org_id: i64) -> Result<Vec<String>> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT name FROM break_reasons WHERE org_id = $1 ORDER BY position, id")
                .bind(org_id)
                .fetch_all(&self.read)
                .await?;
        Ok(rows.into_iter().map(|(n,)| n).collect())
    }

    /// Replaces the list (checked by the model) in one transaction.
    pub async fn set_break_reasons(&self, org_id: i64, reasons: &[String]) -> Result<Vec<String>> {
        let reasons = breaks::check(reasons)?;
        let mut tx = self.write.begin().await?;
        sqlx::query("DELETE FROM break_reasons WHERE org_id = $1")
            .bind(org_id)
            .execute(&mut *tx)
            .await?;
        for (i, name) in reasons.iter().enumerate() {
            sqlx::query("INSERT INTO break_reasons (org_id, name, position) VALUES ($1, $2, $3)")
                .bind(org_id)
                .bind(name)
                .bind(i as i64 + 1)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(reasons)
    }
}
