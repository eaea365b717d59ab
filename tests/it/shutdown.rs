//! An orderly stop: SIGTERM in the middle of a burst of chat messages and mails ends the hub
//! within its grace period, and after a restart every message and mail that was acknowledged is
//! there. A supervised task that panics is started again, and the panic is in the log and in
//! `/metrics`.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::chat::{available, eventually, Widget};
use crate::harness::*;

const ADDRESS: &str = "support@hub.test";
/// The hub's default `stop_grace_secs`.
const GRACE: Duration = Duration::from_secs(10);

/// A store whose nodes take mail on an SMTP port of their own; answers the port.
pub(crate) async fn mail_store(backend: Backend) -> (Store, u16) {
    let mut store = Store::new(backend, false).await;
    let port = free_port();
    store
        .env
        .push(("HUB_EMAIL__SMTP_LISTEN".into(), format!("127.0.0.1:{port}")));
    // The hub's own account of its stop, besides warnings and errors.
    store.env.push(("HUB_LOG".into(), "warn,hub=info".into()));
    store.capture_log = true;
    (store, port)
}

/// The demo's web-chat queue gets a mailbox (confirmed: the installation's own organisation).
pub(crate) async fn add_mailbox(api: &Api) {
    let admin = api.login("admin", "demo-admin").await;
    let (_, queues) = api.get("/api/chat-queues", Some(&admin)).await;
    let queue = queues
        .as_array()
        .and_then(|q| q.iter().find(|q| q["name"] == "Чат на сайте"))
        .map(|q| q["service_id"].clone())
        .expect("the demo's chat queue");
    let (s, b) = api
        .post(
            "/api/admin/mailboxes",
            Some(&admin),
            json!({"address": ADDRESS, "queue_id": queue, "name": "Support", "auto_reply": false}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
}

/// One SMTP reply (all its lines); None when the connection ends.
async fn reply<R: tokio::io::AsyncBufRead + Unpin>(r: &mut R) -> Option<String> {
    let mut all = String::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        all.push_str(&line);
        // "250-…" continues the reply; "250 …" ends it.
        if line.as_bytes().get(3) != Some(&b'-') {
            return Some(all);
        }
    }
}

/// Sends mail `n` as a mail server would; answers whether the hub acknowledged it (250 to DATA).
pub(crate) async fn send_mail(port: u16, n: usize) -> bool {
    let Ok(stream) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
        return false;
    };
    let (r, mut w) = stream.into_split();
    let mut r = BufReader::new(r);
    let steps: [(String, &str); 5] = [
        (String::new(), "220"),
        ("EHLO mx.example.ru\r\n".into(), "250"),
        (format!("MAIL FROM:<client{n}@example.ru>\r\n"), "250"),
        (format!("RCPT TO:<{ADDRESS}>\r\n"), "250"),
        ("DATA\r\n".into(), "354"),
    ];
    for (say, want) in steps {
        if !say.is_empty() && w.write_all(say.as_bytes()).await.is_err() {
            return false;
        }
        match reply(&mut r).await {
            Some(answer) if answer.starts_with(want) => {}
            _ => return false,
        }
    }
    let mail = format!(
        "From: <client{n}@example.ru>\r\nTo: <{ADDRESS}>\r\nSubject: request {n}\r\n\
         Message-ID: <burst-{n}@example.ru>\r\n\r\nburst mail {n}\r\n.\r\n"
    );
    if w.write_all(mail.as_bytes()).await.is_err() {
        return false;
    }
    let acked = reply(&mut r).await.is_some_and(|a| a.starts_with("250"));
    let _ = w.write_all(b"QUIT\r\n").await;
    acked
}

#[actix_rt::test]
async fn sigterm_during_a_burst_stops_in_time_and_loses_nothing_acknowledged() {
    let (store, smtp) = mail_store(Backend::Sqlite).await;
    let mut node = store.start().await;
    add_mailbox(&node.api).await;
    available(&node.api, "operator1", "demo-operator1").await;
    let (token, _) = Widget::start(&node.api, None).await;
    let (mut w, _) = Widget::connect(&node.api, &token, 0).await;

    // Mails keep arriving, one connection after another, until the hub stops answering.
    let mails = tokio::task::spawn_local(async move {
        let mut acked = BTreeSet::new();
        for n in 0..400 {
            if !send_mail(smtp, n).await {
                break;
            }
            acked.insert(n);
        }
        acked
    });
    // The visitor writes fast; the hub is stopped once some of it is acknowledged.
    const N: usize = 80;
    for i in 0..N {
        w.say(&format!("m{i}"), &format!("сообщение {i}")).await;
    }
    let mut chat_acked = BTreeSet::new();
    while chat_acked.len() < 10 {
        match w.next(10).await {
            Some(f) if f["type"] == "ack" => {
                chat_acked.insert(f["client_id"].as_str().unwrap_or_default().to_string());
            }
            Some(_) => {}
            None => panic!("the chat stopped before the stop"),
        }
    }
    let pid = node.pid() as libc::pid_t;
    let began = std::time::Instant::now();
    // SAFETY: kill(2) on our own child's pid; no memory is touched.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
    // Acknowledgements still come while the hub finishes what it holds; then the feed says
    // "going away" and ends.
    while let Some(f) = w.next(15).await {
        if f["type"] == "ack" {
            chat_acked.insert(f["client_id"].as_str().unwrap_or_default().to_string());
        }
    }
    let status = loop {
        if let Some(status) = node.child.try_wait().expect("the hub's status") {
            break status;
        }
        assert!(
            began.elapsed() < GRACE + Duration::from_secs(5),
            "the hub did not stop within its grace"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let took = began.elapsed();
    let mail_acked = mails.await.expect("the mail sender");
    let log = node.log();
    assert!(status.success(), "the hub exits cleanly on SIGTERM: {status}\n{log}");
    assert!(took < GRACE + Duration::from_secs(2), "stopped in {took:?}\n{log}");
    assert!(log.contains("hub stopped"), "the stop is orderly to the end:\n{log}");
    assert!(!mail_acked.is_empty(), "mail was flowing when the hub stopped");
    println!(
        "stopped in {took:?}; {} chat messages and {} mails acknowledged",
        chat_acked.len(),
        mail_acked.len()
    );
    drop(node);

    let node = store.start().await;
    let stored = store
        .strings("SELECT client_id FROM messages WHERE author = 'visitor' AND client_id LIKE 'm%'".into())
        .await;
    for id in &chat_acked {
        assert!(stored.contains(id), "acknowledged chat message {id} was lost");
    }
    // Every acknowledged mail becomes its message (the ones held at the stop are applied now).
    let want: BTreeSet<String> = mail_acked.iter().map(|n| format!("burst-{n}@example.ru")).collect();
    // Each mail's message carries its Message-ID.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let bodies: BTreeSet<String> = store
            .strings(
                "SELECT m.client_id FROM messages m JOIN conversations c ON c.id = m.conversation_id \
                 WHERE c.channel = 'email' AND m.author = 'visitor'"
                    .into(),
            )
            .await
            .into_iter()
            .map(|id| id.trim_matches(['<', '>']).to_string())
            .collect();
        if want.is_subset(&bodies) {
            break;
        }
        if std::time::Instant::now() > deadline {
            let inbox = store
                .strings("SELECT COALESCE(outcome, 'pending') || ' ' || attempts FROM email_inbox".into())
                .await;
            panic!(
                "acknowledged mails missing: {:?}\ninbox: {inbox:?}\n{}",
                want.difference(&bodies).collect::<Vec<_>>(),
                node.log()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // And each once.
    let n = store
        .scalar("SELECT COUNT(*) FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE c.channel = 'email'")
        .await;
    assert_eq!(
        n,
        store
            .scalar("SELECT COUNT(DISTINCT m.client_id) FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE c.channel = 'email'")
            .await
    );
    drop(node);
}

#[actix_rt::test]
async fn a_task_that_panics_is_restarted_and_shown() {
    let (mut store, smtp) = mail_store(Backend::Sqlite).await;
    store.env.push(("HUB_TEST_PANIC_ONCE".into(), "e-mail applier".into()));
    let node = store.start().await;
    let line = |family: &str| format!("{family}{{task=\"e-mail applier\"}} 1");
    eventually(20, "the panic and the restart in /metrics", || {
        let api = node.api.clone();
        let want = [
            line("hub_task_panics_total"),
            line("hub_task_restarts_total"),
            line("hub_task_running"),
        ];
        async move {
            let (_, text) = api.get_text("/metrics").await;
            want.iter().all(|w| text.lines().any(|l| l == w)).then_some(())
        }
    })
    .await;
    let log = node.log();
    assert!(
        log.lines()
            .any(|l| l.contains("task panicked") && l.contains("e-mail applier")),
        "the panic is in the log:\n{log}"
    );
    // The applier started again does its work: a mail becomes a conversation.
    add_mailbox(&node.api).await;
    assert!(send_mail(smtp, 1).await, "the receiver takes the mail");
    eventually(30, "the mail applied", || {
        let store = &store;
        async move {
            (store
                .scalar("SELECT COUNT(*) FROM conversations WHERE channel = 'email'")
                .await
                == 1)
                .then_some(())
        }
    })
    .await;
}
