//! Sign-in throttling (OWASP ASVS 2.2.1): passwords cannot be guessed at machine speed, and a
//! stranger cannot lock the owner out.
//!
//! An attempt counts against several keys at once, each with its own limit in a 15-minute window:
//! - the client address, for any login of its kind (guessing across many logins from one place);
//! - the login and the address together (a stranger's wrong passwords lock only the stranger);
//! - the login from unknown browsers, from anywhere (guessing from many addresses);
//! - or, from a browser where this login signed in before (its known-device cookie), that
//!   browser alone: the owner's known device is let in while strangers exhaust the rest.
//!
//! Users and devices (kiosks, boards) are counted apart. An attempt is reserved before the
//! password is hashed and counted against every key while it runs, so parallel guesses cannot
//! overrun a limit between the check and the count. Kept per node.

use std::collections::HashMap;

use super::Millis;

pub const WINDOW_MS: Millis = 15 * 60 * 1000;
/// Wrong attempts per address, per kind, whatever the login.
pub const PER_ADDRESS: u32 = 30;
/// Wrong attempts per login from one address (without a known-device cookie).
pub const PER_LOGIN_AND_ADDRESS: u32 = 5;
/// Wrong attempts per login from unknown browsers, all addresses together.
pub const PER_LOGIN_UNKNOWN: u32 = 10;
/// Wrong attempts per login from one known device.
pub const PER_KNOWN_DEVICE: u32 = 5;
/// Wrong VIP codes per branch, all its kiosks together.
pub const PER_VIP_CODE: u32 = 5;
/// Beyond this many tracked keys the oldest idle record is dropped, so a flood of made-up logins
/// cannot grow memory without bound.
const MAX_TRACKED: usize = 20_000;

/// Who tries to sign in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    User,
    Device,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::User => "user",
            Kind::Device => "device",
        }
    }
}

/// The keys and limits one attempt counts against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    keys: Vec<(String, u32)>,
    /// The login's records a success clears, known device or not.
    login_keys: Vec<String>,
}

impl Attempt {
    /// `known_device`: the known-device cookie's id, when the browser showed one that belongs to
    /// this login.
    pub fn new(kind: Kind, login: &str, address: &str, known_device: Option<&str>) -> Self {
        let k = kind.as_str();
        let login = login.trim().to_lowercase();
        let pair = format!("{k}|pair|{login}|{address}");
        let unknown = format!("{k}|login|{login}");
        let mut keys = vec![(format!("{k}|addr|{address}"), PER_ADDRESS)];
        let mut login_keys = vec![pair.clone(), unknown.clone()];
        match known_device {
            Some(device) => {
                let known = format!("{k}|known|{login}|{device}");
                keys.push((known.clone(), PER_KNOWN_DEVICE));
                login_keys.push(known);
            }
            None => {
                keys.push((pair, PER_LOGIN_AND_ADDRESS));
                keys.push((unknown, PER_LOGIN_UNKNOWN));
            }
        }
        Attempt { keys, login_keys }
    }
}

impl Attempt {
    /// A VIP code tried at a branch's kiosk (a short code would fall to a few dozen guesses).
    pub fn vip_code(branch_id: i64) -> Self {
        Attempt {
            keys: vec![(format!("vip|branch|{branch_id}"), PER_VIP_CODE)],
            login_keys: Vec::new(),
        }
    }
}

impl Attempt {
    /// A screen's pairing code typed by an organisation's admin: wrong ones are counted per
    /// organisation, so codes shown on others' screens cannot be guessed.
    pub fn pairing_code(org_id: i64) -> Self {
        Attempt {
            keys: vec![(format!("pair|org|{org_id}"), PER_VIP_CODE)],
            login_keys: Vec::new(),
        }
    }
}

/// How an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    Failed,
    /// Neither (the store failed, the client went away): only its reservation is released.
    Aborted,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    since: Millis,
    in_flight: u32,
}

#[derive(Debug)]
pub struct Throttle {
    entries: HashMap<String, Entry>,
    capacity: usize,
}

impl Default for Throttle {
    fn default() -> Self {
        Self::with_capacity(MAX_TRACKED)
    }
}

impl Throttle {
    /// At most `capacity` keys are tracked.
    pub fn with_capacity(capacity: usize) -> Self {
        Throttle {
            entries: HashMap::new(),
            capacity,
        }
    }

    /// Reserves an attempt: None when it may go on (and it then counts until [`Throttle::end`]),
    /// else the seconds until one of its keys opens again.
    pub fn begin(&mut self, attempt: &Attempt, now: Millis) -> Option<i64> {
        let mut wait = None;
        for (key, limit) in &attempt.keys {
            if let Some(e) = self.entries.get_mut(key) {
                if now - e.since >= WINDOW_MS {
                    e.failures = 0;
                    e.since = now;
                }
                if e.failures + e.in_flight >= *limit {
                    let secs = ((e.since + WINDOW_MS - now) + 999) / 1000;
                    wait = Some(wait.map_or(secs, |w: i64| w.max(secs)).max(1));
                }
            }
        }
        if wait.is_some() {
            return wait;
        }
        self.make_room(attempt.keys.len());
        for (key, _) in &attempt.keys {
            self.entries
                .entry(key.clone())
                .or_insert(Entry {
                    failures: 0,
                    since: now,
                    in_flight: 0,
                })
                .in_flight += 1;
        }
        None
    }

    /// Ends a reserved attempt. A success clears its login's records (not the address's: an
    /// attacker signing in to their own account between guesses must not reset their count).
    pub fn end(&mut self, attempt: &Attempt, outcome: Outcome, now: Millis) {
        for (key, _) in &attempt.keys {
            let Some(e) = self.entries.get_mut(key) else { continue };
            e.in_flight = e.in_flight.saturating_sub(1);
            if outcome == Outcome::Failed {
                if now - e.since >= WINDOW_MS {
                    e.failures = 0;
                    e.since = now;
                }
                e.failures += 1;
            }
            if e.failures == 0 && e.in_flight == 0 {
                self.entries.remove(key);
            }
        }
        if outcome == Outcome::Succeeded {
            for key in &attempt.login_keys {
                if let Some(e) = self.entries.get_mut(key) {
                    e.failures = 0;
                    if e.in_flight == 0 {
                        self.entries.remove(key);
                    }
                }
            }
        }
    }

    fn make_room(&mut self, n: usize) {
        while self.entries.len() + n > self.capacity {
            let oldest = self
                .entries
                .iter()
                .filter(|(_, e)| e.in_flight == 0)
                .min_by_key(|(_, e)| e.since)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => {
                    self.entries.remove(&k);
                }
                None => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(login: &str, address: &str) -> Attempt {
        Attempt::new(Kind::User, login, address, None)
    }

    fn fail(t: &mut Throttle, a: &Attempt, now: Millis) -> bool {
        if t.begin(a, now).is_some() {
            return false;
        }
        t.end(a, Outcome::Failed, now);
        true
    }

    #[test]
    fn a_stranger_locks_only_themselves_and_the_window_reopens() {
        let mut t = Throttle::default();
        let stranger = user("Anna", "203.0.113.9");
        for i in 0..PER_LOGIN_AND_ADDRESS {
            assert!(fail(&mut t, &stranger, i64::from(i)));
        }
        assert_eq!(
            t.begin(&user("ANNA", "203.0.113.9"), 10),
            Some(WINDOW_MS / 1000),
            "case does not matter"
        );
        // The owner, from her own address, is still let in.
        let owner = user("anna", "198.51.100.7");
        assert_eq!(t.begin(&owner, 11), None);
        t.end(&owner, Outcome::Succeeded, 11);
        assert_eq!(t.begin(&stranger, WINDOW_MS + 5), None, "the window has passed");
    }

    #[test]
    fn guesses_from_many_addresses_stop_at_the_login_but_the_known_device_goes_on() {
        let mut t = Throttle::default();
        for i in 0..PER_LOGIN_UNKNOWN {
            assert!(fail(&mut t, &user("anna", &format!("203.0.113.{i}")), 1));
        }
        assert!(
            t.begin(&user("anna", "203.0.113.200"), 2).is_some(),
            "a new address is refused too"
        );
        assert!(
            t.begin(&user("anna", "198.51.100.7"), 2).is_some(),
            "unknown browsers wait"
        );
        let known = Attempt::new(Kind::User, "anna", "198.51.100.7", Some("dev-1"));
        assert_eq!(t.begin(&known, 3), None, "her known device is let in");
        t.end(&known, Outcome::Succeeded, 3);
        // Her success clears the login's count for everyone.
        assert_eq!(t.begin(&user("anna", "198.51.100.8"), 4), None);
    }

    #[test]
    fn one_address_cannot_spray_logins_and_devices_count_apart() {
        let mut t = Throttle::default();
        for i in 0..PER_ADDRESS {
            assert!(fail(&mut t, &user(&format!("user{i}"), "203.0.113.9"), 1));
        }
        assert!(t.begin(&user("someone-else", "203.0.113.9"), 2).is_some());
        let kiosk = Attempt::new(Kind::Device, "kiosk1", "203.0.113.9", None);
        assert_eq!(t.begin(&kiosk, 2), None, "a kiosk at the same address is counted apart");
        t.end(&kiosk, Outcome::Succeeded, 2);
        // A success from that address does not reset the address's count.
        let own = user("attacker", "203.0.113.9");
        assert!(t.begin(&own, 3).is_some());
    }

    #[test]
    fn parallel_attempts_count_before_they_finish() {
        let mut t = Throttle::default();
        let a = user("anna", "203.0.113.9");
        let admitted = (0..40).filter(|_| t.begin(&a, 1).is_none()).count();
        assert_eq!(admitted, PER_LOGIN_AND_ADDRESS as usize, "only the limit runs at once");
        for _ in 0..admitted {
            t.end(&a, Outcome::Failed, 2);
        }
        assert!(t.begin(&a, 3).is_some());
        // An aborted attempt (the store failed) releases its place without counting.
        let b = user("boris", "198.51.100.1");
        assert_eq!(t.begin(&b, 1), None);
        t.end(&b, Outcome::Aborted, 1);
        assert!(t.entries.keys().all(|k| !k.contains("boris")), "nothing kept for it");
    }

    #[test]
    fn vip_codes_are_counted_per_branch() {
        let mut t = Throttle::default();
        for i in 0..PER_VIP_CODE {
            assert!(fail(&mut t, &Attempt::vip_code(1), i64::from(i)));
        }
        assert!(t.begin(&Attempt::vip_code(1), 10).is_some());
        assert_eq!(
            t.begin(&Attempt::vip_code(2), 10),
            None,
            "another branch is not affected"
        );
    }

    #[test]
    fn memory_stays_bounded_under_made_up_logins() {
        let mut t = Throttle::with_capacity(300);
        for i in 0..1000 {
            fail(&mut t, &user(&format!("x{i}"), &format!("a{i}")), i as i64);
        }
        assert!(t.entries.len() <= 300);
        // The newest are the ones kept.
        assert!(t.entries.keys().any(|k| k.contains("x999")));
    }
}
