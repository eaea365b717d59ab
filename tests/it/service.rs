//! The service endpoints and the command line.

use crate::harness::*;

#[actix_rt::test]
async fn health_metrics_openapi_pages() {
    let store = Store::new(Backend::Sqlite, false).await;
    let node = store.start().await;
    let api = &node.api;
    let kiosk = api.kiosk().await;
    api.issue(&kiosk, CONSULTATION).await;

    let (s, body) = api.get("/healthz", None).await;
    assert_eq!((s, body["status"].as_str()), (200, Some("ok")));

    let (s, text) = api.get_text("/metrics").await;
    assert_eq!(s, 200);
    for line in [
        "hub_tickets_issued_total 1",
        "hub_tickets_waiting 1",
        "hub_websocket_sessions 0",
    ] {
        assert!(text.lines().any(|l| l == line), "metrics lack {line:?}:\n{text}");
    }
    assert!(text.contains("hub_http_request_duration_seconds_bucket"));

    let (s, spec) = api.get("/api/openapi.json", None).await;
    assert_eq!(s, 200);
    assert!(
        spec["openapi"].as_str().unwrap_or("").starts_with("3."),
        "an OpenAPI 3 document"
    );
    for path in [
        "/api/kiosk/tickets",
        "/api/operator/call-next",
        "/api/auth/login",
        "/ws/board",
        "/api/public/tickets/{public_id}",
    ] {
        assert!(spec["paths"].get(path).is_some(), "openapi lacks {path}");
    }

    for page in [
        "/",
        "/login",
        "/operator",
        "/kiosk",
        "/board",
        "/r/1",
        "/t/0123456789abcdef01234567",
    ] {
        let (s, html) = api.get_text(page).await;
        assert_eq!(s, 200, "{page}");
        assert!(html.contains("<html"), "{page} is a page");
    }
    let (s, body) = api.get("/no/such/thing", None).await;
    assert_eq!((s, body["code"].as_str()), (404, Some("not_found")));
}

/// `/metrics` counts open sockets by kind, and says the open-file limit the node raised its
/// soft limit to (the hard limit it inherited).
#[actix_rt::test]
async fn sockets_by_kind_and_the_open_file_limit() {
    let store = Store::new(Backend::Sqlite, false).await;
    let node = store.start().await;
    let api = &node.api;
    let line = |text: &str, name: &str| -> Option<String> {
        text.lines()
            .find(|l| l.starts_with(name) && l.as_bytes().get(name.len()) == Some(&b' '))
            .map(|l| l[name.len() + 1..].to_string())
    };
    let board = api.board().await;
    let mut socket = board_socket(api, &board).await;
    socket.next_json(10).await;
    let (_, text) = api.get_text("/metrics").await;
    assert_eq!(
        line(&text, r#"hub_websocket_open{kind="board"}"#).as_deref(),
        Some("1"),
        "{text}"
    );
    assert_eq!(
        line(&text, r#"hub_websocket_open{kind="operator"}"#).as_deref(),
        Some("0")
    );
    assert_eq!(line(&text, "hub_websocket_sessions").as_deref(), Some("1"));
    let limit: u64 = line(&text, "hub_open_files_limit")
        .and_then(|v| v.parse().ok())
        .expect("the limit");
    let (_, hard) = hub::open_files::limits().expect("limits");
    assert!(limit >= 1024 && limit <= hard, "{limit} (hard {hard})");
    if hard != libc::RLIM_INFINITY {
        assert_eq!(limit, hard, "raised to the hard limit");
    }
    drop(socket);
    // The gauge follows the socket away.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let (_, text) = api.get_text("/metrics").await;
        if line(&text, r#"hub_websocket_open{kind="board"}"#).as_deref() == Some("0") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the board socket is still counted:\n{text}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[actix_rt::test]
async fn cli_users_and_migrate() {
    let store = Store::new(Backend::Sqlite, false).await;
    let out = store.hub(&["migrate"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = store.hub(&["demo"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("operator1"));
    let out = store.hub(&["demo"], "");
    assert!(!out.status.success(), "a second demo would clash with the first");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = store.hub(
        &[
            "user",
            "add",
            "--login",
            "maria",
            "--name",
            "Мария",
            "--role",
            "supervisor",
            "--password-stdin",
        ],
        "long-enough-1\n",
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = store.hub(
        &["user", "add", "--login", "maria", "--name", "Again", "--password-stdin"],
        "long-enough-1\n",
    );
    assert!(!out.status.success(), "a taken login is refused");
    let out = store.hub(
        &["user", "add", "--login", "short", "--name", "S", "--password-stdin"],
        "short\n",
    );
    assert!(!out.status.success(), "a short password is refused");
    assert!(String::from_utf8_lossy(&out.stderr).contains("8 characters"));
    let out = store.hub(
        &[
            "user",
            "add",
            "--login",
            "x1",
            "--name",
            "X",
            "--role",
            "root",
            "--password-stdin",
        ],
        "long-enough-1\n",
    );
    assert!(!out.status.success(), "an unknown role is refused");

    let out = store.hub(&["user", "list"], "");
    let list = String::from_utf8_lossy(&out.stdout);
    assert!(list.contains("maria") && list.contains("supervisor"), "{list}");
    assert!(!list.contains("argon2"), "hashes are never printed");

    let node = store.start().await;
    let token = node.api.login("maria", "long-enough-1").await;
    let out = store.hub(
        &["user", "passwd", "--login", "maria", "--password-stdin"],
        "another-secret\n",
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Nodes remember a resolved session for a few seconds; after that it is gone everywhere.
    let mut s = 200;
    for _ in 0..100 {
        s = node.api.get("/api/me", Some(&token)).await.0;
        if s == 401 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(s, 401, "a password change ends existing sessions");
    node.api.login("maria", "another-secret").await;

    let stored = store
        .scalar("SELECT COUNT(*) FROM users WHERE password_hash LIKE '$argon2id$%'")
        .await;
    let all = store.scalar("SELECT COUNT(*) FROM users").await;
    assert_eq!(stored, all, "every password is an argon2id hash");
}

#[test]
fn help_explains_the_commands() {
    let out = std::process::Command::new(HUB)
        .arg("--help")
        .output()
        .expect("hub --help");
    let text = String::from_utf8_lossy(&out.stdout);
    for word in ["serve", "migrate", "user", "demo", "--config", "--data"] {
        assert!(text.contains(word), "--help lacks {word}:\n{text}");
    }
    let out = std::process::Command::new(HUB)
        .args(["serve", "--help"])
        .output()
        .expect("serve --help");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("--listen") && text.contains("--demo"), "{text}");
}

#[test]
fn unknown_settings_are_named() {
    let dir = std::env::temp_dir().join(format!("hub_cfg_{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("bad.toml");
    std::fs::write(&file, "listen = \"127.0.0.1:1\"\nlisten_port = 8080\n").expect("write");
    let out = std::process::Command::new(HUB)
        .args(["migrate", "--config"])
        .arg(&file)
        .arg("--data")
        .arg(&dir)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("listen_port"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = std::process::Command::new(HUB)
        .args(["migrate"])
        .arg("--data")
        .arg(&dir)
        .env("HUB_LISTN", "x")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("HUB_LISTN"));
}

#[actix_rt::test]
async fn sigterm_stops_gracefully() {
    let store = Store::new(Backend::Sqlite, false).await;
    let mut node = store.start().await;
    let kiosk = node.api.kiosk().await;
    node.api.issue(&kiosk, CONSULTATION).await;
    let status = std::process::Command::new("kill")
        .args(["-TERM", &node.pid().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let exit = loop {
        if let Some(exit) = node.child.try_wait().expect("wait") {
            break exit;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "hub did not stop within 15 s of SIGTERM"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(exit.success(), "graceful stop exits 0, got {exit:?}");
    // Restarted, it has everything.
    let node = store.start().await;
    let sup = node.api.login("supervisor", "demo-supervisor").await;
    let (_, stats) = node.api.get("/api/branches/1/stats", Some(&sup)).await;
    assert_eq!(stats["waiting"], 1);
}

#[actix_rt::test]
async fn metrics_with_a_token() {
    let mut store = Store::new(Backend::Sqlite, false).await;
    store.env.push(("HUB_METRICS_TOKEN".into(), "scrape-secret-1".into()));
    let node = store.start().await;
    let (s, _) = node.api.get_text("/metrics").await;
    assert_eq!(s, 403, "with a token configured, even this machine must send it");
    let (s, _) = node.api.get_text_as("/metrics", Some("wrong")).await;
    assert_eq!(s, 403);
    let (s, text) = node.api.get_text_as("/metrics", Some("scrape-secret-1")).await;
    assert_eq!(s, 200);
    assert!(text.contains("hub_tickets_issued_total"));
}

#[actix_rt::test]
async fn guessing_a_password_is_throttled() {
    let store = Store::new(Backend::Sqlite, false).await;
    let node = store.start().await;
    let api = &node.api;
    for _ in 0..5 {
        let (s, b) = api
            .post(
                "/api/auth/login",
                None,
                serde_json::json!({"login": "supervisor", "password": "guess-guess"}),
            )
            .await;
        assert_eq!((s, b["code"].as_str()), (401, Some("bad_credentials")));
    }
    let (s, b) = api
        .post(
            "/api/auth/login",
            None,
            serde_json::json!({"login": "Supervisor", "password": "demo-supervisor"}),
        )
        .await;
    assert_eq!(
        (s, b["code"].as_str()),
        (429, Some("too_many_attempts")),
        "locked even with the right password: {b}"
    );
    // Others sign in as usual.
    api.login("operator1", "demo-operator1").await;
}
