/* /board: the hall's queue board. Device token in localStorage "hub.board.token"; live calls
   from /ws/board?token=..., newest first, each with its window and where it stands (invited,
   being served, served). A new call shows over the list for a few seconds and is announced
   aloud, one after another in the order called; a call that leaves the board (transferred,
   returned to its queue) is not announced any more. The look (rows, colours, logo, banner, the
   Status column) is the board's template from the back office; the clock shows the branch's
   time from the server's, whatever the TV's own clock and zone say. */
import * as Hub from './hub.js';
const KEY = 'hub.board.token';
const FLASH_MS = 8000;
const $ = (id) => document.getElementById(id);
const S = { token: Hub.stored(KEY), sock: null, calls: [], seq: null, fresh: null, flashTimer: null,
  tz: null, skew: 0, look: null, rows: 8, pair: null };
/* The announcer: voice settings from /api/board/voice, the calls waiting to be said, and a
   log of what was said (window.__hubAnnouncements: the tests read it, so can a technician). */
const V = { conf: null, queue: [], busy: false, log: [], audio: null, playing: null };
window.__hubAnnouncements = V.log;
const badge = Hub.wsBadge(Hub.tid('ws-status'));

if (new URLSearchParams(location.search).has('reset')) { Hub.store(KEY, null); S.token = null; }

function tick() {
  Hub.setText($('clock'), Hub.fmtClock(Date.now() + S.skew, S.tz));
}
tick();
setInterval(tick, 1000);

function showSignIn(e) {
  if (S.sock) { S.sock.stop(); S.sock = null; }
  badge('offline');
  Hub.store(KEY, null);
  S.token = null;
  document.body.classList.remove('live');
  Hub.show($('board'), false);
  Hub.show($('signin'), true);
  if (e) Hub.showError(e);
  // A TV pairs by the code it shows; the login form is there for a technician.
  if (!S.pair) S.pair = Hub.pairing($('pair'), 'board', KEY, (token) => { S.pair = null; S.token = token; unlock(); start(); });
}
function stopPairing() {
  if (S.pair) { S.pair.stop(); S.pair = null; }
}

/* Who are we? 401 means the token is gone: back to the sign-in form. */
async function checkToken() {
  try {
    const me = await Hub.api('GET', '/api/me', undefined, { token: S.token });
    if (me.type !== 'device' || me.device !== 'board') {
      showSignIn();
      Hub.say('dev.wrongKind', { kind: Hub.t('kind.board') }, 'error');
      return false;
    }
    if (me.lang) Hub.setDefaultLang(me.lang);
    if (me.name) Hub.setText($('branch-name'), me.name);
    return true;
  } catch (e) {
    if (e.status === 401) { showSignIn(); return false; }
    return true; // server unreachable: keep trying through the socket
  }
}

async function loadVoice() {
  try { V.conf = await Hub.api('GET', '/api/board/voice', undefined, { token: S.token }); } catch (_) { V.conf = null; }
  soundNotice();
}

async function start() {
  if (!S.token) { showSignIn(); return; }
  if (!(await checkToken())) return;
  await loadVoice();
  stopPairing();
  Hub.show($('signin'), false);
  Hub.show($('board'), true);
  document.body.classList.add('live');
  Hub.clearMessage();
  render();
  if (S.sock) S.sock.stop();
  S.sock = Hub.socket(() => '/ws/board?token=' + encodeURIComponent(S.token || ''), {
    onStatus: badge,
    onMessage: onBoard,
    onClose: () => { if (S.token) checkToken().then((ok) => ok && loadVoice()); },
  });
}

/* The board comes whole on connecting (and when the server read it afresh), then change by
   change, each numbered one more than the last: a gap means one was missed, and only a fresh
   snapshot (a new connection) can mend it. */
function onBoard(msg) {
  if (!msg) return;
  if (msg.type === 'board') {
    S.seq = msg.seq;
    S.calls = Array.isArray(msg.calls) ? msg.calls : [];
    if (msg.branch_name) Hub.setText($('branch-name'), msg.branch_name);
    if (msg.tz) S.tz = msg.tz;
    if (msg.rows) S.rows = msg.rows;
    // A template comes on connecting and when an admin changed the board: its voice may have
    // changed too.
    if (msg.look) { applyLook(msg.look); loadVoice(); }
  } else if (msg.type === 'board_change') {
    if (S.seq === null || msg.seq !== S.seq + 1) { S.seq = null; if (S.sock) S.sock.resync(); return; }
    S.seq = msg.seq;
    apply(msg);
  } else {
    return;
  }
  if (typeof msg.now === 'number') S.skew = msg.now - Date.now();
  tick();
  if (msg.op === 'call') flash(msg.call);
  forgetGone();
  render();
}

/* Carries out one change as the server's model::board::BoardState::apply does. */
function apply(change) {
  if (change.op === 'call') {
    S.calls = [change.call, ...S.calls.filter((c) => c.ticket_id !== change.call.ticket_id)].slice(0, S.rows);
  } else if (change.op === 'status') {
    S.calls = S.calls.map((c) => (c.ticket_id === change.ticket_id ? { ...c, status: change.status } : c));
  } else if (change.op === 'leave') {
    S.calls = S.calls.filter((c) => c.ticket_id !== change.ticket_id);
  }
}

function applyLook(look) {
  S.look = look;
  const st = document.body.style;
  st.setProperty('--board-bg', look.background || '#04070f');
  st.setProperty('--board-row', look.row || '#101a33');
  st.setProperty('--board-accent', look.accent || '#ffd400');
  document.body.classList.toggle('no-status', look.status_column === false);
  const logo = $('logo');
  if (look.logo) { if (logo.getAttribute('src') !== look.logo) logo.src = look.logo; } else logo.removeAttribute('src');
  Hub.show(logo, !!look.logo);
  const picture = $('banner-image');
  if (look.banner_image) { if (picture.getAttribute('src') !== look.banner_image) picture.src = look.banner_image; } else picture.removeAttribute('src');
  Hub.show(picture, !!look.banner_image);
  Hub.setText($('banner-text'), look.banner || '');
  Hub.show($('banner-text'), !!look.banner);
}

function flash(call) {
  S.fresh = call.ticket_id;
  Hub.setText($('call-number'), call.number);
  Hub.setText($('call-window'), call.window);
  const box = $('call');
  // Restart the CSS animation for a repeated call.
  box.classList.add('hidden');
  void box.offsetWidth;
  box.classList.remove('hidden');
  box.dataset.ticketId = String(call.ticket_id);
  announce(call);
  clearTimeout(S.flashTimer);
  S.flashTimer = setTimeout(endFlash, FLASH_MS);
}

function endFlash() {
  clearTimeout(S.flashTimer);
  S.fresh = null;
  $('call').classList.add('hidden');
  render();
}

const live = (id) => S.calls.some((c) => c.ticket_id === id && c.status === 'called');

/* A call that left the board (transferred, back in a queue, a no-show) or is already being
   served is not shown over the list nor said any more. */
function forgetGone() {
  if (S.fresh != null && !live(S.fresh)) endFlash();
  if (V.playing && !live(V.playing.ticket_id)) { try { V.playing.src.stop(); } catch (_) { /* ended */ } }
}

function render() {
  const newest = S.calls.find((c) => c.status === 'called');
  const rows = S.calls.slice(0, S.rows).map((c) => Hub.el('div', {
    role: 'row', 'data-testid': 'board-row', 'data-ticket-id': String(c.ticket_id), 'data-status': c.status,
    class: 'board-row' + (c.ticket_id === S.fresh ? ' fresh' : '') + (c === newest ? ' newest' : ''),
  },
  Hub.el('span', { role: 'cell', 'data-testid': 'board-number', class: 'num' }, c.number),
  Hub.el('span', { role: 'cell', 'data-testid': 'board-window', class: 'win' }, c.window),
  Hub.el('span', { role: 'cell', 'data-testid': 'board-status', class: 'board-status' }, Hub.t('board.st.' + c.status))));
  $('rows').replaceChildren(...rows);
  $('grid').style.setProperty('--rows', String(S.rows));
  Hub.show($('empty'), !S.calls.length);
}
Hub.onLang(render);

/* ---------- sound ---------- */
const wantsSound = () => !!V.conf && (V.conf.chime !== false || (V.conf.voice && V.conf.available));

/* One context for the page's life. Created on the first gesture (the sign-in's click, a tap
   on the notice) or, on a reload, once: a browser that allows autoplay runs it, one that does
   not keeps it suspended and the notice asks for a tap. */
function audioContext() {
  const Ctx = window.AudioContext || window.webkitAudioContext;
  if (!Ctx) return null;
  if (!V.audio) {
    V.audio = new Ctx();
    V.audio.onstatechange = soundNotice;
  }
  return V.audio;
}

function unlock() {
  const ctx = audioContext();
  if (ctx && ctx.state !== 'running') ctx.resume().then(soundNotice, soundNotice);
}

function soundNotice() {
  const locked = wantsSound() && S.token && (!V.audio || V.audio.state !== 'running');
  if (locked && !V.audio) audioContext();
  Hub.show($('sound'), !!(locked && V.audio && V.audio.state !== 'running'));
}
$('sound').addEventListener('click', unlock);
// Any touch of the screen or a key on the TV's remote counts as the gesture.
document.addEventListener('pointerdown', unlock, { capture: true });
document.addEventListener('keydown', unlock, { capture: true });

/* A short two-tone chime; resolves when it has rung. Silent where autoplay is not allowed. */
function chime() {
  const ctx = V.audio;
  if (!ctx || ctx.state !== 'running') return Promise.resolve();
  return new Promise((resolve) => {
    let last = null;
    [[660, 0], [880, 0.25]].forEach(([f, at]) => {
      const o = ctx.createOscillator();
      const g = ctx.createGain();
      o.frequency.value = f;
      g.gain.setValueAtTime(0.0001, ctx.currentTime + at);
      g.gain.exponentialRampToValueAtTime(0.25, ctx.currentTime + at + 0.03);
      g.gain.exponentialRampToValueAtTime(0.0001, ctx.currentTime + at + 0.6);
      o.connect(g).connect(ctx.destination);
      o.start(ctx.currentTime + at);
      o.stop(ctx.currentTime + at + 0.65);
      last = o;
    });
    last.onended = () => resolve();
    setTimeout(resolve, 1500); // a context that never runs must not stall the queue
  });
}

/* The call's phrase as audio, fetched as soon as the call arrives so the next phrase is
   ready when the one before ends. */
async function fetchPhrase(ticketId) {
  const res = await fetch('/api/board/announcement/' + encodeURIComponent(ticketId), {
    headers: { Authorization: 'Bearer ' + S.token }, cache: 'no-store',
  });
  if (!res.ok) throw new Error('announcement ' + res.status);
  return res.arrayBuffer();
}

/* Resolves when the phrase has played (or was stopped), or a little after it should have:
   a context the browser keeps suspended never ends a source, and must not stall the calls
   behind it. */
function play(ctx, buffer, ticketId) {
  return new Promise((resolve) => {
    const src = ctx.createBufferSource();
    src.buffer = buffer;
    src.connect(ctx.destination);
    V.playing = { ticket_id: ticketId, src };
    src.onended = () => resolve();
    src.start();
    setTimeout(resolve, buffer.duration * 1000 + 2000);
  }).finally(() => { V.playing = null; });
}

function announce(call) {
  const voice = V.conf && V.conf.voice && V.conf.available;
  if (!voice) {
    if (!V.conf || V.conf.chime !== false) chime();
    return;
  }
  const phrase = fetchPhrase(call.ticket_id);
  // A call transferred before its phrase came answers 404: it is skipped at its turn.
  phrase.catch(() => {});
  V.queue.push({ call, phrase });
  pump();
}

async function pump() {
  if (V.busy) return;
  V.busy = true;
  while (V.queue.length) {
    const { call, phrase } = V.queue.shift();
    const entry = { ticket_id: call.ticket_id, number: call.number, window: call.window,
      started: null, ended: null, duration_ms: null, error: null, skipped: null };
    V.log.push(entry);
    // Moved away or already at the window while waiting its turn: nobody is to be sent there.
    if (!live(call.ticket_id)) { entry.skipped = 'left'; continue; }
    try {
      const ctx = audioContext();
      if (!ctx) throw new Error('no Web Audio');
      const buffer = await ctx.decodeAudioData(await phrase);
      if (V.conf.chime) await chime();
      if (!live(call.ticket_id)) { entry.skipped = 'left'; continue; }
      entry.duration_ms = Math.round(buffer.duration * 1000);
      entry.started = performance.now();
      await play(ctx, buffer, call.ticket_id);
      entry.ended = performance.now();
      if (!live(call.ticket_id)) entry.skipped = 'stopped';
    } catch (e) {
      entry.error = String(e && e.message || e);
    }
  }
  V.busy = false;
}

Hub.deviceForm($('signin'), KEY, (token) => { S.token = token; unlock(); start(); });
start();
