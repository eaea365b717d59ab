//! The cases the service desk's figures are counted from (`model::kpi`): each request created in
//! a period, read through its clock facts, so a figure and the request's card never disagree.

use std::collections::HashMap;

use super::requests::RequestRow;
use super::Store;
use crate::error::Result;
use crate::model::desk::Line;
use crate::model::kpi::Case;
use crate::model::labour::{self, Logged};
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
        // The organisation's groups, calendars and policies once, not once a request; the
        // period's work logs and ratings in one read each.
        let rules = self.clock_rules(org_id).await?;
        let rates = self.desk_rates(org_id).await?;
        let logs: Vec<(i64, i64, String, i64, i64, i64)> = sqlx::query_as(
            "SELECT w.request_id, w.user_id, w.activity, w.minutes, w.billable, w.at FROM work_logs w \
             JOIN requests r ON r.id = w.request_id WHERE r.org_id = $1 AND r.created_at >= $2 AND r.created_at < $3",
        )
        .bind(org_id)
        .bind(from)
        .bind(to)
        .fetch_all(&self.read)
        .await?;
        let mut work: HashMap<i64, (i64, i64, Vec<Logged>)> = HashMap::new();
        for (request, user, activity, minutes, billable, at) in logs {
            let w = work.entry(request).or_default();
            w.0 += minutes;
            w.1 += if billable != 0 { minutes } else { 0 };
            w.2.push(Logged {
                user,
                activity,
                minutes,
                at,
            });
        }
        // Each request's latest rating among its threads (the last row of each wins).
        let rated: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT t.request_id, c.rating FROM request_threads t JOIN conversations c ON c.id = t.conversation_id \
             JOIN requests r ON r.id = t.request_id WHERE r.org_id = $1 AND r.created_at >= $2 AND r.created_at < $3 \
             AND c.rating IS NOT NULL ORDER BY t.request_id, c.closed_at, c.id",
        )
        .bind(org_id)
        .bind(from)
        .bind(to)
        .fetch_all(&self.read)
        .await?;
        let ratings: HashMap<i64, i64> = rated.into_iter().collect();
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let id = row.id;
            let facts = self.clock_facts_under(row, &rules).await?;
            let (logged, billable, cost) = match work.get(&id) {
                Some((logged, billable, logs)) => (*logged, *billable, labour::cost(logs, &rates)),
                None => (0, 0, labour::Cost::default()),
            };
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
                rating: ratings.get(&id).copied(),
            };
            out.push((facts.request.clone(), case));
        }
        Ok(out)
    }
}
