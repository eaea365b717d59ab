//! The hub's WebSockets, served lean. An upgrade request goes through the whole web app like
//! any other (authentication, Origin, rate limits, metrics); a handler that accepts it answers
//! 101 with a [`Handoff`] attached, and the server's upgrade service (`upgrade.rs`) writes the
//! answer and takes the TCP connection away from the HTTP dispatcher, whose buffers go with it.
//! From then on a connection is a [`Conn`]: written to directly by whoever has something to
//! send, read by one small task of its own. The node keeps one list of its connections for the
//! heartbeat, the session rechecks and the stop (`Sockets::keep`), and one follower of the bus
//! for every feed (`feeds.rs`).

mod conn;
mod feeds;
mod upgrade;
pub(crate) mod wire;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse};
use tokio_util::sync::CancellationToken;

pub use conn::Conn;
pub(crate) use conn::{going_away, signed_out, Inbox};
pub use feeds::Feeds;
pub(crate) use feeds::{Key, OnLag, Pick};
pub use upgrade::serve;

use crate::metrics::SocketKind;
use crate::{ApiResult, Metrics};

/// Text for a client, shared rather than copied when many connections send the same.
pub type Text = bytestring::ByteString;

/// How often the node looks at its connections: the stuck and the closing are let go.
const TICK: Duration = Duration::from_secs(1);
/// How often each client is pinged: a tick pings one slice of the connections, so twenty
/// thousand screens cost a steady trickle of pings, not a burst that holds up a call's push
/// (and a proxy's idle timeout, commonly a minute, never cuts a quiet board).
const HEARTBEAT_TICKS: u64 = 20;
/// A client not heard for this long (two pings and more unanswered) is gone.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(50);
/// How often a signed-in feed's session is checked again (an ended session also rings at once).
const RECHECK_EVERY: Duration = Duration::from_secs(60);

/// A connection accepted by a handler, for the upgrade service to serve once the 101 is out.
pub(crate) struct Handoff {
    pub(crate) conn: Arc<Conn>,
    pub(crate) inbox: Option<Inbox>,
    pub(crate) max_frame: usize,
}

/// The node's open WebSockets.
#[derive(Default)]
pub struct Sockets {
    all: Mutex<Vec<Weak<Conn>>>,
    stopping: AtomicBool,
    /// Connections opened since the allocator was last asked to give memory back.
    opened: AtomicUsize,
    pub feeds: Feeds,
}

/// Counts a connection in the gauges (all, and its kind's) for as long as it is open.
struct Live(Arc<Metrics>, SocketKind);

impl Live {
    fn new(m: &Arc<Metrics>, kind: SocketKind) -> Self {
        m.ws_sessions.fetch_add(1, Ordering::Relaxed);
        m.ws_open[kind as usize].fetch_add(1, Ordering::Relaxed);
        Self(m.clone(), kind)
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.0.ws_sessions.fetch_sub(1, Ordering::Relaxed);
        self.0.ws_open[self.1 as usize].fetch_sub(1, Ordering::Relaxed);
    }
}

/// Checks an upgrade request (RFC 6455's handshake) before anything is registered for it.
pub(crate) fn handshake(req: &HttpRequest) -> ApiResult<actix_http::ResponseBuilder> {
    actix_http::ws::handshake(req.head()).map_err(|e| hub_actors::Error::Invalid(e.to_string()).into())
}

/// The 101 answer that hands `conn` to the upgrade service.
pub(crate) fn accept(mut handshake: actix_http::ResponseBuilder, handoff: Handoff) -> HttpResponse {
    let mut res = HttpResponse::from(handshake.finish().map_into_boxed_body());
    res.extensions_mut().insert(handoff);
    res
}

impl Sockets {
    /// A new connection of `kind`, counted open from now; refused while the node stops.
    pub(crate) fn open(&self, kind: SocketKind, token: Option<String>, metrics: &Arc<Metrics>) -> ApiResult<Arc<Conn>> {
        if self.stopping.load(Ordering::Relaxed) {
            return Err(hub_actors::Error::Actor("the server is stopping".into()).into());
        }
        let conn = Arc::new(Conn::new(token, metrics));
        conn.hold(Live::new(metrics, kind));
        self.opened.fetch_add(1, Ordering::Relaxed);
        self.all
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Arc::downgrade(&conn));
        Ok(conn)
    }

    fn live(&self) -> Vec<Arc<Conn>> {
        let mut all = self.all.lock().unwrap_or_else(|p| p.into_inner());
        all.retain(|w| w.strong_count() > 0);
        all.iter().filter_map(Weak::upgrade).collect()
    }

    /// How many connections are open (or closing) on this node.
    pub fn count(&self) -> usize {
        let all = self.all.lock().unwrap_or_else(|p| p.into_inner());
        all.iter().filter_map(Weak::upgrade).filter(|c| !c.is_over()).count()
    }

    /// The heartbeat of every connection of the node, the periodic session checks, and at the
    /// stop, the word to reconnect. One task for all of them.
    pub async fn keep(self: Arc<Self>, store: hub_actors::store::Store, stop: CancellationToken) {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut checked = tokio::time::Instant::now();
        let mut round = 0u64;
        let mut opened_before = 0;
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tick.tick() => {}
            }
            round += 1;
            let live = self.live();
            let now = conn::clock_ms();
            for (i, c) in live.iter().enumerate() {
                if c.expire() || c.stuck() {
                    continue;
                }
                if (i as u64 + round) % HEARTBEAT_TICKS == 0 {
                    c.beat(now, CLIENT_TIMEOUT);
                }
            }
            // A burst of connections that has settled (none opened since the last tick).
            let opened = self.opened.load(Ordering::Relaxed);
            if opened >= TRIM_AFTER && opened == opened_before {
                self.opened.store(0, Ordering::Relaxed);
                give_back();
            }
            opened_before = self.opened.load(Ordering::Relaxed);
            if checked.elapsed() >= RECHECK_EVERY {
                checked = tokio::time::Instant::now();
                tokio::spawn(recheck(store.clone(), live));
            }
        }
        // The node is stopping: every screen reconnects (to another node, or to this one started
        // again) and resynchronises.
        self.stopping.store(true, Ordering::Relaxed);
        for c in self.live() {
            c.close(Some(going_away()));
        }
        // Until each has closed: the ones that answer neither are let go after the send timeout.
        while self.count() > 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            for c in self.live() {
                c.expire();
            }
        }
    }

    /// Waits until every connection has closed, or `within` has passed.
    pub async fn drained(&self, within: Duration) {
        let until = tokio::time::Instant::now() + within;
        while self.count() > 0 && tokio::time::Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Connections opened in a burst after which the allocator gives memory back.
const TRIM_AFTER: usize = 256;

/// Gives the memory freed since back to the system. A burst of connections (a room of screens
/// coming back after a restart) passes through HTTP's handshake buffers (tens of KiB each, for a
/// moment); glibc keeps what they freed in its arenas, between the connections' small lasting
/// allocations, where only a trim returns it.
fn give_back() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory to the system; it is safe to call any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Closes the connections whose session no longer exists (expired, or ended where no bus told
/// this node); each session asked once however many screens it holds.
async fn recheck(store: hub_actors::store::Store, live: Vec<Arc<Conn>>) {
    let mut ended = HashSet::new();
    let mut kept = HashSet::new();
    for c in live.iter().filter(|c| c.is_open()) {
        let Some(token) = c.token() else { continue };
        if kept.contains(token) {
            continue;
        }
        if !ended.contains(token) {
            match store.principal(token).await {
                Err(hub_actors::Error::Unauthenticated) => {
                    ended.insert(token.to_string());
                }
                // A store hiccup is no reason to drop a screen; it is checked again later.
                _ => {
                    kept.insert(token.to_string());
                    continue;
                }
            }
        }
        c.close(Some(signed_out()));
    }
}
