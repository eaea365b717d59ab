//! Names shared by the whole installation (logins, device logins, SIP user names, widget keys,
//! numbers, mailbox addresses) are handed out by its owner: a tenant takes only names under its
//! prefix and the numbers and domains assigned to it, so it can neither squat another's names nor
//! learn which exist by trying. Every kind of name, both ways, on both backends.

use serde_json::{json, Value};

use crate::harness::*;

/// Every way an admin takes a shared name, as (what, path, body) for a name.
fn takers(name: &str, branch: i64, user: i64) -> Vec<(&'static str, String, Value)> {
    vec![
        (
            "login",
            "/api/admin/users".to_string(),
            json!({"login": name, "name": "N", "role": "operator", "password": "long-enough-password"}),
        ),
        (
            "device login",
            format!("/api/admin/branches/{branch}/devices"),
            json!({"kind": "kiosk", "login": name, "name": "K"}),
        ),
        (
            "widget key",
            format!("/api/admin/branches/{branch}/chat-queues"),
            json!({"name": "Q", "steps": [], "widget_key": name}),
        ),
        (
            "SIP user name",
            format!("/api/admin/sip/accounts/{user}"),
            json!({"username": name, "password": "phone-password-1"}),
        ),
    ]
}

async fn take(api: &Api, token: &str, what: &str, path: &str, body: Value) -> (u16, Value) {
    if what == "SIP user name" {
        api.put(path, Some(token), body).await
    } else {
        api.post(path, Some(token), body).await
    }
}

async fn shared_names(backend: Backend) {
    let store = Store::new(backend, false).await;
    let node = store.start().await;
    let api = &node.api;
    let out = store.hub(&["org", "add", "--name", "Acme", "--prefix", "acme"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = store.hub(
        &[
            "user",
            "add",
            "--org",
            "2",
            "--login",
            "acme-boss",
            "--name",
            "Boss",
            "--role",
            "admin",
            "--password-stdin",
        ],
        "boss-password\n",
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Even the owner's own tool keeps a tenant's people under its prefix.
    let out = store.hub(
        &[
            "user",
            "add",
            "--org",
            "2",
            "--login",
            "boss2",
            "--name",
            "B",
            "--role",
            "admin",
            "--password-stdin",
        ],
        "boss-password\n",
    );
    assert!(!out.status.success(), "a tenant's login without its prefix");
    assert!(String::from_utf8_lossy(&out.stderr).contains("acme-"));

    let acme = api.login("acme-boss", "boss-password").await;
    let demo = api.login("admin", "demo-admin").await;
    let (s, branch) = api
        .post(
            "/api/admin/branches",
            Some(&acme),
            json!({"name": "Acme HQ", "timezone": "Europe/Moscow", "lang": "en",
                   "schedule": {"mon": "00:00-24:00", "tue": "00:00-24:00", "wed": "00:00-24:00",
                                "thu": "00:00-24:00", "fri": "00:00-24:00", "sat": "00:00-24:00", "sun": "00:00-24:00"}}),
        )
        .await;
    assert_eq!(s, 201, "{branch}");
    let branch = branch["id"].as_i64().expect("branch id");
    let (s, queue) = api
        .post(
            &format!("/api/admin/branches/{branch}/chat-queues"),
            Some(&acme),
            json!({"name": "Acme support", "steps": []}),
        )
        .await;
    assert_eq!(s, 201, "{queue}");
    let queue = queue["id"].as_i64().expect("queue id");
    let (s, agent) = api
        .post(
            "/api/admin/users",
            Some(&acme),
            json!({"login": "acme-agent", "name": "Agent", "role": "operator", "password": "agent-password"}),
        )
        .await;
    assert_eq!(s, 201, "{agent}");
    let agent = agent["id"].as_i64().expect("user id");
    let demo_user = 3; // operator1 of the demo

    // A tenant: nothing outside its prefix, whether free or taken by the installation's own
    // organisation (the same answer either way: nothing is learnt by trying).
    for name in ["operator1", "kiosk1", "demo", "1001", "fresh-name", "acmeish", "acme.x"] {
        for (what, path, body) in takers(name, branch, agent) {
            let (s, b) = take(api, &acme, what, &path, body).await;
            if s == 400 && name.contains('.') && what == "widget key" {
                continue; // not a widget key at all
            }
            assert_eq!(
                (s, b["code"].as_str()),
                (403, Some("not_assigned")),
                "{what} {name}: {b}"
            );
            assert!(b["message"].as_str().unwrap_or("").contains("acme-"), "{b}");
            // Named by the form's field, with a reason the page words in its language.
            let field = match what {
                "login" | "device login" => "login",
                "widget key" => "widget_key",
                _ => "username",
            };
            assert_eq!(
                (b["field"].as_str(), b["reason"].as_str(), b["args"]["prefix"].as_str()),
                (Some(field), Some("name_prefix"), Some("acme")),
                "{what} {name}: {b}"
            );
        }
    }
    // The installation's own organisation: nothing under a tenant's prefix.
    let demo_branch = 1;
    for (what, path, body) in takers("acme-x1", demo_branch, demo_user) {
        let (s, b) = take(api, &demo, what, &path, body).await;
        assert_eq!((s, b["code"].as_str()), (403, Some("not_assigned")), "{what}: {b}");
        assert_eq!(b["reason"].as_str(), Some("others_prefix"), "{what}: {b}");
    }
    // Under its prefix a tenant takes each kind of name; case does not get round it.
    for (i, (what, path, body)) in takers("acme-x1", branch, agent).into_iter().enumerate() {
        let (s, b) = take(api, &acme, what, &path, body).await;
        assert!(s == 200 || s == 201, "{i} {what}: {s} {b}");
    }
    for (what, path, body) in takers("ACME-x1", branch, agent) {
        let (s, b) = take(api, &acme, what, &path, body).await;
        // Logins compare exactly (the first is taken in the tenant's own space: it may know).
        assert!(s == 201 || s == 200 || s == 409, "{what}: {s} {b}");
    }
    for (what, path, body) in takers("Acme-y", demo_branch, demo_user) {
        let (s, b) = take(api, &demo, what, &path, body).await;
        assert_eq!(
            (s, b["code"].as_str()),
            (403, Some("not_assigned")),
            "{what} in another case: {b}"
        );
    }

    // Numbers: a tenant answers only what the owner assigned; the own organisation anything
    // not assigned to another.
    let number = |n: &str, q: i64| json!({"number": n, "greeting": "Hello", "prompt": "Wait", "default_queue_id": q});
    let (s, b) = api
        .post("/api/admin/sip/numbers", Some(&acme), number("+74951230001", queue))
        .await;
    assert_eq!((s, b["code"].as_str()), (403, Some("not_assigned")), "{b}");
    assert_eq!(
        (b["field"].as_str(), b["reason"].as_str()),
        (Some("number"), Some("number_not_assigned")),
        "{b}"
    );
    let (s, b) = api
        .post("/api/admin/sip/numbers", Some(&acme), number("8800", queue))
        .await;
    assert_eq!(
        (s, b["code"].as_str()),
        (403, Some("not_assigned")),
        "the demo's number, taken or not: {b}"
    );
    let out = store.hub(&["org", "assign", "--org", "2", "--number", "+7495123*"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (s, b) = api
        .post("/api/admin/sip/numbers", Some(&acme), number("+74951230001", queue))
        .await;
    assert_eq!(s, 201, "{b}");
    let (s, b) = api
        .post("/api/admin/sip/numbers", Some(&acme), number("+74951240001", queue))
        .await;
    assert_eq!(
        (s, b["code"].as_str()),
        (403, Some("not_assigned")),
        "outside the block: {b}"
    );
    let demo_queue = demo_remote_queue(api, &demo).await;
    let (s, b) = api
        .post(
            "/api/admin/sip/numbers",
            Some(&demo),
            number("+74951230002", demo_queue),
        )
        .await;
    assert_eq!(
        (s, b["code"].as_str()),
        (403, Some("not_assigned")),
        "the own organisation, in a tenant's block: {b}"
    );
    let (s, b) = api
        .post(
            "/api/admin/sip/numbers",
            Some(&demo),
            number("+74959990000", demo_queue),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let out = store.hub(&["org", "assign", "--org", "1", "--number", "+7495123*"], "");
    assert!(!out.status.success(), "a block is assigned once");

    // Mail domains: an address in the tenant's domain is its own at once; in another's, refused.
    let out = store.hub(&["org", "assign", "--org", "2", "--domain", "acme.example"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mailbox = |a: &str, q: i64| json!({"address": a, "queue_id": q});
    let (s, b) = api
        .post("/api/admin/mailboxes", Some(&acme), mailbox("help@acme.example", queue))
        .await;
    assert_eq!(s, 201, "{b}");
    assert!(b["confirmed_at"].is_i64(), "vouched for by its domain: {b}");
    let (s, b) = api
        .post(
            "/api/admin/mailboxes",
            Some(&demo),
            mailbox("sales@acme.example", demo_queue),
        )
        .await;
    assert_eq!((s, b["code"].as_str()), (403, Some("not_assigned")), "{b}");
    assert_eq!(
        (b["field"].as_str(), b["reason"].as_str()),
        (Some("address"), Some("domain_not_assigned")),
        "{b}"
    );
    // Outside its domains, with no IMAP folder to find a code in, a tenant cannot confirm it.
    let (s, b) = api
        .post(
            "/api/admin/mailboxes",
            Some(&acme),
            mailbox("ceo@elsewhere.example", queue),
        )
        .await;
    assert_eq!((s, b["code"].as_str()), (403, Some("not_assigned")), "{b}");
    assert_eq!(
        (b["field"].as_str(), b["reason"].as_str()),
        (Some("address"), Some("address_to_confirm")),
        "{b}"
    );

    let out = store.hub(&["org", "list"], "");
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(
        listed.contains("acme") && listed.contains("number +7495123*") && listed.contains("domain acme.example"),
        "{listed}"
    );
    // A prefix another organisation already has names under is refused.
    let out = store.hub(&["org", "add", "--name", "Ops", "--prefix", "operator1"], "");
    assert!(
        out.status.success(),
        "no names begin with operator1-: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = store.hub(&["org", "prefix", "--org", "3", "--prefix", "acme"], "");
    assert!(!out.status.success(), "taken by another organisation");
    // A refused prefix leaves no organisation behind (one without a prefix would be the owner's).
    let out = store.hub(&["org", "add", "--name", "Duplicate", "--prefix", "acme"], "");
    assert!(!out.status.success(), "a prefix another organisation has");
    let listed = String::from_utf8_lossy(&store.hub(&["org", "list"], "").stdout).into_owned();
    assert!(!listed.contains("Duplicate"), "{listed}");
}

async fn demo_remote_queue(api: &Api, token: &str) -> i64 {
    let (s, b) = api
        .post(
            "/api/admin/branches/1/chat-queues",
            Some(token),
            json!({"name": "Demo phones", "steps": []}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    b["id"].as_i64().expect("queue id")
}

#[actix_rt::test]
async fn shared_names_sqlite() {
    shared_names(Backend::Sqlite).await;
}

#[actix_rt::test]
async fn shared_names_postgres() {
    shared_names(Backend::Postgres).await;
}
