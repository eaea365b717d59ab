//! The order tickets are called in: priority (VIP) first, then a sort key that is the time the
//! ticket joined its queue. A transfer "to the front" gets a key below every ordinary ticket but
//! keeps arrival order among other front transfers.

use super::Millis;

/// Where a transferred ticket goes in its new queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Placement {
    Back,
    Front,
}

/// Far enough below any real epoch-millis value that every front key sorts before every back key,
/// yet still ordered by time among themselves.
const FRONT_OFFSET: Millis = 1 << 50;

pub fn sort_key(now: Millis, placement: Placement) -> Millis {
    match placement {
        Placement::Back => now,
        Placement::Front => now - FRONT_OFFSET,
    }
}

pub const PRIORITY_NORMAL: i64 = 0;
pub const PRIORITY_VIP: i64 = 10;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_transfers_go_before_everything_but_keep_their_own_order() {
        let old_back = sort_key(1_000, Placement::Back);
        let early_front = sort_key(2_000_000_000_000, Placement::Front);
        let late_front = sort_key(2_000_000_000_500, Placement::Front);
        assert!(early_front < old_back);
        assert!(late_front < old_back);
        assert!(early_front < late_front);
    }

    #[test]
    fn back_is_arrival_order() {
        assert!(sort_key(5, Placement::Back) < sort_key(6, Placement::Back));
    }
}
