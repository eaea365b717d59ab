//! Vehicles, their tracks and what the tracks told (`model::fleet`). Fixes and events of many
//! vehicles are written together (the node's track writer gathers them), each keyed so that a
//! batch written twice stores nothing twice.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::base::{placeholders, sql, Float};
use super::Store;
use crate::error::{Error, Result};
use crate::model::field::{self, FieldError};
use crate::model::fleet::{Fix, Sensor, Territory, Told};
use crate::model::geo::Area;
use crate::model::sensor::{Bound, Threshold};
use crate::model::Millis;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct VehicleRow {
    pub id: i64,
    pub org_id: i64,
    pub name: String,
    pub plate: String,
    pub driver_id: Option<i64>,
    pub speed_limit_kmh: Option<f64>,
}

/// A vehicle as the back office sets it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VehicleIn {
    pub name: String,
    #[serde(default)]
    pub plate: String,
    #[serde(default)]
    pub driver_id: Option<i64>,
    #[serde(default)]
    pub speed_limit_kmh: Option<f64>,
}

/// A fix as stored, with whether it came late.
#[derive(Debug, Clone)]
pub struct FixRow {
    pub vehicle_id: i64,
    pub fix: Fix,
    pub late: bool,
    pub received_at: Millis,
}

/// An event as stored.
#[derive(Debug, Clone)]
pub struct EventRow {
    pub org_id: i64,
    pub vehicle_id: i64,
    pub told: Told,
}

#[derive(Debug, Clone, Serialize)]
pub struct VehicleEvent {
    pub id: i64,
    pub vehicle_id: i64,
    pub at: Millis,
    #[serde(flatten)]
    pub told: Value,
}

/// A sensor as the back office sets it.
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
pub struct SensorRow {
    #[serde(default)]
    pub id: i64,
    #[serde(default)]
    pub vehicle_id: i64,
    pub name: String,
    /// The reading's name in the tracker's frames: OsmAnd's parameter (`temp`), Teltonika's IO
    /// element id (`72`), Wialon's parameter.
    pub reading: String,
    /// Multiplies the raw value into the sensor's unit (0.1 for Teltonika's temperatures).
    pub scale: f64,
    /// `above` (a temperature) or `below` (fuel, a battery).
    pub bound: String,
    pub threshold: f64,
    /// How long the readings stay wrong before a request is opened.
    pub for_secs: i64,
    /// The site the request is for, and its type and priority; without a type, the excursion is
    /// an alert only.
    pub site_id: Option<i64>,
    pub type_id: Option<i64>,
    pub priority: String,
}

/// A sensor's excursion stored without the request it owes.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OwedExcursion {
    pub event_id: i64,
    pub org_id: i64,
    pub vehicle_id: i64,
    pub sensor_id: i64,
    pub data: String,
}

const SENSOR_COLUMNS: &str =
    "id, vehicle_id, name, reading, scale, bound, threshold, for_secs, site_id, type_id, priority";

/// A vehicle's last position, for the map.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Position {
    pub vehicle_id: i64,
    pub at: Millis,
    pub lat: f64,
    pub lon: f64,
    pub speed_kmh: Option<f64>,
    pub course: Option<f64>,
}

/// A point of a track for the map.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct TrackPoint {
    pub at: Millis,
    pub lat: f64,
    pub lon: f64,
    pub speed_kmh: Option<f64>,
}

/// Rows per INSERT, largest first: a batch goes as runs of these sizes, so only three statements
/// are ever prepared (each size its own; a statement per batch size would fill the connection's
/// statement cache with megabyte programs and prepare one for nearly every batch).
const FIXES_PER_INSERT: [usize; 3] = [100, 10, 1];

impl Store {
    pub async fn vehicles(&self, org_id: i64) -> Result<Vec<VehicleRow>> {
        Ok(sqlx::query_as(
            "SELECT id, org_id, name, plate, driver_id, speed_limit_kmh FROM vehicles WHERE org_id = $1 ORDER BY name, id",
        )
        .bind(org_id)
        .fetch_all(&self.read)
        .await?)
    }

    /// A vehicle by id alone: its actor's own read (the organisation comes with it).
    pub async fn vehicle_by_id(&self, id: i64) -> Result<VehicleRow> {
        sqlx::query_as("SELECT id, org_id, name, plate, driver_id, speed_limit_kmh FROM vehicles WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.read)
            .await?
            .ok_or(Error::NotFound("vehicle"))
    }

    pub async fn vehicle(&self, org_id: i64, id: i64) -> Result<VehicleRow> {
        let v = self.vehicle_by_id(id).await?;
        if v.org_id != org_id {
            return Err(Error::NotFound("vehicle"));
        }
        Ok(v)
    }

    async fn check_vehicle(&self, org_id: i64, v: &VehicleIn) -> Result<()> {
        field::name("name", &v.name)?;
        if v.plate.chars().count() > 20 || v.plate.chars().any(char::is_control) {
            return Err(FieldError::new("plate", "too_long", json!({ "max": 20 })).into());
        }
        crate::model::fleet::speed_limit("speed_limit_kmh", v.speed_limit_kmh)?;
        self.owned(org_id, "users", "driver_id", v.driver_id).await
    }

    pub async fn create_vehicle(&self, org_id: i64, v: &VehicleIn) -> Result<VehicleRow> {
        self.check_vehicle(org_id, v).await?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO vehicles (org_id, name, plate, driver_id, speed_limit_kmh) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(org_id)
        .bind(v.name.trim())
        .bind(v.plate.trim())
        .bind(v.driver_id)
        .bind(Float(v.speed_limit_kmh))
        .fetch_one(&self.write)
        .await?;
        self.vehicle(org_id, id).await
    }

    pub async fn edit_vehicle(&self, org_id: i64, id: i64, v: &VehicleIn) -> Result<VehicleRow> {
        self.check_vehicle(org_id, v).await?;
        let done = sqlx::query(
            "UPDATE vehicles SET name = $1, plate = $2, driver_id = $3, speed_limit_kmh = $4 WHERE id = $5 AND org_id = $6",
        )
        .bind(v.name.trim())
        .bind(v.plate.trim())
        .bind(v.driver_id)
        .bind(Float(v.speed_limit_kmh))
        .bind(id)
        .bind(org_id)
        .execute(&self.write)
        .await?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound("vehicle"));
        }
        self.vehicle(org_id, id).await
    }

    /// Removes a vehicle with its track, events, sensors and visits (the time on site they logged
    /// stays in the requests' work logs; its trackers go with it, by the bridge's foreign key).
    pub async fn remove_vehicle(&self, org_id: i64, id: i64) -> Result<VehicleRow> {
        let v = self.vehicle(org_id, id).await?;
        let mut tx = self.write.begin().await?;
        for q in [
            "DELETE FROM vehicle_sensors WHERE vehicle_id = $1",
            "DELETE FROM request_visits WHERE vehicle_id = $1",
            "DELETE FROM vehicle_events WHERE vehicle_id = $1",
            "DELETE FROM vehicle_fixes WHERE vehicle_id = $1",
            "DELETE FROM vehicles WHERE id = $1",
        ] {
            sqlx::query(q).bind(id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(v)
    }

    pub async fn sensors(&self, org_id: i64) -> Result<Vec<SensorRow>> {
        let q = sql(format!(
            "SELECT {SENSOR_COLUMNS} FROM vehicle_sensors WHERE org_id = $1 ORDER BY vehicle_id, id"
        ));
        Ok(sqlx::query_as(q).bind(org_id).fetch_all(&self.read).await?)
    }

    /// A vehicle's sensors as its actor reads them.
    pub async fn vehicle_sensors(&self, vehicle_id: i64) -> Result<Vec<Sensor>> {
        let q = sql(format!(
            "SELECT {SENSOR_COLUMNS} FROM vehicle_sensors WHERE vehicle_id = $1 ORDER BY id"
        ));
        let rows: Vec<SensorRow> = sqlx::query_as(q).bind(vehicle_id).fetch_all(&self.read).await?;
        Ok(rows
            .into_iter()
            .map(|r| Sensor {
                id: r.id,
                reading: r.reading,
                scale: r.scale,
                threshold: Threshold {
                    bound: if r.bound == "below" { Bound::Below } else { Bound::Above },
                    value: r.threshold,
                    for_ms: r.for_secs * 1_000,
                },
            })
            .collect())
    }

    pub async fn add_sensor(&self, org_id: i64, vehicle_id: i64, s: &SensorRow) -> Result<SensorRow> {
        self.vehicle(org_id, vehicle_id).await?;
        field::name("name", &s.name)?;
        if s.reading.trim().is_empty() || s.reading.len() > 40 || s.reading.chars().any(char::is_control) {
            return Err(FieldError::new("reading", "too_long", json!({ "max": 40 })).into());
        }
        if !(s.scale.is_finite() && s.scale != 0.0 && s.scale.abs() <= 1e6) {
            return Err(FieldError::new("scale", "range", json!({ "min": -1_000_000, "max": 1_000_000 })).into());
        }
        if !["above", "below"].contains(&s.bound.as_str()) {
            return Err(FieldError::new("bound", "one_of", json!({ "values": "above, below" })).into());
        }
        if !s.threshold.is_finite() {
            return Err(FieldError::new("threshold", "range", json!({ "min": -1e9, "max": 1e9 })).into());
        }
        if !(0..=7 * 86_400).contains(&s.for_secs) {
            return Err(FieldError::new("for_secs", "range", json!({ "min": 0, "max": 7 * 86_400 })).into());
        }
        if !super::requests::PRIORITIES.contains(&s.priority.as_str()) {
            let values = super::requests::PRIORITIES.join(", ");
            return Err(FieldError::new("priority", "one_of", json!({ "values": values })).into());
        }
        self.owned(org_id, "sites", "site_id", s.site_id).await?;
        self.owned(org_id, "request_types", "type_id", s.type_id).await?;
        let q = sql(format!(
            "INSERT INTO vehicle_sensors (org_id, vehicle_id, name, reading, scale, bound, threshold, for_secs, site_id, type_id, priority) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING {SENSOR_COLUMNS}"
        ));
        Ok(sqlx::query_as(q)
            .bind(org_id)
            .bind(vehicle_id)
            .bind(s.name.trim())
            .bind(s.reading.trim())
            .bind(s.scale)
            .bind(&s.bound)
            .bind(s.threshold)
            .bind(s.for_secs)
            .bind(s.site_id)
            .bind(s.type_id)
            .bind(&s.priority)
            .fetch_one(&self.write)
            .await?)
    }

    /// Takes a sensor away (its excursions stay in the vehicle's events); answers its vehicle.
    pub async fn remove_sensor(&self, org_id: i64, id: i64) -> Result<i64> {
        let (vehicle_id,): (i64,) =
            sqlx::query_as("DELETE FROM vehicle_sensors WHERE id = $1 AND org_id = $2 RETURNING vehicle_id")
                .bind(id)
                .bind(org_id)
                .fetch_optional(&self.write)
                .await?
                .ok_or(Error::NotFound("sensor"))?;
        Ok(vehicle_id)
    }

    /// Excursions stored without their request: of one vehicle, or (None) of every vehicle.
    pub async fn owed_excursions(&self, vehicle_id: Option<i64>) -> Result<Vec<OwedExcursion>> {
        Ok(sqlx::query_as(
            "SELECT id AS event_id, org_id, vehicle_id, subject_id AS sensor_id, data FROM vehicle_events \
             WHERE kind = 'sensor_excursion' AND request_id IS NULL AND ($1 = 0 OR vehicle_id = $1) ORDER BY id",
        )
        .bind(vehicle_id.unwrap_or(0))
        .fetch_all(&self.read)
        .await?)
    }

    /// A sensor by id alone (the owed request's type, site and priority).
    pub async fn sensor_by_id(&self, id: i64) -> Result<Option<SensorRow>> {
        let q = sql(format!("SELECT {SENSOR_COLUMNS} FROM vehicle_sensors WHERE id = $1"));
        Ok(sqlx::query_as(q).bind(id).fetch_optional(&self.read).await?)
    }

    /// The territories as vehicles judge them.
    pub async fn fleet_territories(&self, org_id: i64) -> Result<Vec<Territory>> {
        let rows: Vec<(i64, String, Option<f64>)> =
            sqlx::query_as("SELECT id, shape, speed_limit_kmh FROM territories WHERE org_id = $1 ORDER BY id")
                .bind(org_id)
                .fetch_all(&self.read)
                .await?;
        let mut out = Vec::with_capacity(rows.len());
        for (id, shape, limit) in rows {
            let v: Value = serde_json::from_str(&shape).map_err(|e| Error::Invalid(e.to_string()))?;
            // A shape stored was checked when stored; one that no longer reads is skipped, not fatal.
            match Area::from_geojson("shape", &v) {
                Ok(area) => out.push(Territory {
                    id,
                    area,
                    speed_limit_kmh: limit,
                }),
                Err(e) => tracing::warn!(territory = id, error = %e, "territory shape unreadable; skipped"),
            }
        }
        Ok(out)
    }

    /// Writes fixes and events of any vehicles in one transaction; a fix or an event already
    /// stored is left as it is.
    pub async fn write_tracks(&self, fixes: &[FixRow], events: &[EventRow]) -> Result<()> {
        let mut tx = self.write.begin().await?;
        let mut rest = fixes;
        let mut runs = Vec::new();
        for size in FIXES_PER_INSERT {
            while rest.len() >= size {
                let (run, tail) = rest.split_at(size);
                runs.push(run);
                rest = tail;
            }
        }
        for chunk in runs {
            let rows: Vec<String> = (0..chunk.len())
                .map(|i| format!("({})", placeholders(i * 12 + 1, 12)))
                .collect();
            let q = sql(format!(
                "INSERT INTO vehicle_fixes (vehicle_id, at, lat, lon, speed_kmh, course, altitude, satellites, accuracy, io, late, received_at) VALUES {} ON CONFLICT (vehicle_id, at) DO NOTHING",
                rows.join(", ")
            ));
            let mut query = sqlx::query(q);
            for r in chunk {
                let f = &r.fix;
                query = query
                    .bind(r.vehicle_id)
                    .bind(f.at)
                    .bind(f.lat)
                    .bind(f.lon)
                    .bind(Float(f.speed_kmh))
                    .bind(Float(f.course))
                    .bind(Float(f.altitude))
                    .bind(f.satellites.map(i64::from))
                    .bind(Float(f.accuracy_m))
                    .bind(Value::Object(f.io.clone()).to_string())
                    .bind(i64::from(r.late))
                    .bind(r.received_at);
            }
            query.execute(&mut *tx).await?;
        }
        for e in events {
            insert_event(&mut *tx, e).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The trips a vehicle ended in `[from, to)` (a trip is stored when it ends).
    pub async fn trips(&self, vehicle_id: i64, from: Millis, to: Millis) -> Result<Vec<crate::model::mileage::Trip>> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT data FROM vehicle_events WHERE vehicle_id = $1 AND kind = 'trip_ended' AND at >= $2 AND at < $3 ORDER BY at",
        )
        .bind(vehicle_id)
        .bind(from)
        .bind(to)
        .fetch_all(&self.read)
        .await?;
        Ok(rows
            .iter()
            .filter_map(|(data,)| match serde_json::from_str(data) {
                Ok(Told::TripEnded { started, at, meters }) => Some(crate::model::mileage::Trip {
                    started,
                    ended: at,
                    meters,
                }),
                _ => None,
            })
            .collect())
    }

    /// One event stored on its own (a vehicle gone silent has no fix to go with): true when
    /// this call stored it, false when it was there already (another node, an earlier start).
    pub async fn add_vehicle_event(&self, e: &EventRow) -> Result<bool> {
        Ok(insert_event(&self.write, e).await? > 0)
    }

    /// The last fix before the vehicle's latest silence, when one was told.
    pub async fn offline_since(&self, vehicle_id: i64) -> Result<Option<Millis>> {
        let (at,): (Option<Millis>,) =
            sqlx::query_as("SELECT MAX(at) FROM vehicle_events WHERE vehicle_id = $1 AND kind = 'offline'")
                .bind(vehicle_id)
                .fetch_one(&self.read)
                .await?;
        Ok(at)
    }

    /// Every vehicle with a fix: its organisation, its last fix taken in order, and the last
    /// fix before a silence told (what a starting node needs to see who went silent meanwhile).
    pub async fn last_heard(&self) -> Result<Vec<(i64, i64, Millis, Option<Millis>)>> {
        let rows: Vec<(i64, i64, Option<Millis>, Option<Millis>)> = sqlx::query_as(
            "SELECT v.id, v.org_id, \
             (SELECT MAX(f.at) FROM vehicle_fixes f WHERE f.vehicle_id = v.id AND f.late = 0), \
             (SELECT MAX(e.at) FROM vehicle_events e WHERE e.vehicle_id = v.id AND e.kind = 'offline') \
             FROM vehicles v ORDER BY v.id",
        )
        .fetch_all(&self.read)
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, org, last, off)| Some((id, org, last?, off)))
            .collect())
    }

    /// A vehicle's fixes taken in order (not those that came late) from `since`, each with when
    /// it was received: what its actor replays to stand where it stood.
    pub async fn fixes_since(&self, vehicle_id: i64, since: Millis) -> Result<Vec<(Fix, Millis)>> {
        type Row = (
            Millis,
            f64,
            f64,
            Option<f64>,
            Option<f64>,
            Option<f64>,
            Option<i64>,
            Option<f64>,
            String,
            Millis,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT at, lat, lon, speed_kmh, course, altitude, satellites, accuracy, io, received_at FROM vehicle_fixes WHERE vehicle_id = $1 AND at >= $2 AND late = 0 ORDER BY at",
        )
        .bind(vehicle_id)
        .bind(since)
        .fetch_all(&self.read)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(at, lat, lon, speed_kmh, course, altitude, satellites, accuracy_m, io, received)| {
                    let fix = Fix {
                        at,
                        lat,
                        lon,
                        speed_kmh,
                        course,
                        altitude,
                        satellites: satellites.and_then(|s| u8::try_from(s).ok()),
                        accuracy_m,
                        io: serde_json::from_str(&io).unwrap_or_default(),
                    };
                    (fix, received)
                },
            )
            .collect())
    }

    /// The moment of a vehicle's last fix taken in order.
    pub async fn last_fix_at(&self, vehicle_id: i64) -> Result<Option<Millis>> {
        let (at,): (Option<Millis>,) =
            sqlx::query_as("SELECT MAX(at) FROM vehicle_fixes WHERE vehicle_id = $1 AND late = 0")
                .bind(vehicle_id)
                .fetch_one(&self.read)
                .await?;
        Ok(at)
    }

    /// A vehicle's last fix taken in order: its moment and when it was received.
    pub async fn last_fix_heard(&self, vehicle_id: i64) -> Result<Option<(Millis, Millis)>> {
        Ok(sqlx::query_as(
            "SELECT at, received_at FROM vehicle_fixes WHERE vehicle_id = $1 AND late = 0 ORDER BY at DESC LIMIT 1",
        )
        .bind(vehicle_id)
        .fetch_optional(&self.read)
        .await?)
    }

    /// Each vehicle's last fix taken in order (one index seek a vehicle).
    pub async fn positions(&self, org_id: i64) -> Result<Vec<Position>> {
        Ok(sqlx::query_as(
            "SELECT f.vehicle_id, f.at, f.lat, f.lon, f.speed_kmh, f.course FROM vehicles v \
             JOIN vehicle_fixes f ON f.vehicle_id = v.id \
             AND f.at = (SELECT MAX(l.at) FROM vehicle_fixes l WHERE l.vehicle_id = v.id AND l.late = 0) \
             WHERE v.org_id = $1 ORDER BY f.vehicle_id",
        )
        .bind(org_id)
        .fetch_all(&self.read)
        .await?)
    }

    /// A vehicle's track between two moments, every fix (late ones in their place).
    pub async fn track(&self, org_id: i64, vehicle_id: i64, from: Millis, to: Millis) -> Result<Vec<TrackPoint>> {
        self.vehicle(org_id, vehicle_id).await?;
        Ok(sqlx::query_as(
            "SELECT at, lat, lon, speed_kmh FROM vehicle_fixes WHERE vehicle_id = $1 AND at >= $2 AND at <= $3 ORDER BY at",
        )
        .bind(vehicle_id)
        .bind(from)
        .bind(to)
        .fetch_all(&self.read)
        .await?)
    }

    /// The organisation's vehicle events, newest first, after `before` (an id) when given.
    pub async fn vehicle_events(
        &self,
        org_id: i64,
        vehicle_id: Option<i64>,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<VehicleEvent>> {
        let rows: Vec<(i64, i64, Millis, String)> = sqlx::query_as(
            "SELECT id, vehicle_id, at, data FROM vehicle_events WHERE org_id = $1 AND ($2 = 0 OR vehicle_id = $2) AND ($3 = 0 OR id < $3) ORDER BY id DESC LIMIT $4",
        )
        .bind(org_id)
        .bind(vehicle_id.unwrap_or(0))
        .bind(before.unwrap_or(0))
        .bind(limit.clamp(1, 500))
        .fetch_all(&self.read)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, vehicle_id, at, data)| VehicleEvent {
                id,
                vehicle_id,
                at,
                told: serde_json::from_str(&data).unwrap_or(Value::Null),
            })
            .collect())
    }
}

/// Stores an event unless the same one (kind, moment, subject) is there: the rows stored.
async fn insert_event<'e, X: sqlx::Executor<'e, Database = sqlx::Any>>(ex: X, e: &EventRow) -> Result<u64> {
    let (kind, at, subject) = e.told.key();
    let done = sqlx::query(
        "INSERT INTO vehicle_events (org_id, vehicle_id, kind, at, subject_id, data) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (vehicle_id, kind, at, subject_id) DO NOTHING",
    )
    .bind(e.org_id)
    .bind(e.vehicle_id)
    .bind(kind)
    .bind(at)
    .bind(subject)
    .bind(serde_json::to_string(&e.told).map_err(|e| Error::Invalid(e.to_string()))?)
    .execute(ex)
    .await?;
    Ok(done.rows_affected())
}
