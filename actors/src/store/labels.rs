//! Labels on service-desk requests: set whole by an engineer, shown on lists and cards, and a
//! filter of the lists.

use std::collections::HashMap;

use serde_json::{json, Value};

use super::Store;
use crate::error::Result;
use crate::model::field::{self, FieldError};
use crate::model::now_millis;

/// At most this many labels on a request, each at most `LABEL_MAX` characters.
pub const MAX_LABELS: usize = 20;
const LABEL_MAX: usize = 40;

/// The labels as they will be kept: trimmed, each once (compared without case), in order.
pub fn clean(labels: &[String]) -> std::result::Result<Vec<String>, FieldError> {
    if labels.len() > MAX_LABELS {
        return Err(FieldError::new("labels", "too_many", json!({ "max": MAX_LABELS })));
    }
    let mut out: Vec<String> = Vec::new();
    for l in labels {
        field::text("labels", l, LABEL_MAX, true)?;
        let l = l.trim().to_string();
        if !out.iter().any(|x| x.to_lowercase() == l.to_lowercase()) {
            out.push(l);
        }
    }
    Ok(out)
}

impl Store {
    /// Replaces a request's labels; answers them as kept.
    pub async fn set_request_labels(&self, org_id: i64, id: i64, labels: &[String], by: i64) -> Result<Vec<String>> {
        let labels = clean(labels)?;
        self.request(org_id, id).await?;
        let now = now_millis();
        let mut tx = self.write.begin().await?;
        sqlx::query("DELETE FROM request_labels WHERE request_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        for l in &labels {
            sqlx::query("INSERT INTO request_labels (request_id, label) VALUES ($1, $2)")
                .bind(id)
                .bind(l)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("UPDATE requests SET updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        super::requests::event(&mut tx, id, now, "labels", json!({ "labels": labels }), Some(by)).await?;
        tx.commit().await?;
        Ok(labels)
    }

    /// The labels of each of these requests.
    pub async fn labels_of(&self, ids: &[i64]) -> Result<HashMap<i64, Vec<String>>> {
        let mut out: HashMap<i64, Vec<String>> = HashMap::new();
        if ids.is_empty() {
            return Ok(out);
        }
        let sql = format!(
            "SELECT request_id, label FROM request_labels WHERE request_id IN ({}) ORDER BY request_id, label",
            super::placeholders(1, ids.len())
        );
        let mut q = sqlx::query_as::<_, (i64, String)>(super::sql(sql));
        for id in ids {
            q = q.bind(*id);
        }
        for (id, label) in q.fetch_all(&self.read).await? {
            out.entry(id).or_default().push(label);
        }
        Ok(out)
    }

    /// Every label the organisation's requests carry, with how many carry it.
    pub async fn org_labels(&self, org_id: i64) -> Result<Vec<Value>> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT l.label, COUNT(*) FROM request_labels l JOIN requests r ON r.id = l.request_id \
             WHERE r.org_id = $1 GROUP BY l.label ORDER BY l.label",
        )
        .bind(org_id)
        .fetch_all(&self.read)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(label, n)| json!({ "label": label, "requests": n }))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_trimmed_kept_once_and_bounded() {
        let got = clean(&[" касса ".into(), "VIP".into(), "Касса".into(), "vip".into()]).unwrap();
        assert_eq!(got, ["касса", "VIP"]);
        assert_eq!(clean(&["".into()]).unwrap_err().field, "labels");
        assert_eq!(clean(&["x".repeat(41)]).unwrap_err().field, "labels");
        assert_eq!(clean(&vec!["a".to_string(); 21]).unwrap_err().reason, "too_many");
    }
}
