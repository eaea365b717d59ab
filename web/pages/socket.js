/* The pages' live connection: a WebSocket that reconnects by itself, and the badge that shows
   its state. */
import { onLang, t } from './i18n.js';

/* WebSocket with automatic reconnect; back-off doubles from 500 ms, capped at 5 s. */
export function socket(path, h) {
  const handlers = h || {};
  let ws = null; let delay = 500; let timer = null; let stopped = false;
  const status = (s) => { if (handlers.onStatus) handlers.onStatus(s); };
  function url() {
    const p = typeof path === 'function' ? path() : path;
    return (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + p;
  }
  function connect() {
    clearTimeout(timer); timer = null;
    if (stopped) return;
    status(ws === null && delay === 500 ? 'connecting' : 'reconnecting');
    try { ws = new WebSocket(url()); } catch (_) { ws = null; schedule(); return; }
    const me = ws;
    me.onopen = () => { delay = 500; status('live'); if (handlers.onOpen) handlers.onOpen(); };
    me.onmessage = (ev) => {
      let data;
      try { data = JSON.parse(ev.data); } catch (_) { return; }
      if (handlers.onMessage) handlers.onMessage(data);
    };
    me.onclose = () => {
      if (ws !== me) return;
      ws = null;
      if (stopped) return;
      status('reconnecting');
      if (handlers.onClose) handlers.onClose();
      schedule();
    };
  }
  function schedule() {
    if (stopped || timer) return;
    const wait = Math.min(5000, delay * (0.85 + Math.random() * 0.3));
    delay = Math.min(delay * 2, 5000);
    timer = setTimeout(connect, wait);
  }
  const now = () => { if (!stopped && !ws) { delay = 500; connect(); } };
  /* Gives up the current socket (its onclose is ignored from here on) and tries again. */
  function drop() {
    const w = ws;
    ws = null;
    if (w) { try { w.close(); } catch (_) { /* already closing */ } }
    if (stopped) return;
    status('reconnecting');
    if (handlers.onClose) handlers.onClose();
    schedule();
  }
  /* The browser lost its network: a socket can look open for minutes after its connection is
     gone (Chromium keeps it and holds what is sent), so it is dropped at once and the back-off
     takes over: senders see send() fail and keep their data. Back on line, a socket still
     trying is replaced by a fresh attempt (after which pages re-read what they missed). */
  window.addEventListener('offline', () => { if (ws) drop(); });
  window.addEventListener('online', () => { if (ws && ws.readyState !== 1) drop(); now(); });
  document.addEventListener('visibilitychange', () => { if (!document.hidden) now(); });
  connect();
  return {
    /* Sends a JSON frame when the socket is open; false when it is not (the caller keeps it). */
    send(data) {
      if (!ws || ws.readyState !== 1) return false;
      try { ws.send(JSON.stringify(data)); return true; } catch (_) { return false; }
    },
    get live() { return !!(ws && ws.readyState === 1); },
    /* The page found it missed something this connection cannot give again: a new one. */
    resync() { if (!stopped) { delay = 500; drop(); } },
    stop() {
      stopped = true; clearTimeout(timer); timer = null;
      if (ws) { const w = ws; ws = null; w.close(); }
      status('offline');
    },
  };
}

/* Keeps a [data-testid=ws-status] badge in step with a socket's state. */
export function wsBadge(node) {
  let state = 'connecting';
  const paint = () => { if (node) { node.dataset.state = state; node.textContent = t('ws.' + state); } };
  onLang(paint);
  paint();
  return (s) => { state = s; paint(); };
}
