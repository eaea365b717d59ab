//! The service desk's search, webhooks and labour through a running node, on both backends: Russian and
//! English word forms find requests by their own words and their threads', a conversation
//! without a request is found with its line; a webhook hears of a move, signed (checked here by
//! an HMAC of our own), tried again on the schedule after a failure, sent again by hand with the
//! same bytes; internal addresses are refused.

use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::chat::{eventually, Widget};
use crate::desk::{id, sla_timer};
use crate::harness::*;

fn workflow() -> Value {
    json!({
        "statuses": [
            {"key": "new", "name": "New", "kind": "open"},
            {"key": "work", "name": "In progress", "kind": "open"},
            {"key": "closed", "name": "Closed", "kind": "closed"}
        ],
        "transitions": [
            {"from": "new", "to": "work", "role": "operator"},
            {"from": "work", "to": "closed", "role": "operator"}
        ]
    })
}

/// A workflow and a request type following it, made by the admin.
async fn process(api: &Api, admin: &str, flow_name: &str, body: Value, type_name: &str) -> (i64, i64) {
    let a = Some(admin);
    let flow = id(&api
        .post("/api/admin/desk/workflows", a, json!({"name": flow_name, "body": body}))
        .await);
    let kind = id(&api
        .post(
            "/api/admin/desk/request-types",
            a,
            json!({"name": type_name, "workflow_id": flow}),
        )
        .await);
    (flow, kind)
}

fn ids(list: &Value) -> Vec<i64> {
    let mut v: Vec<i64> = list
        .as_array()
        .map(|a| a.iter().filter_map(|r| r["id"].as_i64()).collect())
        .unwrap_or_default();
    v.sort_unstable();
    v
}

async fn search(backend: Backend) {
    let store = Store::new(backend, false).await;
    let node = store.start().await;
    let api = &node.api;
    let admin = api.login("admin", "demo-admin").await;
    let a = Some(admin.as_str());
    let (_, kind) = process(api, &admin, "Search flow", workflow(), "Search incident").await;
    let op = api.login("operator2", "demo-operator2").await;
    let o = Some(op.as_str());
    let till = id(&api
        .post(
            "/api/desk/requests",
            o,
            json!({"type_id": kind, "subject": "Не печатает принтер на кассе"}),
        )
        .await);
    let door = id(&api
        .post(
            "/api/desk/requests",
            o,
            json!({"type_id": kind, "subject": "Дверь склада не закрывается"}),
        )
        .await);
    // A chat made into a request: found by its thread's words.
    let (token, _) = Widget::start(api, None).await;
    let (mut w, _) = Widget::connect(api, &token, 0).await;
    w.say_until_acked("s1", "The printers in the back office keep jamming")
        .await;
    let (_, lists) = api.get("/api/conversations", a).await;
    let conv = lists["queued"][0]["id"].as_i64().unwrap_or(0);
    let jam = id(&api
        .post(
            "/api/desk/requests",
            a,
            json!({"type_id": kind, "subject": "Jam", "conversation_id": conv}),
        )
        .await);
    // Another chat, no request: found as a thread.
    let (token2, _) = Widget::start(api, None).await;
    let (mut w2, _) = Widget::connect(api, &token2, 0).await;
    w2.say_until_acked("s2", "Где мой заказ 12345? Жду уже неделю").await;
    let find = |q: &'static str| {
        let (api, admin) = (api.clone(), admin.clone());
        async move {
            let (st, list) = api
                .get(&format!("/api/desk/requests?q={}", urlencode(q)), Some(&admin))
                .await;
            assert_eq!(st, 200, "{list}");
            ids(&list)
        }
    };
    assert_eq!(find("принтеры").await, [till], "a Russian word's other form");
    assert_eq!(find("ПРИНТЕРА кассы").await, [till], "every word, any case and form");
    assert_eq!(
        find("принтер склад").await,
        Vec::<i64>::new(),
        "not every word is there"
    );
    assert_eq!(find("склады").await, [door]);
    assert_eq!(
        find("printer jammed").await,
        [jam],
        "an English thread's words, stemmed"
    );
    assert_eq!(find("а").await.len(), 3, "no word to search by: no filter");
    // A note on a request is found too.
    let (st, _) = api
        .post(
            &format!("/api/desk/requests/{door}/notes"),
            o,
            json!({"text": "Заменили доводчики"}),
        )
        .await;
    assert_eq!(st, 204);
    assert_eq!(find("доводчик").await, [door]);
    // Threads: the one without a request, with the line that matched.
    let (st, hits) = api
        .get(&format!("/api/desk/threads?q={}", urlencode("заказы")), a)
        .await;
    assert_eq!(st, 200, "{hits}");
    assert_eq!(hits.as_array().map(Vec::len), Some(1), "{hits}");
    assert!(hits[0]["request_id"].is_null());
    assert!(hits[0]["line"].as_str().unwrap_or("").contains("12345"), "{hits}");
    let (_, hits) = api.get("/api/desk/threads?q=12345", a).await;
    assert_eq!(hits.as_array().map(Vec::len), Some(1), "numbers whole: {hits}");
    let (_, hits) = api.get("/api/desk/threads?q=printers", a).await;
    assert_eq!(hits[0]["request_id"].as_i64(), Some(jam), "{hits}");
    let (st, _) = api.get(&format!("/api/desk/threads?q={}", "x".repeat(501)), a).await;
    assert_eq!(st, 400, "a pasted mail is not a query");
    // What was written before the index existed is indexed at the next start.
    drop(node);
    store.exec("DELETE FROM search_terms").await;
    store
        .exec("UPDATE search_marks SET last_id = 0 WHERE source IN ('messages', 'requests')")
        .await;
    store
        .exec("UPDATE search_marks SET last_id = (SELECT MAX(id) FROM messages) WHERE source = 'messages_upto'")
        .await;
    store
        .exec("UPDATE search_marks SET last_id = (SELECT MAX(id) FROM requests) WHERE source = 'requests_upto'")
        .await;
    let node = store.start().await;
    let api = &node.api;
    let admin = api.login("admin", "demo-admin").await;
    let found = eventually(20, "the backlog indexed", || {
        let (api, admin) = (api.clone(), admin.clone());
        async move {
            let (_, list) = api.get("/api/desk/requests?q=printer", Some(&admin)).await;
            let (_, notes) = api
                .get(
                    &format!("/api/desk/requests?q={}", urlencode("доводчики")),
                    Some(&admin),
                )
                .await;
            (ids(&list) == [jam] && ids(&notes) == [door]).then_some(())
        }
    })
    .await;
    found
}

#[actix_rt::test]
async fn search_finds_word_forms_sqlite() {
    search(Backend::Sqlite).await;
}

#[actix_rt::test]
async fn search_finds_word_forms_postgres() {
    search(Backend::Postgres).await;
}

/// HMAC-SHA256 as RFC 2104 writes it, apart from the hub's own (ring's).
fn hmac_sha256(key: &[u8], msg: &[u8]) -> String {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let pad = |b: u8| k.iter().map(|x| x ^ b).collect::<Vec<u8>>();
    let inner = Sha256::new().chain_update(pad(0x36)).chain_update(msg).finalize();
    hex::encode(Sha256::new().chain_update(pad(0x5c)).chain_update(inner).finalize())
}

#[derive(Debug, Clone)]
struct Heard {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Heard {
    fn header(&self, name: &str) -> String {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }
}

/// An endpoint on 127.0.0.2 that answers 500 to the first delivery and 200 after.
async fn receiver() -> (u16, Arc<Mutex<Vec<Heard>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.2:0")
        .await
        .expect("bind 127.0.0.2");
    let port = listener.local_addr().expect("addr").port();
    let heard: Arc<Mutex<Vec<Heard>>> = Arc::default();
    let h = heard.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            let h = h.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let (head_end, length) = loop {
                    let Ok(n) = s.read(&mut chunk).await else { return };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]).to_string();
                        let length = head
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        break (end + 4, length);
                    }
                };
                while buf.len() < head_end + length {
                    let Ok(n) = s.read(&mut chunk).await else { return };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                let headers = head
                    .lines()
                    .skip(1)
                    .filter_map(|l| {
                        l.split_once(':')
                            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                    })
                    .collect();
                let first = {
                    let mut all = h.lock().expect("lock");
                    all.push(Heard {
                        headers,
                        body: buf[head_end..head_end + length].to_vec(),
                    });
                    all.len() == 1
                };
                let answer: &[u8] = if first {
                    b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                } else {
                    b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                };
                let _ = s.write_all(answer).await;
            });
        }
    });
    (port, heard)
}

async fn webhooks(backend: Backend) {
    let (port, heard) = receiver().await;
    let mut store = Store::new(backend, false).await;
    store.env.push(("HUB_EGRESS_ALLOW".into(), "127.0.0.2/32".into()));
    let node = store.start().await;
    let api = &node.api;
    let admin = api.login("admin", "demo-admin").await;
    let a = Some(admin.as_str());
    // Internal addresses are refused when saved; so are credentials and other schemes.
    for (url, reason) in [
        ("http://169.254.169.254/latest/meta-data", "internal_address"),
        ("http://127.0.0.1:9/x", "internal_address"),
        ("http://[::ffff:10.0.0.1]/x", "internal_address"),
        ("http://localhost:9/x", "internal_address"),
        ("http://2130706433:9/x", "internal_address"),
        ("http://0x7f.1:9/x", "internal_address"),
        ("https://user:pw@hooks.example.com/x", "url_credentials"),
        ("ftp://hooks.example.com/x", "url_scheme"),
    ] {
        let (st, e) = api
            .post(
                "/api/admin/webhooks",
                a,
                json!({"url": url, "events": ["request.moved"]}),
            )
            .await;
        assert_eq!((st, e["reason"].as_str()), (400, Some(reason)), "{url}: {e}");
    }
    let made = api
        .post(
            "/api/admin/webhooks",
            a,
            json!({"url": format!("http://127.0.0.2:{port}/desk"), "events": ["request.moved"]}),
        )
        .await;
    let hook = id(&made);
    let secret = made.1["secret"].as_str().expect("the secret, once").to_string();
    let (_, list) = api.get("/api/admin/webhooks", a).await;
    assert!(!list.to_string().contains(&secret), "the secret is shown once: {list}");
    let (flow, kind) = process(api, &admin, "Hook flow", workflow(), "Hook incident").await;
    let op = api.login("operator2", "demo-operator2").await;
    let o = Some(op.as_str());
    let rid = id(&api
        .post(
            "/api/desk/requests",
            o,
            json!({"type_id": kind, "subject": "Till down"}),
        )
        .await);
    let (st, _) = api
        .post(&format!("/api/desk/requests/{rid}/move"), o, json!({"to": "work"}))
        .await;
    assert_eq!(st, 200);
    // The first attempt is answered 500 and recorded; the retry 10 s later is delivered.
    let deliveries = |api: Api, admin: String| async move {
        api.get(&format!("/api/admin/webhooks/{hook}/deliveries"), Some(&admin))
            .await
            .1
    };
    let failed = eventually(10, "the first attempt recorded", || {
        let (api, admin) = (api.clone(), admin.clone());
        async move {
            let d = deliveries(api, admin).await;
            (d[0]["last_status"] == 500 && d[0]["status"] == "pending").then_some(d)
        }
    })
    .await;
    assert_eq!(
        failed.as_array().map(Vec::len),
        Some(1),
        "created is not subscribed to: {failed}"
    );
    assert_eq!(failed[0]["attempts"], 1, "{failed}");
    let retry_in = failed[0]["next_at"].as_i64().unwrap_or(0) - hub_now();
    assert!(
        (5_000..=10_500).contains(&retry_in),
        "the retry is due 10 s after: {retry_in} ms"
    );
    let sent = eventually(20, "the retry delivered", || {
        let (api, admin) = (api.clone(), admin.clone());
        async move {
            let d = deliveries(api, admin).await;
            (d[0]["status"] == "sent").then_some(d)
        }
    })
    .await;
    assert_eq!(
        (sent[0]["attempts"].as_i64(), sent[0]["last_status"].as_i64()),
        (Some(2), Some(200))
    );
    let got = heard.lock().expect("lock").clone();
    assert_eq!(got.len(), 2);
    for h in &got {
        let ts = h.header("x-hub-timestamp");
        let mut signed = ts.as_bytes().to_vec();
        signed.push(b'.');
        signed.extend_from_slice(&h.body);
        assert_eq!(
            h.header("x-hub-signature-256"),
            format!("sha256={}", hmac_sha256(secret.as_bytes(), &signed)),
            "signed with the secret"
        );
        assert_eq!(h.header("x-hub-event"), "request.moved");
    }
    assert_eq!(got[0].body, got[1].body, "a retry sends the same bytes");
    assert_eq!(got[0].header("x-hub-delivery"), got[1].header("x-hub-delivery"));
    let body: Value = serde_json::from_slice(&got[1].body).expect("JSON");
    assert_eq!(body["event"], "request.moved");
    assert_eq!(body["request"]["id"].as_i64(), Some(rid));
    assert_eq!(
        (body["data"]["from"].as_str(), body["data"]["status"].as_str()),
        (Some("new"), Some("work"))
    );
    // Sent again by hand: the same delivery, at once.
    let delivery = sent[0]["id"].as_i64().unwrap_or(0);
    let (st, _) = api
        .post(
            &format!("/api/admin/webhooks/{hook}/deliveries/{delivery}/redeliver"),
            a,
            json!({}),
        )
        .await;
    assert_eq!(st, 202);
    eventually(10, "the redelivery", || {
        let heard = heard.clone();
        async move { (heard.lock().expect("lock").len() == 3).then_some(()) }
    })
    .await;
    assert_eq!(heard.lock().expect("lock")[2].body, got[0].body);
    // A workflow's action sends its move to a webhook whatever it subscribes to; a webhook
    // paused is not sent to.
    let (st, _) = api
        .send(
            "PATCH",
            &format!("/api/admin/webhooks/{hook}"),
            a,
            Some(json!({"events": ["request.alarm"]})),
        )
        .await;
    assert_eq!(st, 204);
    let mut flow2 = workflow();
    flow2["statuses"][1]["on_enter"] = json!([{"do": "webhook", "webhook": hook}]);
    let (st, e) = api
        .send(
            "PUT",
            &format!("/api/admin/desk/workflows/{flow}"),
            a,
            Some(json!({"body": flow2})),
        )
        .await;
    assert_eq!(st, 200, "{e}");
    let (st, e) = api
        .send("PUT", &format!("/api/admin/desk/workflows/{flow}"), a, Some(json!({"body": {
            "statuses": [{"key": "new", "name": "New", "kind": "open", "on_enter": [{"do": "webhook", "webhook": 999_999}]},
                         {"key": "closed", "name": "Closed", "kind": "closed"}],
            "transitions": [{"from": "new", "to": "closed", "role": "operator"}]}})))
        .await;
    assert_eq!(st, 400, "another's or no webhook: {e}");
    let r2 = id(&api
        .post("/api/desk/requests", o, json!({"type_id": kind, "subject": "Door"}))
        .await);
    api.post(&format!("/api/desk/requests/{r2}/move"), o, json!({"to": "work"}))
        .await;
    eventually(10, "the action's delivery", || {
        let heard = heard.clone();
        async move { (heard.lock().expect("lock").len() == 4).then_some(()) }
    })
    .await;
    let last: Value = serde_json::from_slice(&heard.lock().expect("lock")[3].body).expect("JSON");
    assert_eq!(last["request"]["id"].as_i64(), Some(r2));
    let (st, _) = api
        .send(
            "PATCH",
            &format!("/api/admin/webhooks/{hook}"),
            a,
            Some(json!({"active": false})),
        )
        .await;
    assert_eq!(st, 204);
    let r3 = id(&api
        .post("/api/desk/requests", o, json!({"type_id": kind, "subject": "Light"}))
        .await);
    api.post(&format!("/api/desk/requests/{r3}/move"), o, json!({"to": "work"}))
        .await;
    let d = deliveries(api.clone(), admin.clone()).await;
    assert_eq!(
        d.as_array().map(Vec::len),
        Some(2),
        "nothing enqueued for a paused webhook: {d}"
    );
    // Another organisation's admin sees none of it.
    let (st, _) = api
        .send("DELETE", &format!("/api/admin/webhooks/{hook}"), a, None)
        .await;
    assert_eq!(st, 204);
    let (_, list) = api.get("/api/admin/webhooks", a).await;
    assert_eq!(list, json!([]));
}

fn hub_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[actix_rt::test]
async fn webhooks_signed_retried_and_refused_inside_sqlite() {
    webhooks(Backend::Sqlite).await;
}

#[actix_rt::test]
async fn webhooks_signed_retried_and_refused_inside_postgres() {
    webhooks(Backend::Postgres).await;
}

/// Labour and satisfaction: an activity's rate wins over the engineer's, minutes without a rate
/// are counted apart, the card and the figures agree; the engineer's day is their logged work
/// against their shift; a rated thread's score is the request's CSAT.
async fn labour(backend: Backend) {
    use crate::chat::OPERATOR2;
    let store = Store::new(backend, false).await;
    let node = store.start().await;
    let api = &node.api;
    let admin = api.login("admin", "demo-admin").await;
    let a = Some(admin.as_str());
    let (_, kind) = process(api, &admin, "Labour flow", workflow(), "Labour incident").await;
    let always = id(&api
        .post(
            "/api/admin/desk/calendars",
            a,
            json!({"name": "Round the clock", "timezone": "UTC", "week": {
                "mon": "00:00-24:00", "tue": "00:00-24:00", "wed": "00:00-24:00", "thu": "00:00-24:00",
                "fri": "00:00-24:00", "sat": "00:00-24:00", "sun": "00:00-24:00"}}),
        )
        .await);
    let (st, e) = api
        .put(
            &format!("/api/admin/desk/people/{OPERATOR2}"),
            a,
            json!({"calendar_id": always, "rate_cents": 120_000}),
        )
        .await;
    assert_eq!(st, 204, "{e}");
    let (st, e) = api
        .put(
            &format!("/api/admin/desk/people/{OPERATOR2}"),
            a,
            json!({"rate_cents": -1}),
        )
        .await;
    assert_eq!((st, e["field"].as_str()), (400, Some("rate_cents")), "{e}");
    id(&api
        .post(
            "/api/admin/desk/activities",
            a,
            json!({"name": "Выезд", "rate_cents": 300_000}),
        )
        .await);
    let (st, e) = api
        .post("/api/admin/desk/activities", a, json!({"name": "выезд"}))
        .await;
    assert_eq!((st, e["reason"].as_str()), (400, Some("activity_taken")), "{e}");

    // A chat made into operator2's request; they log work on it, close and the visitor rates it.
    let (token, _) = Widget::start(api, None).await;
    let (mut w, _) = Widget::connect(api, &token, 0).await;
    w.say_until_acked("l1", "Не работает касса").await;
    let sup = api.login("supervisor", "demo-supervisor").await;
    let (_, lists) = api.get("/api/conversations", Some(&sup)).await;
    let conv = lists["queued"][0]["id"].as_i64().unwrap_or(0);
    let (st, _) = api
        .post(
            &format!("/api/conversations/{conv}/assign"),
            Some(&sup),
            json!({"operator_id": OPERATOR2}),
        )
        .await;
    assert_eq!(st, 200);
    let ivan = api.login("operator2", "demo-operator2").await;
    let o = Some(ivan.as_str());
    let rid = id(&api
        .post(
            "/api/desk/requests",
            o,
            json!({"type_id": kind, "subject": "Касса", "conversation_id": conv}),
        )
        .await);
    let (st, _) = api
        .post(
            &format!("/api/desk/requests/{rid}/assign"),
            o,
            json!({"user_id": OPERATOR2}),
        )
        .await;
    assert_eq!(st, 200);
    for (minutes, activity) in [(30, "диагностика"), (90, "ВЫЕЗД")] {
        let (st, e) = api
            .post(
                &format!("/api/desk/requests/{rid}/work-logs"),
                o,
                json!({"minutes": minutes, "activity": activity}),
            )
            .await;
        assert_eq!(st, 201, "{e}");
    }
    // Another engineer's minutes with no rate of theirs, on a second request.
    let anna = api.login("operator1", "demo-operator1").await;
    let other = id(&api
        .post(
            "/api/desk/requests",
            Some(&anna),
            json!({"type_id": kind, "subject": "Дверь"}),
        )
        .await);
    api.post(
        &format!("/api/desk/requests/{other}/work-logs"),
        Some(&anna),
        json!({"minutes": 20, "activity": "осмотр"}),
    )
    .await;
    let (_, card) = api.get(&format!("/api/desk/requests/{rid}"), o).await;
    assert!(
        card["cost"].is_null(),
        "an engineer is not told what colleagues' work costs"
    );
    let (_, card) = api.get(&format!("/api/desk/requests/{rid}"), Some(&sup)).await;
    // 30 min at 1 200.00 an hour, 90 at 3 000.00: 600.00 + 4 500.00.
    assert_eq!(
        card["cost"],
        json!({"cents": 510_000, "unpriced_mins": 0}),
        "{}",
        card["cost"]
    );
    let (st, _) = api
        .post(
            &format!("/api/conversations/{conv}/close"),
            o,
            json!({"resolution": "answered"}),
        )
        .await;
    assert_eq!(st, 200);
    let (st, _) = api
        .send_raw_auth(
            "POST",
            "/api/chat/rating",
            &token,
            &json!({"conversation_id": conv, "score": 5}).to_string(),
        )
        .await;
    assert_eq!(st, 204);
    // Its history two hours back: operator2 has held it, unresolved, for two hours.
    let mut db = store.connect().await;
    sqlx::query("UPDATE request_events SET at = at - 7200000 WHERE request_id = $1")
        .bind(rid)
        .execute(&mut db)
        .await
        .expect("backdate");
    let (st, k) = api.get("/api/desk/kpis", Some(&sup)).await;
    assert_eq!(st, 200, "{k}");
    assert_eq!(k["total"]["labour_cost_cents"], 510_000);
    assert_eq!(k["total"]["unpriced_mins"], 20);
    assert_eq!(k["total"]["csat"], json!({"rated": 1, "satisfied": 1, "percent": 100}));
    let ivan_fig = k["people"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["user_id"] == OPERATOR2).cloned())
        .expect("operator2's figures");
    assert_eq!(ivan_fig["figures"]["labour_cost_cents"], 510_000);
    let load = k["load"].as_array().cloned().unwrap_or_default();
    let ivan_load = load.iter().find(|l| l["user"] == OPERATOR2).expect("operator2's load");
    assert_eq!(ivan_load["logged_mins"], 120);
    let tracked = ivan_load["tracked_mins"].as_i64().unwrap_or(0);
    assert!((119..=121).contains(&tracked), "held for two hours: {ivan_load}");
    let today = ivan_load["days"]
        .as_array()
        .and_then(|d| d.last().cloned())
        .expect("today");
    assert_eq!(today["logged_mins"], 120);
    assert!(
        today["shift_mins"].as_i64().unwrap_or(0) > 0,
        "a round-the-clock shift: {today}"
    );
    let anna_load = load.iter().find(|l| l["logged_mins"] == 20).expect("operator1's load");
    assert!(anna_load["utilisation_percent"].is_null(), "no shift: {anna_load}");
    let (_, csv) = api.get_text_as("/api/desk/kpis.csv", Some(&sup)).await;
    assert!(
        csv.lines()
            .next()
            .unwrap_or("")
            .ends_with("labour_cost_cents,unpriced_mins,csat_rated,csat_satisfied,csat_percent"),
        "{csv}"
    );
}

#[actix_rt::test]
async fn labour_cost_load_and_csat_sqlite() {
    labour(Backend::Sqlite).await;
}

#[actix_rt::test]
async fn labour_cost_load_and_csat_postgres() {
    labour(Backend::Postgres).await;
}

/// A status that tells the customer: entering it writes the notice into the request's latest
/// thread (the visitor's widget shows it at once), with its placeholders filled; a request with
/// no thread notes that nobody was told.
async fn notice(backend: Backend) {
    let store = Store::new(backend, false).await;
    let node = store.start().await;
    let api = &node.api;
    let admin = api.login("admin", "demo-admin").await;
    let a = Some(admin.as_str());
    let mut body = workflow();
    body["statuses"][1]["on_enter"] =
        json!([{"do": "notify_customer", "template": "Заявка №{id} «{subject}»: {status}. {subject}"}]);
    let flow = id(&api
        .post(
            "/api/admin/desk/workflows",
            a,
            json!({"name": "Notice flow", "body": body}),
        )
        .await);
    let mut bad = workflow();
    bad["statuses"][1]["on_enter"] = json!([{"do": "notify_customer", "template": "Заявка {number}"}]);
    let (st, e) = api
        .post(
            "/api/admin/desk/workflows",
            a,
            json!({"name": "Bad notice", "body": bad}),
        )
        .await;
    assert_eq!((st, e["reason"].as_str()), (400, Some("notice_placeholder")), "{e}");
    let kind = id(&api
        .post(
            "/api/admin/desk/request-types",
            a,
            json!({"name": "Notice incident", "workflow_id": flow}),
        )
        .await);
    let (token, _) = Widget::start(api, None).await;
    let (mut w, _) = Widget::connect(api, &token, 0).await;
    w.say_until_acked("n1", "Не работает касса").await;
    let (_, lists) = api.get("/api/conversations", a).await;
    let conv = lists["queued"][0]["id"].as_i64().unwrap_or(0);
    let op = api.login("operator1", "demo-operator1").await;
    let o = Some(op.as_str());
    let rid = id(&api
        .post(
            "/api/desk/requests",
            o,
            json!({"type_id": kind, "subject": "Касса {id}", "conversation_id": conv}),
        )
        .await);
    let (st, e) = api
        .post(&format!("/api/desk/requests/{rid}/move"), o, json!({"to": "work"}))
        .await;
    assert_eq!(st, 200, "{e}");
    let said = format!("Заявка №{rid} «Касса {{id}}»: In progress. Касса {{id}}");
    // The widget hears its own message echoed first.
    let mut got = w.next_of("message", 10).await;
    if got["message"]["author"] == "visitor" {
        got = w.next_of("message", 10).await;
    }
    assert_eq!(got["message"]["body"].as_str(), Some(said.as_str()), "{got}");
    assert_eq!(got["message"]["author"], "system");
    let (_, card) = api.get(&format!("/api/desk/requests/{rid}"), o).await;
    let told = card["events"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["kind"] == "notice").cloned())
        .expect("the notice in the history");
    assert_eq!(
        (told["data"]["text"].as_str(), told["data"]["conversation_id"].as_i64()),
        (Some(said.as_str()), Some(conv))
    );
    // No thread: nobody to tell, and the history says so.
    let alone = id(&api
        .post("/api/desk/requests", o, json!({"type_id": kind, "subject": "Дверь"}))
        .await);
    api.post(&format!("/api/desk/requests/{alone}/move"), o, json!({"to": "work"}))
        .await;
    let (_, card) = api.get(&format!("/api/desk/requests/{alone}"), o).await;
    let told = card["events"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["kind"] == "notice").cloned())
        .expect("the notice in the history");
    assert!(told["data"]["conversation_id"].is_null(), "{told}");
}

#[actix_rt::test]
async fn a_status_tells_the_customer_sqlite() {
    notice(Backend::Sqlite).await;
}

#[actix_rt::test]
async fn a_status_tells_the_customer_postgres() {
    notice(Backend::Postgres).await;
}

/// A status whose workflow stops a clock: entering it stops that clock on the card (kept with
/// the status line in the history), and the others run on.
#[actix_rt::test]
async fn a_status_stops_the_clock_its_workflow_names() {
    let store = Store::new(Backend::Sqlite, false).await;
    let node = store.start().await;
    let api = &node.api;
    let admin = api.login("admin", "demo-admin").await;
    let a = Some(admin.as_str());
    let mut body = workflow();
    body["statuses"][1]["on_enter"] = json!([{"do": "stop_clock", "clock": "first_response"}]);
    let (_, kind) = process(api, &admin, "Stop flow", body, "Stop incident").await;
    id(&api
        .post(
            "/api/admin/desk/policies",
            a,
            json!({"name": "Stop SLA", "kind": "sla", "conditions": {"request_types": [kind]},
                   "targets": {"first_response_mins": 60, "resolution_mins": 480}}),
        )
        .await);
    let op = api.login("operator1", "demo-operator1").await;
    let o = Some(op.as_str());
    let rid = id(&api
        .post("/api/desk/requests", o, json!({"type_id": kind, "subject": "Касса"}))
        .await);
    let timer =
        |card: &Value, clock: &str| sla_timer(card, clock).unwrap_or_else(|| panic!("no {clock} timer: {card}"));
    let (_, card) = api.get(&format!("/api/desk/requests/{rid}"), o).await;
    assert_eq!(timer(&card, "first_response")["running"], true);
    let (st, e) = api
        .post(&format!("/api/desk/requests/{rid}/move"), o, json!({"to": "work"}))
        .await;
    assert_eq!(st, 200, "{e}");
    let (_, card) = api.get(&format!("/api/desk/requests/{rid}"), o).await;
    let first = timer(&card, "first_response");
    assert!(first["running"] == false && first["stopped_at"].is_i64(), "{first}");
    assert_eq!(timer(&card, "resolution")["running"], true);
}
