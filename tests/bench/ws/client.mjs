// The benchmark's client, the same for the hub and its peer: opens N WebSockets, waits for each
// one's first message (the hub's snapshot, the peer's greeting), reads the server's RSS, then
// fires E events one after another (an HTTP call the caller names) and times, on every socket,
// the first message after each firing. Prints one JSON line.
// node client.mjs '{"url": "ws://…", "n": 2000, "events": 20, "pid": 1234,
//                   "fire": {"url": "http://…", "method": "POST", "headers": {…}}}'
import fs from 'node:fs';
import WebSocket from 'ws';

const cfg = JSON.parse(process.argv[2]);
const CONNECT_AT_ONCE = 200;

function rssKb(pid) {
  const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+) kB/);
  return m ? Number(m[1]) : NaN;
}

const sockets = [];
const waiting = new Set();
let firedAt = 0;
let allIn = null;
const lat = [];
let closed = 0;

function open() {
  return new Promise((resolve) => {
    const ws = new WebSocket(cfg.url, { perMessageDeflate: false });
    let first = true;
    ws.on('message', () => {
      if (first) { first = false; resolve(ws); return; }
      if (waiting.delete(ws)) {
        lat.push(performance.now() - firedAt);
        if (waiting.size === 0 && allIn) allIn();
      }
    });
    ws.on('error', () => { if (first) { first = false; resolve(null); } });
    ws.on('close', () => {
      closed += 1;
      if (first) { first = false; resolve(null); }
      if (waiting.delete(ws) && waiting.size === 0 && allIn) allIn();
    });
  });
}

const before = rssKb(cfg.pid);
for (let i = 0; i < cfg.n; i += CONNECT_AT_ONCE) {
  const batch = await Promise.all(Array.from({ length: Math.min(CONNECT_AT_ONCE, cfg.n - i) }, open));
  for (const ws of batch) if (ws) sockets.push(ws);
}
// Let the server settle what each connection costs it.
await new Promise((r) => setTimeout(r, 1000));
const after = rssKb(cfg.pid);
let missed = 0;
for (let e = 0; e < cfg.events; e += 1) {
  for (const ws of sockets) if (ws.readyState === WebSocket.OPEN) waiting.add(ws);
  const done = new Promise((r) => { allIn = r; });
  const timeout = new Promise((r) => setTimeout(r, 30000));
  firedAt = performance.now();
  const res = await fetch(cfg.fire.url, { method: cfg.fire.method || 'POST', headers: cfg.fire.headers || {}, body: cfg.fire.body });
  if (!res.ok) throw new Error(`firing answered ${res.status}: ${await res.text()}`);
  await Promise.race([done, timeout]);
  missed += waiting.size;
  waiting.clear();
  allIn = null;
  // A breath between events, so each is timed on its own.
  await new Promise((r) => setTimeout(r, 200));
}
lat.sort((a, b) => a - b);
const pct = (p) => (lat.length ? lat[Math.min(lat.length - 1, Math.round((lat.length - 1) * p))] : NaN);
console.log(JSON.stringify({
  connected: sockets.length, rss_before_kb: before, rss_after_kb: after,
  per_socket_kb: (after - before) / Math.max(1, sockets.length),
  p50_ms: pct(0.5), p99_ms: pct(0.99), max_ms: lat[lat.length - 1], deliveries: lat.length, missed, closed,
}));
for (const ws of sockets) ws.terminate();
process.exit(0);
