//! Conversations over the web-chat widget's real protocol: routing and offers, replies, close
//! and rating, restart safety, and refusals.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};

use crate::harness::*;

/// The demo's web-chat queue and its widget key.
pub const CHAT_QUEUE: i64 = 5;
pub const OPERATOR1: i64 = 3;
pub const OPERATOR2: i64 = 4;

/// A widget as the browser runs it: a visitor token and a WebSocket.
pub struct Widget {
    framed: actix_codec::Framed<awc::BoxedSocket, awc::ws::Codec>,
}

impl Widget {
    pub async fn start(api: &Api, token: Option<&str>) -> (String, Value) {
        let (s, b) = api
            .post("/api/chat/start", None, json!({"key": "demo", "token": token}))
            .await;
        assert_eq!(s, 200, "{b}");
        (b["token"].as_str().expect("token").to_string(), b)
    }

    pub async fn connect(api: &Api, token: &str, after: i64) -> (Widget, Value) {
        let (_, framed) = awc::Client::new()
            .ws(api.ws_url(&format!("/ws/chat?token={token}&after={after}")))
            .max_frame_size(1 << 20)
            .connect()
            .await
            .expect("chat websocket");
        let mut w = Widget { framed };
        let hello = w.next_of("hello", 10).await;
        (w, hello)
    }

    pub async fn send(&mut self, v: Value) {
        self.framed
            .send(awc::ws::Message::Text(v.to_string().into()))
            .await
            .expect("send frame");
    }

    pub async fn say(&mut self, client_id: &str, body: &str) {
        self.send(json!({"type": "message", "client_id": client_id, "body": body}))
            .await;
    }

    /// Sends until acknowledged, waiting when told to slow down (as the widget's outbox does).
    pub async fn say_until_acked(&mut self, client_id: &str, body: &str) -> Value {
        for _ in 0..30 {
            self.say(client_id, body).await;
            loop {
                let f = self
                    .next(10)
                    .await
                    .unwrap_or_else(|| panic!("no answer to {client_id}"));
                match f["type"].as_str() {
                    Some("ack") if f["client_id"] == client_id => return f,
                    Some("error") if f["code"] == "too_many_messages" && f["client_id"] == client_id => {
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        break;
                    }
                    Some("error") if f["client_id"] == client_id => panic!("{client_id} refused: {f}"),
                    _ => continue,
                }
            }
        }
        panic!("{client_id} never acknowledged");
    }

    /// The next JSON frame, skipping pings; None when the socket ends or `secs` pass.
    pub async fn next(&mut self, secs: u64) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            match tokio::time::timeout_at(deadline, self.framed.next()).await {
                Ok(Some(Ok(awc::ws::Frame::Text(t)))) => return Some(serde_json::from_slice(&t).expect("json")),
                Ok(Some(Ok(awc::ws::Frame::Ping(p)))) => {
                    let _ = self.framed.send(awc::ws::Message::Pong(p)).await;
                }
                Ok(Some(Ok(_))) => continue,
                _ => return None,
            }
        }
    }

    /// The next frame of `kind`, skipping others.
    pub async fn next_of(&mut self, kind: &str, secs: u64) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let left = deadline
                .saturating_duration_since(tokio::time::Instant::now())
                .as_secs()
                .max(1);
            let f = self
                .next(left)
                .await
                .unwrap_or_else(|| panic!("no {kind} frame within {secs} s"));
            if f["type"] == kind {
                return f;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no {kind} frame within {secs} s"
            );
        }
    }
}

/// Polls `check` every 100 ms until it returns Some, or panics after `secs`.
pub async fn eventually<T, F, Fut>(secs: u64, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub async fn available(api: &Api, login: &str, password: &str) -> String {
    let token = api.login(login, password).await;
    let (s, b) = api
        .put("/api/operator/presence", Some(&token), json!({"state": "available"}))
        .await;
    assert_eq!(s, 200, "a chat operator goes available without a window: {b}");
    token
}

/// The conversation offered to the operator holding `token`, once there is one.
pub async fn offer_for(api: &Api, token: &str, secs: u64) -> Value {
    eventually(secs, "an offer", || async {
        let (_, b) = api.get("/api/conversations", Some(token)).await;
        b["offers"].as_array().and_then(|o| o.first().cloned())
    })
    .await
}

async fn flow(backend: Backend) {
    let store = Store::new(backend, false).await;
    let node = store.start().await;
    let api = &node.api;

    // Both demo operators serve the chat; the queue's strategy (skills) picks Анна (5 over 3).
    let anna = available(api, "operator1", "demo-operator1").await;
    let ivan = available(api, "operator2", "demo-operator2").await;
    let (token, started) = Widget::start(api, None).await;
    assert_eq!(started["service"]["open"], true);
    assert_eq!(started["service"]["operators_available"], true);
    assert_eq!(started["conversation"], Value::Null);
    let (mut w, hello) = Widget::connect(api, &token, 0).await;
    assert_eq!(hello["conversation"], Value::Null);

    w.say("c1", "Здравствуйте, вопрос по счёту").await;
    let ack = w.next_of("ack", 10).await;
    assert_eq!(ack["client_id"], "c1");
    let first_id = ack["message_id"].as_i64().expect("message id");
    // A resend of the same client id (the ack was lost) is acknowledged with the same message.
    w.say("c1", "Здравствуйте, вопрос по счёту").await;
    let again = w.next_of("ack", 10).await;
    assert_eq!(again["message_id"], first_id, "stored once");

    let offer = offer_for(api, &anna, 10).await;
    let conv_id = offer["id"].as_i64().expect("conversation id");
    assert_eq!(offer["status"], "offered");
    assert_eq!(offer["offered_to"], OPERATOR1);
    let (_, ivan_view) = api.get("/api/conversations", Some(&ivan)).await;
    assert_eq!(
        ivan_view["offers"],
        json!([]),
        "only one operator is offered the conversation"
    );

    // Only the operator it is offered to may accept it.
    let (s, _) = api
        .post(&format!("/api/conversations/{conv_id}/accept"), Some(&ivan), json!({}))
        .await;
    assert_eq!(s, 409);
    let (s, accepted) = api
        .post(&format!("/api/conversations/{conv_id}/accept"), Some(&anna), json!({}))
        .await;
    assert_eq!(s, 200, "{accepted}");
    assert_eq!(accepted["status"], "open");
    // The visitor sees "waiting" (an offer is the organisation's business), then "open".
    let mut status = w.next_of("status", 10).await;
    while status["conversation"]["status"] != "open" {
        assert_eq!(status["conversation"]["status"], "queued");
        status = w.next_of("status", 10).await;
    }
    for internal in [
        "offered_to",
        "org_id",
        "resolution",
        "contact",
        "service_id",
        "assignee_id",
    ] {
        assert!(
            status["conversation"].get(internal).is_none(),
            "{internal} is not the visitor's business"
        );
    }
    assert_eq!(status["conversation"]["assignee"], "Анна Петрова");

    // The thread with its contact card and timeline.
    let (s, thread) = api.get(&format!("/api/conversations/{conv_id}"), Some(&anna)).await;
    assert_eq!(s, 200);
    assert_eq!(thread["messages"].as_array().map(Vec::len), Some(1));
    assert_eq!(thread["contact"]["identities"][0]["kind"], "web");
    let kinds: Vec<&str> = thread["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["created", "queued", "offered", "accepted"]);
    assert_eq!(thread["conversation"]["unread"], 1);

    // Typing and a reply reach the widget; the reply is stored once per client id.
    let (s, _) = api
        .post(&format!("/api/conversations/{conv_id}/typing"), Some(&anna), json!({}))
        .await;
    assert_eq!(s, 204);
    w.next_of("typing", 10).await;
    let (s, reply) = api
        .post(
            &format!("/api/conversations/{conv_id}/messages"),
            Some(&anna),
            json!({"client_id": "r1", "body": "Здравствуйте! Чем могу помочь?"}),
        )
        .await;
    assert_eq!(s, 200, "{reply}");
    let got = w.next_of("message", 10).await;
    // The widget also hears its own message echoed; skip to the operator's.
    let got = if got["message"]["author"] == "visitor" {
        w.next_of("message", 10).await
    } else {
        got
    };
    assert_eq!(got["message"]["body"], "Здравствуйте! Чем могу помочь?");
    assert_eq!(got["message"]["author"], "operator");
    let (s, _) = api
        .post(
            &format!("/api/conversations/{conv_id}/read"),
            Some(&anna),
            json!({"up_to": first_id}),
        )
        .await;
    assert_eq!(s, 204);
    let (_, lists) = api.get("/api/conversations", Some(&anna)).await;
    assert_eq!(lists["mine"][0]["unread"], 0);
    assert!(
        lists["mine"][0]["first_response_at"].is_i64(),
        "first response clock stopped"
    );

    // Another operator cannot reply in Анна's conversation.
    let (s, _) = api
        .post(
            &format!("/api/conversations/{conv_id}/messages"),
            Some(&ivan),
            json!({"body": "hi"}),
        )
        .await;
    assert_eq!(s, 409);

    // A reload: the widget resumes the same conversation with the whole thread.
    drop(w);
    let (same, again) = Widget::start(api, Some(&token)).await;
    assert_eq!(same, token, "the stored token resumes the visitor");
    assert_eq!(again["conversation"]["id"], conv_id);
    let (mut w, hello) = Widget::connect(api, &token, 0).await;
    let bodies: Vec<&str> = hello["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter_map(|m| m["body"].as_str())
        .collect();
    assert_eq!(
        bodies,
        ["Здравствуйте, вопрос по счёту", "Здравствуйте! Чем могу помочь?"]
    );

    // Close with a resolution; the operator goes into wrap-up; the visitor rates once.
    let (s, closed) = api
        .post(
            &format!("/api/conversations/{conv_id}/close"),
            Some(&anna),
            json!({"resolution": "answered"}),
        )
        .await;
    assert_eq!(s, 200, "{closed}");
    assert_eq!(w.next_of("status", 10).await["conversation"]["status"], "closed");
    let (_, overview) = api
        .get(
            "/api/supervisor/overview",
            Some(&api.login("supervisor", "demo-supervisor").await),
        )
        .await;
    let anna_fig = overview["operators"]
        .as_array()
        .expect("operators")
        .iter()
        .find(|o| o["user_id"] == OPERATOR1)
        .cloned()
        .expect("anna");
    assert!(
        anna_fig["wrap_up_until"].as_i64().unwrap_or(0) > 0,
        "wrap-up after close"
    );
    let rate = |score: i64| {
        let token = token.clone();
        async move {
            api.send_raw_auth(
                "POST",
                "/api/chat/rating",
                &token,
                &json!({"conversation_id": conv_id, "score": score, "comment": "спасибо"}).to_string(),
            )
            .await
        }
    };
    assert_eq!(rate(9).await.0, 400, "a rating is 1 to 5");
    assert_eq!(rate(5).await.0, 204);
    assert_eq!(rate(4).await.0, 409, "rated once");
    let (_, thread) = api.get(&format!("/api/conversations/{conv_id}"), Some(&anna)).await;
    assert_eq!(thread["conversation"]["rating"], 5);
    assert_eq!(thread["conversation"]["rating_comment"], "спасибо");

    // A late resend of a message stored before the close is that message, not a new conversation.
    w.say("c1", "Здравствуйте, вопрос по счёту").await;
    assert_eq!(w.next_of("ack", 10).await["message_id"], first_id);
    let (_, again) = Widget::start(api, Some(&token)).await;
    assert_eq!(
        again["conversation"]["id"], conv_id,
        "no conversation opened by a resend"
    );
    assert!(
        again["conversation"].get("resolution").is_none(),
        "the operator's note stays inside"
    );

    // Writing after the close opens a new conversation for the same contact.
    w.say("c2", "И ещё вопрос").await;
    w.next_of("ack", 10).await;
    let (_, again) = Widget::start(api, Some(&token)).await;
    let new_id = again["conversation"]["id"].as_i64().expect("new conversation");
    assert_ne!(new_id, conv_id);
    let sup = api.login("supervisor", "demo-supervisor").await;
    let (_, new_thread) = api.get(&format!("/api/conversations/{new_id}"), Some(&sup)).await;
    assert_eq!(new_thread["contact"]["id"], thread["contact"]["id"]);
    let (_, card) = api
        .get(&format!("/api/contacts/{}", thread["contact"]["id"]), Some(&anna))
        .await;
    assert_eq!(
        card["history"].as_array().map(Vec::len),
        Some(2),
        "the card shows both conversations"
    );
}

#[actix_rt::test]
async fn chat_flow_sqlite() {
    flow(Backend::Sqlite).await;
}

#[actix_rt::test]
async fn chat_flow_postgres() {
    flow(Backend::Postgres).await;
}

/// An offer nobody takes goes to the next operator; missing too many in a row means a break.
#[actix_rt::test]
async fn unanswered_offers_move_on_and_end_in_a_break() {
    let store = Store::new(Backend::Sqlite, false).await;
    let node = store.start().await;
    let api = &node.api;
    let admin = api.login("admin", "demo-admin").await;
    let (s, b) = api
        .put(
            &format!("/api/admin/services/{CHAT_QUEUE}/routing"),
            Some(&admin),
            json!({"strategy": "skills", "offer_secs": 5, "missed_limit": 1}),
        )
        .await;
    assert_eq!(s, 204, "{b}");
    let anna = available(api, "operator1", "demo-operator1").await;
    let ivan = available(api, "operator2", "demo-operator2").await;
    let (token, _) = Widget::start(api, None).await;
    let (mut w, _) = Widget::connect(api, &token, 0).await;
    w.say("c1", "Есть кто?").await;
    w.next_of("ack", 10).await;
    let offer = offer_for(api, &anna, 10).await;
    assert_eq!(offer["offered_to"], OPERATOR1);
    // Анна lets it run out: Иван gets it, and Анна (limit 1) is on a break.
    let offer = offer_for(api, &ivan, 15).await;
    assert_eq!(offer["id"], offer["id"]);
    let (_, me) = api.get("/api/operator", Some(&anna)).await;
    assert_eq!(me["state"]["presence"]["state"], "break", "{me}");
    assert_eq!(me["state"]["presence"]["reason"], "missed offers");
    let (_, thread) = api
        .get(&format!("/api/conversations/{}", offer["id"]), Some(&ivan))
        .await;
    let kinds: Vec<&str> = thread["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["created", "queued", "offered", "offer_expired", "offered"]);
    // Declining hands it on at once (back to Анна once she is available again).
    available(api, "operator1", "demo-operator1").await;
    let (s, _) = api
        .post(
            &format!("/api/conversations/{}/decline", offer["id"]),
            Some(&ivan),
            json!({}),
        )
        .await;
    assert_eq!(s, 204);
    let back = offer_for(api, &anna, 10).await;
    assert_eq!(back["id"], offer["id"]);
}

/// With nobody available the conversation waits, the widget is told, and a supervisor may
/// hand it to someone by hand; an operator signing out hands their conversations back.
#[actix_rt::test]
async fn nobody_available_manual_pick_and_sign_out() {
    let store = Store::new(Backend::Sqlite, false).await;
    let node = store.start().await;
    let api = &node.api;
    let (token, started) = Widget::start(api, None).await;
    assert_eq!(started["service"]["operators_available"], false);
    let (s, b) = api
        .send_raw_auth(
            "POST",
            "/api/chat/contact",
            &token,
            &json!({"email": "ivan@example.ru"}).to_string(),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert!(b["answer_by"].is_i64());
    let (mut w, _) = Widget::connect(api, &token, 0).await;
    w.say("c1", "Ответьте на почту").await;
    w.next_of("ack", 10).await;
    let sup = api.login("supervisor", "demo-supervisor").await;
    let (_, lists) = api.get("/api/conversations", Some(&sup)).await;
    let conv = lists["queued"][0].clone();
    assert_eq!(conv["status"], "queued", "{lists}");
    let (_, card) = api
        .get(&format!("/api/contacts/{}", conv["contact"]["id"]), Some(&sup))
        .await;
    assert_eq!(card["email"], "ivan@example.ru");
    let (_, overview) = api.get("/api/supervisor/overview", Some(&sup)).await;
    assert_eq!(overview["queues"][0]["waiting"], 1);
    assert_eq!(
        overview["queues"][0]["ewt_secs"],
        Value::Null,
        "nobody serving: unknown wait"
    );

    // Manual pick: the supervisor gives it to Иван, who is not even available.
    let ivan = api.login("operator2", "demo-operator2").await;
    let (s, c) = api
        .post(
            &format!("/api/conversations/{}/assign", conv["id"]),
            Some(&sup),
            json!({"operator_id": OPERATOR2}),
        )
        .await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["assignee_id"], OPERATOR2);
    let (s, _) = api
        .post(
            &format!("/api/conversations/{}/assign", conv["id"]),
            Some(&ivan),
            json!({"operator_id": OPERATOR2}),
        )
        .await;
    assert_eq!(s, 403, "operators cannot assign");
    // Signing out hands it back to the queue.
    let (s, _) = api
        .put("/api/operator/presence", Some(&ivan), json!({"state": "offline"}))
        .await;
    assert_eq!(s, 200);
    let c = eventually(10, "handed back", || async {
        let (_, c) = api.get(&format!("/api/conversations/{}", conv["id"]), Some(&sup)).await;
        (c["conversation"]["status"] == "queued").then_some(c)
    })
    .await;
    assert_eq!(c["conversation"]["assignee_id"], Value::Null);
}

/// Visits go through the same engine: with widening steps, an operator of low proficiency only
/// gets tickets that have waited long enough.
#[actix_rt::test]
async fn visit_widening_steps() {
    let store = Store::new(Backend::Sqlite, false).await;
    let node = store.start().await;
    let api = &node.api;
    let admin = api.login("admin", "demo-admin").await;
    let (s, b) = api
        .put(
            &format!("/api/admin/services/{CONSULTATION}/routing"),
            Some(&admin),
            json!({"strategy": "longest_idle", "steps": [{"after_secs": 0, "min_proficiency": 4}, {"after_secs": 3, "min_proficiency": 2}]}),
        )
        .await;
    assert_eq!(s, 204, "{b}");
    let (s, b) = api
        .put(
            &format!("/api/admin/users/{OPERATOR2}/skills"),
            Some(&admin),
            json!({"skills": [{"service_id": CONSULTATION, "proficiency": 2}]}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let kiosk = api.kiosk().await;
    let ivan = api.login("operator2", "demo-operator2").await;
    let (s, _) = api
        .put(
            "/api/operator/place",
            Some(&ivan),
            json!({"window_id": 2, "service_ids": [CONSULTATION]}),
        )
        .await;
    assert_eq!(s, 200);
    let t = api.issue(&kiosk, CONSULTATION).await;
    let (s, b) = api.call_next(&ivan).await;
    assert_eq!(
        (s, &b["ticket"]),
        (200, &Value::Null),
        "a fresh ticket needs proficiency 4"
    );
    tokio::time::sleep(Duration::from_millis(3200)).await;
    let (s, b) = api.call_next(&ivan).await;
    assert_eq!(s, 200);
    assert_eq!(b["ticket"]["id"], t["ticket"]["id"], "after 3 s proficiency 2 will do");
}

/// kill -9 with messages in flight: every acknowledged message survives, a resend of an
/// unacknowledged one is stored once, and the widget and console resume.
async fn restart(backend: Backend) {
    let store = Store::new(backend, false).await;
    let mut node = store.start().await;
    let anna = available(&node.api, "operator1", "demo-operator1").await;
    let (token, _) = Widget::start(&node.api, None).await;
    let (mut w, _) = Widget::connect(&node.api, &token, 0).await;
    w.say("m0", "первое").await;
    w.next_of("ack", 10).await;
    let offer = offer_for(&node.api, &anna, 10).await;
    let conv_id = offer["id"].as_i64().expect("id");
    let (s, _) = node
        .api
        .post(&format!("/api/conversations/{conv_id}/accept"), Some(&anna), json!({}))
        .await;
    assert_eq!(s, 200);

    // A burst, then the process dies while acks are still coming.
    const N: usize = 60;
    for i in 1..N {
        w.say(&format!("m{i}"), &format!("сообщение {i}")).await;
    }
    let mut acked = vec!["m0".to_string()];
    for _ in 0..N / 3 {
        match w.next(5).await {
            Some(f) if f["type"] == "ack" => acked.push(f["client_id"].as_str().unwrap_or_default().to_string()),
            Some(_) => {}
            None => break,
        }
    }
    node.kill();
    drop(w);

    let node = store.start().await;
    let api = &node.api;
    // The widget resumes: it resends everything it has no ack for (and, to be sure, some it has).
    let (mut w, hello) = Widget::connect(api, &token, 0).await;
    assert_eq!(
        hello["conversation"]["id"], conv_id,
        "same conversation after the restart"
    );
    let stored: Vec<String> = hello["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter_map(|m| m["client_id"].as_str().map(String::from))
        .collect();
    for a in &acked {
        assert!(stored.contains(a), "acknowledged message {a} was lost");
    }
    for i in 0..N {
        let id = format!("m{i}");
        if !stored.contains(&id) || i % 7 == 0 {
            w.say_until_acked(&id, &format!("сообщение {i}")).await;
        }
    }
    assert_eq!(
        store
            .scalar("SELECT COUNT(*) FROM messages WHERE author = 'visitor'")
            .await,
        N as i64,
        "each message once"
    );
    assert_eq!(
        store
            .scalar("SELECT COUNT(DISTINCT client_id) FROM messages WHERE author = 'visitor'")
            .await,
        N as i64
    );
    // The console resumes: the conversation is still Анна's, with every message.
    let anna = api.login("operator1", "demo-operator1").await;
    let (_, lists) = api.get("/api/conversations", Some(&anna)).await;
    assert_eq!(lists["mine"][0]["id"], conv_id);
    let (_, thread) = api.get(&format!("/api/conversations/{conv_id}"), Some(&anna)).await;
    assert_eq!(thread["messages"].as_array().map(Vec::len), Some(N));
    let (s, _) = api
        .post(
            &format!("/api/conversations/{conv_id}/messages"),
            Some(&anna),
            json!({"client_id": "after", "body": "Я здесь"}),
        )
        .await;
    assert_eq!(s, 200);
    // Echoes of the visitor's own resends may come first; the operator's reply follows.
    let mut m = w.next_of("message", 10).await;
    while m["message"]["author"] == "visitor" {
        m = w.next_of("message", 10).await;
    }
    assert_eq!(m["message"]["body"], "Я здесь");
}

#[actix_rt::test]
async fn restart_keeps_every_acknowledged_message_sqlite() {
    restart(Backend::Sqlite).await;
}

#[actix_rt::test]
async fn restart_keeps_every_acknowledged_message_postgres() {
    restart(Backend::Postgres).await;
}

/// Oversized and forbidden input, another visitor's or organisation's data: refused, nothing leaks.
#[actix_rt::test]
async fn chat_refusals() {
    let store = Store::new(Backend::Sqlite, false).await;
    let node = store.start().await;
    let api = &node.api;
    let anna = available(api, "operator1", "demo-operator1").await;
    let (alice, _) = Widget::start(api, None).await;
    let (bob, _) = Widget::start(api, None).await;
    let (mut w, _) = Widget::connect(api, &alice, 0).await;

    // Too long, empty, malformed, unknown fields.
    w.say("big", &"я".repeat(4001)).await;
    let e = w.next_of("error", 10).await;
    assert_eq!(
        (e["code"].as_str(), e["client_id"].as_str()),
        (Some("invalid"), Some("big"))
    );
    w.say("empty", "   ").await;
    assert_eq!(w.next_of("error", 10).await["code"], "invalid");
    w.send(json!({"type": "message", "client_id": "x", "body": "hi", "operator_id": 3}))
        .await;
    assert_eq!(w.next_of("error", 10).await["code"], "bad_json");
    // A script is stored and relayed as text, unchanged; pages show it with textContent.
    let script = "<script>alert(1)</script><img src=x onerror=alert(2)>";
    w.say("xss", script).await;
    w.next_of("ack", 10).await;

    // Attachments: too large, forbidden type, then a good one.
    let upload = |token: String, name: &'static str, data: Vec<u8>| async move {
        api.upload("/api/chat/attachments", name, &token, data).await
    };
    let (s, b) = upload(alice.clone(), "big.txt", vec![b'a'; 5 * 1024 * 1024 + 1]).await;
    assert_eq!((s, b["code"].as_str()), (413, Some("payload_too_large")));
    let (s, b) = upload(alice.clone(), "photo.png", b"MZ\x90\x00\x03\x00\x00\x00".to_vec()).await;
    assert_eq!(
        (s, b["code"].as_str()),
        (400, Some("invalid")),
        "an executable named .png is refused"
    );
    let (s, b) = upload(alice.clone(), "page.txt", b"<html><script>alert(1)</script>".to_vec()).await;
    assert_eq!(s, 400, "markup is refused: {b}");
    let (s, att) = upload(alice.clone(), "../../скан.png", b"\x89PNG\r\n\x1a\n0000".to_vec()).await;
    assert_eq!(s, 201, "{att}");
    assert_eq!(att["name"], "скан.png");
    assert_eq!(att["mime"], "image/png");
    let att_id = att["id"].as_i64().expect("id");
    // Bob may neither attach nor read Alice's file.
    let (mut wb, _) = Widget::connect(api, &bob, 0).await;
    wb.send(json!({"type": "message", "client_id": "steal", "body": "", "attachment_ids": [att_id]}))
        .await;
    assert_eq!(wb.next_of("error", 10).await["code"], "invalid");
    let (s, _) = api
        .get_text(&format!("/api/chat/attachments/{att_id}?token={bob}"))
        .await;
    assert_eq!(s, 404);
    w.send(json!({"type": "message", "client_id": "file", "body": "скан", "attachment_ids": [att_id]}))
        .await;
    w.next_of("ack", 10).await;
    let (s, body) = api
        .get_text(&format!("/api/chat/attachments/{att_id}?token={alice}"))
        .await;
    assert_eq!(s, 200);
    assert!(body.ends_with("0000"), "the visitor downloads their own file");

    // Bob cannot rate Alice's conversation; an unknown token is refused.
    let offer = offer_for(api, &anna, 10).await;
    let conv_id = offer["id"].as_i64().expect("id");
    let (s, _) = api
        .send_raw_auth(
            "POST",
            "/api/chat/rating",
            &bob,
            &json!({"conversation_id": conv_id, "score": 1}).to_string(),
        )
        .await;
    assert_eq!(s, 404);
    let (s, _) = api
        .send_raw_auth(
            "POST",
            "/api/chat/rating",
            "forged",
            &json!({"conversation_id": conv_id, "score": 1}).to_string(),
        )
        .await;
    assert_eq!(s, 401);

    // The operator receives the script as plain data.
    let (_, thread) = api.get(&format!("/api/conversations/{conv_id}"), Some(&anna)).await;
    assert!(thread["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .any(|m| m["body"] == script));

    // An operator of another organisation sees nothing of it.
    let out = store.hub(&["org", "add", "--name", "Чужая"], "");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("with id 2"));
    let other_org = "2".to_string();
    let out = store.hub(
        &[
            "user",
            "add",
            "--login",
            "org2-stranger",
            "--name",
            "Чужой",
            "--org",
            &other_org,
            "--password-stdin",
        ],
        "stranger-password\n",
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stranger = api.login("org2-stranger", "stranger-password").await;
    for path in [
        format!("/api/conversations/{conv_id}"),
        format!("/api/contacts/{}", offer["contact"]["id"]),
        format!("/api/attachments/{att_id}"),
    ] {
        let (s, _) = api.get_text_as(&path, Some(&stranger)).await;
        assert_eq!(s, 404, "{path}");
    }
    for action in ["accept", "decline", "typing"] {
        let (s, _) = api
            .post(
                &format!("/api/conversations/{conv_id}/{action}"),
                Some(&stranger),
                json!({}),
            )
            .await;
        assert_eq!(s, 404, "{action}");
    }
    let (s, _) = api
        .post(
            &format!("/api/conversations/{conv_id}/messages"),
            Some(&stranger),
            json!({"body": "hi"}),
        )
        .await;
    assert_eq!(s, 404);
    let (_, lists) = api.get("/api/conversations", Some(&stranger)).await;
    assert_eq!(
        (lists["mine"].clone(), lists["offers"].clone(), lists["queued"].clone()),
        (json!([]), json!([]), json!([]))
    );

    // A script making visitor after visitor from one address is stopped; known visitors resume.
    let mut refused = None;
    for i in 0..70 {
        let (s, b) = api.post("/api/chat/start", None, json!({"key": "demo"})).await;
        if s == 429 {
            refused = Some((i, b));
            break;
        }
        assert_eq!(s, 200, "{b}");
    }
    let (_, b) = refused.expect("new visitors are limited per address");
    assert_eq!(b["code"], "too_many_requests");
    let (s, _) = api
        .post("/api/chat/start", None, json!({"key": "demo", "token": alice}))
        .await;
    assert_eq!(s, 200, "a known visitor is not a new one");
}

/// Contact cards: edit, merge (identities and history move over), and canned responses.
#[actix_rt::test]
async fn contacts_and_canned_responses() {
    let store = Store::new(Backend::Sqlite, false).await;
    let node = store.start().await;
    let api = &node.api;
    let anna = available(api, "operator1", "demo-operator1").await;
    // Two visitors who turn out to be one person.
    let mut convs = vec![];
    for n in 0..2 {
        let (token, _) = Widget::start(api, None).await;
        let (mut w, _) = Widget::connect(api, &token, 0).await;
        w.say("c1", &format!("visit {n}")).await;
        w.next_of("ack", 10).await;
        let offer = offer_for(api, &anna, 10).await;
        let (s, c) = api
            .post(
                &format!("/api/conversations/{}/accept", offer["id"]),
                Some(&anna),
                json!({}),
            )
            .await;
        assert_eq!(s, 200, "{c}");
        convs.push(c);
    }
    let (keep, other) = (
        convs[0]["contact"]["id"].as_i64().expect("id"),
        convs[1]["contact"]["id"].as_i64().expect("id"),
    );
    let (s, b) = api
        .send(
            "PATCH",
            &format!("/api/contacts/{other}"),
            Some(&anna),
            Some(json!({"name": "Ольга", "email": "not-an-address"})),
        )
        .await;
    assert_eq!((s, b["code"].as_str()), (400, Some("invalid")));
    let (s, card) = api
        .send(
            "PATCH",
            &format!("/api/contacts/{other}"),
            Some(&anna),
            Some(json!({"name": "Ольга", "email": "olga@example.ru"})),
        )
        .await;
    assert_eq!(s, 200, "{card}");
    let (s, merged) = api
        .post(
            &format!("/api/contacts/{keep}/merge"),
            Some(&anna),
            json!({"other_id": other}),
        )
        .await;
    assert_eq!(s, 200, "{merged}");
    assert_eq!(merged["id"], keep);
    assert_eq!(
        merged["name"], "Ольга",
        "what the kept card lacked comes from the other"
    );
    assert_eq!(merged["email"], "olga@example.ru");
    let kinds: Vec<&str> = merged["identities"]
        .as_array()
        .expect("ids")
        .iter()
        .filter_map(|i| i["kind"].as_str())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "web").count(),
        2,
        "both visitors' identities: {kinds:?}"
    );
    assert!(kinds.contains(&"email"));
    assert_eq!(
        merged["history"].as_array().map(Vec::len),
        Some(2),
        "both conversations in one history"
    );
    // The merged card's id now shows the kept card; merging it again is refused.
    let (_, again) = api.get(&format!("/api/contacts/{other}"), Some(&anna)).await;
    assert_eq!(again["id"], keep);
    let (s, _) = api
        .post(
            &format!("/api/contacts/{keep}/merge"),
            Some(&anna),
            json!({"other_id": other}),
        )
        .await;
    assert_eq!(s, 400);

    // Canned responses: the organisation's (supervisors write them) and an operator's own.
    let (_, list) = api.get("/api/canned", Some(&anna)).await;
    assert!(list
        .as_array()
        .expect("list")
        .iter()
        .any(|c| c["shortcut"] == "hello" && c["personal"] == false));
    let (s, _) = api
        .post(
            "/api/canned",
            Some(&anna),
            json!({"shortcut": "bye", "title": "Пока", "body": "До свидания!"}),
        )
        .await;
    assert_eq!(s, 403, "operators do not write the organisation's responses");
    let (s, mine) = api
        .post(
            "/api/canned",
            Some(&anna),
            json!({"shortcut": "bye", "title": "Пока", "body": "До свидания!", "personal": true}),
        )
        .await;
    assert_eq!(s, 201, "{mine}");
    let (s, _) = api
        .post(
            "/api/canned",
            Some(&anna),
            json!({"shortcut": "bad shortcut", "title": "x", "body": "y", "personal": true}),
        )
        .await;
    assert_eq!(s, 400);
    let (s, _) = api
        .post(
            "/api/canned",
            Some(&anna),
            json!({"shortcut": "/HELLO", "title": "x", "body": "y", "personal": true}),
        )
        .await;
    assert_eq!(s, 409, "a personal shortcut may not shadow the organisation's /hello");
    let (s, _) = api
        .post(
            "/api/canned",
            Some(&anna),
            json!({"shortcut": "приветствие_клиенту_вежливое", "title": "x", "body": "y", "personal": true}),
        )
        .await;
    assert_eq!(s, 201, "shortcuts are counted in letters, not bytes");
    let ivan = api.login("operator2", "demo-operator2").await;
    let (_, theirs) = api.get("/api/canned", Some(&ivan)).await;
    assert!(
        !theirs.as_array().expect("list").iter().any(|c| c["shortcut"] == "bye"),
        "personal stays personal"
    );
    let (s, _) = api
        .send("DELETE", &format!("/api/canned/{}", mine["id"]), Some(&ivan), None)
        .await;
    assert_eq!(s, 404, "not someone else's");
    let (s, _) = api
        .send("DELETE", &format!("/api/canned/{}", mine["id"]), Some(&anna), None)
        .await;
    assert_eq!(s, 204);
}

/// Capacity and wrap-up in the running server: an operator with room for one chat is offered
/// the second only after closing the first and finishing the wrap-up.
#[actix_rt::test]
async fn capacity_and_wrap_up() {
    let store = Store::new(Backend::Sqlite, false).await;
    let node = store.start().await;
    let api = &node.api;
    let admin = api.login("admin", "demo-admin").await;
    let (s, b) = api
        .put(
            &format!("/api/admin/users/{OPERATOR1}/skills"),
            Some(&admin),
            json!({"skills": [{"service_id": CHAT_QUEUE, "proficiency": 5}], "chat_capacity": 1, "wrap_up_secs": 2}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["skills"], json!([{"service_id": CHAT_QUEUE, "proficiency": 5}]));
    let anna = available(api, "operator1", "demo-operator1").await;
    let mut widgets = vec![];
    for n in 0..2 {
        let (token, _) = Widget::start(api, None).await;
        let (mut w, _) = Widget::connect(api, &token, 0).await;
        w.say("c1", &format!("клиент {n}")).await;
        w.next_of("ack", 10).await;
        widgets.push(w);
    }
    let first = offer_for(api, &anna, 10).await;
    let (s, _) = api
        .post(
            &format!("/api/conversations/{}/accept", first["id"]),
            Some(&anna),
            json!({}),
        )
        .await;
    assert_eq!(s, 200);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (_, lists) = api.get("/api/conversations", Some(&anna)).await;
    assert_eq!(lists["offers"], json!([]), "no room for a second chat");
    let (s, _) = api
        .post(
            &format!("/api/conversations/{}/close", first["id"]),
            Some(&anna),
            json!({}),
        )
        .await;
    assert_eq!(s, 200);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let (_, lists) = api.get("/api/conversations", Some(&anna)).await;
    assert_eq!(lists["offers"], json!([]), "still in wrap-up");
    let second = offer_for(api, &anna, 10).await;
    assert_ne!(second["id"], first["id"]);

    // A break withdraws the offer still waiting for her answer, without counting a miss.
    let (s, _) = api
        .put(
            "/api/operator/presence",
            Some(&anna),
            json!({"state": "break", "reason": "обед"}),
        )
        .await;
    assert_eq!(s, 200);
    let (_, lists) = api.get("/api/conversations", Some(&anna)).await;
    assert_eq!(lists["offers"], json!([]));
    let (_, thread) = api
        .get(&format!("/api/conversations/{}", second["id"]), Some(&anna))
        .await;
    assert_eq!(thread["conversation"]["status"], "queued");
    assert_eq!(
        thread["timeline"]
            .as_array()
            .and_then(|t| t.last())
            .map(|e| e["kind"].clone()),
        Some(json!("offer_withdrawn"))
    );
}

/// A transfer to another queue puts the conversation back in line there, with the note in the
/// timeline; that queue's operators get it.
#[actix_rt::test]
async fn transfer_to_another_queue() {
    let store = Store::new(Backend::Sqlite, false).await;
    let node = store.start().await;
    let api = &node.api;
    let admin = api.login("admin", "demo-admin").await;
    let (s, billing) = api
        .post(
            "/api/admin/branches/1/chat-queues",
            Some(&admin),
            json!({"name": "Счета", "strategy": "round_robin", "steps": [{"after_secs": 0, "min_proficiency": 2}]}),
        )
        .await;
    assert_eq!(s, 201, "{billing}");
    assert_eq!(billing["steps"], json!([{"after_secs": 0, "min_proficiency": 2}]));
    let billing_id = billing["id"].as_i64().expect("id");
    let (s, b) = api
        .post(
            "/api/admin/branches/1/chat-queues",
            Some(&admin),
            json!({"name": "x", "steps": [{"after_secs": 5, "min_proficiency": 2}]}),
        )
        .await;
    assert_eq!(
        (s, b["code"].as_str()),
        (400, Some("invalid")),
        "steps must start at 0 s"
    );
    let (s, _) = api
        .put(
            &format!("/api/admin/users/{OPERATOR2}/skills"),
            Some(&admin),
            json!({"skills": [{"service_id": billing_id, "proficiency": 4}]}),
        )
        .await;
    assert_eq!(s, 200);
    let anna = available(api, "operator1", "demo-operator1").await;
    let ivan = available(api, "operator2", "demo-operator2").await;
    let (token, _) = Widget::start(api, None).await;
    let (mut w, _) = Widget::connect(api, &token, 0).await;
    w.say("c1", "Вопрос по счёту").await;
    w.next_of("ack", 10).await;
    let offer = offer_for(api, &anna, 10).await;
    let id = offer["id"].as_i64().expect("id");
    let (s, _) = api
        .post(&format!("/api/conversations/{id}/accept"), Some(&anna), json!({}))
        .await;
    assert_eq!(s, 200);
    let (s, b) = api
        .post(
            &format!("/api/conversations/{id}/transfer"),
            Some(&anna),
            json!({"operator_id": OPERATOR1}),
        )
        .await;
    assert_eq!((s, b["code"].as_str()), (400, Some("invalid")), "not to oneself");
    let (s, b) = api
        .post(
            &format!("/api/conversations/{id}/transfer"),
            Some(&anna),
            json!({"service_id": billing_id, "note": "счёт №42"}),
        )
        .await;
    assert_eq!(s, 204, "{b}");
    let offer = offer_for(api, &ivan, 10).await;
    assert_eq!(offer["id"], id);
    assert_eq!(offer["service_id"], billing_id);
    let (_, thread) = api.get(&format!("/api/conversations/{id}"), Some(&ivan)).await;
    let transferred = thread["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .find(|e| e["kind"] == "transferred")
        .cloned()
        .expect("transferred");
    assert!(transferred["detail"].as_str().unwrap_or("").contains("счёт №42"));
}
