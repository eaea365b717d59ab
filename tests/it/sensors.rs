//! A freezer's temperature above its threshold for the set time opens exactly one request for
//! its site, with its SLA running; the same readings sent again (a tracker emptying its memory
//! after a lost acknowledgement), or after a kill -9, open nothing more.

use serde_json::{json, Value};

use crate::desk::{id, set_up, sla_timer};
use crate::harness::*;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A minute-by-minute day of the freezer's unit: -18 °C, then warm (−8 °C) for 15 minutes.
fn readings(t0: i64) -> Vec<(i64, f64)> {
    (0..40)
        .map(|m| (t0 + m * 60_000, if (10..25).contains(&m) { -8.0 } else { -18.0 }))
        .collect()
}

async fn send(api: &Api, readings: &[(i64, f64)]) {
    for (at, temp) in readings {
        let q = format!("/api/trackers/osmand?id=freezer-1&lat=55.76&lon=37.61&timestamp={at}&speed=0&temp={temp}");
        let (s, body) = api.get_text(&q).await;
        assert_eq!(s, 200, "{body}");
    }
}

async fn requests_for(api: &Api, token: &str, site: i64) -> Vec<Value> {
    let (s, list) = api.get("/api/desk/requests?all=true", Some(token)).await;
    assert_eq!(s, 200, "{list}");
    list.as_array()
        .unwrap()
        .iter()
        .filter(|r| r["site_id"] == site)
        .cloned()
        .collect()
}

async fn one_request_per_excursion(backend: Backend) {
    let store = Store::new(backend, false).await;
    let mut node = store.start().await;
    let sla = json!({"name": "Freezers", "kind": "sla", "targets": {"resolution_mins": 240}});
    let d = set_up(&node.api, sla).await;
    let a = Some(d.admin.as_str());
    let unit = id(&node
        .api
        .post("/api/admin/vehicles", a, json!({"name": "Морозильник №2"}))
        .await);
    id(&node
        .api
        .post(
            "/api/admin/trackers",
            a,
            json!({"protocol": "osmand", "unique_id": "freezer-1", "vehicle_id": unit}),
        )
        .await);
    let (s, sensor) = node
        .api
        .post(
            &format!("/api/admin/vehicles/{unit}/sensors"),
            a,
            json!({"name": "Температура", "reading": "temp", "bound": "above", "threshold": -15, "for_secs": 600,
                   "site_id": d.tverskaya, "type_id": d.incident, "priority": "critical"}),
        )
        .await;
    assert_eq!(s, 201, "{sensor}");
    // A sensor for a site of another organisation, or a type that is not there, is refused.
    let (s, body) = node
        .api
        .post(
            &format!("/api/admin/vehicles/{unit}/sensors"),
            a,
            json!({"name": "x", "reading": "temp", "bound": "sideways", "threshold": 1, "for_secs": 60}),
        )
        .await;
    assert_eq!((s, body["field"].clone()), (400, json!("bound")), "{body}");

    let t0 = now_ms() - 3 * 3_600_000;
    let day = readings(t0);
    send(&node.api, &day).await;
    let sup = node.api.login("supervisor", "demo-supervisor").await;
    let made = requests_for(&node.api, &sup, d.tverskaya).await;
    assert_eq!(made.len(), 1, "one request for the excursion: {made:?}");
    let r = &made[0];
    assert_eq!(r["priority"], "critical");
    assert!(
        r["subject"]
            .as_str()
            .unwrap()
            .contains("Морозильник №2: Температура -8 > -15"),
        "{r}"
    );
    let rid = r["id"].as_i64().unwrap();
    let (_, card) = node.api.get(&format!("/api/desk/requests/{rid}"), Some(&sup)).await;
    assert!(sla_timer(&card, "resolution").is_some(), "its SLA runs: {card}");
    // The events tell the excursion and its end, each once.
    let (_, events) = node
        .api
        .get(&format!("/api/supervisor/vehicle-events?vehicle_id={unit}"), Some(&sup))
        .await;
    let kinds: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["sensor_back", "sensor_excursion"], "{events}");

    // The tracker sends its memory again: nothing more.
    send(&node.api, &day).await;
    assert_eq!(requests_for(&node.api, &sup, d.tverskaya).await.len(), 1);
    // Killed and started again, then the same again: nothing more.
    node.kill();
    let node = store.start().await;
    send(&node.api, &day).await;
    assert_eq!(requests_for(&node.api, &sup, d.tverskaya).await.len(), 1);
    // A new excursion is a new request.
    let later: Vec<(i64, f64)> = readings(t0 + 3_600_000);
    send(&node.api, &later).await;
    assert_eq!(requests_for(&node.api, &sup, d.tverskaya).await.len(), 2);
}

#[actix_rt::test]
async fn one_request_per_excursion_sqlite() {
    one_request_per_excursion(Backend::Sqlite).await;
}

#[actix_rt::test]
async fn one_request_per_excursion_postgres() {
    one_request_per_excursion(Backend::Postgres).await;
}

/// An excursion stored but whose request was not opened (a crash between the two): the next
/// start opens it, once.
#[actix_rt::test]
async fn an_excursion_owed_a_request_gets_it_at_the_next_start() {
    let store = Store::new(Backend::Sqlite, false).await;
    let mut node = store.start().await;
    let d = set_up(&node.api, Value::Null).await;
    let a = Some(d.admin.as_str());
    let unit = id(&node.api.post("/api/admin/vehicles", a, json!({"name": "Фура"})).await);
    id(&node
        .api
        .post(
            "/api/admin/trackers",
            a,
            json!({"protocol": "osmand", "unique_id": "freezer-1", "vehicle_id": unit}),
        )
        .await);
    id(&node
        .api
        .post(
            &format!("/api/admin/vehicles/{unit}/sensors"),
            a,
            json!({"name": "Рефрижератор", "reading": "temp", "bound": "above", "threshold": -15, "for_secs": 600,
                   "site_id": d.tverskaya, "type_id": d.incident}),
        )
        .await);
    send(&node.api, &readings(now_ms() - 3 * 3_600_000)).await;
    let sup = node.api.login("supervisor", "demo-supervisor").await;
    assert_eq!(requests_for(&node.api, &sup, d.tverskaya).await.len(), 1);
    node.kill();
    // As if the crash came between the excursion and its request: the excursion is stored
    // without one (the request already there stands for an unrelated one).
    store.exec("UPDATE vehicle_events SET request_id = NULL").await;
    let node = store.start().await;
    let mut n = 0;
    for _ in 0..100 {
        n = requests_for(&node.api, &sup, d.tverskaya).await.len();
        if n > 1 {
            break;
        }
        actix_rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(n, 2, "the owed one opened at the start, once");
    assert_eq!(
        store
            .scalar("SELECT COUNT(*) FROM vehicle_events WHERE request_id IS NULL AND kind = 'sensor_excursion'")
            .await,
        0
    );
}
