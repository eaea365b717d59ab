/* /supervisor: live chat queues, operators' load and the conversations waiting, with manual
   assignment and take-over. Refreshed on /ws/operator pushes (at most once a second) and every 5 s. */
'use strict';
Hub.ready(() => {
  const $ = (id) => document.getElementById(id);
  const S = { me: null, overview: null, convs: [], at: 0, busy: new Set(), loading: false, again: false };
  const badge = Hub.wsBadge(Hub.tid('ws-status'));

  function toLogin() { location.assign('/login?next=' + encodeURIComponent('/supervisor')); }
  function fail(e) {
    if (e instanceof Hub.HubError && e.status === 401) { toLogin(); return; }
    Hub.showError(e);
  }
  const presState = (p) => (p && typeof p === 'object' ? p.state : p) || 'offline';

  /* ---------- data ---------- */
  async function load() {
    if (S.loading) { S.again = true; return; }
    S.loading = true;
    try {
      const [ov, cv] = await Promise.all([
        Hub.api('GET', '/api/supervisor/overview'),
        Hub.api('GET', '/api/conversations'),
      ]);
      S.overview = ov || { queues: [], operators: [] };
      const arr = (v) => (Array.isArray(v) ? v : []);
      // queued: all of the organisation for a supervisor; offers and mine are the supervisor's own;
      // `open` (every open conversation) is shown too if the server ever sends it.
      const seen = new Set();
      S.convs = [...arr(cv && cv.queued), ...arr(cv && cv.offers), ...arr(cv && cv.open), ...arr(cv && cv.mine)]
        .filter((c) => c && !seen.has(c.id) && seen.add(c.id));
      S.at = Date.now();
      if (Hub.tid('message').dataset.kind === 'error' && !S.busy.size) Hub.clearMessage();
      render();
    } catch (e) {
      if (e instanceof Hub.HubError && e.status === 403) { Hub.message(Hub.t('sup.forbidden'), 'error'); Hub.show($('board'), false); } else fail(e);
    } finally {
      S.loading = false;
      if (S.again) { S.again = false; setTimeout(load, 0); }
    }
  }

  /* At most one load a second, however many pushes arrive. */
  let throttle = null; let pending = false; let lastLoad = 0;
  function loadSoon() {
    const wait = 1000 - (Date.now() - lastLoad);
    if (wait <= 0 && !throttle) { lastLoad = Date.now(); load(); return; }
    pending = true;
    if (throttle) return;
    throttle = setTimeout(() => {
      throttle = null;
      if (pending) { pending = false; lastLoad = Date.now(); load(); }
    }, Math.max(0, wait));
  }

  /* ---------- rendering ---------- */
  const elapsed = () => (S.at ? (Date.now() - S.at) / 1000 : 0);
  function bar(value, max, cls) {
    const outer = Hub.el('div', { class: 'meter' + (cls ? ' ' + cls : '') });
    const inner = Hub.el('div', { class: 'meter-fill' });
    const pct = max > 0 ? Math.min(100, Math.round((value / max) * 100)) : 0;
    inner.style.width = pct + '%';
    outer.appendChild(inner);
    if (max > 0 && value >= max) outer.classList.add('full');
    return outer;
  }
  function strategyName(s) {
    const k = 'sup.strategy.' + s;
    const v = Hub.t(k);
    return v === k ? String(s || '') : v;
  }

  function renderQueues() {
    const qs = (S.overview && Array.isArray(S.overview.queues)) ? S.overview.queues : [];
    const max = Math.max(1, ...qs.map((q) => q.waiting || 0));
    $('queues').replaceChildren(...qs.map((q) => Hub.el('tr', { 'data-testid': 'sup-queue', 'data-service-id': String(q.service_id) },
      Hub.el('td', null, q.name || ('#' + q.service_id)),
      Hub.el('td', { class: 'bar-cell' }, bar(q.waiting || 0, max)),
      Hub.el('td', { class: 'n', 'data-testid': 'sup-queue-waiting' }, String(q.waiting || 0)),
      Hub.el('td', { class: 'n', 'data-testid': 'sup-queue-longest', 'data-longest': q.waiting ? String(q.longest_wait_secs || 0) : null },
        q.waiting ? Hub.fmtMMSS(q.longest_wait_secs || 0) : Hub.t('common.none')),
      Hub.el('td', { class: 'n', 'data-testid': 'sup-queue-ewt' }, Hub.fmtMMSS(q.ewt_secs)),
      Hub.el('td', { class: 'muted' }, strategyName(q.strategy)))));
    Hub.show($('queues-none'), !qs.length);
    Hub.setText($('tot-waiting'), String(qs.reduce((a, q) => a + (q.waiting || 0), 0)));
    const longest = Math.max(0, ...qs.filter((q) => q.waiting).map((q) => q.longest_wait_secs || 0));
    const tl = $('tot-longest');
    tl.dataset.longest = String(longest);
    Hub.setText(tl, Hub.fmtMMSS(longest));
  }

  function renderOperators() {
    const ops = (S.overview && Array.isArray(S.overview.operators)) ? S.overview.operators : [];
    const now = Date.now();
    $('operators').replaceChildren(...ops.map((o) => {
      const st = presState(o.presence);
      const reason = o.reason || (o.presence && o.presence.reason) || '';
      const wrap = o.wrap_up_until && o.wrap_up_until > now ? (o.wrap_up_until - now) / 1000 : null;
      const cap = o.capacity || 0;
      return Hub.el('tr', { 'data-testid': 'sup-operator', 'data-user-id': String(o.user_id), 'data-presence': st },
        Hub.el('td', null, o.name || ('#' + o.user_id)),
        Hub.el('td', null, Hub.el('span', { class: 'pill', 'data-status': st, 'data-testid': 'sup-operator-presence' },
          Hub.t('pr.' + st, { reason }))),
        Hub.el('td', { class: 'num', 'data-until': wrap != null ? String(o.wrap_up_until) : null },
          wrap != null ? Hub.fmtMMSS(wrap) : Hub.t('common.none')),
        Hub.el('td', { class: 'load-cell' },
          bar(o.active || 0, cap, 'small'),
          Hub.el('span', { class: 'num', 'data-testid': 'sup-operator-load' }, (o.active || 0) + '/' + cap)),
        Hub.el('td', { class: 'n' + (o.missed_offers ? ' warn-text' : ''), 'data-testid': 'sup-operator-missed' }, String(o.missed_offers || 0)));
    }));
    Hub.show($('operators-none'), !ops.length);
    Hub.setText($('tot-available'), String(ops.filter((o) => presState(o.presence) === 'available').length) + '/' + ops.length);
    const active = ops.reduce((a, o) => a + (o.active || 0), 0);
    const cap = ops.filter((o) => presState(o.presence) === 'available').reduce((a, o) => a + (o.capacity || 0), 0);
    Hub.setText($('tot-load'), active + '/' + cap);
  }

  function operatorOptions(c) {
    const ops = (S.overview && Array.isArray(S.overview.operators)) ? S.overview.operators : [];
    return [Hub.el('option', { value: '' }, Hub.t('op.choose')),
      ...ops.filter((o) => o.user_id !== c.assignee_id).map((o) => Hub.el('option', { value: String(o.user_id) },
        o.name + ' — ' + Hub.t('pr.' + presState(o.presence), { reason: o.reason || '' }) + ' · ' + (o.active || 0) + '/' + (o.capacity || 0)))];
  }

  function renderConvs() {
    const box = $('convs');
    // Keep what a supervisor has picked in a row across refreshes.
    const picked = new Map([...box.querySelectorAll('[data-testid="sup-conversation"]')]
      .map((r) => [r.dataset.conversationId, r.querySelector('select').value]));
    const byWait = (a, b) => (b.priority || 0) - (a.priority || 0) || (a.queued_at || a.created_at || 0) - (b.queued_at || b.created_at || 0);
    const list = S.convs.filter((c) => c.status !== 'closed').sort(byWait);
    box.replaceChildren(...list.map((c) => {
      const sel = Hub.el('select', { 'data-testid': 'sup-assign-operator', 'aria-label': Hub.t('sup.assignTo') }, ...operatorOptions(c));
      const keep = picked.get(String(c.id));
      if (keep && [...sel.options].some((o) => o.value === keep)) sel.value = keep;
      const busy = S.busy.has(c.id);
      const assignBtn = Hub.el('button', {
        type: 'button', class: 'btn', 'data-testid': 'sup-assign', disabled: busy,
        onclick: () => { if (sel.value) assign(c, Number(sel.value)); else Hub.message(Hub.t('sup.pickOperator'), 'error'); },
      }, Hub.t('sup.assign'));
      const takeBtn = Hub.el('button', {
        type: 'button', class: 'btn primary', 'data-testid': 'sup-take-over', disabled: busy || c.assignee_id === S.me.user_id,
        onclick: () => assign(c, S.me.user_id),
      }, Hub.t('sup.takeOver'));
      const waitingSince = c.status === 'open' ? null : (c.queued_at || c.created_at || 0);
      return Hub.el('tr', { 'data-testid': 'sup-conversation', 'data-conversation-id': String(c.id), 'data-status': c.status, 'data-channel': c.channel },
        Hub.el('td', null, Hub.channelIcon(c.channel)),
        Hub.el('td', null, (c.contact && (c.contact.name || '#' + c.contact.id)) || ''),
        Hub.el('td', null, c.service || ''),
        Hub.el('td', null, Hub.el('span', { class: 'pill', 'data-status': c.status }, Hub.t('cs.' + c.status)),
          c.status === 'offered' && c.offered_to != null ? Hub.el('span', { class: 'muted' }, ' → ' + opName(c.offered_to)) : null),
        Hub.el('td', { class: 'n', 'data-since': waitingSince ? String(waitingSince) : null },
          waitingSince ? Hub.fmtMMSS((Date.now() - waitingSince) / 1000) : Hub.t('common.none')),
        Hub.el('td', null, c.assignee || Hub.t('common.none')),
        Hub.el('td', null, Hub.el('div', { class: 'assign-row' }, sel, assignBtn, takeBtn)));
    }));
    Hub.show($('convs-none'), !list.length);
  }
  function opName(id) {
    const ops = (S.overview && Array.isArray(S.overview.operators)) ? S.overview.operators : [];
    const o = ops.find((x) => x.user_id === id);
    return o ? o.name : '#' + id;
  }

  function render() {
    Hub.show($('board'), true);
    renderQueues();
    renderOperators();
    // A supervisor choosing in a row's select keeps it open: that table waits for the next round.
    const a = document.activeElement;
    if (!(a && a.tagName === 'SELECT' && $('convs').contains(a))) renderConvs();
  }

  /* Every second: waiting times move without a reload. */
  function tick() {
    const now = Date.now();
    const el = elapsed();
    document.querySelectorAll('[data-longest]').forEach((n) => { n.textContent = Hub.fmtMMSS(Number(n.dataset.longest) + el); });
    document.querySelectorAll('#convs [data-since]').forEach((n) => { n.textContent = Hub.fmtMMSS((now - Number(n.dataset.since)) / 1000); });
    document.querySelectorAll('#operators [data-until]').forEach((n) => {
      const left = (Number(n.dataset.until) - now) / 1000;
      n.textContent = left > 0 ? Hub.fmtMMSS(left) : Hub.t('common.none');
    });
  }

  /* ---------- actions ---------- */
  async function assign(c, operatorId) {
    S.busy.add(c.id);
    renderConvs();
    Hub.clearMessage();
    try {
      await Hub.api('POST', '/api/conversations/' + c.id + '/assign', { operator_id: operatorId });
      Hub.message(Hub.t(operatorId === S.me.user_id ? 'sup.tookOver' : 'sup.assigned',
        { name: (c.contact && (c.contact.name || '#' + c.contact.id)) || '#' + c.id, op: opName(operatorId) }), 'ok');
    } catch (e) { fail(e); }
    S.busy.delete(c.id);
    load();
  }

  $('signout').addEventListener('click', async () => {
    try { await Hub.api('POST', '/api/auth/logout', {}); } catch (_) { /* leave anyway */ }
    location.assign('/login');
  });
  Hub.onLang(() => { if (S.overview) render(); });

  /* ---------- start ---------- */
  (async () => {
    try {
      S.me = await Hub.api('GET', '/api/me');
    } catch (e) {
      if (e.status === 401) { toLogin(); return; }
      Hub.showError(e); return;
    }
    if (!S.me || S.me.type !== 'user') { Hub.message(Hub.t('sup.forbidden'), 'error'); return; }
    Hub.setDefaultLang(S.me.lang);
    Hub.setText($('me-name'), S.me.name);
    if (S.me.role !== 'supervisor' && S.me.role !== 'admin') { Hub.message(Hub.t('sup.forbidden'), 'error'); badge('offline'); return; }
    await load();
    Hub.socket('/ws/operator', { onMessage: loadSoon, onOpen: loadSoon, onStatus: badge });
    setInterval(load, 5000);
    setInterval(tick, 1000);
  })();
});
