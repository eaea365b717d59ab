//! The `hub` binary's library: settings, wiring and the demo seed, shared by `main` and tests.

pub mod config;
pub mod demo;
pub mod demo_desk;
pub mod demo_fleet;
pub mod memory;
pub mod models;
pub mod open_files;
pub mod speech;

use std::sync::Arc;

use actix_web::{web::Data, App};
use hub_actors::{bus::Bus, store::Store, tasks::Tasks, Core, Hub};
use hub_web::{AppState, Metrics};
use tokio_util::sync::CancellationToken;

use config::Settings;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Core(#[from] hub_actors::Error),
    #[error("cannot create data directory {0}: {1}")]
    DataDir(String, std::io::Error),
    #[error("cannot listen on {0}: {1}")]
    Listen(String, std::io::Error),
    #[error("settings: {0}")]
    Settings(String),
    #[error("server: {0}")]
    Server(std::io::Error),
}

/// Opens the store named by the settings (creating the data directory for SQLite), applies
/// pending migrations, and seals tenants' secrets still in clear or under a previous key.
pub async fn open_store(settings: &Settings) -> Result<Store, RunError> {
    if settings.database_url.is_empty() {
        std::fs::create_dir_all(&settings.data_dir)
            .map_err(|e| RunError::DataDir(settings.data_dir.display().to_string(), e))?;
    }
    let store = Store::connect(&settings.store_url())
        .await?
        .with_sealer(sealer(settings)?)
        .with_bridges(hub_channels::TABLES);
    store.migrate().await?;
    let sealed = store.seal_secrets().await?;
    if sealed > 0 {
        tracing::info!(secrets = sealed, "secrets sealed under the current key");
    }
    Ok(store)
}

/// The key tenants' secrets are sealed with: `secrets_key`, or else the key file in the data
/// directory (made on first start, readable by the hub's user only). Nodes sharing one
/// PostgreSQL must share the key: set `secrets_key` on each.
fn sealer(settings: &Settings) -> Result<hub_actors::seal::Sealer, RunError> {
    let bad = |e: hub_actors::seal::SealError| RunError::Settings(format!("secrets_key: {e}"));
    let previous: Vec<&str> = settings
        .secrets_key_previous
        .split([',', ' '])
        .filter(|k| !k.trim().is_empty())
        .collect();
    if !settings.secrets_key.trim().is_empty() {
        return hub_actors::seal::Sealer::new(&settings.secrets_key, &previous).map_err(bad);
    }
    if !settings.database_url.is_empty() {
        tracing::warn!("secrets_key is not set: this node seals with the key file in its data directory; every node sharing this database needs the same key");
    }
    let path = settings.data_dir.join("secrets.key");
    let key = match std::fs::read_to_string(&path) {
        Ok(k) => k.trim().to_string(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(&settings.data_dir)
                .map_err(|e| RunError::DataDir(settings.data_dir.display().to_string(), e))?;
            let key = hub_actors::seal::Sealer::generate_key();
            write_private(&path, &key).map_err(|e| RunError::DataDir(path.display().to_string(), e))?;
            tracing::info!(file = %path.display(), "a secrets key was made for this installation: back it up with the database");
            key
        }
        Err(e) => return Err(RunError::DataDir(path.display().to_string(), e)),
    };
    hub_actors::seal::Sealer::new(&key, &previous).map_err(bad)
}

/// Writes a file only its owner can read (the key never exists with wider permissions).
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut open = std::fs::OpenOptions::new();
    open.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        open.mode(0o600);
    }
    let mut f = open.open(path)?;
    f.write_all(text.as_bytes())?;
    f.write_all(b"\n")?;
    f.sync_all()
}

/// The address a phone on the same network reaches the hub at, from where it listens: its own
/// address when it listens on one, the machine's outward address when it listens on all (found
/// by asking the system which address it would send from: no packet leaves). None on loopback.
pub fn lan_url(listen: &str) -> Option<String> {
    let addr: std::net::SocketAddr = listen.parse().ok()?;
    let ip = if addr.ip().is_unspecified() {
        let probe = std::net::UdpSocket::bind(("0.0.0.0", 0)).ok()?;
        // A documentation address (TEST-NET-1): routing picks the outward interface.
        probe.connect(("192.0.2.1", 9)).ok()?;
        probe.local_addr().ok()?.ip()
    } else {
        addr.ip()
    };
    if ip.is_loopback() || ip.is_unspecified() {
        return None;
    }
    let host = match ip {
        std::net::IpAddr::V6(v6) => format!("[{v6}]"),
        v4 => v4.to_string(),
    };
    Some(format!("http://{host}:{}", addr.port()))
}

/// Seeds the demo organisation unless the store already has one, and prints how to sign in.
pub async fn seed_demo(store: &Store, listen: &str, force: bool) -> Result<(), RunError> {
    if !force && store.org_count().await? > 0 {
        tracing::info!("store already has an organisation; demo not seeded again");
        return Ok(());
    }
    // The demo's names (admin, kiosk1, 8800…) are the installation's own organisation's: a store
    // that has one already keeps it.
    if store.org_count().await? > 0 {
        return Err(RunError::Core(hub_actors::Error::Conflict(
            "this store already has organisations; the demo is seeded only into an empty store".into(),
        )));
    }
    let demo = demo::seed(store).await?;
    let base = format!("http://{listen}");
    println!("\nDemo organisation seeded. Open:");
    println!("  operator console  {base}/operator");
    println!("  kiosk             {base}/kiosk");
    println!("  board             {base}/board");
    println!("  phone registrar   {base}/r/{}", demo.branch_id);
    println!("  supervisor view   {base}/supervisor");
    println!("  vehicles map      {base}/map");
    println!("  back office       {base}/admin");
    println!("  web chat (as a visitor on a customer's site)  {base}/demo/site");
    println!("Sign-ins (login / password):");
    for (login, password, what) in &demo.lines {
        println!("  {login:<11} {password:<18} {what}");
    }
    println!("  VIP code at the kiosk: {}", demo::VIP_CODE);
    match lan_url(listen) {
        Some(lan) => println!("  Phones on this network open the kiosk's QR codes at {lan}"),
        None => println!(
            "  Phones cannot open the kiosk's QR codes: the hub listens on {listen} only. For phones on this \
             network run with HUB_LISTEN=0.0.0.0:8080 (or set public_url)."
        ),
    }
    println!(
        "  Telephony (serve --sip ADDR): dial {} at ADDR; desk phones 1001 and 1002 register there, realm {}.",
        demo::DEMO_NUMBER,
        demo::SIP_REALM
    );
    println!(
        "  Web chat: both operators answer it (Анна first: skill 5 against 3); no window is needed, press Available. \
         Widget key {:?}.\n",
        demo::WIDGET_KEY
    );
    println!(
        "  Vehicles: open /map as the supervisor; move the demo van (Иван's) by reporting a position: \
         curl \"{base}/api/trackers/osmand?id={}&lat=55.765&lon=37.605&speed=20\"\n",
        demo_fleet::DEMO_VAN
    );
    Ok(())
}

/// Runs the hub until SIGINT or SIGTERM: HTTP stops taking connections and finishes the ones in
/// flight, then the bus listener stops, then the store is closed.
pub async fn serve(settings: Settings, demo: bool) -> Result<(), RunError> {
    // Every socket is a file: the soft limit goes up to what the system allows, before any
    // listener opens.
    let open_files = open_files::raise();
    match open_files {
        Some(n) => tracing::info!(
            open_files = n,
            sockets = n.saturating_sub(open_files::RESERVED),
            "open-file limit {n}: room for about {} sockets (boards, consoles, trackers) at once",
            n.saturating_sub(open_files::RESERVED)
        ),
        None => tracing::warn!("the open-file limit could not be read"),
    }
    let store = open_store(&settings).await?;
    if demo {
        seed_demo(&store, &settings.listen, false).await?;
    }
    let stop = CancellationToken::new();
    // Every long-lived task of this node runs under `tasks`: started again after a panic, and
    // waited for at shutdown.
    let tasks = Tasks::new(stop.clone());
    // A drill: the named task panics once, to show the restart (and the log and /metrics lines).
    if let Ok(name) = std::env::var("HUB_TEST_PANIC_ONCE") {
        tracing::warn!(task = %name, "drill: this task will panic once");
        tasks.panic_once(&name);
    }
    let bus = if settings.redis_url.is_empty() {
        Bus::in_process()
    } else {
        Bus::redis(&settings.redis_url, &settings.bus_channel, &tasks).await?
    };
    // One arbiter (thread) for the entity actors, apart from the HTTP workers.
    let actors = actix::Arbiter::new();
    let hub = Hub::new(Core::new(store.clone(), bus, tasks.clone()), actors.handle());
    // Conversations left waiting before a restart are routed without waiting for a new event.
    hub.start_routers().await?;
    // Every request's next alarm is set again, so warnings and breaches due while the node was
    // down fire now and the rest on time.
    hub.start_desk().await?;
    hub.set_vehicle_offline(settings.vehicle_offline_secs);
    hub.start_fleet();
    // What an older installation held before the search index existed is indexed once, in the
    // background (the marks its migration set say how far).
    let backlog = hub.clone();
    hub.tasks().spawn(async move {
        match backlog.store().index_backlog().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(rows = n, "search: indexed what was written before the index"),
            Err(e) => tracing::warn!(error = %e, "search: the backlog was not indexed; the next start tries again"),
        }
    });
    // This node's name in leases and claims, the same across its restarts, so a node started
    // again after a crash takes its own back at once.
    let node = format!("{}/{}", host_name(), settings.listen);
    let telegram = hub_channels::telegram::Telegram::start(
        hub.clone(),
        settings.telegram.settings(&settings.public_url, &node),
        stop.clone(),
    )
    .map_err(|e| RunError::Settings(e.to_string()))?;
    let email = hub_channels::email::Email::start(
        hub.clone(),
        settings.email.settings(&host_name(), &node, egress(&settings)?),
        stop.clone(),
    )
    .await
    .map_err(|e| RunError::Settings(e.to_string()))?;
    hub_channels::webhook::start(hub.clone(), egress(&settings)?, node.clone()).map_err(RunError::Settings)?;
    let speech_settings = hub_channels::speech::Settings {
        node: node.clone(),
        ..speech_settings(&settings)?
    };
    let speech = hub_channels::speech::Speech::start(hub.clone(), speech_settings, stop.clone()).await;
    let sip_settings = settings
        .sip
        .settings(egress(&settings)?)
        .map_err(|e| RunError::Settings(e.to_string()))?;
    let sip = match sip_settings {
        Some(sip_settings) => Some(
            hub_channels::sip::Sip::start(hub.clone(), Some(speech.clone()), sip_settings, stop.clone())
                .await
                .map_err(|e| RunError::Settings(e.to_string()))?,
        ),
        None => None,
    };
    let trackers = hub_channels::trackers::Trackers::start(hub.clone(), settings.trackers.clone(), stop.clone())
        .await
        .map_err(|e| RunError::Settings(e.to_string()))?;
    let metrics = Arc::new(Metrics::default());
    metrics
        .open_files_limit
        .store(open_files.unwrap_or(0), std::sync::atomic::Ordering::Relaxed);
    let state =
        Data::new(AppState {
            hub,
            metrics: metrics.clone(),
            secure_cookies: settings.secure_cookies,
            sessions: Default::default(),
            public_url: Some(settings.public_url.clone()).filter(|u| !u.is_empty()),
            lan_url: lan_url(&settings.listen),
            metrics_token: Some(settings.metrics_token.clone()).filter(|t| !t.is_empty()),
            throttle: Default::default(),
            egress: egress(&settings)?,
            upload_caps: hub_actors::store::UploadCaps {
                per_address: (settings.upload_unsent_address_mb * 1024 * 1024) as i64,
                per_org: (settings.upload_unsent_org_mb * 1024 * 1024) as i64,
                retry_secs: settings.upload_unsent_secs as i64,
            },
            anonymous: std::sync::Mutex::new((settings.anonymous_limit > 0).then(|| {
                hub_actors::model::rate::RateLimit::new(settings.anonymous_limit, hub_web::ANONYMOUS_WINDOW_MS)
            })),
            telegram: Some(telegram),
            email: Some(email),
            speech: Some(speech),
            sip,
            trackers: Some(trackers),
            map: hub_web::map::Tiles::new(&settings.map_tiles, &settings.map_attribution)
                .map_err(|e| RunError::Settings(format!("map_tiles: {e}")))?,
            consoles: Default::default(),
            sockets: Default::default(),
        });
    let workers = if settings.workers == 0 {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    } else {
        settings.workers
    };
    tasks.supervise("session ends", {
        let state = state.clone();
        move || hub_web::follow_ended_sessions(state.clone())
    });
    tasks.supervise("operator consoles", {
        let (hub, consoles) = (state.hub.clone(), state.consoles.clone());
        let grace = std::time::Duration::from_secs(settings.console_grace_secs);
        move || hub_web::consoles::follow(hub.clone(), consoles.clone(), grace)
    });
    tasks.supervise("unsent uploads", {
        let (store, secs, stop) = (state.hub.store().clone(), settings.upload_unsent_secs, stop.clone());
        move || expire_unsent_uploads(store.clone(), secs, stop.clone())
    });
    tasks.supervise("socket heartbeats", {
        let (sockets, store, stop) = (state.sockets.clone(), state.hub.store().clone(), stop.clone());
        move || sockets.clone().keep(store.clone(), stop.clone())
    });
    tasks.supervise("socket feeds", {
        let (sockets, bus, stop) = (state.sockets.clone(), state.hub.bus().clone(), stop.clone());
        move || {
            let (sockets, bus, stop) = (sockets.clone(), bus.clone(), stop.clone());
            async move { sockets.feeds.follow(bus, stop).await }
        }
    });
    let listeners = listen(&settings.listen).map_err(|e| RunError::Listen(settings.listen.clone(), e))?;
    let bound: Vec<std::net::SocketAddr> = listeners.iter().filter_map(|l| l.local_addr().ok()).collect();
    let sockets = state.sockets.clone();
    let server = hub_web::socket::serve(listeners, workers, settings.stop_grace_secs, move || {
        App::new()
            .wrap_fn(hub_web::edge(metrics.clone()))
            .configure(hub_web::configure(state.clone()))
    })
    .map_err(|e| RunError::Listen(settings.listen.clone(), e))?;
    let addrs: Vec<String> = bound.iter().map(|a| a.to_string()).collect();
    tracing::info!(
        listen = %addrs.join(","),
        store = store_kind(&settings),
        bus = if settings.redis_url.is_empty() { "in-process" } else { "redis" },
        "hub is up"
    );
    if let Some(addr) = addrs.first() {
        println!(
            "Hub is up at http://{addr}/ : operator console /operator, supervisor /supervisor, back office /admin, \
             kiosk /kiosk, board /board, web-chat demo /demo/site. Ctrl-C stops it."
        );
    }
    let grace = std::time::Duration::from_secs(settings.stop_grace_secs);
    actix_rt::spawn({
        let (handle, stop) = (server.handle(), stop.clone());
        async move {
            let signal = stop_signal().await;
            tracing::info!(
                signal,
                grace_secs = grace.as_secs(),
                "stopping: no new work; finishing what is in hand"
            );
            // Bridges stop taking work and feeds tell their screens to reconnect while HTTP
            // finishes the requests in flight.
            stop.cancel();
            // The sockets left HTTP at their upgrade: the server does not wait for them, so the
            // node does, until each has said goodbye (or the grace is up).
            sockets.drained(grace).await;
            handle.stop(true).await;
        }
    });
    let result = server.await.map_err(RunError::Server);
    let left = tasks.shutdown(grace).await;
    tracing::info!(tasks_left = left, "HTTP and tasks stopped; closing the store");
    actors.stop();
    store.close().await;
    tracing::info!("hub stopped");
    result
}

/// Listening sockets on every address `listen` names, with a backlog for bursts of connections
/// (a room of screens coming back after a restart).
fn listen(listen: &str) -> std::io::Result<Vec<std::net::TcpListener>> {
    use std::net::ToSocketAddrs;
    use std::os::fd::AsRawFd;
    let mut out = Vec::new();
    for addr in listen.to_socket_addrs()? {
        let l = std::net::TcpListener::bind(addr)?;
        // SAFETY: listen(2) again on a listening socket only sets its backlog (capped by the
        // kernel's somaxconn).
        if unsafe { libc::listen(l.as_raw_fd(), 4096) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        l.set_nonblocking(true)?;
        out.push(l);
    }
    if out.is_empty() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::AddrNotAvailable,
            "no address to listen on",
        ));
    }
    Ok(out)
}

/// Waits for SIGTERM or SIGINT; answers which.
async fn stop_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
            (Ok(mut term), Ok(mut int)) => tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            },
            _ => {
                let _ = tokio::signal::ctrl_c().await;
                "SIGINT"
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "SIGINT"
    }
}

fn speech_settings(s: &Settings) -> Result<hub_channels::speech::Settings, RunError> {
    let bad = |e: hub_channels::config::SettingError| RunError::Settings(e.to_string());
    let model = models::choose(&s.models_dir(), &s.speech.model);
    if let Some(p) = &model {
        if s.speech.model != "auto" && !p.is_file() {
            return Err(RunError::Settings(format!(
                "speech.model {:?}: no such model in {} (hub models list)",
                s.speech.model,
                s.models_dir().display()
            )));
        }
    }
    Ok(hub_channels::speech::Settings {
        engine: s.speech.engine.clone(),
        cache_dir: Some(s.data_dir.join("speech-cache")),
        model,
        workers: s.speech.workers,
        threads: s.speech.threads,
        queue_max: s.speech.queue_max,
        max_seconds: s.speech.max_seconds,
        languages: s.speech.languages().map_err(bad)?,
        node: String::new(),
    })
}

/// Deletes uploads never sent once they are `secs` old, looking as often as that (at most a
/// minute apart).
async fn expire_unsent_uploads(store: hub_actors::store::Store, secs: u64, stop: CancellationToken) {
    let every = std::time::Duration::from_secs(secs.clamp(1, 60));
    loop {
        let before = hub_actors::model::now_millis() - (secs as i64) * 1000;
        match store.expire_unsent(before).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(files = n, "uploads never sent were deleted"),
            Err(e) => tracing::warn!(error = %e, "cannot delete expired uploads; trying again"),
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}

/// The installation's rule for where tenants' servers may be.
fn egress(s: &Settings) -> Result<hub_actors::model::egress::Egress, RunError> {
    hub_actors::model::egress::Egress::parse(&s.egress_allow)
        .map_err(|e| RunError::Settings(format!("egress_allow: {e}")))
}

/// The machine's name, for naming this node to the others.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into())
}

fn store_kind(s: &Settings) -> &'static str {
    if s.database_url.is_empty() {
        "sqlite"
    } else {
        "postgres"
    }
}
