//! An engineer's day: the requests assigned to them at sites with a place, where their vehicle
//! is, and the order the dispatcher saved for the day (the proposal is `model::visits`').

use serde::Serialize;

use super::Store;
use crate::error::{Error, Result};
use crate::model::Millis;

/// Stops a day holds at most (the heuristic's search grows with the cube of them).
pub const MAX_STOPS: i64 = 30;

/// A request to visit.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct PlanStop {
    pub request_id: i64,
    pub subject: String,
    pub priority: String,
    pub site_id: i64,
    pub site: String,
    pub address: String,
    pub lat: f64,
    pub lon: f64,
}

/// Where the engineer's vehicle last was.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct PlanStart {
    pub vehicle_id: i64,
    pub vehicle: String,
    pub at: Millis,
    pub lat: f64,
    pub lon: f64,
}

/// The order a dispatcher saved.
#[derive(Debug, Clone, Serialize)]
pub struct SavedPlan {
    pub order: Vec<i64>,
    pub by_user: i64,
    pub at: Millis,
}

impl Store {
    /// The engineer's open requests at sites with coordinates, oldest first.
    pub async fn plan_stops(&self, org_id: i64, user_id: i64) -> Result<Vec<PlanStop>> {
        Ok(sqlx::query_as(
            "SELECT r.id AS request_id, r.subject, r.priority, s.id AS site_id, s.name AS site, s.address, s.lat, s.lon \
             FROM requests r JOIN sites s ON s.id = r.site_id \
             WHERE r.org_id = $1 AND r.assignee_id = $2 AND r.status_kind <> 'closed' \
             AND s.lat IS NOT NULL AND s.lon IS NOT NULL ORDER BY r.id LIMIT $3",
        )
        .bind(org_id)
        .bind(user_id)
        .bind(MAX_STOPS)
        .fetch_all(&self.read)
        .await?)
    }

    /// The engineer's vehicle (the one they drive) and its last position, if it has one.
    pub async fn plan_start(&self, org_id: i64, user_id: i64) -> Result<Option<PlanStart>> {
        Ok(sqlx::query_as(
            "SELECT v.id AS vehicle_id, v.name AS vehicle, f.at, f.lat, f.lon FROM vehicles v \
             JOIN vehicle_fixes f ON f.vehicle_id = v.id \
             AND f.at = (SELECT MAX(l.at) FROM vehicle_fixes l WHERE l.vehicle_id = v.id AND l.late = 0) \
             WHERE v.org_id = $1 AND v.driver_id = $2 ORDER BY f.at DESC LIMIT 1",
        )
        .bind(org_id)
        .bind(user_id)
        .fetch_optional(&self.read)
        .await?)
    }

    /// The organisation's time zone (its first branch's), for what "today" is.
    pub async fn org_timezone(&self, org_id: i64) -> Result<String> {
        let tz: Option<(String,)> =
            sqlx::query_as("SELECT timezone FROM branches WHERE org_id = $1 ORDER BY id LIMIT 1")
                .bind(org_id)
                .fetch_optional(&self.read)
                .await?;
        Ok(tz.map_or_else(|| "Europe/Moscow".into(), |t| t.0))
    }

    pub async fn saved_plan(&self, org_id: i64, user_id: i64, day: &str) -> Result<Option<SavedPlan>> {
        let row: Option<(String, i64, Millis)> = sqlx::query_as(
            "SELECT request_ids, by_user, at FROM visit_plans WHERE org_id = $1 AND user_id = $2 AND day = $3",
        )
        .bind(org_id)
        .bind(user_id)
        .bind(day)
        .fetch_optional(&self.read)
        .await?;
        Ok(row.map(|(ids, by_user, at)| SavedPlan {
            order: serde_json::from_str(&ids).unwrap_or_default(),
            by_user,
            at,
        }))
    }

    pub async fn save_plan(
        &self,
        org_id: i64,
        user_id: i64,
        day: &str,
        order: &[i64],
        by: i64,
        at: Millis,
    ) -> Result<()> {
        let ids = serde_json::to_string(order).map_err(|e| Error::Invalid(e.to_string()))?;
        sqlx::query(
            "INSERT INTO visit_plans (org_id, user_id, day, request_ids, by_user, at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (org_id, user_id, day) DO UPDATE SET request_ids = excluded.request_ids, by_user = excluded.by_user, at = excluded.at",
        )
        .bind(org_id)
        .bind(user_id)
        .bind(day)
        .bind(ids)
        .bind(by)
        .bind(at)
        .execute(&self.write)
        .await?;
        Ok(())
    }
}

/// Someone a dispatcher plans a day for.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct PlanEngineer {
    pub id: i64,
    pub name: String,
}

impl Store {
    /// Who drives the organisation's vehicles or holds open requests at sites with a place.
    pub async fn plan_engineers(&self, org_id: i64) -> Result<Vec<PlanEngineer>> {
        Ok(sqlx::query_as(
            "SELECT u.id, u.name FROM users u WHERE u.org_id = $1 AND u.disabled = 0 AND (\
             u.id IN (SELECT v.driver_id FROM vehicles v WHERE v.org_id = $1 AND v.driver_id IS NOT NULL) \
             OR u.id IN (SELECT r.assignee_id FROM requests r JOIN sites s ON s.id = r.site_id \
               WHERE r.org_id = $1 AND r.status_kind <> 'closed' AND s.lat IS NOT NULL AND r.assignee_id IS NOT NULL)) \
             ORDER BY u.name",
        )
        .bind(org_id)
        .fetch_all(&self.read)
        .await?)
    }
}

impl Store {
    /// Open requests at each of the organisation's sites that has any: (site, count).
    pub async fn open_requests_by_site(&self, org_id: i64) -> Result<Vec<(i64, i64)>> {
        Ok(sqlx::query_as(
            "SELECT site_id, COUNT(*) FROM requests WHERE org_id = $1 AND site_id IS NOT NULL AND status_kind <> 'closed' \
             GROUP BY site_id ORDER BY site_id",
        )
        .bind(org_id)
        .fetch_all(&self.read)
        .await?)
    }
}
