//! Which fixes a vehicle's track takes. A tracker sends what its receiver had: no fix at all
//! (0, 0), a fix from a clock gone wrong (the future), one seen by too few satellites or too
//! coarse to place the car, the same fix twice, or a jump no car makes. Those are set aside
//! with the reason. A fix older than the last one taken (a tracker emptying its memory after a
//! tunnel) is stored for the track's history but raises no event: the vehicle's state moved on.

use serde::Serialize;

use super::geo::Point;
use super::Millis;

/// The bounds a fix is judged by.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// How far ahead of the server's clock a fix may be stamped.
    pub future_ms: Millis,
    /// The coarsest horizontal accuracy taken, in metres.
    pub accuracy_m: f64,
    /// The fewest satellites a fix may be made from, where the tracker says.
    pub satellites: u8,
    /// The implied speed from the last fix beyond which a fix is a jump, km/h.
    pub jump_kmh: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            future_ms: 5 * 60_000,
            accuracy_m: 100.0,
            satellites: 3,
            jump_kmh: 300.0,
        }
    }
}

/// What a fix is, for the filter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Seen {
    pub at: Millis,
    pub point: Point,
    pub accuracy_m: Option<f64>,
    pub satellites: Option<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// The track's new last fix: its events are worked out.
    Take,
    /// Older than the last fix taken: stored, no events.
    Late,
    /// Set aside, with why.
    Refuse { why: Why },
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Why {
    /// Latitude or longitude off the globe, or not a number.
    Invalid,
    /// (0, 0): the receiver had no fix.
    NoFix,
    Future,
    Inaccurate,
    /// The same moment as the last fix taken.
    Duplicate,
    /// Too far from the last fix for the time between them.
    Jump {
        kmh: f64,
    },
}

/// Judges `fix` against the last fix the track took (if any) and the server's `now`.
pub fn judge(last: Option<&Seen>, fix: &Seen, now: Millis, limits: &Limits) -> Verdict {
    let refuse = |why| Verdict::Refuse { why };
    let p = fix.point;
    if !(p.lat.is_finite() && p.lon.is_finite() && p.lat.abs() <= 90.0 && p.lon.abs() <= 180.0) {
        return refuse(Why::Invalid);
    }
    if p.lat.abs() < 1e-6 && p.lon.abs() < 1e-6 {
        return refuse(Why::NoFix);
    }
    if fix.at > now.saturating_add(limits.future_ms) {
        return refuse(Why::Future);
    }
    let coarse = fix
        .accuracy_m
        .is_some_and(|a| !(a.is_finite() && a <= limits.accuracy_m));
    if coarse || fix.satellites.is_some_and(|s| s < limits.satellites) {
        return refuse(Why::Inaccurate);
    }
    let Some(last) = last else {
        return Verdict::Take;
    };
    if fix.at == last.at {
        return refuse(Why::Duplicate);
    }
    if fix.at < last.at {
        return Verdict::Late;
    }
    let hours = (fix.at - last.at) as f64 / 3_600_000.0;
    let kmh = last.point.distance_m(p) / 1000.0 / hours;
    if kmh > limits.jump_kmh {
        return refuse(Why::Jump { kmh: kmh.round() });
    }
    Verdict::Take
}

/// How a vehicle's presence in a territory changes without flapping on GPS drift: a fix counts
/// only when it is clearly on one side (`margin_m` from every edge), and the other side must
/// hold for `dwell_ms` before the vehicle is said to have entered or left (Traccar's geofences
/// flap on drift: traccar#6019, #2189, #3609).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hysteresis {
    pub margin_m: f64,
    pub dwell_ms: Millis,
}

impl Default for Hysteresis {
    fn default() -> Self {
        Hysteresis {
            margin_m: 50.0,
            dwell_ms: 2 * 60_000,
        }
    }
}

/// A vehicle's presence in one territory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Presence {
    /// Inside as last decided; None before the first clear fix.
    pub inside: Option<bool>,
    /// Since when the fixes have been clearly on the other side.
    pub turning_since: Option<Millis>,
}

/// What a fix did to a presence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Crossing {
    Entered,
    Left,
}

impl Presence {
    /// Takes a fix at `at` that is clearly inside (Some(true)), clearly outside (Some(false)) or
    /// near an edge (None, which changes nothing); answers a crossing once the other side held
    /// for the dwell time. The first clear fix sets the presence without a crossing.
    pub fn take(&mut self, side: Option<bool>, at: Millis, h: &Hysteresis) -> Option<Crossing> {
        let side = side?;
        let Some(inside) = self.inside else {
            self.inside = Some(side);
            return None;
        };
        if side == inside {
            self.turning_since = None;
            return None;
        }
        let since = *self.turning_since.get_or_insert(at);
        if at - since < h.dwell_ms {
            return None;
        }
        self.inside = Some(side);
        self.turning_since = None;
        Some(if side { Crossing::Entered } else { Crossing::Left })
    }
}

/// When a vehicle is said to move, stop and speed: a state holds only when it has lasted, so a
/// traffic light is not a stop and a jolt is not a trip.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MotionRules {
    /// At or above this the vehicle moves.
    pub moving_kmh: f64,
    /// Moving this long starts a trip (from when it began to move).
    pub min_move_ms: Millis,
    /// Still this long ends a trip (at when it stopped).
    pub min_stop_ms: Millis,
    /// Over the limit this long is speeding.
    pub overspeed_ms: Millis,
}

impl Default for MotionRules {
    fn default() -> Self {
        MotionRules {
            moving_kmh: 5.0,
            min_move_ms: 30_000,
            min_stop_ms: 3 * 60_000,
            overspeed_ms: 30_000,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum MotionEvent {
    TripStarted {
        at: Millis,
    },
    TripEnded {
        started: Millis,
        at: Millis,
        meters: f64,
    },
    /// Over the limit for the set time: told once an excursion, with the top speed so far.
    Overspeed {
        at: Millis,
        kmh: f64,
        limit_kmh: f64,
    },
}

/// A vehicle's motion as its fixes tell it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Motion {
    pub moving: bool,
    /// The other state, and since when it has been seen.
    pending: Option<(bool, Millis)>,
    last: Option<(Millis, Point)>,
    /// The trip under way: when it began and the metres so far (those of the moments before it
    /// was sure included).
    trip: Option<(Millis, f64)>,
    /// Metres covered since the vehicle began to move, before the trip was sure.
    moved_m: f64,
    /// Speeding since, the top speed, and whether it was told.
    over: Option<(Millis, f64, bool)>,
}

impl Motion {
    /// Takes a fix the track took (in order); `kmh` the tracker's speed (else the speed from the
    /// last fix), `limit_kmh` the limit where the vehicle is.
    pub fn take(
        &mut self,
        at: Millis,
        point: Point,
        kmh: Option<f64>,
        limit_kmh: Option<f64>,
        r: &MotionRules,
    ) -> Vec<MotionEvent> {
        let mut out = Vec::new();
        let step_m = self.last.map_or(0.0, |(_, p)| p.distance_m(point));
        let speed = kmh.unwrap_or_else(|| match self.last {
            Some((t, _)) if at > t => step_m / 1000.0 / ((at - t) as f64 / 3_600_000.0),
            _ => 0.0,
        });
        self.last = Some((at, point));
        let moving = speed >= r.moving_kmh;
        if let Some((_, m)) = self.trip.as_mut() {
            *m += step_m;
        } else if moving || self.pending.is_some_and(|(m, _)| m) {
            self.moved_m += step_m;
        }
        if moving == self.moving {
            self.pending = None;
            if !moving {
                self.moved_m = 0.0;
            }
        } else {
            let since = match self.pending {
                Some((m, since)) if m == moving => since,
                _ => {
                    self.pending = Some((moving, at));
                    at
                }
            };
            let needed = if moving { r.min_move_ms } else { r.min_stop_ms };
            if at - since >= needed {
                self.moving = moving;
                self.pending = None;
                if moving {
                    self.trip = Some((since, self.moved_m));
                    self.moved_m = 0.0;
                    out.push(MotionEvent::TripStarted { at: since });
                } else if let Some((started, meters)) = self.trip.take() {
                    out.push(MotionEvent::TripEnded {
                        started,
                        at: since,
                        meters,
                    });
                }
            }
        }
        match limit_kmh.filter(|l| speed > *l) {
            Some(limit) => {
                let (since, top, told) = self.over.get_or_insert((at, speed, false));
                *top = top.max(speed);
                if !*told && at - *since >= r.overspeed_ms {
                    *told = true;
                    out.push(MotionEvent::Overspeed {
                        at: *since,
                        kmh: top.round(),
                        limit_kmh: limit,
                    });
                }
            }
            None => self.over = None,
        }
        out
    }
}

/// How much of a trip fell outside the driver's shift (private use of a company car, or work
/// in a private one): the trip's time less its time in the shift's open hours.
pub fn outside_shift_ms(
    started: Millis,
    ended: Millis,
    shift: &super::schedule::Calendar,
    tz: &jiff::tz::TimeZone,
) -> Millis {
    let ts = |ms: Millis| jiff::Timestamp::from_millisecond(ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let (a, b) = (ts(started), ts(ended));
    if b <= a {
        return 0;
    }
    let inside = shift.working_between(a, b, tz).as_millis() as Millis;
    (ended - started - inside).max(0)
}

/// A tracker gone quiet: nothing heard for `after_ms` or longer.
pub fn offline(last_at: Option<Millis>, now: Millis, after_ms: Millis) -> bool {
    last_at.is_none_or(|t| now - t >= after_ms)
}

/// A frozen receiver: the tracker reports, but its position has not changed by a bit while it
/// says the vehicle moves (speed, or the ignition on) for `after_ms`. A parked car's position
/// drifts by a few metres, or is held still by a tracker that says it is parked; the same
/// coordinates from a car that says it drives are a receiver that stopped updating.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Frozen {
    same: Option<(Point, Millis)>,
    /// Since when, at this same point, the tracker has said the vehicle moves.
    claims_since: Option<Millis>,
    told: bool,
}

impl Frozen {
    /// Takes a fix; true once when the receiver is found frozen (again after it thawed).
    pub fn take(&mut self, at: Millis, point: Point, says_moving: bool, after_ms: Millis) -> bool {
        match self.same {
            Some((p, _)) if p == point => {}
            _ => {
                *self = Frozen {
                    same: Some((point, at)),
                    ..Frozen::default()
                };
            }
        }
        if !says_moving {
            self.claims_since = None;
            return false;
        }
        let since = *self.claims_since.get_or_insert(at);
        if !self.told && at - since >= after_ms {
            self.told = true;
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Millis = 1_765_000_000_000;

    fn seen(at: Millis, lat: f64, lon: f64) -> Seen {
        Seen {
            at,
            point: Point { lon, lat },
            accuracy_m: Some(5.0),
            satellites: Some(9),
        }
    }

    /// A square territory around Moscow's centre, about 10 km a side.
    fn square() -> super::super::geo::Area {
        let v = serde_json::json!({"type": "Polygon", "coordinates": [[[37.55, 55.70], [37.70, 55.70], [37.70, 55.79], [37.55, 55.79], [37.55, 55.70]]]});
        super::super::geo::Area::from_geojson("shape", &v).unwrap()
    }

    #[test]
    fn drift_across_a_border_raises_nothing() {
        let area = square();
        let h = Hysteresis::default();
        let mut p = Presence::default();
        // Parked on the eastern border (37.70), wandering ±30 m across it for ten minutes, a fix
        // every 5 s: 30 m of longitude here is about 0.00048°.
        let mut crossings = Vec::new();
        for i in 0..120 {
            let wobble = ((i * 37) % 61) as f64 / 30.0 - 1.0; // -1 ..= 1
            let fix = Point {
                lon: 37.70 + wobble * 0.00048,
                lat: 55.75,
            };
            crossings.extend(p.take(area.side_beyond(fix, h.margin_m), NOW + i * 5_000, &h));
        }
        assert!(crossings.is_empty(), "{crossings:?}");
        assert_eq!(p.inside, None, "never clearly on either side");
    }

    #[test]
    fn a_real_crossing_is_told_once_after_the_dwell() {
        let area = square();
        let h = Hysteresis::default();
        let mut p = Presence::default();
        let inside = Point { lon: 37.65, lat: 55.75 };
        let outside = Point { lon: 37.72, lat: 55.75 };
        assert_eq!(
            p.take(area.side_beyond(inside, h.margin_m), NOW, &h),
            None,
            "the first fix sets it"
        );
        assert_eq!(p.inside, Some(true));
        // Out for a minute, then back: no event.
        assert_eq!(p.take(area.side_beyond(outside, h.margin_m), NOW + 60_000, &h), None);
        assert_eq!(p.take(area.side_beyond(inside, h.margin_m), NOW + 120_000, &h), None);
        // Out for good: told when the dwell has passed, once.
        let mut told = Vec::new();
        for s in 0..10 {
            told.extend(p.take(area.side_beyond(outside, h.margin_m), NOW + 180_000 + s * 30_000, &h));
        }
        assert_eq!(told, [Crossing::Left]);
        assert_eq!(p.inside, Some(false));
    }

    /// A drive east along a parallel at 55.75° N, a fix every 10 s: `(seconds, km/h)` legs.
    fn drive(m: &mut Motion, legs: &[(i64, f64)], limit: Option<f64>) -> Vec<MotionEvent> {
        let r = MotionRules::default();
        let (mut t, mut lon, mut out) = (NOW, 37.60, Vec::new());
        // 1 km east at 55.75° N is about 0.01598° of longitude.
        for (secs, kmh) in legs {
            for _ in 0..secs / 10 {
                t += 10_000;
                lon += kmh / 360.0 * 0.01598; // km in 10 s
                out.extend(m.take(t, Point { lon, lat: 55.75 }, Some(*kmh), limit, &r));
            }
        }
        out
    }

    #[test]
    fn a_trip_is_from_moving_to_a_stop_that_lasts() {
        let mut m = Motion::default();
        // Parked 5 min, 10 min at 36 km/h, a red light of 1 min, 5 min more, parked 10 min.
        let ev = drive(
            &mut m,
            &[(300, 0.0), (600, 36.0), (60, 0.0), (300, 36.0), (600, 0.0)],
            None,
        );
        let starts: Vec<_> = ev
            .iter()
            .filter(|e| matches!(e, MotionEvent::TripStarted { .. }))
            .collect();
        let ends: Vec<_> = ev
            .iter()
            .filter_map(|e| match e {
                MotionEvent::TripEnded { started, at, meters } => Some((*started, *at, *meters)),
                _ => None,
            })
            .collect();
        assert_eq!(
            starts,
            [&MotionEvent::TripStarted { at: NOW + 310_000 }],
            "one trip; the light is no stop"
        );
        assert_eq!(ends.len(), 1);
        let (started, ended, meters) = ends[0];
        assert_eq!((started, ended), (NOW + 310_000, NOW + 1_270_000));
        assert!((meters - 9_000.0).abs() < 150.0, "15 min at 36 km/h is 9 km: {meters}");
        assert!(!m.moving);
    }

    #[test]
    fn speeding_is_told_once_when_it_lasts() {
        let mut m = Motion::default();
        let ev = drive(&mut m, &[(60, 50.0), (20, 75.0), (60, 50.0)], Some(60.0));
        assert!(
            !ev.iter().any(|e| matches!(e, MotionEvent::Overspeed { .. })),
            "20 s over is not speeding"
        );
        let ev = drive(&mut m, &[(60, 80.0), (30, 95.0), (60, 50.0), (60, 70.0)], Some(60.0));
        let told: Vec<_> = ev
            .iter()
            .filter_map(|e| match e {
                MotionEvent::Overspeed { kmh, limit_kmh, .. } => Some((*kmh, *limit_kmh)),
                _ => None,
            })
            .collect();
        assert_eq!(
            told,
            [(80.0, 60.0), (70.0, 60.0)],
            "each excursion once, its top speed when told"
        );
    }

    #[test]
    fn a_receiver_that_stopped_updating_is_found_a_parked_car_is_not() {
        let p = Point { lon: 37.6, lat: 55.75 };
        let after = 10 * 60_000;
        let mut f = Frozen::default();
        // Parked, ignition off, the same point for an hour: not frozen.
        assert!(!(0..60).any(|m| f.take(NOW + m * 60_000, p, false, after)));
        // The ignition on, driving by its speed, the same point: frozen once, after ten minutes.
        let told: Vec<i64> = (60..90).filter(|m| f.take(NOW + m * 60_000, p, true, after)).collect();
        assert_eq!(told, [70]);
        // It moves again: thawed, and may freeze again later.
        assert!(!f.take(NOW + 91 * 60_000, Point { lon: 37.61, lat: 55.75 }, true, after));
        assert!(offline(Some(NOW), NOW + 16 * 60_000, 15 * 60_000));
        assert!(!offline(Some(NOW), NOW + 14 * 60_000, 15 * 60_000));
        assert!(
            offline(Some(NOW), NOW + 15 * 60_000, 15 * 60_000),
            "at the moment itself"
        );
        assert!(offline(None, NOW, 15 * 60_000));
    }

    #[test]
    fn a_trip_outside_the_shift_is_counted_apart() {
        let mut week = crate::model::schedule::Schedule::default();
        week.0.insert("mon".into(), "09:00-18:00".into());
        let cal = crate::model::schedule::Calendar::new(&week, &[]);
        let tz = jiff::tz::TimeZone::UTC;
        let ms = |s: &str| s.parse::<jiff::Timestamp>().unwrap().as_millisecond();
        // Monday 17:30 to 19:00: an hour of it after the shift.
        assert_eq!(
            outside_shift_ms(ms("2026-03-02T17:30:00Z"), ms("2026-03-02T19:00:00Z"), &cal, &tz),
            3_600_000
        );
        assert_eq!(
            outside_shift_ms(ms("2026-03-02T10:00:00Z"), ms("2026-03-02T11:00:00Z"), &cal, &tz),
            0
        );
        // A Sunday drive: all of it.
        assert_eq!(
            outside_shift_ms(ms("2026-03-01T10:00:00Z"), ms("2026-03-01T12:00:00Z"), &cal, &tz),
            7_200_000
        );
    }

    #[test]
    fn distances_on_the_globe() {
        let moscow = Point {
            lon: 37.6173,
            lat: 55.7558,
        };
        let spb = Point {
            lon: 30.3351,
            lat: 59.9343,
        };
        let d = moscow.distance_m(spb) / 1000.0;
        assert!((d - 634.0).abs() < 3.0, "Moscow to St Petersburg is about 634 km: {d}");
        let a = Point { lon: 37.6, lat: 55.75 };
        let b = Point {
            lon: 37.6,
            lat: 55.75 + 1.0 / 111.195 / 1000.0 * 100.0,
        };
        assert!((a.distance_m(b) - 100.0).abs() < 0.5, "{}", a.distance_m(b));
        assert_eq!(a.distance_m(a), 0.0);
    }

    #[test]
    fn what_a_receiver_without_a_fix_sends_is_set_aside() {
        let l = Limits::default();
        let no = |f: Seen| judge(None, &f, NOW, &l);
        assert_eq!(no(seen(NOW, 0.0, 0.0)), Verdict::Refuse { why: Why::NoFix });
        assert_eq!(no(seen(NOW, f64::NAN, 37.0)), Verdict::Refuse { why: Why::Invalid });
        assert_eq!(no(seen(NOW, 91.0, 37.0)), Verdict::Refuse { why: Why::Invalid });
        assert_eq!(
            no(seen(NOW + 3_600_000, 55.0, 37.0)),
            Verdict::Refuse { why: Why::Future }
        );
        assert_eq!(
            no(seen(NOW + 60_000, 55.0, 37.0)),
            Verdict::Take,
            "a minute's clock drift is fine"
        );
        let mut coarse = seen(NOW, 55.0, 37.0);
        coarse.accuracy_m = Some(1500.0);
        assert_eq!(no(coarse), Verdict::Refuse { why: Why::Inaccurate });
        let mut few = seen(NOW, 55.0, 37.0);
        few.satellites = Some(2);
        assert_eq!(no(few), Verdict::Refuse { why: Why::Inaccurate });
        let mut unknown = seen(NOW, 55.0, 37.0);
        (unknown.accuracy_m, unknown.satellites) = (None, None);
        assert_eq!(no(unknown), Verdict::Take, "a tracker that does not say is believed");
    }

    #[test]
    fn against_the_last_fix_duplicates_late_fixes_and_jumps() {
        let l = Limits::default();
        let last = seen(NOW - 60_000, 55.75, 37.60);
        let judge = |f: Seen| super::judge(Some(&last), &f, NOW, &l);
        assert_eq!(
            judge(seen(NOW - 60_000, 55.75, 37.60)),
            Verdict::Refuse { why: Why::Duplicate }
        );
        assert_eq!(
            judge(seen(NOW - 120_000, 55.70, 37.50)),
            Verdict::Late,
            "stored, no events"
        );
        // 1 km in a minute is 60 km/h; 10 km in a minute is 600 km/h.
        assert_eq!(judge(seen(NOW, 55.75 + 0.009, 37.60)), Verdict::Take);
        match judge(seen(NOW, 55.75 + 0.09, 37.60)) {
            Verdict::Refuse { why: Why::Jump { kmh } } => assert!((kmh - 600.0).abs() < 5.0, "{kmh}"),
            other => panic!("{other:?}"),
        }
    }
}
