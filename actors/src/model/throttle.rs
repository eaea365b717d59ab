//! Sign-in throttling: after a few wrong passwords for one login, further attempts are refused
//! for a while, so a password cannot be guessed at machine speed. Kept per node.

use std::collections::HashMap;

use super::Millis;

/// Wrong attempts allowed per login within `WINDOW_MS`.
pub const MAX_FAILURES: u32 = 5;
pub const WINDOW_MS: Millis = 15 * 60 * 1000;
/// Beyond this many tracked logins the oldest record is dropped, so a flood of made-up logins
/// cannot grow memory without bound.
const MAX_TRACKED: usize = 10_000;

#[derive(Debug, Default)]
pub struct Throttle {
    failures: HashMap<String, (u32, Millis)>,
}

impl Throttle {
    /// None if `login` may try now; else the seconds until it may.
    pub fn check(&self, login: &str, now: Millis) -> Option<i64> {
        let (count, since) = self.failures.get(&login.to_lowercase())?;
        let until = since + WINDOW_MS;
        (*count >= MAX_FAILURES && now < until).then(|| (until - now + 999) / 1000)
    }

    pub fn failed(&mut self, login: &str, now: Millis) {
        if self.failures.len() >= MAX_TRACKED {
            if let Some(oldest) = self
                .failures
                .iter()
                .min_by_key(|(_, (_, at))| *at)
                .map(|(k, _)| k.clone())
            {
                self.failures.remove(&oldest);
            }
        }
        let entry = self.failures.entry(login.to_lowercase()).or_insert((0, now));
        if now - entry.1 >= WINDOW_MS {
            *entry = (0, now);
        }
        entry.0 += 1;
    }

    pub fn succeeded(&mut self, login: &str) {
        self.failures.remove(&login.to_lowercase());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_the_limit_and_reopens_after_the_window() {
        let mut t = Throttle::default();
        for i in 0..MAX_FAILURES {
            assert_eq!(t.check("Anna", i as i64), None);
            t.failed("anna", i as i64);
        }
        assert_eq!(t.check("ANNA", 10), Some(WINDOW_MS / 1000), "case does not matter");
        assert_eq!(t.check("anna", WINDOW_MS), None, "the window has passed");
        assert_eq!(t.check("boris", 10), None, "others are not affected");
    }

    #[test]
    fn success_clears_the_record() {
        let mut t = Throttle::default();
        for _ in 0..MAX_FAILURES - 1 {
            t.failed("anna", 0);
        }
        t.succeeded("anna");
        t.failed("anna", 1);
        assert_eq!(t.check("anna", 2), None);
    }
}
