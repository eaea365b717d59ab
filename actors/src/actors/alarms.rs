//! The node's alarm clock for service-desk requests: when each request's next alarm (a warning,
//! a breach, an escalation step) is due, in one ordered index with one timer. When a moment
//! comes the request's actor is woken (started again if it was passivated) and does the rest.
//!
//! This is how a request's clocks are timers without each request keeping an actor alive: a
//! passivated request costs its entry here (two map entries), not an actor. The index is filled
//! at start from the store (`requests.next_alarm_at`), so a restart, even after SIGKILL, sets
//! every timer again; the store's alarm rows make each alarm fire once.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

use crate::model::{now_millis, Millis};

#[derive(Default)]
struct Index {
    by_time: BTreeSet<(Millis, i64)>,
    by_request: HashMap<i64, Millis>,
}

#[derive(Clone, Default)]
pub struct AlarmClock {
    index: Arc<Mutex<Index>>,
    changed: Arc<Notify>,
}

impl AlarmClock {
    /// Sets (or, with None, clears) when request `id` must be woken.
    pub fn set(&self, id: i64, at: Option<Millis>) {
        let mut i = self.index.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(old) = i.by_request.remove(&id) {
            i.by_time.remove(&(old, id));
        }
        if let Some(at) = at {
            i.by_request.insert(id, at);
            let earliest = i.by_time.first().is_none_or(|(first, _)| at < *first);
            i.by_time.insert((at, id));
            if earliest {
                self.changed.notify_one();
            }
        }
    }

    /// How many requests have an alarm to come on this node.
    pub fn len(&self) -> usize {
        self.index.lock().unwrap_or_else(|p| p.into_inner()).by_request.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Takes every request due by `now` off the index.
    fn take_due(&self, now: Millis) -> (Vec<i64>, Option<Millis>) {
        let mut i = self.index.lock().unwrap_or_else(|p| p.into_inner());
        let mut due = Vec::new();
        while let Some(&(at, id)) = i.by_time.first() {
            if at > now {
                break;
            }
            i.by_time.pop_first();
            i.by_request.remove(&id);
            due.push(id);
        }
        (due, i.by_time.first().map(|(at, _)| *at))
    }

    /// Runs the clock until `stop`: `wake` is called for each request whose moment came.
    pub async fn run(&self, wake: impl Fn(i64), stop: tokio_util::sync::CancellationToken) {
        loop {
            let (due, next) = self.take_due(now_millis());
            for id in due {
                wake(id);
            }
            // Never sleep past an hour: a wall clock set forward is noticed within it.
            let wait = next.map_or(Duration::from_secs(3600), |at| {
                Duration::from_millis(u64::try_from(at - now_millis()).unwrap_or(0)).min(Duration::from_secs(3600))
            });
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(wait) => {}
                _ = self.changed.notified() => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_entry_per_request_in_time_order() {
        let c = AlarmClock::default();
        c.set(1, Some(300));
        c.set(2, Some(100));
        c.set(3, Some(200));
        c.set(1, Some(50));
        c.set(3, None);
        assert_eq!(c.len(), 2);
        assert_eq!(c.take_due(99), (vec![1], Some(100)));
        assert_eq!(c.take_due(1000), (vec![2], None));
        assert!(c.is_empty());
    }

    #[tokio::test]
    async fn wakes_each_request_when_its_moment_comes() {
        let c = AlarmClock::default();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let stop = tokio_util::sync::CancellationToken::new();
        let runner = {
            let (c, stop) = (c.clone(), stop.clone());
            tokio::spawn(async move {
                c.run(
                    move |id| {
                        let _ = tx.send((id, now_millis()));
                    },
                    stop,
                )
                .await
            })
        };
        let now = now_millis();
        c.set(7, Some(now + 80));
        c.set(8, Some(now + 40));
        c.set(9, Some(now - 1000));
        let mut got = Vec::new();
        for _ in 0..3 {
            got.push(rx.recv().await.unwrap());
        }
        let order: Vec<i64> = got.iter().map(|(id, _)| *id).collect();
        assert_eq!(order, vec![9, 8, 7], "past due at once, then in time order");
        assert!(got[1].1 >= now + 40 && got[2].1 >= now + 80, "never early");
        stop.cancel();
        runner.await.unwrap();
    }
}
