//! Vehicles' side of the core: what every vehicle actor of a node shares (the rules, the
//! organisations' territories, the track writer), and the `Hub`'s vehicle operations. The
//! trackers' bridge hands fixes in through [`Hub::take_fixes`]; it knows devices, the core
//! knows vehicles.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use crate::actors::vehicle::{Reload, Take, Taken};
use crate::bus::{Event, EventKind};
use crate::error::{Error, Result};
use crate::model::fleet::{Fix, Rules, Territories, Told};
use crate::model::mileage::{self, UseDay};
use crate::model::now_millis;
use crate::model::schedule::Calendar;
use crate::model::Millis;
use crate::store::fleet::{EventRow, FixRow, SensorRow, VehicleIn, VehicleRow};
use crate::store::requests::NewRequest;
use crate::store::Store;
use crate::tasks::Tasks;
use crate::{Core, Hub};

/// Territories read again at least this often (a change on another node reaches this one so).
const TERRITORIES_FRESH: Duration = Duration::from_secs(30);

/// Batches waiting for the writer; a full queue makes trackers wait (their acks come later),
/// never memory grow.
const WRITER_QUEUE: usize = 4_096;

/// Fixes written in one transaction at most.
const WRITE_MAX_FIXES: usize = 8_000;

pub struct Fleet {
    rules: Rules,
    /// The installation's `vehicle_offline_secs`, set at start.
    offline_ms: AtomicI64,
    pub writer: TrackWriter,
    territories: Mutex<HashMap<i64, (Instant, Arc<Territories>)>>,
}

impl Fleet {
    pub fn new(store: Store, tasks: &Tasks) -> Self {
        Self {
            rules: Rules::standard(),
            offline_ms: AtomicI64::new(Rules::standard().offline_ms),
            writer: TrackWriter::start(store, tasks),
            territories: Mutex::new(HashMap::new()),
        }
    }

    /// The bounds every vehicle is judged by.
    pub fn rules(&self) -> Rules {
        Rules {
            offline_ms: self.offline_ms.load(Ordering::Relaxed),
            ..self.rules
        }
    }

    /// The organisation's territories, shared by all its vehicles on this node.
    pub async fn territories(&self, store: &Store, org_id: i64) -> Result<Arc<Territories>> {
        if let Some((at, t)) = self.lock().get(&org_id) {
            if at.elapsed() < TERRITORIES_FRESH {
                return Ok(t.clone());
            }
        }
        let t = Arc::new(Territories::new(
            store.fleet_territories(org_id).await?,
            self.rules().hysteresis.margin_m,
        ));
        self.lock().insert(org_id, (Instant::now(), t.clone()));
        Ok(t)
    }

    pub fn forget_territories(&self, org_id: i64) {
        self.lock().remove(&org_id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, (Instant, Arc<Territories>)>> {
        self.territories.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A vehicle's driving over a period.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Mileage {
    pub vehicle_id: i64,
    pub driver_id: Option<i64>,
    /// Whether the driver has a shift to judge by.
    pub shift: bool,
    pub km: f64,
    pub km_in_shift: Option<f64>,
    pub km_outside: Option<f64>,
    pub private_trips: Option<usize>,
    pub days: Vec<UseDay>,
}

type Batch = (Vec<FixRow>, Vec<EventRow>, oneshot::Sender<Result<()>>);

/// Writes the fixes of every vehicle of the node in shared transactions (a group commit): a
/// batch waits while the one before is written, and goes with the others that came meanwhile.
#[derive(Clone)]
pub struct TrackWriter {
    tx: mpsc::Sender<Batch>,
}

impl TrackWriter {
    fn start(store: Store, tasks: &Tasks) -> Self {
        let (tx, rx) = mpsc::channel::<Batch>(WRITER_QUEUE);
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        let stop = tasks.token();
        tasks.supervise("track-writer", move || {
            let (rx, store, stop) = (rx.clone(), store.clone(), stop.clone());
            async move {
                let mut rx = rx.lock().await;
                loop {
                    let first = tokio::select! {
                        _ = stop.cancelled() => return,
                        b = rx.recv() => match b { Some(b) => b, None => return },
                    };
                    let mut batches = vec![first];
                    let mut n = batches[0].0.len();
                    while n < WRITE_MAX_FIXES {
                        match rx.try_recv() {
                            Ok(b) => {
                                n += b.0.len();
                                batches.push(b);
                            }
                            Err(_) => break,
                        }
                    }
                    let fixes: Vec<FixRow> = batches.iter().flat_map(|b| b.0.iter().cloned()).collect();
                    let events: Vec<EventRow> = batches.iter().flat_map(|b| b.1.iter().cloned()).collect();
                    let res = store.write_tracks(&fixes, &events).await;
                    if let Err(e) = &res {
                        tracing::warn!(error = %e, fixes = fixes.len(), "tracks not written; the trackers will send again");
                    }
                    for (_, _, done) in batches {
                        let _ = done.send(match &res {
                            Ok(()) => Ok(()),
                            Err(e) => Err(Error::Internal(e.to_string())),
                        });
                    }
                }
            }
        });
        Self { tx }
    }

    /// Answers once the rows are committed.
    pub async fn write(&self, fixes: Vec<FixRow>, events: Vec<EventRow>) -> Result<()> {
        if fixes.is_empty() && events.is_empty() {
            return Ok(());
        }
        let (done, answer) = oneshot::channel();
        self.tx
            .send((fixes, events, done))
            .await
            .map_err(|_| Error::Internal("the track writer stopped".into()))?;
        answer
            .await
            .map_err(|_| Error::Internal("the track writer stopped".into()))?
    }
}

/// Opens the requests that sensors' excursions stored without one owe (of one vehicle, or of
/// all): each in the transaction that marks its excursion answered, so one excursion opens
/// one request whichever node, and however often, tries.
pub(crate) async fn open_owed_requests(core: &Core, vehicle_id: Option<i64>) -> Result<usize> {
    let mut opened = 0;
    for owed in core.store.owed_excursions(vehicle_id).await? {
        let Some(sensor) = core.store.sensor_by_id(owed.sensor_id).await? else {
            continue;
        };
        let Some(type_id) = sensor.type_id else { continue };
        let told: Told = match serde_json::from_str(&owed.data) {
            Ok(t) => t,
            Err(_) => continue,
        };
        let Told::SensorExcursion { worst, .. } = told else {
            continue;
        };
        let vehicle = core.store.vehicle_by_id(owed.vehicle_id).await?;
        let sign = if sensor.bound == "below" { '<' } else { '>' };
        let new = NewRequest {
            type_id,
            subject: format!("{}: {} {worst} {sign} {}", vehicle.name, sensor.name, sensor.threshold),
            priority: Some(sensor.priority.clone()),
            impact: None,
            category: None,
            counterparty_id: None,
            site_id: sensor.site_id,
            contact_id: None,
            fields: Default::default(),
            checklist: Vec::new(),
            conversation_id: None,
        };
        let made = core
            .store
            .create_request_for_event(owed.org_id, &new, owed.event_id)
            .await;
        match made {
            Ok(Some(id)) => {
                opened += 1;
                let r = core.store.request(owed.org_id, id).await?;
                crate::desk::desk_event(
                    core,
                    r.org_id,
                    EventKind::RequestChanged {
                        request_id: r.id,
                        status: r.status.clone(),
                        group_id: r.group_id,
                        assignee_id: r.assignee_id,
                    },
                )
                .await;
            }
            Ok(None) => {}
            // The sensor's type or site is gone or wrong: said once in the log, the excursion
            // stays owed until an admin mends the sensor.
            Err(e) => tracing::warn!(sensor = sensor.id, error = %e, "a sensor's request could not be opened"),
        }
    }
    Ok(opened)
}

impl Hub {
    /// Fixes from a tracker bound to `vehicle_id`, in the order sent; answered once every fix is
    /// stored or refused.
    pub async fn take_fixes(&self, vehicle_id: i64, fixes: Vec<Fix>) -> Result<Taken> {
        self.vehicles
            .get(vehicle_id)
            .send(Take { fixes })
            .await
            .map_err(|_| Error::Internal("the vehicle's actor stopped".into()))?
    }

    pub async fn create_vehicle(&self, org_id: i64, v: &VehicleIn) -> Result<VehicleRow> {
        self.core.store.create_vehicle(org_id, v).await
    }

    pub async fn edit_vehicle(&self, org_id: i64, id: i64, v: &VehicleIn) -> Result<VehicleRow> {
        let row = self.core.store.edit_vehicle(org_id, id, v).await?;
        self.vehicle_changed(org_id, id).await;
        Ok(row)
    }

    pub async fn remove_vehicle(&self, org_id: i64, id: i64) -> Result<VehicleRow> {
        let row = self.core.store.remove_vehicle(org_id, id).await?;
        self.vehicle_changed(org_id, id).await;
        Ok(row)
    }

    pub async fn add_sensor(&self, org_id: i64, vehicle_id: i64, s: &SensorRow) -> Result<SensorRow> {
        let row = self.core.store.add_sensor(org_id, vehicle_id, s).await?;
        self.vehicle_changed(org_id, vehicle_id).await;
        Ok(row)
    }

    pub async fn remove_sensor(&self, org_id: i64, id: i64) -> Result<()> {
        let vehicle_id = self.core.store.remove_sensor(org_id, id).await?;
        self.vehicle_changed(org_id, vehicle_id).await;
        Ok(())
    }

    /// An engineer sets off for a request's site: their vehicle's actor follows the visit.
    pub async fn start_visit(
        &self,
        org_id: i64,
        request_id: i64,
        by: i64,
        role: crate::model::role::Role,
    ) -> Result<crate::store::visits::Visit> {
        let v = self.core.store.start_visit(org_id, request_id, by, role).await?;
        self.vehicle_changed(org_id, v.vehicle_id).await;
        Ok(v)
    }

    pub async fn end_visit(&self, org_id: i64, request_id: i64) -> Result<()> {
        let vehicle_id = self.core.store.end_visit(org_id, request_id).await?;
        self.vehicle_changed(org_id, vehicle_id).await;
        Ok(())
    }

    /// What a vehicle drove in `[from, to)`, day by day, and how much of it outside its
    /// driver's shift (the driver's business calendar in the service desk's people).
    pub async fn mileage(&self, org_id: i64, vehicle_id: i64, from: Millis, to: Millis) -> Result<Mileage> {
        let store = &self.core.store;
        let v = store.vehicle(org_id, vehicle_id).await?;
        // A trip is stored when it ends: one that began in the period may end a day later.
        let trips = store.trips(vehicle_id, from, to.saturating_add(24 * 3_600_000)).await?;
        let calendar_id = match v.driver_id {
            Some(driver) => store
                .desk_people(org_id)
                .await?
                .into_iter()
                .find(|p| p.user_id == driver)
                .and_then(|p| p.calendar_id),
            None => None,
        };
        let shift = match calendar_id {
            Some(id) => store
                .desk_calendars(org_id)
                .await?
                .into_iter()
                .find(|c| c.id == id)
                .map(|c| {
                    (
                        Calendar::new(&c.week, &c.exceptions),
                        jiff::tz::TimeZone::get(&c.timezone).unwrap_or(jiff::tz::TimeZone::UTC),
                    )
                }),
            None => None,
        };
        let days = mileage::by_day(&trips, shift.as_ref().map(|(c, tz)| (c, tz)), from, to);
        let sum = |f: fn(&UseDay) -> Option<f64>| -> Option<f64> {
            shift
                .as_ref()
                .map(|_| (days.iter().filter_map(f).sum::<f64>() * 10.0).round() / 10.0)
        };
        Ok(Mileage {
            vehicle_id,
            driver_id: v.driver_id,
            shift: shift.is_some(),
            km: (days.iter().map(|d| d.km).sum::<f64>() * 10.0).round() / 10.0,
            km_in_shift: sum(|d| d.km_in_shift),
            km_outside: sum(|d| d.km_outside),
            private_trips: shift
                .as_ref()
                .map(|_| days.iter().filter_map(|d| d.private_trips).sum()),
            days,
        })
    }

    /// How long a silent tracker takes to be offline (the installation's setting).
    pub fn set_vehicle_offline(&self, secs: u64) {
        let ms = i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX);
        self.fleet.offline_ms.store(ms, Ordering::Relaxed);
    }

    /// The organisation's territories changed: its vehicles judge by the new ones.
    pub async fn territories_changed(&self, org_id: i64) {
        self.vehicle_changed(org_id, 0).await;
    }

    /// Tells every node's actor of the vehicle (0: of all the organisation's) to read again.
    async fn vehicle_changed(&self, org_id: i64, vehicle_id: i64) {
        let e = Event {
            origin: 0,
            org_id,
            branch_id: 0,
            at: now_millis(),
            kind: EventKind::VehicleChanged { vehicle_id },
        };
        if let Err(err) = self.core.bus.publish(e).await {
            tracing::warn!(error = %err, "vehicle change not published; other nodes read it within a minute");
        }
    }

    /// Reloads the actors a `VehicleChanged` names, on this node.
    pub(crate) fn heard_vehicle_changed(&self, org_id: i64, vehicle_id: i64) {
        if vehicle_id == 0 {
            self.fleet.forget_territories(org_id);
            for (_, a) in self.vehicles.running() {
                a.do_send(Reload);
            }
        } else if let Some((_, a)) = self.vehicles.running().into_iter().find(|(id, _)| *id == vehicle_id) {
            a.do_send(Reload);
        }
    }
}

impl Hub {
    /// Starts the listener that has this node's vehicle actors read again when any node
    /// changes a vehicle or a territory.
    pub fn start_fleet(&self) {
        // Excursions stored before a crash, whose requests were not opened yet.
        let starting = self.clone();
        self.tasks().spawn(async move {
            match open_owed_requests(&starting.core, None).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(requests = n, "sensors: opened the requests owed from before the start"),
                Err(e) => {
                    tracing::warn!(error = %e, "sensors: owed requests not opened; the next excursion tries again")
                }
            }
            // Vehicles not told offline: each actor reads its track and sets its offline timer
            // (one that went silent while no node ran is told at once). One at a time, so a big
            // fleet's start is spread, not a stampede on the store.
            match starting.core.store.last_heard().await {
                Ok(rows) => {
                    for (id, _, last, offline_since) in rows {
                        if offline_since == Some(last) || starting.tasks().token().is_cancelled() {
                            continue;
                        }
                        if let Ok(Err(e)) = starting.vehicles.get(id).send(Take { fixes: Vec::new() }).await {
                            tracing::warn!(vehicle = id, error = %e, "vehicle not read at the start");
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "vehicles' last fixes not read; each is read at its next fix"),
            }
        });
        let hub = self.clone();
        self.tasks().supervise("fleet-changes", move || {
            let hub = hub.clone();
            async move {
                let mut rx = hub.bus().subscribe();
                let stop = hub.tasks().token();
                loop {
                    let heard = tokio::select! {
                        _ = stop.cancelled() => return,
                        e = rx.recv() => e,
                    };
                    match heard {
                        Ok(e) => {
                            if let EventKind::VehicleChanged { vehicle_id } = e.kind {
                                hub.heard_vehicle_changed(e.org_id, vehicle_id);
                            }
                        }
                        // Missed changes: every vehicle reads itself again.
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                            for (_, a) in hub.vehicles.running() {
                                a.do_send(Reload);
                            }
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                    }
                }
            }
        });
    }
}
