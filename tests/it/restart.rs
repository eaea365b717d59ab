//! A crash (SIGKILL) loses nothing that was acknowledged: after a restart the queue, the called
//! ticket, the operator's place and the board are as they were.

use serde_json::Value;

use crate::harness::*;

async fn survives(backend: Backend) {
    let store = Store::new(backend, false).await;
    let mut node = store.start().await;
    let kiosk = node.api.kiosk().await;
    let mut issued = Vec::new();
    for s in [CONSULTATION, CONSULTATION, PAYMENTS, BUSINESSES, CONSULTATION] {
        issued.push(node.api.issue(&kiosk, s).await);
    }
    let op = node.api.operator_at("operator1", "demo-operator1", 1).await;
    let (_, called) = node.api.call_next(&op).await;
    assert_eq!(called["ticket"]["number"], "A001");
    let board = node.api.board().await;
    let (_, board_before) = node.api.get("/api/board", Some(&board)).await;
    let sup = node.api.login("supervisor", "demo-supervisor").await;
    let (_, queues_before) = node.api.get("/api/branches/1/queues", Some(&sup)).await;

    node.kill();
    let node = store.start().await;
    let api = &node.api;

    // Sessions are in the store: the same tokens still work.
    let (status, view) = api.get("/api/operator", Some(&op)).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["in_hand"]["number"], "A001", "the called ticket is still in hand");
    assert_eq!(view["state"]["window_id"], 1);
    let (_, board_after) = api.get("/api/board", Some(&board)).await;
    assert_eq!(
        strip_at(board_before),
        strip_at(board_after),
        "the board shows the same"
    );
    let (_, queues_after) = api.get("/api/branches/1/queues", Some(&sup)).await;
    assert_eq!(waiting(&queues_before), waiting(&queues_after));
    assert_eq!(
        waiting(&queues_after),
        vec![(CONSULTATION, 2), (PAYMENTS, 1), (BUSINESSES, 1)]
    );
    let public = issued[4]["ticket"]["public_id"].as_str().expect("id");
    let (_, st) = api.get(&format!("/api/public/tickets/{public}"), None).await;
    assert_eq!(st["number"], "A003");
    assert_eq!(st["ahead"], 1);

    // Numbering continues where it was.
    let kiosk = api.kiosk().await;
    assert_eq!(api.issue(&kiosk, CONSULTATION).await["ticket"]["number"], "A004");
}

/// A board's message without its times (when it was made, the server's clock): what it shows.
fn strip_at(mut v: Value) -> Value {
    v["at"] = Value::Null;
    v["now"] = Value::Null;
    v
}

fn waiting(v: &Value) -> Vec<(i64, i64)> {
    v.as_array()
        .expect("queues")
        .iter()
        .map(|q| {
            (
                q["service_id"].as_i64().unwrap_or(0),
                q["waiting"].as_i64().unwrap_or(0),
            )
        })
        .collect()
}

#[actix_rt::test]
async fn sigkill_loses_nothing_sqlite() {
    survives(Backend::Sqlite).await;
}

#[actix_rt::test]
async fn sigkill_loses_nothing_postgres() {
    survives(Backend::Postgres).await;
}
