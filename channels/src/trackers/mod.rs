//! The vehicle trackers' bridge: OsmAnd and Traccar Client over HTTP (the hub's own port),
//! Teltonika over TCP, Wialon IPS over TCP. It translates: a device's frames become fixes
//! (`hub_trackers`), handed to the core for the vehicle the device is bound to
//! (`Hub::take_fixes`); a frame is acknowledged only once the core answered that its fixes are
//! stored. Devices are this bridge's (`store.rs`); vehicles and tracks are the core's.

pub mod config;
pub mod store;
mod tcp;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hub_actors::model::fleet::Fix;
use hub_actors::model::{now_millis, Millis};
use hub_actors::Hub;
use hub_trackers::Reading;
use tokio_util::sync::CancellationToken;

use store::{Device, DeviceStore};

/// How often the devices' last-seen moments are written (a report each is not worth a write).
const SEEN_EVERY: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum TrackerError {
    #[error("no tracker {0} is registered")]
    UnknownDevice(String),
    #[error("{0}")]
    Malformed(String),
    #[error(transparent)]
    Core(#[from] hub_actors::Error),
}

/// The bridge on this node. Cheap to clone.
#[derive(Clone)]
pub struct Trackers {
    inner: Arc<Inner>,
}

struct Inner {
    hub: Hub,
    config: config::Config,
    /// Devices heard since the last write of their last-seen moments.
    seen: Mutex<HashMap<i64, Millis>>,
}

impl Trackers {
    /// Binds the TCP listeners the settings name (a port taken stops the start, naming it) and
    /// starts accepting.
    pub async fn start(hub: Hub, config: config::Config, stop: CancellationToken) -> std::io::Result<Self> {
        let inner = Arc::new(Inner {
            hub: hub.clone(),
            config: config.clone(),
            seen: Mutex::new(HashMap::new()),
        });
        let t = Trackers { inner };
        for (addr, protocol) in [
            (&config.teltonika_listen, tcp::Protocol::Teltonika),
            (&config.wialon_listen, tcp::Protocol::Wialon),
        ] {
            if addr.is_empty() {
                continue;
            }
            let listener = tokio::net::TcpListener::bind(addr.as_str())
                .await
                .map_err(|e| std::io::Error::new(e.kind(), format!("trackers: {} on {addr}: {e}", protocol.name())))?;
            tracing::info!(protocol = protocol.name(), listen = %addr, "trackers: listening");
            tcp::serve(t.clone(), Arc::new(listener), protocol, stop.clone());
        }
        let seen = t.clone();
        hub.tasks().supervise("trackers-seen", move || {
            let t = seen.clone();
            async move {
                let stop = t.inner.hub.tasks().token();
                loop {
                    tokio::select! {
                        _ = stop.cancelled() => { t.write_seen().await; return; }
                        _ = tokio::time::sleep(SEEN_EVERY) => t.write_seen().await,
                    }
                }
            }
        });
        Ok(t)
    }

    pub fn osmand_enabled(&self) -> bool {
        self.inner.config.osmand
    }

    /// Where trackers reach this installation, for the back office's hint.
    pub fn listeners(&self) -> serde_json::Value {
        let c = &self.inner.config;
        serde_json::json!({ "osmand": c.osmand, "teltonika": c.teltonika_listen, "wialon": c.wialon_listen })
    }

    /// An OsmAnd report: the query (or a form body), or Traccar Client's JSON body. Answered
    /// once its fixes are stored (or refused by the vehicle's filter).
    pub async fn osmand(&self, query: &str, json_body: Option<&str>) -> Result<usize, TrackerError> {
        let now = now_millis();
        let report = match json_body {
            Some(body) => hub_trackers::osmand::json(body, now),
            None => hub_trackers::osmand::query(query, now),
        }
        .map_err(|e| TrackerError::Malformed(e.to_string()))?;
        let device = self.device("osmand", &report.device).await?;
        let fixes = report.fixes.into_iter().map(fix).collect();
        let taken = self.inner.hub.take_fixes(device.vehicle_id, fixes).await?;
        Ok(taken.stored)
    }

    /// The device that sends as `unique_id`, noted as heard.
    async fn device(&self, protocol: &str, unique_id: &str) -> Result<Device, TrackerError> {
        let d = self
            .inner
            .hub
            .store()
            .tracker_device(protocol, unique_id)
            .await?
            .ok_or_else(|| TrackerError::UnknownDevice(unique_id.chars().take(40).collect()))?;
        self.heard(d.id);
        Ok(d)
    }

    fn heard(&self, device_id: i64) {
        self.inner
            .seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(device_id, now_millis());
    }

    async fn write_seen(&self) {
        let seen: Vec<(i64, Millis)> = std::mem::take(&mut *self.inner.seen.lock().unwrap_or_else(|p| p.into_inner()))
            .into_iter()
            .collect();
        if seen.is_empty() {
            return;
        }
        if let Err(e) = self.inner.hub.store().tracker_devices_seen(&seen).await {
            tracing::warn!(error = %e, "trackers: last-seen moments not written");
        }
    }
}

/// A device's fix as the core takes it.
pub(crate) fn fix(f: hub_trackers::Fix) -> Fix {
    let io =
        f.io.into_iter()
            .map(|(k, r)| {
                let v = match r {
                    Reading::Number(n) => {
                        serde_json::Number::from_f64(n).map_or(serde_json::Value::Null, serde_json::Value::Number)
                    }
                    Reading::Flag(b) => serde_json::Value::Bool(b),
                    Reading::Text(t) | Reading::Bytes(t) => serde_json::Value::String(t),
                };
                (k, v)
            })
            .collect();
    Fix {
        at: f.at,
        lat: f.lat,
        lon: f.lon,
        speed_kmh: f.speed_kmh,
        course: f.course,
        altitude: f.altitude,
        satellites: f.satellites,
        accuracy_m: f.accuracy,
        io,
    }
}
