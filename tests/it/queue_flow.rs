//! The electronic queue through its whole life, on each backend.

use serde_json::json;

use crate::harness::*;

async fn flow(backend: Backend) {
    let store = Store::new(backend, false).await;
    let node = store.start().await;
    let api = &node.api;
    let kiosk = api.kiosk().await;

    // The kiosk sees the branch's two-level menu.
    let (status, menu) = api.get("/api/kiosk", Some(&kiosk)).await;
    assert_eq!(status, 200);
    assert_eq!(menu["open"], true);
    let services = menu["services"].as_array().expect("services");
    assert_eq!(services.len(), 4, "one group and three services");
    assert!(services
        .iter()
        .any(|s| s["parent_id"] == GROUP_INDIVIDUALS && s["prefix"] == "A"));

    // Numbers per prefix; a VIP code puts the ticket ahead of earlier ones.
    let a1 = api.issue(&kiosk, CONSULTATION).await;
    assert_eq!(a1["ticket"]["number"], "A001");
    assert_eq!(a1["ahead"], 0);
    let a2 = api.issue(&kiosk, CONSULTATION).await;
    assert_eq!(a2["ticket"]["number"], "A002");
    assert_eq!(a2["ahead"], 1);
    let b1 = api.issue(&kiosk, PAYMENTS).await;
    assert_eq!(b1["ticket"]["number"], "B001");
    let (status, vip) = api
        .post(
            "/api/kiosk/tickets",
            Some(&kiosk),
            json!({"service_id": CONSULTATION, "vip_code": "777777"}),
        )
        .await;
    assert_eq!(status, 201, "{vip}");
    assert_eq!(vip["ticket"]["number"], "A003");
    assert_eq!(vip["ahead"], 0, "VIP goes to the front");
    let (status, _) = api
        .post(
            "/api/kiosk/tickets",
            Some(&kiosk),
            json!({"service_id": CONSULTATION, "vip_code": "0000"}),
        )
        .await;
    assert_eq!(status, 400, "a wrong VIP code is refused, not silently ignored");
    // Guessing is limited per branch: after five wrong codes even the right one waits.
    for guess in ["1111", "2222", "3333", "4444"] {
        let (status, body) = api
            .post(
                "/api/kiosk/tickets",
                Some(&kiosk),
                json!({"service_id": CONSULTATION, "vip_code": guess}),
            )
            .await;
        assert_eq!((status, body["code"].as_str()), (400, Some("wrong_vip_code")));
    }
    let (status, body) = api
        .post(
            "/api/kiosk/tickets",
            Some(&kiosk),
            json!({"service_id": CONSULTATION, "vip_code": "777777"}),
        )
        .await;
    assert_eq!((status, body["code"].as_str()), (429, Some("too_many_attempts")));

    // The QR code and status page of a ticket.
    let public = a1["ticket"]["public_id"].as_str().expect("public id").to_string();
    let (status, svg) = api.get_text(a1["qr_url"].as_str().expect("qr")).await;
    assert_eq!(status, 200);
    assert!(svg.contains("<svg"), "QR is an SVG");
    let (status, st) = api.get(&format!("/api/public/tickets/{public}"), None).await;
    assert_eq!(status, 200);
    assert_eq!(st["status"], "waiting");
    assert_eq!(st["ahead"], 1, "the VIP ticket is now ahead of A001");

    // Operator 1 calls: the VIP first, then the oldest.
    let op = api.operator_at("operator1", "demo-operator1", 1).await;
    let (status, called) = api.call_next(&op).await;
    assert_eq!(status, 200);
    assert_eq!(called["ticket"]["number"], "A003");
    let vip_id = called["ticket"]["id"].as_i64().expect("id");

    // Hands full: no second call, no break.
    let (status, body) = api.call_next(&op).await;
    assert_eq!(status, 409, "{body}");
    let (status, body) = api
        .put(
            "/api/operator/presence",
            Some(&op),
            json!({"state": "break", "reason": "lunch"}),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "presence");

    // No-show needs one recall in the demo branch; the refusal names its reason and values,
    // for the page to word in its language.
    let (status, body) = api.act(&op, vip_id, "no-show", None).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "ticket_state");
    assert_eq!(body["reason"], "too_few_recalls");
    assert_eq!(body["args"], json!({"required": 1, "done": 0}));
    let (status, body) = api.act(&op, vip_id, "recall", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["recalls"], 1);
    let (status, body) = api.act(&op, vip_id, "no-show", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "no_show");

    // Next is A001: start, then transfer to Payments at the front, where it beats B001.
    let (_, called) = api.call_next(&op).await;
    assert_eq!(called["ticket"]["number"], "A001");
    let a1_id = called["ticket"]["id"].as_i64().expect("id");
    let (status, _) = api.act(&op, a1_id, "start", None).await;
    assert_eq!(status, 200);
    let (status, st) = api.get(&format!("/api/public/tickets/{public}"), None).await;
    assert_eq!(status, 200);
    assert_eq!(st["status"], "serving");
    assert_eq!(st["window"], "1");
    let (status, moved) = api
        .act(
            &op,
            a1_id,
            "transfer",
            Some(json!({"service_id": PAYMENTS, "placement": "front", "comment": "needs a payment"})),
        )
        .await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["status"], "waiting");

    // Operator 2 serves only Payments: gets the transferred A001 before B001.
    let op2 = api.login("operator2", "demo-operator2").await;
    let (status, _) = api
        .put(
            "/api/operator/place",
            Some(&op2),
            json!({"window_id": 2, "service_ids": [PAYMENTS]}),
        )
        .await;
    assert_eq!(status, 200);
    let (_, called) = api.call_next(&op2).await;
    assert_eq!(called["ticket"]["number"], "A001");
    let (status, done) = api.act(&op2, a1_id, "finish", Some(json!({"comment": "paid"}))).await;
    assert_eq!(status, 200);
    assert_eq!(done["status"], "done");
    assert_eq!(done["comment"], "paid");
    let (_, called) = api.call_next(&op2).await;
    assert_eq!(called["ticket"]["number"], "B001");

    // Board: newest call first, each with its window.
    let board = api.board().await;
    let (status, snap) = api.get("/api/board", Some(&board)).await;
    assert_eq!(status, 200);
    let numbers: Vec<(&str, &str)> = snap["calls"]
        .as_array()
        .expect("calls")
        .iter()
        .map(|c| (c["number"].as_str().unwrap_or(""), c["window"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(
        numbers,
        vec![("B001", "2"), ("A001", "2")],
        "no-show and transferred calls leave the board"
    );

    // Breaks need empty hands and a reason; calling next ends the break.
    let (status, _) = api
        .put(
            "/api/operator/presence",
            Some(&op),
            json!({"state": "break", "reason": " "}),
        )
        .await;
    assert_eq!(status, 409);
    let (status, view) = api
        .put(
            "/api/operator/presence",
            Some(&op),
            json!({"state": "break", "reason": "lunch"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(view["state"]["presence"]["state"], "break");
    // A break ends only by saying so: "call next" is refused, with the reason named.
    let (status, body) = api.call_next(&op).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "presence");
    assert_eq!(body["reason"], "on_break");
    let (status, view) = api
        .put("/api/operator/presence", Some(&op), json!({"state": "available"}))
        .await;
    assert_eq!(status, 200, "{view}");
    let (_, called) = api.call_next(&op).await;
    assert_eq!(called["ticket"]["number"], "A002");
    let (_, view) = api.get("/api/operator", Some(&op)).await;
    assert_eq!(view["state"]["presence"]["state"], "available");
    assert_eq!(view["in_hand"]["number"], "A002");

    // Every change is on the ticket's timeline, in order, with who did it.
    let timeline = store
        .strings(format!(
            "SELECT kind FROM ticket_events WHERE ticket_id = {a1_id} ORDER BY id"
        ))
        .await;
    assert_eq!(timeline, ["issued", "called", "start", "transfer", "called", "finish"]);
    let detail = store
        .strings(format!(
            "SELECT detail FROM ticket_events WHERE ticket_id = {a1_id} AND kind = 'transfer'"
        ))
        .await;
    assert_eq!(detail, [format!("to service {PAYMENTS} at the front: needs a payment")]);
    let vip_timeline = store
        .strings(format!(
            "SELECT kind FROM ticket_events WHERE ticket_id = {vip_id} ORDER BY id"
        ))
        .await;
    assert_eq!(vip_timeline, ["issued", "called", "recall", "no_show"]);

    // Today's figures and the queues.
    let (_, view) = api.get("/api/operator", Some(&op2)).await;
    assert_eq!(view["stats"]["served"], 1);
    let sup = api.login("supervisor", "demo-supervisor").await;
    let (status, stats) = api.get("/api/branches/1/stats", Some(&sup)).await;
    assert_eq!(status, 200);
    assert_eq!(stats["served"], 1);
    assert_eq!(stats["no_show"], 1);
    assert_eq!(stats["waiting"], 0);
    let (status, _) = api.get("/api/branches/1/stats", Some(&op)).await;
    assert_eq!(status, 403, "operators do not see branch figures");

    // Signing out leaves the window: the queue stops counting that operator as serving.
    let payments_operators = || async {
        let (_, queues) = api.get("/api/branches/1/queues", Some(&sup)).await;
        queues
            .as_array()
            .expect("queues")
            .iter()
            .find(|q| q["service_id"] == PAYMENTS)
            .map(|q| q["operators"].clone())
    };
    assert_eq!(payments_operators().await, Some(json!(2)));
    let (status, _) = api.send("POST", "/api/auth/logout", Some(&op2), None).await;
    assert_eq!(status, 204);
    let (status, _) = api.get("/api/operator", Some(&op2)).await;
    assert_eq!(status, 401, "the session is gone");
    let mut operators = None;
    for _ in 0..50 {
        operators = payments_operators().await;
        if operators == Some(json!(1)) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(operators, Some(json!(1)));

    // operator2 signed out with B001 called and not served: it waits again, first in line.
    let (_, _) = api
        .act(&op, called["ticket"]["id"].as_i64().expect("id"), "finish", None)
        .await;
    let (_, again) = api.call_next(&op).await;
    assert_eq!(again["ticket"]["number"], "B001", "{again}");
    let (_, _) = api
        .act(&op, again["ticket"]["id"].as_i64().expect("id"), "finish", None)
        .await;

    // The empty queue answers with no ticket, not an error.
    let (status, none) = api.call_next(&op).await;
    assert_eq!(status, 200);
    assert!(none["ticket"].is_null());
}

#[actix_rt::test]
async fn queue_flow_sqlite() {
    flow(Backend::Sqlite).await;
}

#[actix_rt::test]
async fn queue_flow_postgres() {
    flow(Backend::Postgres).await;
}

async fn board_pushes(backend: Backend) {
    let store = Store::new(backend, false).await;
    let node = store.start().await;
    let api = &node.api;
    let board = api.board().await;
    let mut socket = board_socket(api, &board).await;
    let first = socket.next_json(10).await;
    assert_eq!(first["type"], "board");
    assert_eq!(first["calls"].as_array().map(Vec::len), Some(0));

    let kiosk = api.kiosk().await;
    api.issue(&kiosk, BUSINESSES).await;
    let op = api.operator_at("operator2", "demo-operator2", 2).await;
    let (_, called) = api.call_next(&op).await;
    let id = called["ticket"]["id"].as_i64().expect("id");
    let push = socket.next_json(10).await;
    assert_eq!(push["type"], "board_change", "a change, not the whole board again");
    assert_eq!(push["op"], "call");
    assert_eq!(push["call"]["number"], "C001");
    assert_eq!(push["call"]["window"], "2");
    assert_eq!(socket.calls()[0]["number"], "C001");

    // A recall is a new call to highlight, without a second row.
    api.act(&op, id, "recall", None).await;
    let push = socket.next_json(10).await;
    assert_eq!(push["op"], "call");
    assert_eq!(push["call"]["number"], "C001");
    assert_eq!(socket.calls().len(), 1);

    // Being served, then served: the row says so; the board's own snapshot agrees.
    api.act(&op, id, "start", None).await;
    let push = socket.next_json(10).await;
    assert_eq!((&push["op"], &push["status"]), (&json!("status"), &json!("serving")));
    api.act(&op, id, "finish", None).await;
    socket.next_json(10).await;
    assert_eq!(socket.calls()[0]["status"], "done");
    let (_, snapshot) = api.get("/api/board", Some(&board)).await;
    assert_eq!(snapshot["calls"].as_array().map(Vec::as_slice), Some(socket.calls()));
}

#[actix_rt::test]
async fn board_pushes_sqlite() {
    board_pushes(Backend::Sqlite).await;
}

#[actix_rt::test]
async fn board_pushes_postgres() {
    board_pushes(Backend::Postgres).await;
}
