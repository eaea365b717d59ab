//! An operator's presence at their window.

use serde::{Deserialize, Serialize};

use super::ticket::{TicketAction, TicketStatus};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Presence {
    Offline,
    Available,
    Break { reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PresenceError {
    #[error("finish or transfer the ticket in hand first")]
    TicketInHand,
    #[error("a break needs a reason")]
    NoReason,
    #[error("choose a window before going available (or have a chat queue among your skills)")]
    NoWindow,
    #[error("you are on a break: end it before calling the next visitor")]
    OnBreak,
    #[error("you are away: go back to work before calling the next visitor")]
    Away,
    #[error("window {window} has another operator at it; choose another window")]
    WindowTaken { window: String },
    #[error("you do not work at branch {branch}; an admin lists your branches")]
    NotYourBranch { branch: String },
    #[error("window {window} is not among yours at this branch; an admin lists your windows")]
    NotYourWindow { window: String },
    #[error("a service chosen is not among yours at this branch; an admin lists your services")]
    NotYourService,
}

impl PresenceError {
    /// A stable name for the reason, with what the sentence needs, so a page says it in its
    /// own language.
    pub fn reason(&self) -> (&'static str, serde_json::Value) {
        match self {
            Self::TicketInHand => ("ticket_in_hand", serde_json::Value::Null),
            Self::NoReason => ("no_reason", serde_json::Value::Null),
            Self::NoWindow => ("no_window", serde_json::Value::Null),
            Self::OnBreak => ("on_break", serde_json::Value::Null),
            Self::Away => ("away", serde_json::Value::Null),
            Self::WindowTaken { window } => ("window_taken", serde_json::json!({ "window": window })),
            Self::NotYourBranch { branch } => ("not_your_branch", serde_json::json!({ "branch": branch })),
            Self::NotYourWindow { window } => ("not_your_window", serde_json::json!({ "window": window })),
            Self::NotYourService => ("not_your_service", serde_json::Value::Null),
        }
    }
}

/// Whether a person may take a window at a branch: an empty list of branches is every branch of
/// the organisation (a small organisation need not list them).
pub fn may_work_at(branches: &[i64], branch_id: i64) -> bool {
    branches.is_empty() || branches.contains(&branch_id)
}

/// What an admin listed for a person (windows, services) that is at one branch (`here`): the
/// lists are per branch, so a person listed for window 3 at one branch may sit at any window of
/// another where nothing is listed for them.
pub fn listed_here(listed: &[i64], here: &[i64]) -> Vec<i64> {
    here.iter().copied().filter(|id| listed.contains(id)).collect()
}

/// Whether a person may take a window (or serve a service) given what is listed for them at
/// its branch: nothing listed is anything there.
pub fn may_take(listed_here: &[i64], id: i64) -> bool {
    listed_here.is_empty() || listed_here.contains(&id)
}

/// Whether the operator may call the next visitor: only while at work. A break ends only when
/// the operator says so ("back to work"), never as a side effect of another button.
pub fn may_call(now: &Presence) -> Result<(), PresenceError> {
    match now {
        Presence::Available => Ok(()),
        Presence::Break { .. } => Err(PresenceError::OnBreak),
        Presence::Offline => Err(PresenceError::Away),
    }
}

/// What becomes of the ticket in hand when its operator leaves without a word (the console
/// closed and did not come back within the grace, or a sign-out that did not say): a visitor
/// called but not yet served goes back to the front of the queue, for the next operator to call,
/// rather than staying on the board for a window nobody sits at; one being served stays with
/// the operator, who is with them.
pub fn left_without_saying(in_hand: Option<TicketStatus>) -> Option<TicketAction> {
    match in_hand {
        Some(TicketStatus::Called) => Some(TicketAction::Transfer),
        _ => None,
    }
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
    fn only_an_operator_at_work_calls() {
        assert_eq!(may_call(&Presence::Available), Ok(()));
        let br = Presence::Break {
            reason: "Обед".into()
        };
        assert_eq!(may_call(&br), Err(PresenceError::OnBreak));
        assert_eq!(may_call(&Presence::Offline), Err(PresenceError::Away));
    }

    #[test]
    fn a_called_visitor_goes_back_to_the_queue_when_the_operator_vanishes() {
        assert_eq!(
            left_without_saying(Some(TicketStatus::Called)),
            Some(TicketAction::Transfer)
        );
        assert_eq!(left_without_saying(Some(TicketStatus::Serving)), None);
        assert_eq!(left_without_saying(None), None);
    }

    #[test]
    fn branches_listed_or_all() {
        assert!(may_work_at(&[], 7));
        assert!(may_work_at(&[3, 7], 7));
        assert!(!may_work_at(&[3], 7));
    }

    #[test]
    fn reasons_are_named_for_the_pages() {
        let (name, args) = PresenceError::WindowTaken { window: "3".into() }.reason();
        assert_eq!(name, "window_taken");
        assert_eq!(args["window"], "3");
        assert_eq!(PresenceError::OnBreak.reason().0, "on_break");
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
/// not a menu group, and one of theirs when an admin listed services for them there (`skilled`:
/// every service they have a skill in). Returns them sorted without repeats.
pub fn services_to_serve(requested: &[i64], menu: &[(i64, bool)], skilled: &[i64]) -> Result<Vec<i64>, PlaceError> {
    let mut ids = requested.to_vec();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Err(PlaceError::NoService);
    }
    let leaves: Vec<i64> = menu.iter().filter(|(_, leaf)| *leaf).map(|(id, _)| *id).collect();
    let theirs = listed_here(skilled, &leaves);
    for id in &ids {
        match menu.iter().find(|(s, _)| s == id) {
            None => return Err(PlaceError::UnknownService(*id)),
            Some((_, false)) => return Err(PlaceError::Group(*id)),
            Some(_) if !may_take(&theirs, *id) => return Err(PlaceError::NotYours(*id)),
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
    #[error("service {0} is not among the ones listed for you at this branch")]
    NotYours(i64),
}

#[cfg(test)]
mod place_tests {
    use super::*;

    const MENU: [(i64, bool); 3] = [(1, false), (2, true), (3, true)];

    #[test]
    fn services_are_sorted_and_deduplicated() {
        assert_eq!(services_to_serve(&[3, 2, 3], &MENU, &[]), Ok(vec![2, 3]));
    }

    #[test]
    fn groups_unknown_and_empty_are_refused() {
        assert_eq!(services_to_serve(&[], &MENU, &[]), Err(PlaceError::NoService));
        assert_eq!(
            services_to_serve(&[2, 9], &MENU, &[]),
            Err(PlaceError::UnknownService(9))
        );
        assert_eq!(services_to_serve(&[1], &MENU, &[]), Err(PlaceError::Group(1)));
    }

    #[test]
    fn listed_services_bind_only_at_their_branch() {
        // Skilled in 3 here (and 40, a chat queue or another branch's service): only 3 here.
        assert_eq!(services_to_serve(&[3], &MENU, &[3, 40]), Ok(vec![3]));
        assert_eq!(
            services_to_serve(&[2, 3], &MENU, &[3, 40]),
            Err(PlaceError::NotYours(2))
        );
        // Skilled only elsewhere: nothing listed here, so any service here.
        assert_eq!(services_to_serve(&[2, 3], &MENU, &[40]), Ok(vec![2, 3]));
        // A skill in a menu group lists nothing.
        assert_eq!(services_to_serve(&[2], &MENU, &[1]), Ok(vec![2]));
    }

    #[test]
    fn listed_windows_bind_only_at_their_branch() {
        let here = [10, 11, 12];
        assert_eq!(listed_here(&[11, 99], &here), vec![11]);
        assert!(may_take(&listed_here(&[11, 99], &here), 11));
        assert!(!may_take(&listed_here(&[11, 99], &here), 12));
        assert!(
            may_take(&listed_here(&[99], &here), 12),
            "listed only at another branch"
        );
        assert!(may_take(&listed_here(&[], &here), 10));
    }
}
