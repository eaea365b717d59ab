//! Load benchmark against real `hub serve` processes (built with the bench profile).
//!
//! Prints, per backend: durable call-next operations per second with p50/p99 latency, ticket
//! issue rate, event-to-board latency p50/p99 with 1,000 connected board connections, and the
//! server's memory per board connection.
//!
//! `cargo bench --bench load` (HUB_BENCH_BACKENDS=sqlite,postgres; HUB_BENCH_BOARDS=1000;
//! HUB_BENCH_OPERATORS=32, the operators pressing call next and finish as fast as answered).

#[path = "common.rs"]
mod common;
#[path = "../it/harness.rs"]
mod harness;

use common::{now_ms, percentile, raise_fd_limit};

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use futures_util::{future::join_all, SinkExt, StreamExt};
use harness::*;

const CLIENT_THREADS: usize = 2;
const TICKETS: usize = 6000;
const CALLS_FOR_LATENCY: usize = 60;

fn main() {
    raise_fd_limit();
    let backends = std::env::var("HUB_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    let boards: usize = std::env::var("HUB_BENCH_BOARDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let operators: usize = std::env::var("HUB_BENCH_OPERATORS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(32);
    println!("hub load benchmark: {operators} operators on {CLIENT_THREADS} client threads, {TICKETS} tickets, {boards} board connections");
    for name in backends.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let backend = match name {
            "sqlite" => Backend::Sqlite,
            "postgres" => Backend::Postgres,
            other => panic!("unknown backend {other}"),
        };
        actix_rt::System::new().block_on(run(backend, boards, operators));
    }
}

/// Only what the load generator needs from a call-next answer; the rest is skipped unparsed.
#[derive(serde::Deserialize)]
struct Called {
    ticket: Option<TicketId>,
}

#[derive(serde::Deserialize)]
struct TicketId {
    id: i64,
}

#[derive(serde::Deserialize)]
struct BoardPush {
    at: f64,
    /// A change's kind; `call` for a new call (absent in a snapshot).
    op: Option<String>,
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// CPU seconds (user + system) the process has used so far.
fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    (ticks(11) + ticks(12)) / hz
}

async fn run(backend: Backend, boards: usize, operators: usize) {
    let store = Store::new(backend, false).await;
    let node = store.start().await;
    let base = node.api.base.clone();
    println!("\n== {backend:?} ==");

    // Operators, each at a window of their own (one window, one operator), serving every service.
    let windows = node.api.windows_for(operators).await;
    let mut tokens = Vec::new();
    for i in 0..operators {
        let login = format!("bench{i}");
        let out = store.hub(
            &["user", "add", "--login", &login, "--name", &login, "--password-stdin"],
            "bench-password\n",
        );
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        tokens.push(node.api.operator_at(&login, "bench-password", windows[i]).await);
    }

    // Issue the tickets, 32 at a time.
    let kiosk = node.api.kiosk().await;
    let started = Instant::now();
    for chunk in (0..TICKETS).collect::<Vec<_>>().chunks(32) {
        join_all(chunk.iter().map(|i| node.api.issue(&kiosk, DEMO_SERVICES[i % 3]))).await;
    }
    let issue_rate = TICKETS as f64 / started.elapsed().as_secs_f64();
    println!("issue ticket:       {issue_rate:>8.0} tickets/s (32 concurrent kiosk requests)");

    // Call next + finish until the queues are empty, from several client threads.
    let (tx, rx) = mpsc::channel::<(Vec<f64>, usize)>();
    let cpu_before = cpu_secs(node.pid());
    let started = Instant::now();
    let per_thread: Vec<Vec<String>> = (0..CLIENT_THREADS)
        .map(|t| tokens.iter().skip(t).step_by(CLIENT_THREADS).cloned().collect())
        .collect();
    let threads: Vec<_> = per_thread
        .into_iter()
        .map(|mine| {
            let (tx, base) = (tx.clone(), base.clone());
            std::thread::spawn(move || {
                actix_rt::System::new().block_on(async move {
                    let api = Api::new(base);
                    let work = mine.iter().map(|token| {
                        let api = api.clone();
                        async move {
                            let mut lat = Vec::new();
                            loop {
                                let t = Instant::now();
                                let (status, body) = api.post_raw("/api/operator/call-next", token).await;
                                lat.push(t.elapsed().as_secs_f64() * 1000.0);
                                assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
                                let called: Called = serde_json::from_slice(&body).expect("call-next answer");
                                let Some(ticket) = called.ticket else { break };
                                let (status, body) = api
                                    .post_raw(&format!("/api/operator/tickets/{}/finish", ticket.id), token)
                                    .await;
                                assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
                            }
                            lat
                        }
                    });
                    let lats: Vec<f64> = join_all(work).await.into_iter().flatten().collect();
                    let n = lats.len();
                    let _ = tx.send((lats, n));
                });
            })
        })
        .collect();
    drop(tx);
    let mut lat: Vec<f64> = Vec::new();
    for (l, _) in rx {
        lat.extend(l);
    }
    for t in threads {
        let _ = t.join();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let server_cpu = cpu_secs(node.pid()) - cpu_before;
    lat.sort_by(f64::total_cmp);
    println!(
        "call next:          {:>8.0} calls/s, p50 {:.2} ms, p99 {:.2} ms ({} calls; each call also followed by a durable finish, so {:.0} durable writes/s)",
        TICKETS as f64 / elapsed,
        percentile(&lat, 0.50),
        percentile(&lat, 0.99),
        lat.len(),
        2.0 * TICKETS as f64 / elapsed
    );
    println!(
        "                    server CPU {:.0} us per call+finish cycle ({:.1} of 2 cores busy; the load generator shares the machine)",
        server_cpu / TICKETS as f64 * 1e6,
        server_cpu / elapsed
    );

    board_latency(&node, &store, &tokens[0], boards).await;
}

/// Connects `boards` board sessions, makes calls, and measures from the server's event time to
/// arrival on every connection.
async fn board_latency(node: &Node, _store: &Store, operator: &str, boards: usize) {
    let api = &Api::new(node.api.base.clone());
    let board_token = api.board().await;
    let rss_before = rss_kib(node.pid());
    let connected = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let (tx, rx) = mpsc::channel::<Vec<f64>>();
    let threads: Vec<_> = (0..CLIENT_THREADS)
        .map(|t| {
            let n = boards / CLIENT_THREADS + usize::from(t < boards % CLIENT_THREADS);
            let (url, connected, stop, tx) = (
                api.ws_url(&format!("/ws/board?token={board_token}")),
                connected.clone(),
                stop.clone(),
                tx.clone(),
            );
            std::thread::spawn(move || {
                actix_rt::System::new().block_on(async move {
                    let lat = Rc::new(RefCell::new(Vec::new()));
                    let mut tasks = Vec::new();
                    for _ in 0..n {
                        let (_, mut ws) = loop {
                            match awc::Client::new().ws(url.clone()).connect().await {
                                Ok(c) => break c,
                                Err(_) => actix_rt::time::sleep(Duration::from_millis(20)).await,
                            }
                        };
                        let (lat, connected, stop) = (lat.clone(), connected.clone(), stop.clone());
                        tasks.push(actix_rt::spawn(async move {
                            let mut first = true;
                            while !stop.load(Ordering::Relaxed) {
                                let frame = match actix_rt::time::timeout(Duration::from_millis(200), ws.next()).await {
                                    Ok(Some(Ok(f))) => f,
                                    Ok(_) => break,
                                    Err(_) => continue,
                                };
                                match frame {
                                    awc::ws::Frame::Text(t) => {
                                        let arrived = now_ms();
                                        // Only what the measure needs; the rest is skipped
                                        // without building anything.
                                        let push: BoardPush = serde_json::from_slice(&t).expect("board push");
                                        if first {
                                            first = false;
                                            connected.fetch_add(1, Ordering::Relaxed);
                                        } else if push.op.as_deref() == Some("call") {
                                            lat.borrow_mut().push(arrived - push.at);
                                        }
                                    }
                                    awc::ws::Frame::Ping(p) => {
                                        let _ = ws.send(awc::ws::Message::Pong(p)).await;
                                    }
                                    _ => {}
                                }
                            }
                        }));
                    }
                    for t in tasks {
                        let _ = t.await;
                    }
                    let _ = tx.send(lat.take());
                });
            })
        })
        .collect();
    drop(tx);
    let deadline = Instant::now() + Duration::from_secs(120);
    while connected.load(Ordering::Relaxed) < boards && Instant::now() < deadline {
        actix_rt::time::sleep(Duration::from_millis(100)).await;
    }
    actix_rt::time::sleep(Duration::from_millis(500)).await;
    let have = connected.load(Ordering::Relaxed);
    let rss_after = rss_kib(node.pid());
    let per_conn = (rss_after.saturating_sub(rss_before)) as f64 * 1024.0 / have.max(1) as f64;
    println!(
        "board connections:  {have} connected; server RSS {rss_before} KiB -> {rss_after} KiB = {:.1} KB per connection",
        per_conn / 1000.0
    );

    let kiosk = api.kiosk().await;
    for _ in 0..CALLS_FOR_LATENCY {
        api.issue(&kiosk, DEMO_SERVICES[0]).await;
        let (_, called) = api.call_next(operator).await;
        let id = called["ticket"]["id"].as_i64().expect("called");
        actix_rt::time::sleep(Duration::from_millis(50)).await;
        api.act(operator, id, "finish", None).await;
    }
    actix_rt::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    let mut lat: Vec<f64> = rx.iter().flatten().collect();
    for t in threads {
        let _ = t.join();
    }
    lat.sort_by(f64::total_cmp);
    let expected = CALLS_FOR_LATENCY * have;
    println!(
        "event to board:     p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms over {} deliveries (expected {expected}; server event time has 1 ms resolution)",
        percentile(&lat, 0.50),
        percentile(&lat, 0.99),
        lat.last().copied().unwrap_or(f64::NAN),
        lat.len()
    );
}
