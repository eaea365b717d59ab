//! Starting hub nodes and talking to them.

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use sqlx::{Connection, Executor};

pub const HUB: &str = env!("CARGO_BIN_EXE_hub");

pub fn postgres_admin_url() -> String {
    std::env::var("HUB_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub fn redis_url() -> String {
    std::env::var("HUB_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

fn unique(prefix: &str) -> String {
    format!("{prefix}_{}_{:08x}", std::process::id(), rand::random::<u32>())
}

/// Where a test's nodes keep their state: a fresh SQLite directory, or a fresh PostgreSQL
/// database (optionally with a Redis bus channel of its own).
pub struct Store {
    pub dir: PathBuf,
    pub database_url: Option<String>,
    pub redis: Option<(String, String)>,
    /// Further settings for the nodes, as `HUB_…` variables.
    pub env: Vec<(String, String)>,
    /// Whether the nodes' logs go to a file in `dir` (read with [`Node::log`]) rather than to
    /// the test's output.
    pub capture_log: bool,
}

#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Store {
    pub async fn new(backend: Backend, with_redis: bool) -> Store {
        let dir = std::env::temp_dir().join(unique("hub_test"));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let database_url = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(fresh_postgres().await),
        };
        let redis = with_redis.then(|| (redis_url(), unique("hub_test_bus")));
        Store {
            dir,
            database_url,
            redis,
            env: Vec::new(),
            capture_log: false,
        }
    }

    pub fn sqlite_url(&self) -> String {
        format!("sqlite://{}", self.dir.join("hub.db").display())
    }

    /// A direct connection to the store, for tests that arrange data no API offers yet.
    pub async fn connect(&self) -> sqlx::AnyConnection {
        sqlx::any::install_default_drivers();
        let url = self.database_url.clone().unwrap_or_else(|| self.sqlite_url());
        sqlx::AnyConnection::connect(&url)
            .await
            .expect("connect to the test store")
    }

    pub async fn exec(&self, sql: &'static str) {
        let mut c = self.connect().await;
        c.execute(sql).await.expect(sql);
    }

    pub async fn scalar(&self, sql: &'static str) -> i64 {
        let mut c = self.connect().await;
        let (n,): (i64,) = sqlx::query_as(sql).fetch_one(&mut c).await.expect(sql);
        n
    }

    pub async fn strings(&self, sql: String) -> Vec<String> {
        let mut c = self.connect().await;
        let rows: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .fetch_all(&mut c)
            .await
            .expect("query");
        rows.into_iter().map(|r| r.0).collect()
    }

    /// Runs a `hub` command (not `serve`) against this store, feeding `stdin`.
    pub fn hub(&self, args: &[&str], stdin: &str) -> std::process::Output {
        use std::io::Write;
        let mut cmd = Command::new(HUB);
        cmd.args(args).arg("--data").arg(&self.dir).env("HUB_LOG", "warn");
        self.env(&mut cmd);
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run hub");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("write stdin");
        child.wait_with_output().expect("hub output")
    }

    fn env(&self, cmd: &mut Command) {
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        if let Some(url) = &self.database_url {
            cmd.env("HUB_DATABASE_URL", url);
        }
        if let Some((url, channel)) = &self.redis {
            cmd.env("HUB_REDIS_URL", url).env("HUB_BUS_CHANNEL", channel);
        }
    }

    /// Starts a node with the demo seeded (the first node seeds; later ones find it there).
    pub async fn start(&self) -> Node {
        let port = free_port();
        let mut cmd = Command::new(HUB);
        cmd.args(["serve", "--demo", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--data")
            .arg(&self.dir)
            .env(
                "HUB_LOG",
                std::env::var("HUB_TEST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .env("HUB_WORKERS", "2")
            .stdout(Stdio::null());
        self.env(&mut cmd);
        let log = self.capture_log.then(|| self.dir.join(format!("node-{port}.log")));
        if let Some(path) = &log {
            cmd.stderr(std::fs::File::create(path).expect("log file"));
        }
        let child = cmd.spawn().expect("start hub");
        let mut node = Node {
            child,
            api: Api::new(format!("http://127.0.0.1:{port}")),
            dir: self.dir.clone(),
            log,
        };
        node.wait_healthy().await;
        node
    }
}

/// Test stores are removed when the test ends (nodes, declared after their store, are gone by
/// then), so repeated runs on one machine do not pile up databases and directories.
impl Drop for Store {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Some(url) = &self.database_url {
            if let Some((_, name)) = url.rsplit_once('/') {
                let _ = Command::new("psql")
                    .arg(postgres_admin_url())
                    .args(["-qc", &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
            }
        }
    }
}

async fn fresh_postgres() -> String {
    sqlx::any::install_default_drivers();
    let admin = postgres_admin_url();
    let mut conn = sqlx::AnyConnection::connect(&admin)
        .await
        .expect("PostgreSQL for tests (HUB_TEST_POSTGRES_URL)");
    let name = unique("hub_test");
    conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await
        .expect("create test database");
    let base = admin
        .rsplit_once('/')
        .map(|(b, _)| b.to_string())
        .unwrap_or(admin.clone());
    format!("{base}/{name}")
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

pub struct Node {
    pub child: Child,
    pub api: Api,
    pub dir: PathBuf,
    log: Option<PathBuf>,
}

impl Node {
    async fn wait_healthy(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            // A node that could not start (its port taken meanwhile, say) must not pass for
            // healthy on the strength of some other process answering there.
            if let Ok(Some(exit)) = self.child.try_wait() {
                panic!("hub exited before it was healthy: {exit}");
            }
            if let Ok((200, _)) = self.api.try_get("/healthz", None).await {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "hub did not become healthy at {}",
                self.api.base
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The node's log so far (when its store captures logs).
    pub fn log(&self) -> String {
        self.log
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .unwrap_or_default()
    }

    /// SIGKILL: no shutdown code runs, as in a crash or power-off of the process.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

#[derive(Clone)]
pub struct Api {
    pub base: String,
    client: awc::Client,
}

impl Api {
    pub fn new(base: String) -> Self {
        // Idle pooled connections are dropped after 2 s, before the server's 5 s keep-alive
        // closes them: reusing one the server is closing at that moment fails the request
        // ("connector has been disconnected"), which a POST cannot simply retry.
        let connector = awc::Connector::new().conn_keep_alive(Duration::from_secs(2));
        let client = awc::Client::builder()
            .connector(connector)
            .timeout(Duration::from_secs(30))
            .finish();
        Self { base, client }
    }

    pub fn ws_url(&self, path: &str) -> String {
        format!("{}{}", self.base.replacen("http", "ws", 1), path)
    }

    async fn try_get(&self, path: &str, token: Option<&str>) -> Result<(u16, Value), String> {
        let mut req = self.client.get(format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let mut res = req.send().await.map_err(|e| e.to_string())?;
        let body = res.body().limit(16 << 20).await.map_err(|e| e.to_string())?;
        Ok((
            res.status().as_u16(),
            serde_json::from_slice(&body).unwrap_or(Value::Null),
        ))
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        self.try_get(path, token)
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    pub async fn get_text(&self, path: &str) -> (u16, String) {
        self.get_text_as(path, None).await
    }

    pub async fn get_text_as(&self, path: &str, token: Option<&str>) -> (u16, String) {
        let mut req = self.client.get(format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let mut res = req.send().await.expect("GET");
        let body = res.body().limit(16 << 20).await.expect("body");
        (res.status().as_u16(), String::from_utf8_lossy(&body).into_owned())
    }

    pub async fn send(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> (u16, Value) {
        let raw = body.map(|b| b.to_string());
        self.send_raw(method, path, token, raw.as_deref()).await
    }

    pub async fn send_raw(&self, method: &str, path: &str, token: Option<&str>, body: Option<&str>) -> (u16, Value) {
        let url = format!("{}{path}", self.base);
        let mut req = match method {
            "POST" => self.client.post(url),
            "PUT" => self.client.put(url),
            "DELETE" => self.client.delete(url),
            "PATCH" => self.client.patch(url),
            _ => self.client.get(url),
        };
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = match body {
            Some(b) => {
                req.insert_header(("content-type", "application/json"))
                    .send_body(b.to_string())
                    .await
            }
            None => req.send().await,
        };
        let mut res = res.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let bytes = res.body().limit(16 << 20).await.expect("body");
        (
            res.status().as_u16(),
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// A POST without a body whose answer is returned raw: for the load generator, which must
    /// spend as little CPU as it can on the machine it shares with the server.
    pub async fn post_raw(&self, path: &str, token: &str) -> (u16, Vec<u8>) {
        let mut res = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
        let body = res.body().await.expect("body");
        (res.status().as_u16(), body.to_vec())
    }

    /// A POST as a browser page of `origin` would send it.
    pub async fn post_from_origin(&self, path: &str, token: &str, origin: &str) -> u16 {
        let res = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .insert_header(("origin", origin))
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
        res.status().as_u16()
    }

    /// A form POST as a browser sends one before (or without) the page's script, redirects not
    /// followed: the status, the `Location` and the `Set-Cookie` headers.
    pub async fn post_form(&self, path: &str, form: &str, origin: Option<&str>) -> (u16, String, String) {
        let client = awc::Client::builder().disable_redirects().finish();
        let mut req = client
            .post(format!("{}{path}", self.base))
            .content_type("application/x-www-form-urlencoded");
        if let Some(o) = origin {
            req = req.insert_header(("origin", o));
        }
        let res = req
            .send_body(form.to_owned())
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
        let header = |name: &str| {
            res.headers()
                .get_all(name)
                .filter_map(|v| v.to_str().ok())
                .collect::<Vec<_>>()
                .join("; ")
        };
        (res.status().as_u16(), header("location"), header("set-cookie"))
    }

    /// A JSON request with a bearer token.
    pub async fn send_raw_auth(&self, method: &str, path: &str, token: &str, body: &str) -> (u16, Value) {
        self.send_raw(method, path, Some(token), Some(body)).await
    }

    /// Uploads `data` raw, as the widget and the console send files.
    pub async fn upload(&self, path: &str, name: &str, token: &str, data: Vec<u8>) -> (u16, Value) {
        let mut res = self
            .client
            .post(format!("{}{path}?name={}", self.base, urlencode(name)))
            .bearer_auth(token)
            .insert_header(("content-type", "application/octet-stream"))
            .send_body(data)
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
        let bytes = res.body().limit(16 << 20).await.expect("body");
        (
            res.status().as_u16(),
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
        self.send("POST", path, token, Some(body)).await
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
        self.send("PUT", path, token, Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
        self.send("PATCH", path, token, Some(body)).await
    }

    pub async fn login(&self, login: &str, password: &str) -> String {
        let (status, body) = self
            .post(
                "/api/auth/login",
                None,
                serde_json::json!({"login": login, "password": password}),
            )
            .await;
        assert_eq!(status, 200, "login {login}: {body}");
        body["token"].as_str().expect("token").to_string()
    }

    pub async fn device(&self, login: &str, secret: &str) -> String {
        let (status, body) = self
            .post(
                "/api/auth/device",
                None,
                serde_json::json!({"login": login, "secret": secret}),
            )
            .await;
        assert_eq!(status, 200, "device {login}: {body}");
        body["token"].as_str().expect("token").to_string()
    }

    pub async fn kiosk(&self) -> String {
        self.device("kiosk1", "demo-kiosk-secret").await
    }

    pub async fn board(&self) -> String {
        self.device("board1", "demo-board-secret").await
    }

    /// Issues a ticket at the demo kiosk for `service_id`; returns the response body.
    pub async fn issue(&self, kiosk: &str, service_id: i64) -> Value {
        let (status, body) = self
            .post(
                "/api/kiosk/tickets",
                Some(kiosk),
                serde_json::json!({"service_id": service_id}),
            )
            .await;
        assert_eq!(status, 201, "issue: {body}");
        body
    }

    /// Signs in a demo operator and seats them at `window` serving every demo service.
    pub async fn operator_at(&self, login: &str, password: &str, window: i64) -> String {
        let token = self.login(login, password).await;
        let (status, body) = self
            .put(
                "/api/operator/place",
                Some(&token),
                serde_json::json!({"window_id": window, "service_ids": DEMO_SERVICES}),
            )
            .await;
        assert_eq!(status, 200, "place: {body}");
        token
    }

    /// `n` windows of the demo branch, one for each operator (one window, one operator): the
    /// demo's two, and more added by its admin.
    pub async fn windows_for(&self, n: usize) -> Vec<i64> {
        let admin = self.login("admin", "demo-admin").await;
        let mut windows = vec![1, 2];
        for i in windows.len()..n {
            let (status, w) = self
                .post(
                    "/api/admin/branches/1/windows",
                    Some(&admin),
                    serde_json::json!({"label": format!("{}", i + 1)}),
                )
                .await;
            assert_eq!(status, 201, "{w}");
            windows.push(w["id"].as_i64().expect("window id"));
        }
        windows
    }

    pub async fn call_next(&self, token: &str) -> (u16, Value) {
        self.send("POST", "/api/operator/call-next", Some(token), None).await
    }

    pub async fn act(&self, token: &str, ticket_id: i64, action: &str, body: Option<Value>) -> (u16, Value) {
        self.send(
            "POST",
            &format!("/api/operator/tickets/{ticket_id}/{action}"),
            Some(token),
            body,
        )
        .await
    }
}

/// The demo's services that issue tickets: Consultation (A), Payments (B), Businesses (C).
pub const DEMO_SERVICES: [i64; 3] = [2, 3, 4];
pub const CONSULTATION: i64 = 2;
pub const PAYMENTS: i64 = 3;
pub const BUSINESSES: i64 = 4;
pub const GROUP_INDIVIDUALS: i64 = 1;

/// Opens a board WebSocket and returns a reader of its JSON messages.
pub async fn board_socket(api: &Api, token: &str) -> BoardSocket {
    let (_, framed) = awc::Client::new()
        .ws(api.ws_url(&format!("/ws/board?token={token}")))
        .connect()
        .await
        .expect("board websocket");
    BoardSocket {
        framed,
        seq: None,
        rows: 0,
        calls: Vec::new(),
    }
}

/// A board's socket as the page follows it: the snapshot, then each numbered change carried
/// out on it (as `board.js` does), so a test reads the board the screen shows.
pub struct BoardSocket {
    framed: actix_codec::Framed<awc::BoxedSocket, awc::ws::Codec>,
    seq: Option<u64>,
    rows: usize,
    calls: Vec<Value>,
}

impl BoardSocket {
    /// The calls the screen shows now, newest first.
    pub fn calls(&self) -> &[Value] {
        &self.calls
    }

    /// The next message (a snapshot or a change), carried out on the screen's board; panics
    /// after `secs` without one, or on a change that does not follow the last one.
    pub async fn next_json(&mut self, secs: u64) -> Value {
        let msg = self.next_text(secs).await;
        let seq = msg["seq"].as_u64().expect("every board message is numbered");
        match msg["type"].as_str() {
            Some("board") => {
                self.rows = msg["rows"].as_u64().expect("rows") as usize;
                self.calls = msg["calls"].as_array().expect("calls").clone();
            }
            Some("board_change") => {
                assert_eq!(
                    Some(seq),
                    self.seq.map(|s| s + 1),
                    "a change follows the last one: {msg}"
                );
                let id = msg["ticket_id"].as_i64();
                match msg["op"].as_str() {
                    Some("call") => {
                        let call = msg["call"].clone();
                        self.calls.retain(|c| c["ticket_id"] != call["ticket_id"]);
                        self.calls.insert(0, call);
                        self.calls.truncate(self.rows);
                    }
                    Some("status") => {
                        for c in self.calls.iter_mut().filter(|c| c["ticket_id"].as_i64() == id) {
                            c["status"] = msg["status"].clone();
                        }
                    }
                    Some("leave") => self.calls.retain(|c| c["ticket_id"].as_i64() != id),
                    other => panic!("unknown change {other:?}: {msg}"),
                }
            }
            other => panic!("unknown board message {other:?}: {msg}"),
        }
        self.seq = Some(seq);
        msg
    }

    /// The next JSON text message, skipping pings; panics after `secs` without one.
    async fn next_text(&mut self, secs: u64) -> Value {
        use futures_util::StreamExt;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let frame = tokio::time::timeout_at(deadline, self.framed.next())
                .await
                .expect("board message in time");
            match frame {
                Some(Ok(awc::ws::Frame::Text(t))) => return serde_json::from_slice(&t).expect("json"),
                Some(Ok(_)) => continue,
                other => panic!("board socket ended: {other:?}"),
            }
        }
    }
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
