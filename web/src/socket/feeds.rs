//! Every feed drawn from the bus (operator consoles, maps, ticket pages), followed by one task
//! per node: the node hears an event once, finds the feeds of its organisation and branch in an
//! index, serialises the event once, and writes it to each feed that wants it. Before this, each
//! socket had its own bus receiver and woke for every event of every organisation.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use hub_actors::bus::{Bus, Event, EventKind};
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use super::Conn;
use super::Text;

/// What a feed sends for an event meant for it.
pub(crate) enum Pick {
    /// The event itself, as JSON (made once for every feed).
    Event,
    /// A fixed text instead ("something changed").
    Fixed(&'static str),
}

/// What a feed does when events may have been missed (the bus lagged or reconnected).
pub(crate) enum OnLag {
    /// Reconnect and load everything again.
    Close,
    /// Tell the page to fetch again.
    Send(&'static str),
}

type Chooser = Box<dyn Fn(&Event) -> Option<Pick> + Send>;

struct Feed {
    conn: Weak<Conn>,
    pick: Chooser,
    lag: OnLag,
}

/// Where a feed is filed: the events it may want are its organisation's or its branch's.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) enum Key {
    Org(i64),
    Branch(i64),
}

#[derive(Default)]
pub struct Feeds {
    index: Mutex<HashMap<Key, Vec<Feed>>>,
}

impl Feeds {
    /// Files a feed: `pick` says what an event under `key` becomes for it (None: not for it).
    pub(crate) fn add(
        &self,
        key: Key,
        conn: &Arc<Conn>,
        pick: impl Fn(&Event) -> Option<Pick> + Send + 'static,
        lag: OnLag,
    ) {
        self.lock().entry(key).or_default().push(Feed {
            conn: Arc::downgrade(conn),
            pick: Box::new(pick),
            lag,
        });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Vec<Feed>>> {
        self.index.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes `e` to every feed that wants it; forgets the feeds whose connection is gone.
    pub(crate) fn deliver(&self, e: &Event) {
        let mut index = self.lock();
        let mut text: Option<Text> = None;
        for key in [Key::Org(e.org_id), Key::Branch(e.branch_id)] {
            let Some(feeds) = index.get_mut(&key) else { continue };
            feeds.retain(|f| {
                let Some(conn) = f.conn.upgrade() else { return false };
                match (f.pick)(e) {
                    Some(Pick::Event) => {
                        let t = text.get_or_insert_with(|| Text::from(serde_json::to_string(e).unwrap_or_default()));
                        conn.send(t.clone())
                    }
                    Some(Pick::Fixed(t)) => conn.send(Text::from_static(t)),
                    None => conn.is_open(),
                }
            });
            if feeds.is_empty() {
                index.remove(&key);
            }
        }
    }

    /// Events may have been missed: every feed does what it does then.
    pub(crate) fn lagged(&self) {
        let mut index = self.lock();
        index.retain(|_, feeds| {
            feeds.retain(|f| {
                let Some(conn) = f.conn.upgrade() else { return false };
                match f.lag {
                    OnLag::Close => {
                        conn.too_slow();
                        false
                    }
                    OnLag::Send(t) => conn.send(Text::from_static(t)),
                }
            });
            !feeds.is_empty()
        });
    }

    /// How many feeds are filed (open or not yet forgotten).
    #[cfg(test)]
    fn filed(&self) -> usize {
        self.lock().values().map(Vec::len).sum()
    }

    /// Follows the bus for every feed of the node, until `stop`.
    pub async fn follow(&self, bus: Bus, stop: CancellationToken) {
        let mut rx = bus.subscribe();
        loop {
            let next = tokio::select! {
                _ = stop.cancelled() => return,
                next = rx.recv() => next,
            };
            match next {
                // Events may have been lost while the bus reconnected: as after a lag.
                Ok(e) if e.kind == EventKind::Resync => self.lagged(),
                Ok(e) => self.deliver(&e),
                Err(RecvError::Lagged(_)) => self.lagged(),
                Err(RecvError::Closed) => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(org_id: i64, branch_id: i64) -> Event {
        Event {
            origin: 0,
            org_id,
            branch_id,
            at: 1,
            kind: EventKind::BranchChanged,
        }
    }

    #[test]
    fn a_feed_hears_its_organisation_and_branch_only_and_is_forgotten_when_gone() {
        let metrics = Arc::new(crate::Metrics::default());
        let feeds = Feeds::default();
        let a = Arc::new(Conn::new(None, &metrics));
        let b = Arc::new(Conn::new(None, &metrics));
        feeds.add(Key::Org(1), &a, |_| Some(Pick::Event), OnLag::Close);
        feeds.add(Key::Branch(7), &b, |_| Some(Pick::Fixed("{}")), OnLag::Send("{}"));
        // Not handed over yet, so what they are sent waits in their queues: countable here.
        feeds.deliver(&event(2, 8));
        assert_eq!((a.queued(), b.queued()), (0, 0), "another organisation's event");
        feeds.deliver(&event(1, 7));
        assert_eq!((a.queued(), b.queued()), (1, 1));
        feeds.lagged();
        assert!(!a.is_open(), "a console that missed events reconnects");
        assert_eq!(b.queued(), 2, "a ticket page is told to fetch again");
        drop(b);
        feeds.deliver(&event(1, 7));
        assert_eq!(feeds.filed(), 0, "closed and dropped feeds are forgotten");
    }
}
