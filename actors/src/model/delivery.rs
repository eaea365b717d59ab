//! Why a reply did not reach the customer, by class. A bridge that gives up on a reply says which
//! class it was; the thread and the console show the class in the reader's language, never the
//! remote peer's own words (those stay in the log and the outbox row).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Undelivered {
    /// The customer blocked the bot, or left the chat.
    Blocked,
    /// The chat or the address no longer exists.
    Gone,
    /// The mail came back (a delivery failure report).
    Bounced,
    /// The channel refused this reply (too large, a kind it does not take, a bad address).
    Refused,
    /// The channel could not be reached for too long; the hub stopped trying.
    GaveUp,
}

impl Undelivered {
    pub fn as_str(self) -> &'static str {
        match self {
            Undelivered::Blocked => "blocked",
            Undelivered::Gone => "gone",
            Undelivered::Bounced => "bounced",
            Undelivered::Refused => "refused",
            Undelivered::GaveUp => "gave_up",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "blocked" => Undelivered::Blocked,
            "gone" => Undelivered::Gone,
            "bounced" => Undelivered::Bounced,
            "refused" => Undelivered::Refused,
            "gave_up" => Undelivered::GaveUp,
            _ => return None,
        })
    }
}

/// Where a reply stands with its channel, as the console shows it.
pub fn delivery_state(sent: bool, failed: bool) -> &'static str {
    match (failed, sent) {
        (true, _) => "failed",
        (false, true) => "sent",
        (false, false) => "pending",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_round_trip_and_failure_wins() {
        for u in [
            Undelivered::Blocked,
            Undelivered::Gone,
            Undelivered::Bounced,
            Undelivered::Refused,
            Undelivered::GaveUp,
        ] {
            assert_eq!(Undelivered::parse(u.as_str()), Some(u));
        }
        assert_eq!(Undelivered::parse("Forbidden: bot was blocked by the user"), None);
        // A bounce arrives after the mail was sent: the failure is what counts.
        assert_eq!(delivery_state(true, true), "failed");
        assert_eq!(delivery_state(true, false), "sent");
        assert_eq!(delivery_state(false, false), "pending");
    }
}
