//! A synthetic day of 50 vehicles, replayed over the real sockets (Teltonika over TCP for half,
//! OsmAnd over HTTP for the other half): the script that makes the day knows which trips, stops,
//! speeding and territory crossings it drove, and the hub's events must be exactly those. One
//! vehicle spends the day parked on the town's border, its position wandering ±30 m across it:
//! it raises nothing.

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use hub_trackers::{teltonika, Fix};

use crate::harness::*;

const VEHICLES: usize = 50;
/// The demo's town (a territory with a limit of 60 km/h): its eastern edge.
const EAST_EDGE: f64 = 37.95;
/// A fix counts as across an edge 50 m clear of it (the hub's margin): that much longitude here.
fn clear(lat: f64) -> f64 {
    50.5 / (111_195.0 * lat.to_radians().cos())
}

/// What the script drove, as the hub should tell it.
#[derive(Default, Debug)]
struct Expected {
    trips: Vec<(i64, i64)>,
    overspeed: Vec<i64>,
    /// When the vehicle was first clearly out of town, and first clearly back in.
    left: Vec<i64>,
    entered: Vec<i64>,
}

/// Writes a vehicle's day: parks and drives, a fix every 30 s parked and every 5 s driving.
struct Day {
    t: i64,
    lat: f64,
    lon: f64,
    fixes: Vec<Fix>,
    expected: Expected,
    trip_from: Option<i64>,
}

impl Day {
    fn new(t: i64, lat: f64, lon: f64) -> Self {
        Day {
            t,
            lat,
            lon,
            fixes: Vec::new(),
            expected: Expected::default(),
            trip_from: None,
        }
    }

    fn fix(&mut self, kmh: f64) {
        self.fixes.push(Fix {
            at: self.t,
            lat: self.lat,
            lon: self.lon,
            altitude: Some(150.0),
            course: Some(90.0),
            speed_kmh: Some(kmh),
            satellites: Some(9),
            accuracy: None,
            io: Default::default(),
        });
    }

    /// Parked for `mins` (every park here is longer than the three minutes a stop needs, so a
    /// trip under way ends as the park begins).
    fn park(&mut self, mins: i64) {
        if let Some(from) = self.trip_from.take() {
            self.expected.trips.push((from, self.t));
        }
        for _ in 0..mins * 2 {
            self.fix(0.0);
            self.t += 30_000;
        }
    }

    /// Drives east (`east` > 0) or west at `kmh` for `secs`, or until `until` says stop.
    fn drive(&mut self, kmh: f64, east: f64, secs: i64, until: impl Fn(&Day) -> bool) {
        self.trip_from.get_or_insert(self.t);
        let step = kmh / 3.6 * 5.0 / (111_195.0 * self.lat.to_radians().cos()) * east;
        let end = self.t + secs * 1_000;
        while self.t < end && !until(self) {
            self.fix(kmh);
            let margin = clear(self.lat);
            let was_out = self.lon > EAST_EDGE + margin;
            let was_in = self.lon < EAST_EDGE - margin;
            self.lon += step;
            self.t += 5_000;
            if !was_out && self.lon > EAST_EDGE + margin {
                self.expected.left.push(self.t);
            }
            if !was_in && self.lon < EAST_EDGE - margin && east < 0.0 {
                self.expected.entered.push(self.t);
            }
        }
    }
}

/// The script: each vehicle's fixes and what they should tell.
fn script(t0: i64) -> Vec<(Vec<Fix>, Expected)> {
    (0..VEHICLES)
        .map(|v| {
            if v == 0 {
                // Parked on the border for two hours, ±30 m of drift across it.
                let mut d = Day::new(t0, 55.75, EAST_EDGE);
                for i in 0..1_440 {
                    let wobble = ((i * 37) % 61) as f64 / 30.0 - 1.0;
                    d.lon = EAST_EDGE + wobble * 0.00048;
                    d.fix(0.0);
                    d.t += 5_000;
                }
                return (d.fixes, d.expected);
            }
            let mut d = Day::new(
                t0 + v as i64 * 7_000,
                55.55 + (v % 45) as f64 * 0.008,
                37.40 + (v % 7) as f64 * 0.05,
            );
            d.park(10);
            d.drive(50.0, 1.0, 360, |_| false);
            d.park(5);
            if v % 3 == 0 {
                // Two minutes at 80 in town, where the limit is 60: speeding, told once.
                d.expected.overspeed.push(d.t);
                d.drive(80.0, 1.0, 120, |_| false);
                d.drive(50.0, 1.0, 180, |_| false);
            } else {
                d.drive(50.0, 1.0, 300, |_| false);
            }
            d.park(4);
            if v % 2 == 0 {
                // Out of town and back, with a long stop out there.
                d.drive(55.0, 1.0, 7_200, |d| d.lon > EAST_EDGE + 0.02);
                d.park(20);
                d.drive(55.0, -1.0, 7_200, |d| d.lon < EAST_EDGE - 0.05);
                d.park(10);
            } else {
                d.park(10);
            }
            (d.fixes, d.expected)
        })
        .collect()
}

async fn send_teltonika(port: u16, imei: String, fixes: Vec<Fix>) {
    let mut c = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    c.write_all(&teltonika::imei_frame(&imei)).await.unwrap();
    let mut ok = [0u8; 1];
    c.read_exact(&mut ok).await.unwrap();
    assert_eq!(ok, [1], "{imei} accepted");
    for chunk in fixes.chunks(10) {
        c.write_all(&teltonika::codec8(chunk)).await.unwrap();
        let mut ack = [0u8; 4];
        c.read_exact(&mut ack).await.unwrap();
        assert_eq!(ack, teltonika::ack(chunk.len()));
    }
}

async fn send_osmand(api: &Api, id: String, fixes: Vec<Fix>) {
    for f in fixes {
        // OsmAnd gives speed in knots.
        let q = format!(
            "/api/trackers/osmand?id={id}&lat={}&lon={}&timestamp={}&speed={}&bearing=90&altitude=150",
            f.lat,
            f.lon,
            f.at,
            f.speed_kmh.unwrap_or(0.0) / 1.852
        );
        let (s, body) = api.get_text(&q).await;
        assert_eq!(s, 200, "{q}: {body}");
    }
}

fn within(at: i64, from: i64, mins: i64) -> bool {
    at >= from && at <= from + mins * 60_000
}

#[actix_rt::test]
async fn a_day_of_fifty_vehicles_tells_exactly_what_was_driven() {
    let mut store = Store::new(Backend::Sqlite, false).await;
    let port = free_port();
    store
        .env
        .push(("HUB_TRACKERS__TELTONIKA_LISTEN".into(), format!("127.0.0.1:{port}")));
    let node = store.start().await;
    let api = &node.api;
    let admin = api.login("admin", "demo-admin").await;
    let t0 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
        - 6 * 3_600_000;
    let day = script(t0);
    let mut ids = Vec::new();
    for v in 0..VEHICLES {
        let (protocol, unique) = if v < VEHICLES / 2 {
            ("teltonika", format!("3520000000{v:05}"))
        } else {
            ("osmand", format!("van-{v}"))
        };
        let (s, veh) = api
            .post("/api/admin/vehicles", Some(&admin), json!({"name": format!("Van {v}")}))
            .await;
        assert_eq!(s, 201, "{veh}");
        let id = veh["id"].as_i64().unwrap();
        let (s, d) = api
            .post(
                "/api/admin/trackers",
                Some(&admin),
                json!({"protocol": protocol, "unique_id": unique, "vehicle_id": id}),
            )
            .await;
        assert_eq!(s, 201, "{d}");
        ids.push((id, protocol, unique));
    }
    let mut sends = Vec::new();
    for ((_, protocol, unique), (fixes, _)) in ids.iter().zip(&day) {
        let (protocol, unique, fixes) = (*protocol, unique.clone(), fixes.clone());
        let api = Api::new(api.base.clone());
        sends.push(actix_rt::spawn(async move {
            if protocol == "teltonika" {
                send_teltonika(port, unique, fixes).await;
            } else {
                send_osmand(&api, unique, fixes).await;
            }
        }));
    }
    for s in sends {
        s.await.expect("a vehicle's day sent");
    }
    let total: usize = day.iter().map(|(f, _)| f.len()).sum();
    assert_eq!(
        crate::trackers::stored(&store).await as usize,
        total,
        "every fix stored"
    );

    let sup = api.login("supervisor", "demo-supervisor").await;
    for (v, ((id, protocol, _), (_, want))) in ids.iter().zip(&day).enumerate() {
        let (s, events) = api
            .get(&format!("/api/supervisor/vehicle-events?vehicle_id={id}"), Some(&sup))
            .await;
        assert_eq!(s, 200, "{events}");
        let mut events: Vec<Value> = events.as_array().unwrap().clone();
        events.reverse();
        let of = |kind: &str| -> Vec<Value> { events.iter().filter(|e| e["kind"] == kind).cloned().collect() };
        let at = |e: &Value| e["at"].as_i64().unwrap();
        let who = format!("vehicle {v} ({protocol}): {events:?}");
        let started: Vec<i64> = of("trip_started").iter().map(at).collect();
        let ended: Vec<(i64, i64)> = of("trip_ended")
            .iter()
            .map(|e| (e["started"].as_i64().unwrap(), at(e)))
            .collect();
        assert_eq!(ended, want.trips, "trips: {who}");
        assert_eq!(
            started,
            want.trips.iter().map(|t| t.0).collect::<Vec<_>>(),
            "trip starts: {who}"
        );
        let over: Vec<i64> = of("overspeed").iter().map(at).collect();
        assert_eq!(over, want.overspeed, "speeding: {who}");
        for e in of("overspeed") {
            assert_eq!(e["limit_kmh"], 60.0, "{who}");
        }
        let left: Vec<i64> = of("territory_left").iter().map(at).collect();
        let entered: Vec<i64> = of("territory_entered").iter().map(at).collect();
        assert_eq!(left.len(), want.left.len(), "left town: {who}");
        assert_eq!(entered.len(), want.entered.len(), "entered town: {who}");
        // Told once the other side held for the dwell (two minutes), at the fix that showed it.
        for (got, from) in left.iter().zip(&want.left).chain(entered.iter().zip(&want.entered)) {
            assert!(
                within(*got, *from + 120_000, 1),
                "a crossing told at {got}, {from} + 2 min: {who}"
            );
        }
        assert!(of("frozen").is_empty(), "{who}");
        assert_eq!(
            events.len(),
            2 * want.trips.len() + want.overspeed.len() + want.left.len() + want.entered.len(),
            "nothing else: {who}"
        );
    }
    // The script drove what the checks above count on: crossings, speeding, the wanderer.
    assert!(day.iter().filter(|(_, e)| !e.left.is_empty()).count() >= 20);
    assert!(day.iter().filter(|(_, e)| !e.overspeed.is_empty()).count() >= 15);
    assert!(day[0].1.trips.is_empty() && day[0].0.len() == 1_440);
}
