//! Per-source lockout: a source (IP address) that fails authentication `limit` times within
//! `window_ms` is refused everything, right or wrong, for `lock_ms`. This is what stops
//! password guessing (svcrack) without locking the account out for its real phone elsewhere.
//! The table is bounded: the oldest sources are forgotten first.

use std::collections::HashMap;
use std::net::IpAddr;

pub struct Lockout {
    pub limit: u32,
    pub window_ms: i64,
    pub lock_ms: i64,
    max_sources: usize,
    sources: HashMap<IpAddr, Entry>,
}

#[derive(Clone, Copy)]
struct Entry {
    first_failure: i64,
    failures: u32,
    locked_until: i64,
}

impl Lockout {
    pub fn new(limit: u32, window_ms: i64, lock_ms: i64) -> Self {
        Self {
            limit: limit.max(1),
            window_ms,
            lock_ms,
            max_sources: 100_000,
            sources: HashMap::new(),
        }
    }

    /// Whether the source is locked out now.
    pub fn locked(&self, ip: IpAddr, now: i64) -> bool {
        self.sources.get(&ip).is_some_and(|e| e.locked_until > now)
    }

    /// Counts a failure; answers whether this one locked the source.
    pub fn failed(&mut self, ip: IpAddr, now: i64) -> bool {
        if self.sources.len() >= self.max_sources && !self.sources.contains_key(&ip) {
            let (window, lock) = (self.window_ms, self.lock_ms);
            self.sources
                .retain(|_, e| e.locked_until > now || now - e.first_failure < window.max(lock));
            if self.sources.len() >= self.max_sources {
                return false;
            }
        }
        let e = self.sources.entry(ip).or_insert(Entry {
            first_failure: now,
            failures: 0,
            locked_until: 0,
        });
        if now - e.first_failure > self.window_ms {
            e.first_failure = now;
            e.failures = 0;
        }
        e.failures += 1;
        if e.failures >= self.limit && e.locked_until <= now {
            e.locked_until = now + self.lock_ms;
            e.failures = 0;
            e.first_failure = now;
            return true;
        }
        false
    }

    /// A success clears the source's count (not a lock in force).
    pub fn succeeded(&mut self, ip: IpAddr, now: i64) {
        if !self.locked(ip, now) {
            self.sources.remove(&ip);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_limit_within_window_then_lets_go() {
        let ip: IpAddr = "10.0.0.9".parse().unwrap();
        let other: IpAddr = "10.0.0.10".parse().unwrap();
        let mut l = Lockout::new(3, 60_000, 300_000);
        assert!(!l.failed(ip, 0));
        assert!(!l.failed(ip, 1_000));
        assert!(l.failed(ip, 2_000));
        assert!(l.locked(ip, 2_001));
        assert!(!l.locked(other, 2_001), "only that source");
        l.succeeded(ip, 3_000);
        assert!(l.locked(ip, 3_000), "a right password does not lift a lock");
        assert!(!l.locked(ip, 302_001));
    }

    #[test]
    fn failures_spread_out_never_lock() {
        let ip: IpAddr = "::1".parse().unwrap();
        let mut l = Lockout::new(3, 10_000, 60_000);
        for i in 0..10 {
            assert!(!l.failed(ip, i * 6_000));
        }
        assert!(!l.locked(ip, 60_000));
    }
}
