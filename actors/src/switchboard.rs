//! Delivers conversation events to the sessions following a dialogue (a widget tab, later a
//! bridge), without every session reading the whole bus: one task per node reads the bus and
//! hands each event only to the sessions registered for its `thread_key`.
//!
//! Sessions register a bounded sender. A session that does not keep up loses its sender (the
//! channel closes); it then ends, the client reconnects and resumes from the last message it has,
//! so nothing is lost and nothing waits on a slow reader.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{broadcast::error::RecvError, mpsc};

use crate::bus::{Bus, Event};

type Senders = HashMap<String, Vec<(u64, mpsc::Sender<Arc<Event>>)>>;

#[derive(Clone)]
pub struct Switchboard {
    lines: Arc<Mutex<Senders>>,
    next: Arc<AtomicU64>,
}

/// Keeps a registration alive; dropping it unregisters.
pub struct Line {
    board: Switchboard,
    key: String,
    id: u64,
}

impl Drop for Line {
    fn drop(&mut self) {
        let mut lines = self.board.lines.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(v) = lines.get_mut(&self.key) {
            v.retain(|(id, _)| *id != self.id);
            if v.is_empty() {
                lines.remove(&self.key);
            }
        }
    }
}

impl Switchboard {
    /// Starts the node's dispatch task under `tasks`. Started again after a panic, it has missed
    /// events: every session resumes from the store, as after a lag.
    pub fn start(bus: &Bus, tasks: &crate::tasks::Tasks) -> Self {
        let board = Self {
            lines: Arc::new(Mutex::new(HashMap::new())),
            next: Arc::new(AtomicU64::new(1)),
        };
        let (b, bus, stop) = (board.clone(), bus.clone(), tasks.token());
        // The first subscription is taken now, so nothing published after start is missed.
        let first = Arc::new(Mutex::new(Some(bus.subscribe())));
        tasks.supervise("switchboard", move || {
            let (b, stop) = (b.clone(), stop.clone());
            let rx = first.lock().unwrap_or_else(|p| p.into_inner()).take();
            let mut rx = rx.unwrap_or_else(|| {
                b.lines.lock().unwrap_or_else(|p| p.into_inner()).clear();
                bus.subscribe()
            });
            async move {
                loop {
                    let next = tokio::select! {
                        _ = stop.cancelled() => return,
                        n = rx.recv() => n,
                    };
                    match next {
                        // The bus reconnected and may have lost events: every session resumes
                        // from the store, as after a lag.
                        Ok(event) if event.kind == crate::bus::EventKind::Resync => {
                            tracing::info!("bus resynchronised; chat sessions resume");
                            b.lines.lock().unwrap_or_else(|p| p.into_inner()).clear();
                        }
                        Ok(event) => b.dispatch(&event),
                        // Which sessions missed what is unknown: all of them resume from the store.
                        Err(RecvError::Lagged(n)) => {
                            tracing::warn!(missed = n, "switchboard fell behind the bus; sessions resume");
                            b.lines.lock().unwrap_or_else(|p| p.into_inner()).clear();
                        }
                        Err(RecvError::Closed) => return,
                    }
                }
            }
        });
        board
    }

    fn dispatch(&self, event: &Arc<Event>) {
        let Some(key) = event.kind.thread_key() else { return };
        let key = format!("{}/{key}", event.org_id);
        let mut lines = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(v) = lines.get_mut(&key) {
            // A full or closed queue drops the session's line; the session sees its channel end.
            v.retain(|(_, tx)| tx.try_send(event.clone()).is_ok());
            if v.is_empty() {
                lines.remove(&key);
            }
        }
    }

    /// Follows the dialogue `thread_key` of organisation `org_id`.
    pub fn register(&self, org_id: i64, thread_key: &str, tx: mpsc::Sender<Arc<Event>>) -> Line {
        let key = format!("{org_id}/{thread_key}");
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.lines
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(key.clone())
            .or_default()
            .push((id, tx));
        Line {
            board: self.clone(),
            key,
            id,
        }
    }

    pub fn len(&self) -> usize {
        self.lines
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .map(Vec::len)
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
