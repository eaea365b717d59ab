//! The demo's vehicles: Иван's van with an OsmAnd tracker (`demo-van`) and the morning's drive
//! along Tverskaya already on its track, and a parked car with a Teltonika tracker; a newcomer
//! opens /map as the supervisor and sees them, and moves the van by reporting a position:
//! `curl "http://localhost:8080/api/trackers/osmand?id=demo-van&lat=55.765&lon=37.605&speed=20"`.

use hub_actors::model::fleet::Fix;
use hub_actors::model::now_millis;
use hub_actors::store::fleet::{FixRow, VehicleIn};
use hub_actors::store::Store;
use hub_actors::Result;
use hub_channels::trackers::store::DeviceStore;

pub const DEMO_VAN: &str = "demo-van";
pub const DEMO_CAR_IMEI: &str = "359633100000001";

pub async fn seed(store: &Store, org: i64, engineer: i64) -> Result<()> {
    let van = store
        .create_vehicle(
            org,
            &VehicleIn {
                name: "Газель Ивана".into(),
                plate: "А123ВС77".into(),
                driver_id: Some(engineer),
                speed_limit_kmh: Some(90.0),
            },
        )
        .await?;
    store.add_tracker_device(org, "osmand", DEMO_VAN, van.id).await?;
    let car = store
        .create_vehicle(
            org,
            &VehicleIn {
                name: "Лада, дежурная".into(),
                plate: "О777ОО77".into(),
                driver_id: None,
                speed_limit_kmh: None,
            },
        )
        .await?;
    store
        .add_tracker_device(org, "teltonika", DEMO_CAR_IMEI, car.id)
        .await?;
    // Twenty minutes ago the van drove down Tverskaya towards the Kremlin, a fix every 10 s.
    let now = now_millis();
    let fix = |i: i64, lat: f64, lon: f64, kmh: f64| FixRow {
        vehicle_id: van.id,
        fix: Fix {
            at: now - 20 * 60_000 + i * 10_000,
            lat,
            lon,
            speed_kmh: Some(kmh),
            course: Some(200.0),
            altitude: None,
            satellites: Some(10),
            accuracy_m: Some(5.0),
            io: Default::default(),
        },
        late: false,
        received_at: now,
    };
    let mut rows: Vec<FixRow> = (0..60)
        .map(|i| fix(i, 55.7700 - i as f64 * 0.00020, 37.5960 + i as f64 * 0.00016, 35.0))
        .collect();
    let parked = FixRow {
        vehicle_id: car.id,
        ..fix(0, 55.7520, 37.6175, 0.0)
    };
    rows.push(parked);
    store.write_tracks(&rows, &[]).await
}
