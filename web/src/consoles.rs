//! Presence follows the operator's console: an operator whose every console closed, and none came
//! back within the grace (a reload, a short network drop), is signed off as if they had left
//! without a word (`Hub::operator_left`): their chats go to others instead of being offered to a
//! closed page, and a visitor they had called goes back in line instead of staying on the board.
//!
//! Each node counts the consoles it holds open and tells the store every few seconds that their
//! operators are still there (one statement per node); any node then signs off the operators
//! nobody has seen for longer than the grace, each once (the store hands each to one node). An
//! operator who never opened a console (an integration through the API) is never signed off.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hub_actors::model::now_millis;
use hub_actors::Hub;

/// How often a node says which consoles it holds, and looks for operators gone.
const BEAT: Duration = Duration::from_secs(2);

/// The operator consoles open on this node, by operator.
#[derive(Default)]
pub struct Consoles {
    held: Mutex<Held>,
}

#[derive(Default)]
struct Held {
    /// Open consoles per operator.
    open: HashMap<i64, usize>,
    /// Operators whose last console here closed since the last beat: seen until that moment,
    /// so a console that opened and closed between two beats is signed off too.
    left: HashSet<i64>,
}

/// One open console; dropping it (the socket closed) counts it out.
pub struct Console {
    consoles: Arc<Consoles>,
    user_id: i64,
}

impl Drop for Console {
    fn drop(&mut self) {
        let mut held = self.consoles.held.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = held.open.get_mut(&self.user_id) {
            *n -= 1;
            if *n == 0 {
                held.open.remove(&self.user_id);
                held.left.insert(self.user_id);
            }
        }
    }
}

impl Consoles {
    /// Counts a console of `user_id` in until the returned guard drops.
    pub fn open(self: &Arc<Self>, user_id: i64) -> Console {
        *self
            .held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .open
            .entry(user_id)
            .or_default() += 1;
        Console {
            consoles: self.clone(),
            user_id,
        }
    }

    /// The operators seen here since the last beat: those with a console open, and those whose
    /// last console closed meanwhile (told once).
    fn seen(&self) -> Vec<i64> {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        let left: Vec<i64> = held.left.drain().collect();
        held.open.keys().copied().chain(left).collect()
    }

    /// How many consoles are open here.
    pub fn count(&self) -> usize {
        self.held.lock().unwrap_or_else(|p| p.into_inner()).open.values().sum()
    }
}

/// Says which consoles this node holds, and signs off the operators whose consoles are gone,
/// every [`BEAT`] until the hub stops.
pub async fn follow(hub: Hub, consoles: Arc<Consoles>, grace: Duration) {
    let stop = hub.tasks().token();
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(BEAT) => {}
        }
        let now = now_millis();
        if let Err(e) = hub.store().consoles_seen(&consoles.seen(), now).await {
            tracing::warn!(error = %e, "cannot record which operator consoles are open");
            continue;
        }
        let gone = match hub.store().consoles_gone(now - grace.as_millis() as i64).await {
            Ok(gone) => gone,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read which operator consoles are gone");
                continue;
            }
        };
        for user_id in gone {
            tracing::info!(
                operator = user_id,
                "the operator's console closed and did not come back: signed off"
            );
            if let Err(e) = hub.operator_left(user_id).await {
                tracing::warn!(operator = user_id, error = %e, "could not sign off an operator whose console closed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_console_closed_between_beats_is_seen_once_more() {
        let consoles = Arc::new(Consoles::default());
        let a = consoles.open(1);
        let b = consoles.open(1);
        let c = consoles.open(2);
        assert_eq!(consoles.count(), 3);
        drop(a);
        // Operator 1 still has a console open: nothing left.
        let mut seen = consoles.seen();
        seen.sort_unstable();
        assert_eq!(seen, [1, 2]);
        drop(b);
        drop(c);
        assert_eq!(consoles.count(), 0);
        // Both were seen until they closed; told once, then never again.
        let mut seen = consoles.seen();
        seen.sort_unstable();
        assert_eq!(seen, [1, 2]);
        assert!(consoles.seen().is_empty());
    }
}
