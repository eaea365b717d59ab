//! Vehicles benchmark: HUB_BENCH_VEHICLES vehicles (default 10,000) driving among
//! HUB_BENCH_POLYGONS territories (default 1,000, a 40 × 25 grid of 5 km squares, each with a
//! speed limit) around Moscow.
//!
//! Prints:
//! - the rules alone (`model::fleet`, one thread): fixes a second through the filter, motion,
//!   speeding and every territory;
//! - the running hub over real sockets (a `hub serve` process, its Teltonika listener, one TCP
//!   connection a vehicle), on SQLite and PostgreSQL (HUB_BENCH_BACKENDS):
//!   - fix to map, steady: every vehicle reporting its position now, HUB_BENCH_RATE fixes a
//!     second in all (default 5,000: each every two seconds), from a fix's moment to its
//!     `vehicle_moved` event on a supervisor's map socket, p50/p99/max, for HUB_BENCH_SECS
//!     seconds (default 20); and the hub's RSS growth per vehicle then (actor loaded,
//!     connection open, reporting);
//!   - the flood: every vehicle sending packets of 10 fixes as fast as they are acknowledged
//!     (which the hub does once they are stored): fixes stored a second, and the RSS after;
//! - the store's bytes per fix.
//!
//! The aim is ≥ 25,000 fixes a second on 2 cores. For scale: Traccar's documentation reports
//! about 8,000 a second on bigger machines; Tile38 about 22,000 SETs a second on one core with
//! no fences. Neither runs here (no Java, no Go toolchain offline); their figures are quoted.
//!
//! `cargo bench --bench fleet`.

#[path = "common.rs"]
mod common;
#[path = "../it/harness.rs"]
mod harness;

use common::{env_or, now_ms, percentile, raise_fd_limit};

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use harness::{Backend, Store};
use hub_actors::model::fleet::{Fix, Rules, Territories, Territory, Vehicle};
use hub_actors::model::geo::Area;
use hub_trackers::teltonika;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The grid of territories: west, south, and a square's side in degrees.
const WEST: f64 = 36.8;
const SOUTH: f64 = 55.2;
const SIDE: f64 = 0.05;
const COLUMNS: usize = 40;

fn polygon(i: usize) -> serde_json::Value {
    let (x, y) = (WEST + (i % COLUMNS) as f64 * SIDE, SOUTH + (i / COLUMNS) as f64 * SIDE);
    json!({"type": "Polygon", "coordinates": [[[x, y], [x + SIDE, y], [x + SIDE, y + SIDE], [x, y + SIDE], [x, y]]]})
}

/// Where vehicle `v` is at its `n`th fix: a steady drive east and north across the grid at
/// about 50 km/h (14 m a second), from a start of its own; every tenth vehicle at 80.
struct Drive {
    lat: f64,
    lon: f64,
    kmh: f64,
}

fn drive(v: usize, n: usize, rows: usize) -> Drive {
    let kmh = if v % 10 == 0 { 80.0 } else { 50.0 };
    let step = kmh / 3.6 / 111_000.0; // degrees a second, roughly
    let span_lon = COLUMNS as f64 * SIDE;
    let span_lat = rows as f64 * SIDE;
    let start_lon = (v * 7919 % 10_000) as f64 / 10_000.0 * span_lon;
    let start_lat = (v * 104_729 % 10_000) as f64 / 10_000.0 * span_lat;
    // Round and round inside the grid: back at the west edge after the east one, a jump the
    // filter would refuse, so the drive turns back instead (a zig-zag).
    let fold = |x: f64, span: f64| {
        let m = x % (2.0 * span);
        if m < span {
            m
        } else {
            2.0 * span - m
        }
    };
    Drive {
        lon: WEST + fold(start_lon + n as f64 * step, span_lon),
        lat: SOUTH + fold(start_lat + n as f64 * step * 0.5, span_lat),
        kmh,
    }
}

fn core_fix(at: i64, d: &Drive) -> Fix {
    Fix {
        at,
        lat: d.lat,
        lon: d.lon,
        speed_kmh: Some(d.kmh),
        course: Some(60.0),
        altitude: Some(150.0),
        satellites: Some(9),
        accuracy_m: None,
        io: Default::default(),
    }
}

fn tracker_fix(at: i64, d: &Drive) -> hub_trackers::Fix {
    hub_trackers::Fix {
        at,
        lat: d.lat,
        lon: d.lon,
        altitude: Some(150.0),
        course: Some(60.0),
        speed_kmh: Some(d.kmh),
        satellites: Some(9),
        accuracy: None,
        io: Default::default(),
    }
}

fn imei(v: usize) -> String {
    format!("35{:013}", v)
}

fn main() {
    raise_fd_limit();
    let vehicles = env_or("HUB_BENCH_VEHICLES", 10_000);
    let polygons = env_or("HUB_BENCH_POLYGONS", 1_000);
    let secs = env_or("HUB_BENCH_SECS", 20) as u64;
    let rate = env_or("HUB_BENCH_RATE", 5_000);
    println!("hub vehicles benchmark: {vehicles} vehicles, {polygons} territories");
    rules_alone(vehicles, polygons);
    let backends = std::env::var("HUB_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    for name in backends.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let backend = match name {
            "sqlite" => Backend::Sqlite,
            "postgres" => Backend::Postgres,
            other => panic!("unknown backend {other}"),
        };
        actix_rt::System::new().block_on(over_sockets(backend, name, vehicles, polygons, secs, rate));
    }
}

fn rules_alone(vehicles: usize, polygons: usize) {
    let rows = polygons.div_ceil(COLUMNS);
    let territories: Vec<Territory> = (0..polygons)
        .map(|i| Territory {
            id: i as i64 + 1,
            area: Area::from_geojson("shape", &polygon(i)).expect("shape"),
            speed_limit_kmh: Some(60.0),
        })
        .collect();
    let rules = Rules::standard();
    let territories = Territories::new(territories, rules.hysteresis.margin_m);
    let mut fleet: Vec<Vehicle> = (0..vehicles).map(|_| Vehicle::default()).collect();
    let t0 = 1_765_000_000_000i64;
    let rounds = 60;
    let started = Instant::now();
    let mut told = 0usize;
    for n in 0..rounds {
        for (v, state) in fleet.iter_mut().enumerate() {
            let f = core_fix(t0 + n as i64 * 1_000, &drive(v, n, rows));
            told += state.take(&f, f.at, Some(90.0), &territories, &rules).1.len();
        }
    }
    let took = started.elapsed().as_secs_f64();
    let fixes = rounds * vehicles;
    println!(
        "rules alone (one thread): {:.0} fixes/s ({fixes} fixes, {told} events told)",
        fixes as f64 / took
    );
}

/// Connects as vehicle `v`'s tracker and says its IMEI; as a device does, tries again when the
/// connection is refused or closed (ten thousand at once wait their turn for the store).
async fn connect(port: u16, v: usize) -> tokio::net::TcpStream {
    loop {
        if let Ok(mut c) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
            let mut ok = [0u8; 1];
            if c.write_all(&teltonika::imei_frame(&imei(v))).await.is_ok() && c.read_exact(&mut ok).await.is_ok() {
                assert_eq!(ok, [1], "device {v} refused");
                return c;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn hub_rss_kb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(f64::NAN)
}

async fn set_up(store: &Store, vehicles: usize, polygons: usize) {
    let mut c = store.connect().await;
    use sqlx::Executor;
    let mut tx = sqlx::Connection::begin(&mut c).await.expect("tx");
    for i in 0..polygons {
        sqlx::query("INSERT INTO territories (org_id, name, shape, speed_limit_kmh) VALUES (1, $1, $2, 60)")
            .bind(format!("Grid {i}"))
            .bind(polygon(i).to_string())
            .execute(&mut *tx)
            .await
            .expect("territory");
    }
    for v in 0..vehicles {
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO vehicles (org_id, name, plate, speed_limit_kmh) VALUES (1, $1, '', 90) RETURNING id",
        )
        .bind(format!("Van {v}"))
        .fetch_one(&mut *tx)
        .await
        .expect("vehicle");
        sqlx::query(
            "INSERT INTO tracker_devices (org_id, protocol, unique_id, vehicle_id) VALUES (1, 'teltonika', $1, $2)",
        )
        .bind(imei(v))
        .bind(id)
        .execute(&mut *tx)
        .await
        .expect("device");
    }
    tx.commit().await.expect("commit");
    let _ = c.execute("SELECT 1").await;
}

async fn over_sockets(backend: Backend, name: &str, vehicles: usize, polygons: usize, secs: u64, rate: usize) {
    let mut store = Store::new(backend, false).await;
    let port = harness::free_port();
    store.env.extend([
        (
            "HUB_TRACKERS__TELTONIKA_LISTEN".to_string(),
            format!("127.0.0.1:{port}"),
        ),
        ("HUB_LOG".to_string(), "error".to_string()),
    ]);
    let first = store.start().await;
    set_up(&store, vehicles, polygons).await;
    // Started again, so the territories are read fresh and the demo's seeding is done.
    drop(first);
    let node = store.start().await;
    let pid = node.pid();
    let rows = polygons.div_ceil(COLUMNS);
    let rss_before = hub_rss_kb(pid);

    // Fix to map, at a steady rate: every vehicle reports its position now, spread evenly.
    let sup = node.api.login("supervisor", "demo-supervisor").await;
    let (_, mut ws) = awc::Client::new()
        .ws(node.api.ws_url(&format!("/ws/fleet?token={sup}")))
        .connect()
        .await
        .expect("console socket");
    let lat = Arc::new(std::sync::Mutex::new(Vec::<(f64, f64)>::new()));
    let listening = {
        let lat = lat.clone();
        actix_rt::spawn(async move {
            while let Some(Ok(frame)) = ws.next().await {
                match frame {
                    awc::ws::Frame::Text(t) => {
                        let arrived = now_ms();
                        let v: serde_json::Value = serde_json::from_slice(&t).unwrap_or_default();
                        if v["type"] == "vehicle_moved" {
                            if let Some(at) = v["fix_at"].as_f64() {
                                lat.lock().unwrap().push((at, arrived - at));
                            }
                        }
                    }
                    awc::ws::Frame::Ping(p) => {
                        let _ = ws.send(awc::ws::Message::Pong(p)).await;
                    }
                    _ => {}
                }
            }
        })
    };
    let senders = vehicles;
    let period = Duration::from_secs_f64(senders as f64 / rate as f64);
    let phase_start = now_ms();
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for v in 0..senders {
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            let mut c = connect(port, v).await;
            // Spread over the period, so the rate is steady.
            tokio::time::sleep(period.mul_f64(v as f64 / senders as f64)).await;
            let mut tick = tokio::time::interval(period);
            // A tracker reports on its own clock: a late answer delays the next report, never
            // makes two at once.
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut ack = [0u8; 4];
            let mut n = 0usize;
            while !stop.load(Ordering::Relaxed) {
                tick.tick().await;
                let at = now_ms() as i64;
                let f = tracker_fix(at, &drive(v, n, rows));
                n += 1;
                if c.write_all(&teltonika::codec8(&[f])).await.is_err() || c.read_exact(&mut ack).await.is_err() {
                    break;
                }
            }
            n
        }));
    }
    tokio::time::sleep(Duration::from_secs(secs)).await;
    // Steady state: every vehicle's actor loaded, every tracker connected and reporting.
    let rss_steady = hub_rss_kb(pid);
    stop.store(true, Ordering::Relaxed);
    // Where each vehicle's drive got to: the flood goes on from there.
    let mut reached = vec![0usize; vehicles];
    for (v, t) in tasks.into_iter().enumerate() {
        reached[v] = t.await.unwrap_or(0);
    }
    let reached = Arc::new(reached);
    tokio::time::sleep(Duration::from_millis(500)).await;
    listening.abort();
    println!(
        "{name}: hub RSS {:.0} MB before, {:.0} MB with {vehicles} vehicles loaded, connected and reporting: {:.1} KB a vehicle",
        rss_before / 1024.0,
        rss_steady / 1024.0,
        (rss_steady - rss_before) / vehicles as f64
    );
    // Steady state only: the first third of the phase, while ten thousand actors start and read
    // their tracks at once, is left out (and said apart).
    let warm = phase_start + secs as f64 * 1000.0 / 3.0;
    let mut first: Vec<f64> = lat
        .lock()
        .unwrap()
        .iter()
        .filter(|(at, _)| *at >= phase_start && *at < warm)
        .map(|(_, d)| *d)
        .collect();
    first.sort_by(f64::total_cmp);
    println!(
        "{name}: fix to map while {vehicles} actors start: p50 {:.1} ms, p99 {:.1} ms",
        percentile(&first, 0.5),
        percentile(&first, 0.99)
    );
    let mut l: Vec<f64> = lat
        .lock()
        .unwrap()
        .iter()
        .filter(|(at, _)| *at >= warm)
        .map(|(_, d)| *d)
        .collect();
    l.sort_by(f64::total_cmp);
    println!(
        "{name}: fix to map at {rate} fixes/s: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} positions heard)",
        percentile(&l, 0.5),
        percentile(&l, 0.99),
        l.last().copied().unwrap_or(f64::NAN),
        l.len()
    );
    // Throughput: every vehicle sends packets of 10 fixes as fast as they are acknowledged;
    // the fixes walk through yesterday a second apart.
    let stored = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let connected = Arc::new(AtomicUsize::new(0));
    // After the steady phase each track's last fix is now: the flood's fixes follow it a second
    // apart (twenty seconds of flood are two minutes of track at most, within the five minutes
    // ahead a tracker's clock may be).
    let day_ago = now_ms() as i64 + 1_000;
    let mut tasks = Vec::new();
    for v in 0..vehicles {
        let (stored, stop, connected, reached) = (stored.clone(), stop.clone(), connected.clone(), reached.clone());
        tasks.push(tokio::spawn(async move {
            let mut c = connect(port, v).await;
            connected.fetch_add(1, Ordering::Relaxed);
            let mut n = 0usize;
            let mut ack = [0u8; 4];
            while !stop.load(Ordering::Relaxed) {
                let fixes: Vec<_> = (n..n + 10)
                    .map(|i| tracker_fix(day_ago + i as i64 * 1_000, &drive(v, reached[v] + i, rows)))
                    .collect();
                n += 10;
                if c.write_all(&teltonika::codec8(&fixes)).await.is_err() || c.read_exact(&mut ack).await.is_err() {
                    break;
                }
                stored.fetch_add(10, Ordering::Relaxed);
            }
            c
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    while connected.load(Ordering::Relaxed) < vehicles && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let from = stored.load(Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let fixes = stored.load(Ordering::Relaxed) - from;
    let took = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let mut conns = Vec::new();
    for t in tasks {
        if let Ok(c) = t.await {
            conns.push(c);
        }
    }
    let rss_flood = hub_rss_kb(pid);
    println!(
        "{name}: {:.0} fixes/s stored over {} Teltonika connections ({fixes} in {took:.1} s, packets of 10)",
        fixes as f64 / took,
        connected.load(Ordering::Relaxed)
    );
    println!(
        "{name}: hub RSS after the flood {:.0} MB ({:.1} KB a vehicle: what the allocator kept of the flood's batches)",
        rss_flood / 1024.0,
        (rss_flood - rss_before) / vehicles as f64
    );
    drop(conns);

    let rows_stored = {
        let mut c = store.connect().await;
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM vehicle_fixes")
            .fetch_one(&mut c)
            .await
            .expect("count");
        n
    };
    let acked = reached.iter().sum::<usize>() + stored.load(Ordering::Relaxed);
    println!("{name}: {acked} fixes acknowledged, {rows_stored} stored (the rest refused by the filter)");
    if matches!(backend, Backend::Sqlite) {
        let bytes = std::fs::metadata(store.dir.join("hub.db"))
            .map(|m| m.len())
            .unwrap_or(0)
            + std::fs::metadata(store.dir.join("hub.db-wal"))
                .map(|m| m.len())
                .unwrap_or(0);
        println!(
            "{name}: {rows_stored} fixes stored, {:.0} bytes a fix on disk (the whole file)",
            bytes as f64 / rows_stored.max(1) as f64
        );
    } else {
        println!("{name}: {rows_stored} fixes stored");
    }
}
