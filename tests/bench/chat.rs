//! Web-chat benchmark against a real `hub serve` process (built with the bench profile).
//!
//! Opens HUB_BENCH_CONVERSATIONS (default 2,000) widget connections, each writing a first
//! message while no operator is available; then HUB_BENCH_CHAT_OPERATORS (default 50) operators
//! with room for all of them go available and accept the offers as their consoles hear them.
//! Prints:
//! - conversations opened per second (first message stored, conversation queued);
//! - routing in the server: offers per second from the operators going available to the last
//!   offer reaching a console (store writes, events, WebSocket delivery included);
//! - routing engine alone: decisions per second of one pass over the same numbers;
//! - message latency, widget send → operator console receive, p50/p99, while every
//!   conversation is open and messages flow at HUB_BENCH_RATE per second (default 200).
//!
//! `cargo bench --bench chat` (HUB_BENCH_BACKENDS=sqlite,postgres).

// The load generator runs on one thread; a widget's sink is shared by its pong task and the
// sender, and `send_on` takes turns with `try_borrow_mut`, so a borrow held across a send is
// never borrowed twice.
#![allow(clippy::await_holding_refcell_ref)]

#[path = "common.rs"]
mod common;
#[path = "../it/harness.rs"]
mod harness;

use common::{env_or, now_ms, percentile, raise_fd_limit};

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::{Duration, Instant};

use futures_util::{future::join_all, SinkExt, StreamExt};
use harness::*;
use hub_actors::model::routing::{self, Candidate, Load, Policy, Strategy, Waiting};
use serde_json::{json, Value};

const CHAT_QUEUE: i64 = 5;
const SAMPLES: usize = 3000;

fn main() {
    raise_fd_limit();
    let conversations = env_or("HUB_BENCH_CONVERSATIONS", 2000);
    let operators = env_or("HUB_BENCH_CHAT_OPERATORS", 50);
    let rate = env_or("HUB_BENCH_RATE", 200);
    println!("hub chat benchmark: {conversations} conversations, {operators} operators, {rate} messages/s");
    engine_alone(conversations, operators);
    let backends = std::env::var("HUB_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    for name in backends.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let backend = match name {
            "sqlite" => Backend::Sqlite,
            "postgres" => Backend::Postgres,
            other => panic!("unknown backend {other}"),
        };
        actix_rt::System::new().block_on(run(backend, conversations, operators, rate));
    }
}

/// The pure engine: one pass routing every waiting conversation to operators with room.
fn engine_alone(conversations: usize, operators: usize) {
    let capacity = conversations.div_ceil(operators) as u32;
    let policies = HashMap::from([(
        1,
        Policy::new(Strategy::FewestActive, vec![], 20_000, 3).expect("policy"),
    )]);
    let waiting: Vec<Waiting> = (0..conversations as i64)
        .map(|i| Waiting {
            id: i,
            service_id: 1,
            priority: i64::from(i % 10 == 0),
            queued_at: i,
            load: Load::Chat,
            offer: None,
            tried: vec![],
        })
        .collect();
    let ops: Vec<Candidate> = (0..operators as i64)
        .map(|i| Candidate {
            id: i,
            available: true,
            wrap_up_until: 0,
            chats: 0,
            chat_capacity: capacity,
            mails: 0,
            mail_capacity: 10,
            exclusive: 0,
            idle_since: i,
            last_offer_at: 0,
            missed_offers: 0,
            skills: HashMap::from([(1, 3)]),
        })
        .collect();
    let started = Instant::now();
    let mut decided = 0;
    let mut passes = 0;
    while started.elapsed() < Duration::from_secs(2) {
        decided += routing::route(1_000_000, &waiting, &ops, &policies).len();
        passes += 1;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "routing engine:     {:>10.0} decisions/s ({} waiting × {} operators per pass, {:.2} ms per pass)",
        decided as f64 / secs,
        conversations,
        operators,
        secs * 1000.0 / passes as f64
    );
}

type Socket = actix_codec::Framed<awc::BoxedSocket, awc::ws::Codec>;
type Sink = Rc<RefCell<futures_util::stream::SplitSink<Socket, awc::ws::Message>>>;

/// Sends on a sink another task may be using right now: waits for its turn.
async fn send_on(sink: &Sink, msg: awc::ws::Message) {
    loop {
        if let Ok(mut s) = sink.try_borrow_mut() {
            let _ = s.send(msg).await;
            return;
        }
        actix_rt::task::yield_now().await;
    }
}

async fn socket(url: String) -> Socket {
    let (_, framed) = awc::Client::builder()
        .timeout(Duration::from_secs(60))
        .finish()
        .ws(url)
        .max_frame_size(1 << 20)
        .connect()
        .await
        .expect("websocket");
    framed
}

async fn run(backend: Backend, conversations: usize, operators: usize, rate: usize) {
    let mut store = Store::new(backend, false).await;
    // Every widget of the load generator comes from 127.0.0.1.
    store.env.push(("HUB_ANONYMOUS_LIMIT".into(), "0".into()));
    let node = store.start().await;
    let api = node.api.clone();
    println!("\n== {backend:?} ==");
    let admin = api.login("admin", "demo-admin").await;

    // Operators with room for every conversation, available, each with a console feed that
    // accepts what it is offered and times the messages it receives.
    let capacity = conversations.div_ceil(operators) as i64;
    let latencies: Rc<RefCell<Vec<f64>>> = Rc::default();
    let accepted: Rc<RefCell<usize>> = Rc::default();
    // When each offer reached a console (client clock, ms): the server's offer rate.
    let offered_at: Rc<RefCell<Vec<f64>>> = Rc::default();
    let mut tokens: Vec<String> = Vec::new();
    for i in 0..operators {
        let login = format!("chat{i}");
        let (s, user) = api
            .post(
                "/api/admin/users",
                Some(&admin),
                json!({"login": login, "name": login, "role": "operator", "password": "bench-password"}),
            )
            .await;
        assert_eq!(s, 201, "{user}");
        let (s, b) = api
            .put(
                &format!("/api/admin/users/{}/skills", user["id"]),
                Some(&admin),
                json!({"skills": [{"service_id": CHAT_QUEUE, "proficiency": 3}], "chat_capacity": capacity, "wrap_up_secs": 0}),
            )
            .await;
        assert_eq!(s, 200, "{b}");
        let token = api.login(&login, "bench-password").await;
        // Available only once every conversation waits: the router then meets them all at once.
        tokens.push(token.clone());
        let me = user["id"].as_i64().expect("id");
        let mut feed = socket(api.ws_url(&format!("/ws/operator?token={token}"))).await;
        let (api, lat, acc, offers) = (api.clone(), latencies.clone(), accepted.clone(), offered_at.clone());
        actix_rt::spawn(async move {
            while let Some(frame) = feed.next().await {
                let text = match frame {
                    Ok(awc::ws::Frame::Text(t)) => t,
                    Ok(awc::ws::Frame::Ping(p)) => {
                        let _ = feed.send(awc::ws::Message::Pong(p)).await;
                        continue;
                    }
                    Ok(_) => continue,
                    Err(_) => break,
                };
                let received = now_ms();
                let Ok(e) = serde_json::from_slice::<Value>(&text) else {
                    continue;
                };
                match e["type"].as_str() {
                    Some("message_added") if e["assignee_id"] == me => {
                        if let Some(sent) = e["message"]["body"]
                            .as_str()
                            .and_then(|b| b.strip_prefix("t="))
                            .and_then(|t| t.parse::<f64>().ok())
                        {
                            lat.borrow_mut().push(received - sent);
                        }
                    }
                    Some("conversation_changed") if e["offered_to"] == me && e["status"] == "offered" => {
                        offers.borrow_mut().push(received);
                        let (api, token, acc) = (api.clone(), token.clone(), acc.clone());
                        let id = e["conversation_id"].as_i64().unwrap_or(0);
                        actix_rt::spawn(async move {
                            let (s, _) = api
                                .post(&format!("/api/conversations/{id}/accept"), Some(&token), json!({}))
                                .await;
                            if s == 200 {
                                *acc.borrow_mut() += 1;
                            }
                        });
                    }
                    _ => {}
                }
            }
        });
    }

    // The widgets: start, connect, and keep reading (a widget that stops reading is dropped).
    let mut widgets: Vec<Sink> = Vec::new();
    let started = Instant::now();
    for chunk in (0..conversations).collect::<Vec<_>>().chunks(50) {
        let socks = join_all(chunk.iter().map(|_| {
            let api = api.clone();
            async move {
                let (s, b) = api.post("/api/chat/start", None, json!({"key": "demo"})).await;
                assert_eq!(s, 200, "{b}");
                let token = b["token"].as_str().expect("token").to_string();
                socket(api.ws_url(&format!("/ws/chat?token={token}&after=0"))).await
            }
        }))
        .await;
        for s in socks {
            let (sink, mut stream) = s.split();
            let sink = Rc::new(RefCell::new(sink));
            let pong = sink.clone();
            actix_rt::spawn(async move {
                while let Some(frame) = stream.next().await {
                    if let Ok(awc::ws::Frame::Ping(p)) = frame {
                        send_on(&pong, awc::ws::Message::Pong(p)).await;
                    }
                }
            });
            widgets.push(sink);
        }
    }
    println!(
        "widgets connected:  {conversations} in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // Every widget writes its first message while no operator is available: 2,000 conversations wait.
    let started = Instant::now();
    for (i, w) in widgets.iter().enumerate() {
        let frame = json!({"type": "message", "client_id": format!("first{i}"), "body": "Здравствуйте"}).to_string();
        send_on(w, awc::ws::Message::Text(frame.into())).await;
    }
    let sup = api.login("supervisor", "demo-supervisor").await;
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let (_, o) = api.get("/api/supervisor/overview", Some(&sup)).await;
        let waiting = o["queues"][0]["waiting"].as_i64().unwrap_or(0) as usize;
        if waiting >= conversations {
            break;
        }
        assert!(Instant::now() < deadline, "only {waiting} conversations queued");
        actix_rt::time::sleep(Duration::from_millis(100)).await;
    }
    println!(
        "conversations open: {:>10.0} /s ({conversations} first messages stored and queued in {:.1} s)",
        conversations as f64 / started.elapsed().as_secs_f64(),
        started.elapsed().as_secs_f64()
    );

    // Then the operators come: the router offers every waiting conversation, the consoles accept.
    let started = Instant::now();
    let t0 = now_ms();
    join_all(tokens.iter().map(|t| {
        let api = api.clone();
        async move {
            let (s, b) = api
                .put("/api/operator/presence", Some(t), json!({"state": "available"}))
                .await;
            assert_eq!(s, 200, "{b}");
        }
    }))
    .await;
    let deadline = Instant::now() + Duration::from_secs(300);
    while *accepted.borrow() < conversations && Instant::now() < deadline {
        actix_rt::time::sleep(Duration::from_millis(50)).await;
    }
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(
        *accepted.borrow(),
        conversations,
        "every conversation reached an operator"
    );
    let mut at = offered_at.borrow().clone();
    at.sort_by(f64::total_cmp);
    let last_offer = at.last().copied().unwrap_or(t0);
    println!(
        "routing in server:  {:>10.0} offers/s ({} conversations offered to {operators} operators in {:.2} s from their going available; \
         offers stored, published and received by the consoles)",
        at.len() as f64 / ((last_offer - t0) / 1000.0).max(0.001),
        at.len(),
        (last_offer - t0) / 1000.0
    );
    println!(
        "accepted:           {:>10.0} /s ({} accepted over HTTP in {secs:.1} s)",
        *accepted.borrow() as f64 / secs,
        *accepted.borrow()
    );

    // Steady traffic into the open conversations, timed from send to console receive.
    // Let the burst settle (the store's background work after 2,000 updates at once) so the
    // figure is the steady state of open conversations.
    let settle = env_or("HUB_BENCH_SETTLE_SECS", 5);
    actix_rt::time::sleep(Duration::from_secs(settle as u64)).await;
    latencies.borrow_mut().clear();
    let gap = Duration::from_secs_f64(1.0 / rate as f64);
    let started = Instant::now();
    let mut next = Instant::now();
    for n in 0..SAMPLES {
        let w = &widgets[(n * 7919) % widgets.len()];
        let frame =
            json!({"type": "message", "client_id": format!("m{n}"), "body": format!("t={:.3}", now_ms())}).to_string();
        send_on(w, awc::ws::Message::Text(frame.into())).await;
        next += gap;
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            actix_rt::time::sleep(wait).await;
        }
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while latencies.borrow().len() < SAMPLES && Instant::now() < deadline {
        actix_rt::time::sleep(Duration::from_millis(50)).await;
    }
    let mut lat = latencies.borrow().clone();
    lat.sort_by(f64::total_cmp);
    println!(
        "message latency:    p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (widget send → console receive; {} of {SAMPLES} received at {:.0} messages/s with {conversations} open conversations, {settle} s after the routing burst)",
        percentile(&lat, 0.50),
        percentile(&lat, 0.99),
        lat.last().copied().unwrap_or(f64::NAN),
        lat.len(),
        SAMPLES as f64 / started.elapsed().as_secs_f64(),
    );
    drop(widgets);
}
