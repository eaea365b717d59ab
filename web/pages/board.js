/* /board: the hall's queue board. Device token in localStorage "hub.board.token";
   live calls from /ws/board?token=..., newest first, with a flashing banner for a new call.
   Each new call (and recall) is announced aloud, one after another in the order called: a call
   that arrives while another is being said waits its turn, so nothing is cut off. */
'use strict';
Hub.ready(() => {
  const KEY = 'hub.board.token';
  const FLASH_MS = 8000;
  const $ = (id) => document.getElementById(id);
  const S = { token: Hub.stored(KEY), sock: null, calls: [], fresh: null, flashTimer: null, audio: null };
  /* The announcer: voice settings from /api/board/voice, the calls waiting to be said, and a
     log of what was said (window.__hubAnnouncements: the tests read it, so can a technician). */
  const V = { conf: null, queue: [], busy: false, log: [] };
  window.__hubAnnouncements = V.log;
  const badge = Hub.wsBadge(Hub.tid('ws-status'));

  if (new URLSearchParams(location.search).has('reset')) { Hub.store(KEY, null); S.token = null; }

  function tick() {
    const d = new Date();
    Hub.setText($('clock'), String(d.getHours()).padStart(2, '0') + ':' + String(d.getMinutes()).padStart(2, '0'));
  }
  tick();
  setInterval(tick, 1000);

  function showSignIn(e) {
    if (S.sock) { S.sock.stop(); S.sock = null; }
    badge('offline');
    Hub.store(KEY, null);
    S.token = null;
    Hub.show($('board'), false);
    Hub.show($('signin'), true);
    if (e) Hub.showError(e);
    Hub.tid('device-login').focus();
  }

  /* Who are we? 401 means the token is gone: back to the sign-in form. */
  async function checkToken() {
    try {
      const me = await Hub.api('GET', '/api/me', undefined, { token: S.token });
      if (me.type !== 'device' || me.device !== 'board') {
        showSignIn();
        Hub.message(Hub.t('dev.wrongKind', { kind: 'board' }), 'error');
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
  }

  async function start() {
    if (!S.token) { showSignIn(); return; }
    if (!(await checkToken())) return;
    await loadVoice();
    Hub.show($('signin'), false);
    Hub.show($('board'), true);
    Hub.clearMessage();
    render();
    if (S.sock) S.sock.stop();
    S.sock = Hub.socket(() => '/ws/board?token=' + encodeURIComponent(S.token || ''), {
      onStatus: badge,
      onMessage: onBoard,
      onClose: () => { if (S.token) checkToken().then((ok) => ok && loadVoice()); },
    });
  }

  function onBoard(msg) {
    if (!msg || msg.type !== 'board') return;
    S.calls = Array.isArray(msg.calls) ? msg.calls : [];
    if (msg.branch_name) Hub.setText($('branch-name'), msg.branch_name);
    if (msg.new_call) flash(msg.new_call);
    render();
  }

  function flash(call) {
    S.fresh = call.ticket_id;
    Hub.setText($('banner-number'), call.number);
    Hub.setText($('banner-window'), call.window);
    const banner = $('banner');
    // Restart the CSS animation for a repeated call.
    banner.classList.add('hidden');
    void banner.offsetWidth;
    banner.classList.remove('hidden');
    announce(call);
    clearTimeout(S.flashTimer);
    S.flashTimer = setTimeout(() => {
      S.fresh = null;
      banner.classList.add('hidden');
      render();
    }, FLASH_MS);
  }

  function render() {
    const rows = S.calls.map((c, i) => Hub.el('tr', {
      'data-testid': 'board-row', 'data-ticket-id': String(c.ticket_id),
      class: i === 0 && c.ticket_id === S.fresh ? 'fresh' : null,
    },
    Hub.el('td', { 'data-testid': 'board-number' }, c.number),
    Hub.el('td', { class: 'arrow', 'aria-hidden': 'true' }, '→'),
    Hub.el('td', { 'data-testid': 'board-window' }, c.window)));
    $('rows').replaceChildren(...rows);
    $('table').style.setProperty('--rows', String(Math.max(5, S.calls.length)));
    Hub.show($('empty'), !S.calls.length);
  }

  function audioContext() {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return null;
    S.audio = S.audio || new Ctx();
    if (S.audio.state === 'suspended') S.audio.resume().catch(() => {});
    return S.audio;
  }

  /* A short two-tone chime; resolves when it has rung. Silent where autoplay is not allowed. */
  function chime() {
    const ctx = audioContext();
    if (!ctx) return Promise.resolve();
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

  /* Resolves when the phrase has played, or a little after it should have: a context the
     browser keeps suspended (autoplay refused) never ends a source, and must not stall the
     calls behind it. */
  function play(ctx, buffer) {
    return new Promise((resolve) => {
      const src = ctx.createBufferSource();
      src.buffer = buffer;
      src.connect(ctx.destination);
      src.onended = () => resolve();
      src.start();
      setTimeout(resolve, buffer.duration * 1000 + 2000);
    });
  }

  function announce(call) {
    const voice = V.conf && V.conf.voice && V.conf.available;
    if (!voice) {
      if (!V.conf || V.conf.chime !== false) chime();
      return;
    }
    V.queue.push({ call, phrase: fetchPhrase(call.ticket_id) });
    pump();
  }

  async function pump() {
    if (V.busy) return;
    V.busy = true;
    while (V.queue.length) {
      const { call, phrase } = V.queue.shift();
      const entry = { ticket_id: call.ticket_id, number: call.number, window: call.window,
        started: null, ended: null, duration_ms: null, error: null };
      V.log.push(entry);
      try {
        const ctx = audioContext();
        if (!ctx) throw new Error('no Web Audio');
        const buffer = await ctx.decodeAudioData(await phrase);
        if (V.conf.chime) await chime();
        entry.duration_ms = Math.round(buffer.duration * 1000);
        entry.started = performance.now();
        await play(ctx, buffer);
        entry.ended = performance.now();
      } catch (e) {
        entry.error = String(e && e.message || e);
      }
    }
    V.busy = false;
  }

  Hub.deviceForm($('signin'), KEY, (token) => { S.token = token; start(); });
  start();
});
