//! A short-lived memory of resolved sessions, so a busy console or kiosk does not cost a store
//! query per request. Entries live `TTL`: a session ended elsewhere (sign-out on another node, a
//! password change from the command line) stops working within that time; a sign-out on this
//! node takes effect at once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hub_actors::store::Principal;

pub const TTL: Duration = Duration::from_secs(5);
/// Beyond this many live sessions the memory is simply emptied; it refills on demand.
const MAX_ENTRIES: usize = 50_000;

#[derive(Default)]
pub struct SessionCache {
    entries: Mutex<HashMap<String, (Principal, Instant)>>,
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
    fn remembers_then_forgets() {
        let c = SessionCache::default();
        assert!(c.get("t").is_none());
        c.put("t", someone());
        assert_eq!(c.get("t").map(|p| p.org_id), Some(1));
        c.forget("t");
        assert!(c.get("t").is_none());
    }
}
