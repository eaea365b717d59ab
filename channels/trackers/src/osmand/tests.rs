use super::*;

const NOW: i64 = 1_765_000_000_000;

fn one(r: Result<Report, OsmAndError>) -> (String, Fix) {
    let r = r.unwrap();
    assert_eq!(r.fixes.len(), 1, "{r:?}");
    (r.device, r.fixes.into_iter().next().unwrap())
}

// The query forms below are those Traccar's decoder tests give, as OsmAnd and Traccar Client
// send them.

#[test]
fn the_query_form_in_every_spelling_of_its_moment() {
    let (d, f) = one(query(
        "id=902064&lat=42.06288&lon=-88.23412&timestamp=2016-01-27T18%3A55%3A47Z&hdop=6.0&altitude=224.0&speed=0.0",
        NOW,
    ));
    assert_eq!(d, "902064");
    assert_eq!(
        (f.lat, f.lon, f.altitude, f.accuracy),
        (42.06288, -88.23412, Some(224.0), Some(6.0))
    );
    assert_eq!(
        f.at,
        "2016-01-27T18:55:47Z"
            .parse::<jiff::Timestamp>()
            .unwrap()
            .as_millisecond()
    );
    let (_, f) = one(query(
        "id=902064&lat=42.06288&lon=-88.23412&timestamp=1442068686579&hdop=6.0",
        NOW,
    ));
    assert_eq!(f.at, 1_442_068_686_579, "milliseconds");
    let (_, f) = one(query("id=123456&timestamp=1377177267&lat=60.0&lon=30.0", NOW));
    assert_eq!(f.at, 1_377_177_267_000, "seconds");
    let (d, f) = one(query(
        "lat=49.60688&lon=6.15788&timestamp=2014-06-04+09%3A10%3A11&altitude=384.7&speed=0.0&id=353861053849681",
        NOW,
    ));
    assert_eq!(d, "353861053849681");
    assert_eq!(
        f.at,
        "2014-06-04T09:10:11Z"
            .parse::<jiff::Timestamp>()
            .unwrap()
            .as_millisecond()
    );
    let (_, f) = one(query(
        "id=861001000719969&lat=41.666667&lon=-0.883333&altitude=350.059479&speed=0.000000&batt=87",
        NOW,
    ));
    assert_eq!(f.at, NOW, "no moment: the server's");
    assert_eq!(f.io.get("batt"), Some(&Reading::Number(87.0)));
}

#[test]
fn speed_is_knots_and_other_names_are_understood() {
    let (_, f) = one(query(
        "id=123456789012345&timestamp=1504763810&lat=40.7232948571&lon=-74.0061408571&bearing=7.19889788244&speed=40&ignition=true&rpm=933&fuel=24",
        NOW,
    ));
    assert!((f.speed_kmh.unwrap() - 74.08).abs() < 1e-9, "40 knots");
    assert_eq!(f.course, Some(7.19889788244));
    assert_eq!(f.io.get("ignition"), Some(&Reading::Flag(true)));
    assert_eq!(f.io.get("rpm"), Some(&Reading::Number(933.0)));
    let (d, f) = one(query(
        "lat=60.0&lon=30.0&speed=0.0&heading=0.0&vacc=0&hacc=0&altitude=0&deviceid=123456",
        NOW,
    ));
    assert_eq!((d.as_str(), f.course, f.accuracy), ("123456", Some(0.0), Some(0.0)));
    let (_, f) = one(query("id=123456&timestamp=1377177267&location=60.0,30.0", NOW));
    assert_eq!((f.lat, f.lon), (60.0, 30.0));
}

#[test]
fn a_report_without_a_position_or_a_device() {
    let r = query(
        "id=123456&timestamp=1377177267&cell=257,02,16,2224&cell=257,02,16,2223,-90&wifi=00-14-22-01-23-45,-80",
        NOW,
    )
    .unwrap();
    assert_eq!((r.device.as_str(), r.fixes.len()), ("123456", 0));
    assert_eq!(
        query("timestamp=1377177267&lat=60.0&lon=30.0", NOW),
        Err(OsmAndError::NoDevice)
    );
    assert_eq!(query("id=1&lat=91&lon=30", NOW), Err(OsmAndError::Range("lat")));
    assert_eq!(query("id=1&lat=60&lon=NaN", NOW), Err(OsmAndError::Number("lon")));
    assert_eq!(
        query("id=1&lat=60&lon=30&timestamp=yesterday", NOW),
        Err(OsmAndError::Time)
    );
    let flood: String = (0..500).map(|i| format!("&k{i}=v")).collect();
    let (_, f) = one(query(&format!("id=1&lat=1&lon=1{flood}"), NOW));
    assert_eq!(f.io.len(), 50, "a flood of readings is cut");
}

// Traccar Client 9's JSON, as Traccar's decoder tests give it.

#[test]
fn the_json_of_traccar_client_9() {
    let body = r#"{"location":{"timestamp":"2025-06-15T13:45:12.862Z","coords":{"latitude":37.4219983,"longitude":-122.084,"accuracy":5,"speed":0,"heading":-1,"altitude":5},"is_moving":false,"odometer":0,"event":"motionchange","battery":{"level":1,"is_charging":false},"activity":{"type":"still"},"extras":{},"_":"&id=48241179&lat=37.4219983&lon=-122.084&timestamp=2025-06-15T13:45:12.862Z&"},"device_id":"48241179"}"#;
    let (d, f) = one(json(body, NOW));
    assert_eq!(d, "48241179");
    assert_eq!(
        (f.lat, f.lon, f.accuracy, f.altitude),
        (37.4219983, -122.084, Some(5.0), Some(5.0))
    );
    assert_eq!(f.course, None, "heading -1: unknown");
    assert_eq!(
        f.at,
        "2025-06-15T13:45:12.862Z"
            .parse::<jiff::Timestamp>()
            .unwrap()
            .as_millisecond()
    );
    assert_eq!(f.io.get("batt"), Some(&Reading::Number(100.0)));
    assert_eq!(f.io.get("motion"), Some(&Reading::Flag(false)));
    assert_eq!(f.io.get("event"), Some(&Reading::Text("motionchange".into())));
    let moving = r#"{"location":{"event":"motionchange","is_moving":false,"uuid":"0e9a2473-a9a7-4c00-997b-fb97d2154e75","timestamp":"2021-07-21T08:06:34.444Z","odometer":0,"coords":{"latitude":-6.1148096,"longitude":106.6837015,"accuracy":3.8,"speed":18.67,"speed_accuracy":0.26,"heading":63,"heading_accuracy":0.28,"altitude":35.7,"altitude_accuracy":3.8},"activity":{"type":"still","confidence":100},"battery":{"is_charging":false,"level":0.79},"extras":{}},"device_id":"8737767034"}"#;
    let (_, f) = one(json(moving, NOW));
    assert!((f.speed_kmh.unwrap() - 67.212).abs() < 1e-9, "m/s to km/h");
    assert_eq!((f.course, f.io.get("batt")), (Some(63.0), Some(&Reading::Number(79.0))));
    // An iOS simulator's: unknown speed and battery, a mock position, fields the hub does not know.
    let ios = r#"{"location":{"extras":{},"mock":true,"coords":{"speed_accuracy":-1,"speed":-1,"longitude":-122.406417,"ellipsoidal_altitude":0,"floor":null,"heading_accuracy":-1,"latitude":37.785834000000001,"accuracy":5,"altitude_accuracy":-1,"altitude":0,"heading":-1},"is_moving":false,"age":188,"odometer":0,"uuid":"2FB04C65-99CF-42AB-8DD3-EBCB4B108BF8","event":"motionchange","battery":{"level":-1,"is_charging":false},"activity":{"type":"unknown","confidence":100},"timestamp":"2025-05-09T04:11:30.579Z"},"device_id":"658765"}"#;
    let (_, f) = one(json(ios, NOW));
    assert_eq!((f.speed_kmh, f.io.get("batt")), (None, None));
}

#[test]
fn json_that_is_not_a_report_is_refused_with_the_reason() {
    assert!(matches!(json("{", NOW), Err(OsmAndError::Json(_))));
    assert_eq!(json(r#"{"location":{}}"#, NOW), Err(OsmAndError::NoDevice));
    assert_eq!(
        json(r#"{"device_id":"7","location":{"coords":{}}}"#, NOW),
        Err(OsmAndError::Number("coords"))
    );
    assert_eq!(
        json(
            r#"{"device_id":"7","location":{"coords":{"latitude":1,"longitude":200}}}"#,
            NOW
        ),
        Err(OsmAndError::Range("lon"))
    );
    let two = r#"{"device_id":7,"location":[{"coords":{"latitude":1,"longitude":2}},{"coords":{"latitude":3,"longitude":4}}]}"#;
    let r = json(two, NOW).unwrap();
    assert_eq!((r.device.as_str(), r.fixes.len()), ("7", 2), "a batch of positions");
}
