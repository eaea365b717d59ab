/* /supervisor: live chat queues, the branches' electronic queues (visits) with today's figures,
   operators' load and the conversations waiting, with manual assignment and take-over; the
   organisation's shared canned responses. Refreshed on /ws/operator pushes (each part at most once
   a second) and every 5 s. */
import * as Hub from './hub.js';
import { addCanned as postCanned, listCanned, removeCanned } from './canned.js';

const $ = (id) => document.getElementById(id);
const S = { me: null, overview: null, convs: [], at: 0, busy: new Set(), loading: false, again: false, errFrom: null };
/* Visits: the organisation's branches, each one's services and windows (re-read every minute or
   when a queue names a service not known yet), queues and today's figures. */
const V = { branches: null, detail: new Map(), detailAt: 0, queues: new Map(), stats: new Map(), live: new Map(), loading: false, again: false, busy: new Set() };
/* Shared canned responses (personal ones, the supervisor's own, are not shown here). */
const K = { list: null, busy: false };
const badge = Hub.wsBadge(Hub.tid('ws-status'));
const arr = (v) => (Array.isArray(v) ? v : []);

function toLogin() { location.assign('/login?next=' + encodeURIComponent('/supervisor')); }
/* A refresh failed: shown until a later refresh of the same part succeeds. */
function loadFailed(e, from) {
  if (e instanceof Hub.HubError && e.status === 401) { toLogin(); return; }
  Hub.showError(e);
  S.errFrom = from;
}
function loadWorked(from) {
  if (S.errFrom !== from) return;
  S.errFrom = null;
  if (Hub.tid('message').dataset.kind === 'error') Hub.clearMessage();
}
/* What a supervisor did failed: stays until the next action (refreshes leave it). */
function fail(e, text) {
  if (e instanceof Hub.HubError && e.status === 401) { toLogin(); return; }
  if (e) console.warn(e);
  S.errFrom = null;
  Hub.message(text || (() => Hub.errorText(e)), 'error');
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
    // queued: all of the organisation for a supervisor; offers and mine are the supervisor's own;
    // `open` (every open conversation) is shown too if the server ever sends it.
    const seen = new Set();
    S.convs = [...arr(cv && cv.queued), ...arr(cv && cv.offers), ...arr(cv && cv.open), ...arr(cv && cv.mine)]
      .filter((c) => c && !seen.has(c.id) && seen.add(c.id));
    S.at = Date.now();
    loadWorked('load');
    render();
  } catch (e) {
    if (e instanceof Hub.HubError && e.status === 403) { Hub.say('sup.forbidden', null, 'error'); Hub.show($('board'), false); } else loadFailed(e, 'load');
  } finally {
    S.loading = false;
    if (S.again) { S.again = false; setTimeout(load, 0); }
  }
}

async function loadVisits() {
  if (V.loading) { V.again = true; return; }
  V.loading = true;
  try {
    const stale = Date.now() - V.detailAt > 60000;
    if (!V.branches || stale) V.branches = arr(await Hub.api('GET', '/api/branches'));
    const branches = V.branches;
    await Promise.all(branches.map(async (b) => {
      const base = '/api/branches/' + encodeURIComponent(b.id);
      const [qs, st, live] = await Promise.all([Hub.api('GET', base + '/queues'), Hub.api('GET', base + '/stats'),
        Hub.api('GET', '/api/supervisor/branches/' + encodeURIComponent(b.id) + '/live')]);
      V.live.set(b.id, live || null);
      let d = V.detail.get(b.id);
      const known = new Set(d ? arr(d.services).map((x) => x.id) : []);
      if (!d || stale || arr(qs).some((q) => !known.has(q.service_id))) {
        d = await Hub.api('GET', base);
        V.detail.set(b.id, d);
      }
      V.queues.set(b.id, arr(qs));
      V.stats.set(b.id, st || null);
    }));
    if (stale) V.detailAt = Date.now();
    loadWorked('visits');
    renderVisits();
  } catch (e) {
    // A branch gone meanwhile: the next round reads the list again.
    if (e instanceof Hub.HubError && e.status === 404) V.detailAt = 0;
    if (!(e instanceof Hub.HubError && e.status === 403)) loadFailed(e, 'visits');
  } finally {
    V.loading = false;
    if (V.again) { V.again = false; setTimeout(loadVisits, 0); }
  }
}

async function loadCanned() {
  try {
    K.list = await listCanned(true);
    loadWorked('canned');
    renderCanned();
  } catch (e) { loadFailed(e, 'canned'); }
}

/* fn at most once a second, however many pushes arrive. */
function throttled(fn) {
  let timer = null; let pending = false; let last = 0;
  return () => {
    const wait = 1000 - (Date.now() - last);
    if (wait <= 0 && !timer) { last = Date.now(); fn(); return; }
    pending = true;
    if (timer) return;
    timer = setTimeout(() => {
      timer = null;
      if (pending) { pending = false; last = Date.now(); fn(); }
    }, Math.max(0, wait));
  };
}
const loadSoon = throttled(load);
const visitsSoon = throttled(loadVisits);
const TICKET_FRAMES = new Set(['ticket_called', 'ticket_changed']);
function onFrame(f) {
  const type = f && f.type;
  if (type === 'typing') return; // changes no figure here
  if (type === 'ticket_issued') { visitsSoon(); return; }
  // A ticket in hand counts in the operator's load.
  if (TICKET_FRAMES.has(type)) { visitsSoon(); loadSoon(); return; }
  if (type === 'conversation_changed' || type === 'message_added') { loadSoon(); return; }
  // operator_changed (presence, window, services: who serves a queue), anything else.
  loadSoon();
  visitsSoon();
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
      q.waiting ? Hub.fmtDur(q.longest_wait_secs || 0) : Hub.t('common.none')),
    Hub.el('td', { class: 'n', 'data-testid': 'sup-queue-ewt' }, Hub.fmtDur(q.ewt_secs)),
    Hub.el('td', { class: 'muted' }, strategyName(q.strategy)))));
  Hub.show($('queues-none'), !qs.length);
  Hub.setText($('tot-waiting'), String(qs.reduce((a, q) => a + (q.waiting || 0), 0)));
  const longest = Math.max(0, ...qs.filter((q) => q.waiting).map((q) => q.longest_wait_secs || 0));
  const tl = $('tot-longest');
  tl.dataset.longest = String(longest);
  Hub.setText(tl, Hub.fmtDur(longest));
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
      Hub.el('td', { 'data-testid': 'sup-operator-window' }, o.window || Hub.t('common.none')),
      Hub.el('td', null, Hub.el('span', { class: 'pill', 'data-status': st, 'data-testid': 'sup-operator-presence' },
        Hub.t('pr.' + st, { reason }))),
      Hub.el('td', { class: 'num', 'data-until': wrap != null ? String(o.wrap_up_until) : null },
        wrap != null ? Hub.fmtDur(wrap) : Hub.t('common.none')),
      Hub.el('td', { class: 'load-cell' },
        bar(o.active || 0, cap, 'small'),
        Hub.el('span', { class: 'num', 'data-testid': 'sup-operator-load' }, (o.active || 0) + '/' + cap)),
      Hub.el('td', { class: 'n' + (o.missed_offers ? ' warn-text' : ''), 'data-testid': 'sup-operator-missed' }, String(o.missed_offers || 0)),
      Hub.el('td', null, st === 'offline' ? null : Hub.el('button', {
        type: 'button', class: 'btn ghost', 'data-testid': 'sup-operator-sign-off', disabled: S.signingOff === o.user_id,
        onclick: () => signOff(o),
      }, Hub.t('sup.signOff'))));
  }));
  Hub.show($('operators-none'), !ops.length);
  Hub.setText($('tot-available'), String(ops.filter((o) => presState(o.presence) === 'available').length) + '/' + ops.length);
  const active = ops.reduce((a, o) => a + (o.active || 0), 0);
  const cap = ops.filter((o) => presState(o.presence) === 'available').reduce((a, o) => a + (o.capacity || 0), 0);
  Hub.setText($('tot-load'), active + '/' + cap);
}

/* An operator who left without a word: signed off now, not after the console's grace. */
async function signOff(o) {
  if (!window.confirm(Hub.t('sup.signOffAsk', { name: o.name || ('#' + o.user_id) }))) return;
  S.signingOff = o.user_id;
  renderOperators();
  try {
    await Hub.api('POST', '/api/supervisor/operators/' + o.user_id + '/sign-off', {});
    Hub.say('sup.signedOff', { name: o.name || ('#' + o.user_id) }, 'ok');
  } catch (e) { fail(e); }
  S.signingOff = null;
  await Promise.all([load(), loadVisits()]);
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
      onclick: () => { if (sel.value) assign(c, Number(sel.value)); else Hub.say('sup.pickOperator', null, 'error'); },
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
        waitingSince ? Hub.fmtDur((Date.now() - waitingSince) / 1000) : Hub.t('common.none')),
      Hub.el('td', null, c.assignee || Hub.t('common.none')),
      Hub.el('td', null, Hub.el('div', { class: 'assign-row' }, sel, assignBtn, takeBtn)));
  }));
  Hub.show($('convs-none'), !list.length);
}
/* ---------- visits ---------- */
function serviceLabel(services, id) {
  const s = services.get(id);
  if (!s) return '#' + id;
  const parent = s.parent_id != null ? services.get(s.parent_id) : null;
  return (parent ? Hub.serviceName(parent) + ' › ' : '') + Hub.serviceName(s);
}
function renderVisits() {
  if (!V.branches) return;
  const num = (v) => (v == null ? Hub.t('common.none') : String(v));
  $('visits').replaceChildren(...V.branches.map((b) => {
    const d = V.detail.get(b.id);
    const services = new Map((d ? arr(d.services) : []).map((x) => [x.id, x]));
    const qs = V.queues.get(b.id) || [];
    const st = V.stats.get(b.id) || {};
    const max = Math.max(1, ...qs.map((q) => q.waiting || 0));
    const stat = (tid, value, label) => Hub.el('div', { class: 'stat' },
      Hub.el('b', { 'data-testid': tid }, value), Hub.el('span', null, Hub.t(label)));
    const rows = qs.map((q) => {
      const s = services.get(q.service_id);
      return Hub.el('tr', { 'data-testid': 'sup-visit-queue', 'data-service-id': String(q.service_id), 'data-branch-id': String(b.id) },
        Hub.el('td', null, s && s.prefix ? Hub.el('span', { class: 'prefix-tag' }, s.prefix) : null, serviceLabel(services, q.service_id)),
        Hub.el('td', { class: 'bar-cell' }, bar(q.waiting || 0, max)),
        Hub.el('td', { class: 'n', 'data-testid': 'sup-visit-waiting' }, String(q.waiting || 0)),
        Hub.el('td', { class: 'n', 'data-testid': 'sup-visit-eta' }, Hub.fmtDur(q.eta_secs)),
        Hub.el('td', { class: 'n', 'data-testid': 'sup-visit-operators' }, String(q.operators || 0)));
    });
    const open = d ? !!d.open : null;
    const live = V.live.get(b.id) || { tickets: [], csat: null };
    const csat = live.csat || {};
    return Hub.el('div', { class: 'visit-branch', 'data-branch-id': String(b.id) },
      Hub.el('h3', null, b.name || ('#' + b.id), ' ',
        open == null ? null : Hub.el('span', { class: 'pill', 'data-status': open ? 'open' : 'closed' }, Hub.t(open ? 'sup.branchOpen' : 'sup.branchClosed'))),
      Hub.el('div', { class: 'stats visit-stats', 'data-testid': 'sup-visit-stats', 'data-branch-id': String(b.id) },
        stat('sup-visit-served', num(st.served), 'op.served'),
        stat('sup-visit-no-show', num(st.no_show), 'op.noShows'),
        stat('sup-visit-waiting-today', num(st.waiting), 'op.waiting'),
        stat('sup-visit-avg-wait', Hub.fmtDur(st.avg_wait_secs), 'op.avgWait'),
        stat('sup-visit-avg-service', Hub.fmtDur(st.avg_service_secs), 'op.avgService'),
        stat('sup-csat', csat.percent == null ? Hub.t('common.none') : csat.percent + '%', 'sup.csat'),
        stat('sup-csat-rated', num(csat.rated), 'sup.csatRated')),
      rows.length
        ? Hub.el('div', { class: 'table-scroll' }, Hub.el('table', { class: 'data' },
          Hub.el('thead', null, Hub.el('tr', null,
            Hub.el('th', null, Hub.t('op.service')), Hub.el('th', { class: 'bar-cell' }),
            Hub.el('th', { class: 'n' }, Hub.t('op.waiting')), Hub.el('th', { class: 'n' }, Hub.t('op.eta')),
            Hub.el('th', { class: 'n' }, Hub.t('sup.serving')))),
          Hub.el('tbody', null, ...rows)))
        : Hub.el('p', { class: 'muted' }, Hub.t('sup.noVisitServices')),
      liveTickets(b.id, services, Array.isArray(live.tickets) ? live.tickets : []));
  }));
  Hub.show($('visits-none'), !V.branches.length);
}

/* The branch's tickets in play, with what a supervisor may do: a waiting ticket moves to the
   front of its line or to another service; one in an operator's hands goes back to the front
   of its line or is finished. */
function liveTickets(branchId, services, tickets) {
  const now = Date.now();
  const leaf = [...services.values()].filter((x) => x.prefix != null);
  const rows = tickets.map((t) => {
    const busy = V.busy.has(t.id);
    const btn = (tid, key, fn) => Hub.el('button', { type: 'button', class: 'btn ghost', 'data-testid': tid, disabled: busy, onclick: fn }, Hub.t(key));
    let actions;
    if (t.status === 'waiting') {
      const sel = Hub.el('select', { 'data-testid': 'sup-ticket-service', 'aria-label': Hub.t('op.transferTo') },
        ...leaf.map((x) => Hub.el('option', { value: String(x.id), selected: x.id === t.service_id }, Hub.serviceName(x))));
      actions = [btn('sup-ticket-front', 'sup.toFront', () => ticketDo(t, 'requeue', { placement: 'front' })),
        sel, btn('sup-ticket-move', 'sup.move', () => ticketDo(t, 'requeue', { service_id: Number(sel.value), placement: 'back' }))];
    } else {
      actions = [btn('sup-ticket-return', 'sup.returnTicket', () => ticketDo(t, 'return')),
        btn('sup-ticket-finish', 'op.finish', () => ticketDo(t, 'finish'))];
    }
    const since = t.status === 'waiting' ? t.issued_at : (t.started_at || t.called_at);
    return Hub.el('tr', { 'data-testid': 'sup-ticket', 'data-ticket-id': String(t.id), 'data-status': t.status },
      Hub.el('td', { class: 'num' }, t.number, t.priority > 0 ? Hub.el('span', { class: 'pill vip-pill' }, 'VIP') : null),
      Hub.el('td', null, serviceLabel(services, t.service_id)),
      Hub.el('td', null, Hub.el('span', { class: 'pill', 'data-status': t.status }, Hub.t('st.' + t.status))),
      Hub.el('td', null, t.window ? Hub.t('sup.atWindow', { window: t.window, name: t.operator || '' }) : Hub.t('common.none')),
      Hub.el('td', { class: 'n', 'data-since': String(since) }, Hub.fmtDur((now - since) / 1000)),
      Hub.el('td', { class: 'ticket-actions' }, ...actions));
  });
  return Hub.el('details', { class: 'live-tickets', open: true, 'data-testid': 'sup-tickets', 'data-branch-id': String(branchId) },
    Hub.el('summary', null, Hub.t('sup.tickets'), ' ', Hub.el('span', { class: 'count-badge' }, String(tickets.length))),
    rows.length
      ? Hub.el('div', { class: 'table-scroll' }, Hub.el('table', { class: 'data' },
        Hub.el('thead', null, Hub.el('tr', null, Hub.el('th', null, Hub.t('board.ticket')), Hub.el('th', null, Hub.t('op.service')),
          Hub.el('th', null, Hub.t('sup.status')), Hub.el('th', null, Hub.t('op.window')), Hub.el('th', { class: 'n' }, Hub.t('sup.for')),
          Hub.el('th', null))),
        Hub.el('tbody', null, ...rows)))
      : Hub.el('p', { class: 'muted' }, Hub.t('sup.noTickets')));
}

async function ticketDo(t, action, body) {
  if (V.busy.has(t.id)) return;
  V.busy.add(t.id);
  Hub.clearMessage();
  renderVisits();
  try {
    await Hub.api('POST', '/api/supervisor/tickets/' + t.id + '/' + action, body || {});
    Hub.say('sup.ticketDone.' + action, { number: t.number }, 'ok');
  } catch (e) { fail(e); }
  V.busy.delete(t.id);
  await loadVisits();
}

/* ---------- canned responses ---------- */
function renderCanned() {
  if (!K.list) return;
  $('canned').replaceChildren(...K.list.map((c) => Hub.el('tr', { 'data-testid': 'sup-canned', 'data-shortcut': c.shortcut, 'data-canned-id': String(c.id) },
    Hub.el('td', { class: 'canned-shortcut' }, '/' + c.shortcut),
    Hub.el('td', null, c.title || ''),
    Hub.el('td', { class: 'sup-canned-body' }, c.body || ''),
    Hub.el('td', { class: 'canned-actions' }, Hub.el('button', {
      type: 'button', class: 'btn ghost', 'data-testid': 'sup-canned-delete', disabled: K.busy,
      'aria-label': Hub.t('canned.deleteOne', { shortcut: c.shortcut }), title: Hub.t('canned.deleteOne', { shortcut: c.shortcut }),
      onclick: () => deleteCanned(c),
    }, Hub.t('canned.delete'))))));
  Hub.show($('canned-none'), !K.list.length);
  $('sup-canned-add').disabled = K.busy;
}
function cannedBusy(on) { K.busy = on; renderCanned(); $('sup-canned-add').disabled = on; }

async function addCanned() {
  if (K.busy) return;
  const field = $('sup-canned-shortcut');
  const shortcut = Hub.cannedShortcut(field.value);
  const title = $('sup-canned-title').value.trim();
  const body = $('sup-canned-body').value.trim();
  if (!shortcut) { fail(null, Hub.t('canned.needShortcut')); field.focus(); return; }
  if (!body) { fail(null, Hub.t('canned.needBody')); $('sup-canned-body').focus(); return; }
  cannedBusy(true);
  Hub.clearMessage();
  try {
    const row = await postCanned({ shortcut, title, body, personal: false });
    field.value = '';
    $('sup-canned-title').value = '';
    $('sup-canned-body').value = '';
    Hub.say('canned.added', { shortcut: (row && row.shortcut) || shortcut }, 'ok');
  } catch (e) { fail(e, Hub.cannedError(e, shortcut)); }
  cannedBusy(false);
  await loadCanned();
}

async function deleteCanned(c) {
  if (K.busy) return;
  cannedBusy(true);
  Hub.clearMessage();
  try {
    await removeCanned(c);
    Hub.say('canned.deleted', { shortcut: c.shortcut }, 'ok');
  } catch (e) { fail(e); }
  cannedBusy(false);
  await loadCanned();
}

$('canned-form').addEventListener('submit', (ev) => { ev.preventDefault(); addCanned(); });

function opName(id) {
  const ops = (S.overview && Array.isArray(S.overview.operators)) ? S.overview.operators : [];
  const o = ops.find((x) => x.user_id === id);
  return o ? o.name : '#' + id;
}

function render() {
  Hub.show($('board'), true);
  renderQueues();
  renderVisits();
  renderOperators();
  // A supervisor choosing in a row's select keeps it open: that table waits for the next round.
  const a = document.activeElement;
  if (!(a && a.tagName === 'SELECT' && $('convs').contains(a))) renderConvs();
}

/* Every second: waiting times move without a reload. */
function tick() {
  const now = Date.now();
  const el = elapsed();
  document.querySelectorAll('[data-longest]').forEach((n) => { n.textContent = Hub.fmtDur(Number(n.dataset.longest) + el); });
  document.querySelectorAll('#convs [data-since], #visits [data-since]').forEach((n) => { n.textContent = Hub.fmtDur((now - Number(n.dataset.since)) / 1000); });
  document.querySelectorAll('#operators [data-until]').forEach((n) => {
    const left = (Number(n.dataset.until) - now) / 1000;
    n.textContent = left > 0 ? Hub.fmtDur(left) : Hub.t('common.none');
  });
}

/* ---------- actions ---------- */
async function assign(c, operatorId) {
  S.busy.add(c.id);
  renderConvs();
  Hub.clearMessage();
  try {
    await Hub.api('POST', '/api/conversations/' + c.id + '/assign', { operator_id: operatorId });
    Hub.say(operatorId === S.me.user_id ? 'sup.tookOver' : 'sup.assigned',
      { name: (c.contact && (c.contact.name || '#' + c.contact.id)) || '#' + c.id, op: opName(operatorId) }, 'ok');
  } catch (e) { fail(e); }
  S.busy.delete(c.id);
  load();
}

$('signout').addEventListener('click', async () => {
  try { await Hub.api('POST', '/api/auth/logout', {}); } catch (_) { /* leave anyway */ }
  location.assign('/login');
});
Hub.onLang(() => { if (S.overview) render(); renderCanned(); });
document.addEventListener('visibilitychange', () => { if (!document.hidden && S.me) loadCanned(); });

/* ---------- start ---------- */
(async () => {
  try {
    S.me = await Hub.api('GET', '/api/me');
  } catch (e) {
    if (e.status === 401) { toLogin(); return; }
    Hub.showError(e); return;
  }
  if (!S.me || S.me.type !== 'user') { Hub.say('sup.forbidden', null, 'error'); return; }
  Hub.setDefaultLang(S.me.lang);
  Hub.setText($('me-name'), S.me.name);
  if (S.me.role !== 'supervisor' && S.me.role !== 'admin') { Hub.say('sup.forbidden', null, 'error'); badge('offline'); return; }
  await Promise.all([load(), loadVisits(), loadCanned()]);
  Hub.socket('/ws/operator', { onMessage: onFrame, onOpen: () => { loadSoon(); visitsSoon(); }, onStatus: badge });
  setInterval(() => { load(); loadVisits(); }, 5000);
  setInterval(tick, 1000);
})();
