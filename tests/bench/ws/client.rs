//! The WebSocket benchmark's client, the same for the hub and its Node peer (`run.py` starts it
//! against each): opens N WebSockets, waits for each one's first message (the hub's snapshot,
//! the peer's greeting), reads the server's RSS, then fires E events one after another (an HTTP
//! call the caller names) and times, on every socket, the first message after each firing.
//! Prints one JSON line.
//!
//! Written against the RFC on one thread, so that the client costs a socket as little as it can
//! (about a microsecond and a half of its own per message): with a Node client, the client's
//! own time per message was most of what was measured, for both servers.
//!
//!     ws_client '{"url": "ws://127.0.0.1:8080/ws/board?token=…", "n": 2000, "events": 20,
//!                 "pid": 1234, "fire": {"url": "http://…", "method": "POST", "headers": {…}}}'
//!
//! (Run as `cargo bench --bench ws_client` without a configuration, it says how to run it.)

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Notify;

const CONNECT_AT_ONCE: usize = 200;

struct Shared {
    /// The event being timed (0: none yet) and when it was fired.
    event: Cell<u32>,
    fired: Cell<Option<Instant>>,
    waiting: Cell<usize>,
    latencies: RefCell<Vec<f64>>,
    all_in: Notify,
    closed: Cell<usize>,
}

fn split_url(url: &str) -> (String, String) {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    match rest.find('/') {
        Some(i) => (rest[..i].to_string(), rest[i..].to_string()),
        None => (rest.to_string(), "/".to_string()),
    }
}

fn rss_kb(pid: u64) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(f64::NAN)
}

/// Takes the complete frames off `buf`: answers how many were messages, and puts the answer to
/// each ping (a masked pong, as a browser sends) in `pongs`.
fn take_frames(buf: &mut Vec<u8>, pongs: &mut Vec<u8>) -> usize {
    let mut n = 0;
    loop {
        if buf.len() < 2 {
            return n;
        }
        let (len, at) = match buf[1] & 0x7f {
            126 if buf.len() >= 4 => (u16::from_be_bytes([buf[2], buf[3]]) as usize, 4),
            127 if buf.len() >= 10 => (u64::from_be_bytes(buf[2..10].try_into().unwrap_or([0; 8])) as usize, 10),
            l if l < 126 => (l as usize, 2),
            _ => return n,
        };
        if buf.len() < at + len {
            return n;
        }
        let op = buf[0] & 0x0f;
        if op == 0x9 && len <= 125 {
            // The server's heartbeat: answered, or the server counts this client gone.
            pongs.extend_from_slice(&[0x8A, 0x80 | len as u8, 0, 0, 0, 0]);
            pongs.extend_from_slice(&buf[at..at + len]);
        }
        buf.drain(..at + len);
        // Text or binary data counts; the server's pings do not.
        if op == 0x1 || op == 0x2 {
            n += 1;
        }
    }
}

/// One socket: connected and through its first message, or None.
async fn open(host: &str, path: &str) -> Option<(TcpStream, Vec<u8>)> {
    let mut s = TcpStream::connect(host).await.ok()?;
    s.set_nodelay(true).ok()?;
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.ok()?;
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 16384];
    loop {
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            if !buf.starts_with(b"HTTP/1.1 101") {
                return None;
            }
            buf.drain(..end + 4);
            break;
        }
    }
    let mut pongs = Vec::new();
    while take_frames(&mut buf, &mut pongs) == 0 {
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some((s, buf))
}

/// Reads a socket until it ends, timing its first message after each firing.
async fn follow(mut s: TcpStream, mut buf: Vec<u8>, shared: Rc<Shared>) {
    let mut seen = 0u32;
    let mut chunk = [0u8; 16384];
    let mut pongs = Vec::new();
    loop {
        let n = match s.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        let messages = take_frames(&mut buf, &mut pongs);
        if !pongs.is_empty() {
            if s.write_all(&pongs).await.is_err() {
                break;
            }
            pongs.clear();
        }
        if messages > 0 {
            let event = shared.event.get();
            if event > seen {
                seen = event;
                if let Some(at) = shared.fired.get() {
                    shared.latencies.borrow_mut().push(at.elapsed().as_secs_f64() * 1000.0);
                }
                let left = shared.waiting.get().saturating_sub(1);
                shared.waiting.set(left);
                if left == 0 {
                    shared.all_in.notify_one();
                }
            }
        }
    }
    shared.closed.set(shared.closed.get() + 1);
}

/// One HTTP/1.1 call on a fresh connection; answers the status.
async fn fire(cfg: &Value) -> u16 {
    let url = cfg["url"].as_str().unwrap_or_default();
    let (host, path) = split_url(url);
    let method = cfg["method"].as_str().unwrap_or("POST");
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n");
    if let Some(h) = cfg["headers"].as_object() {
        for (k, v) in h {
            req.push_str(&format!("{k}: {}\r\n", v.as_str().unwrap_or_default()));
        }
    }
    req.push_str("\r\n");
    let Ok(mut s) = TcpStream::connect(&host).await else {
        return 0;
    };
    if s.write_all(req.as_bytes()).await.is_err() {
        return 0;
    }
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out).await;
    std::str::from_utf8(&out)
        .ok()
        .and_then(|t| t.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

async fn run(cfg: Value) -> Value {
    let (host, path) = split_url(cfg["url"].as_str().unwrap_or_default());
    let n = cfg["n"].as_u64().unwrap_or(100) as usize;
    let events = cfg["events"].as_u64().unwrap_or(20) as u32;
    let pid = cfg["pid"].as_u64().unwrap_or(0);
    let shared = Rc::new(Shared {
        event: Cell::new(0),
        fired: Cell::new(None),
        waiting: Cell::new(0),
        latencies: RefCell::new(Vec::new()),
        all_in: Notify::new(),
        closed: Cell::new(0),
    });
    let before = rss_kb(pid);
    let mut connected = 0;
    let mut i = 0;
    while i < n {
        let batch = CONNECT_AT_ONCE.min(n - i);
        let opened = futures_util::future::join_all((0..batch).map(|_| open(&host, &path))).await;
        for (s, buf) in opened.into_iter().flatten() {
            connected += 1;
            tokio::task::spawn_local(follow(s, buf, shared.clone()));
        }
        i += batch;
    }
    // Let the server settle what each connection costs it (the hub gives back its handshakes'
    // memory a second after a burst of connections ends); both servers are given the same time.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = rss_kb(pid);
    let mut missed = 0;
    for e in 1..=events {
        let open_now = connected - shared.closed.get();
        shared.waiting.set(open_now);
        shared.fired.set(Some(Instant::now()));
        shared.event.set(e);
        let status = fire(&cfg["fire"]).await;
        if !(200..300).contains(&status) {
            eprintln!("firing answered {status}");
            std::process::exit(1);
        }
        // (A wake-up left from an earlier event only makes this look again.)
        let until = tokio::time::Instant::now() + Duration::from_secs(30);
        while shared.waiting.get() > 0 && tokio::time::Instant::now() < until {
            let _ = tokio::time::timeout_at(until, shared.all_in.notified()).await;
        }
        missed += shared.waiting.get();
        shared.waiting.set(0);
        // A breath between events, so each is timed on its own.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut lat = shared.latencies.take();
    lat.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        if lat.is_empty() {
            f64::NAN
        } else {
            lat[((lat.len() - 1) as f64 * p).round() as usize]
        }
    };
    json!({
        "connected": connected, "rss_before_kb": before, "rss_after_kb": after,
        "per_socket_kb": (after - before) / connected.max(1) as f64,
        "p50_ms": pct(0.5), "p99_ms": pct(0.99), "max_ms": lat.last().copied().unwrap_or(f64::NAN),
        "deliveries": lat.len(), "missed": missed, "closed": shared.closed.get(),
    })
}

fn main() {
    let Some(cfg) = std::env::args()
        .skip(1)
        .find_map(|a| serde_json::from_str::<Value>(&a).ok())
    else {
        println!("ws_client: run by tests/bench/ws/run.py (python3 tests/bench/ws/run.py --help)");
        return;
    };
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("runtime: {e}");
            std::process::exit(1);
        }
    };
    let out = rt.block_on(tokio::task::LocalSet::new().run_until(run(cfg)));
    println!("{out}");
    std::process::exit(0);
}
