#!/usr/bin/env python3
"""The WebSocket benchmark (#13): the hub's board sockets against a plain Node `ws` server, in one
run, with the same client (client.rs, one thread, built here as the `ws_client` bench target), at
each size. The event is an operator's recall for the hub and a POST /fire for the peer; each
server is started afresh for each size, and its memory per socket is its RSS growth over the
sockets it holds.

    cargo build --release --features whisper
    python3 tests/bench/ws/run.py [--sizes 2000,10000,19000] [--events 20] [--hub target/release/hub]

npm installs the peer's one package (`ws`) into tests/bench/ws on the first run."""
from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, what: str) -> None:
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{what} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"{what} did not listen on {port}")


def call(base: str, method: str, path: str, token: str | None = None, body: dict | None = None) -> dict:
    req = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body is not None else None)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req, timeout=30) as res:
        raw = res.read()
    return json.loads(raw) if raw else {}


CLIENT: list[str] = []


def build_client() -> str:
    """Builds the client (release) and answers its executable."""
    out = subprocess.run(["cargo", "build", "--release", "--bench", "ws_client", "--message-format=json"],
                         cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"building the client failed: {out.stderr[-2000:]}")
    for line in out.stdout.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg.get("target", {}).get("name") == "ws_client" \
                and msg.get("executable"):
            return msg["executable"]
    sys.exit("the client was built but cargo named no executable")


def client(cfg: dict) -> dict:
    out = subprocess.run([CLIENT[0], json.dumps(cfg)], capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        sys.exit(f"client failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def hub_run(hub: str, n: int, events: int) -> dict:
    data = tempfile.mkdtemp(prefix="hub-ws-bench-")
    port = free_port()
    env = {**os.environ, "HUB_LOG": "warn", "HUB_ANONYMOUS_LIMIT": "0"}
    proc = subprocess.Popen([hub, "serve", "--demo", "--listen", f"127.0.0.1:{port}", "--data", data], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port, proc, "the hub")
        base = f"http://127.0.0.1:{port}"
        board = call(base, "POST", "/api/auth/device", body={"login": "board1", "secret": "demo-board-secret"})["token"]
        kiosk = call(base, "POST", "/api/auth/device", body={"login": "kiosk1", "secret": "demo-kiosk-secret"})["token"]
        op = call(base, "POST", "/api/auth/login", body={"login": "operator1", "password": "demo-operator1"})["token"]
        call(base, "PUT", "/api/operator/place", op, {"window_id": 1, "service_ids": [2, 3, 4]})
        call(base, "POST", "/api/kiosk/tickets", kiosk, {"service_id": 2})
        ticket = call(base, "POST", "/api/operator/call-next", op)["ticket"]["id"]
        return client({
            "url": f"ws://127.0.0.1:{port}/ws/board?token={board}", "n": n, "events": events, "pid": proc.pid,
            "fire": {"url": f"{base}/api/operator/tickets/{ticket}/recall", "method": "POST",
                     "headers": {"Authorization": "Bearer " + op}},
        })
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def peer_run(n: int, events: int) -> dict:
    port = free_port()
    proc = subprocess.Popen(["node", str(HERE / "peer.mjs"), str(port)], stdout=subprocess.DEVNULL)
    try:
        wait_port(port, proc, "the Node peer")
        return client({"url": f"ws://127.0.0.1:{port}/ws", "n": n, "events": events, "pid": proc.pid,
                       "fire": {"url": f"http://127.0.0.1:{port}/fire", "method": "POST"}})
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def kb(kib: float) -> float:
    return kib * 1024 / 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="2000,10000,19000")
    ap.add_argument("--events", type=int, default=20)
    ap.add_argument("--hub", default=str(ROOT / "target" / "release" / "hub"))
    args = ap.parse_args()
    if not (HERE / "node_modules" / "ws").exists():
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--silent"], cwd=HERE, check=True)
    CLIENT.append(build_client())
    # Every socket is a file, on both ends: the client and the servers inherit this.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    print(f"WebSocket benchmark: the hub's boards against a plain Node ws server; {args.events} events a size; "
          f"open-file limit {hard}")
    print("| sockets | hub p50 / p99 ms | Node p50 / p99 ms | hub KB/socket | Node KB/socket | p99 hub/Node | memory hub/Node |")
    print("|---|---|---|---|---|---|---|")
    idle = []
    for n in [int(x) for x in args.sizes.split(",") if x.strip()]:
        h = hub_run(args.hub, n, args.events)
        p = peer_run(n, args.events)
        for name, r in (("hub", h), ("Node", p)):
            if r["connected"] < n or r["missed"]:
                print(f"  ({name} at {n}: {r['connected']} connected, {r['missed']} deliveries missed, {r['closed']} closed)")
        idle.append((h["rss_before_kb"], p["rss_before_kb"]))
        print(f"| {n} | {h['p50_ms']:.1f} / {h['p99_ms']:.1f} | {p['p50_ms']:.1f} / {p['p99_ms']:.1f} | "
              f"{kb(h['per_socket_kb']):.1f} | {kb(p['per_socket_kb']):.1f} | {h['p99_ms'] / p['p99_ms']:.2f} | "
              f"{h['per_socket_kb'] / p['per_socket_kb']:.2f} |", flush=True)
    hub_idle = min(i[0] for i in idle) / 1024
    node_idle = min(i[1] for i in idle) / 1024
    print(f"idle RSS before the sockets: hub {hub_idle:.1f} MiB (demo seeded; speech as the machine allows), "
          f"Node peer {node_idle:.1f} MiB")


if __name__ == "__main__":
    main()
