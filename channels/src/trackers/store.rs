//! The trackers' devices: a unique id (OsmAnd's id, an IMEI) bound to a vehicle. The vehicles
//! and their tracks are the core's.

use serde::Serialize;
use serde_json::json;

use hub_actors::error::{Error, Result};
use hub_actors::model::field::FieldError;
use hub_actors::model::Millis;
use hub_actors::store::{BridgeTables, Store};

pub const TABLES: BridgeTables = BridgeTables {
    sealed: &[],
    named: &[],
};

/// The protocols a device may speak.
pub const PROTOCOLS: &[&str] = &["osmand", "teltonika", "wialon"];

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Device {
    pub id: i64,
    pub org_id: i64,
    pub protocol: String,
    pub unique_id: String,
    pub vehicle_id: i64,
    pub last_seen_at: Option<Millis>,
}

const COLUMNS: &str = "id, org_id, protocol, unique_id, vehicle_id, last_seen_at";

/// A device's id as trackers send it: letters, digits and `-_.:`, 1 to 40 characters (an IMEI
/// is 15 digits; Traccar Client makes 6 digits or takes what the user types).
pub fn unique_id(v: &str) -> std::result::Result<String, FieldError> {
    let v = v.trim();
    let ok = (1..=40).contains(&v.len())
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
    if ok {
        Ok(v.to_string())
    } else {
        Err(FieldError::new("unique_id", "device_id", json!({ "max": 40 })))
    }
}

#[allow(async_fn_in_trait)]
pub trait DeviceStore {
    async fn tracker_devices(&self, org_id: i64) -> Result<Vec<Device>>;
    /// The device that sends as `unique_id` in `protocol`.
    async fn tracker_device(&self, protocol: &str, unique_id: &str) -> Result<Option<Device>>;
    async fn add_tracker_device(&self, org_id: i64, protocol: &str, unique_id: &str, vehicle_id: i64)
        -> Result<Device>;
    async fn remove_tracker_device(&self, org_id: i64, id: i64) -> Result<Device>;
    async fn tracker_devices_seen(&self, seen: &[(i64, Millis)]) -> Result<()>;
}

impl DeviceStore for Store {
    async fn tracker_devices(&self, org_id: i64) -> Result<Vec<Device>> {
        let q = format!("SELECT {COLUMNS} FROM tracker_devices WHERE org_id = $1 ORDER BY id");
        Ok(sqlx::query_as(hub_actors::store::sql(q))
            .bind(org_id)
            .fetch_all(self.read())
            .await?)
    }

    async fn tracker_device(&self, protocol: &str, unique_id: &str) -> Result<Option<Device>> {
        let q = format!("SELECT {COLUMNS} FROM tracker_devices WHERE unique_id = $1 AND protocol = $2");
        Ok(sqlx::query_as(hub_actors::store::sql(q))
            .bind(unique_id)
            .bind(protocol)
            .fetch_optional(self.read())
            .await?)
    }

    async fn add_tracker_device(
        &self,
        org_id: i64,
        protocol: &str,
        unique_id_: &str,
        vehicle_id: i64,
    ) -> Result<Device> {
        if !PROTOCOLS.contains(&protocol) {
            return Err(FieldError::new("protocol", "one_of", json!({ "values": PROTOCOLS.join(", ") })).into());
        }
        let uid = unique_id(unique_id_)?;
        self.vehicle(org_id, vehicle_id).await.map_err(|e| match e {
            Error::NotFound(_) => FieldError::new("vehicle_id", "vehicle_unknown", json!({ "id": vehicle_id })).into(),
            e => e,
        })?;
        let q = format!(
            "INSERT INTO tracker_devices (org_id, protocol, unique_id, vehicle_id) VALUES ($1, $2, $3, $4) RETURNING {COLUMNS}"
        );
        sqlx::query_as(hub_actors::store::sql(q))
            .bind(org_id)
            .bind(protocol)
            .bind(&uid)
            .bind(vehicle_id)
            .fetch_one(self.write())
            .await
            .map_err(|e| match &e {
                // One id, one device, across the installation (another organisation's included:
                // the listeners serve all), said without telling whose it is.
                sqlx::Error::Database(db) if db.is_unique_violation() => {
                    FieldError::new("unique_id", "device_taken", json!({})).into()
                }
                _ => Error::Store(e),
            })
    }

    async fn remove_tracker_device(&self, org_id: i64, id: i64) -> Result<Device> {
        let q = format!("DELETE FROM tracker_devices WHERE id = $1 AND org_id = $2 RETURNING {COLUMNS}");
        sqlx::query_as(hub_actors::store::sql(q))
            .bind(id)
            .bind(org_id)
            .fetch_optional(self.write())
            .await?
            .ok_or(Error::NotFound("device"))
    }

    async fn tracker_devices_seen(&self, seen: &[(i64, Millis)]) -> Result<()> {
        let mut tx = self.write().begin().await?;
        for (id, at) in seen {
            sqlx::query("UPDATE tracker_devices SET last_seen_at = $1 WHERE id = $2")
                .bind(at)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
