//! Engineers' shifts and rates, activity rates, and the figures made of them (`model::labour`):
//! a request's labour cost, each engineer's load per day against their shift.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::json;

use super::Store;
use crate::error::Result;
use crate::model::desk::{self, Line};
use crate::model::field::{self, FieldError};
use crate::model::labour::{self, Cost, Load, Logged, Rates};
use crate::model::schedule::Calendar;
use crate::model::Millis;

/// A rate above this (per hour) is a typo, not a wage.
const RATE_MAX: i64 = 100_000_000;

#[derive(Debug, Clone, Serialize)]
pub struct DeskPerson {
    pub user_id: i64,
    pub calendar_id: Option<i64>,
    pub rate_cents: Option<i64>,
    /// The request types they handle (dispatch gives them no other); empty: every type.
    pub request_types: Vec<i64>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Activity {
    pub id: i64,
    pub name: String,
    pub rate_cents: Option<i64>,
}

fn rate(r: Option<i64>) -> std::result::Result<(), FieldError> {
    match r {
        Some(r) if !(0..=RATE_MAX).contains(&r) => Err(FieldError::new(
            "rate_cents",
            "range",
            json!({ "min": 0, "max": RATE_MAX }),
        )),
        _ => Ok(()),
    }
}

impl Store {
    pub async fn desk_people(&self, org_id: i64) -> Result<Vec<DeskPerson>> {
        let rows: Vec<(i64, Option<i64>, Option<i64>, String)> = sqlx::query_as(
            "SELECT user_id, calendar_id, rate_cents, request_types FROM desk_people WHERE org_id = $1 ORDER BY user_id",
        )
        .bind(org_id)
        .fetch_all(&self.read)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(user_id, calendar_id, rate_cents, types)| DeskPerson {
                user_id,
                calendar_id,
                rate_cents,
                request_types: serde_json::from_str(&types).unwrap_or_default(),
            })
            .collect())
    }

    /// Sets an engineer's shift and rate (either may be none) and the request types they handle
    /// (none: every type).
    pub async fn set_desk_person(
        &self,
        org_id: i64,
        user_id: i64,
        calendar_id: Option<i64>,
        rate_cents: Option<i64>,
        request_types: &[i64],
    ) -> Result<()> {
        rate(rate_cents)?;
        self.owned(org_id, "users", "user_id", Some(user_id)).await?;
        self.owned(org_id, "calendars", "calendar_id", calendar_id).await?;
        if request_types.len() > 200 {
            return Err(FieldError::new("request_types", "too_many", json!({ "max": 200 })).into());
        }
        for t in request_types {
            self.owned(org_id, "request_types", "request_types", Some(*t)).await?;
        }
        let types: std::collections::BTreeSet<i64> = request_types.iter().copied().collect();
        let mut tx = self.write.begin().await?;
        sqlx::query("DELETE FROM desk_people WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO desk_people (user_id, org_id, calendar_id, rate_cents, request_types) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(user_id)
        .bind(org_id)
        .bind(calendar_id)
        .bind(rate_cents)
        .bind(serde_json::to_string(&types).map_err(|e| crate::error::Error::Internal(e.to_string()))?)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn desk_activities(&self, org_id: i64) -> Result<Vec<Activity>> {
        Ok(
            sqlx::query_as("SELECT id, name, rate_cents FROM desk_activities WHERE org_id = $1 ORDER BY name")
                .bind(org_id)
                .fetch_all(&self.read)
                .await?,
        )
    }

    pub async fn create_activity(&self, org_id: i64, name: &str, rate_cents: Option<i64>) -> Result<i64> {
        field::text("name", name, 60, true)?;
        rate(rate_cents)?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO desk_activities (org_id, name, name_key, rate_cents) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(org_id)
        .bind(name.trim())
        .bind(name.trim().to_lowercase())
        .bind(rate_cents)
        .fetch_one(&self.write)
        .await
        .map_err(|e| match super::base::is_unique_violation(&e) {
            true => FieldError::new("name", "activity_taken", json!({ "name": name.trim() })).into(),
            false => crate::Error::from(e),
        })?;
        Ok(id)
    }

    pub async fn set_activity_rate(&self, org_id: i64, id: i64, rate_cents: Option<i64>) -> Result<()> {
        rate(rate_cents)?;
        self.owned(org_id, "desk_activities", "id", Some(id)).await?;
        sqlx::query("UPDATE desk_activities SET rate_cents = $1 WHERE id = $2 AND org_id = $3")
            .bind(rate_cents)
            .bind(id)
            .bind(org_id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    pub async fn desk_rates(&self, org_id: i64) -> Result<Rates> {
        let mut r = Rates::default();
        for p in self.desk_people(org_id).await? {
            if let Some(c) = p.rate_cents {
                r.people.insert(p.user_id, c);
            }
        }
        for a in self.desk_activities(org_id).await? {
            if let Some(c) = a.rate_cents {
                r.activities.insert(a.name.to_lowercase(), c);
            }
        }
        Ok(r)
    }

    /// What a request's logged work cost, at today's rates.
    pub async fn request_cost(&self, org_id: i64, request_id: i64, rates: &Rates) -> Result<Cost> {
        let logs: Vec<(i64, String, i64, i64)> = sqlx::query_as(
            "SELECT w.user_id, w.activity, w.minutes, w.at FROM work_logs w JOIN requests r ON r.id = w.request_id \
             WHERE w.request_id = $1 AND r.org_id = $2",
        )
        .bind(request_id)
        .bind(org_id)
        .fetch_all(&self.read)
        .await?;
        Ok(labour::cost(&logged(logs), rates))
    }

    /// Each engineer's load over `[from, to)`: those with a shift or with work logged in it.
    pub async fn desk_load(&self, org_id: i64, from: Millis, to: Millis) -> Result<Vec<Load>> {
        let logs: Vec<(i64, String, i64, i64)> = sqlx::query_as(
            "SELECT w.user_id, w.activity, w.minutes, w.at FROM work_logs w JOIN requests r ON r.id = w.request_id \
             WHERE r.org_id = $1 AND w.at >= $2 AND w.at < $3",
        )
        .bind(org_id)
        .bind(from)
        .bind(to)
        .fetch_all(&self.read)
        .await?;
        let logs = logged(logs);
        let calendars: BTreeMap<i64, (Calendar, jiff::tz::TimeZone)> = self
            .desk_calendars(org_id)
            .await?
            .into_iter()
            .map(|c| {
                let tz = jiff::tz::TimeZone::get(&c.timezone).unwrap_or(jiff::tz::TimeZone::UTC);
                (c.id, (Calendar::new(&c.week, &c.exceptions), tz))
            })
            .collect();
        let mut shifts: BTreeMap<i64, Option<i64>> = self
            .desk_people(org_id)
            .await?
            .into_iter()
            .map(|p| (p.user_id, p.calendar_id))
            .collect();
        let held = self.held_stretches(org_id, from, to).await?;
        for user in logs.iter().map(|l| l.user).chain(held.keys().copied()) {
            shifts.entry(user).or_insert(None);
        }
        Ok(shifts
            .into_iter()
            .filter_map(|(user, cal)| {
                let shift = cal.and_then(|c| calendars.get(&c)).map(|(c, tz)| (c, tz));
                let mine = held.get(&user).map(Vec::as_slice).unwrap_or_default();
                let load = labour::load(user, &logs, mine, shift, from, to);
                (shift.is_some() || load.logged_mins > 0 || load.tracked_mins > 0).then_some(load)
            })
            .collect())
    }

    /// Each engineer's stretches holding a request not yet resolved that reach into
    /// `[from, to)` (`desk::held`), from the status and assignee lines of the requests that were
    /// not closed before the period began.
    async fn held_stretches(
        &self,
        org_id: i64,
        from: Millis,
        to: Millis,
    ) -> Result<BTreeMap<i64, Vec<(Millis, Millis)>>> {
        let rows: Vec<(i64, Millis, String, String)> = sqlx::query_as(
            "SELECT e.request_id, e.at, e.kind, e.data FROM request_events e \
             WHERE e.kind IN ('status', 'assignee') AND e.request_id IN (\
               SELECT r.id FROM requests r WHERE r.org_id = $1 AND r.created_at < $2 \
               AND (r.status_kind <> 'closed' OR r.updated_at >= $3) \
               AND EXISTS (SELECT 1 FROM request_events a WHERE a.request_id = r.id AND a.kind = 'assignee')) \
             ORDER BY e.request_id, e.id",
        )
        .bind(org_id)
        .bind(to)
        .bind(from)
        .fetch_all(&self.read)
        .await?;
        let until = jiff::Timestamp::from_millisecond(to).unwrap_or(jiff::Timestamp::MAX);
        let mut out: BTreeMap<i64, Vec<(Millis, Millis)>> = BTreeMap::new();
        let mut flush = |lines: &mut Vec<Line>| {
            for (user, a, b) in desk::held(lines, until) {
                let (a, b) = (a.as_millisecond().max(from), b.as_millisecond().min(to));
                if a < b {
                    out.entry(user).or_default().push((a, b));
                }
            }
            lines.clear();
        };
        let mut lines: Vec<Line> = Vec::new();
        let mut current = None;
        for (request, at, kind, data) in rows {
            if current != Some(request) {
                flush(&mut lines);
                current = Some(request);
            }
            let d: serde_json::Value = serde_json::from_str(&data).unwrap_or_default();
            let at = jiff::Timestamp::from_millisecond(at).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
            lines.push(match kind.as_str() {
                "status" => super::requests::status_line(at, &d),
                _ => Line::Assignee {
                    at,
                    user: d["user_id"].as_i64(),
                },
            });
        }
        flush(&mut lines);
        Ok(out)
    }
}

fn logged(rows: Vec<(i64, String, i64, i64)>) -> Vec<Logged> {
    rows.into_iter()
        .map(|(user, activity, minutes, at)| Logged {
            user,
            activity,
            minutes,
            at,
        })
        .collect()
}
