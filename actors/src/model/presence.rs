//! An operator's presence at their window.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Presence {
    Offline,
    Available,
    Break { reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PresenceError {
    #[error("finish or transfer the ticket in hand before taking a break")]
    TicketInHand,
    #[error("a break needs a reason")]
    NoReason,
    #[error("choose a window before going available")]
    NoWindow,
}

/// Whether the operator may move to `next` now. A break is only taken with empty hands (the
/// visitor at the window would be left standing), and only with a reason, which reports need.
pub fn change(next: &Presence, ticket_in_hand: bool, has_window: bool) -> Result<(), PresenceError> {
    match next {
        Presence::Break { reason } => {
            if ticket_in_hand {
                return Err(PresenceError::TicketInHand);
            }
            if reason.trim().is_empty() {
                return Err(PresenceError::NoReason);
            }
        }
        Presence::Available if !has_window => return Err(PresenceError::NoWindow),
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn break_needs_empty_hands_and_a_reason() {
        let br = Presence::Break { reason: "lunch".into() };
        assert_eq!(change(&br, true, true), Err(PresenceError::TicketInHand));
        assert_eq!(change(&br, false, true), Ok(()));
        let blank = Presence::Break { reason: "  ".into() };
        assert_eq!(change(&blank, false, true), Err(PresenceError::NoReason));
    }

    #[test]
    fn available_needs_a_window() {
        assert_eq!(change(&Presence::Available, false, false), Err(PresenceError::NoWindow));
        assert_eq!(change(&Presence::Available, false, true), Ok(()));
        assert_eq!(change(&Presence::Offline, true, false), Ok(()));
    }
}
