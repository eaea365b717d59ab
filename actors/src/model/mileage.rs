//! What a vehicle drove, day by day, and how much of it in its driver's shift: a company car
//! driven outside working hours is private use (the M4 brochure's customers cut fuel bills by
//! watching exactly that). A trip is split by the share of its time inside the shift
//! (`track::outside_shift_ms`); one driven mostly outside it is a private trip. Days are the shift's zone's days.

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use super::schedule::Calendar;
use super::Millis;

/// A trip, as its `trip_ended` event told it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Trip {
    pub started: Millis,
    pub ended: Millis,
    pub meters: f64,
}

/// One day of a vehicle's driving.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UseDay {
    pub date: String,
    pub trips: usize,
    pub km: f64,
    /// Without a shift to judge by (no driver, or a driver without one), these are none.
    pub km_in_shift: Option<f64>,
    pub km_outside: Option<f64>,
    /// Trips driven mostly outside the shift.
    pub private_trips: Option<usize>,
}

/// Longest report, days.
pub const MAX_DAYS: usize = 62;

fn at(ms: Millis) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn km(m: f64) -> f64 {
    (m / 100.0).round() / 10.0
}

/// The trips that began in `[from, to)`, by the day they began on.
pub fn by_day(trips: &[Trip], shift: Option<(&Calendar, &TimeZone)>, from: Millis, to: Millis) -> Vec<UseDay> {
    let tz = shift.map_or(TimeZone::UTC, |(_, tz)| tz.clone());
    let mut days: Vec<(jiff::civil::Date, UseDay, f64, f64)> = Vec::new();
    let mut date = at(from).to_zoned(tz.clone()).date();
    while days.len() < MAX_DAYS {
        let start = date.to_zoned(tz.clone()).map(|z| z.timestamp()).unwrap_or(at(from));
        if start >= at(to) {
            break;
        }
        days.push((
            date,
            UseDay {
                date: date.to_string(),
                trips: 0,
                km: 0.0,
                km_in_shift: None,
                km_outside: None,
                private_trips: shift.map(|_| 0),
            },
            0.0,
            0.0,
        ));
        match date.tomorrow() {
            Ok(next) => date = next,
            Err(_) => break,
        }
    }
    for t in trips.iter().filter(|t| (from..to).contains(&t.started)) {
        let day = at(t.started).to_zoned(tz.clone()).date();
        let Some((_, d, inside, total)) = days.iter_mut().find(|(date, ..)| *date == day) else {
            continue;
        };
        d.trips += 1;
        *total += t.meters;
        if let Some((cal, tz)) = shift {
            let span = t.ended - t.started;
            let working = if span > 0 {
                1.0 - super::track::outside_shift_ms(t.started, t.ended, cal, tz) as f64 / span as f64
            } else {
                // A trip of no time is inside if its moment is.
                let open = cal.working_between(at(t.started), at(t.started + 1), tz) > SignedDuration::ZERO;
                f64::from(u8::from(open))
            };
            *inside += t.meters * working.clamp(0.0, 1.0);
            if working < 0.5 {
                d.private_trips = d.private_trips.map(|n| n + 1);
            }
        }
    }
    days.into_iter()
        .map(|(_, mut d, inside, total)| {
            d.km = km(total);
            if shift.is_some() {
                d.km_in_shift = Some(km(inside));
                d.km_outside = Some(km(total - inside));
            }
            d
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::schedule::Schedule;

    const H: Millis = 3_600_000;

    /// Weekdays 9 to 18, Moscow.
    fn shift() -> (Calendar, TimeZone) {
        let week: Schedule = serde_json::from_value(serde_json::json!({
            "mon": "09:00-18:00", "tue": "09:00-18:00", "wed": "09:00-18:00", "thu": "09:00-18:00", "fri": "09:00-18:00"
        }))
        .unwrap();
        (Calendar::new(&week, &[]), TimeZone::get("Europe/Moscow").unwrap())
    }

    /// Monday 2026-12-07, 00:00 Moscow (UTC+3).
    fn monday() -> Millis {
        jiff::civil::date(2026, 12, 7)
            .to_zoned(TimeZone::get("Europe/Moscow").unwrap())
            .unwrap()
            .timestamp()
            .as_millisecond()
    }

    #[test]
    fn a_trip_is_split_by_its_time_in_the_shift_and_evening_drives_are_private() {
        let (cal, tz) = shift();
        let m = monday();
        let trips = [
            // 10:00–11:00, 40 km: work.
            Trip {
                started: m + 10 * H,
                ended: m + 11 * H,
                meters: 40_000.0,
            },
            // 17:30–18:30, 20 km: half in the shift.
            Trip {
                started: m + 17 * H + H / 2,
                ended: m + 18 * H + H / 2,
                meters: 20_000.0,
            },
            // 21:00–21:30, 15 km: private.
            Trip {
                started: m + 21 * H,
                ended: m + 21 * H + H / 2,
                meters: 15_000.0,
            },
            // Saturday, 12 km: private (no shift on Saturdays).
            Trip {
                started: m + 5 * 24 * H + 12 * H,
                ended: m + 5 * 24 * H + 13 * H,
                meters: 12_000.0,
            },
        ];
        let days = by_day(&trips, Some((&cal, &tz)), m, m + 7 * 24 * H);
        assert_eq!(days.len(), 7);
        let mon = &days[0];
        assert_eq!((mon.date.as_str(), mon.trips, mon.km), ("2026-12-07", 3, 75.0));
        assert_eq!((mon.km_in_shift, mon.km_outside), (Some(50.0), Some(25.0)));
        assert_eq!(
            mon.private_trips,
            Some(1),
            "the half-and-half trip is not private; the evening one is"
        );
        let sat = &days[5];
        assert_eq!((sat.km, sat.km_outside, sat.private_trips), (12.0, Some(12.0), Some(1)));
        assert_eq!(days[1].trips, 0);
        // Without a shift nothing is judged.
        let days = by_day(&trips, None, m, m + 7 * 24 * H);
        assert_eq!(days.iter().map(|d| d.trips).sum::<usize>(), 4);
        assert!(days.iter().all(|d| d.km_outside.is_none() && d.private_trips.is_none()));
    }

    #[test]
    fn a_report_stops_at_its_longest() {
        let days = by_day(&[], None, 0, 1_000 * 24 * H);
        assert_eq!(days.len(), MAX_DAYS);
    }
}
