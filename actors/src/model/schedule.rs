//! A branch's working hours: per weekday, an opening and closing time in the branch's zone, and
//! the days that differ from the week (a holiday closed all day, a shortened eve, a Saturday
//! worked in exchange). The week is stored as JSON `{"mon": "09:00-18:00", "sat": "10:00-14:00"}`
//! (a day left out is closed); the exceptions as a list of `{date, hours, note}`, `hours` null
//! for a closed day. One calendar answers "open now?", "when does it open?" and "when does a
//! promise of so many working hours fall due?" for the kiosk, the chat and (later) SLA clocks.

use jiff::{
    civil::{Date, Weekday},
    tz::TimeZone,
    SignedDuration, Timestamp,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;

use super::field::FieldError;

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Schedule(pub BTreeMap<String, String>);

/// A day unlike the week: closed (`hours` None) or open at other hours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exception {
    /// `2027-01-01`, in the branch's zone.
    pub date: String,
    #[serde(default)]
    pub hours: Option<String>,
    /// What the day is ("New Year"), for the people who set it up.
    #[serde(default)]
    pub note: String,
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
/// The form field of each weekday's hours, so the page marks the day that is wrong.
const DAY_FIELDS: [&str; 7] = [
    "schedule.mon",
    "schedule.tue",
    "schedule.wed",
    "schedule.thu",
    "schedule.fri",
    "schedule.sat",
    "schedule.sun",
];
/// Years of holidays fit; more is a script gone wrong.
pub const MAX_EXCEPTIONS: usize = 1000;
const MAX_NOTE: usize = 100;
/// How far ahead an opening is looked for: a branch closed longer than a year is closed.
const HORIZON_DAYS: i64 = 400;

fn day_index(w: Weekday) -> usize {
    w.to_monday_zero_offset() as usize
}

fn minutes(hhmm: &str) -> Option<u32> {
    let (h, m) = hhmm.split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h <= 24 && m < 60 && h * 60 + m <= 24 * 60).then_some(h * 60 + m)
}

/// `09:00-18:00` as minutes of the day, opening before closing.
fn span(hours: &str) -> Option<(u32, u32)> {
    let (open, close) = hours.split_once('-')?;
    let (open, close) = (minutes(open.trim())?, minutes(close.trim())?);
    (open < close).then_some((open, close))
}

fn hours_error(field: &'static str, hours: &str) -> FieldError {
    FieldError::new(field, "hours_form", json!({ "hours": hours }))
}

impl Schedule {
    /// Checks every entry, so a typo is caught when the schedule is saved, not when a visitor
    /// finds the kiosk closed.
    pub fn validate(&self) -> Result<(), FieldError> {
        for (day, hours) in &self.0 {
            let Some(i) = DAYS.iter().position(|d| d == day) else {
                return Err(FieldError::new("schedule", "weekday", json!({ "day": day })));
            };
            span(hours).ok_or_else(|| hours_error(DAY_FIELDS[i], hours))?;
        }
        Ok(())
    }

    /// Open every day around the clock: what a kiosk in a 24/7 branch, or a test, uses.
    pub fn always() -> Self {
        Self(
            DAYS.iter()
                .map(|d| (d.to_string(), "00:00-24:00".to_string()))
                .collect(),
        )
    }

    /// The week alone, no exceptions.
    pub fn calendar(&self) -> Calendar {
        Calendar::new(self, &[])
    }

    pub fn is_open(&self, at: Timestamp, tz: &TimeZone) -> bool {
        self.calendar().is_open(at, tz)
    }

    pub fn next_open(&self, at: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        self.calendar().next_open(at, tz)
    }

    pub fn after_working(&self, at: Timestamp, tz: &TimeZone, working: SignedDuration) -> Option<Timestamp> {
        self.calendar().after_working(at, tz, working)
    }
}

/// Checks a list of exceptions: real dates, each once, hours well formed, short notes.
pub fn validate_exceptions(list: &[Exception]) -> Result<(), FieldError> {
    if list.len() > MAX_EXCEPTIONS {
        return Err(FieldError::new(
            "holidays",
            "too_many",
            json!({ "max": MAX_EXCEPTIONS }),
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    for e in list {
        let date: Date = e
            .date
            .parse()
            .map_err(|_| FieldError::new("holidays", "date_form", json!({ "date": e.date })))?;
        if !seen.insert(date) {
            return Err(FieldError::new("holidays", "date_twice", json!({ "date": e.date })));
        }
        if let Some(hours) = &e.hours {
            span(hours).ok_or_else(|| hours_error("holidays", hours))?;
        }
        if e.note.chars().count() > MAX_NOTE {
            return Err(FieldError::new("holidays", "too_long", json!({ "max": MAX_NOTE })));
        }
        if e.note.chars().any(char::is_control) {
            return Err(FieldError::new("holidays", "control_chars", json!({})));
        }
    }
    Ok(())
}

/// The week and its exceptions, parsed once, asked many times.
#[derive(Debug, Clone, Default)]
pub struct Calendar {
    week: [Option<(u32, u32)>; 7],
    days: BTreeMap<Date, Option<(u32, u32)>>,
}

impl Calendar {
    /// Entries that do not parse are left out (they were refused when saved; this only guards
    /// a hand-edited row).
    pub fn new(week: &Schedule, exceptions: &[Exception]) -> Self {
        let mut cal = Self::default();
        for (i, day) in DAYS.iter().enumerate() {
            cal.week[i] = week.0.get(*day).and_then(|h| span(h));
        }
        for e in exceptions {
            if let Ok(date) = e.date.parse::<Date>() {
                cal.days.insert(date, e.hours.as_deref().and_then(span));
            }
        }
        cal
    }

    /// The opening and closing minute of a day in the branch's zone; None: closed.
    pub fn hours_on(&self, date: Date) -> Option<(u32, u32)> {
        match self.days.get(&date) {
            Some(special) => *special,
            None => self.week[day_index(date.weekday())],
        }
    }

    /// Whether the wall clock in the zone shows an open minute of its day at `at`: the one
    /// definition of "open" that the windows below, and so every clock, follow.
    pub fn is_open(&self, at: Timestamp, tz: &TimeZone) -> bool {
        let local = at.to_zoned(tz.clone());
        let Some((open, close)) = self.hours_on(local.date()) else {
            return false;
        };
        let now = local.hour() as u32 * 60 + local.minute() as u32;
        open <= now && now < close
    }

    /// The next moment it opens after `at` (None: already open, or closed for the coming year).
    pub fn next_open(&self, at: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        if self.is_open(at, tz) {
            return None;
        }
        self.windows(at, tz).next().map(|(open, _)| open)
    }

    /// When `working` of open time will have passed since `at`: the clock of a promise that runs
    /// only in working hours ("an answer within four working hours" made at 17:30 on a Friday of a
    /// 09:00-18:00 week falls due on Monday at 12:30). None when the coming year has not that
    /// much open time in it.
    pub fn after_working(&self, at: Timestamp, tz: &TimeZone, working: SignedDuration) -> Option<Timestamp> {
        let mut left = working.max(SignedDuration::ZERO);
        if left.is_zero() {
            return Some(at);
        }
        for (from, to) in self.windows(at, tz) {
            let here = from.duration_until(to);
            if here >= left {
                return from.checked_add(left).ok();
            }
            left -= here;
        }
        None
    }

    /// The open time between two moments (zero when `to` is not after `from`).
    pub fn working_between(&self, from: Timestamp, to: Timestamp, tz: &TimeZone) -> SignedDuration {
        let mut sum = SignedDuration::ZERO;
        for (a, b) in self.windows(from, tz) {
            if a >= to {
                break;
            }
            sum += a.duration_until(b.min(to));
        }
        sum
    }

    /// The open stretches from `from` on, in order, as moments: each is the time the zone's wall
    /// clock shows an open minute of its day. Worked out per stretch of one UTC offset (between
    /// the zone's transitions), where the wall clock runs evenly: so a day that loses or repeats
    /// an hour to a clock change is open exactly as long as its wall clock says, and a 24/7
    /// calendar's days meet at midnight without a gap (the minute Zammad #3180 lost). A stretch
    /// over midnight comes as two that touch. Over the coming year.
    pub fn windows<'a>(
        &'a self,
        from: Timestamp,
        tz: &'a TimeZone,
    ) -> impl Iterator<Item = (Timestamp, Timestamp)> + 'a {
        let end = from
            .checked_add(SignedDuration::from_hours(24 * HORIZON_DAYS))
            .unwrap_or(Timestamp::MAX);
        let mut cur = from;
        let mut pending: std::vec::IntoIter<(Timestamp, Timestamp)> = Vec::new().into_iter();
        std::iter::from_fn(move || loop {
            if let Some(w) = pending.next() {
                return Some(w);
            }
            if cur >= end {
                return None;
            }
            // One offset from `cur` to the zone's next transition, a week at a time (a zone
            // without changes would otherwise work out the whole year at once).
            let week = cur
                .checked_add(SignedDuration::from_hours(24 * 7))
                .unwrap_or(end)
                .min(end);
            let next = tz
                .following(cur)
                .next()
                .map(|t| t.timestamp())
                .filter(|t| *t < week)
                .unwrap_or(week);
            let offset = SignedDuration::from_secs(i64::from(tz.to_offset(cur).seconds()));
            pending = self.windows_in(cur, next, offset).into_iter();
            cur = next;
        })
    }

    /// The open stretches inside [from, to), where the wall clock is UTC + `offset` throughout.
    fn windows_in(&self, from: Timestamp, to: Timestamp, offset: SignedDuration) -> Vec<(Timestamp, Timestamp)> {
        let wall = |t: Timestamp| t.checked_add(offset).ok();
        let (Some(wall_from), Some(wall_to)) = (wall(from), wall(to)) else {
            return Vec::new();
        };
        let first = wall_from.to_zoned(TimeZone::UTC).date();
        let mut out = Vec::new();
        let mut day = first;
        loop {
            // The day's midnight on the wall clock, as if the wall clock were UTC.
            let Ok(midnight) = day.to_zoned(TimeZone::UTC).map(|z| z.timestamp()) else {
                break;
            };
            if midnight >= wall_to {
                break;
            }
            if let Some((open, close)) = self.hours_on(day) {
                let at = |minute: u32| midnight.checked_add(SignedDuration::from_mins(i64::from(minute))).ok();
                if let (Some(a), Some(b)) = (at(open), at(close)) {
                    let (a, b) = (a.max(wall_from), b.min(wall_to));
                    if a < b {
                        if let (Ok(a), Ok(b)) = (a.checked_sub(offset), b.checked_sub(offset)) {
                            out.push((a, b));
                        }
                    }
                }
            }
            let Ok(next) = day.tomorrow() else { break };
            day = next;
        }
        out
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    fn weekdays_9_to_18() -> Schedule {
        Schedule(
            ["mon", "tue", "wed", "thu", "fri"]
                .iter()
                .map(|d| (d.to_string(), "09:00-18:00".to_string()))
                .collect(),
        )
    }

    #[test]
    fn open_inside_hours_in_the_branch_zone() -> Result<(), jiff::Error> {
        let tz = TimeZone::get("Europe/Moscow")?;
        let s = weekdays_9_to_18();
        // Monday 2026-11-23 06:00 UTC = 09:00 Moscow: opening minute.
        assert!(s.is_open("2026-11-23T06:00:00Z".parse()?, &tz));
        // 05:59 UTC = 08:59 Moscow: not yet.
        assert!(!s.is_open("2026-11-23T05:59:00Z".parse()?, &tz));
        // 15:00 UTC = 18:00 Moscow: closed at closing time.
        assert!(!s.is_open("2026-11-23T15:00:00Z".parse()?, &tz));
        // Saturday is not listed: closed all day.
        assert!(!s.is_open("2026-11-28T10:00:00Z".parse()?, &tz));
        Ok(())
    }

    #[test]
    fn always_is_open_at_midnight() -> Result<(), jiff::Error> {
        let tz = TimeZone::UTC;
        assert!(Schedule::always().is_open("2026-11-23T00:00:00Z".parse()?, &tz));
        assert!(Schedule::always().is_open("2026-11-23T23:59:59Z".parse()?, &tz));
        Ok(())
    }

    #[test]
    fn next_opening_after_hours() -> Result<(), jiff::Error> {
        let tz = TimeZone::get("Europe/Moscow")?;
        let s = weekdays_9_to_18();
        // Friday 19:00 Moscow → Monday 09:00 Moscow (06:00 UTC).
        let friday_evening: Timestamp = "2026-11-27T16:00:00Z".parse()?;
        assert_eq!(s.next_open(friday_evening, &tz), Some("2026-11-30T06:00:00Z".parse()?));
        // Open now: no next opening to announce.
        assert_eq!(s.next_open("2026-11-23T07:00:00Z".parse()?, &tz), None);
        assert_eq!(Schedule::default().next_open(friday_evening, &tz), None);
        Ok(())
    }

    #[test]
    fn a_working_hours_clock_stops_outside_them() -> Result<(), jiff::Error> {
        let tz = TimeZone::get("Europe/Moscow")?;
        let s = weekdays_9_to_18();
        let four_hours = jiff::SignedDuration::from_hours(4);
        // Monday 10:00 Moscow: four hours later the same day.
        let monday: Timestamp = "2026-11-23T07:00:00Z".parse()?;
        assert_eq!(
            s.after_working(monday, &tz, four_hours),
            Some("2026-11-23T11:00:00Z".parse()?)
        );
        // Friday 17:30 Moscow: half an hour on Friday, three and a half from Monday 09:00.
        let friday: Timestamp = "2026-11-27T14:30:00Z".parse()?;
        assert_eq!(
            s.after_working(friday, &tz, four_hours),
            Some("2026-11-30T09:30:00Z".parse()?)
        );
        // Saturday: the clock starts on Monday morning.
        let saturday: Timestamp = "2026-11-28T09:00:00Z".parse()?;
        assert_eq!(
            s.after_working(saturday, &tz, four_hours),
            Some("2026-11-30T10:00:00Z".parse()?)
        );
        // Around the clock it is plain time; never open, no promise.
        assert_eq!(
            Schedule::always().after_working(friday, &tz, four_hours),
            Some("2026-11-27T18:30:00Z".parse()?)
        );
        assert_eq!(Schedule::default().after_working(friday, &tz, four_hours), None);
        Ok(())
    }

    #[test]
    fn validation_names_the_problem() {
        let bad_day = Schedule([("monday".to_string(), "09:00-18:00".to_string())].into());
        let e = bad_day.validate().unwrap_err();
        assert_eq!((e.field, e.reason), ("schedule", "weekday"));
        let backwards = Schedule([("tue".to_string(), "18:00-09:00".to_string())].into());
        let e = backwards.validate().unwrap_err();
        assert_eq!((e.field, e.reason), ("schedule.tue", "hours_form"));
        for bad in [
            "9-18",
            "09:00",
            "09:60-10:00",
            "25:00-26:00",
            "09:00-24:01",
            "0900-1800",
        ] {
            let s = Schedule([("mon".to_string(), bad.to_string())].into());
            assert!(s.validate().is_err(), "{bad}");
        }
        assert_eq!(weekdays_9_to_18().validate(), Ok(()));
    }

    fn exception(date: &str, hours: Option<&str>) -> Exception {
        Exception {
            date: date.into(),
            hours: hours.map(Into::into),
            note: String::new(),
        }
    }

    #[test]
    fn a_holiday_closes_its_day_and_a_short_day_closes_early() -> Result<(), jiff::Error> {
        let tz = TimeZone::get("Europe/Moscow")?;
        let cal = Calendar::new(
            &weekdays_9_to_18(),
            &[
                exception("2026-12-31", Some("09:00-15:00")),
                exception("2027-01-01", None),
                // A Saturday worked in exchange for a holiday.
                exception("2027-01-09", Some("10:00-14:00")),
            ],
        );
        // Thursday 31 December, 16:00 Moscow: a normal Thursday is open, this one has closed.
        assert!(!cal.is_open("2026-12-31T13:00:00Z".parse()?, &tz));
        assert!(cal.is_open("2026-12-31T11:00:00Z".parse()?, &tz));
        // Friday 1 January at noon: closed all day; it opens on Monday 4 January at 09:00.
        let new_year: Timestamp = "2027-01-01T09:00:00Z".parse()?;
        assert!(!cal.is_open(new_year, &tz));
        assert_eq!(cal.next_open(new_year, &tz), Some("2027-01-04T06:00:00Z".parse()?));
        // The worked Saturday opens at 10:00.
        assert!(cal.is_open("2027-01-09T08:00:00Z".parse()?, &tz));
        assert_eq!(
            cal.next_open("2027-01-08T16:00:00Z".parse()?, &tz),
            Some("2027-01-09T07:00:00Z".parse()?)
        );
        Ok(())
    }

    #[test]
    fn working_hours_skip_holidays() -> Result<(), jiff::Error> {
        let tz = TimeZone::get("Europe/Moscow")?;
        let cal = Calendar::new(&weekdays_9_to_18(), &[exception("2026-11-30", None)]);
        // Friday 17:30 + 4 working hours: Monday is a holiday, so Tuesday 12:30.
        let friday: Timestamp = "2026-11-27T14:30:00Z".parse()?;
        assert_eq!(
            cal.after_working(friday, &tz, jiff::SignedDuration::from_hours(4)),
            Some("2026-12-01T09:30:00Z".parse()?)
        );
        Ok(())
    }

    #[test]
    fn a_24_7_calendar_loses_no_minute_at_midnight() -> Result<(), jiff::Error> {
        let cal = Schedule::always().calendar();
        let before_midnight: Timestamp = "2026-11-23T23:30:00Z".parse()?;
        assert_eq!(
            cal.after_working(before_midnight, &TimeZone::UTC, jiff::SignedDuration::from_hours(1)),
            Some("2026-11-24T00:30:00Z".parse()?)
        );
        Ok(())
    }

    #[test]
    fn exceptions_are_checked() {
        let e = validate_exceptions(&[exception("2027-02-30", None)]).unwrap_err();
        assert_eq!((e.field, e.reason), ("holidays", "date_form"));
        let e = validate_exceptions(&[
            exception("2027-01-01", None),
            exception("2027-01-01", Some("10:00-12:00")),
        ])
        .unwrap_err();
        assert_eq!(e.reason, "date_twice");
        let e = validate_exceptions(&[exception("2027-01-01", Some("12:00-10:00"))]).unwrap_err();
        assert_eq!(e.reason, "hours_form");
        let long = Exception {
            note: "x".repeat(101),
            ..exception("2027-01-01", None)
        };
        assert_eq!(validate_exceptions(&[long]).unwrap_err().reason, "too_long");
        assert!(validate_exceptions(&[exception("2027-01-01", None)]).is_ok());
    }
}
