//! VehicleActor: one per vehicle whose tracker reports. It holds the vehicle's state as its
//! track made it (`model::fleet::Vehicle`), judges each batch of fixes a bridge hands it, has
//! the node's track writer store the fixes and what they told, and only then answers (a
//! tracker's acknowledgement means stored) and publishes. Started afresh, it replays the last
//! half hour of its stored track to stand where it stood; the events that replay tells again
//! are already stored and are not told twice.
//!
//! A timer waits for the moment the vehicle would be offline; when it fires it is set again if
//! the vehicle was heard since, else the actor looks in the store (its tracker may report to
//! another node now) and, still silent, tells it offline once.

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use serde::Serialize;

use crate::bus::{Event, EventKind};
use crate::error::Result;
use crate::fleet::Fleet;
use crate::model::arrival::{self, Notice, Speeds, VisitSoFar, VisitStep};
use crate::model::fleet::{Fix, Sensor, Told, Vehicle};
use crate::model::track::{Verdict, Why};
use crate::model::{now_millis, Millis};
use crate::store::fleet::{EventRow, FixRow};
use crate::store::visits::{ActiveVisit, Step};
use crate::Core;

/// How much of the stored track a fresh actor replays: longer than any rule's waiting time
/// (a stop's three minutes, a territory's dwell, a frozen receiver's ten minutes).
const REPLAY_MS: Millis = 30 * 60_000;

/// How far back a fresh actor learns the vehicle's speeds from its trips.
const LEARN_FROM_MS: Millis = 28 * 24 * 3_600_000;

/// A vehicle's position is published at most this often (the map needs no more); the last one
/// held back goes out when the time is up.
const PUBLISH_EVERY_MS: Millis = 1_000;

pub struct VehicleActor {
    core: Core,
    fleet: Arc<Fleet>,
    id: i64,
    state: Option<Loaded>,
    offline_timer: Option<SpawnHandle>,
}

struct Loaded {
    org_id: i64,
    own_limit: Option<f64>,
    sensors: Vec<Sensor>,
    vehicle: Vehicle,
    /// The moment of the last position published.
    published_fix_at: Millis,
    /// The field visit it is on, if any, and the speeds it makes by hour (for estimates).
    visit: Option<ActiveVisit>,
    speeds: Speeds,
    published_at: Millis,
    /// A position held back by the once-a-second rule, published when the second is up (so
    /// the map ends where the vehicle is, not where it was a fix ago).
    held: Option<Fix>,
}

/// Fixes from a tracker, in the order it sent them.
#[derive(Message, Debug)]
#[rtype(result = "Result<Taken>")]
pub struct Take {
    pub fixes: Vec<Fix>,
}

/// What became of a batch: every fix is stored or refused by the time this is answered.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Taken {
    pub stored: usize,
    pub refused: Vec<(Millis, Why)>,
    pub told: Vec<Told>,
}

/// The offline timer fired: read the vehicle afresh and tell it offline if still silent.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
struct Silent;

/// The vehicle's settings or its organisation's territories changed: read them again.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct Reload;

impl VehicleActor {
    pub fn new(core: Core, fleet: Arc<Fleet>, id: i64) -> Self {
        Self {
            core,
            fleet,
            id,
            state: None,
            offline_timer: None,
        }
    }
}

impl Actor for VehicleActor {
    type Context = Context<Self>;
}

impl VehicleActor {
    fn publish(&self, events: Vec<Event>) {
        if events.is_empty() {
            return;
        }
        let bus = self.core.bus.clone();
        actix::spawn(async move {
            for e in events {
                if let Err(err) = bus.publish(e).await {
                    tracing::warn!(error = %err, "vehicle event not published");
                }
            }
        });
    }

    /// Sets the timer for the moment the vehicle goes offline if nothing is heard before (or
    /// for `at`, given).
    fn arm_offline(&mut self, ctx: &mut Context<Self>, at: Option<Millis>) {
        if let Some(h) = self.offline_timer.take() {
            ctx.cancel_future(h);
        }
        let rules = self.fleet.rules();
        let Some(at) = at.or_else(|| self.state.as_ref().and_then(|st| st.vehicle.offline_at(&rules))) else {
            return;
        };
        let wait = Duration::from_millis((at - now_millis()).max(0) as u64);
        self.offline_timer = Some(ctx.run_later(wait, |_, ctx| ctx.notify(Silent)));
    }

    fn publish_held(&mut self) {
        let id = self.id;
        let Some(st) = self.state.as_mut() else { return };
        let Some(f) = st.held.take() else { return };
        let now = now_millis();
        st.published_at = now;
        st.published_fix_at = f.at;
        let e = moved(st.org_id, id, &f, now);
        self.publish(vec![e]);
    }
}

impl Handler<Reload> for VehicleActor {
    type Result = ();

    fn handle(&mut self, _: Reload, _: &mut Context<Self>) {
        self.state = None;
    }
}

impl Handler<Silent> for VehicleActor {
    type Result = AtomicResponse<Self, ()>;

    fn handle(&mut self, _: Silent, ctx: &mut Context<Self>) -> Self::Result {
        let (core, fleet, id) = (self.core.clone(), self.fleet.clone(), self.id);
        self.offline_timer = None;
        // Heard since the timer was set: set it again, nothing to read.
        let rules = fleet.rules();
        if let Some(at) = self.state.as_ref().and_then(|st| st.vehicle.offline_at(&rules)) {
            if at > now_millis() {
                self.arm_offline(ctx, Some(at));
                return AtomicResponse::new(Box::pin(actix::fut::ready(())));
            }
        }
        let kept = self.state.take();
        AtomicResponse::new(Box::pin(
            async move {
                let heard = core.store.last_fix_heard(id).await?;
                let st = match kept {
                    // Its tracker reports to another node now (fixes this actor never took):
                    // that node's actor watches it; this one looks again when those fixes
                    // would go silent, reading nothing more until then.
                    Some(st) if heard.is_some_and(|(at, _)| st.vehicle.last().is_none_or(|l| l.at < at)) => {
                        let (_, received) = heard.unwrap_or_default();
                        return Ok(Watch::Elsewhere(received + fleet.rules().offline_ms));
                    }
                    Some(st) => st,
                    None => load(&core, &fleet, id).await?,
                };
                let now = now_millis();
                let mut st = st;
                if let Some(told) = st.vehicle.silent(now, &fleet.rules()) {
                    tell_silence(&core, &st, id, told, now).await?;
                }
                Ok::<_, crate::error::Error>(Watch::Here(st))
            }
            .into_actor(self)
            .map(|res, act, ctx| match res {
                Ok(Watch::Here(st)) => {
                    act.state = Some(st);
                    act.arm_offline(ctx, None);
                }
                Ok(Watch::Elsewhere(at)) => act.arm_offline(ctx, Some(at)),
                // The vehicle was removed: nothing to watch.
                Err(crate::error::Error::NotFound(_)) => ctx.stop(),
                // A store that failed now: said in the log, and tried again in a minute.
                Err(e) => {
                    tracing::warn!(vehicle = act.id, error = %e, "offline not judged; trying again in a minute");
                    act.arm_offline(ctx, Some(now_millis() + 60_000));
                }
            }),
        ))
    }
}

/// Where a vehicle's silence is watched from after its timer fired.
enum Watch {
    Here(Loaded),
    /// Another node took its latest fixes: look again at this moment.
    Elsewhere(Millis),
}

impl Handler<Take> for VehicleActor {
    type Result = AtomicResponse<Self, Result<Taken>>;

    fn handle(&mut self, msg: Take, _: &mut Context<Self>) -> Self::Result {
        let (core, fleet, id) = (self.core.clone(), self.fleet.clone(), self.id);
        let state = self.state.take();
        AtomicResponse::new(Box::pin(
            async move {
                let mut st = match state {
                    Some(st) => st,
                    None => load(&core, &fleet, id).await?,
                };
                let taken = take(&core, &fleet, id, &mut st, msg.fixes).await?;
                Ok((st, taken))
            }
            .into_actor(self)
            .map(|res: Result<(Loaded, (Taken, Option<Fix>))>, act, ctx| match res {
                Ok((mut st, (taken, last))) => {
                    let now = now_millis();
                    let mut events = alerts(st.org_id, act.id, &taken, now);
                    if let Some(f) = last {
                        // Paced by the fixes' own moments: a tracker reporting every few seconds
                        // is shown at once however late its fixes are processed; one emptying its
                        // memory is shown once a second.
                        let wait = st.published_at + PUBLISH_EVERY_MS - now;
                        if f.at - st.published_fix_at >= PUBLISH_EVERY_MS || wait <= 0 {
                            st.published_at = now;
                            st.published_fix_at = f.at;
                            st.held = None;
                            events.push(moved(st.org_id, act.id, &f, now));
                        } else {
                            if st.held.is_none() {
                                ctx.run_later(Duration::from_millis(wait as u64), |act, _| act.publish_held());
                            }
                            st.held = Some(f);
                        }
                    }
                    act.state = Some(st);
                    // One timer, set once: when it fires it looks whether the vehicle was
                    // heard since (a fix costs no timer).
                    if act.offline_timer.is_none() {
                        act.arm_offline(ctx, None);
                    }
                    act.publish(events);
                    Ok(taken)
                }
                // Nothing is acknowledged: the tracker sends again, and a state that may have
                // moved past fixes not stored is read again from the track.
                Err(e) => Err(e),
            }),
        ))
    }
}

/// Reads the vehicle and replays its recent track.
async fn load(core: &Core, fleet: &Fleet, id: i64) -> Result<Loaded> {
    let v = core.store.vehicle_by_id(id).await?;
    let territories = fleet.territories(&core.store, v.org_id).await?;
    let sensors = core.store.vehicle_sensors(id).await?;
    let rules = fleet.rules();
    let mut vehicle = Vehicle::default();
    if let Some(last) = core.store.last_fix_at(id).await? {
        // Judged as when they came (a fix from the future then is one now, and the moment the
        // tracker was last heard is when its last fix came).
        for (f, received) in core.store.fixes_since(id, last - REPLAY_MS).await? {
            vehicle.take_with(&f, received, v.speed_limit_kmh, &territories, &sensors, &rules);
        }
        if core.store.offline_since(id).await? == Some(last) {
            vehicle.set_offline();
        }
    }
    let visit = core.store.active_visit(id).await?;
    // The speeds it makes by hour, from its trips of the last weeks.
    let mut speeds = Speeds::default();
    let tz = visit.as_ref().map_or("Europe/Moscow", |v| v.timezone.as_str());
    let now = now_millis();
    for t in core.store.trips(id, now - LEARN_FROM_MS, now).await? {
        learn(&mut speeds, t.started, t.ended, t.meters, tz);
    }
    Ok(Loaded {
        org_id: v.org_id,
        own_limit: v.speed_limit_kmh,
        sensors,
        visit,
        speeds,
        vehicle,
        published_at: 0,
        published_fix_at: 0,
        held: None,
    })
}

/// Judges the fixes, stores those taken and what they told, and answers with the last fix taken.
async fn take(core: &Core, fleet: &Fleet, id: i64, st: &mut Loaded, fixes: Vec<Fix>) -> Result<(Taken, Option<Fix>)> {
    let territories = fleet.territories(&core.store, st.org_id).await?;
    let rules = fleet.rules();
    let now = now_millis();
    let mut taken = Taken::default();
    let mut rows = Vec::with_capacity(fixes.len());
    let mut last = None;
    let mut taken_fixes = Vec::new();
    for f in fixes {
        let (verdict, told) = st
            .vehicle
            .take_with(&f, now, st.own_limit, &territories, &st.sensors, &rules);
        match verdict {
            Verdict::Refuse { why } => {
                taken.refused.push((f.at, why));
                continue;
            }
            Verdict::Take => {
                last = Some(f.clone());
                taken_fixes.push(f.clone());
            }
            Verdict::Late => {}
        }
        taken.told.extend(told);
        rows.push(FixRow {
            vehicle_id: id,
            late: verdict == Verdict::Late,
            fix: f,
            received_at: now,
        });
    }
    let events: Vec<EventRow> = taken
        .told
        .iter()
        .map(|t| EventRow {
            org_id: st.org_id,
            vehicle_id: id,
            told: *t,
        })
        .collect();
    taken.stored = rows.len();
    let excursion = taken.told.iter().any(|t| matches!(t, Told::SensorExcursion { .. }));
    fleet.writer.write(rows, events).await?;
    // Stored: the request an excursion owes is opened before the tracker hears "stored" (and,
    // after a crash in between, at the next start).
    if excursion {
        if let Err(e) = crate::fleet::open_owed_requests(core, Some(id)).await {
            tracing::warn!(vehicle = id, error = %e, "a sensor's request is owed; the next start opens it");
        }
    }
    for t in &taken.told {
        if let Told::TripEnded { started, at, meters } = *t {
            let tz = st.visit.as_ref().map_or("Europe/Moscow", |v| v.timezone.as_str());
            learn(&mut st.speeds, started, at, meters, tz);
        }
    }
    if let Some(v) = &st.visit {
        let alerts: Vec<Told> = taken.told.iter().filter(|t| t.is_alert()).copied().collect();
        on_request(core, st.org_id, v.visit.request_id, id, &alerts).await;
    }
    if st.visit.is_some() {
        for f in &taken_fixes {
            follow_visit(core, st, f, now).await?;
        }
    }
    Ok((taken, last))
}

/// A silence stored (once, whichever node or start tells it), then told to supervisors and on
/// the request the vehicle is on its way to.
async fn tell_silence(core: &Core, st: &Loaded, id: i64, told: Told, now: Millis) -> Result<()> {
    let row = EventRow {
        org_id: st.org_id,
        vehicle_id: id,
        told,
    };
    if !core.store.add_vehicle_event(&row).await? {
        return Ok(());
    }
    let taken = Taken {
        told: vec![told],
        ..Taken::default()
    };
    for e in alerts(st.org_id, id, &taken, now) {
        if let Err(err) = core.bus.publish(e).await {
            tracing::warn!(error = %err, "vehicle event not published");
        }
    }
    if let Some(v) = &st.visit {
        on_request(core, st.org_id, v.visit.request_id, id, &[told]).await;
    }
    Ok(())
}

/// Alerts of a vehicle on a field visit go into the request's history, and its card refreshes.
async fn on_request(core: &Core, org_id: i64, request_id: i64, vehicle_id: i64, alerts: &[Told]) {
    if alerts.is_empty() {
        return;
    }
    if let Err(e) = core.store.note_vehicle_alerts(request_id, vehicle_id, alerts).await {
        tracing::warn!(request = request_id, error = %e, "a vehicle's alert not noted on its request");
        return;
    }
    if let Ok(r) = core.store.request(org_id, request_id).await {
        crate::desk::desk_event(
            core,
            org_id,
            EventKind::RequestChanged {
                request_id,
                status: r.status.clone(),
                group_id: r.group_id,
                assignee_id: r.assignee_id,
            },
        )
        .await;
    }
}

/// A trip's average speed, learned for the hour it began in.
fn learn(speeds: &mut Speeds, started: Millis, ended: Millis, meters: f64, tz: &str) {
    if ended > started {
        speeds.learn(
            local_hour(started, tz),
            meters / 1000.0 / ((ended - started) as f64 / 3_600_000.0),
        );
    }
}

fn local_hour(at: Millis, tz: &str) -> u8 {
    let zone = jiff::tz::TimeZone::get(tz).unwrap_or(jiff::tz::TimeZone::UTC);
    jiff::Timestamp::from_millisecond(at)
        .map(|t| t.to_zoned(zone).hour() as u8)
        .unwrap_or(0)
}

fn local_clock(at: Millis, tz: &str) -> String {
    let zone = jiff::tz::TimeZone::get(tz).unwrap_or(jiff::tz::TimeZone::UTC);
    jiff::Timestamp::from_millisecond(at)
        .map(|t| t.to_zoned(zone).strftime("%H:%M").to_string())
        .unwrap_or_default()
}

/// A fix of a vehicle on a field visit: arrival at the site, leaving it (the time on site logged
/// as work), or the estimate told to the customer and told again when it moves.
async fn follow_visit(core: &Core, st: &mut Loaded, f: &Fix, now: Millis) -> Result<()> {
    let Some(v) = st.visit.as_mut() else { return Ok(()) };
    let so_far = VisitSoFar {
        eta_told: v.visit.eta_told,
        told_at: v.visit.told_at,
        arrived: v.visit.arrived_at.is_some(),
    };
    let hour = local_hour(f.at, &v.timezone);
    let Some(next) = arrival::visit_step(&so_far, f.at, f.point(), f.accuracy_m, v.site, now, hour, &st.speeds) else {
        return Ok(());
    };
    let (lang, request_id) = (v.lang.clone(), v.visit.request_id);
    let (step, notice) = match next {
        VisitStep::Arrived { tell } => (
            Step::Arrived { at: f.at },
            tell.then(|| Notice::Arrived { engineer: &v.engineer }.text(&lang, request_id)),
        ),
        VisitStep::Tell { eta, first } => {
            let clock = local_clock(eta, &v.timezone);
            let (engineer, clock) = (v.engineer.as_str(), clock.as_str());
            let n = if first {
                Notice::OnTheWay { engineer, clock }
            } else {
                Notice::Moved { engineer, clock }
            };
            (Step::Told { eta, at: f.at }, Some(n.text(&lang, request_id)))
        }
        VisitStep::Left => (Step::Left { at: f.at }, None),
    };
    let activity = if lang == "en" { "On site" } else { "На объекте" };
    let done = core.store.visit_step(v, step, notice.as_deref(), activity).await?;
    match step {
        Step::Told { eta, at } => {
            v.visit.eta_told = Some(eta);
            v.visit.told_at = Some(at);
        }
        Step::Arrived { at } => v.visit.arrived_at = Some(at),
        Step::Left { .. } => st.visit = None,
    }
    if let Some(Some((conversation_id, message_id))) = done {
        crate::actors::ticket::announce_message(core, st.org_id, conversation_id, message_id).await;
    }
    Ok(())
}

fn event(org_id: i64, now: Millis, kind: EventKind) -> Event {
    Event {
        origin: 0,
        org_id,
        branch_id: 0,
        at: now,
        kind,
    }
}

/// What a stored batch told that supervisors hear at once.
fn alerts(org_id: i64, id: i64, taken: &Taken, now: Millis) -> Vec<Event> {
    taken
        .told
        .iter()
        .filter(|t| t.is_alert())
        .map(|t| {
            event(
                org_id,
                now,
                EventKind::VehicleAlert {
                    vehicle_id: id,
                    alert: serde_json::to_value(t).unwrap_or_default(),
                },
            )
        })
        .collect()
}

fn moved(org_id: i64, id: i64, f: &Fix, now: Millis) -> Event {
    event(
        org_id,
        now,
        EventKind::VehicleMoved {
            vehicle_id: id,
            fix_at: f.at,
            lat: f.lat,
            lon: f.lon,
            speed_kmh: f.speed_kmh,
            course: f.course,
        },
    )
}
