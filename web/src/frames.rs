//! An event's JSON, made once per node however many sockets send it: every feed of the node
//! receives the same `Arc<Event>` from the bus, and the first one to send it serialises it for
//! the rest (a thousand consoles of an organisation, one `serde_json::to_string` an event).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, Weak};

use hub_actors::bus::Event;

/// Text for a client, shared rather than copied when many sessions send the same.
pub type Text = bytestring::ByteString;

/// The recent events' JSON: more than the feeds are ever apart, fewer than a search would feel.
const KEEP: usize = 64;

pub struct Frames {
    /// A `Weak` keeps the event's allocation from being reused while it is here, so its address
    /// names that event and no other.
    recent: Mutex<VecDeque<(Weak<Event>, Text)>>,
}

impl Frames {
    pub const fn new() -> Self {
        Self {
            recent: Mutex::new(VecDeque::new()),
        }
    }

    /// The event as JSON, serialised by the first feed that asked.
    pub fn of(&self, e: &Arc<Event>) -> Text {
        let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, text)) = recent
            .iter()
            .rev()
            .find(|(w, _)| std::ptr::eq(w.as_ptr(), Arc::as_ptr(e)))
        {
            return text.clone();
        }
        let text = Text::from(serde_json::to_string(&**e).unwrap_or_default());
        recent.push_back((Arc::downgrade(e), text.clone()));
        if recent.len() > KEEP {
            recent.pop_front();
        }
        text
    }

    #[cfg(test)]
    fn held(&self) -> usize {
        self.recent.lock().map(|r| r.len()).unwrap_or(0)
    }
}

impl Default for Frames {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hub_actors::bus::EventKind;

    fn event(org_id: i64) -> Arc<Event> {
        Arc::new(Event {
            origin: 0,
            org_id,
            branch_id: 1,
            at: 1,
            kind: EventKind::BranchChanged,
        })
    }

    #[test]
    fn one_serialisation_an_event_shared_by_every_feed() {
        let frames = Frames::new();
        let (a, b) = (event(1), event(2));
        let first = frames.of(&a);
        // The same allocation: the same text, not a copy.
        let again = frames.of(&a.clone());
        assert_eq!(first.as_ptr(), again.as_ptr());
        let other = frames.of(&b);
        assert_ne!(first, other, "another event is its own");
        assert_eq!(first, serde_json::to_string(&*a).unwrap().as_str());
        // An equal event in another allocation is another event (another moment of the bus).
        let twin = event(1);
        assert_ne!(frames.of(&twin).as_ptr(), first.as_ptr());
    }

    #[test]
    fn a_bounded_memory_of_recent_events() {
        let frames = Frames::new();
        let events: Vec<_> = (0..200).map(event).collect();
        for e in &events {
            frames.of(e);
        }
        assert_eq!(frames.held(), KEEP);
        // The oldest are forgotten and made again if asked (never a wrong text).
        assert_eq!(
            frames.of(&events[0]),
            serde_json::to_string(&*events[0]).unwrap().as_str()
        );
    }
}
