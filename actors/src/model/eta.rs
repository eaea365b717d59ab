//! Estimated wait: how long until a ticket at a given position is called.

/// What a customer who leaves an address while nobody is free is promised: an answer within
/// this much working time of the branch (its schedule's clock, see `Schedule::after_working`).
pub const ANSWER_WITHIN_WORKING_MS: i64 = 4 * 3600 * 1000;

/// Service time assumed before the branch has any history today.
pub const DEFAULT_SERVICE_SECS: f64 = 300.0;

/// `ahead` tickets are before this one; `operators` are serving the queue; `avg_service_secs` is the
/// mean handling time recently seen (None without history). With nobody serving, the estimate is
/// unknown rather than a made-up figure.
pub fn estimate_wait_secs(ahead: i64, operators: i64, avg_service_secs: Option<f64>) -> Option<i64> {
    if operators <= 0 {
        return None;
    }
    let per_ticket = avg_service_secs.filter(|s| *s > 0.0).unwrap_or(DEFAULT_SERVICE_SECS);
    // Each operator takes one ticket at a time: the queue drains `operators` tickets per round.
    let rounds = (ahead.max(0) as f64) / (operators as f64);
    Some((rounds * per_ticket).round() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_in_line_waits_nothing() {
        assert_eq!(estimate_wait_secs(0, 2, Some(120.0)), Some(0));
    }

    #[test]
    fn more_operators_shorten_the_wait() {
        assert_eq!(estimate_wait_secs(4, 1, Some(60.0)), Some(240));
        assert_eq!(estimate_wait_secs(4, 2, Some(60.0)), Some(120));
    }

    #[test]
    fn nobody_serving_means_unknown() {
        assert_eq!(estimate_wait_secs(3, 0, Some(60.0)), None);
    }

    #[test]
    fn no_history_uses_the_default() {
        assert_eq!(estimate_wait_secs(1, 1, None), Some(DEFAULT_SERVICE_SECS as i64));
        assert_eq!(estimate_wait_secs(1, 1, Some(0.0)), Some(DEFAULT_SERVICE_SECS as i64));
    }
}
