//! Field visits: an engineer on the way to a request's site in their vehicle. Each thing told
//! the customer (the estimate, a new estimate, arrival) is written with the visit's change in
//! one transaction, guarded by what the visit held, so two nodes or a replayed track tell it
//! once; the time on site becomes the engineer's work log when they leave.

use serde::Serialize;
use serde_json::json;

use super::base::Tx;
use super::Store;
use crate::error::{Error, Result};
use crate::model::field::FieldError;
use crate::model::fleet::Told;
use crate::model::geo::Point;
use crate::model::role::Role;
use crate::model::{now_millis, Millis};

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Visit {
    pub id: i64,
    pub request_id: i64,
    pub user_id: i64,
    pub vehicle_id: i64,
    pub started_at: Millis,
    pub eta_told: Option<Millis>,
    pub told_at: Option<Millis>,
    pub arrived_at: Option<Millis>,
    pub left_at: Option<Millis>,
    pub ended_at: Option<Millis>,
}

/// A visit under way as the vehicle's actor follows it.
#[derive(Debug, Clone)]
pub struct ActiveVisit {
    pub visit: Visit,
    pub org_id: i64,
    pub site: Point,
    pub engineer: String,
    /// The engineer's language: the notices are worded in it.
    pub lang: String,
    /// The zone the estimate's clock is written in (the organisation's first branch's).
    pub timezone: String,
}

/// What a fix changed about a visit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// A new estimate told (`at` the moment it was told).
    Told {
        eta: Millis,
        at: Millis,
    },
    Arrived {
        at: Millis,
    },
    /// Left the site: the minutes on it are logged under `activity`.
    Left {
        at: Millis,
    },
}

const COLUMNS: &str =
    "id, request_id, user_id, vehicle_id, started_at, eta_told, told_at, arrived_at, left_at, ended_at";

impl Store {
    /// The engineer assigned to the request sets off for its site in their vehicle (the one they
    /// usually drive); a supervisor may start it for them. Any other visit of that vehicle ends.
    pub async fn start_visit(&self, org_id: i64, request_id: i64, by: i64, role: Role) -> Result<Visit> {
        let r = self.request(org_id, request_id).await?;
        let Some(engineer) = r.assignee_id else {
            return Err(FieldError::new("request", "visit_unassigned", json!({})).into());
        };
        if engineer != by && !role.at_least(Role::Supervisor) {
            return Err(FieldError::new("request", "assign_others", json!({})).into());
        }
        let site = match r.site_id {
            Some(s) => self.site(org_id, s).await?,
            None => None,
        };
        if !site.is_some_and(|s| s.lat.is_some() && s.lon.is_some()) {
            return Err(FieldError::new("request", "visit_no_site", json!({})).into());
        }
        let vehicle: Option<(i64,)> =
            sqlx::query_as("SELECT id FROM vehicles WHERE org_id = $1 AND driver_id = $2 ORDER BY id LIMIT 1")
                .bind(org_id)
                .bind(engineer)
                .fetch_optional(&self.read)
                .await?;
        let Some((vehicle_id,)) = vehicle else {
            return Err(FieldError::new("request", "visit_no_vehicle", json!({})).into());
        };
        let now = now_millis();
        let mut tx = self.write.begin().await?;
        sqlx::query("UPDATE request_visits SET ended_at = $1 WHERE vehicle_id = $2 AND ended_at IS NULL")
            .bind(now)
            .bind(vehicle_id)
            .execute(&mut *tx)
            .await?;
        let q = super::sql(format!(
            "INSERT INTO request_visits (org_id, request_id, user_id, vehicle_id, started_at) VALUES ($1, $2, $3, $4, $5) RETURNING {COLUMNS}"
        ));
        let v: Visit = sqlx::query_as(q)
            .bind(org_id)
            .bind(request_id)
            .bind(engineer)
            .bind(vehicle_id)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(v)
    }

    /// Calls a visit under way off (the engineer turned back); answers its vehicle.
    pub async fn end_visit(&self, org_id: i64, request_id: i64) -> Result<i64> {
        let (vehicle_id,): (i64,) = sqlx::query_as(
            "UPDATE request_visits SET ended_at = $1 WHERE org_id = $2 AND request_id = $3 AND ended_at IS NULL RETURNING vehicle_id",
        )
        .bind(now_millis())
        .bind(org_id)
        .bind(request_id)
        .fetch_optional(&self.write)
        .await?
        .ok_or(Error::NotFound("visit"))?;
        Ok(vehicle_id)
    }

    /// A request's visits, the latest first.
    pub async fn visits_of(&self, org_id: i64, request_id: i64) -> Result<Vec<Visit>> {
        let q = super::sql(format!(
            "SELECT {COLUMNS} FROM request_visits WHERE org_id = $1 AND request_id = $2 ORDER BY id DESC"
        ));
        Ok(sqlx::query_as(q)
            .bind(org_id)
            .bind(request_id)
            .fetch_all(&self.read)
            .await?)
    }

    /// The visit a vehicle is on, with what its actor needs to follow it.
    pub async fn active_visit(&self, vehicle_id: i64) -> Result<Option<ActiveVisit>> {
        let q = super::sql(format!(
            "SELECT {COLUMNS} FROM request_visits WHERE vehicle_id = $1 AND ended_at IS NULL"
        ));
        let Some(visit): Option<Visit> = sqlx::query_as(q).bind(vehicle_id).fetch_optional(&self.read).await? else {
            return Ok(None);
        };
        let row: Option<(i64, Option<f64>, Option<f64>, String, String)> = sqlx::query_as(
            "SELECT r.org_id, s.lat, s.lon, u.name, u.lang FROM requests r JOIN sites s ON s.id = r.site_id \
             JOIN users u ON u.id = $2 WHERE r.id = $1",
        )
        .bind(visit.request_id)
        .bind(visit.user_id)
        .fetch_optional(&self.read)
        .await?;
        let Some((org_id, Some(lat), Some(lon), engineer, lang)) = row else {
            return Ok(None);
        };
        Ok(Some(ActiveVisit {
            visit,
            org_id,
            site: Point { lon, lat },
            engineer,
            lang,
            timezone: self.org_timezone(org_id).await?,
        }))
    }

    /// Records a step of a visit and, when there is one, the notice it owes the customer (in
    /// the request's latest thread, leaving by its channel), in one transaction guarded by the
    /// visit's state: None when another node (or an earlier run of the same track) did it.
    pub async fn visit_step(
        &self,
        v: &ActiveVisit,
        step: Step,
        notice: Option<&str>,
        activity: &str,
    ) -> Result<Option<Option<(i64, i64)>>> {
        let id = v.visit.id;
        let mut tx = self.write.begin().await?;
        let done = match step {
            Step::Told { eta, at } => {
                sqlx::query(
                    "UPDATE request_visits SET eta_told = $1, told_at = $2 WHERE id = $3 AND ended_at IS NULL AND arrived_at IS NULL \
                     AND (told_at IS NULL OR told_at < $2)",
                )
                .bind(eta)
                .bind(at)
                .bind(id)
                .execute(&mut *tx)
                .await?
            }
            Step::Arrived { at } => {
                sqlx::query("UPDATE request_visits SET arrived_at = $1 WHERE id = $2 AND ended_at IS NULL AND arrived_at IS NULL")
                    .bind(at)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?
            }
            Step::Left { at } => {
                let done = sqlx::query(
                    "UPDATE request_visits SET left_at = $1, ended_at = $1 WHERE id = $2 AND ended_at IS NULL AND arrived_at IS NOT NULL",
                )
                .bind(at)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() > 0 {
                    log_time_on_site(&mut tx, v, at, activity).await?;
                }
                done
            }
        };
        if done.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(None);
        }
        let sent = match notice {
            Some(body) => super::outbox::notice(&mut tx, v.visit.request_id, body, now_millis()).await?,
            None => None,
        };
        tx.commit().await?;
        Ok(Some(sent))
    }
}

impl Store {
    /// A vehicle's alerts on its way to (or at) a request's site, in the request's history:
    /// speeding, a territory left, a receiver frozen, the tracker silent. With the vehicle's and
    /// the territory's names as they were, so the history reads the same after a rename.
    pub async fn note_vehicle_alerts(&self, request_id: i64, vehicle_id: i64, alerts: &[Told]) -> Result<()> {
        if alerts.is_empty() {
            return Ok(());
        }
        let mut tx = self.write.begin().await?;
        let (vehicle,): (String,) = sqlx::query_as("SELECT name FROM vehicles WHERE id = $1")
            .bind(vehicle_id)
            .fetch_one(&mut *tx)
            .await?;
        let now = now_millis();
        for t in alerts {
            let mut data = serde_json::to_value(t).map_err(|e| Error::Invalid(e.to_string()))?;
            data["vehicle_id"] = json!(vehicle_id);
            data["vehicle"] = json!(vehicle);
            if let Told::TerritoryEntered { territory_id, .. } | Told::TerritoryLeft { territory_id, .. } = t {
                let name: Option<(String,)> = sqlx::query_as("SELECT name FROM territories WHERE id = $1")
                    .bind(territory_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                data["territory"] = json!(name.map(|n| n.0));
            }
            super::requests::event(&mut tx, request_id, now, "vehicle", data, None).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// The minutes between arrival and leaving, as the engineer's work on the request.
async fn log_time_on_site(tx: &mut Tx<'_>, v: &ActiveVisit, left: Millis, activity: &str) -> Result<()> {
    let (arrived,): (Option<Millis>,) = sqlx::query_as("SELECT arrived_at FROM request_visits WHERE id = $1")
        .bind(v.visit.id)
        .fetch_one(&mut **tx)
        .await?;
    let minutes = ((left - arrived.unwrap_or(left)) as f64 / 60_000.0).round() as i64;
    if minutes < 1 {
        return Ok(());
    }
    let (log_id,): (i64,) = sqlx::query_as(
        "INSERT INTO work_logs (request_id, user_id, minutes, activity, billable, note, at) VALUES ($1, $2, $3, $4, 0, '', $5) RETURNING id",
    )
    .bind(v.visit.request_id)
    .bind(v.visit.user_id)
    .bind(minutes.min(24 * 60))
    .bind(activity)
    .bind(left)
    .fetch_one(&mut **tx)
    .await?;
    sqlx::query("UPDATE request_visits SET work_log_id = $1 WHERE id = $2")
        .bind(log_id)
        .bind(v.visit.id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
