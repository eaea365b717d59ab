//! One upgraded connection: what it costs is what it needs. No HTTP buffers (the connection was
//! taken from the HTTP dispatcher at the upgrade), no per-connection channel: whoever has
//! something to send — a board's display actor, the node's feed follower, the heartbeat — writes
//! it to the socket at once, in its own thread, and only what the kernel does not take waits in
//! a short queue, bounded in frames and bytes. The connection's own task only reads (frames in,
//! pings, the close handshake) and finishes writes the kernel deferred.
//!
//! The rule for a client that cannot keep up is unchanged: its queue fills, or what it was sent
//! waits longer than `SEND_TIMEOUT`, and it is told to reconnect (close 1013) and dropped, never
//! buffered without bound; a board reconnects to a fresh snapshot.

use std::any::Any;
use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::task::Poll;
use std::time::{Duration, Instant};

use actix_codec::Decoder;
use actix_http::ws::{CloseCode, CloseReason, Codec, Frame, Item, OpCode, ProtocolError};
use bytes::{Bytes, BytesMut};
use futures_util::task::AtomicWaker;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_util::sync::PollSender;

use super::wire::{close_payload, Head};
use super::Text;
use crate::Metrics;

/// How long output may wait for a client that does not read before it counts as too slow.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(2);
/// Frames waiting for one client before it counts as too slow.
const MAX_FRAMES: usize = 64;
/// Bytes waiting for one client before it counts as too slow.
const MAX_BYTES: usize = 1 << 20;

/// Messages from the client, for a socket that takes them (the widget): text, UTF-8 checked.
/// Bounded: while it is full the socket is not read, and the client waits in TCP.
pub type Inbox = mpsc::Sender<Text>;

struct Out {
    head: Head,
    body: Bytes,
}

impl Out {
    fn new(op: OpCode, body: Bytes) -> Self {
        Self {
            head: Head::new(op, body.len()),
            body,
        }
    }

    fn len(&self) -> usize {
        self.head.as_slice().len() + self.body.len()
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    Open,
    /// The close frame is queued; nothing more is sent.
    Closing,
    /// The connection is over (its task ended, or writing failed).
    Closed,
}

struct Outbox {
    queue: VecDeque<Out>,
    /// Bytes of the front frame already written.
    written: usize,
    bytes: usize,
    /// Since when output has waited for the client without progress.
    waiting_since: Option<Instant>,
    /// Since when the connection has been closing.
    closing_since: Option<Instant>,
    state: State,
}

pub struct Conn {
    /// The socket, from the moment the HTTP side hands it over; before that, output queues.
    io: OnceLock<TcpStream>,
    out: Mutex<Outbox>,
    /// The connection's task, rung when output is waiting or the connection is closing.
    task: AtomicWaker,
    rung: AtomicBool,
    /// When the client was last heard (any frame), ms on the node's clock.
    heard: AtomicU64,
    /// What lives as long as the connection is open (the gauge, a console's presence, the
    /// session's watch): let go the moment it closes, not when the last reference goes.
    guards: Mutex<Vec<Box<dyn Any + Send>>>,
    /// The session the client signed in with, checked again now and then.
    token: Option<String>,
    metrics: Arc<Metrics>,
}

/// Milliseconds on a clock of this node.
pub(crate) fn clock_ms() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_millis() as u64
}

pub(crate) fn going_away() -> CloseReason {
    CloseReason {
        code: CloseCode::Away,
        description: Some("the server is restarting; reconnect".into()),
    }
}

pub(crate) fn slow() -> CloseReason {
    CloseReason {
        code: CloseCode::Again,
        description: Some("too slow; reconnect for a fresh state".into()),
    }
}

pub(crate) fn signed_out() -> CloseReason {
    CloseReason {
        code: CloseCode::Policy,
        description: Some("signed out".into()),
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Conn {
    pub(crate) fn new(token: Option<String>, metrics: &Arc<Metrics>) -> Self {
        Self {
            io: OnceLock::new(),
            out: Mutex::new(Outbox {
                queue: VecDeque::new(),
                written: 0,
                bytes: 0,
                waiting_since: None,
                closing_since: None,
                state: State::Open,
            }),
            task: AtomicWaker::new(),
            rung: AtomicBool::new(false),
            heard: AtomicU64::new(clock_ms()),
            guards: Mutex::new(Vec::new()),
            token,
            metrics: metrics.clone(),
        }
    }

    pub(crate) fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// Keeps `guard` until the connection closes.
    pub(crate) fn hold(&self, guard: impl Any + Send) {
        if self.is_open() {
            lock(&self.guards).push(Box::new(guard));
        }
    }

    pub fn is_open(&self) -> bool {
        lock(&self.out).state == State::Open
    }

    /// Whether the connection is over (not merely closing).
    pub fn is_over(&self) -> bool {
        lock(&self.out).state == State::Closed
    }

    /// Sends a text message; false when the connection is gone (or just dropped as too slow).
    pub fn send(&self, text: Text) -> bool {
        self.push(Out::new(OpCode::Text, text.into_bytes()))
    }

    /// A control frame (a ping, a pong): bounded like any other, so a client that pings without
    /// reading the answers is as slow as one that reads nothing.
    fn control(&self, op: OpCode, body: Bytes) -> bool {
        self.push(Out::new(op, body))
    }

    fn push(&self, item: Out) -> bool {
        let mut out = lock(&self.out);
        if out.state != State::Open {
            return false;
        }
        if out.queue.is_empty() {
            if let Some(io) = self.io.get() {
                // The common case: nothing waits, the kernel takes it all, nothing is queued.
                match io.try_write_vectored(&[IoSlice::new(item.head.as_slice()), IoSlice::new(&item.body)]) {
                    Ok(n) if n == item.len() => return true,
                    Ok(n) => {
                        out.bytes += item.len();
                        out.written = n;
                        out.queue.push_back(item);
                        out.waiting_since = Some(Instant::now());
                        self.ring();
                        return true;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(_) => {
                        out.state = State::Closed;
                        self.ring();
                        return false;
                    }
                }
            }
        }
        if out.queue.len() >= MAX_FRAMES || out.bytes + item.len() > MAX_BYTES {
            drop(out);
            self.too_slow();
            return false;
        }
        out.bytes += item.len();
        out.queue.push_back(item);
        self.write_out(&mut out)
    }

    /// Writes what waits, as far as the kernel takes it; false when the connection failed.
    fn write_out(&self, out: &mut Outbox) -> bool {
        let Some(io) = self.io.get() else {
            // Not handed over yet: it goes out first thing after the upgrade.
            return true;
        };
        let before = out.bytes;
        match flush(out, io) {
            Ok(()) => {
                out.waiting_since = None;
                // Most connections wait for nothing most of the time: let the queue's memory go.
                out.queue = VecDeque::new();
                true
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if out.waiting_since.is_none() || out.bytes < before {
                    out.waiting_since = Some(Instant::now());
                }
                self.ring();
                true
            }
            Err(_) => {
                out.state = State::Closed;
                out.queue.clear();
                out.bytes = 0;
                self.ring();
                false
            }
        }
    }

    /// Tells the client why, then closes: nothing more is sent after the close frame.
    pub fn close(&self, reason: Option<CloseReason>) {
        {
            let mut out = lock(&self.out);
            if out.state != State::Open {
                return;
            }
            out.state = State::Closing;
            out.closing_since = Some(Instant::now());
            let item = Out::new(OpCode::Close, close_payload(reason.as_ref()));
            out.bytes += item.len();
            out.queue.push_back(item);
            self.write_out(&mut out);
        }
        self.release();
        self.ring();
    }

    /// Drops a client that cannot keep up, counted in `/metrics`.
    pub fn too_slow(&self) {
        if self.is_open() {
            self.metrics.ws_dropped_slow.fetch_add(1, Ordering::Relaxed);
            self.close(Some(slow()));
        }
    }

    /// The connection is over: nothing more is written.
    fn end(&self) {
        {
            let mut out = lock(&self.out);
            out.state = State::Closed;
            out.queue.clear();
            out.bytes = 0;
        }
        self.release();
    }

    fn release(&self) {
        // Dropped outside the lock: a guard's own drop may take other locks.
        let guards = std::mem::take(&mut *lock(&self.guards));
        drop(guards);
    }

    /// Wakes the connection's task to look again (output waiting, closing).
    fn ring(&self) {
        self.rung.store(true, Ordering::Release);
        self.task.wake();
    }

    fn heard_now(&self) {
        self.heard.store(clock_ms(), Ordering::Relaxed);
    }

    /// Ends a connection still closing after `SEND_TIMEOUT` (a client that takes neither the
    /// close frame nor closes); answers whether it did.
    pub(crate) fn expire(&self) -> bool {
        let overdue = {
            let out = lock(&self.out);
            out.state == State::Closing && out.closing_since.is_some_and(|t| t.elapsed() > SEND_TIMEOUT)
        };
        if overdue {
            self.end();
            self.ring();
        }
        overdue
    }

    /// Drops a client whose output has waited longer than `SEND_TIMEOUT` as too slow; answers
    /// whether it did.
    pub(crate) fn stuck(&self) -> bool {
        let stuck = {
            let out = lock(&self.out);
            out.state == State::Open && out.waiting_since.is_some_and(|t| t.elapsed() > SEND_TIMEOUT)
        };
        if stuck {
            self.too_slow();
        }
        stuck
    }

    /// The heartbeat's visit: a client silent too long is closed, the rest are pinged.
    pub(crate) fn beat(&self, now_ms: u64, silent_after: Duration) {
        if !self.is_open() {
            return;
        }
        let silent = now_ms.saturating_sub(self.heard.load(Ordering::Relaxed)) > silent_after.as_millis() as u64;
        if silent {
            self.close(Some(CloseReason {
                code: CloseCode::Away,
                description: Some("no heartbeat".into()),
            }));
        } else {
            self.control(OpCode::Ping, Bytes::new());
        }
    }

    /// Takes the socket from the HTTP side and serves it until it closes. `leftover`: bytes the
    /// client sent right after its upgrade request.
    pub(crate) async fn serve(
        self: Arc<Self>,
        io: TcpStream,
        leftover: BytesMut,
        inbox: Option<Inbox>,
        max_frame: usize,
    ) {
        if self.io.set(io).is_err() {
            return;
        }
        let Some(io) = self.io.get() else { return };
        {
            // What was queued before the hand-over (a board's snapshot) goes first.
            let mut out = lock(&self.out);
            self.write_out(&mut out);
        }
        let mut reader = Reader {
            codec: Codec::new().max_size(max_frame),
            buf: leftover,
            partial: None,
            inbox: inbox.map(PollSender::new),
            held: None,
            max_frame,
        };
        if !reader.buf.is_empty() {
            self.heard_now();
            reader.take(&self);
        }
        let mut shut = false;
        loop {
            let (state, pending) = {
                let out = lock(&self.out);
                (out.state, !out.queue.is_empty())
            };
            match state {
                State::Closed => break,
                State::Closing => {
                    // (The heartbeat ends a connection still closing after `SEND_TIMEOUT`.)
                    if !pending && !shut {
                        // The close frame is out: say so at the TCP level too, then wait for the
                        // client's close (or its end) so nothing it sent resets the connection.
                        shut = true;
                        // SAFETY: shutdown(2) on the socket this connection owns; it stays open.
                        unsafe { libc::shutdown(io.as_raw_fd(), libc::SHUT_WR) };
                    }
                }
                State::Open => {}
            }
            // Waits on the socket through its registration's own slots (not a waiter list), so
            // the waker the HTTP dispatcher left there when it read the request is replaced at
            // the first wait: it would otherwise keep that finished task's memory (the whole
            // dispatcher's, a few KiB) for the life of the socket.
            let woke = std::future::poll_fn(|cx| {
                self.task.register(cx.waker());
                if self.rung.swap(false, Ordering::AcqRel) {
                    return Poll::Ready(Woke::Rung);
                }
                if reader.held.is_some() {
                    // A message waits for room in the inbox: nothing more is read until then.
                    if let Poll::Ready(room) = reader.poll_room(cx) {
                        return Poll::Ready(Woke::Room(room));
                    }
                }
                let read = reader.held.is_none()
                    && match io.poll_read_ready(cx) {
                        Poll::Ready(Ok(())) => true,
                        Poll::Ready(Err(_)) => return Poll::Ready(Woke::Failed),
                        Poll::Pending => false,
                    };
                let write = pending
                    && match io.poll_write_ready(cx) {
                        Poll::Ready(Ok(())) => true,
                        Poll::Ready(Err(_)) => return Poll::Ready(Woke::Failed),
                        Poll::Pending => false,
                    };
                match read || write {
                    true => Poll::Ready(Woke::Io { read, write }),
                    false => Poll::Pending,
                }
            })
            .await;
            let (readable, writable) = match woke {
                Woke::Rung => continue,
                Woke::Room(true) => {
                    // The held message went in: on with the frames already read.
                    reader.take(&self);
                    continue;
                }
                Woke::Room(false) => {
                    self.close(None);
                    continue;
                }
                Woke::Failed => break,
                Woke::Io { read, write } => (read, write),
            };
            if writable && !self.write_out(&mut lock(&self.out)) {
                break;
            }
            if readable {
                match read_some(io, &mut reader.buf) {
                    Ok(0) => break,
                    Ok(_) => {
                        self.heard_now();
                        if state == State::Open {
                            reader.take(&self);
                        } else {
                            // Closing: what the client still sends is read and let go.
                            reader.buf.clear();
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(_) => break,
                }
            }
        }
        self.end();
    }
}

/// What woke a connection's task.
enum Woke {
    Io {
        read: bool,
        write: bool,
    },
    /// The inbox had room for the held message (false: the inbox is gone).
    Room(bool),
    /// Rung by a writer or a closer: look at the state again.
    Rung,
    Failed,
}

/// Writes the queue's frames until it is empty or the kernel's buffer is full (WouldBlock).
fn flush(out: &mut Outbox, io: &TcpStream) -> io::Result<()> {
    while let Some(front) = out.queue.front() {
        let head = front.head.as_slice();
        let (a, b) = if out.written < head.len() {
            (&head[out.written..], &front.body[..])
        } else {
            (&[][..], &front.body[out.written - head.len()..])
        };
        let n = io.try_write_vectored(&[IoSlice::new(a), IoSlice::new(b)])?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        out.written += n;
        let len = front.len();
        if out.written >= len {
            out.queue.pop_front();
            out.bytes -= len;
            out.written = 0;
        }
    }
    Ok(())
}

/// Reads what the kernel has, through a buffer on the stack: an idle connection holds none.
fn read_some(io: &TcpStream, buf: &mut BytesMut) -> io::Result<usize> {
    let mut chunk = [0u8; 4096];
    let n = io.try_read(&mut chunk)?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(n)
}

struct Reader {
    codec: Codec,
    /// Bytes of a frame not yet complete; empty (and unallocated) between frames.
    buf: BytesMut,
    /// A fragmented message being gathered: whether it is text, and its parts so far.
    partial: Option<(bool, BytesMut)>,
    inbox: Option<PollSender<Text>>,
    /// A message read while the inbox was full; reading stops until it goes in.
    held: Option<Text>,
    max_frame: usize,
}

impl Reader {
    /// Puts the held message in the inbox when it has room; answers false if the inbox is gone.
    fn poll_room(&mut self, cx: &mut std::task::Context<'_>) -> Poll<bool> {
        let Some(inbox) = &mut self.inbox else {
            return Poll::Ready(false);
        };
        match inbox.poll_reserve(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(_)) => Poll::Ready(false),
            Poll::Ready(Ok(())) => {
                let sent = self.held.take().is_none_or(|t| inbox.send_item(t).is_ok());
                Poll::Ready(sent)
            }
        }
    }

    /// Handles every complete frame read so far (until a message must wait for the inbox).
    fn take(&mut self, conn: &Conn) {
        loop {
            if self.held.is_some() {
                break;
            }
            let frame = match self.codec.decode(&mut self.buf) {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => {
                    let code = match e {
                        ProtocolError::Overflow => CloseCode::Size,
                        _ => CloseCode::Protocol,
                    };
                    self.buf.clear();
                    conn.close(Some(CloseReason {
                        code,
                        description: Some(e.to_string()),
                    }));
                    break;
                }
            };
            match frame {
                Frame::Ping(p) => {
                    conn.control(OpCode::Pong, p);
                }
                Frame::Pong(_) => {}
                Frame::Close(reason) => {
                    // The closing handshake: answer with the client's code.
                    conn.close(reason.map(|r| CloseReason {
                        code: r.code,
                        description: None,
                    }));
                    self.buf.clear();
                    break;
                }
                Frame::Text(t) => self.message(conn, true, t),
                Frame::Binary(b) => self.message(conn, false, b),
                Frame::Continuation(item) => {
                    let (first, text, part, last) = match item {
                        Item::FirstText(b) => (true, true, b, false),
                        Item::FirstBinary(b) => (true, false, b, false),
                        Item::Continue(b) => (false, false, b, false),
                        Item::Last(b) => (false, false, b, true),
                    };
                    if first {
                        self.partial = Some((text, BytesMut::from(&part[..])));
                    } else if let Some((_, gathered)) = &mut self.partial {
                        gathered.extend_from_slice(&part);
                    }
                    if self.partial.as_ref().is_some_and(|(_, g)| g.len() > self.max_frame) {
                        self.partial = None;
                        conn.close(Some(CloseReason {
                            code: CloseCode::Size,
                            description: Some("message too large".into()),
                        }));
                        break;
                    }
                    if last {
                        if let Some((text, whole)) = self.partial.take() {
                            self.message(conn, text, whole.freeze());
                        }
                    }
                }
            }
            if !conn.is_open() {
                break;
            }
        }
        if self.buf.is_empty() {
            // Let the allocation go: most connections go quiet between frames.
            self.buf = BytesMut::new();
        }
    }

    fn message(&mut self, conn: &Conn, text: bool, payload: Bytes) {
        let Some(inbox) = &self.inbox else {
            // Feeds take nothing from their clients but the heartbeat's answers.
            return;
        };
        if !text {
            conn.close(Some(CloseReason {
                code: CloseCode::Unsupported,
                description: Some("text frames only".into()),
            }));
            return;
        }
        match Text::try_from(payload) {
            Ok(t) => match inbox.get_ref().map(|s| s.try_send(t)) {
                Some(Ok(())) => {}
                Some(Err(mpsc::error::TrySendError::Full(t))) => self.held = Some(t),
                Some(Err(mpsc::error::TrySendError::Closed(_))) | None => conn.close(None),
            },
            Err(_) => conn.close(Some(CloseReason {
                code: CloseCode::Invalid,
                description: Some("text is not UTF-8".into()),
            })),
        }
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.release();
    }
}

#[cfg(test)]
impl Conn {
    /// Frames waiting to be written.
    pub(crate) fn queued(&self) -> usize {
        lock(&self.out).queue.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(metrics: &Arc<Metrics>) -> Conn {
        Conn::new(None, metrics)
    }

    #[test]
    fn a_client_that_does_not_keep_up_is_dropped_not_buffered() {
        let metrics = Arc::new(Metrics::default());
        let c = conn(&metrics);
        // Not handed over: everything waits in the queue, as for a client that reads nothing.
        for _ in 0..MAX_FRAMES {
            assert!(c.send(Text::from_static("{}")));
        }
        assert!(!c.send(Text::from_static("{}")), "one frame too many");
        assert!(!c.is_open());
        assert_eq!(metrics.ws_dropped_slow.load(Ordering::Relaxed), 1);
        // The close frame (1013) is the last thing queued; nothing is taken after it.
        assert_eq!(c.queued(), MAX_FRAMES + 1);
        assert!(!c.send(Text::from_static("{}")));
        assert_eq!(c.queued(), MAX_FRAMES + 1);
    }

    #[test]
    fn a_large_push_counts_by_its_bytes() {
        let metrics = Arc::new(Metrics::default());
        let c = conn(&metrics);
        let big = Text::from("x".repeat(MAX_BYTES / 2));
        assert!(c.send(big.clone()));
        assert!(!c.send(big), "over the byte bound with two frames");
        assert_eq!(metrics.ws_dropped_slow.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn what_a_connection_holds_goes_when_it_closes() {
        let metrics = Arc::new(Metrics::default());
        let c = conn(&metrics);
        let held = Arc::new(());
        c.hold(held.clone());
        assert_eq!(Arc::strong_count(&held), 2);
        c.close(Some(going_away()));
        assert_eq!(
            Arc::strong_count(&held),
            1,
            "let go at the close, not when the last reference goes"
        );
        // Held after the close: let go at once.
        c.hold(held.clone());
        assert_eq!(Arc::strong_count(&held), 1);
    }

    /// Every open socket has one of these tasks: its size is most of what a socket costs.
    #[tokio::test]
    async fn an_idle_connection_task_is_small() {
        let Ok(l) = tokio::net::TcpListener::bind("127.0.0.1:0").await else {
            return;
        };
        let Ok(addr) = l.local_addr() else { return };
        let Ok(io) = TcpStream::connect(addr).await else { return };
        let metrics = Arc::new(Metrics::default());
        let task = Arc::new(conn(&metrics)).serve(io, BytesMut::new(), None, 4096);
        assert!(
            std::mem::size_of_val(&task) <= 512,
            "{} bytes",
            std::mem::size_of_val(&task)
        );
    }
}
