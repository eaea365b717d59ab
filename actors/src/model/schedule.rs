//! A branch's working hours: per weekday, an opening and closing time in the branch's zone.
//! Stored as JSON `{"mon": "09:00-18:00", "sat": "10:00-14:00"}`; a day left out is closed.

use jiff::{civil::Weekday, tz::TimeZone, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Schedule(pub BTreeMap<String, String>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("unknown weekday {0:?}: use mon, tue, wed, thu, fri, sat, sun")]
    Day(String),
    #[error("hours {0:?} must look like 09:00-18:00, opening before closing")]
    Hours(String),
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn day_key(w: Weekday) -> &'static str {
    DAYS[(w.to_monday_zero_offset()) as usize]
}

fn minutes(hhmm: &str) -> Option<u32> {
    let (h, m) = hhmm.split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h <= 24 && m < 60 && h * 60 + m <= 24 * 60).then_some(h * 60 + m)
}

fn span(hours: &str) -> Option<(u32, u32)> {
    let (open, close) = hours.split_once('-')?;
    let (open, close) = (minutes(open.trim())?, minutes(close.trim())?);
    (open < close).then_some((open, close))
}

impl Schedule {
    /// Checks every entry, so a typo is caught when the schedule is saved, not when a visitor
    /// finds the kiosk closed.
    pub fn validate(&self) -> Result<(), ScheduleError> {
        for (day, hours) in &self.0 {
            if !DAYS.contains(&day.as_str()) {
                return Err(ScheduleError::Day(day.clone()));
            }
            span(hours).ok_or_else(|| ScheduleError::Hours(hours.clone()))?;
        }
        Ok(())
    }

    pub fn is_open(&self, at: Timestamp, tz: &TimeZone) -> bool {
        let local = at.to_zoned(tz.clone());
        let Some(hours) = self.0.get(day_key(local.weekday())) else {
            return false;
        };
        let Some((open, close)) = span(hours) else {
            return false;
        };
        let now = local.hour() as u32 * 60 + local.minute() as u32;
        open <= now && now < close
    }

    /// The next moment it opens after `at` (None: never open, or already open). Steps by the
    /// minute over the coming week, which is plenty for a schedule of whole minutes.
    pub fn next_open(&self, at: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        if self.is_open(at, tz) {
            return None;
        }
        let start = at.as_second() - at.as_second().rem_euclid(60) + 60;
        (0..7 * 24 * 60)
            .map(|i| start + i * 60)
            .filter_map(|s| Timestamp::from_second(s).ok())
            .find(|t| self.is_open(*t, tz))
    }

    /// When `working` of open time will have passed since `at`: the clock of a promise that runs
    /// only in working hours ("an answer within four working hours" made at 17:30 on a Friday of a
    /// 09:00-18:00 week falls due on Monday at 12:30). Counted minute by minute over the coming
    /// fortnight; None when the schedule has not that much open time in it.
    pub fn after_working(&self, at: Timestamp, tz: &TimeZone, working: jiff::SignedDuration) -> Option<Timestamp> {
        let needed = (working.as_secs().max(0) as u64).div_ceil(60);
        if needed == 0 {
            return Some(at);
        }
        let mut counted = 0;
        for i in 0..14 * 24 * 60 {
            let t = Timestamp::from_second(at.as_second() + i * 60).ok()?;
            if self.is_open(t, tz) {
                counted += 1;
                if counted == needed {
                    return Timestamp::from_second(t.as_second() + 60).ok();
                }
            }
        }
        None
    }

    /// Open every day around the clock: what a kiosk in a 24/7 branch, or a test, uses.
    pub fn always() -> Self {
        Self(
            DAYS.iter()
                .map(|d| (d.to_string(), "00:00-24:00".to_string()))
                .collect(),
        )
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
        assert_eq!(bad_day.validate(), Err(ScheduleError::Day("monday".into())));
        let backwards = Schedule([("mon".to_string(), "18:00-09:00".to_string())].into());
        assert_eq!(backwards.validate(), Err(ScheduleError::Hours("18:00-09:00".into())));
        assert_eq!(weekdays_9_to_18().validate(), Ok(()));
    }
}
