//! Many operators pressing "call next" at once, on one node or two: each ticket is handed out
//! exactly once.

use std::collections::HashMap;

use futures_util::future::join_all;

use crate::harness::*;

const TICKETS: usize = 120;
const OPERATORS: usize = 6;

async fn drain(store: &Store, nodes: &[&Node]) {
    let kiosk = nodes[0].api.kiosk().await;
    let issue = (0..TICKETS).map(|i| {
        let api = nodes[i % nodes.len()].api.clone();
        let kiosk = kiosk.clone();
        async move {
            api.issue(&kiosk, DEMO_SERVICES[i % 3]).await["ticket"]["id"]
                .as_i64()
                .expect("id")
        }
    });
    let issued = join_all(issue).await;
    assert_eq!(issued.len(), TICKETS);

    // One window, one operator.
    let windows = nodes[0].api.windows_for(OPERATORS).await;
    let mut operators = Vec::new();
    for i in 0..OPERATORS {
        let login = format!("load{i}");
        let out = store.hub(
            &["user", "add", "--login", &login, "--name", &login, "--password-stdin"],
            "load-password\n",
        );
        assert!(
            out.status.success(),
            "user add: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let api = nodes[i % nodes.len()].api.clone();
        let token = api.operator_at(&login, "load-password", windows[i]).await;
        operators.push((api, token));
    }

    // Every operator calls and finishes as fast as the server answers, all at once.
    let work = operators.into_iter().map(|(api, token)| async move {
        let mut mine = Vec::new();
        loop {
            let (status, body) = api.call_next(&token).await;
            assert_eq!(status, 200, "{body}");
            let Some(id) = body["ticket"]["id"].as_i64() else {
                break;
            };
            mine.push(id);
            let (status, body) = api.act(&token, id, "finish", None).await;
            assert_eq!(status, 200, "{body}");
        }
        mine
    });
    let per_operator = join_all(work).await;
    let mut seen: HashMap<i64, usize> = HashMap::new();
    for id in per_operator.iter().flatten() {
        *seen.entry(*id).or_default() += 1;
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "tickets handed out more than once: {twice:?}");
    assert_eq!(seen.len(), TICKETS, "every ticket handed out");
    assert!(
        per_operator.iter().filter(|m| !m.is_empty()).count() > 1,
        "the work was really shared"
    );
    let done = store.scalar("SELECT COUNT(*) FROM tickets WHERE status = 'done'").await;
    assert_eq!(done as usize, TICKETS);
    let called_events = store
        .scalar("SELECT COUNT(*) FROM ticket_events WHERE kind = 'called'")
        .await;
    assert_eq!(called_events as usize, TICKETS, "one call recorded per ticket");
}

#[actix_rt::test]
async fn call_next_exactly_once_sqlite() {
    let store = Store::new(Backend::Sqlite, false).await;
    let node = store.start().await;
    drain(&store, &[&node]).await;
}

#[actix_rt::test]
async fn call_next_exactly_once_postgres() {
    let store = Store::new(Backend::Postgres, false).await;
    let node = store.start().await;
    drain(&store, &[&node]).await;
}

#[actix_rt::test]
async fn call_next_exactly_once_two_nodes() {
    let store = Store::new(Backend::Postgres, true).await;
    let a = store.start().await;
    let b = store.start().await;
    drain(&store, &[&a, &b]).await;
}
