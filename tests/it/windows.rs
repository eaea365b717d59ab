//! A branch's day at the windows: one window, one operator; a break ends only by saying so; an
//! operator who leaves (signs out, or whose console closes and does not come back) does not leave
//! a called visitor on the board nor chats offered to a closed page.

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use serde_json::{json, Value};

use crate::harness::*;

const PLACE: &str = "/api/operator/place";

fn place(window: i64) -> Value {
    json!({"window_id": window, "service_ids": DEMO_SERVICES})
}

async fn one_window_one_operator(backend: Backend) {
    let store = Store::new(backend, false).await;
    let node = store.start().await;
    let api = &node.api;
    let op1 = api.operator_at("operator1", "demo-operator1", 1).await;
    let op2 = api.login("operator2", "demo-operator2").await;

    // Window 1 is operator1's: operator2 is told so, in a reason the page words itself.
    let (status, body) = api.put(PLACE, Some(&op2), place(1)).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "presence");
    assert_eq!(body["reason"], "window_taken");
    assert_eq!(body["args"]["window"], "1");
    let (status, body) = api.put(PLACE, Some(&op2), place(2)).await;
    assert_eq!(status, 200, "{body}");

    // A break keeps the window; signing out frees it.
    let (status, body) = api
        .put(
            "/api/operator/presence",
            Some(&op1),
            json!({"state": "break", "reason": "Обед"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = api.put(PLACE, Some(&op2), place(1)).await;
    assert_eq!(status, 409);
    let (status, _) = api.post("/api/auth/logout", Some(&op1), json!({})).await;
    assert_eq!(status, 204);
    let (status, body) = api.put(PLACE, Some(&op2), place(1)).await;
    assert_eq!(status, 200, "{body}");

    // Back, operator1 finds their window taken: going back to work there is refused.
    let op1 = api.login("operator1", "demo-operator1").await;
    let (status, body) = api
        .put("/api/operator/presence", Some(&op1), json!({"state": "available"}))
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["reason"], "window_taken");
    let (_, me) = api.get("/api/operator", Some(&op1)).await;
    assert_eq!(me["state"]["presence"]["state"], "offline", "{me}");

    // Two operators choosing the same free window at the same moment: one has it.
    let (status, body) = api.put(PLACE, Some(&op2), place(2)).await;
    assert_eq!(status, 200, "{body}");
    let tries = (0..8).map(|i| {
        let api = api.clone();
        let token = if i % 2 == 0 { op1.clone() } else { op2.clone() };
        async move { api.put(PLACE, Some(&token), place(1)).await.0 }
    });
    let statuses = join_all(tries).await;
    let winners: Vec<_> = statuses.iter().filter(|s| **s == 200).collect();
    assert!(!winners.is_empty(), "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 200 || *s == 409), "{statuses:?}");
    let (_, a) = api.get("/api/operator", Some(&op1)).await;
    let (_, b) = api.get("/api/operator", Some(&op2)).await;
    let at_one = [&a, &b]
        .iter()
        .filter(|v| v["state"]["window_id"] == 1 && v["state"]["presence"]["state"] != "offline")
        .count();
    assert_eq!(at_one, 1, "exactly one operator at window 1: {a} {b}");
}

#[actix_rt::test]
async fn one_window_one_operator_sqlite() {
    one_window_one_operator(Backend::Sqlite).await;
}

#[actix_rt::test]
async fn one_window_one_operator_postgres() {
    one_window_one_operator(Backend::Postgres).await;
}

/// Waits until `check` holds of the operator's view (the state, never a fixed time).
async fn until(api: &Api, token: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, v) = api.get("/api/operator", Some(token)).await;
        if check(&v) {
            return v;
        }
        assert!(Instant::now() < deadline, "{what}: {v}");
        actix_rt::time::sleep(Duration::from_millis(100)).await;
    }
}

#[actix_rt::test]
async fn signing_out_returns_a_called_visitor_to_the_front_of_the_line() {
    let store = Store::new(Backend::Sqlite, false).await;
    let node = store.start().await;
    let api = &node.api;
    let kiosk = api.kiosk().await;
    let first = api.issue(&kiosk, DEMO_SERVICES[0]).await;
    api.issue(&kiosk, DEMO_SERVICES[0]).await;
    let op1 = api.operator_at("operator1", "demo-operator1", 1).await;
    let (_, called) = api.call_next(&op1).await;
    assert_eq!(called["ticket"]["id"], first["ticket"]["id"]);

    // Signing out without saying what becomes of it: the visitor goes back first in line.
    let (status, _) = api.post("/api/auth/logout", Some(&op1), json!({})).await;
    assert_eq!(status, 204);
    let op2 = api.operator_at("operator2", "demo-operator2", 2).await;
    let (_, again) = api.call_next(&op2).await;
    assert_eq!(again["ticket"]["id"], first["ticket"]["id"], "{again}");
    assert_eq!(again["ticket"]["number"], first["ticket"]["number"]);
}

/// An operator's console socket, as the page holds it.
async fn console(api: &Api, token: &str) -> actix_codec::Framed<awc::BoxedSocket, awc::ws::Codec> {
    let (_, framed) = awc::Client::new()
        .ws(api.ws_url("/ws/operator"))
        .bearer_auth(token)
        .connect()
        .await
        .expect("console websocket");
    framed
}

#[actix_rt::test]
async fn presence_follows_the_console() {
    let mut store = Store::new(Backend::Sqlite, false).await;
    store.env.push(("HUB_CONSOLE_GRACE_SECS".into(), "3".into()));
    let node = store.start().await;
    let api = &node.api;
    let kiosk = api.kiosk().await;
    let first = api.issue(&kiosk, DEMO_SERVICES[0]).await;

    // Through the API alone, an operator is never signed off for want of a console.
    let op2 = api.operator_at("operator2", "demo-operator2", 2).await;

    let op1 = api.operator_at("operator1", "demo-operator1", 1).await;
    let socket = console(api, &op1).await;
    let (_, called) = api.call_next(&op1).await;
    assert_eq!(called["ticket"]["id"], first["ticket"]["id"]);

    // A reload: the console closes and another opens within the grace; nothing changes.
    drop(socket);
    let socket = console(api, &op1).await;
    let started = Instant::now();
    loop {
        let (_, v) = api.get("/api/operator", Some(&op1)).await;
        assert_eq!(v["state"]["presence"]["state"], "available", "{v}");
        if started.elapsed() > Duration::from_secs(6) {
            break;
        }
        actix_rt::time::sleep(Duration::from_millis(250)).await;
    }

    // The browser closes: after the grace the operator is signed off and the visitor they had
    // called is first in line again, for someone else.
    drop(socket);
    until(api, &op1, "signed off after the grace", |v| {
        v["state"]["presence"]["state"] == "offline" && v["in_hand"].is_null()
    })
    .await;
    let (_, again) = api.call_next(&op2).await;
    assert_eq!(again["ticket"]["id"], first["ticket"]["id"], "{again}");
    let (_, v) = api.get("/api/operator", Some(&op2)).await;
    assert_eq!(v["state"]["presence"]["state"], "available", "{v}");
}
