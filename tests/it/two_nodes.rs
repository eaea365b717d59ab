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
    let first = socket.next_json(10).await;
    assert_eq!(first["calls"].as_array().map(Vec::len), Some(0));

    let kiosk = a.api.kiosk().await;
    a.api.issue(&kiosk, PAYMENTS).await;
    let op = a.api.operator_at("operator1", "demo-operator1", 1).await;
    let (_, called) = a.api.call_next(&op).await;
    assert_eq!(called["ticket"]["number"], "B001");
    let push = socket.next_json(10).await;
    assert_eq!(push["new_call"]["number"], "B001");
    assert_eq!(push["new_call"]["window"], "1");

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
