//! When an engineer will be at a site, and when they are: the estimate the customer is told
//! (the great-circle distance times a road factor, at the speed this vehicle makes at this hour
//! of the day, learned from its own trips), when it is worth telling again (it moved by more
//! than a margin), and arrival (inside the site's radius).

use super::geo::Point;
use super::Millis;

/// The speed assumed at an hour no trip has taught yet, km/h (a town's traffic).
pub const DEFAULT_KMH: f64 = 30.0;
/// How much one trip moves what an hour has learned (an exponential average).
const LEARN: f64 = 0.2;

/// A vehicle's speeds by hour of the day (0 to 23, in the organisation's zone).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Speeds {
    pub kmh: [Option<f64>; 24],
}

impl Default for Speeds {
    fn default() -> Self {
        Speeds { kmh: [None; 24] }
    }
}

impl Speeds {
    /// Learns from a trip's average speed in an hour; implausible speeds teach nothing.
    pub fn learn(&mut self, hour: u8, kmh: f64) {
        if !(kmh.is_finite() && (3.0..=200.0).contains(&kmh)) {
            return;
        }
        let h = &mut self.kmh[usize::from(hour % 24)];
        *h = Some(h.map_or(kmh, |old| old + LEARN * (kmh - old)));
    }

    /// The speed at an hour: what it learned, else the nearest hours' it did, else the default.
    pub fn at(&self, hour: u8) -> f64 {
        let h = i32::from(hour % 24);
        (0..12)
            .find_map(|d| [h - d, h + d].iter().find_map(|x| self.kmh[x.rem_euclid(24) as usize]))
            .unwrap_or(DEFAULT_KMH)
    }
}

/// The estimated moment of arrival from `from` at `now` (at `hour` of the day), driving the
/// great-circle distance times `road_factor`.
pub fn eta(from: Point, to: Point, now: Millis, hour: u8, speeds: &Speeds, road_factor: f64) -> Millis {
    let km = from.distance_m(to) / 1000.0 * road_factor;
    now + (km / speeds.at(hour) * 3_600_000.0).round() as Millis
}

/// Whether a new estimate is worth telling the customer: the first one, or one that moved by more
/// than `margin_ms` from what they were told.
pub fn worth_telling(told: Option<Millis>, estimate: Millis, margin_ms: Millis) -> bool {
    told.is_none_or(|t| (estimate - t).abs() > margin_ms)
}

/// Arrived: inside the site's radius (a fix's own inaccuracy counts in its favour, up to the
/// radius again, so a coarse fix at the door still arrives).
pub fn arrived(at: Point, accuracy_m: Option<f64>, site: Point, radius_m: f64) -> bool {
    let slack = accuracy_m
        .filter(|a| a.is_finite() && *a > 0.0)
        .unwrap_or(0.0)
        .min(radius_m);
    at.distance_m(site) <= radius_m + slack
}

/// Arrived: within this of the site; left: beyond this after arriving.
pub const ARRIVAL_RADIUS_M: f64 = 150.0;
pub const LEFT_M: f64 = 400.0;
/// Roads are longer than the great circle by about this.
pub const ROAD_FACTOR: f64 = 1.25;
/// The customer is told again when the estimate moves by more than this, at most this often.
pub const RETELL_MARGIN_MS: Millis = 10 * 60_000;
pub const RETELL_GAP_MS: Millis = 3 * 60_000;
/// Fixes older than this (a tracker emptying its memory) tell the customer nothing.
pub const RECENT_MS: Millis = 10 * 60_000;

/// What a visit under way held when a fix came.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct VisitSoFar {
    pub eta_told: Option<Millis>,
    pub told_at: Option<Millis>,
    pub arrived: bool,
}

/// What a fix does to a visit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum VisitStep {
    /// At the site; the customer is told when the fix is recent.
    Arrived { tell: bool },
    /// An estimate to tell: the first one, or one that moved.
    Tell { eta: Millis, first: bool },
    /// Gone from the site after arriving: the visit ends.
    Left,
}

/// The step a fix at `at` (at `hour` of the day there, the server's clock at `now`) makes.
pub fn visit_step(
    so_far: &VisitSoFar,
    at: Millis,
    point: Point,
    accuracy_m: Option<f64>,
    site: Point,
    now: Millis,
    hour: u8,
    speeds: &Speeds,
) -> Option<VisitStep> {
    let recent = now - at <= RECENT_MS;
    if so_far.arrived {
        return (point.distance_m(site) > LEFT_M).then_some(VisitStep::Left);
    }
    if arrived(point, accuracy_m, site, ARRIVAL_RADIUS_M) {
        return Some(VisitStep::Arrived { tell: recent });
    }
    let estimate = eta(point, site, at, hour, speeds, ROAD_FACTOR);
    let gap = so_far.told_at.is_none_or(|t| at - t >= RETELL_GAP_MS);
    (recent && gap && worth_telling(so_far.eta_told, estimate, RETELL_MARGIN_MS)).then_some(VisitStep::Tell {
        eta: estimate,
        first: so_far.eta_told.is_none(),
    })
}

/// What the customer is told of a field visit, in a language (`ru` or `en`; anything else reads
/// as Russian): worded without the past tense, so a name needs no gender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice<'a> {
    /// On the way, expected at `clock` (HH:MM in the organisation's zone).
    OnTheWay {
        engineer: &'a str,
        clock: &'a str,
    },
    /// The estimate moved: now expected at `clock`.
    Moved {
        engineer: &'a str,
        clock: &'a str,
    },
    Arrived {
        engineer: &'a str,
    },
}

impl Notice<'_> {
    pub fn text(&self, lang: &str, request_id: i64) -> String {
        let en = lang == "en";
        match *self {
            Notice::OnTheWay { engineer, clock } if en => {
                format!("Engineer {engineer} is on the way to you (request #{request_id}), expected at about {clock}.")
            }
            Notice::OnTheWay { engineer, clock } => {
                format!("Инженер {engineer} в пути к вам (заявка №{request_id}), ориентировочно будет в {clock}.")
            }
            Notice::Moved { engineer, clock } if en => {
                format!("A new time for request #{request_id}: engineer {engineer} is now expected at about {clock}.")
            }
            Notice::Moved { engineer, clock } => {
                format!("Новое время по заявке №{request_id}: инженер {engineer} ориентировочно будет в {clock}.")
            }
            Notice::Arrived { engineer } if en => {
                format!("Engineer {engineer} is at your site (request #{request_id}).")
            }
            Notice::Arrived { engineer } => format!("Инженер {engineer} на месте (заявка №{request_id})."),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_visit_tells_the_estimate_again_only_when_it_moved_and_then_the_arrival() {
        const NOW: Millis = 1_765_000_000_000;
        let site = Point { lon: 37.61, lat: 55.76 };
        let east = |km: f64| Point {
            lon: site.lon + km / (111.195 * site.lat.to_radians().cos()),
            lat: site.lat,
        };
        let speeds = Speeds::default();
        let mut so_far = VisitSoFar::default();
        let step = |s: &VisitSoFar, at: Millis, km: f64| visit_step(s, at, east(km), None, site, NOW, 10, &speeds);
        // 2 km out at 30 km/h and a road 1.25 times longer: five minutes.
        let t0 = NOW - 9 * 60_000;
        assert_eq!(
            step(&so_far, t0, 2.0),
            Some(VisitStep::Tell {
                eta: t0 + 300_000,
                first: true
            })
        );
        so_far.eta_told = Some(t0 + 300_000);
        so_far.told_at = Some(t0);
        // A minute on, further out: moved, but not by ten minutes, and too soon anyway.
        assert_eq!(step(&so_far, t0 + 60_000, 3.0), None);
        // Three minutes on and 7 km out: the estimate moved by more than ten minutes.
        assert!(matches!(
            step(&so_far, t0 + 180_000, 7.0),
            Some(VisitStep::Tell { first: false, .. })
        ));
        // At the door (within 150 m): arrived, told; a fix from a tracker's memory is not told.
        assert_eq!(
            step(&so_far, t0 + 400_000, 0.1),
            Some(VisitStep::Arrived { tell: true })
        );
        assert_eq!(
            step(&so_far, NOW - 20 * 60_000, 0.1),
            Some(VisitStep::Arrived { tell: false })
        );
        assert_eq!(
            step(&so_far, NOW - 20 * 60_000, 5.0),
            None,
            "an old fix tells no estimate"
        );
        so_far.arrived = true;
        assert_eq!(step(&so_far, t0 + 500_000, 0.3), None, "still about the site");
        assert_eq!(step(&so_far, t0 + 600_000, 0.5), Some(VisitStep::Left));
    }

    #[test]
    fn the_notices_in_both_languages() {
        let e = "Анна Петрова";
        assert_eq!(
            Notice::OnTheWay {
                engineer: e,
                clock: "14:35"
            }
            .text("ru", 12),
            "Инженер Анна Петрова в пути к вам (заявка №12), ориентировочно будет в 14:35."
        );
        assert_eq!(
            Notice::Moved {
                engineer: "Anna",
                clock: "14:50"
            }
            .text("en", 12),
            "A new time for request #12: engineer Anna is now expected at about 14:50."
        );
        assert_eq!(
            Notice::Arrived { engineer: e }.text("xx", 3),
            "Инженер Анна Петрова на месте (заявка №3)."
        );
    }

    const NOW: Millis = 1_765_000_000_000;

    #[test]
    fn speeds_are_learned_per_hour_and_borrowed_from_the_nearest() {
        let mut s = Speeds::default();
        assert_eq!(s.at(9), DEFAULT_KMH);
        s.learn(9, 20.0);
        s.learn(9, 30.0);
        assert!((s.at(9) - 22.0).abs() < 1e-9, "an average that moves: {}", s.at(9));
        assert_eq!(s.at(10), 22.0, "the nearest hour that knows");
        s.learn(23, 60.0);
        assert_eq!(s.at(0), 60.0, "across midnight");
        s.learn(9, 900.0);
        s.learn(9, f64::NAN);
        assert!((s.at(9) - 22.0).abs() < 1e-9, "implausible speeds teach nothing");
    }

    #[test]
    fn an_estimate_drives_the_road_not_the_crow() {
        let from = Point { lon: 37.60, lat: 55.75 };
        let to = Point {
            lon: 37.60,
            lat: 55.75 + 10.0 / 111.195,
        }; // 10 km north
        let mut s = Speeds::default();
        s.learn(14, 25.0);
        // 10 km × 1.25 = 12.5 km at 25 km/h: 30 minutes.
        let e = eta(from, to, NOW, 14, &s, 1.25);
        assert!((e - NOW - 30 * 60_000).abs() < 5_000, "{}", (e - NOW) / 1000);
    }

    #[test]
    fn the_customer_is_told_again_only_when_it_moved() {
        let m = 10 * 60_000;
        assert!(worth_telling(None, NOW, m));
        assert!(!worth_telling(Some(NOW), NOW + 9 * 60_000, m));
        assert!(worth_telling(Some(NOW), NOW + 11 * 60_000, m));
        assert!(worth_telling(Some(NOW), NOW - 11 * 60_000, m), "earlier counts too");
    }

    #[test]
    fn arrival_is_inside_the_sites_radius() {
        let site = Point { lon: 37.60, lat: 55.75 };
        let near = Point {
            lon: 37.60,
            lat: 55.75 + 0.08 / 111.195,
        }; // 80 m
        let far = Point {
            lon: 37.60,
            lat: 55.75 + 0.3 / 111.195,
        }; // 300 m
        assert!(arrived(near, None, site, 100.0));
        assert!(!arrived(far, None, site, 100.0));
        assert!(!arrived(far, Some(150.0), site, 100.0), "slack is the radius at most");
        let edge = Point {
            lon: 37.60,
            lat: 55.75 + 0.15 / 111.195,
        }; // 150 m
        assert!(arrived(edge, Some(60.0), site, 100.0));
    }
}
