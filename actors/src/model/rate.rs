//! A sliding-window limit per key (a client's address): at most `limit` hits in `window_ms`.
//! Kept per node, bounded in memory. Used where anonymous clients create things: new chat
//! visitors, tickets from the public phone registrar.

use std::collections::{HashMap, VecDeque};

use super::Millis;

/// Beyond this many tracked keys the stalest is forgotten, so a flood of addresses cannot grow
/// memory without bound.
const MAX_KEYS: usize = 10_000;

#[derive(Debug)]
pub struct RateLimit {
    limit: usize,
    window_ms: Millis,
    hits: HashMap<String, VecDeque<Millis>>,
}

impl RateLimit {
    pub fn new(limit: usize, window_ms: Millis) -> Self {
        Self {
            limit: limit.max(1),
            window_ms,
            hits: HashMap::new(),
        }
    }

    /// Records a hit for `key` if allowed; otherwise answers the seconds until one is.
    pub fn hit(&mut self, key: &str, now: Millis) -> Result<(), i64> {
        if !self.hits.contains_key(key) && self.hits.len() >= MAX_KEYS {
            let stalest = self
                .hits
                .iter()
                .min_by_key(|(_, h)| h.back().copied().unwrap_or(0))
                .map(|(k, _)| k.clone());
            if let Some(k) = stalest {
                self.hits.remove(&k);
            }
        }
        let hits = self.hits.entry(key.to_string()).or_default();
        while hits.front().is_some_and(|t| now - t >= self.window_ms) {
            hits.pop_front();
        }
        if hits.len() >= self.limit {
            let oldest = hits.front().copied().unwrap_or(now);
            return Err(((oldest + self.window_ms - now) + 999) / 1000);
        }
        hits.push_back(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_up_to_the_limit_then_refuses_until_the_window_slides() {
        let mut r = RateLimit::new(3, 10_000);
        assert_eq!(r.hit("1.2.3.4", 0), Ok(()));
        assert_eq!(r.hit("1.2.3.4", 1_000), Ok(()));
        assert_eq!(r.hit("1.2.3.4", 2_000), Ok(()));
        assert_eq!(r.hit("1.2.3.4", 3_000), Err(7));
        // Another address has its own budget.
        assert_eq!(r.hit("5.6.7.8", 3_000), Ok(()));
        // The first hit leaves the window at 10 s.
        assert_eq!(r.hit("1.2.3.4", 10_000), Ok(()));
        assert_eq!(r.hit("1.2.3.4", 10_001), Err(1));
    }

    #[test]
    fn memory_stays_bounded() {
        let mut r = RateLimit::new(1, 1_000);
        for i in 0..(MAX_KEYS + 50) {
            let _ = r.hit(&format!("k{i}"), i as Millis);
        }
        assert!(r.hits.len() <= MAX_KEYS);
    }
}
