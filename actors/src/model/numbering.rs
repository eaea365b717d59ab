//! Ticket numbers: a service prefix and a sequence that restarts each day in the branch's zone.

use jiff::{tz::TimeZone, Timestamp};

/// `A` + 7 → `A007`. Three digits as boards and announcements expect; a busy day past 999 simply
/// grows a digit rather than wrapping into a number already on the board.
pub fn ticket_code(prefix: &str, seq: i64) -> String {
    format!("{prefix}{seq:03}")
}

/// The branch-local calendar day an instant falls on, as `YYYY-MM-DD`: the key that numbering
/// restarts on.
pub fn local_day(at: Timestamp, tz: &TimeZone) -> String {
    at.to_zoned(tz.clone()).date().to_string()
}

/// Validates a service prefix: one to three ASCII capital letters, so it reads out clearly.
pub fn valid_prefix(prefix: &str) -> bool {
    (1..=3).contains(&prefix.len()) && prefix.bytes().all(|b| b.is_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_zero_padded_and_grow_past_999() {
        assert_eq!(ticket_code("A", 1), "A001");
        assert_eq!(ticket_code("B", 91), "B091");
        assert_eq!(ticket_code("VIP", 999), "VIP999");
        assert_eq!(ticket_code("A", 1000), "A1000");
    }

    #[test]
    fn day_restarts_at_local_midnight() -> Result<(), jiff::Error> {
        let tz = TimeZone::get("Europe/Moscow")?;
        // 20:59:59 UTC is 23:59:59 in Moscow (UTC+3); one second later the local day changes.
        let before: Timestamp = "2026-11-23T20:59:59Z".parse()?;
        let after: Timestamp = "2026-11-23T21:00:00Z".parse()?;
        assert_eq!(local_day(before, &tz), "2026-11-23");
        assert_eq!(local_day(after, &tz), "2026-11-24");
        Ok(())
    }

    #[test]
    fn prefixes_are_short_capitals() {
        assert!(valid_prefix("A"));
        assert!(valid_prefix("VIP"));
        assert!(!valid_prefix(""));
        assert!(!valid_prefix("a"));
        assert!(!valid_prefix("ABCD"));
        assert!(!valid_prefix("А")); // Cyrillic А is not ASCII
    }
}
