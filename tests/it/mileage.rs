//! A vehicle's mileage per day in and outside its driver's shift: a morning trip inside the
//! shift, an evening one outside it (a company car driven privately), both replayed over OsmAnd
//! the day before; the report splits the kilometres and counts the private trip.

use serde_json::json;

use crate::chat::OPERATOR2;
use crate::harness::*;

/// 100 m east, in degrees of longitude at the street's latitude.
const STEP_DEG: f64 = 0.1 / (111.195 * 0.562_805);

/// Yesterday, `h` hours into the UTC day, in milliseconds.
fn yesterday_at(h: f64) -> i64 {
    let now = jiff::Timestamp::now().as_millisecond();
    let day = now - now.rem_euclid(86_400_000) - 86_400_000;
    day + (h * 3_600_000.0) as i64
}

/// Twenty minutes along a street at 36 km/h (12 km; east, or west when `east` is -1), a fix
/// every 10 s, then five minutes standing (the trip ends after three).
async fn drive(api: &Api, device: &str, from_h: f64, lon0: f64, east: f64) {
    let t0 = yesterday_at(from_h);
    for i in 0..150i64 {
        let (kmh, step) = if i <= 120 { (36.0, i) } else { (0.0, 120) };
        let lon = lon0 + east * step as f64 * STEP_DEG;
        let q = format!(
            "/api/trackers/osmand?id={device}&lat=55.75&lon={lon:.6}&timestamp={}&speed={:.3}",
            t0 + i * 10_000,
            kmh / 1.852
        );
        let (s, body) = api.get_text(&q).await;
        assert_eq!(s, 200, "{body}");
    }
}

#[actix_rt::test]
async fn mileage_is_split_by_the_drivers_shift_and_evening_trips_are_private() {
    let store = Store::new(Backend::Sqlite, false).await;
    let node = store.start().await;
    let api = &node.api;
    let admin = api.login("admin", "demo-admin").await;
    let a = Some(admin.as_str());
    let (s, v) = api
        .post(
            "/api/admin/vehicles",
            a,
            json!({"name": "Служебная", "driver_id": OPERATOR2}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let vehicle = v["id"].as_i64().unwrap();
    let (s, d) = api
        .post(
            "/api/admin/trackers",
            a,
            json!({"protocol": "osmand", "unique_id": "company-car", "vehicle_id": vehicle}),
        )
        .await;
    assert_eq!(s, 201, "{d}");
    // To the office in the morning, and back in the evening.
    drive(api, "company-car", 10.0, 37.40, 1.0).await;
    drive(api, "company-car", 20.0, 37.40 + 120.0 * STEP_DEG, -1.0).await;
    let sup = api.login("supervisor", "demo-supervisor").await;
    let path = format!("/api/supervisor/vehicles/{vehicle}/mileage");

    // The driver has no shift yet: the kilometres, nothing judged.
    let (s, m) = api.get(&path, Some(&sup)).await;
    assert_eq!(s, 200, "{m}");
    assert_eq!(
        (m["shift"].clone(), m["km_outside"].clone()),
        (json!(false), json!(null)),
        "{m}"
    );
    let km = m["km"].as_f64().unwrap();
    assert!((23.0..=25.0).contains(&km), "two trips of 12 km: {m}");

    // Weekdays and weekends 9 to 18 UTC: the evening trip is outside it.
    let (s, c) = api
        .post(
            "/api/admin/desk/calendars",
            a,
            json!({"name": "Дневная смена", "timezone": "UTC", "week": {
                "mon": "09:00-18:00", "tue": "09:00-18:00", "wed": "09:00-18:00", "thu": "09:00-18:00",
                "fri": "09:00-18:00", "sat": "09:00-18:00", "sun": "09:00-18:00"}}),
        )
        .await;
    assert_eq!(s, 201, "{c}");
    let (s, e) = api
        .put(
            &format!("/api/admin/desk/people/{OPERATOR2}"),
            a,
            json!({"calendar_id": c["id"]}),
        )
        .await;
    assert_eq!(s, 204, "{e}");
    let (_, m) = api.get(&path, Some(&sup)).await;
    assert_eq!(m["shift"], true, "{m}");
    let day = m["days"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["trips"] == 2)
        .cloned()
        .unwrap_or_else(|| panic!("yesterday's two trips: {m}"));
    let (inside, outside) = (
        day["km_in_shift"].as_f64().unwrap(),
        day["km_outside"].as_f64().unwrap(),
    );
    assert!(
        (11.5..=12.5).contains(&inside) && (11.5..=12.5).contains(&outside),
        "{day}"
    );
    assert_eq!(day["private_trips"], 1, "{day}");
    assert_eq!(m["private_trips"], 1);
    // Any number is a moment: periods at the ends of time answer (with nothing in them).
    for q in [
        format!("{path}?to={}", i64::MIN),
        format!("{path}?from={}&to={}", i64::MAX, i64::MIN),
        format!("/api/supervisor/vehicles/{vehicle}/track?to={}", i64::MIN),
        format!("/api/supervisor/vehicles/{vehicle}/track?from={}", i64::MIN),
    ] {
        let (s, body) = api.get(&q, Some(&sup)).await;
        assert_eq!(s, 200, "{q}: {body}");
    }
    // A supervisor of another organisation, or an operator, sees none of it.
    let op = api.login("operator1", "demo-operator1").await;
    assert_eq!(api.get(&path, Some(&op)).await.0, 403);
    assert_eq!(
        api.get("/api/supervisor/vehicles/999999/mileage", Some(&sup)).await.0,
        404
    );
}
