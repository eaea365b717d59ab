//! What a queue board shows: the last N calls, newest first, each with its window.

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

use super::Millis;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardCall {
    pub ticket_id: i64,
    pub number: String,
    pub window: String,
    pub called_at: Millis,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardState {
    pub calls: VecDeque<BoardCall>,
    pub size: usize,
}

impl BoardState {
    pub fn new(size: usize) -> Self {
        Self {
            calls: VecDeque::with_capacity(size),
            size: size.max(1),
        }
    }

    /// Records a call or recall. A recalled ticket moves back to the top (it is the newest call)
    /// instead of appearing twice.
    pub fn apply_call(&mut self, call: BoardCall) {
        self.calls.retain(|c| c.ticket_id != call.ticket_id);
        self.calls.push_front(call);
        self.calls.truncate(self.size);
    }

    /// A ticket that was transferred away leaves the board: its window no longer expects it.
    pub fn remove(&mut self, ticket_id: i64) {
        self.calls.retain(|c| c.ticket_id != ticket_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(id: i64, at: Millis) -> BoardCall {
        BoardCall {
            ticket_id: id,
            number: format!("A{id:03}"),
            window: "1".into(),
            called_at: at,
        }
    }

    #[test]
    fn keeps_the_newest_n() {
        let mut b = BoardState::new(2);
        b.apply_call(call(1, 1));
        b.apply_call(call(2, 2));
        b.apply_call(call(3, 3));
        let ids: Vec<i64> = b.calls.iter().map(|c| c.ticket_id).collect();
        assert_eq!(ids, vec![3, 2]);
    }

    #[test]
    fn recall_moves_to_top_without_duplicate() {
        let mut b = BoardState::new(5);
        b.apply_call(call(1, 1));
        b.apply_call(call(2, 2));
        b.apply_call(call(1, 3));
        let ids: Vec<i64> = b.calls.iter().map(|c| c.ticket_id).collect();
        assert_eq!(ids, vec![1, 2]);
        assert_eq!(b.calls[0].called_at, 3);
    }

    #[test]
    fn removed_ticket_leaves() {
        let mut b = BoardState::new(5);
        b.apply_call(call(1, 1));
        b.remove(1);
        assert!(b.calls.is_empty());
    }
}
