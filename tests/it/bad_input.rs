//! Bad input gets a clear 4xx JSON error with a stable code, and nothing is half-written.

use serde_json::{json, Value};

use crate::harness::*;

fn code(body: &Value) -> &str {
    body["code"].as_str().unwrap_or("<no code>")
}

/// Adds a second organisation with a branch, a service and a window, straight into the store.
async fn other_org(store: &Store) -> (i64, i64, i64) {
    store
        .exec("INSERT INTO organisations (name, created_at) VALUES ('Other', 0)")
        .await;
    store
        .exec(
            "INSERT INTO branches (org_id, name, timezone, lang, schedule) \
             SELECT id, 'Other branch', 'UTC', 'en', '{\"mon\":\"00:00-24:00\",\"tue\":\"00:00-24:00\",\"wed\":\"00:00-24:00\",\"thu\":\"00:00-24:00\",\"fri\":\"00:00-24:00\",\"sat\":\"00:00-24:00\",\"sun\":\"00:00-24:00\"}' \
             FROM organisations WHERE name = 'Other'",
        )
        .await;
    store
        .exec(
            "INSERT INTO services (org_id, branch_id, name_ru, name_en, prefix) \
             SELECT org_id, id, 'Z', 'Z', 'Z' FROM branches WHERE name = 'Other branch'",
        )
        .await;
    store
        .exec("INSERT INTO windows (org_id, branch_id, label) SELECT org_id, id, '9' FROM branches WHERE name = 'Other branch'")
        .await;
    let branch = store
        .scalar("SELECT id FROM branches WHERE name = 'Other branch'")
        .await;
    let service = store
        .scalar("SELECT s.id FROM services s JOIN branches b ON b.id = s.branch_id WHERE b.name = 'Other branch'")
        .await;
    let window = store
        .scalar("SELECT w.id FROM windows w JOIN branches b ON b.id = w.branch_id WHERE b.name = 'Other branch'")
        .await;
    (branch, service, window)
}

async fn refused(backend: Backend) {
    let store = Store::new(backend, false).await;
    let node = store.start().await;
    let api = &node.api;
    let kiosk = api.kiosk().await;
    let op = api.login("operator1", "demo-operator1").await;
    let tickets = || store.scalar("SELECT COUNT(*) FROM tickets");

    // Wrong or missing credentials.
    let (s, b) = api
        .post(
            "/api/auth/login",
            None,
            json!({"login": "operator1", "password": "wrong-password"}),
        )
        .await;
    assert_eq!((s, code(&b)), (401, "bad_credentials"));
    let (s, b) = api
        .post(
            "/api/auth/login",
            None,
            json!({"login": "nobody", "password": "whatever1"}),
        )
        .await;
    assert_eq!(
        (s, code(&b)),
        (401, "bad_credentials"),
        "unknown login looks the same as a wrong password"
    );
    let (s, b) = api
        .post(
            "/api/auth/device",
            None,
            json!({"login": "kiosk1", "secret": "demo-board-secret"}),
        )
        .await;
    assert_eq!((s, code(&b)), (401, "bad_credentials"));
    let (s, b) = api.get("/api/operator", None).await;
    assert_eq!((s, code(&b)), (401, "unauthenticated"));
    let (s, b) = api.get("/api/operator", Some("not-a-token")).await;
    assert_eq!((s, code(&b)), (401, "unauthenticated"));
    let (s, b) = api
        .post("/api/kiosk/tickets", None, json!({"service_id": CONSULTATION}))
        .await;
    assert_eq!((s, code(&b)), (401, "unauthenticated"));

    // The wrong kind of principal.
    let (s, b) = api
        .post("/api/kiosk/tickets", Some(&op), json!({"service_id": CONSULTATION}))
        .await;
    assert_eq!((s, code(&b)), (403, "forbidden"), "an operator is not a kiosk");
    let (s, b) = api.send("POST", "/api/operator/call-next", Some(&kiosk), None).await;
    assert_eq!((s, code(&b)), (403, "forbidden"), "a kiosk cannot call tickets");
    let (s, b) = api.get("/api/board", Some(&kiosk)).await;
    assert_eq!((s, code(&b)), (403, "forbidden"));

    // A page of another site cannot act with someone's session; the hub's own pages can.
    let own = api.base.clone();
    assert_eq!(
        api.post_from_origin("/api/operator/call-next", &op, "https://evil.example")
            .await,
        403
    );
    assert_eq!(
        api.post_from_origin("/api/operator/call-next", &op, "http://127.0.0.1:1")
            .await,
        403,
        "another port is another origin"
    );
    assert_ne!(api.post_from_origin("/api/operator/call-next", &op, &own).await, 403);

    // The sign-in form as the browser posts it before its script runs: a redirect, never the
    // password in a URL; a path of this site only; a foreign page cannot sign anyone in.
    let form = "login=operator1&password=demo-operator1";
    let (s, to, cookie) = api.post_form("/login?next=%2Fsupervisor", form, Some(&own)).await;
    assert_eq!((s, to.as_str()), (303, "/supervisor"));
    assert!(
        cookie.contains("hub_session=") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    let (s, to, _) = api.post_form("/login?next=%2F%2Fevil.example", form, None).await;
    assert_eq!(
        (s, to.as_str()),
        (303, "/operator"),
        "another site is not a place to go on to"
    );
    let (s, to, cookie) = api
        .post_form(
            "/login?next=%2Fsupervisor",
            "login=nobody&password=whatever1",
            Some(&own),
        )
        .await;
    assert_eq!(
        (s, to.as_str()),
        (303, "/login?next=%2Fsupervisor&failed=bad_credentials")
    );
    assert!(cookie.is_empty(), "no session for a wrong password: {cookie}");
    let (s, _, cookie) = api.post_form("/login", form, Some("https://evil.example")).await;
    assert_eq!(s, 403, "login CSRF from another site is refused");
    assert!(cookie.is_empty());
    let (s, _, _) = api.post_form("/login", "login=operator1", Some(&own)).await;
    assert_eq!(s, 400, "a form without a password is refused");

    // Unknown service, a menu group, malformed and oversized JSON, unknown fields.
    let (s, b) = api
        .post("/api/kiosk/tickets", Some(&kiosk), json!({"service_id": 999}))
        .await;
    assert_eq!((s, code(&b)), (404, "not_found"));
    let (s, b) = api
        .post(
            "/api/kiosk/tickets",
            Some(&kiosk),
            json!({"service_id": GROUP_INDIVIDUALS}),
        )
        .await;
    assert_eq!((s, code(&b)), (400, "invalid"));
    let (s, b) = api
        .send_raw("POST", "/api/kiosk/tickets", Some(&kiosk), Some("{\"service_id\": 2"))
        .await;
    assert_eq!((s, code(&b)), (400, "bad_json"));
    let (s, b) = api
        .send_raw("POST", "/api/kiosk/tickets", Some(&kiosk), Some("[1,2,3]"))
        .await;
    assert_eq!((s, code(&b)), (400, "bad_json"));
    let (s, b) = api
        .post(
            "/api/kiosk/tickets",
            Some(&kiosk),
            json!({"service_id": CONSULTATION, "colour": "red"}),
        )
        .await;
    assert_eq!((s, code(&b)), (400, "bad_json"));
    assert!(
        b["message"].as_str().unwrap_or("").contains("colour"),
        "the message names the unknown field: {b}"
    );
    let huge = json!({"service_id": CONSULTATION, "vip_code": "x".repeat(100_000)}).to_string();
    let (s, b) = api
        .send_raw("POST", "/api/kiosk/tickets", Some(&kiosk), Some(&huge))
        .await;
    assert_eq!((s, code(&b)), (413, "payload_too_large"));
    let (s, b) = api
        .send_raw("POST", "/api/operator/tickets/1/finish", Some(&op), Some("{oops"))
        .await;
    assert_eq!((s, code(&b)), (400, "bad_json"));
    let (s, b) = api.get("/api/public/tickets/../../etc", None).await;
    assert_eq!(s, 404, "{b}");
    let (s, b) = api.get("/api/branches/abc", Some(&op)).await;
    assert_eq!((s, code(&b)), (400, "bad_json"));
    assert_eq!(tickets().await, 0, "nothing was issued by refused requests");

    // Another organisation's ids are "not found" and change nothing.
    let (branch, service, window) = other_org(&store).await;
    let (s, b) = api.get(&format!("/api/branches/{branch}"), Some(&op)).await;
    assert_eq!((s, code(&b)), (404, "not_found"));
    let (s, b) = api.get(&format!("/api/branches/{branch}/queues"), Some(&op)).await;
    assert_eq!((s, code(&b)), (404, "not_found"));
    let (s, b) = api
        .post("/api/kiosk/tickets", Some(&kiosk), json!({"service_id": service}))
        .await;
    assert_eq!(
        (s, code(&b)),
        (404, "not_found"),
        "a kiosk cannot issue another branch's service"
    );
    let (s, b) = api
        .put(
            "/api/operator/place",
            Some(&op),
            json!({"window_id": window, "service_ids": [service]}),
        )
        .await;
    assert_eq!((s, code(&b)), (404, "not_found"));
    let (s, b) = api
        .put(
            "/api/operator/place",
            Some(&op),
            json!({"window_id": 1, "service_ids": [service]}),
        )
        .await;
    assert_eq!(
        (s, code(&b)),
        (404, "not_found"),
        "services must be of the window's branch"
    );
    let (_, view) = api.get("/api/operator", Some(&op)).await;
    assert!(view["state"]["window_id"].is_null(), "a refused place left no trace");
    assert_eq!(tickets().await, 0);

    // Someone else's ticket cannot be acted on.
    api.issue(&kiosk, CONSULTATION).await;
    let op2 = api.operator_at("operator2", "demo-operator2", 2).await;
    let (_, called) = api.call_next(&op2).await;
    let id = called["ticket"]["id"].as_i64().expect("id");
    let (s, b) = api.act(&op, id, "finish", None).await;
    assert_eq!((s, code(&b)), (404, "not_found"));
    let (s, b) = api.act(&op2, id, "teleport", None).await;
    assert_eq!((s, code(&b)), (404, "not_found"));
    let (s, b) = api.act(&op2, id, "transfer", Some(json!({"placement": "front"}))).await;
    assert_eq!((s, code(&b)), (400, "invalid"));
    let (s, b) = api
        .act(&op2, id, "transfer", Some(json!({"service_id": service})))
        .await;
    assert_eq!((s, code(&b)), (404, "not_found"), "transfer only within the branch");
    let (_, view) = api.get("/api/operator", Some(&op2)).await;
    assert_eq!(view["in_hand"]["status"], "called", "refused actions changed nothing");

    // Outside working hours the kiosk issues nothing.
    store.exec("UPDATE branches SET schedule = '{}' WHERE id = 1").await;
    let before = tickets().await;
    let (s, b) = api
        .post("/api/kiosk/tickets", Some(&kiosk), json!({"service_id": CONSULTATION}))
        .await;
    assert_eq!((s, code(&b)), (403, "branch_closed"));
    let (_, menu) = api.get("/api/kiosk", Some(&kiosk)).await;
    assert_eq!(menu["open"], false);
    let (s, b) = api
        .post(
            "/api/public/branches/1/tickets",
            None,
            json!({"service_id": CONSULTATION}),
        )
        .await;
    assert_eq!((s, code(&b)), (403, "branch_closed"));
    assert_eq!(tickets().await, before);
    store
        .exec(
            "UPDATE branches SET schedule = '{\"mon\":\"00:00-24:00\",\"tue\":\"00:00-24:00\",\"wed\":\"00:00-24:00\",\"thu\":\"00:00-24:00\",\"fri\":\"00:00-24:00\",\"sat\":\"00:00-24:00\",\"sun\":\"00:00-24:00\"}' WHERE id = 1",
        )
        .await;

    // The open phone registrar answers with the visitor's view only: no internal ids.
    let (s, phone) = api
        .post(
            "/api/public/branches/1/tickets",
            None,
            json!({"service_id": CONSULTATION}),
        )
        .await;
    assert_eq!(s, 201, "{phone}");
    assert!(phone["number"].is_string() && phone["public_id"].is_string());
    for leak in ["id", "org_id", "operator_id", "ticket", "comment"] {
        assert!(phone.get(leak).is_none(), "the phone's answer leaks {leak}: {phone}");
    }
}

#[actix_rt::test]
async fn bad_input_sqlite() {
    refused(Backend::Sqlite).await;
}

#[actix_rt::test]
async fn bad_input_postgres() {
    refused(Backend::Postgres).await;
}
