//! Hub's web face: the JSON API, WebSocket sessions, authentication and the embedded pages.
//! [`configure`] is the one wiring used by the binary and by the tests.

pub mod audit;
pub mod auth;
pub mod consoles;
pub mod error;
pub mod map;
pub mod metrics;
mod pages;
mod routes;
pub mod sessions;
pub mod socket;
mod widget;
mod ws;

use std::sync::Arc;
use std::time::Instant;

use actix_web::{
    dev::Service,
    web::{self, Data},
    HttpResponse,
};
use hub_actors::Hub;

pub use error::{ApiError, ApiResult};
pub use metrics::Metrics;

/// Largest JSON body accepted. The queue's requests are tiny; anything bigger is a mistake or an
/// attack and is refused before it is read in full.
pub const JSON_LIMIT: usize = 16 * 1024;

pub struct AppState {
    pub hub: Hub,
    pub metrics: Arc<Metrics>,
    /// Whether session cookies carry `Secure` (set when the hub is served over HTTPS).
    pub secure_cookies: bool,
    pub sessions: sessions::SessionCache,
    /// Base URL people reach the hub at, for links in QR codes; None: each request's own host.
    pub public_url: Option<String>,
    /// Without a public URL: the address phones on the same network reach this hub at (its LAN
    /// address, when it listens on all interfaces), for QR codes shown on a kiosk opened at
    /// `localhost`. None: the hub listens on loopback only, and says so on the kiosk.
    pub lan_url: Option<String>,
    /// Bearer token a metrics scraper must send; None: only scrapers on this machine.
    pub metrics_token: Option<String>,
    /// Wrong sign-in attempts (and VIP codes) on this node.
    pub throttle: std::sync::Mutex<hub_actors::model::throttle::Throttle>,
    /// Where tenants' servers may be (mailboxes, trunks): checked when saved and when connecting.
    pub egress: hub_actors::model::egress::Egress,
    /// How much unsent upload a client address and an organisation may hold.
    pub upload_caps: hub_actors::store::UploadCaps,
    /// Things anonymous clients create (chat visitors, registrar tickets), per address on this
    /// node; None: unlimited (`anonymous_limit = 0`).
    pub anonymous: std::sync::Mutex<Option<hub_actors::model::rate::RateLimit>>,
    /// The Telegram bridge of this node, when it runs.
    pub telegram: Option<hub_channels::telegram::Telegram>,
    /// The e-mail bridge of this node, when it runs.
    pub email: Option<hub_channels::email::Email>,
    /// Speech (announcements, transcription) of this node, when it runs.
    pub speech: Option<hub_channels::speech::Speech>,
    /// The SIP endpoint of this node, when telephony is on.
    pub sip: Option<hub_channels::sip::Sip>,
    /// The vehicle trackers' bridge of this node.
    pub trackers: Option<hub_channels::trackers::Trackers>,
    /// The map page's tile source.
    pub map: map::Tiles,
    /// The operator consoles open on this node: presence follows them (`consoles::follow`).
    pub consoles: Arc<consoles::Consoles>,
    /// The node's open WebSockets: their heartbeat and their feeds (`socket`).
    pub sockets: Arc<socket::Sockets>,
}

/// The window of the `anonymous_limit` setting.
pub const ANONYMOUS_WINDOW_MS: i64 = 10 * 60 * 1000;

/// An attempt's place in the throttle, released however the request ends (a client that goes
/// away mid-way drops this before its attempt is counted).
pub struct Reservation<'a> {
    state: &'a AppState,
    attempt: hub_actors::model::throttle::Attempt,
    pub outcome: hub_actors::model::throttle::Outcome,
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        self.state.throttle.lock().unwrap_or_else(|p| p.into_inner()).end(
            &self.attempt,
            self.outcome,
            hub_actors::model::now_millis(),
        );
    }
}

impl AppState {
    /// Ends sessions everywhere: forgotten and their feeds closed on this node now, and on
    /// every other node as the bus carries the news.
    pub async fn end_sessions(&self, org_id: i64, ended: sessions::Ended) {
        let closed = self.sessions.end(&ended);
        tracing::info!(closed, user = ?ended.user_id, device = ?ended.device_id, "sessions ended");
        let event = hub_actors::bus::Event {
            origin: 0,
            org_id,
            branch_id: 0,
            at: hub_actors::model::now_millis(),
            kind: ended.to_event(),
        };
        if let Err(e) = self.hub.bus().publish(event).await {
            tracing::warn!(error = %e, "the end of sessions not announced to other nodes; they notice within a minute");
        }
    }

    /// Reserves an attempt (a sign-in, a VIP code) in the throttle, or refuses it with the wait.
    pub fn reserve(&self, attempt: hub_actors::model::throttle::Attempt) -> Result<Reservation<'_>, ApiError> {
        let now = hub_actors::model::now_millis();
        if let Some(wait) = self
            .throttle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .begin(&attempt, now)
        {
            return Err(ApiError::Core(hub_actors::Error::TooManyAttempts(wait)));
        }
        Ok(Reservation {
            state: self,
            attempt,
            outcome: hub_actors::model::throttle::Outcome::Aborted,
        })
    }

    /// Counts one anonymous creation by the request's peer address; refused past the limit.
    pub fn anonymous_hit(&self, req: &actix_web::HttpRequest) -> Result<(), ApiError> {
        let key = req.peer_addr().map(|a| a.ip().to_string()).unwrap_or_default();
        let now = hub_actors::model::now_millis();
        match self.anonymous.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
            Some(limit) => limit
                .hit(&key, now)
                .map_err(|secs| ApiError::Core(hub_actors::Error::TooManyRequests(secs))),
            None => Ok(()),
        }
    }
}

/// Follows the bus for sessions ended on any node, closing their feeds here.
pub async fn follow_ended_sessions(state: Data<AppState>) {
    use tokio::sync::broadcast::error::RecvError;
    let mut rx = state.hub.bus().subscribe();
    let stop = state.hub.tasks().token();
    loop {
        let next = tokio::select! {
            _ = stop.cancelled() => return,
            next = rx.recv() => next,
        };
        match next {
            Ok(e) => {
                if let Some(ended) = sessions::Ended::from_event(&e.kind) {
                    state.sessions.end(&ended);
                }
            }
            Err(RecvError::Lagged(_)) => {
                // What was missed cannot be told: cached sessions are read again; open feeds
                // still recheck their session every minute.
                state.sessions.end(&sessions::Ended::default());
            }
            Err(RecvError::Closed) => return,
        }
    }
}

/// JSON bodies up to `limit` bytes, refused with the API's own error shapes. The few routes that
/// take more (a device's look carries its logo) set their own.
pub fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default().limit(limit).error_handler(move |err, _| {
        use actix_web::error::JsonPayloadError as E;
        let e = match &err {
            E::Overflow { .. } | E::OverflowKnownLength { .. } => ApiError::TooLarge(limit),
            E::ContentType => ApiError::BadJson("send the body as application/json".into()),
            other => ApiError::BadJson(format!("malformed JSON: {other}")),
        };
        e.into()
    })
}

/// Registers every route, the JSON limits and error shapes, and the latency metric.
pub fn configure(state: Data<AppState>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg: &mut web::ServiceConfig| {
        let json = json_config(JSON_LIMIT);
        let path =
            web::PathConfig::default().error_handler(|err, _| ApiError::BadJson(format!("bad path: {err}")).into());
        let query =
            web::QueryConfig::default().error_handler(|err, _| ApiError::BadJson(format!("bad query: {err}")).into());
        cfg.app_data(state)
            .app_data(json)
            .app_data(path)
            .app_data(query)
            .configure(routes::configure)
            .configure(ws::configure)
            .configure(widget::configure)
            .configure(pages::configure)
            .default_service(web::to(|| async { Err::<HttpResponse, _>(ApiError::NoRoute) }));
    }
}

/// Refuses a browser's cross-origin writes and WebSocket upgrades: a page of another site (or a
/// sibling subdomain, which SameSite cookies do not stop) must not act with an operator's
/// session or read an organisation's live feed. Requests without an `Origin` header (API clients,
/// devices, scripts) are not browsers acting for someone else and pass.
pub fn same_origin(req: &actix_web::dev::ServiceRequest) -> Result<(), ApiError> {
    use actix_web::http::{header, Method};
    let upgrade = req.headers().contains_key(header::UPGRADE);
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) && !upgrade {
        return Ok(());
    }
    let Some(origin) = req.headers().get(header::ORIGIN).and_then(|o| o.to_str().ok()) else {
        return Ok(());
    };
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
    if !host.is_empty() && origin_host.eq_ignore_ascii_case(host) {
        Ok(())
    } else {
        tracing::warn!(origin, host, path = req.path(), "cross-origin request refused");
        Err(ApiError::Core(hub_actors::Error::Forbidden))
    }
}

/// Wraps the app so every request's latency lands in the histogram, and cross-origin writes are
/// refused before they reach a handler.
pub fn edge<S, B>(
    metrics: Arc<Metrics>,
) -> impl Fn(
    actix_web::dev::ServiceRequest,
    &S,
)
    -> futures_util::future::LocalBoxFuture<'static, Result<actix_web::dev::ServiceResponse<B>, actix_web::Error>>
       + Clone
where
    S: Service<actix_web::dev::ServiceRequest, Response = actix_web::dev::ServiceResponse<B>, Error = actix_web::Error>,
    S::Future: 'static,
    B: 'static,
{
    move |req, srv| {
        let started = Instant::now();
        let metrics = metrics.clone();
        if let Err(e) = same_origin(&req) {
            return Box::pin(async move { Err(e.into()) });
        }
        let fut = srv.call(req);
        Box::pin(async move {
            let res = fut.await;
            metrics.observe_request(started.elapsed().as_secs_f64());
            if let Ok(r) = &res {
                audit::record_unrecorded(r).await;
            }
            res
        })
    }
}
