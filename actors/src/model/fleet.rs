//! A vehicle's rules taken together: each fix a tracker sends is judged (`track::judge`), and a
//! fix the track takes moves the vehicle's motion (trips, stops, speeding under the lowest
//! limit where it is), its presence in each territory (with hysteresis) and the frozen-receiver
//! watch. What comes out is what the vehicle's actor stores and tells. Pure: the actor replays
//! a stored track through it to stand where it stood before a restart.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::geo::{Area, Point};
use super::sensor::{SensorEvent, Threshold, Watch};
use super::track::{
    self, Crossing, Frozen, Hysteresis, Limits, Motion, MotionEvent, MotionRules, Presence, Seen, Verdict,
};
use super::Millis;

/// One fix as the core takes it from a tracker's bridge.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fix {
    pub at: Millis,
    pub lat: f64,
    pub lon: f64,
    pub speed_kmh: Option<f64>,
    pub course: Option<f64>,
    pub altitude: Option<f64>,
    pub satellites: Option<u8>,
    pub accuracy_m: Option<f64>,
    /// The device's readings by name (numbers, flags, text).
    pub io: serde_json::Map<String, Value>,
}

impl Fix {
    pub fn point(&self) -> Point {
        Point {
            lon: self.lon,
            lat: self.lat,
        }
    }

    fn seen(&self) -> Seen {
        Seen {
            at: self.at,
            point: self.point(),
            accuracy_m: self.accuracy_m,
            satellites: self.satellites,
        }
    }

    /// Whether the tracker says the vehicle moves: its speed, or the ignition on (Teltonika's
    /// element 239, or an `ignition` flag).
    fn says_moving(&self, r: &MotionRules) -> bool {
        let ignition = ["239", "ignition"]
            .iter()
            .filter_map(|k| self.io.get(*k))
            .any(|v| v.as_bool().unwrap_or_else(|| v.as_f64().is_some_and(|n| n > 0.0)));
        ignition || self.speed_kmh.is_some_and(|s| s >= r.moving_kmh)
    }
}

/// A territory as the vehicles see it.
#[derive(Debug, Clone)]
pub struct Territory {
    pub id: i64,
    pub area: Area,
    pub speed_limit_kmh: Option<f64>,
}

/// An organisation's territories with a grid over them: a fix is checked against the few whose
/// box (grown by the hysteresis margin) covers its cell, not against all of them (a thousand
/// territories cost a vehicle the same as one).
#[derive(Debug, Clone, Default)]
pub struct Territories {
    list: Vec<Territory>,
    by_id: HashMap<i64, usize>,
    cells: HashMap<(i32, i32), Vec<usize>>,
    /// Territories too big for the grid (a whole region): checked for every fix.
    everywhere: Vec<usize>,
}

/// A grid cell's side, degrees (about 11 km north to south).
const CELL_DEG: f64 = 0.1;
/// A territory covering more cells than this is checked everywhere instead.
const MAX_CELLS: i64 = 4_096;

fn cell(lon: f64, lat: f64) -> (i32, i32) {
    ((lon / CELL_DEG).floor() as i32, (lat / CELL_DEG).floor() as i32)
}

impl Territories {
    /// Indexes `list`; a territory's box is grown by `margin_m` (a fix that near is not clearly
    /// outside it).
    pub fn new(list: Vec<Territory>, margin_m: f64) -> Self {
        let mut t = Territories {
            by_id: list.iter().enumerate().map(|(i, t)| (t.id, i)).collect(),
            ..Territories::default()
        };
        for (i, ter) in list.iter().enumerate() {
            let [w, s, e, n] = ter.area.bbox();
            let widest = s.abs().max(n.abs()).min(89.0).to_radians().cos();
            let (dlat, dlon) = (
                margin_m * 1.01 / 111_000.0,
                margin_m * 1.01 / (111_000.0 * widest.max(0.01)),
            );
            let (x0, y0) = cell(w - dlon, s - dlat);
            let (x1, y1) = cell(e + dlon, n + dlat);
            if i64::from(x1 - x0 + 1) * i64::from(y1 - y0 + 1) > MAX_CELLS {
                t.everywhere.push(i);
                continue;
            }
            for x in x0..=x1 {
                for y in y0..=y1 {
                    t.cells.entry((x, y)).or_default().push(i);
                }
            }
        }
        t.list = list;
        t
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The territories a fix at `p` may be in or near.
    fn near(&self, p: Point) -> impl Iterator<Item = usize> + '_ {
        let here = self.cells.get(&cell(p.lon, p.lat)).map(Vec::as_slice).unwrap_or(&[]);
        here.iter().chain(self.everywhere.iter()).copied()
    }
}

/// A sensor on a vehicle (or a unit standing at a site): which reading it is, how raw values
/// become its unit (Teltonika's temperature element counts tenths of a degree), and its threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Sensor {
    pub id: i64,
    pub reading: String,
    pub scale: f64,
    pub threshold: Threshold,
}

impl Sensor {
    /// The sensor's value in a fix, when the fix carries it as a number (or a flag, as 0 or 1).
    fn value(&self, fix: &Fix) -> Option<f64> {
        let v = fix.io.get(&self.reading)?;
        let raw = v.as_f64().or_else(|| v.as_bool().map(|b| f64::from(u8::from(b))))?;
        Some(raw * self.scale)
    }
}

/// A speed limit above this is a typo.
const SPEED_LIMIT_MAX: f64 = 300.0;

/// A vehicle's or a territory's speed limit: none, or from 1 to 300 km/h.
pub fn speed_limit(field: &'static str, v: Option<f64>) -> Result<(), super::field::FieldError> {
    match v {
        Some(l) if !(l.is_finite() && l > 0.0 && l <= SPEED_LIMIT_MAX) => Err(super::field::FieldError::new(
            field,
            "range",
            serde_json::json!({ "min": 1, "max": SPEED_LIMIT_MAX }),
        )),
        _ => Ok(()),
    }
}

/// The bounds every vehicle of an installation is judged by.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Rules {
    pub limits: Limits,
    pub hysteresis: Hysteresis,
    pub motion: MotionRules,
    /// A receiver whose position stays put while the vehicle says it moves this long is frozen.
    pub frozen_ms: Millis,
    /// A vehicle whose last fix is this old is offline (Traccar's default status timeout).
    pub offline_ms: Millis,
}

impl Rules {
    pub fn standard() -> Self {
        Rules {
            frozen_ms: 10 * 60_000,
            offline_ms: 10 * 60_000,
            ..Rules::default()
        }
    }
}

/// What a fix told.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Told {
    TripStarted {
        at: Millis,
    },
    TripEnded {
        started: Millis,
        at: Millis,
        meters: f64,
    },
    Overspeed {
        at: Millis,
        kmh: f64,
        limit_kmh: f64,
    },
    TerritoryEntered {
        at: Millis,
        territory_id: i64,
    },
    TerritoryLeft {
        at: Millis,
        territory_id: i64,
    },
    /// The receiver stopped updating its position (since `at`).
    Frozen {
        at: Millis,
    },
    /// No fix since `since` for the rules' `offline_ms` (a tracker switched off, out of
    /// coverage, or its battery gone).
    Offline {
        since: Millis,
    },
    /// Heard again at `at` after being offline since `since`.
    Online {
        since: Millis,
        at: Millis,
    },
    /// A sensor past its threshold for the set time, since `since` (the excursion's key).
    SensorExcursion {
        sensor_id: i64,
        since: Millis,
        worst: f64,
    },
    /// Back on the right side at `at`.
    SensorBack {
        sensor_id: i64,
        since: Millis,
        at: Millis,
    },
}

impl Told {
    /// The event's kind, moment and subject: what makes it the same event twice.
    pub fn key(&self) -> (&'static str, Millis, i64) {
        match *self {
            Told::TripStarted { at } => ("trip_started", at, 0),
            Told::TripEnded { at, .. } => ("trip_ended", at, 0),
            Told::Overspeed { at, .. } => ("overspeed", at, 0),
            Told::TerritoryEntered { at, territory_id } => ("territory_entered", at, territory_id),
            Told::TerritoryLeft { at, territory_id } => ("territory_left", at, territory_id),
            Told::Frozen { at } => ("frozen", at, 0),
            // Offline once per silence: its key is the last fix before it.
            Told::Offline { since } => ("offline", since, 0),
            Told::Online { at, .. } => ("online", at, 0),
            Told::SensorExcursion { sensor_id, since, .. } => ("sensor_excursion", since, sensor_id),
            Told::SensorBack { sensor_id, at, .. } => ("sensor_back", at, sensor_id),
        }
    }

    /// Whether supervisors are told at once (a trip's start and end are for the reports).
    pub fn is_alert(&self) -> bool {
        !matches!(self, Told::TripStarted { .. } | Told::TripEnded { .. })
    }
}

/// A vehicle's state as its fixes made it.
#[derive(Debug, Clone, Default)]
pub struct Vehicle {
    last: Option<Seen>,
    pub motion: Motion,
    /// Only the territories the vehicle is in or near: once it has a first fix, a territory
    /// missing here is one it is clearly outside of (so 1,000 territories cost nothing per
    /// vehicle far from them).
    presence: HashMap<i64, Presence>,
    frozen: Frozen,
    sensors: HashMap<i64, Watch>,
    /// Offline told, and not heard since.
    offline: bool,
    /// When a fix was last received (a tracker emptying its memory of old fixes is heard now;
    /// a replayed track is heard when it was received).
    heard_at: Millis,
}

impl Vehicle {
    /// The last fix taken.
    pub fn last(&self) -> Option<&Seen> {
        self.last.as_ref()
    }

    /// Whether the vehicle is offline, as last told.
    pub fn is_offline(&self) -> bool {
        self.offline
    }

    /// The vehicle was told offline at its last fix before (a fresh actor learns it from the
    /// stored events, which a replay of fixes cannot tell).
    pub fn set_offline(&mut self) {
        self.offline = self.last.is_some();
    }

    /// When the vehicle goes offline if nothing is heard: the moment a fix was last received
    /// plus the rules' time (None before a first fix, or when already told).
    pub fn offline_at(&self, rules: &Rules) -> Option<Millis> {
        match &self.last {
            Some(_) if !self.offline && rules.offline_ms > 0 => Some(self.heard_at + rules.offline_ms),
            _ => None,
        }
    }

    /// At `now`, nothing heard: offline told once, when its time has come.
    pub fn silent(&mut self, now: Millis, rules: &Rules) -> Option<Told> {
        self.offline_at(rules)?;
        if !track::offline(Some(self.heard_at), now, rules.offline_ms) {
            return None;
        }
        self.offline = true;
        self.last.map(|l| Told::Offline { since: l.at })
    }

    /// Inside these territories, as last decided.
    pub fn inside(&self) -> Vec<i64> {
        let mut v: Vec<i64> = self
            .presence
            .iter()
            .filter(|(_, p)| p.inside == Some(true))
            .map(|(id, _)| *id)
            .collect();
        v.sort_unstable();
        v
    }

    /// Takes one fix at the server's `now`; `own_limit` the vehicle's speed limit.
    pub fn take(
        &mut self,
        fix: &Fix,
        now: Millis,
        own_limit: Option<f64>,
        territories: &Territories,
        rules: &Rules,
    ) -> (Verdict, Vec<Told>) {
        self.take_with(fix, now, own_limit, territories, &[], rules)
    }

    /// As [`Vehicle::take`], with the vehicle's sensors read from the fix's readings.
    pub fn take_with(
        &mut self,
        fix: &Fix,
        now: Millis,
        own_limit: Option<f64>,
        territories: &Territories,
        sensors: &[Sensor],
        rules: &Rules,
    ) -> (Verdict, Vec<Told>) {
        let seen = fix.seen();
        let verdict = track::judge(self.last.as_ref(), &seen, now, &rules.limits);
        // Any fix is a sign of life, even one set aside (a receiver without a position yet).
        self.heard_at = self.heard_at.max(now);
        if verdict != Verdict::Take {
            return (verdict, Vec::new());
        }
        let first = self.last.is_none();
        let before = self.last.replace(seen);
        let p = seen.point;
        let h = &rules.hysteresis;
        let mut told = Vec::new();
        if std::mem::take(&mut self.offline) {
            if let Some(b) = before {
                told.push(Told::Online {
                    since: b.at,
                    at: fix.at,
                });
            }
        }
        let mut limit = own_limit;
        // The territories near the fix, and those the vehicle is in or turning about (it may have
        // gone far from them since); in the list's order, so what one fix tells has one order.
        let mut near: Vec<usize> = territories.near(p).collect();
        self.presence.retain(|id, _| territories.by_id.contains_key(id));
        near.extend(self.presence.keys().filter_map(|id| territories.by_id.get(id).copied()));
        near.sort_unstable();
        near.dedup();
        for t in near.into_iter().map(|i| &territories.list[i]) {
            let side = t.area.side_beyond(p, h.margin_m);
            if side == Some(true) {
                if let Some(l) = t.speed_limit_kmh {
                    limit = Some(limit.map_or(l, |m: f64| m.min(l)));
                }
            }
            let presence = match self.presence.get_mut(&t.id) {
                Some(pr) => pr,
                // Clearly outside and not known otherwise: nothing to keep.
                None if side == Some(false) => continue,
                None => self.presence.entry(t.id).or_insert(if first {
                    Presence::default()
                } else {
                    Presence {
                        inside: Some(false),
                        turning_since: None,
                    }
                }),
            };
            match presence.take(side, fix.at, h) {
                Some(Crossing::Entered) => told.push(Told::TerritoryEntered {
                    at: fix.at,
                    territory_id: t.id,
                }),
                Some(Crossing::Left) => told.push(Told::TerritoryLeft {
                    at: fix.at,
                    territory_id: t.id,
                }),
                None => {}
            }
            if presence.inside == Some(false) && presence.turning_since.is_none() {
                self.presence.remove(&t.id);
            }
        }
        for e in self.motion.take(fix.at, p, fix.speed_kmh, limit, &rules.motion) {
            told.push(match e {
                MotionEvent::TripStarted { at } => Told::TripStarted { at },
                MotionEvent::TripEnded { started, at, meters } => Told::TripEnded {
                    started,
                    at,
                    meters: meters.round(),
                },
                MotionEvent::Overspeed { at, kmh, limit_kmh } => Told::Overspeed { at, kmh, limit_kmh },
            });
        }
        if self
            .frozen
            .take(fix.at, p, fix.says_moving(&rules.motion), rules.frozen_ms)
        {
            told.push(Told::Frozen { at: fix.at });
        }
        for s in sensors {
            let Some(v) = s.value(fix) else { continue };
            match self.sensors.entry(s.id).or_default().take(fix.at, v, &s.threshold) {
                Some(SensorEvent::Excursion { since, worst }) => told.push(Told::SensorExcursion {
                    sensor_id: s.id,
                    since,
                    worst: (worst * 10.0).round() / 10.0,
                }),
                Some(SensorEvent::Back { since, at }) => told.push(Told::SensorBack {
                    sensor_id: s.id,
                    since,
                    at,
                }),
                None => {}
            }
        }
        (verdict, told)
    }
}

/// Keeps the points of a track a map needs at `tolerance_m`: Douglas–Peucker, so a straight
/// road of a hundred fixes is two points and every bend stays.
pub fn simplify(points: &[Point], tolerance_m: f64) -> Vec<usize> {
    if points.len() <= 2 {
        return (0..points.len()).collect();
    }
    let mut keep = vec![false; points.len()];
    keep[0] = true;
    keep[points.len() - 1] = true;
    // An explicit stack: a day's track of 20,000 fixes would be deep recursion.
    let mut stack = vec![(0, points.len() - 1)];
    while let Some((a, b)) = stack.pop() {
        if b <= a + 1 {
            continue;
        }
        let (mut far, mut at) = (0.0, a);
        for i in a + 1..b {
            let d = super::geo::to_segment_m(points[i], points[a], points[b]);
            if d > far {
                (far, at) = (d, i);
            }
        }
        if far > tolerance_m {
            keep[at] = true;
            stack.push((a, at));
            stack.push((at, b));
        }
    }
    keep.iter().enumerate().filter(|(_, k)| **k).map(|(i, _)| i).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const T0: Millis = 1_765_000_000_000;

    fn fix(at: Millis, lat: f64, lon: f64, kmh: f64) -> Fix {
        Fix {
            at,
            lat,
            lon,
            speed_kmh: Some(kmh),
            course: None,
            altitude: None,
            satellites: Some(9),
            accuracy_m: Some(5.0),
            io: serde_json::Map::new(),
        }
    }

    /// A square about 10 km a side around Moscow's centre, with a town limit of 60.
    fn town() -> Territory {
        let v = json!({"type": "Polygon", "coordinates": [[[37.55, 55.70], [37.70, 55.70], [37.70, 55.79], [37.55, 55.79], [37.55, 55.70]]]});
        Territory {
            id: 7,
            area: Area::from_geojson("shape", &v).unwrap(),
            speed_limit_kmh: Some(60.0),
        }
    }

    #[test]
    fn offline_is_told_once_per_silence_and_online_when_heard_again() {
        let rules = Rules::standard();
        let mut v = Vehicle::default();
        assert_eq!(
            v.silent(T0 + 3_600_000, &rules),
            None,
            "no fix yet: nothing to be offline from"
        );
        drive(&mut v, &[fix(T0, 55.75, 37.6, 0.0)], None, &[]);
        assert_eq!(v.offline_at(&rules), Some(T0 + rules.offline_ms));
        assert_eq!(v.silent(T0 + rules.offline_ms - 1, &rules), None);
        assert_eq!(
            v.silent(T0 + rules.offline_ms, &rules),
            Some(Told::Offline { since: T0 })
        );
        assert_eq!(v.silent(T0 + 2 * rules.offline_ms, &rules), None, "told once");
        assert_eq!(v.offline_at(&rules), None);
        let back = T0 + 3_600_000;
        let told = drive(&mut v, &[fix(back, 55.75, 37.6, 0.0)], None, &[]);
        assert_eq!(told, vec![Told::Online { since: T0, at: back }]);
        assert!(!v.is_offline());
        // A fix older than the last one (a memory emptied late) is no sign of life now.
        v.silent(back + rules.offline_ms, &rules);
        let told = drive(&mut v, &[fix(back - 60_000, 55.75, 37.6, 0.0)], None, &[]);
        assert!(told.is_empty() && v.is_offline(), "{told:?}");
        // A fresh actor that replayed the track learns it from the stored event.
        let mut fresh = Vehicle::default();
        fresh.set_offline();
        assert!(!fresh.is_offline(), "no fix replayed: not offline");
        drive(&mut fresh, &[fix(back, 55.75, 37.6, 0.0)], None, &[]);
        fresh.set_offline();
        let told = drive(&mut fresh, &[fix(back + 5_000_000, 55.75, 37.6, 0.0)], None, &[]);
        assert_eq!(
            told,
            vec![Told::Online {
                since: back,
                at: back + 5_000_000
            }]
        );
    }

    fn drive(v: &mut Vehicle, fixes: &[Fix], own: Option<f64>, ts: &[Territory]) -> Vec<Told> {
        let rules = Rules::standard();
        let ts = Territories::new(ts.to_vec(), rules.hysteresis.margin_m);
        fixes.iter().flat_map(|f| v.take(f, f.at, own, &ts, &rules).1).collect()
    }

    #[test]
    fn leaving_and_entering_a_town_is_told_once_each_after_the_dwell() {
        let ts = [town()];
        let mut v = Vehicle::default();
        // Eastward along 55.75 from inside (37.65) to well outside (37.80) at 50 km/h, then back.
        let mut fixes = Vec::new();
        let step = 0.0008; // about 50 m: 50 km/h is 13.9 m/s, a fix every 3.6 s
        let mut at = T0;
        let mut lon = 37.65;
        while lon < 37.80 {
            fixes.push(fix(at, 55.75, lon, 50.0));
            lon += step;
            at += 3_600;
        }
        for _ in 0..60 {
            fixes.push(fix(at, 55.75, lon, 0.0));
            at += 5_000;
        }
        while lon > 37.65 {
            fixes.push(fix(at, 55.75, lon, 50.0));
            lon -= step;
            at += 3_600;
        }
        let told = drive(&mut v, &fixes, None, &ts);
        let crossings: Vec<_> = told
            .iter()
            .filter(|t| matches!(t, Told::TerritoryLeft { .. } | Told::TerritoryEntered { .. }))
            .collect();
        assert_eq!(crossings.len(), 2, "{told:?}");
        assert!(matches!(crossings[0], Told::TerritoryLeft { territory_id: 7, .. }));
        assert!(matches!(crossings[1], Told::TerritoryEntered { territory_id: 7, .. }));
        assert_eq!(v.inside(), vec![7]);
    }

    #[test]
    fn wandering_across_a_border_for_ten_minutes_raises_nothing() {
        let ts = [town()];
        let mut v = Vehicle::default();
        let mut fixes = vec![fix(T0, 55.75, 37.65, 0.0)];
        // Then parked on the eastern edge, ±30 m of drift, a fix every 5 s.
        for i in 1..=120 {
            let wobble = ((i * 37) % 61) as f64 / 30.0 - 1.0;
            fixes.push(fix(T0 + 600_000 + i * 5_000, 55.75, 37.70 + wobble * 0.00048, 0.0));
        }
        let told = drive(&mut v, &fixes, None, &ts);
        assert!(told.is_empty(), "{told:?}");
    }

    #[test]
    fn speeding_is_judged_by_the_lowest_limit_where_the_vehicle_is() {
        let ts = [town()];
        // 70 in town for a minute: over the town's 60, under the vehicle's own 90.
        let mut v = Vehicle::default();
        let fixes: Vec<Fix> = (0..13)
            .map(|i| fix(T0 + i * 5_000, 55.75, 37.60 + i as f64 * 0.0015, 70.0))
            .collect();
        let told = drive(&mut v, &fixes, Some(90.0), &ts);
        let over: Vec<_> = told.iter().filter(|t| matches!(t, Told::Overspeed { .. })).collect();
        assert_eq!(over.len(), 1, "{told:?}");
        assert!(matches!(over[0], Told::Overspeed { limit_kmh, .. } if *limit_kmh == 60.0));
        // The same outside town: only the vehicle's own limit, which 70 is under.
        let mut v = Vehicle::default();
        let fixes: Vec<Fix> = (0..13)
            .map(|i| fix(T0 + i * 5_000, 55.60, 37.60 + i as f64 * 0.0015, 70.0))
            .collect();
        let told = drive(&mut v, &fixes, Some(90.0), &ts);
        assert!(!told.iter().any(|t| matches!(t, Told::Overspeed { .. })), "{told:?}");
    }

    #[test]
    fn a_late_fix_is_kept_for_the_track_and_tells_nothing() {
        let rules = Rules::standard();
        let ts = Territories::new(vec![town()], rules.hysteresis.margin_m);
        let mut v = Vehicle::default();
        assert_eq!(
            v.take(&fix(T0, 55.75, 37.65, 0.0), T0, None, &ts, &rules).0,
            Verdict::Take
        );
        assert_eq!(
            v.take(&fix(T0 + 60_000, 55.75, 37.65, 0.0), T0, None, &ts, &rules).0,
            Verdict::Take
        );
        // A fix from well outside, stamped before the last one: late, and no territory event
        // however long ago it was.
        let (verdict, told) = v.take(&fix(T0 - 3_600_000, 55.75, 37.90, 0.0), T0, None, &ts, &rules);
        assert_eq!(verdict, Verdict::Late);
        assert!(told.is_empty());
        assert_eq!(v.inside(), vec![7]);
    }

    #[test]
    fn far_territories_cost_no_state() {
        let mut ts = vec![town()];
        for i in 0..1_000 {
            let (x, y) = (20.0 + (i % 40) as f64 * 0.5, 45.0 + (i / 40) as f64 * 0.5);
            let v = json!({"type": "Polygon", "coordinates": [[[x, y], [x + 0.1, y], [x + 0.1, y + 0.1], [x, y + 0.1], [x, y]]]});
            ts.push(Territory {
                id: 100 + i,
                area: Area::from_geojson("shape", &v).unwrap(),
                speed_limit_kmh: None,
            });
        }
        let mut v = Vehicle::default();
        drive(
            &mut v,
            &[fix(T0, 55.75, 37.65, 0.0), fix(T0 + 5_000, 55.75, 37.65, 0.0)],
            None,
            &ts,
        );
        assert_eq!(v.presence.len(), 1, "only the town it is in");
    }

    #[test]
    fn the_grid_finds_what_a_scan_of_all_would() {
        // Squares of several sizes (one wider than the grid takes), and vehicles crossing them:
        // the events told with the grid are those told checking every territory.
        let mut ts = Vec::new();
        for i in 0..60 {
            let (x, y, side) = (
                37.0 + (i % 10) as f64 * 0.07,
                55.5 + (i / 10) as f64 * 0.07,
                0.01 + (i % 4) as f64 * 0.02,
            );
            let v = json!({"type": "Polygon", "coordinates": [[[x, y], [x + side, y], [x + side, y + side], [x, y + side], [x, y]]]});
            ts.push(Territory {
                id: i + 1,
                area: Area::from_geojson("shape", &v).unwrap(),
                speed_limit_kmh: Some(40.0),
            });
        }
        let v = json!({"type": "Polygon", "coordinates": [[[20.0, 40.0], [60.0, 40.0], [60.0, 70.0], [20.0, 70.0], [20.0, 40.0]]]});
        ts.push(Territory {
            id: 999,
            area: Area::from_geojson("shape", &v).unwrap(),
            speed_limit_kmh: None,
        });
        let rules = Rules::standard();
        let grid = Territories::new(ts.clone(), rules.hysteresis.margin_m);
        assert_eq!(grid.everywhere, vec![60]);
        // One cell per territory at most here: every territory in the cells, as a scan would see.
        let mut scan = grid.clone();
        scan.cells.clear();
        scan.everywhere = (0..ts.len()).collect();
        for k in 0..20 {
            let (mut a, mut b) = (Vehicle::default(), Vehicle::default());
            let (mut ta, mut tb) = (Vec::new(), Vec::new());
            for s in 0..2_000i64 {
                let f = fix(
                    T0 + s * 5_000,
                    55.5 + k as f64 * 0.02 + s as f64 * 0.00005,
                    37.0 + s as f64 * 0.0004,
                    50.0,
                );
                ta.extend(a.take(&f, f.at, None, &grid, &rules).1);
                tb.extend(b.take(&f, f.at, None, &scan, &rules).1);
            }
            assert_eq!(ta, tb, "vehicle {k}");
            assert!(
                ta.iter().any(|t| matches!(t, Told::TerritoryEntered { .. })),
                "vehicle {k} crossed some"
            );
        }
    }

    #[test]
    fn a_frozen_receiver_is_told_once() {
        let mut v = Vehicle::default();
        let fixes: Vec<Fix> = (0..150).map(|i| fix(T0 + i * 5_000, 55.75, 37.65, 40.0)).collect();
        let told = drive(&mut v, &fixes, None, &[]);
        let frozen = told.iter().filter(|t| matches!(t, Told::Frozen { .. })).count();
        assert_eq!(frozen, 1, "{told:?}");
    }

    #[test]
    fn a_freezer_warm_for_the_set_time_is_one_excursion_in_its_unit() {
        use crate::model::sensor::Bound;
        // Teltonika's element 72: tenths of a degree. Above −15 °C for ten minutes.
        let freezer = Sensor {
            id: 3,
            reading: "72".into(),
            scale: 0.1,
            threshold: Threshold {
                bound: Bound::Above,
                value: -15.0,
                for_ms: 10 * 60_000,
            },
        };
        let mut v = Vehicle::default();
        let rules = Rules::standard();
        let mut told = Vec::new();
        for m in 0..30i64 {
            let mut f = fix(T0 + m * 60_000, 55.75, 37.65, 0.0);
            let tenths = if (5..20).contains(&m) { -80 } else { -180 };
            f.io.insert("72".into(), json!(tenths));
            told.extend(
                v.take_with(
                    &f,
                    f.at,
                    None,
                    &Territories::default(),
                    std::slice::from_ref(&freezer),
                    &rules,
                )
                .1,
            );
        }
        assert_eq!(
            told,
            [
                Told::SensorExcursion {
                    sensor_id: 3,
                    since: T0 + 5 * 60_000,
                    worst: -8.0
                },
                Told::SensorBack {
                    sensor_id: 3,
                    since: T0 + 5 * 60_000,
                    at: T0 + 20 * 60_000
                },
            ]
        );
        assert_eq!(told[0].key(), ("sensor_excursion", T0 + 5 * 60_000, 3));
    }

    #[test]
    fn simplify_keeps_the_bends_and_drops_the_straight() {
        let mut pts = Vec::new();
        for i in 0..100 {
            pts.push(Point {
                lon: 37.0 + i as f64 * 0.001,
                lat: 55.0,
            });
        }
        for i in 1..100 {
            pts.push(Point {
                lon: 37.099,
                lat: 55.0 + i as f64 * 0.001,
            });
        }
        let kept = simplify(&pts, 5.0);
        assert_eq!(kept, vec![0, 99, 198]);
        assert_eq!(simplify(&pts[..2], 5.0), vec![0, 1]);
        assert!(simplify(&[], 5.0).is_empty());
    }
}
