/* /widget?key=…&lang=…: the web chat inside the widget's iframe (same origin as the hub API).
   The visitor token lives in localStorage hub.chat.<key>; messages not yet acknowledged by the
   server live in hub.chat.outbox.<key> and are resent (same client_id) after every (re)connect.
   Every piece of text from the server or the visitor goes in with textContent. */
import * as Hub from './hub.js';
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const key = (params.get('key') || '').trim();
const TOKEN_KEY = 'hub.chat.' + key;
const OUTBOX_KEY = 'hub.chat.outbox.' + key;
const embedded = window.parent !== window;
// Browsers that block storage in third-party frames: the host page (widget.js) keeps the
// token in its own storage and hands it over by message.
const storageOk = (() => {
  try { localStorage.setItem('hub.probe', '1'); localStorage.removeItem('hub.probe'); return true; } catch (_) { return false; }
})();
const TYPING_EVERY = 2000;
const TYPING_SHOWN = 4000;
const S = {
  token: Hub.stored(TOKEN_KEY) || null,
  conversation: null, service: null, contact: null,
  lastId: 0,                 // highest message id received (the socket's `after` on reconnect)
  byId: new Map(),           // message id → bubble
  pending: new Map(),        // client_id → bubble not yet acknowledged
  sock: null, started: false, starting: null, retry: 1000, fails: 0,
  typingSentAt: 0, typingTimer: null,
  score: 0, rated: new Set(), offlineSent: false,
};
const badge = Hub.wsBadge(Hub.tid('ws-status'));
const input = $('chat-input');
const thread = $('thread');

if (Hub.setLang) Hub.setLang(params.get('lang'));
Hub.show($('chat-close'), embedded);

/* ---------- host page (widget.js) ---------- */
function tellHost(event) {
  if (!embedded) return;
  try { window.parent.postMessage({ source: 'hub-widget', event }, '*'); } catch (_) { /* detached */ }
}
window.addEventListener('message', (ev) => {
  if (!embedded || ev.source !== window.parent) return;
  const d = ev.data;
  if (!d || d.source !== 'hub-widget-host') return;
  if (!storageOk && typeof d.token === 'string' && d.token && !S.token) {
    S.token = d.token;
    start();
  }
  if (d.open) {
    start();
    if (window.innerWidth > 480) input.focus();
    scrollDown(true);
  }
});
$('chat-close').addEventListener('click', () => tellHost('close'));
document.addEventListener('keydown', (ev) => { if (ev.key === 'Escape') tellHost('close'); });
// A visitor who touches the chat wants it, whatever the host said.
document.addEventListener('pointerdown', () => start(), { once: true });
document.addEventListener('focusin', () => start(), { once: true });

/* ---------- outbox ---------- */
function outbox() {
  try {
    const v = JSON.parse(Hub.stored(OUTBOX_KEY) || '[]');
    return Array.isArray(v) ? v.filter((x) => x && typeof x.client_id === 'string') : [];
  } catch (_) { return []; }
}
function saveOutbox(list) { Hub.store(OUTBOX_KEY, list.length ? JSON.stringify(list) : null); }
function outboxAdd(item) { saveOutbox(outbox().filter((x) => x.client_id !== item.client_id).concat([item])); }
function outboxDrop(cid) {
  const list = outbox();
  const rest = list.filter((x) => x.client_id !== cid);
  if (rest.length !== list.length) saveOutbox(rest);
}
function sendFrame(item) {
  if (!S.sock) return false;
  return S.sock.send({ type: 'message', client_id: item.client_id, body: item.body, attachment_ids: item.attachment_ids || [] });
}
function flushOutbox() { outbox().forEach(sendFrame); }

/* ---------- thread ---------- */
const attHref = (a) => '/api/chat/attachments/' + encodeURIComponent(a.id) + '?token=' + encodeURIComponent(S.token || '');

function bubble(m, state) {
  const author = ['visitor', 'operator', 'system'].includes(m.author) ? m.author : 'system';
  const node = Hub.el('div', {
    class: 'chat-msg', 'data-testid': 'chat-message', 'data-author': author,
    'data-message-id': m.id != null ? String(m.id) : null, 'data-client-id': m.client_id || null,
    'data-state': state,
  });
  if (m.id != null) node.dataset.order = String(m.id);
  if (author === 'operator') node.appendChild(Hub.el('div', { class: 'chat-who' }, m.operator_name || Hub.t('chat.operator')));
  const atts = Array.isArray(m.attachments) ? m.attachments : [];
  const onlyFile = atts.length === 1 && m.body === atts[0].name;
  const note = author === 'system' && Hub.speechNote(m.body);
  if (note) node.appendChild(Hub.el('div', { class: 'chat-body' }, note));
  else if (m.body && !onlyFile) node.appendChild(Hub.el('div', { class: 'chat-body' }, m.body));
  if (atts.length) node.appendChild(Hub.el('div', { class: 'chat-atts' }, ...atts.map((a) => Hub.attachmentNode(a, attHref(a)))));
  if (author !== 'system') {
    node.appendChild(Hub.el('div', { class: 'chat-meta' },
      Hub.el('span', { class: 'chat-time' }, Hub.fmtTime(m.at || Date.now())),
      author === 'visitor' ? Hub.el('span', { class: 'chat-mark', 'aria-hidden': 'true' }) : null));
  }
  return node;
}

/* Server messages in id order; notices after what was there when they came; pending at the end. */
function place(node, order) {
  for (const c of thread.children) {
    if (order !== Infinity && (!c.dataset.order || Number(c.dataset.order) > order)) { thread.insertBefore(node, c); return; }
  }
  thread.appendChild(node);
}

function nearBottom() {
  const sc = $('scroll');
  return sc.scrollHeight - sc.scrollTop - sc.clientHeight < 80;
}
function scrollDown(force) {
  const sc = $('scroll');
  if (force || nearBottom()) requestAnimationFrame(() => { sc.scrollTop = sc.scrollHeight; });
}
function updateEmpty() { Hub.show($('chat-empty'), !thread.children.length); }

function addMessage(m, live) {
  if (!m || m.id == null) return;
  const id = Number(m.id);
  if (id > S.lastId) S.lastId = id;
  if (S.byId.has(id)) return;
  const stick = nearBottom();
  const node = bubble(m, 'sent');
  const pend = m.client_id ? S.pending.get(m.client_id) : null;
  if (pend) { pend.remove(); S.pending.delete(m.client_id); outboxDrop(m.client_id); }
  S.byId.set(id, node);
  place(node, id);
  if (live && m.author === 'operator') { tellHost('message'); hideTyping(); }
  updateEmpty();
  scrollDown(stick || m.author === 'visitor');
}

function showPending(item) {
  const node = bubble({ author: 'visitor', body: item.body, attachments: item.attachments || [], client_id: item.client_id, at: item.at }, 'pending');
  S.pending.set(item.client_id, node);
  place(node, Infinity);
  updateEmpty();
  scrollDown(true);
  return node;
}

function ack(cid, mid) {
  if (!cid) return;
  outboxDrop(cid);
  const node = S.pending.get(cid);
  if (!node) return;
  S.pending.delete(cid);
  if (mid != null && S.byId.has(Number(mid))) { node.remove(); updateEmpty(); return; }
  node.dataset.state = 'sent';
  if (mid != null) {
    node.dataset.messageId = String(mid);
    node.dataset.order = String(mid);
    S.byId.set(Number(mid), node);
  }
}

/* A message the server refused: kept on screen with a retry button, out of the outbox. */
function failed(cid, text) {
  const node = S.pending.get(cid);
  const item = outbox().find((x) => x.client_id === cid);
  outboxDrop(cid);
  if (!node) return;
  node.dataset.state = 'failed';
  if (node.querySelector('.chat-retry')) return;
  // Worded again on a language switch (data-i18n), like the rest of the frame.
  node.appendChild(Hub.el('button', {
    type: 'button', class: 'chat-retry', 'data-testid': 'chat-retry', title: text || '', 'data-i18n': 'chat.retry',
    onclick: (ev) => {
      ev.currentTarget.remove();
      node.dataset.state = 'pending';
      if (item) { outboxAdd(item); sendFrame(item); }
    },
  }, Hub.t('chat.retry')));
}

const TRANSIENT = new Set(['store_unavailable', 'bus_unavailable', 'unavailable', 'internal', 'too_many_messages']);
function retryLater(cid) {
  setTimeout(() => {
    const item = outbox().find((x) => x.client_id === cid);
    if (item && sendFrame(item)) Hub.clearMessage();
  }, 3000 + Math.random() * 2000);
}

/* A line from the chat itself ("Анна подключилась к чату"), worded again on a language switch. */
function notice(word, values) {
  const node = Hub.el('div', { class: 'chat-notice', 'data-testid': 'chat-notice' }, Hub.t(word, values));
  node.__word = () => Hub.t(word, values);
  node.dataset.order = String(S.lastId + 0.5);
  place(node, S.lastId + 0.5);
  updateEmpty();
  scrollDown(false);
}

/* ---------- conversation state ---------- */
function setConversation(c, live) {
  const prev = S.conversation;
  S.conversation = c || null;
  if (live && c) {
    if (c.status === 'open' && c.assignee
      && (!prev || prev.id !== c.id || prev.status !== 'open' || prev.assignee !== c.assignee)) {
      // Russian past tense follows the person; not given, a form with no gender.
      notice(c.assignee_gender === 'f' ? 'chat.joinedF' : c.assignee_gender === 'm' ? 'chat.joinedM' : 'chat.joined', { name: c.assignee });
    }
    if (c.status === 'closed' && prev && prev.id === c.id && prev.status !== 'closed') notice('chat.ended');
  }
  renderHeader();
  renderRating();
  renderOffline();
}

function renderHeader() {
  const c = S.conversation;
  Hub.setText($('chat-title'), (S.service && S.service.name) || Hub.t('chat.title'));
  let sub = '';
  if (c && c.status === 'open' && c.assignee) sub = Hub.t('chat.with', { name: c.assignee });
  else if (c && (c.status === 'queued' || c.status === 'offered')) {
    const ewt = S.service && S.service.ewt_secs;
    sub = (typeof ewt === 'number' && ewt > 0)
      ? Hub.t('chat.waitingEta', { min: Math.max(1, Math.round(ewt / 60)) })
      : Hub.t('chat.waiting');
  }
  else if (c && c.status === 'closed') sub = Hub.t('chat.endedShort');
  const op = Hub.tid('chat-operator');
  Hub.setText(op, sub);
  op.dataset.status = c ? c.status : '';
}

function renderRating() {
  const c = S.conversation;
  const closed = !!(c && c.status === 'closed');
  const done = closed && (S.rated.has(c.id) || c.rating != null);
  Hub.show(Hub.tid('chat-rating'), closed && !done);
  Hub.show(Hub.tid('chat-rated'), closed && done);
  if (!closed) { S.score = 0; paintStars(); }
}

function offlineWanted() {
  const svc = S.service;
  if (!svc) return false;
  const c = S.conversation;
  if (c && c.status === 'open') return false;
  return svc.open === false || svc.operators_available === false;
}
function fmtAnswerBy(ms) {
  try {
    return new Date(ms).toLocaleString(Hub.lang, { weekday: 'short', day: 'numeric', month: 'long', hour: '2-digit', minute: '2-digit' });
  } catch (_) { return new Date(ms).toString(); }
}
function renderOffline() {
  const want = offlineWanted() && !S.offlineSent;
  Hub.show(Hub.tid('chat-offline-form'), want);
  if (!want) return;
  const svc = S.service;
  Hub.setText($('offline-h'), Hub.t(svc.open === false ? 'chat.closedNow' : 'chat.busyNow'));
  Hub.setText($('offline-text'), svc.answer_by ? Hub.t('chat.leaveEmailBy', { time: fmtAnswerBy(svc.answer_by) }) : Hub.t('chat.leaveEmail'));
  const email = $('chat-email');
  if (!email.value && S.contact && S.contact.email) email.value = S.contact.email;
  const name = $('chat-name');
  if (!name.value && S.contact && S.contact.name) name.value = S.contact.name;
}

/* ---------- typing ---------- */
function hideTyping() { clearTimeout(S.typingTimer); S.typingTimer = null; Hub.show(Hub.tid('chat-typing'), false); }
function showTyping() {
  const stick = nearBottom();
  Hub.show(Hub.tid('chat-typing'), true);
  clearTimeout(S.typingTimer);
  S.typingTimer = setTimeout(hideTyping, TYPING_SHOWN);
  scrollDown(stick);
}

/* ---------- server ---------- */
function onFrame(f) {
  if (!f || typeof f !== 'object') return;
  switch (f.type) {
    case 'hello':
      if ('conversation' in f) setConversation(f.conversation, false);
      (Array.isArray(f.messages) ? f.messages : []).forEach((m) => addMessage(m, false));
      break;
    case 'message': addMessage(f.message, true); break;
    case 'ack': ack(f.client_id, f.message_id); break;
    case 'typing': showTyping(); break;
    case 'status':
      if (S.service && 'ewt_secs' in f) S.service.ewt_secs = f.ewt_secs;
      setConversation(f.conversation, true);
      break;
    case 'error': {
      const err = new Hub.HubError(0, f.code || 'error', f.message || '');
      if (f.reason) { err.reason = f.reason; err.args = f.args; }
      Hub.message(() => Hub.errorText(err), 'error');
      if (!f.client_id) break;
      // Not stored for now (store or bus down, too many at once): it stays in the outbox and
      // goes again shortly. Anything else (too long, unknown attachment…) will not pass.
      if (TRANSIENT.has(f.code)) retryLater(f.client_id);
      else failed(f.client_id, Hub.errorText(err));
      break;
    }
    default: break;
  }
}

function connect() {
  if (S.sock || !S.token) return;
  S.sock = Hub.socket(() => '/ws/chat?token=' + encodeURIComponent(S.token) + '&after=' + S.lastId, {
    onOpen: () => { S.fails = 0; flushOutbox(); },
    onMessage: onFrame,
    onStatus: badge,
    onClose: () => {
      // A token the server no longer knows: ask for a (new) visitor again.
      S.fails += 1;
      if (S.fails === 3) revalidate();
    },
  });
}

async function startCall() {
  const body = { key, lang: Hub.lang };
  if (S.token) body.token = S.token;
  const r = await Hub.api('POST', '/api/chat/start', body);
  const changed = !!(r && r.token && r.token !== S.token);
  if (changed) {
    S.token = r.token;
    Hub.store(TOKEN_KEY, r.token);
    if (!storageOk && embedded) {
      try { window.parent.postMessage({ source: 'hub-widget', event: 'token', token: r.token }, '*'); } catch (_) { /* detached */ }
    }
  }
  S.service = (r && r.service) || null;
  S.contact = (r && r.contact) || null;
  const tg = $('chat-telegram');
  Hub.show(tg, !!(r && r.telegram));
  tg.title = Hub.t('chat.telegram');
  if (r && 'conversation' in r) setConversation(r.conversation, false); else { renderHeader(); renderOffline(); }
  return changed;
}

function start() {
  if (S.started) return S.starting || Promise.resolve();
  if (!key) { Hub.say('chat.noKey', null, 'error'); return Promise.resolve(); }
  S.started = true;
  S.starting = (async () => {
    for (;;) {
      try {
        await startCall();
        Hub.clearMessage();
        connect();
        return;
      } catch (e) {
        Hub.showError(e);
        if (e instanceof Hub.HubError && e.status >= 400 && e.status < 500 && e.status !== 408 && e.status !== 429) {
          badge('offline');
          return; // unknown key and the like: retrying does not help
        }
        await new Promise((res) => setTimeout(res, S.retry));
        S.retry = Math.min(S.retry * 2, 30000);
      }
    }
  })().finally(() => { S.starting = null; });
  return S.starting;
}

async function revalidate() {
  try {
    const changed = await startCall();
    if (changed && S.sock) { const old = S.sock; S.sock = null; old.stop(); connect(); }
  } catch (_) { /* the socket keeps retrying */ }
}

/* ---------- sending ---------- */
function send(body, atts) {
  const item = {
    client_id: Hub.uuid(), body, attachment_ids: atts.map((a) => a.id), attachments: atts, at: Date.now(),
  };
  outboxAdd(item);
  showPending(item);
  sendFrame(item);
  start();
}

function sendText() {
  const body = input.value.trim();
  if (!body) return;
  if (body.length > 4000) { Hub.say('chat.tooLong', { max: 4000 }, 'error'); return; }
  Hub.clearMessage();
  input.value = '';
  autosize();
  send(body, []);
  input.focus();
}

function autosize() {
  input.style.height = 'auto';
  input.style.height = Math.min(input.scrollHeight + 2, 120) + 'px';
}

$('chat-send').addEventListener('click', sendText);
input.addEventListener('keydown', (ev) => {
  if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing && ev.keyCode !== 229) { ev.preventDefault(); sendText(); }
});
input.addEventListener('input', () => {
  autosize();
  if (!input.value.trim() || !S.sock) return;
  const now = Date.now();
  if (now - S.typingSentAt >= TYPING_EVERY && S.sock.send({ type: 'typing' })) S.typingSentAt = now;
});

$('chat-attach').addEventListener('change', async (ev) => {
  const file = ev.target.files && ev.target.files[0];
  ev.target.value = '';
  if (!file) return;
  const problem = Hub.fileProblem(file);
  if (problem) { Hub.message(() => Hub.fileProblem(file), 'error'); return; }
  await uploadAndSend(file);
});

/* Uploads a file (picked or recorded) and sends it as a message. */
async function uploadAndSend(file) {
  await start();
  if (!S.token) return;
  Hub.say('att.uploading', { name: file.name }, 'info');
  try {
    const a = await Hub.upload('/api/chat/attachments', file, S.token);
    Hub.clearMessage();
    send(a.name || file.name, [a]);
  } catch (e) { Hub.showError(e); }
}

/* ---------- voice messages: recorded as 16 kHz WAV, sent as an attachment ----------
   WAV rather than the browser's Opus: the hub transcribes it without a codec, and every
   console plays it. Two minutes at most (that is 3.8 MB, under the 5 MB file limit). */
const VOICE_MAX_S = 120;
const R = { stream: null, ctx: null, node: null, chunks: [], rate: 48000, timer: null, started: 0 };
const recBtn = $('chat-record');
// Browsers give the microphone only to secure pages (https, or this machine): elsewhere the
// button would only ever fail, so it is not shown.
if (!window.isSecureContext || !navigator.mediaDevices) recBtn.classList.add('hidden');

function wavFile(chunks, rate) {
  let n = 0;
  chunks.forEach((c) => { n += c.length; });
  const all = new Float32Array(n);
  let o = 0;
  chunks.forEach((c) => { all.set(c, o); o += c.length; });
  // Down to 16 kHz by averaging each output sample's span (enough of a low-pass for speech).
  const out = new Int16Array(Math.floor(n * 16000 / rate));
  const step = rate / 16000;
  for (let i = 0; i < out.length; i++) {
    const a = Math.floor(i * step), b = Math.max(a + 1, Math.floor((i + 1) * step));
    let sum = 0;
    for (let k = a; k < b && k < n; k++) sum += all[k];
    const v = Math.max(-1, Math.min(1, sum / (b - a)));
    out[i] = v < 0 ? v * 0x8000 : v * 0x7fff;
  }
  const buf = new ArrayBuffer(44 + out.length * 2);
  const d = new DataView(buf);
  const str = (off, s) => { for (let i = 0; i < s.length; i++) d.setUint8(off + i, s.charCodeAt(i)); };
  str(0, 'RIFF'); d.setUint32(4, 36 + out.length * 2, true); str(8, 'WAVEfmt ');
  d.setUint32(16, 16, true); d.setUint16(20, 1, true); d.setUint16(22, 1, true);
  d.setUint32(24, 16000, true); d.setUint32(28, 32000, true); d.setUint16(32, 2, true); d.setUint16(34, 16, true);
  str(36, 'data'); d.setUint32(40, out.length * 2, true);
  new Int16Array(buf, 44).set(out);
  return new File([buf], Hub.t('chat.voiceName') + '.wav', { type: 'audio/wav' });
}

function recTick() {
  const secs = Math.floor((Date.now() - R.started) / 1000);
  Hub.say('chat.recording', { secs }, 'info');
  if (secs >= VOICE_MAX_S) stopRecording(true);
}

async function startRecording() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    Hub.say('chat.micDenied', { reason: 'getUserMedia' }, 'error');
    return;
  }
  try {
    R.stream = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true } });
  } catch (e) {
    Hub.say('chat.micDenied', { reason: e && e.name || String(e) }, 'error');
    return;
  }
  const Ctx = window.AudioContext || window.webkitAudioContext;
  R.ctx = new Ctx();
  R.rate = R.ctx.sampleRate;
  R.chunks = [];
  const src = R.ctx.createMediaStreamSource(R.stream);
  // ScriptProcessor is deprecated but everywhere; an AudioWorklet would need its own module.
  R.node = R.ctx.createScriptProcessor(4096, 1, 1);
  R.node.onaudioprocess = (ev) => { R.chunks.push(new Float32Array(ev.inputBuffer.getChannelData(0))); };
  src.connect(R.node);
  R.node.connect(R.ctx.destination);
  R.started = Date.now();
  recBtn.setAttribute('aria-pressed', 'true');
  recBtn.replaceChildren(Hub.icon('stop'));
  R.timer = setInterval(recTick, 250);
  recTick();
}

async function stopRecording(deliver) {
  clearInterval(R.timer);
  recBtn.setAttribute('aria-pressed', 'false');
  recBtn.replaceChildren(Hub.icon('mic'));
  if (R.node) R.node.disconnect();
  if (R.stream) R.stream.getTracks().forEach((t) => t.stop());
  if (R.ctx) R.ctx.close().catch(() => {});
  const chunks = R.chunks, rate = R.rate;
  R.stream = null; R.ctx = null; R.node = null; R.chunks = [];
  Hub.clearMessage();
  if (!deliver || !chunks.length) return;
  await uploadAndSend(wavFile(chunks, rate));
}

recBtn.addEventListener('click', () => {
  if (R.stream) stopRecording(true); else startRecording();
});

/* ---------- offline: leave an e-mail ---------- */
$('offline-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const email = $('chat-email').value.trim();
  const name = $('chat-name').value.trim();
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) { Hub.say('chat.badEmail', null, 'error'); $('chat-email').focus(); return; }
  await start();
  if (!S.token) return;
  const btn = Hub.tid('chat-email-submit');
  btn.disabled = true;
  try {
    const body = { email };
    if (name) body.name = name;
    const r = await Hub.api('POST', '/api/chat/contact', body, { token: S.token });
    Hub.clearMessage();
    S.offlineSent = true;
    S.promise = { by: r && r.answer_by, email };
    if (r && r.confirm) {
      // The answers go by mail once the visitor shows the address is theirs: a code was sent.
      Hub.setText($('confirm-text'), Hub.t('chat.codeSent', { email }));
      Hub.show(Hub.tid('chat-confirm-form'), true);
      $('chat-code').value = '';
      renderOffline();
      $('chat-code').focus();
      return;
    }
    S.contact = Object.assign({}, S.contact, body);
    showPromise();
    renderOffline();
  } catch (e) { Hub.showError(e); } finally { btn.disabled = false; }
});

function showPromise() {
  const { by, email } = S.promise || {};
  const note = Hub.tid('chat-offline-note');
  Hub.setText(note, by ? Hub.t('chat.answerBy', { time: fmtAnswerBy(by), email }) : Hub.t('chat.answerSoon', { email }));
  Hub.show(note, true);
}

$('confirm-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const code = $('chat-code').value.trim();
  if (!/^[0-9]{6}$/.test(code)) { Hub.say('chat.badCode', null, 'error'); $('chat-code').focus(); return; }
  const btn = Hub.tid('chat-code-submit');
  btn.disabled = true;
  try {
    const r = await Hub.api('POST', '/api/chat/contact/confirm', { code }, { token: S.token });
    Hub.clearMessage();
    Hub.show(Hub.tid('chat-confirm-form'), false);
    S.contact = Object.assign({}, S.contact, { email: r.email });
    showPromise();
  } catch (e) { Hub.showError(e); } finally { btn.disabled = false; }
});

/* ---------- going on in Telegram ---------- */
// The link carries a one-time code, so it is asked for on the click; the window opens at once
// (within the click, as browsers require) and goes to the bot when the link is there.
$('chat-telegram').addEventListener('click', async () => {
  const w = window.open('about:blank', '_blank');
  try {
    const r = await Hub.api('POST', '/api/chat/telegram', undefined, { token: S.token });
    if (w) w.location.href = r.url; else window.top.location.href = r.url;
  } catch (e) {
    if (w) w.close();
    Hub.showError(e);
  }
});

/* ---------- rating ---------- */
function paintStars() {
  $('stars').querySelectorAll('button').forEach((b) => {
    const n = Number(b.dataset.score);
    b.setAttribute('aria-pressed', String(n === S.score));
    b.classList.toggle('on', n <= S.score);
  });
  $('rate-submit').disabled = !S.score;
}
function buildStars() {
  $('stars').setAttribute('aria-label', Hub.t('chat.rateTitle'));
  $('stars').replaceChildren(...[1, 2, 3, 4, 5].map((n) => Hub.el('button', {
    type: 'button', class: 'chat-star', 'data-testid': 'chat-rate', 'data-score': String(n),
    'aria-label': Hub.t('chat.stars', { n }), title: Hub.t('chat.stars', { n }),
    onclick: () => { S.score = n; paintStars(); },
  }, Hub.icon('star'))));
  paintStars();
}
$('rate-submit').addEventListener('click', async () => {
  const c = S.conversation;
  if (!c || !S.score) return;
  const btn = $('rate-submit');
  btn.disabled = true;
  try {
    const body = { conversation_id: c.id, score: S.score };
    const comment = $('rate-comment').value.trim();
    if (comment) body.comment = comment;
    await Hub.api('POST', '/api/chat/rating', body, { token: S.token });
    Hub.clearMessage();
    S.rated.add(c.id);
    $('rate-comment').value = '';
    renderRating();
  } catch (e) { Hub.showError(e); btn.disabled = !S.score; }
});

/* ---------- boot ---------- */
Hub.onLang(() => {
  buildStars(); renderHeader(); renderOffline();
  document.querySelectorAll('[data-testid="chat-notice"]').forEach((n) => { if (n.__word) n.textContent = n.__word(); });
});
buildStars();
renderHeader();
outbox().forEach(showPending);
updateEmpty();
// A returning visitor resumes at once (and hears the operator while the chat is closed); a new
// one becomes a visitor only when the chat is opened or touched.
if (!storageOk) tellHost('need-token');
if (S.token || !embedded || outbox().length) start();
tellHost('ready');
