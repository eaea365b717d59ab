//! Service-desk benchmark: the core in this process (store, bus, actors, alarm clock) on a fresh
//! SQLite file or PostgreSQL database, driven through `Hub`'s own methods.
//!
//! Prints, per backend:
//! - request creation per second (each placed by the routing rules and its SLA chosen, in one
//!   transaction) and transitions per second (a workflow move each);
//! - memory: HUB_BENCH_OPEN requests (default 100,000) with their clocks running (an 8-hour
//!   target: each holds a timer), the RSS per open request with their actors passivated (the
//!   alarm clock alone holds them) and with every actor awake and loaded;
//! - alarm lateness, with those open: HUB_BENCH_ALARMED requests (default 20,000) more, with a
//!   one-minute target and a warning at half of it, created as fast as they are taken (or
//!   HUB_BENCH_RATE a second): every warning and breach, from the moment it fell due to its
//!   event on the bus, p50/p99/max (the aim is p99 ≤ 1 s; GLPI and Zammad run escalations as
//!   periodic jobs a minute or more apart);
//! - search: the find box's query for a rare word and for words every request has.
//!
//! `cargo bench --bench desk` (HUB_BENCH_BACKENDS=sqlite,postgres).

#[path = "common.rs"]
mod common;
#[path = "../it/harness.rs"]
mod harness;

use common::{env_or, now_ms, percentile, raise_fd_limit};

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use harness::Backend;
use hub_actors::bus::{Bus, EventKind};
use hub_actors::model::assignment::Conditions;
use hub_actors::model::desk::Targets;
use hub_actors::model::role::Role;
use hub_actors::model::workflow::Workflow;
use hub_actors::store::desk::GroupForm;
use hub_actors::store::requests::{MoveRequest, NewRequest, RequestFilter};
use hub_actors::store::Store;
use hub_actors::tasks::Tasks;
use hub_actors::{Core, Hub};
use serde_json::json;

/// A group with no members, given out by hand.
fn group(name: &str, grade: i64) -> GroupForm {
    GroupForm {
        name: name.into(),
        grade,
        ola_policy_id: None,
        members: Vec::new(),
        dispatch: Default::default(),
    }
}

/// Requests created at once (the rest wait their turn).
const IN_FLIGHT: usize = 16;

fn rss_kb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(f64::NAN)
}

fn main() {
    raise_fd_limit();
    let alarmed = env_or("HUB_BENCH_ALARMED", 20_000);
    let pace = env_or("HUB_BENCH_RATE", 0);
    let open = env_or("HUB_BENCH_OPEN", 100_000);
    println!("hub service-desk benchmark: {alarmed} requests for alarm lateness, {open} open requests for memory");
    let backends = std::env::var("HUB_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    for name in backends.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let backend = match name {
            "sqlite" => Backend::Sqlite,
            "postgres" => Backend::Postgres,
            other => panic!("unknown backend {other}"),
        };
        actix_rt::System::new().block_on(run(backend, alarmed, open, pace));
    }
}

struct Setup {
    org: i64,
    request_type: i64,
    site: i64,
    minute: i64,
    hours: i64,
}

async fn set_up(store: &Store) -> Setup {
    let (org,): (i64,) =
        sqlx::query_as("INSERT INTO organisations (name, created_at) VALUES ('Bench', 0) RETURNING id")
            .fetch_one(store.write())
            .await
            .expect("org");
    let shape = json!({"type": "Polygon", "coordinates": [[[37.3, 55.5], [37.9, 55.5], [37.9, 56.0], [37.3, 56.0], [37.3, 55.5]]]});
    let territory = store
        .create_territory(org, "Moscow", &shape, None)
        .await
        .expect("territory");
    let l1 = store.create_support_group(org, &group("L1", 1)).await.expect("group");
    let l2 = store.create_support_group(org, &group("L2", 2)).await.expect("group");
    let when = Conditions {
        territories: vec![territory],
        ..Default::default()
    };
    store.put_desk_rules(org, &[(when, vec![l1, l2])]).await.expect("rules");
    let flow: Workflow = serde_json::from_value(json!({
        "statuses": [
            {"key": "new", "name": "New", "kind": "open"},
            {"key": "work", "name": "In progress", "kind": "open"},
            {"key": "closed", "name": "Closed", "kind": "closed"}
        ],
        "transitions": [
            {"from": "new", "to": "work", "role": "operator"},
            {"from": "work", "to": "closed", "role": "operator"}
        ]
    }))
    .expect("workflow");
    let wf = store.create_workflow(org, "Incidents", &flow).await.expect("workflow");
    let request_type = store
        .create_request_type(org, "Incident", wf, &[], &[], &[])
        .await
        .expect("type");
    let site = store
        .create_site(
            org,
            &hub_actors::store::desk::Site {
                id: 0,
                name: "Shop".into(),
                address: String::new(),
                lon: Some(37.61),
                lat: Some(55.76),
                counterparty_id: None,
                region_id: None,
            },
        )
        .await
        .expect("site");
    let targets = |mins: u32| Targets {
        resolution_mins: Some(mins),
        warn_at: vec![50],
        ..Default::default()
    };
    // The one-minute policy for critical requests, the eight-hour one for the rest.
    let critical = Conditions {
        priorities: vec!["critical".into()],
        ..Default::default()
    };
    let minute = store
        .create_desk_policy(org, "One minute", "sla", &critical, &targets(1), None)
        .await
        .expect("policy");
    let hours = store
        .create_desk_policy(org, "Eight hours", "sla", &Conditions::default(), &targets(480), None)
        .await
        .expect("policy");
    Setup {
        org,
        request_type,
        site,
        minute,
        hours,
    }
}

/// Creates `n` requests of `priority`, IN_FLIGHT at a time (and at most `rate` a second, when
/// not 0); answers their ids and the rate.
async fn create(hub: &Hub, s: &Setup, n: usize, priority: &str, rate: usize) -> (Vec<i64>, f64) {
    let started = Instant::now();
    let mut ids = Vec::with_capacity(n);
    let mut left = n;
    while left > 0 {
        if rate > 0 {
            let due = Duration::from_secs_f64(ids.len() as f64 / rate as f64);
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                tokio::time::sleep(wait).await;
            }
        }
        let batch = left.min(IN_FLIGHT);
        left -= batch;
        let made = join_all((0..batch).map(|i| {
            let new = NewRequest {
                type_id: s.request_type,
                subject: format!("Till {i} down"),
                priority: Some(priority.into()),
                site_id: Some(s.site),
                ..Default::default()
            };
            async move { hub.create_request(s.org, &new, None).await }
        }))
        .await;
        ids.extend(made.into_iter().map(|r| r.expect("created").id));
    }
    (ids, n as f64 / started.elapsed().as_secs_f64())
}

async fn run(backend: Backend, alarmed: usize, open: usize, pace: usize) {
    let place = harness::Store::new(backend, false).await;
    let url = match backend {
        Backend::Sqlite => place.sqlite_url(),
        Backend::Postgres => place.database_url.clone().expect("database"),
    };
    let store = Store::connect(&url).await.expect("store");
    store.migrate().await.expect("migrate");
    let s = set_up(&store).await;
    let tasks = Tasks::new(tokio_util::sync::CancellationToken::new());
    let bus = Bus::in_process();
    let arbiter = actix::Arbiter::new();
    let hub = Hub::new(Core::new(store.clone(), bus.clone(), tasks.clone()), arbiter.handle());
    hub.set_request_idle(2);
    hub.start_desk().await.expect("desk");
    println!("\n== {backend:?} ==");
    let _ = (s.minute, s.hours);

    // Memory: open requests whose clocks run for hours, each with its timer in the alarm clock.
    let before = rss_kb();
    let (ids, rate) = create(&hub, &s, open, "normal", 0).await;
    println!("create: {rate:.0} requests/s ({open} requests)");
    wait_passivated(&hub).await;
    let passive = rss_kb();
    let (timers, _) = hub.desk_figures();
    println!(
        "open requests with a timer: {timers}; RSS +{:.0} MB, {:.0} bytes per request with actors passivated",
        (passive - before) / 1024.0,
        (passive - before) * 1024.0 / open as f64
    );
    hub.set_request_idle(3600);
    let started = Instant::now();
    for chunk in ids.chunks(1000) {
        join_all(chunk.iter().map(|id| hub.wake_request(*id))).await;
    }
    let awake = rss_kb();
    println!(
        "every actor awake and loaded ({} actors, rehydrated at {:.0}/s): RSS +{:.0} MB, {:.0} bytes per request",
        hub.desk_figures().1,
        open as f64 / started.elapsed().as_secs_f64(),
        (awake - before) / 1024.0,
        (awake - before) * 1024.0 / open as f64
    );

    wait_passivated(&hub).await;
    // Alarm lateness: each one-minute request owes a warning at 30 s and a breach at 60 s.
    let mut rx = bus.subscribe();
    let collector = tokio::spawn(async move {
        let mut late = Vec::new();
        let mut fired_late = Vec::new();
        while late.len() < alarmed * 2 {
            match tokio::time::timeout(Duration::from_secs(120), rx.recv()).await {
                Ok(Ok(e)) => {
                    if let EventKind::RequestAlarm { due_at, fired_at, .. } = e.kind {
                        late.push(now_ms() - due_at as f64);
                        fired_late.push((fired_at - due_at) as f64);
                    }
                }
                Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(n))) => {
                    panic!("the benchmark's listener missed {n} events")
                }
                _ => break,
            }
        }
        (late, fired_late)
    });
    let (_, rate) = create(&hub, &s, alarmed, "critical", pace).await;
    println!(
        "create while alarms fall due: {rate:.0} requests/s ({alarmed} requests, {IN_FLIGHT} at a time{})",
        if pace > 0 {
            format!(", paced at {pace}/s")
        } else {
            String::new()
        }
    );
    let (mut late, mut fired_late) = collector.await.expect("collector");
    late.sort_by(f64::total_cmp);
    fired_late.sort_by(f64::total_cmp);
    println!(
        "alarm lateness, due → event heard: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} of {} alarms); due → fired (decided, before its write): p50 {:.1} ms, p99 {:.1} ms",
        percentile(&late, 0.5),
        percentile(&late, 0.99),
        late.last().copied().unwrap_or(f64::NAN),
        late.len(),
        alarmed * 2,
        percentile(&fired_late, 0.5),
        percentile(&fired_late, 0.99),
    );

    // Transitions: a workflow move each, with its history line and the clocks re-read.
    let n = ids.len().min(20_000);
    let started = Instant::now();
    for chunk in ids[..n].chunks(IN_FLIGHT) {
        let moved = join_all(chunk.iter().map(|id| {
            let m = MoveRequest {
                to: "work".into(),
                comment: None,
            };
            let hub = &hub;
            async move { hub.move_request(s.org, *id, &m, 0, Role::Operator).await }
        }))
        .await;
        for r in moved {
            r.expect("moved");
        }
    }
    println!(
        "transitions: {:.0} moves/s ({n} requests)",
        n as f64 / started.elapsed().as_secs_f64()
    );

    // Search: the find box's words over every request's terms (a word one request has; words
    // every request has, the worst case of a term index).
    hub.create_request(
        s.org,
        &NewRequest {
            type_id: s.request_type,
            subject: "Сканер штрихкодов не читает".into(),
            site_id: Some(s.site),
            ..Default::default()
        },
        None,
    )
    .await
    .expect("the needle");
    for (what, q) in [
        ("a word one request has", "сканеры"),
        ("words every request has", "till down"),
    ] {
        let f = RequestFilter {
            matching: hub_actors::model::search::query(q),
            ..Default::default()
        };
        let runs = 20;
        let mut found = 0;
        let started = Instant::now();
        for _ in 0..runs {
            found = store.request_list(s.org, &f, 500).await.expect("search").len();
        }
        println!(
            "search for {what} ({q:?}): {:.1} ms a query, {found} listed (at most 500)",
            started.elapsed().as_secs_f64() * 1000.0 / f64::from(runs)
        );
    }

    // The manager's figures: a period's requests read through their clock facts and counted.
    let period = env_or("HUB_BENCH_FIGURES", 2_000);
    let from = now_ms() as i64;
    create(&hub, &s, period, "normal", 0).await;
    let started = Instant::now();
    let cases = store.desk_cases(s.org, from, now_ms() as i64 + 1).await.expect("cases");
    let cases: Vec<_> = cases.into_iter().map(|(_, c)| c).collect();
    let figures = hub_actors::model::kpi::report(&cases, now_ms() as i64);
    println!(
        "figures over a period of {} requests: {:.0} ms",
        figures.total.requests,
        started.elapsed().as_secs_f64() * 1000.0
    );
    tasks.token().cancel();
    store.close().await;
}

/// Waits until every request actor has stopped (passivated after its idle time).
async fn wait_passivated(hub: &Hub) {
    hub.set_request_idle(2);
    let deadline = Instant::now() + Duration::from_secs(120);
    while hub.desk_figures().1 > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
