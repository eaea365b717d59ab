//! The cases the service desk's figures are counted from (`model::kpi`): each request created in
//! a period, read through its clock facts, so a figure and the request's card never disagree.

use super::requests::RequestRow;
use super::Store;
use crate::error::Result;
use crate::model::desk::Line;
use crate::model::kpi::Case;
use crate::model::Millis;

/// At most this many requests in one report: a wider period is refused, not truncated silently.
pub const MAX_CASES: i64 = 5000;

impl Store {
    /// The requests created in `[from, to)`, oldest first, each with its case.
    pub async fn desk_cases(&self, org_id: i64, from: Millis, to: Millis) -> Result<Vec<(RequestRow, Case)>> {
        let rows: Vec<RequestRow> = sqlx::query_as(super::sql(format!(
            "SELECT {} FROM requests WHERE org_id = $1 AND created_at >= $2 AND created_at < $3 ORDER BY id LIMIT $4",
            super::requests::COLUMNS
        )))
        .bind(org_id)
        .bind(from)
        .bind(to)
        .bind(MAX_CASES + 1)
        .fetch_all(&self.read)
        .await?;
        if rows.len() as i64 > MAX_CASES {
            return Err(crate::model::field::FieldError::new(
                "from",
                "too_many",
                serde_json::json!({ "max": MAX_CASES }),
            )
            .into());
        }
        // The organisation's groups, calendars and policies once, not once a request.
        let rules = self.clock_rules(org_id).await?;
        let rates = self.desk_rates(org_id).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let id = row.id;
            let facts = self.clock_facts_under(row, &rules).await?;
            let (logged, billable): (i64, i64) = sqlx::query_as(
                // PostgreSQL sums BIGINT as NUMERIC: cast back, as SQLite answers.
                "SELECT CAST(COALESCE(SUM(minutes), 0) AS BIGINT), \
                 CAST(COALESCE(SUM(CASE WHEN billable <> 0 THEN minutes ELSE 0 END), 0) AS BIGINT) \
                 FROM work_logs WHERE request_id = $1",
            )
            .bind(id)
            .fetch_one(&self.read)
            .await?;
            let cost = self.request_cost(org_id, id, &rates).await?;
            // The latest rating among its threads.
            let rating: Option<(i64,)> = sqlx::query_as(
                "SELECT c.rating FROM conversations c JOIN request_threads t ON t.conversation_id = c.id \
                 WHERE t.request_id = $1 AND c.rating IS NOT NULL ORDER BY c.closed_at DESC, c.id DESC LIMIT 1",
            )
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
            let mut resolved = false;
            let mut reopened = false;
            for l in &facts.lines {
                if let Line::Status { done, .. } = l {
                    reopened |= resolved && !done;
                    resolved |= done;
                }
            }
            let next_breaches = facts
                .fired
                .iter()
                .filter(|(track, clock, _, share)| track == "sla" && clock == "next_response" && *share >= 100)
                .map(|(_, _, cycle, _)| cycle)
                .collect::<std::collections::BTreeSet<_>>()
                .len();
            let r = &facts.request;
            let case = Case {
                group: r.group_id,
                assignee: r.assignee_id,
                counterparty: r.counterparty_id,
                site: r.site_id,
                created_at: r.created_at,
                open: r.status_kind == "open" || r.status_kind == "waiting",
                resolved,
                reopened,
                timers: facts.timers(),
                next_breaches,
                logged_mins: logged,
                billable_mins: billable,
                cost,
                rating: rating.map(|(r,)| r),
            };
            out.push((facts.request.clone(), case));
        }
        Ok(out)
    }
}
