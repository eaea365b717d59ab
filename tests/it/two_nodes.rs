//! Two nodes sharing one PostgreSQL and one Redis act as one system: a call made on node A
//! reaches a board connected to node B.

use crate::harness::*;

#[actix_rt::test]
async fn call_on_a_reaches_board_on_b() {
    let store = Store::new(Backend::Postgres, true).await;
    let a = store.start().await;
    let b = store.start().await;

    let board = b.api.board().await;
    let mut socket = board_socket(&b.api, &board).await;
    socket.next_json(10).await;
    assert!(socket.calls().is_empty());

    let kiosk = a.api.kiosk().await;
    a.api.issue(&kiosk, PAYMENTS).await;
    let op = a.api.operator_at("operator1", "demo-operator1", 1).await;
    let (_, called) = a.api.call_next(&op).await;
    assert_eq!(called["ticket"]["number"], "B001");
    let push = socket.next_json(10).await;
    assert_eq!(push["op"], "call");
    assert_eq!(push["call"]["number"], "B001");
    assert_eq!(push["call"]["window"], "1");

    // Node B's queue picture followed node A's changes too.
    let sup = b.api.login("supervisor", "demo-supervisor").await;
    a.api.issue(&kiosk, PAYMENTS).await;
    let mut waiting = 0;
    for _ in 0..50 {
        let (_, queues) = b.api.get("/api/branches/1/queues", Some(&sup)).await;
        waiting = queues
            .as_array()
            .expect("queues")
            .iter()
            .find(|q| q["service_id"] == PAYMENTS)
            .map_or(0, |q| q["waiting"].as_i64().unwrap_or(0));
        if waiting == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(waiting, 1);
}

/// One operator, two nodes (a console on each, or a load balancer without sticky sessions): what
/// one node changes, the other's copy of the operator learns.
#[actix_rt::test]
async fn an_operator_served_by_two_nodes_stays_consistent() {
    let store = Store::new(Backend::Postgres, true).await;
    let a = store.start().await;
    let b = store.start().await;
    let kiosk = a.api.kiosk().await;
    a.api.issue(&kiosk, CONSULTATION).await;
    let op = a.api.operator_at("operator1", "demo-operator1", 1).await;
    // Node B's copy starts now, seeing the operator seated and empty-handed.
    let (_, view) = b.api.get("/api/operator", Some(&op)).await;
    assert!(view["in_hand"].is_null());

    // Called on A: B learns the ticket is in hand.
    let (_, called) = a.api.call_next(&op).await;
    let id = called["ticket"]["id"].as_i64().expect("called");
    let mut seen = serde_json::Value::Null;
    for _ in 0..50 {
        let (_, view) = b.api.get("/api/operator", Some(&op)).await;
        seen = view["in_hand"]["id"].clone();
        if seen == id {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(seen, id, "node B sees the ticket called on node A");

    // Finished on B: A no longer thinks it is in hand, so a break is allowed there.
    let (s, _) = b.api.act(&op, id, "finish", None).await;
    assert_eq!(s, 200);
    let mut status = 0;
    for _ in 0..50 {
        let (s, _) = a
            .api
            .put(
                "/api/operator/presence",
                Some(&op),
                serde_json::json!({"state": "break", "reason": "lunch"}),
            )
            .await;
        status = s;
        if s == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(status, 200, "node A learned that the ticket was finished on node B");
}

/// A visitor's widget on node B and the operator on node A: one conversation, both ways, with
/// both nodes' routers running and only one offer standing.
#[actix_rt::test]
async fn chat_across_nodes() {
    use crate::chat::{available, offer_for, Widget, OPERATOR1};
    use serde_json::json;

    let store = Store::new(Backend::Postgres, true).await;
    let a = store.start().await;
    let b = store.start().await;
    let anna = available(&a.api, "operator1", "demo-operator1").await;
    let (token, _) = Widget::start(&b.api, None).await;
    let (mut w, _) = Widget::connect(&b.api, &token, 0).await;
    w.say("c1", "Привет с узла B").await;
    w.next_of("ack", 10).await;
    let offer = offer_for(&a.api, &anna, 10).await;
    assert_eq!(offer["offered_to"], OPERATOR1);
    let id = offer["id"].as_i64().expect("id");
    let (s, _) = a
        .api
        .post(&format!("/api/conversations/{id}/accept"), Some(&anna), json!({}))
        .await;
    assert_eq!(s, 200);
    let (s, _) = a
        .api
        .post(
            &format!("/api/conversations/{id}/messages"),
            Some(&anna),
            json!({"client_id": "r1", "body": "Ответ с узла A"}),
        )
        .await;
    assert_eq!(s, 200);
    let mut m = w.next_of("message", 10).await;
    while m["message"]["author"] != "operator" {
        m = w.next_of("message", 10).await;
    }
    assert_eq!(m["message"]["body"], "Ответ с узла A");
    let offers = store
        .scalar("SELECT COUNT(*) FROM conversation_events WHERE kind = 'offered'")
        .await;
    assert_eq!(offers, 1, "two routers, one offer");
}
