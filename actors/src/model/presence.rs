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
    #[error("choose a window before going available (or have a chat queue among your skills)")]
    NoWindow,
}

/// Whether the operator may move to `next` now. A break is only taken with empty hands (the
/// visitor at the window would be left standing), and only with a reason, which reports need.
/// Going available needs somewhere to work: a window, or a remote queue among one's skills.
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

/// The services an operator asks to serve at a window, checked against the branch's menu
/// (`(id, issues tickets)` pairs): each must be a service of that branch that issues tickets,
/// not a menu group. Returns them sorted without repeats.
pub fn services_to_serve(requested: &[i64], menu: &[(i64, bool)]) -> Result<Vec<i64>, PlaceError> {
    let mut ids = requested.to_vec();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Err(PlaceError::NoService);
    }
    for id in &ids {
        match menu.iter().find(|(s, _)| s == id) {
            None => return Err(PlaceError::UnknownService(*id)),
            Some((_, false)) => return Err(PlaceError::Group(*id)),
            Some(_) => {}
        }
    }
    Ok(ids)
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlaceError {
    #[error("choose at least one service to serve")]
    NoService,
    #[error("service {0} is not on this branch's menu")]
    UnknownService(i64),
    #[error("{0} is a menu group; choose the services inside it")]
    Group(i64),
}

#[cfg(test)]
mod place_tests {
    use super::*;

    const MENU: [(i64, bool); 3] = [(1, false), (2, true), (3, true)];

    #[test]
    fn services_are_sorted_and_deduplicated() {
        assert_eq!(services_to_serve(&[3, 2, 3], &MENU), Ok(vec![2, 3]));
    }

    #[test]
    fn groups_unknown_and_empty_are_refused() {
        assert_eq!(services_to_serve(&[], &MENU), Err(PlaceError::NoService));
        assert_eq!(services_to_serve(&[2, 9], &MENU), Err(PlaceError::UnknownService(9)));
        assert_eq!(services_to_serve(&[1], &MENU), Err(PlaceError::Group(1)));
    }
}
