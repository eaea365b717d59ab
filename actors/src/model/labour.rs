//! Labour: what the work logged on requests costs, and how much of each engineer's shift it
//! filled. Rates are per hour in the organisation's currency's minor unit (kopecks, cents): an
//! activity's rate (an on-site visit, a remote session) wins over the engineer's own; minutes
//! with no rate are counted apart ("unpriced"), never as free. A shift is a business calendar
//! (`model::schedule`), so a day's shift is the open time of that day on it, exact across clock
//! changes; logged work is counted on the day it was logged, in the shift's zone. Tracked time
//! is the time the engineer held at least one request not yet resolved (`desk::held`; two held
//! at once count once), within their shift's hours when they have one.

use std::collections::BTreeMap;

use jiff::tz::TimeZone;
use jiff::{civil::Date, SignedDuration, Timestamp};
use serde::Serialize;

use super::schedule::Calendar;
use super::Millis;

/// Hourly rates: per engineer, and per activity (by name, compared without case).
#[derive(Debug, Clone, Default)]
pub struct Rates {
    pub people: BTreeMap<i64, i64>,
    pub activities: BTreeMap<String, i64>,
}

impl Rates {
    pub fn per_hour(&self, user: i64, activity: &str) -> Option<i64> {
        self.activities
            .get(&activity.trim().to_lowercase())
            .or_else(|| self.people.get(&user))
            .copied()
    }
}

/// A work log's part in these figures.
#[derive(Debug, Clone)]
pub struct Logged {
    pub user: i64,
    pub activity: String,
    pub minutes: i64,
    pub at: Millis,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Cost {
    /// Rounded to the nearest minor unit per log.
    pub cents: i64,
    /// Minutes logged with no rate for them.
    pub unpriced_mins: i64,
}

impl Cost {
    pub fn add(&mut self, other: Cost) {
        self.cents += other.cents;
        self.unpriced_mins += other.unpriced_mins;
    }
}

pub fn cost(logs: &[Logged], rates: &Rates) -> Cost {
    let mut c = Cost::default();
    for l in logs {
        match rates.per_hour(l.user, &l.activity) {
            Some(rate) => c.cents += (l.minutes * rate + 30) / 60,
            None => c.unpriced_mins += l.minutes,
        }
    }
    c
}

/// One engineer's day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Day {
    pub date: String,
    pub logged_mins: i64,
    pub tracked_mins: i64,
    pub shift_mins: i64,
    /// Logged / shift, per cent rounded down; None on a day without a shift.
    pub percent: Option<i64>,
    /// Tracked / shift, likewise.
    pub tracked_percent: Option<i64>,
}

/// An engineer's load over a period: each day, and the whole (their utilisation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Load {
    pub user: i64,
    pub days: Vec<Day>,
    pub logged_mins: i64,
    pub tracked_mins: i64,
    pub shift_mins: i64,
    /// Logged / shift over the period.
    pub utilisation_percent: Option<i64>,
    /// Tracked / shift over the period.
    pub tracked_percent: Option<i64>,
}

/// At most this many days in one period.
pub const MAX_DAYS: i64 = 93;

fn percent(part: i64, whole: i64) -> Option<i64> {
    (whole > 0).then(|| part * 100 / whole)
}

fn at(ms: Millis) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// Stretches merged where they overlap or touch, in order.
fn union(mut spans: Vec<(Timestamp, Timestamp)>) -> Vec<(Timestamp, Timestamp)> {
    spans.sort();
    let mut out: Vec<(Timestamp, Timestamp)> = Vec::with_capacity(spans.len());
    for (a, b) in spans {
        match out.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

/// The engineer's days in `[from, to)` (the period's first and last days cut to it), in the
/// shift's zone (UTC without a shift): what they logged each day, and the time they held a
/// request (`held`: stretches in milliseconds, overlapping or not), against their shift that day.
pub fn load(
    user: i64,
    logs: &[Logged],
    held: &[(Millis, Millis)],
    shift: Option<(&Calendar, &TimeZone)>,
    from: Millis,
    to: Millis,
) -> Load {
    let tz = shift.map_or(TimeZone::UTC, |(_, tz)| tz.clone());
    let held = union(held.iter().map(|(a, b)| (at(*a), at(*b))).collect());
    let (from, to) = (at(from), at(to));
    let mut days = Vec::new();
    let mut date: Date = from.to_zoned(tz.clone()).date();
    while days.len() < MAX_DAYS as usize {
        let start = date
            .to_zoned(tz.clone())
            .map(|z| z.timestamp())
            .unwrap_or(from)
            .max(from);
        if start >= to {
            break;
        }
        let next = date.tomorrow().unwrap_or(date);
        let end = next.to_zoned(tz.clone()).map(|z| z.timestamp()).unwrap_or(to).min(to);
        let shift_mins = shift
            .map(|(cal, tz)| cal.working_between(start, end, tz))
            .unwrap_or(SignedDuration::ZERO)
            .as_secs()
            / 60;
        let logged_mins = logs
            .iter()
            .filter(|l| l.user == user && (start..end).contains(&at(l.at)))
            .map(|l| l.minutes)
            .sum();
        let tracked = held
            .iter()
            .map(|(a, b)| ((*a).max(start), (*b).min(end)))
            .filter(|(a, b)| a < b)
            .map(|(a, b)| match shift {
                Some((cal, tz)) => cal.working_between(a, b, tz),
                None => a.duration_until(b),
            })
            .fold(SignedDuration::ZERO, |x, y| x + y);
        let tracked_mins = tracked.as_secs() / 60;
        days.push(Day {
            date: date.to_string(),
            logged_mins,
            tracked_mins,
            shift_mins,
            percent: percent(logged_mins, shift_mins),
            tracked_percent: percent(tracked_mins, shift_mins),
        });
        if next == date {
            break;
        }
        date = next;
    }
    let logged_mins = days.iter().map(|d| d.logged_mins).sum();
    let tracked_mins = days.iter().map(|d| d.tracked_mins).sum();
    let shift_mins = days.iter().map(|d| d.shift_mins).sum();
    Load {
        user,
        days,
        logged_mins,
        tracked_mins,
        shift_mins,
        utilisation_percent: percent(logged_mins, shift_mins),
        tracked_percent: percent(tracked_mins, shift_mins),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::schedule::{Exception, Schedule};

    fn rates() -> Rates {
        Rates {
            people: BTreeMap::from([(1, 1200_00), (2, 900_00)]),
            activities: BTreeMap::from([("выезд".to_string(), 3000_00)]),
        }
    }

    fn log(user: i64, activity: &str, minutes: i64, at: &str) -> Logged {
        Logged {
            user,
            activity: activity.into(),
            minutes,
            at: at.parse::<Timestamp>().unwrap().as_millisecond(),
        }
    }

    #[test]
    fn an_activitys_rate_wins_over_the_engineers_and_unpriced_minutes_stay_apart() {
        let logs = [
            log(1, "диагностика", 30, "2026-03-02T07:00:00Z"), // 1 200 ₽/h: 600 ₽
            log(2, "Выезд", 90, "2026-03-02T08:00:00Z"),       // 3 000 ₽/h: 4 500 ₽
            log(3, "диагностика", 20, "2026-03-02T09:00:00Z"), // no rate
        ];
        assert_eq!(
            cost(&logs, &rates()),
            Cost {
                cents: 600_00 + 4500_00,
                unpriced_mins: 20
            }
        );
    }

    #[test]
    fn a_cost_rounds_to_the_nearest_minor_unit() {
        let r = Rates {
            people: BTreeMap::from([(1, 100)]),
            ..Default::default()
        };
        // 1 ₽ an hour: 1 minute is 1.67 kopecks → 2; 2 minutes 3.33 → 3.
        assert_eq!(cost(&[log(1, "", 1, "2026-01-01T00:00:00Z")], &r).cents, 2);
        assert_eq!(cost(&[log(1, "", 2, "2026-01-01T00:00:00Z")], &r).cents, 3);
    }

    fn weekdays() -> Calendar {
        let mut week = Schedule::default();
        for d in ["mon", "tue", "wed", "thu", "fri"] {
            week.0.insert(d.into(), "09:00-18:00".into());
        }
        Calendar::new(
            &week,
            &[Exception {
                date: "2026-03-04".into(),
                hours: Some("09:00-13:00".into()),
                note: "shortened".into(),
            }],
        )
    }

    #[test]
    fn a_day_is_logged_work_against_that_days_shift_in_its_zone() {
        let cal = weekdays();
        let tz = TimeZone::get("Europe/Moscow").unwrap();
        let ms = |s: &str| s.parse::<Timestamp>().unwrap().as_millisecond();
        let logs = [
            // Monday 23:30 in Moscow is Monday 20:30 UTC: Monday's.
            log(1, "", 120, "2026-03-02T20:30:00Z"),
            // Tuesday 00:30 in Moscow (Monday 21:30 UTC): Tuesday's.
            log(1, "", 60, "2026-03-02T21:30:00Z"),
            log(2, "", 500, "2026-03-02T10:00:00Z"),
            // Saturday: no shift that day.
            log(1, "", 30, "2026-03-07T09:00:00Z"),
        ];
        let l = load(
            1,
            &logs,
            &[],
            Some((&cal, &tz)),
            ms("2026-03-01T21:00:00Z"),
            ms("2026-03-08T21:00:00Z"),
        );
        let days: Vec<_> = l
            .days
            .iter()
            .map(|d| (d.date.as_str(), d.logged_mins, d.shift_mins, d.percent))
            .collect();
        assert_eq!(
            days,
            [
                ("2026-03-02", 120, 540, Some(22)),
                ("2026-03-03", 60, 540, Some(11)),
                ("2026-03-04", 0, 240, Some(0)),
                ("2026-03-05", 0, 540, Some(0)),
                ("2026-03-06", 0, 540, Some(0)),
                ("2026-03-07", 30, 0, None),
                ("2026-03-08", 0, 0, None),
            ]
        );
        assert_eq!((l.logged_mins, l.shift_mins), (210, 2400));
        assert_eq!(l.utilisation_percent, Some(8));
    }

    #[test]
    fn the_periods_ends_cut_its_first_and_last_days_and_a_period_is_bounded() {
        let cal = weekdays();
        let tz = TimeZone::UTC;
        let ms = |s: &str| s.parse::<Timestamp>().unwrap().as_millisecond();
        let l = load(
            1,
            &[],
            &[],
            Some((&cal, &tz)),
            ms("2026-03-02T12:00:00Z"),
            ms("2026-03-03T10:00:00Z"),
        );
        let shifts: Vec<_> = l.days.iter().map(|d| d.shift_mins).collect();
        assert_eq!(shifts, [360, 60]);
        let long = load(1, &[], &[], None, 0, ms("2030-01-01T00:00:00Z"));
        assert_eq!(long.days.len(), MAX_DAYS as usize);
        assert_eq!(long.utilisation_percent, None, "no shift: no utilisation");
    }

    #[test]
    fn tracked_time_is_requests_held_at_once_counted_once_within_the_shift() {
        let cal = weekdays();
        let tz = TimeZone::UTC;
        let ms = |s: &str| s.parse::<Timestamp>().unwrap().as_millisecond();
        let held = [
            // Two requests held 08:00-11:00 and 10:00-12:00: 09:00-12:00 of the shift, three hours.
            (ms("2026-03-02T08:00:00Z"), ms("2026-03-02T11:00:00Z")),
            (ms("2026-03-02T10:00:00Z"), ms("2026-03-02T12:00:00Z")),
            // Held overnight into Tuesday: 17:00-18:00 Monday, 09:00-10:00 Tuesday.
            (ms("2026-03-02T17:00:00Z"), ms("2026-03-03T10:00:00Z")),
        ];
        let l = load(
            1,
            &[],
            &held,
            Some((&cal, &tz)),
            ms("2026-03-02T00:00:00Z"),
            ms("2026-03-04T00:00:00Z"),
        );
        let days: Vec<_> = l.days.iter().map(|d| (d.tracked_mins, d.tracked_percent)).collect();
        assert_eq!(days, [(240, Some(44)), (60, Some(11))]);
        assert_eq!((l.tracked_mins, l.tracked_percent), (300, Some(27)));
        // Without a shift, calendar time.
        let free = load(
            1,
            &[],
            &held[2..],
            None,
            ms("2026-03-02T00:00:00Z"),
            ms("2026-03-04T00:00:00Z"),
        );
        assert_eq!(free.days.iter().map(|d| d.tracked_mins).collect::<Vec<_>>(), [420, 600]);
    }
}
