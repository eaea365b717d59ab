//! A conversation's status workflow: a chat, a mail thread or a call waits in its queue, is
//! offered to one operator at a time, is open while an operator holds it, and is closed.
//!
//! The store applies a move by a guarded update whose status condition and new status come from
//! here ([`Move::from`], [`Move::to`]), so no status change is decided in SQL alone; who may make
//! it (the operator offered it, the one holding it) the store checks in the same update.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationStatus {
    /// Waiting in its queue for an operator.
    Queued,
    /// Offered to one operator, who has a while to accept it.
    Offered,
    /// Held by an operator.
    Open,
    /// Finished (a new message starts a new conversation).
    Closed,
}

impl ConversationStatus {
    pub const ALL: [Self; 4] = [Self::Queued, Self::Offered, Self::Open, Self::Closed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Offered => "offered",
            Self::Open => "open",
            Self::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Still waiting for an operator to take it (the customer sees "in the queue").
    pub fn waiting(self) -> bool {
        matches!(self, Self::Queued | Self::Offered)
    }

    /// Takes messages (from the customer; from the operator holding it when open).
    pub fn live(self) -> bool {
        self != Self::Closed
    }

    /// Those still waiting for an operator.
    pub const WAITING: [Self; 2] = [Self::Queued, Self::Offered];
    /// Those not finished.
    pub const LIVE: [Self; 3] = [Self::Queued, Self::Offered, Self::Open];

    /// The store's condition that a conversation (`column`) is live, written as the store's
    /// unique index on live conversations writes it, so that index serves it.
    pub fn sql_live(column: &str) -> String {
        format!("{column} <> '{}'", Self::Closed.as_str())
    }

    /// The store's condition that `column` holds one of `set` (in the model's own words).
    pub fn sql_in(column: &str, set: &[Self]) -> String {
        let list: Vec<String> = set.iter().map(|s| format!("'{}'", s.as_str())).collect();
        format!("{column} IN ({})", list.join(", "))
    }
}

impl std::fmt::Display for ConversationStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<String> for ConversationStatus {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s).ok_or_else(|| format!("unknown conversation status {s:?}"))
    }
}

/// What happens to a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    /// The router offers a waiting conversation to an operator with room for it.
    Offer,
    /// The offer ran out, was declined, or its operator went on a break.
    Withdraw,
    /// The operator offered it takes it.
    Accept,
    /// A supervisor hands it to an operator (manual pick, take-over), waiting or held.
    Assign,
    /// The operator holding it passes it to a colleague; it stays open.
    PassToOperator,
    /// The operator holding it sends it to a queue, where it waits again.
    PassToQueue,
    /// The operator signs out: what they hold or were offered waits again.
    HandBack,
    /// A call whose caller hung up (or a chat the customer left) while it waited.
    Abandon,
    /// A call answered on the phone but lost before the operator took it: it waits again.
    Return,
    /// The operator holding it finishes it.
    Close,
}

impl Move {
    /// The statuses the move may start from.
    pub fn from(self) -> &'static [ConversationStatus] {
        use ConversationStatus::*;
        match self {
            Self::Offer => &[Queued],
            Self::Withdraw | Self::Accept => &[Offered],
            Self::Assign => &[Queued, Offered, Open],
            Self::PassToOperator | Self::PassToQueue | Self::Close => &[Open],
            Self::HandBack => &[Offered, Open],
            Self::Abandon => &[Queued, Offered],
            Self::Return => &[Open],
        }
    }

    /// The status the move leads to.
    pub fn to(self) -> ConversationStatus {
        use ConversationStatus::*;
        match self {
            Self::Offer => Offered,
            Self::Withdraw | Self::PassToQueue | Self::HandBack | Self::Return => Queued,
            Self::Accept | Self::Assign | Self::PassToOperator => Open,
            Self::Abandon | Self::Close => Closed,
        }
    }

    /// Where `from` goes by this move, or why it may not.
    pub fn apply(self, from: ConversationStatus) -> Result<ConversationStatus, MoveError> {
        if self.from().contains(&from) {
            Ok(self.to())
        } else {
            Err(MoveError {
                what: self,
                status: from,
            })
        }
    }

    /// The store's condition that the conversation is in a status the move starts from.
    pub fn guard(self) -> String {
        ConversationStatus::sql_in("status", self.from())
    }

    /// The store's assignment of the status the move leads to.
    pub fn set(self) -> String {
        format!("status = '{}'", self.to().as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a conversation that is {status} cannot {what:?}")]
pub struct MoveError {
    pub what: Move,
    pub status: ConversationStatus,
}

#[cfg(test)]
mod tests {
    use super::ConversationStatus::*;
    use super::*;

    const MOVES: [Move; 10] = [
        Move::Offer,
        Move::Withdraw,
        Move::Accept,
        Move::Assign,
        Move::PassToOperator,
        Move::PassToQueue,
        Move::HandBack,
        Move::Abandon,
        Move::Return,
        Move::Close,
    ];

    #[test]
    fn a_chat_goes_from_its_queue_to_an_operator_and_is_closed() {
        let mut s = Queued;
        for m in [
            Move::Offer,
            Move::Withdraw,
            Move::Offer,
            Move::Accept,
            Move::PassToQueue,
            Move::Offer,
            Move::Accept,
            Move::Close,
        ] {
            s = m.apply(s).unwrap_or_else(|e| panic!("{e}"));
        }
        assert_eq!(s, Closed);
    }

    #[test]
    fn nothing_leaves_closed() {
        for m in MOVES {
            assert!(m.apply(Closed).is_err(), "{m:?} from closed");
        }
    }

    #[test]
    fn every_status_but_closed_can_be_left_and_every_one_reached() {
        for s in [Queued, Offered, Open] {
            assert!(
                MOVES.iter().any(|m| m.apply(s).is_ok_and(|t| t != s)),
                "{s} is a dead end"
            );
        }
        for s in ConversationStatus::ALL {
            assert!(MOVES.iter().any(|m| m.to() == s), "{s} is never reached");
        }
    }

    #[test]
    fn only_an_offer_is_accepted_and_only_a_held_one_closed() {
        assert_eq!(Move::Accept.apply(Offered), Ok(Open));
        assert!(Move::Accept.apply(Queued).is_err(), "accept without an offer");
        assert!(Move::Accept.apply(Open).is_err(), "accept twice");
        assert!(Move::Close.apply(Queued).is_err(), "close what nobody holds");
        assert!(Move::Close.apply(Offered).is_err());
        assert!(Move::Offer.apply(Offered).is_err(), "offer to two at once");
        assert_eq!(Move::Assign.apply(Open), Ok(Open), "a take-over");
        assert!(
            Move::Abandon.apply(Open).is_err(),
            "a held conversation is the operator's to close"
        );
    }

    #[test]
    fn the_stores_conditions_name_exactly_the_moves_statuses() {
        assert_eq!(Move::HandBack.guard(), "status IN ('offered', 'open')");
        assert_eq!(Move::Close.set(), "status = 'closed'");
        for m in MOVES {
            for s in ConversationStatus::ALL {
                assert_eq!(m.guard().contains(&format!("'{s}'")), m.apply(s).is_ok(), "{m:?} {s}");
            }
        }
    }

    #[test]
    fn waiting_and_live_agree_with_their_sets() {
        for s in ConversationStatus::ALL {
            assert_eq!(ConversationStatus::WAITING.contains(&s), s.waiting(), "{s}");
            assert_eq!(ConversationStatus::LIVE.contains(&s), s.live(), "{s}");
        }
        assert_eq!(
            ConversationStatus::sql_in("c.status", &ConversationStatus::WAITING),
            "c.status IN ('queued', 'offered')"
        );
        // Live is all but closed: the one status left out is the one the condition names.
        let not_live: Vec<_> = ConversationStatus::ALL.into_iter().filter(|s| !s.live()).collect();
        assert_eq!(not_live, [Closed]);
        assert_eq!(ConversationStatus::sql_live("status"), "status <> 'closed'");
    }

    #[test]
    fn statuses_read_back_as_written() {
        for s in ConversationStatus::ALL {
            assert_eq!(ConversationStatus::parse(s.as_str()), Some(s));
            assert_eq!(ConversationStatus::try_from(s.as_str().to_string()), Ok(s));
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{s}\""));
        }
        assert!(ConversationStatus::parse("wrap_up").is_none());
    }
}
