//! The rules of a trunk to a provider: which of its proxies to register with next (failover),
//! when to refresh a registration, how long to wait after every proxy failed, and which number
//! an inbound call from the provider dialled.

use std::time::Duration;

/// Where a trunk's registration goes next. Proxies are tried in their order; a failure moves to
/// the next one, and when every proxy failed in a row the trunk waits (doubling, up to
/// [`Failover::MAX_BACKOFF`]) and starts again from the first, the provider's preferred one.
#[derive(Debug, Clone)]
pub struct Failover {
    proxies: usize,
    current: usize,
    failed_in_row: usize,
    rounds_failed: u32,
}

/// What the trunk does after a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Try this proxy now.
    Try(usize),
    /// Every proxy failed: wait, then try the first again.
    Wait(Duration),
}

impl Failover {
    pub const FIRST_BACKOFF: Duration = Duration::from_secs(2);
    pub const MAX_BACKOFF: Duration = Duration::from_secs(300);

    pub fn new(proxies: usize) -> Self {
        Self {
            proxies: proxies.max(1),
            current: 0,
            failed_in_row: 0,
            rounds_failed: 0,
        }
    }

    /// The proxy to use now.
    pub fn current(&self) -> usize {
        self.current
    }

    /// The current proxy registered: failures are forgotten.
    pub fn succeeded(&mut self) {
        self.failed_in_row = 0;
        self.rounds_failed = 0;
    }

    /// The current proxy failed (no answer, refused, or a refresh failed).
    pub fn failed(&mut self) -> Next {
        self.failed_in_row += 1;
        if self.failed_in_row < self.proxies {
            self.current = (self.current + 1) % self.proxies;
            return Next::Try(self.current);
        }
        self.failed_in_row = 0;
        self.current = 0;
        let wait = Self::FIRST_BACKOFF.saturating_mul(1 << self.rounds_failed.min(8));
        self.rounds_failed += 1;
        Next::Wait(wait.min(Self::MAX_BACKOFF))
    }
}

/// When to refresh a registration the provider granted for `granted_secs`: at three quarters of
/// it (as RFC 3261 clients do), so a lost refresh still has time for a retry and failover, and
/// never sooner than a second.
pub fn refresh_in(granted_secs: u32) -> Duration {
    Duration::from_millis((u64::from(granted_secs) * 750).max(1000))
}

/// The number an inbound call from a provider dialled: providers send calls to the Contact the
/// hub registered (its user part is the trunk's username), with the DID in To; others put the
/// DID in the request URI itself.
pub fn dialled<'a>(request_user: &'a str, to_user: Option<&'a str>, trunk_username: Option<&str>) -> &'a str {
    match (trunk_username, to_user) {
        (Some(u), Some(to)) if request_user.is_empty() || request_user == u => to,
        _ => request_user,
    }
}

/// A number to call out to, as E.164 digits with an optional leading `+` (3 to 16 digits), or
/// None. Only such numbers leave through a trunk: no SIP URIs, hosts or parameters, so an
/// operator's click cannot be turned into a call anywhere else.
pub fn dialable(number: &str) -> Option<String> {
    let trimmed: String = number
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.'))
        .collect();
    let (plus, digits) = match trimmed.strip_prefix('+') {
        Some(rest) => ("+", rest),
        None => ("", trimmed.as_str()),
    };
    let ok = (3..=16).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
    ok.then(|| format!("{plus}{digits}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failover_walks_the_proxies_then_backs_off_from_the_first() {
        let mut f = Failover::new(3);
        assert_eq!(f.current(), 0);
        assert_eq!(f.failed(), Next::Try(1));
        assert_eq!(f.failed(), Next::Try(2));
        assert_eq!(f.failed(), Next::Wait(Failover::FIRST_BACKOFF));
        assert_eq!(f.current(), 0);
        assert_eq!(f.failed(), Next::Try(1));
        assert_eq!(f.failed(), Next::Try(2));
        assert_eq!(f.failed(), Next::Wait(Failover::FIRST_BACKOFF * 2));
    }

    #[test]
    fn success_forgets_the_failures() {
        let mut f = Failover::new(2);
        assert_eq!(f.failed(), Next::Try(1));
        f.succeeded();
        // Registered on the second: a failed refresh there moves back to the first.
        assert_eq!(f.failed(), Next::Try(0));
        assert_eq!(f.failed(), Next::Wait(Failover::FIRST_BACKOFF));
    }

    #[test]
    fn backoff_is_capped() {
        let mut f = Failover::new(1);
        let mut last = Duration::ZERO;
        for _ in 0..20 {
            if let Next::Wait(w) = f.failed() {
                last = w;
            }
        }
        assert_eq!(last, Failover::MAX_BACKOFF);
    }

    #[test]
    fn refresh_comes_at_three_quarters() {
        assert_eq!(refresh_in(300), Duration::from_secs(225));
        assert_eq!(refresh_in(4), Duration::from_secs(3));
        assert_eq!(refresh_in(0), Duration::from_secs(1));
    }

    #[test]
    fn the_did_is_in_to_when_the_provider_calls_the_registered_contact() {
        assert_eq!(dialled("hubuser", Some("74951234567"), Some("hubuser")), "74951234567");
        assert_eq!(dialled("74951234567", Some("hubuser"), Some("hubuser")), "74951234567");
        assert_eq!(dialled("8800", Some("8800"), None), "8800");
        assert_eq!(dialled("", Some("74951234567"), Some("hubuser")), "74951234567");
    }

    #[test]
    fn only_plain_numbers_are_dialable() {
        assert_eq!(dialable("+7 (916) 123-45-67").as_deref(), Some("+79161234567"));
        assert_eq!(dialable("112").as_deref(), Some("112"));
        assert_eq!(dialable("12"), None);
        assert_eq!(dialable("sip:evil@example.com"), None);
        assert_eq!(dialable("+7916;user=phone"), None);
        assert_eq!(dialable("00000000000000000"), None);
        assert_eq!(dialable("+"), None);
    }
}
