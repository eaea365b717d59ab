//! A visit ticket's status workflow in the electronic queue.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    /// In its queue, waiting for an operator.
    Waiting,
    /// Called to a window; the visitor is walking there.
    Called,
    /// The operator has started serving the visitor.
    Serving,
    /// Served to the end.
    Done,
    /// Called (and recalled) but the visitor never came.
    NoShow,
}

impl TicketStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Waiting => "waiting",
            Self::Called => "called",
            Self::Serving => "serving",
            Self::Done => "done",
            Self::NoShow => "no_show",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "waiting" => Self::Waiting,
            "called" => Self::Called,
            "serving" => Self::Serving,
            "done" => Self::Done,
            "no_show" => Self::NoShow,
            _ => return None,
        })
    }

    /// A ticket "in hand" belongs to an operator: the operator can neither call another nor
    /// take a break until it is finished, marked no-show or transferred.
    pub fn in_hand(self) -> bool {
        matches!(self, Self::Called | Self::Serving)
    }

    /// SQL saying that `column` holds a status in hand.
    pub fn sql_in_hand(column: &str) -> String {
        let list: Vec<String> = [Self::Called, Self::Serving]
            .iter()
            .filter(|s| s.in_hand())
            .map(|s| format!("'{}'", s.as_str()))
            .collect();
        format!("{column} IN ({})", list.join(", "))
    }
}

/// What an operator does with the ticket in hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketAction {
    Recall,
    NoShow,
    Start,
    Finish,
    Transfer,
    /// A supervisor moves a waiting ticket: to another service, or to the front or back of its
    /// line. Only a waiting ticket moves so; one in an operator's hands is transferred by them.
    Requeue,
}

impl TicketAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Recall => "recall",
            Self::NoShow => "no_show",
            Self::Start => "start",
            Self::Finish => "finish",
            Self::Transfer => "transfer",
            Self::Requeue => "requeue",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("cannot {action} a ticket that is {status}")]
    NotAllowed { action: &'static str, status: &'static str },
    #[error("no-show is allowed after {required} recall(s); this ticket was recalled {done} time(s)")]
    TooFewRecalls { required: i64, done: i64 },
}

impl TransitionError {
    /// A stable name for the reason, with what the sentence needs, so a page says it in its
    /// own language.
    pub fn reason(&self) -> (&'static str, serde_json::Value) {
        match self {
            Self::NotAllowed { action, status } => {
                ("not_allowed", serde_json::json!({ "action": action, "status": status }))
            }
            Self::TooFewRecalls { required, done } => (
                "too_few_recalls",
                serde_json::json!({ "required": required, "done": done }),
            ),
        }
    }
}

/// The status a ticket moves to when `action` is applied, or why it may not be.
///
/// `recalls` is how many times the ticket was recalled since it was called, `recalls_before_no_show`
/// the branch's setting: a visitor is only given up on after being called that many extra times.
pub fn transition(
    status: TicketStatus,
    action: TicketAction,
    recalls: i64,
    recalls_before_no_show: i64,
) -> Result<TicketStatus, TransitionError> {
    use TicketAction as A;
    use TicketStatus as S;
    let next = match (status, action) {
        (S::Called, A::Recall) => S::Called,
        (S::Called, A::NoShow) => {
            if recalls < recalls_before_no_show {
                return Err(TransitionError::TooFewRecalls {
                    required: recalls_before_no_show,
                    done: recalls,
                });
            }
            S::NoShow
        }
        (S::Called, A::Start) => S::Serving,
        // Finishing straight from "called" is allowed: a quick question answered at the window
        // needs no separate start.
        (S::Called | S::Serving, A::Finish) => S::Done,
        (S::Called | S::Serving, A::Transfer) => S::Waiting,
        (S::Waiting, A::Requeue) => S::Waiting,
        _ => {
            return Err(TransitionError::NotAllowed {
                action: action.as_str(),
                status: status.as_str(),
            })
        }
    };
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use TicketAction as A;
    use TicketStatus as S;

    #[test]
    fn only_a_waiting_ticket_is_requeued() {
        assert_eq!(transition(S::Waiting, A::Requeue, 0, 1), Ok(S::Waiting));
        for s in [S::Called, S::Serving, S::Done, S::NoShow] {
            assert!(
                matches!(transition(s, A::Requeue, 0, 1), Err(TransitionError::NotAllowed { .. })),
                "{s:?}"
            );
        }
        for a in [A::Recall, A::NoShow, A::Start, A::Finish, A::Transfer] {
            assert!(transition(S::Waiting, a, 0, 1).is_err(), "{a:?} on a waiting ticket");
        }
    }

    #[test]
    fn called_ticket_can_be_started_finished_recalled_transferred() {
        assert_eq!(transition(S::Called, A::Start, 0, 1), Ok(S::Serving));
        assert_eq!(transition(S::Called, A::Finish, 0, 1), Ok(S::Done));
        assert_eq!(transition(S::Called, A::Recall, 3, 1), Ok(S::Called));
        assert_eq!(transition(S::Called, A::Transfer, 0, 1), Ok(S::Waiting));
        assert_eq!(transition(S::Serving, A::Finish, 0, 1), Ok(S::Done));
        assert_eq!(transition(S::Serving, A::Transfer, 0, 1), Ok(S::Waiting));
    }

    #[test]
    fn no_show_needs_the_configured_recalls() {
        assert_eq!(
            transition(S::Called, A::NoShow, 0, 2),
            Err(TransitionError::TooFewRecalls { required: 2, done: 0 })
        );
        assert_eq!(transition(S::Called, A::NoShow, 2, 2), Ok(S::NoShow));
        assert_eq!(transition(S::Called, A::NoShow, 0, 0), Ok(S::NoShow));
    }

    #[test]
    fn serving_ticket_cannot_be_recalled_or_no_show() {
        assert!(transition(S::Serving, A::Recall, 0, 0).is_err());
        assert!(transition(S::Serving, A::NoShow, 5, 0).is_err());
        assert!(transition(S::Serving, A::Start, 0, 0).is_err());
    }

    #[test]
    fn closed_and_waiting_tickets_take_no_action() {
        for s in [S::Waiting, S::Done, S::NoShow] {
            for a in [A::Recall, A::NoShow, A::Start, A::Finish, A::Transfer] {
                assert!(transition(s, a, 9, 0).is_err(), "{s:?} {a:?}");
            }
        }
    }

    #[test]
    fn status_names_round_trip() {
        for s in [S::Waiting, S::Called, S::Serving, S::Done, S::NoShow] {
            assert_eq!(TicketStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(TicketStatus::parse("lost"), None);
    }
}
