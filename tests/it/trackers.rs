//! Vehicle trackers over the real sockets: Teltonika over TCP (the IMEI hand-shake, an
//! acknowledgement only once stored, refusals), Wialon IPS over TCP, OsmAnd over HTTP; a kill -9
//! in the middle of a stream loses no acknowledged fix.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use hub_trackers::{teltonika, Fix};

use crate::harness::*;

const IMEI: &str = "356307042441013";

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64
}

/// A fix inside the demo's Moscow territory (town limit 60 km/h), `i` steps east of its centre.
fn fix(at: i64, i: usize, kmh: f64) -> Fix {
    Fix {
        at,
        lat: 55.75,
        lon: 37.60 + i as f64 * 0.0008,
        altitude: Some(150.0),
        course: Some(90.0),
        speed_kmh: Some(kmh),
        satellites: Some(9),
        accuracy: None,
        io: Default::default(),
    }
}

struct Ports {
    teltonika: u16,
    wialon: u16,
}

fn with_trackers(store: &mut Store) -> Ports {
    let ports = Ports {
        teltonika: free_port(),
        wialon: free_port(),
    };
    store.env.extend([
        (
            "HUB_TRACKERS__TELTONIKA_LISTEN".to_string(),
            format!("127.0.0.1:{}", ports.teltonika),
        ),
        (
            "HUB_TRACKERS__WIALON_LISTEN".to_string(),
            format!("127.0.0.1:{}", ports.wialon),
        ),
        ("HUB_TRACKERS__LOGIN_SECS".to_string(), "1".to_string()),
    ]);
    ports
}

/// A vehicle with a tracker of `protocol` and `unique_id`; answers the vehicle's id.
async fn vehicle(api: &Api, admin: &str, protocol: &str, unique_id: &str) -> i64 {
    let (s, v) = api
        .post(
            "/api/admin/vehicles",
            Some(admin),
            json!({"name": format!("Van {unique_id}"), "speed_limit_kmh": 90}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_i64().expect("id");
    let (s, d) = api
        .post(
            "/api/admin/trackers",
            Some(admin),
            json!({"protocol": protocol, "unique_id": unique_id, "vehicle_id": id}),
        )
        .await;
    assert_eq!(s, 201, "{d}");
    id
}

async fn connect(port: u16) -> TcpStream {
    TcpStream::connect(("127.0.0.1", port)).await.expect("connect")
}

/// Reads until the peer closes; true if it did within 10 s.
async fn closed(conn: &mut TcpStream) -> bool {
    let mut buf = [0u8; 64];
    matches!(
        tokio::time::timeout(Duration::from_secs(10), conn.read(&mut buf)).await,
        Ok(Ok(0)) | Ok(Err(_))
    )
}

async fn read_exact(conn: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    tokio::time::timeout(Duration::from_secs(10), conn.read_exact(&mut buf))
        .await
        .expect("an answer within 10 s")
        .expect("read");
    buf
}

/// The demo's own vehicles' fixes are left out.
pub(crate) const NOT_DEMO: &str =
    "vehicle_id NOT IN (SELECT vehicle_id FROM tracker_devices WHERE unique_id IN ('demo-van', '359633100000001'))";

pub(crate) async fn stored(store: &Store) -> i64 {
    let mut c = store.connect().await;
    let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM vehicle_fixes WHERE {NOT_DEMO}"
    )))
    .fetch_one(&mut c)
    .await
    .expect("count");
    n
}

async fn teltonika_over_tcp(backend: Backend) {
    let mut store = Store::new(backend, false).await;
    let ports = with_trackers(&mut store);
    let node = store.start().await;
    let admin = node.api.login("admin", "demo-admin").await;
    let vehicle_id = vehicle(&node.api, &admin, "teltonika", IMEI).await;

    // An IMEI nobody registered: refused with 0x00, and closed.
    let mut c = connect(ports.teltonika).await;
    c.write_all(&teltonika::imei_frame("350000000000009")).await.unwrap();
    assert_eq!(read_exact(&mut c, 1).await, [0x00]);
    assert!(closed(&mut c).await, "an unknown device is closed");
    // Not a hand-shake at all: closed without a word.
    let mut c = connect(ports.teltonika).await;
    c.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
    assert!(closed(&mut c).await);
    // Silent after connecting (half-open, or a port scanner): closed after login_secs.
    let mut c = connect(ports.teltonika).await;
    assert!(closed(&mut c).await, "a silent connection is closed");

    // The device: each packet acknowledged with its record count once stored.
    let mut c = connect(ports.teltonika).await;
    c.write_all(&teltonika::imei_frame(IMEI)).await.unwrap();
    assert_eq!(read_exact(&mut c, 1).await, [0x01]);
    let t0 = now_ms() - 600_000;
    // Two minutes at 80 in town (the territory's limit is 60): speeding, told once.
    let fixes: Vec<Fix> = (0..25).map(|i| fix(t0 + i as i64 * 5_000, i, 80.0)).collect();
    for chunk in fixes.chunks(5) {
        c.write_all(&teltonika::codec8(chunk)).await.unwrap();
        assert_eq!(read_exact(&mut c, 4).await, teltonika::ack(5));
    }
    assert_eq!(stored(&store).await, 25);
    // The same packet again (no ack reached the device, say): acknowledged, stored once.
    c.write_all(&teltonika::codec8(&fixes[20..])).await.unwrap();
    assert_eq!(read_exact(&mut c, 4).await, teltonika::ack(5));
    assert_eq!(stored(&store).await, 25);
    // A packet with a wrong CRC: no ack, the connection closed, nothing stored.
    let mut bad = teltonika::codec8(&[fix(t0 + 200_000, 40, 50.0)]);
    let last = bad.len() - 1;
    bad[last] ^= 0xFF;
    c.write_all(&bad).await.unwrap();
    assert!(closed(&mut c).await, "a broken packet closes the connection");
    assert_eq!(stored(&store).await, 25);

    let sup = node.api.login("supervisor", "demo-supervisor").await;
    let (s, events) = node
        .api
        .get(
            &format!("/api/supervisor/vehicle-events?vehicle_id={vehicle_id}"),
            Some(&sup),
        )
        .await;
    assert_eq!(s, 200, "{events}");
    let kinds: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(kinds.iter().filter(|k| **k == "overspeed").count(), 1, "{events}");
    let over = events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "overspeed")
        .unwrap();
    assert_eq!(over["limit_kmh"], 60.0, "the town's limit, under the van's own 90");
    let (_, fleet) = node.api.get("/api/supervisor/fleet", Some(&sup)).await;
    let pos = fleet["positions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["vehicle_id"] == vehicle_id)
        .cloned();
    assert_eq!(pos.map(|p| p["at"].clone()), Some(json!(t0 + 24 * 5_000)));
    // An operator sees no map.
    let op = node.api.login("operator1", "demo-operator1").await;
    assert_eq!(node.api.get("/api/supervisor/fleet", Some(&op)).await.0, 403);
}

#[actix_rt::test]
async fn teltonika_over_tcp_sqlite() {
    teltonika_over_tcp(Backend::Sqlite).await;
}

#[actix_rt::test]
async fn teltonika_over_tcp_postgres() {
    teltonika_over_tcp(Backend::Postgres).await;
}

/// Streams packets one after another, each after the last one's ack, and kills the node
/// midway: every fix acknowledged before the kill is stored after the restart.
async fn kill_loses_no_acknowledged_fix(backend: Backend) {
    let mut store = Store::new(backend, false).await;
    let ports = with_trackers(&mut store);
    let mut node = store.start().await;
    let admin = node.api.login("admin", "demo-admin").await;
    vehicle(&node.api, &admin, "teltonika", IMEI).await;
    let acked = Arc::new(AtomicUsize::new(0));
    let t0 = now_ms() - 3_600_000;
    let counter = acked.clone();
    let stream = tokio::spawn(async move {
        let mut c = connect(ports.teltonika).await;
        c.write_all(&teltonika::imei_frame(IMEI)).await.unwrap();
        assert_eq!(read_exact(&mut c, 1).await, [0x01]);
        for p in 0.. {
            let fixes: Vec<Fix> = (0..10)
                .map(|i| {
                    let n = p * 10 + i;
                    // Half a metre a second: never a jump, never out of town.
                    Fix {
                        lon: 37.60 + n as f64 * 0.000005,
                        ..fix(t0 + n as i64 * 1_000, 0, 30.0)
                    }
                })
                .collect();
            if c.write_all(&teltonika::codec8(&fixes)).await.is_err() {
                return;
            }
            let mut ack = [0u8; 4];
            match c.read_exact(&mut ack).await {
                Ok(_) if ack == teltonika::ack(10) => {
                    counter.fetch_add(10, Ordering::SeqCst);
                }
                _ => return,
            }
        }
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while acked.load(Ordering::SeqCst) < 300 {
        assert!(
            !stream.is_finished() && std::time::Instant::now() < deadline,
            "the stream stopped after {} acknowledged fixes",
            acked.load(Ordering::SeqCst)
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    node.kill();
    let _ = stream.await;
    let acked = acked.load(Ordering::SeqCst) as i64;
    let _node = store.start().await;
    let n = stored(&store).await;
    assert!(n >= acked, "{acked} fixes acknowledged, {n} stored");
    // And they are the first ones, none skipped.
    let (_, last): (i64, i64) = {
        let mut c = store.connect().await;
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*), MAX(at) FROM vehicle_fixes WHERE {NOT_DEMO}"
        )))
        .fetch_one(&mut c)
        .await
        .expect("count")
    };
    assert_eq!(last, t0 + (n - 1) * 1_000, "the stored fixes run without a gap");
}

#[actix_rt::test]
async fn kill_loses_no_acknowledged_fix_sqlite() {
    kill_loses_no_acknowledged_fix(Backend::Sqlite).await;
}

#[actix_rt::test]
async fn kill_loses_no_acknowledged_fix_postgres() {
    kill_loses_no_acknowledged_fix(Backend::Postgres).await;
}

#[actix_rt::test]
async fn wialon_over_tcp() {
    let mut store = Store::new(Backend::Sqlite, false).await;
    let ports = with_trackers(&mut store);
    let node = store.start().await;
    let admin = node.api.login("admin", "demo-admin").await;
    vehicle(&node.api, &admin, "wialon", "861230043907626").await;

    let mut c = connect(ports.wialon).await;
    c.write_all(b"#L#861230000000000;NA\r\n").await.unwrap();
    assert_eq!(read_exact(&mut c, 7).await, b"#AL#0\r\n");
    assert!(closed(&mut c).await, "an unknown device is closed");

    let mut c = connect(ports.wialon).await;
    c.write_all(b"#L#861230043907626;NA\r\n").await.unwrap();
    assert_eq!(read_exact(&mut c, 7).await, b"#AL#1\r\n");
    let t = jiff::Timestamp::from_millisecond(now_ms() - 60_000).unwrap();
    let stamp = t.strftime("%d%m%y;%H%M%S").to_string();
    let line = format!("#SD#{stamp};5545.0000;N;03736.0000;E;40;90;150;9\r\n");
    c.write_all(line.as_bytes()).await.unwrap();
    assert_eq!(read_exact(&mut c, 8).await, b"#ASD#1\r\n");
    // Coordinates that cannot be read: the protocol's code, and the connection stays.
    c.write_all(format!("#SD#{stamp};5599.0000;N;03736.0000;E;40;90;150;9\r\n").as_bytes())
        .await
        .unwrap();
    assert_eq!(read_exact(&mut c, 9).await, b"#ASD#10\r\n");
    c.write_all(b"#P#\r\n").await.unwrap();
    assert_eq!(read_exact(&mut c, 6).await, b"#AP#\r\n");
    assert_eq!(stored(&store).await, 1);
}

#[actix_rt::test]
async fn osmand_over_http() {
    let store = Store::new(Backend::Sqlite, false).await;
    let node = store.start().await;
    let api = &node.api;
    let admin = api.login("admin", "demo-admin").await;
    let vehicle_id = vehicle(api, &admin, "osmand", "123456").await;
    let secs = now_ms() / 1000 - 120;

    // The query form, speed in knots.
    let q = format!("/api/trackers/osmand?id=123456&lat=55.75&lon=37.6&timestamp={secs}&speed=10&bearing=90&batt=87");
    let (s, body) = api.get_text(&q).await;
    assert_eq!(s, 200, "{body}");
    // An unknown device: 400, as Traccar answers.
    let (s, body) = api
        .get(
            &format!("/api/trackers/osmand?id=999999&lat=55.75&lon=37.6&timestamp={secs}"),
            None,
        )
        .await;
    assert_eq!((s, body["code"].clone()), (400, json!("unknown_device")), "{body}");
    // Not a report: 400 with the reason.
    let (s, body) = api.get("/api/trackers/osmand?lat=55.75", None).await;
    assert_eq!(s, 400, "{body}");
    // Traccar Client 9's JSON, speed in m/s.
    let at = jiff::Timestamp::from_millisecond(now_ms() - 60_000)
        .unwrap()
        .to_string();
    let report = json!({"device_id": "123456", "location": {"timestamp": at, "coords": {
        "latitude": 55.7505, "longitude": 37.6005, "speed": 5.0, "heading": 90.0, "accuracy": 8.0, "altitude": 150.0},
        "is_moving": true, "battery": {"level": 0.8, "is_charging": false}}});
    let (s, body) = api.post("/api/trackers/osmand", None, report).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(stored(&store).await, 2);

    let sup = api.login("supervisor", "demo-supervisor").await;
    let (_, fleet) = api.get("/api/supervisor/fleet", Some(&sup)).await;
    let pos: Value = fleet["positions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["vehicle_id"] == vehicle_id)
        .cloned()
        .expect("a position");
    assert_eq!(pos["lat"], 55.7505);
    assert!((pos["speed_kmh"].as_f64().unwrap() - 18.0).abs() < 1e-9, "{pos}");
    let (s, track) = api
        .get(&format!("/api/supervisor/vehicles/{vehicle_id}/track"), Some(&sup))
        .await;
    assert_eq!(s, 200, "{track}");
    assert_eq!(track["fixes"], 2);
    // Another organisation's id reads as not found.
    assert_eq!(
        api.get("/api/supervisor/vehicles/999999/track", Some(&sup)).await.0,
        404
    );
}

/// A value left out first and given next, on every connection of the pool: PostgreSQL takes
/// both (a statement first prepared with a NULL there must still take a number).
#[actix_rt::test]
async fn a_field_left_out_then_given_is_taken_postgres() {
    let store = Store::new(Backend::Postgres, false).await;
    let node = store.start().await;
    let admin = node.api.login("admin", "demo-admin").await;
    for i in 0..40 {
        let limit = if i % 2 == 0 { Value::Null } else { json!(70.5) };
        let (s, v) = node
            .api
            .post(
                "/api/admin/vehicles",
                Some(&admin),
                json!({"name": format!("Van {i}"), "speed_limit_kmh": limit}),
            )
            .await;
        assert_eq!(s, 201, "vehicle {i}: {v}");
    }
}

/// True if the peer closed within `within`.
async fn closed_within(conn: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 64];
    matches!(
        tokio::time::timeout(within, conn.read(&mut buf)).await,
        Ok(Ok(0)) | Ok(Err(_))
    )
}

/// Floods, as a stranger would send them: connections past the listener's cap are closed as
/// they come (and the slots come back); a login trickled a byte at a time is closed at the
/// login deadline, not kept alive by each byte; a megabyte of noise and a packet claiming four
/// gigabytes close their connections; a thousand reports from unknown ids are refused. The
/// registered device is heard after each.
#[actix_rt::test]
async fn floods_are_refused_and_the_device_still_heard() {
    let mut store = Store::new(Backend::Sqlite, false).await;
    let ports = with_trackers(&mut store);
    store.env.extend([
        ("HUB_TRACKERS__MAX_CONNECTIONS".to_string(), "10".to_string()),
        ("HUB_TRACKERS__LOGIN_SECS".to_string(), "2".to_string()),
    ]);
    let node = store.start().await;
    let admin = node.api.login("admin", "demo-admin").await;
    vehicle(&node.api, &admin, "teltonika", IMEI).await;
    vehicle(&node.api, &admin, "osmand", "flood-owner").await;
    let t0 = now_ms() - 600_000;
    let mut sent = 0usize;
    // The device connects, is heard and acknowledged: `sent` fixes in all so far.
    let port = ports.teltonika;
    let heard = move |n: usize| async move {
        let mut c = connect(port).await;
        c.write_all(&teltonika::imei_frame(IMEI)).await.unwrap();
        assert_eq!(read_exact(&mut c, 1).await, [0x01], "the device is let in");
        c.write_all(&teltonika::codec8(&[fix(t0 + n as i64 * 5_000, n, 30.0)]))
            .await
            .unwrap();
        assert_eq!(read_exact(&mut c, 4).await, teltonika::ack(1));
    };

    // Ten silent connections fill the listener; thirty more are closed at once.
    let mut silent = Vec::new();
    for _ in 0..10 {
        silent.push(connect(ports.teltonika).await);
    }
    // The listener has taken the ten (a closed one would read end of file at once).
    for c in &mut silent {
        assert!(!closed_within(c, Duration::from_millis(50)).await);
    }
    for _ in 0..30 {
        let mut c = connect(ports.teltonika).await;
        assert!(
            closed_within(&mut c, Duration::from_millis(1_500)).await,
            "a connection past the cap is closed before the login deadline"
        );
    }
    // The silent ones are closed at the login deadline and their slots come back.
    for c in &mut silent {
        assert!(closed(c).await, "a silent connection is closed");
    }
    heard(sent).await;
    sent += 1;

    // A Wialon login trickled a byte every half second: closed at the deadline (2 s), however
    // alive each byte makes it look.
    let mut c = connect(ports.wialon).await;
    let began = std::time::Instant::now();
    let mut cut = false;
    for b in b"#L#861230043907626;NA".iter().cycle().take(40) {
        if c.write_all(&[*b]).await.is_err() || closed_within(&mut c, Duration::from_millis(500)).await {
            cut = true;
            break;
        }
    }
    assert!(cut, "a trickled login is closed");
    assert!(began.elapsed() < Duration::from_secs(5), "closed at the login deadline");

    // Noise: a megabyte of bytes that are no hand-shake.
    let mut c = connect(ports.teltonika).await;
    let noise: Vec<u8> = (0..1 << 20)
        .map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let _ = c.write_all(&noise).await;
    assert!(closed(&mut c).await, "noise closes the connection");
    // A packet whose length says four gigabytes: closed without waiting for them.
    let mut c = connect(ports.teltonika).await;
    c.write_all(&teltonika::imei_frame(IMEI)).await.unwrap();
    assert_eq!(read_exact(&mut c, 1).await, [0x01]);
    c.write_all(&[0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0x08]).await.unwrap();
    assert!(closed(&mut c).await, "an impossible length closes the connection");
    heard(sent).await;
    sent += 1;

    // A thousand reports over HTTP from ids nobody registered, sixteen at a time: each refused
    // with 400; the owner's device is then taken.
    let secs = now_ms() / 1000 - 60;
    let api = &node.api;
    let mut codes = std::collections::BTreeMap::<u16, usize>::new();
    for round in 0..(1000 / 16 + 1) {
        let reports = (0..16).map(|i| async move {
            let path =
                format!("/api/trackers/osmand?id=stranger-{round}-{i}&lat=55.75&lon=37.6&timestamp={secs}&speed=10");
            api.get(&path, None).await.0
        });
        for s in futures_util::future::join_all(reports).await {
            *codes.entry(s).or_default() += 1;
        }
    }
    assert_eq!(codes.keys().copied().collect::<Vec<_>>(), vec![400], "{codes:?}");
    let (s, _) = api
        .get(
            &format!("/api/trackers/osmand?id=flood-owner&lat=55.75&lon=37.6&timestamp={secs}&speed=10"),
            None,
        )
        .await;
    assert_eq!(s, 200, "the owner's device is taken after the flood");
    heard(sent).await;
    sent += 1;
    assert_eq!(stored(&store).await, sent as i64 + 1);
}

/// The kinds of a vehicle's events, oldest first.
async fn event_kinds(api: &Api, sup: &str, vehicle_id: i64) -> Vec<(String, Value)> {
    let (s, events) = api
        .get(
            &format!("/api/supervisor/vehicle-events?vehicle_id={vehicle_id}"),
            Some(sup),
        )
        .await;
    assert_eq!(s, 200, "{events}");
    let mut v: Vec<(String, Value)> = events
        .as_array()
        .expect("events")
        .iter()
        .map(|e| (e["kind"].as_str().unwrap_or("").to_string(), e.clone()))
        .collect();
    v.reverse();
    v
}

/// Waits (up to 30 s) until the vehicle has `n` events of `kind`.
async fn until_told(api: &Api, sup: &str, vehicle_id: i64, kind: &str, n: usize) -> Vec<(String, Value)> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let kinds = event_kinds(api, sup, vehicle_id).await;
        if kinds.iter().filter(|(k, _)| k == kind).count() >= n {
            return kinds;
        }
        assert!(std::time::Instant::now() < deadline, "no {n} × {kind}: {kinds:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A tracker that goes quiet is told offline once, `vehicle_offline_secs` after it was last
/// heard, with the last fix before the silence; heard again, online. A node killed while the
/// tracker is quiet tells it when it starts again.
#[actix_rt::test]
async fn a_silent_tracker_is_told_offline_once_and_online_when_heard_again() {
    let mut store = Store::new(Backend::Sqlite, false).await;
    store
        .env
        .push(("HUB_VEHICLE_OFFLINE_SECS".to_string(), "5".to_string()));
    let mut node = store.start().await;
    let admin = node.api.login("admin", "demo-admin").await;
    let sup = node.api.login("supervisor", "demo-supervisor").await;
    let vehicle_id = vehicle(&node.api, &admin, "osmand", "quiet-1").await;
    let report = |secs: i64| format!("/api/trackers/osmand?id=quiet-1&lat=55.75&lon=37.6&timestamp={secs}&speed=0");
    let first = now_ms() / 1000 - 30;
    assert_eq!(node.api.get_text(&report(first)).await.0, 200);
    let kinds = until_told(&node.api, &sup, vehicle_id, "offline", 1).await;
    let offline = &kinds.iter().find(|(k, _)| k == "offline").unwrap().1;
    assert_eq!(offline["since"], first * 1000, "since the last fix before the silence");
    // Heard again (a fix older than "now" but newer than the last one): online, with the silence.
    assert_eq!(node.api.get_text(&report(first + 10)).await.0, 200);
    let kinds = until_told(&node.api, &sup, vehicle_id, "online", 1).await;
    let online = &kinds.iter().find(|(k, _)| k == "online").unwrap().1;
    assert_eq!(
        (online["since"].clone(), online["at"].clone()),
        (json!(first * 1000), json!((first + 10) * 1000))
    );
    assert_eq!(
        kinds.iter().filter(|(k, _)| k == "offline").count(),
        1,
        "told once: {kinds:?}"
    );

    // Quiet again, and the node killed before the time is up: the next start tells it.
    node.kill();
    let node = store.start().await;
    let sup = node.api.login("supervisor", "demo-supervisor").await;
    let kinds = until_told(&node.api, &sup, vehicle_id, "offline", 2).await;
    let last = &kinds.iter().rev().find(|(k, _)| k == "offline").unwrap().1;
    assert_eq!(last["since"], (first + 10) * 1000);
}

/// Two nodes: a tracker reports to node A, then (its connection moved) to node B, then goes
/// quiet. A's actor, whose timer comes first, sees B's fixes in the store and tells nothing;
/// the silence is told once, since B's last fix.
#[actix_rt::test]
async fn a_tracker_moved_to_another_node_is_not_told_offline_by_the_first() {
    let mut store = Store::new(Backend::Postgres, true).await;
    store
        .env
        .push(("HUB_VEHICLE_OFFLINE_SECS".to_string(), "5".to_string()));
    let a = store.start().await;
    let b = store.start().await;
    let admin = a.api.login("admin", "demo-admin").await;
    let sup = b.api.login("supervisor", "demo-supervisor").await;
    let vehicle_id = vehicle(&a.api, &admin, "osmand", "roaming-1").await;
    let report = |secs: i64| format!("/api/trackers/osmand?id=roaming-1&lat=55.75&lon=37.6&timestamp={secs}&speed=0");
    let first = now_ms() / 1000 - 30;
    assert_eq!(a.api.get_text(&report(first)).await.0, 200);
    // Two seconds apart: A's timer then comes two seconds before the silence is real.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(b.api.get_text(&report(first + 2)).await.0, 200);
    let kinds = until_told(&b.api, &sup, vehicle_id, "offline", 1).await;
    let offline: Vec<&Value> = kinds.iter().filter(|(k, _)| k == "offline").map(|(_, e)| e).collect();
    assert_eq!(offline.len(), 1, "{kinds:?}");
    assert_eq!(
        offline[0]["since"],
        (first + 2) * 1000,
        "since B's fix, not A's: {kinds:?}"
    );
}
