"""Starting Hub nodes for the browser tests (mirrors tests/it/harness.rs).

A `Store` is where a test's nodes keep their state: a fresh data directory (the embedded
SQLite store) or a fresh PostgreSQL database, optionally with a Redis bus channel of its own.
`Store.start()` runs `hub serve --demo` on a free port and waits for `/healthz`; `Node.kill()`
is SIGKILL, as in a crash.  `Api` is a tiny JSON client for test setup and checks.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HEALTH_TIMEOUT_S = 60.0

# The demo organisation (src/demo.rs).
BRANCH = 1
GROUP_INDIVIDUALS = 1
CONSULTATION = 2  # prefix A, inside the group
PAYMENTS = 3  # prefix B, inside the group
BUSINESSES = 4  # prefix C, top level
DEMO_SERVICES = [CONSULTATION, PAYMENTS, BUSINESSES]
WINDOW_1 = 1
WINDOW_2 = 2
OPERATOR1 = ("operator1", "demo-operator1")
OPERATOR2 = ("operator2", "demo-operator2")
SUPERVISOR = ("supervisor", "demo-supervisor")
KIOSK = ("kiosk1", "demo-kiosk-secret")
BOARD = ("board1", "demo-board-secret")
VIP_CODE = "777777"


class HubSetupError(RuntimeError):
    """The environment cannot run the tests (no binary, no PostgreSQL, ...)."""


def hub_binary() -> Path:
    path = Path(os.environ.get("HUB_BIN") or REPO / "target" / "debug" / "hub")
    if not path.is_file() or not os.access(path, os.X_OK):
        raise HubSetupError(
            f"hub binary not found or not executable at {path}. Build it first "
            f"(cargo build --bin hub) or point HUB_BIN at it."
        )
    return path


def postgres_admin_url() -> str:
    return os.environ.get("HUB_TEST_POSTGRES_URL") or "postgres://postgres@127.0.0.1:5432/postgres"


def redis_url() -> str:
    return os.environ.get("HUB_TEST_REDIS_URL") or "redis://127.0.0.1:6379"


def unique(prefix: str) -> str:
    return f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"


def worker() -> int:
    """This test process's number when the suite runs in several (pytest-xdist's gw0, gw1, ...)."""
    name = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(name[2:]) if name[2:].isdigit() else 0


# Ports the tests give their hubs and peers come from a band of this process's own, below the
# kernel's ephemeral range (32768 and up on Linux), so neither another test process nor any
# client socket can be handed the same port between choosing it and binding it.
PORT_BAND = 5000
_next_port = 20000 + worker() * PORT_BAND


def _bindable(port: int, kind: int) -> bool:
    with socket.socket(socket.AF_INET, kind) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


# Each port handed out keeps the three above it free too: peers take their neighbours (sipp's
# media echo takes its port + 2), and the next port handed out must not be one of them.
PORT_STEP = 4


def free_port() -> int:
    """A port free now for TCP and UDP (and the three above it), never handed out twice in this
    process's run. Every one is even (RTP wants even ports)."""
    global _next_port
    band = 20000 + worker() * PORT_BAND
    for _ in range(PORT_BAND // PORT_STEP):
        port = _next_port
        _next_port = band + (_next_port + PORT_STEP - band) % PORT_BAND
        if all(_bindable(p, k) for p in range(port, port + PORT_STEP) for k in (socket.SOCK_STREAM, socket.SOCK_DGRAM)):
            return port
    raise HubSetupError("no free port left in this test process's band")


def _psql(url: str, sql: str) -> None:
    try:
        out = subprocess.run(
            ["psql", url, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql],
            capture_output=True, text=True, timeout=30,
        )
    except FileNotFoundError as e:
        raise HubSetupError("psql is not installed (needed for the PostgreSQL tests)") from e
    if out.returncode != 0:
        raise HubSetupError(f"psql {sql!r} failed against {url}: {out.stderr.strip()}")


class Store:
    def __init__(self, postgres: bool = False, with_redis: bool = False):
        self.dir = Path(tempfile.mkdtemp(prefix="hub_e2e_"))
        self.database_url: str | None = None
        self.db_name: str | None = None
        self.redis: tuple[str, str] | None = None
        self.nodes: list[Node] = []
        # Settings a test adds for its nodes (HUB_TELEGRAM_API_URL, HUB_PUBLIC_URL, ...).
        self.extra_env: dict[str, str] = {}
        if postgres:
            admin = postgres_admin_url()
            self.db_name = unique("hub_e2e")
            _psql(admin, f"CREATE DATABASE {self.db_name}")
            base = admin.rsplit("/", 1)[0]
            self.database_url = f"{base}/{self.db_name}"
        if with_redis:
            self.redis = (redis_url(), unique("hub_e2e_bus"))

    @property
    def sqlite_path(self) -> Path:
        return self.dir / "hub.db"

    def env(self) -> dict[str, str]:
        # The hub refuses HUB_* variables that name no setting (HUB_BIN, HUB_E2E_...), so the
        # node gets a clean set: only the settings this store needs.
        env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_") and k != "RUST_LOG"}
        env["HUB_LOG"] = os.environ.get("HUB_TEST_LOG") or "warn"
        env["HUB_WORKERS"] = "2"
        # The tests' mail servers, providers and phones are on this machine: the installation's
        # owner allows loopback (the egress tests take it away again).
        env["HUB_EGRESS_ALLOW"] = "127.0.0.0/8"
        if self.database_url:
            env["HUB_DATABASE_URL"] = self.database_url
        if self.redis:
            env["HUB_REDIS_URL"], env["HUB_BUS_CHANNEL"] = self.redis
        env.update(self.extra_env)
        return env

    def cli(self, args: list[str], stdin: str = "") -> str:
        """Runs `hub <args>` on this store (e.g. `org add`); answers its output, fails on an error."""
        out = subprocess.run([str(hub_binary()), *args, "--data", str(self.dir)], input=stdin.encode(),
                             env=self.env(), cwd=self.dir, capture_output=True, timeout=60)
        assert out.returncode == 0, out.stderr.decode(errors="replace")
        return out.stdout.decode(errors="replace")

    def second_org(self, login: str | None = None, password: str = "other-admin-password",
                   prefix: str = "other") -> tuple[int, str, str]:
        """Another organisation (a tenant: its names begin with `<prefix>-`) with an admin:
        (org id, login, password)."""
        import re as _re
        login = login or f"{prefix}-admin"
        out = self.cli(["org", "add", "--name", "Другая организация", "--prefix", prefix])
        org = int(_re.search(r"with id (\d+)", out).group(1))
        self.cli(["user", "add", "--login", login, "--name", "Чужой админ", "--org", str(org), "--role", "admin",
                  "--password-stdin"], password + "\n")
        return org, login, password

    def start(self, port: int | None = None) -> "Node":
        """Starts a node with the demo seeded (the first node seeds; later ones find it)."""
        node = Node(self, port or free_port())
        self.nodes.append(node)
        node.start()
        return node

    def close(self) -> None:
        for n in self.nodes:
            n.kill()
        if self.db_name:
            try:
                _psql(postgres_admin_url(), f"DROP DATABASE IF EXISTS {self.db_name} WITH (FORCE)")
            except HubSetupError:
                pass
        shutil.rmtree(self.dir, ignore_errors=True)


class Node:
    def __init__(self, store: Store, port: int):
        self.store = store
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.api = Api(self.base)
        self.proc: subprocess.Popen | None = None
        self.log_path = store.dir / f"node_{port}.log"

    def start(self) -> "Node":
        """(Re)starts the process on this node's port and data directory."""
        assert self.proc is None or self.proc.poll() is not None, "node is running"
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [str(hub_binary()), "serve", "--demo", "--listen", f"127.0.0.1:{self.port}",
             "--data", str(self.store.dir)],
            env=self.store.env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=log, cwd=self.store.dir,
        )
        log.close()
        self.wait_healthy()
        return self

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def wait_healthy(self) -> None:
        deadline = time.monotonic() + HEALTH_TIMEOUT_S
        while True:
            if self.proc.poll() is not None:
                raise HubSetupError(
                    f"hub exited with {self.proc.returncode} before it was healthy:\n{self.log()}")
            try:
                status, _ = self.api.request("GET", "/healthz", timeout=2)
                if status == 200:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise HubSetupError(f"hub did not become healthy at {self.base}:\n{self.log()}")
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash or power-off of the process."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        if self.proc:
            self.proc.wait(timeout=10)

    def url(self, path: str) -> str:
        return self.base + path


class ApiError(AssertionError):
    pass


class Api:
    def __init__(self, base: str):
        self.base = base

    def _request(self, method: str, path: str, token: str | None, body, accept: str | None):
        headers = {"Accept": accept} if accept else {}
        data = None
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        return urllib.request.Request(self.base + path, data=data, method=method, headers=headers)

    def request(self, method: str, path: str, token: str | None = None, body=None,
                timeout: float = 15) -> tuple[int, object]:
        req = self._request(method, path, token, body, "application/json")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as res:
                status, raw = res.status, res.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw.decode(errors="replace")

    def raw(self, method: str, path: str, token: str | None = None, body=None,
            timeout: float = 30) -> tuple[int, dict[str, str], bytes]:
        """A request whose answer is not JSON (audio, say): status, headers, body bytes."""
        req = self._request(method, path, token, body, None)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as res:
                return res.status, {k.lower(): v for k, v in res.headers.items()}, res.read()
        except urllib.error.HTTPError as e:
            return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()

    def ok(self, method: str, path: str, token: str | None = None, body=None, want=(200, 201)):
        status, data = self.request(method, path, token, body)
        if status not in (want if isinstance(want, tuple) else (want,)):
            raise ApiError(f"{method} {path} -> {status}: {data}")
        return data

    def login(self, login: str, password: str) -> str:
        return self.ok("POST", "/api/auth/login", body={"login": login, "password": password})["token"]

    def device(self, login: str, secret: str) -> str:
        return self.ok("POST", "/api/auth/device", body={"login": login, "secret": secret})["token"]

    def kiosk(self) -> str:
        return self.device(*KIOSK)

    def issue(self, kiosk_token: str, service_id: int) -> dict:
        return self.ok("POST", "/api/kiosk/tickets", kiosk_token, {"service_id": service_id}, want=201)

    def operator_at(self, creds: tuple[str, str], window: int,
                    services: list[int] = DEMO_SERVICES) -> str:
        token = self.login(*creds)
        self.ok("PUT", "/api/operator/place", token, {"window_id": window, "service_ids": services})
        return token

    def call_next(self, token: str) -> dict | None:
        return self.ok("POST", "/api/operator/call-next", token, {})["ticket"]

    def act(self, token: str, ticket_id: int, action: str, body=None) -> dict:
        return self.ok("POST", f"/api/operator/tickets/{ticket_id}/{action}", token,
                       {} if body is None else body)
