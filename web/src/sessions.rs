//! A short-lived memory of resolved sessions, so a busy console or kiosk does not cost a store
//! query per request, and the live feeds (WebSockets) each session holds. Entries live `TTL`: a
//! session ended from the command line stops working within that time. A session ended through
//! the hub (sign-out, a password changed, a user disabled, a device's secret rotated) is
//! announced on the bus, and every node forgets it and closes its feeds at once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hub_actors::bus::EventKind;
use hub_actors::store::Principal;

pub const TTL: Duration = Duration::from_secs(5);
/// Beyond this many live sessions the memory is simply emptied; it refills on demand.
const MAX_ENTRIES: usize = 50_000;

#[derive(Default)]
pub struct SessionCache {
    entries: Mutex<HashMap<String, (Principal, Instant)>>,
    feeds: Arc<Feeds>,
}

/// Who holds a live feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    User(i64),
    Device(i64),
}

/// Which sessions ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ended {
    pub token_hash: Option<String>,
    pub user_id: Option<i64>,
    pub device_id: Option<i64>,
    /// A session of that user that goes on (the one that changed the password).
    pub keep: Option<String>,
}

impl Ended {
    fn covers(&self, token_hash: &str, holder: Holder) -> bool {
        if self.keep.as_deref() == Some(token_hash) {
            return false;
        }
        self.token_hash.as_deref() == Some(token_hash)
            || matches!(holder, Holder::User(u) if self.user_id == Some(u))
            || matches!(holder, Holder::Device(d) if self.device_id == Some(d))
    }

    pub fn from_event(kind: &EventKind) -> Option<Self> {
        match kind {
            EventKind::SessionsEnded {
                token_hash,
                user_id,
                device_id,
                keep,
            } => Some(Ended {
                token_hash: token_hash.clone(),
                user_id: *user_id,
                device_id: *device_id,
                keep: keep.clone(),
            }),
            _ => None,
        }
    }

    pub fn to_event(&self) -> EventKind {
        EventKind::SessionsEnded {
            token_hash: self.token_hash.clone(),
            user_id: self.user_id,
            device_id: self.device_id,
            keep: self.keep.clone(),
        }
    }
}

/// What ends a live feed (closes its socket).
type Ring = Arc<dyn Fn() + Send + Sync>;

/// A live feed: its session's token hash, who holds it, and what ends it.
type Feed = (String, Holder, Ring);

#[derive(Default)]
struct Feeds {
    next: AtomicU64,
    live: Mutex<HashMap<u64, Feed>>,
}

/// A live feed's hold: its ring is rung when its session ends; forgotten when dropped.
pub struct Watch {
    id: u64,
    feeds: Arc<Feeds>,
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.feeds
            .live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.id);
    }
}

impl SessionCache {
    pub fn get(&self, token: &str) -> Option<Principal> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(token)
            .filter(|(_, at)| at.elapsed() < TTL)
            .map(|(p, _)| p.clone())
    }

    pub fn put(&self, token: &str, principal: Principal) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(token.to_string(), (principal, Instant::now()));
    }

    pub fn forget(&self, token: &str) {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).remove(token);
    }

    /// Follows a live feed of the session `token`, held by `holder`: `ring` when it ends.
    pub fn watch(&self, token: &str, holder: Holder, ring: impl Fn() + Send + Sync + 'static) -> Watch {
        let id = self.feeds.next.fetch_add(1, Ordering::Relaxed);
        self.feeds
            .live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, (hub_actors::auth::token_hash(token), holder, Arc::new(ring)));
        Watch {
            id,
            feeds: self.feeds.clone(),
        }
    }

    /// Sessions ended: forgotten here, and their feeds told to close. Answers how many closed.
    pub fn end(&self, ended: &Ended) -> usize {
        // Which cached tokens belong to a user or device is not kept: the memory refills.
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).clear();
        let rings: Vec<Ring> = {
            let live = self.feeds.live.lock().unwrap_or_else(|p| p.into_inner());
            live.values()
                .filter(|(hash, holder, _)| ended.covers(hash, *holder))
                .map(|(_, _, ring)| ring.clone())
                .collect()
        };
        // Rung outside the lock: closing a feed lets go of its watch, which takes the lock.
        for ring in &rings {
            ring();
        }
        rings.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hub_actors::{model::role::Role, store::PrincipalKind};

    fn someone() -> Principal {
        Principal {
            org_id: 1,
            name: "A".into(),
            lang: "ru".into(),
            kind: PrincipalKind::User {
                user_id: 1,
                role: Role::Operator,
            },
        }
    }

    #[test]
    fn ended_sessions_close_their_feeds_only() {
        let c = SessionCache::default();
        let mine = c.watch("tok-a", Holder::User(1), || {});
        let other = c.watch("tok-b", Holder::User(2), || {});
        let kiosk = c.watch("tok-c", Holder::Device(7), || {});
        let hash = |t: &str| hub_actors::auth::token_hash(t);
        let by_token = Ended {
            token_hash: Some(hash("tok-a")),
            ..Ended::default()
        };
        assert_eq!(c.end(&by_token), 1);
        // A password change ends the user's other sessions, not the one that made it.
        let keep = Ended {
            user_id: Some(1),
            keep: Some(hash("tok-a")),
            ..Ended::default()
        };
        assert_eq!(c.end(&keep), 0);
        assert_eq!(
            c.end(&Ended {
                device_id: Some(7),
                ..Ended::default()
            }),
            1
        );
        drop(other);
        assert_eq!(
            c.end(&Ended {
                user_id: Some(2),
                ..Ended::default()
            }),
            0,
            "a closed feed is forgotten"
        );
        drop((mine, kiosk));
        assert_eq!(Ended::from_event(&keep.to_event()), Some(keep));
    }

    #[test]
    fn remembers_then_forgets() {
        let c = SessionCache::default();
        assert!(c.get("t").is_none());
        c.put("t", someone());
        assert_eq!(c.get("t").map(|p| p.org_id), Some(1));
        c.forget("t");
        assert!(c.get("t").is_none());
    }
}
