/* The window: choosing a branch, window and services, the ticket in hand and its actions,
   counters and timers, breaks (with a reason), leaving the window and ending the shift. */
import * as Hub from './hub.js';
import { renderChatPresence, shownUnread } from './operator-chats.js';
import { C, S, fail, hasPlace, inHand, leafServices, presence, services, toLogin } from './operator-state.js';

const $ = (id) => document.getElementById(id);

/* ---------- place selector ---------- */
export function fillBranches(selectedId) {
  const sel = $('branch-select');
  sel.replaceChildren(...S.branches.map((b) => Hub.el('option', { value: String(b.id) }, b.name)));
  if (selectedId != null) sel.value = String(selectedId);
}

export let branchLoad = 0;
export async function loadBranch(id) {
  if (!id) return;
  // Only the latest choice counts: an answer for a branch chosen earlier is dropped, and a
  // repeated choice of the shown branch keeps what the operator already picked.
  const my = ++branchLoad;
  if (S.detail && String(S.detail.branch.id) === String(id)) return;
  let detail;
  try {
    detail = await Hub.api('GET', '/api/branches/' + encodeURIComponent(id));
  } catch (e) { if (my === branchLoad) fail(e); return; }
  if (my !== branchLoad) return;
  S.detail = detail;
  fillPlace();
  fillTransfer();
  await loadQueues();
  render();
}

/* The windows or services of this branch an admin listed for the operator; none listed here:
   all of them (the server's rule, model::presence::listed_here). */
function mayTake(here, key) {
  const listed = (S.op && S.op.listed && S.op.listed[key]) || [];
  const mine = here.filter((x) => listed.includes(x.id));
  return mine.length ? mine : here;
}

export function fillPlace() {
  const d = S.detail;
  const st = S.op && S.op.state;
  const mine = st && S.op.branch_id != null && S.op.branch_id === d.branch.id;
  const win = $('window-select');
  win.replaceChildren(Hub.el('option', { value: '' }, Hub.t('op.choose')),
    ...mayTake(d.windows, 'window_ids').map((w) => Hub.el('option', { value: String(w.id) }, w.label)));
  win.value = mine && st.window_id != null ? String(st.window_id) : '';
  const box = $('service-checks');
  const list = mayTake(leafServices(), 'service_ids');
  box.replaceChildren(...list.map((s) => Hub.el('label', { class: 'check' },
    Hub.el('input', {
      type: 'checkbox', 'data-testid': 'service-checkbox', value: String(s.id),
      checked: !!(mine && st.service_ids.includes(s.id)),
    }),
    Hub.el('span', { 'data-svc-name': s.id }, Hub.serviceName(s)))));
  if (!list.length) box.appendChild(Hub.el('p', { class: 'muted' }, Hub.t('op.noServices')));
}

export function fillTransfer() {
  const sel = $('transfer-service');
  const keep = sel.value;
  sel.replaceChildren(...leafServices().map((s) => Hub.el('option', { value: String(s.id) }, Hub.serviceName(s))));
  if (keep && [...sel.options].some((o) => o.value === keep)) sel.value = keep;
}

/* ---------- data ---------- */
export async function loadOp() {
  const my = ++S.seq;
  const op = await Hub.api('GET', '/api/operator');
  if (my === S.seq) S.op = op;
  if (op && typeof op.now === 'number') S.skew = op.now - Date.now();
}

export async function loadQueues() {
  if (!S.detail) return;
  try {
    S.queues = await Hub.api('GET', '/api/branches/' + S.detail.branch.id + '/queues') || [];
  } catch (e) {
    if (e.status === 401) toLogin();
    S.queues = [];
  }
}

export async function refresh() {
  try { await Promise.all([loadOp(), loadQueues()]); } catch (e) { fail(e); }
  render();
}
export const refreshSoon = Hub.debounce(refresh, 150);

/* ---------- rendering ---------- */
export function render() {
  const op = S.op;
  const t = inHand();
  const status = t ? t.status : '';
  const pr = presence();
  const place = hasPlace();
  const busy = S.busy;

  Hub.show($('work'), place);
  Hub.show($('presence-h').parentElement, place);
  renderChatPresence(pr, place);

  Hub.setText(Hub.tid('current-number'), t ? t.number : '');
  const stEl = Hub.tid('current-status');
  stEl.dataset.status = status;
  Hub.setText(stEl, t ? Hub.t('st.' + status) : Hub.t('op.noTicket'));
  const svc = t && services().find((s) => s.id === t.service_id);
  Hub.setText($('current-service'), svc ? Hub.serviceName(svc) : '');
  const max = S.detail && t && S.detail.branch.id === t.branch_id ? S.detail.branch.recalls_before_no_show : null;
  Hub.setText($('current-recalls'), t && status === 'called'
    ? Hub.t('op.recalls', { n: t.recalls || 0, max: max == null ? '?' : max }) : '');
  Hub.setText($('current-comment'), t && t.comment ? t.comment : '');
  Hub.show($('current-comment'), !!(t && t.comment));

  const set = (id, on) => { $(id).disabled = busy || !on; };
  // A button is enabled only when its action is allowed: calling only at work (a break ends
  // by "back to work", never by another button), no-show only after the branch's recalls.
  set('call-next', place && !t && pr.state === 'available');
  set('recall', status === 'called');
  set('no-show', status === 'called' && max != null && (t.recalls || 0) >= max);
  set('start-service', status === 'called');
  set('finish', status === 'called' || status === 'serving');
  set('transfer', (status === 'called' || status === 'serving') && $('transfer-service').value !== '');
  set('take-break', place && !t && pr.state !== 'break');
  set('back-to-work', place && pr.state !== 'available');
  set('start-work', true);
  $('finish-comment').disabled = !t;
  $('transfer-service').disabled = !t;

  const prEl = $('presence');
  prEl.dataset.status = pr.state;
  Hub.setText(prEl, Hub.t('pr.' + pr.state, { reason: pr.reason || '' }));

  renderTimers();
  renderCounters(op && op.counters);
  set('leave-window', place && pr.state !== 'offline');
  renderQueues();
  renderStats(op && op.stats);
  Hub.setText($('op-name'), op ? op.name : (S.me ? S.me.name : ''));
  setTitle();
}

export function setTitle() {
  const t = inHand();
  const n = C.lists.offers.length + C.lists.mine.reduce((a, c) => a + (shownUnread(c) > 0 ? 1 : 0), 0);
  document.title = (n ? '(' + n + ') ' : '') + (t ? t.number + ' · ' : '') + Hub.t('title.operator');
}

export function renderQueues() {
  const body = $('queues');
  const byId = new Map(S.queues.map((q) => [q.service_id, q]));
  const list = leafServices();
  const max = Math.max(1, ...S.queues.map((q) => q.waiting || 0));
  body.replaceChildren(...list.map((s) => {
    const q = byId.get(s.id) || { waiting: 0, eta_secs: null };
    const bar = Hub.el('div', { class: 'bar' });
    bar.style.width = Math.round(((q.waiting || 0) / max) * 100) + '%';
    return Hub.el('tr', null,
      Hub.el('td', null, Hub.serviceName(s)),
      Hub.el('td', { class: 'bar-cell' }, bar),
      Hub.el('td', { class: 'n', 'data-testid': 'queue-count', 'data-service-id': String(s.id) }, String(q.waiting || 0)),
      Hub.el('td', { class: 'muted' }, q.waiting ? Hub.fmtEta(q.eta_secs) : Hub.t('common.none')));
  }));
}

/* Всего / Ко мне / Обслужено / Осталось: the window's day at a glance. */
export function renderCounters(c) {
  const n = (v) => (v == null ? Hub.t('common.none') : String(v));
  Hub.setText($('count-total'), n(c && c.total));
  Hub.setText($('count-for-me'), n(c && c.for_me));
  Hub.setText($('count-served'), n(c && c.served));
  Hub.setText($('count-left'), n(c && c.left));
}

/* Since the call, and since service began, on the server's clock. */
export function renderTimers() {
  const t = inHand();
  const now = Date.now() + S.skew;
  const called = t && t.called_at ? t.called_at : null;
  const started = t && t.status === 'serving' && t.started_at ? t.started_at : null;
  Hub.show($('timer-called'), !!called);
  Hub.show($('timer-serving'), !!started);
  if (called) Hub.setText($('timer-called'), Hub.t('op.sinceCall', { t: Hub.fmtDur((now - called) / 1000) }));
  if (started) Hub.setText($('timer-serving'), Hub.t('op.inService', { t: Hub.fmtDur((now - started) / 1000) }));
}
setInterval(renderTimers, 1000);

export function renderStats(st) {
  const n = (v) => (v == null ? Hub.t('common.none') : String(v));
  Hub.setText(Hub.tid('stats-served'), n(st && st.served));
  Hub.setText($('stats-noshow'), n(st && st.no_show));
  Hub.setText($('stats-waiting'), n(st && st.waiting));
  Hub.setText($('stats-wait'), Hub.fmtDur(st ? st.avg_wait_secs : null));
  Hub.setText($('stats-service'), Hub.fmtDur(st ? st.avg_service_secs : null));
}

/* ---------- actions ---------- */
export async function act(fn) {
  if (S.busy) return;
  S.busy = true;
  Hub.clearMessage();
  render();
  try { await fn(); } catch (e) { fail(e); }
  S.busy = false;
  await refresh();
}
export const ticketPath = (a) => '/api/operator/tickets/' + inHand().id + '/' + a;
export const num = () => (inHand() ? inHand().number : '');

$('branch-select').addEventListener('change', (ev) => {
  Hub.store('hub.op.branch', ev.target.value);
  loadBranch(ev.target.value);
});

$('start-work').addEventListener('click', () => act(async () => {
  const windowId = Number($('window-select').value);
  const ids = [...document.querySelectorAll('[data-testid="service-checkbox"]:checked')].map((c) => Number(c.value));
  if (!windowId) { Hub.say('op.needWindow', null, 'error'); return; }
  if (!ids.length) { Hub.say('op.needService', null, 'error'); return; }
  S.op = await Hub.api('PUT', '/api/operator/place', { window_id: windowId, service_ids: ids });
  S.seq++;
  const w = S.detail.windows.find((x) => x.id === windowId);
  Hub.say('op.placeSaved', { window: w ? w.label : windowId }, 'ok');
}));

$('call-next').addEventListener('click', () => act(async () => {
  const r = await Hub.api('POST', '/api/operator/call-next', {});
  if (!r || !r.ticket) { Hub.say('op.nobody', null, 'info'); return; }
  if (S.op) { S.op.in_hand = r.ticket; S.seq++; }
  Hub.say('op.called', { number: r.ticket.number }, 'ok');
}));

$('recall').addEventListener('click', () => act(async () => {
  const n = num();
  await Hub.api('POST', ticketPath('recall'), {});
  Hub.say('op.recalled', { number: n }, 'ok');
}));

$('no-show').addEventListener('click', () => act(async () => {
  const n = num();
  await Hub.api('POST', ticketPath('no-show'), {});
  Hub.say('op.noShowDone', { number: n }, 'ok');
}));

$('start-service').addEventListener('click', () => act(async () => {
  await Hub.api('POST', ticketPath('start'), {});
}));

$('finish').addEventListener('click', () => act(async () => {
  const n = num();
  const comment = $('finish-comment').value.trim();
  await Hub.api('POST', ticketPath('finish'), comment ? { comment } : {});
  $('finish-comment').value = '';
  Hub.say('op.finished', { number: n }, 'ok');
}));

$('transfer').addEventListener('click', () => act(async () => {
  const n = num();
  const body = {
    service_id: Number($('transfer-service').value),
    placement: $('transfer-front').checked ? 'front' : 'back',
  };
  const comment = $('transfer-comment').value.trim();
  if (comment) body.comment = comment;
  await Hub.api('POST', ticketPath('transfer'), body);
  $('transfer-comment').value = '';
  $('transfer-back').checked = true;
  Hub.say('op.transferred', { number: n }, 'ok');
}));

/* Break reasons: the organisation's list, and "Other…" to type one (the only way when the
   list is empty). */
export const OTHER = '\u0000other';
export function fillReasons() {
  [['break-reason', 'break-reason-other'], ['chat-break-reason', 'chat-break-reason-other']].forEach(([sel, other]) => {
    const box = $(sel);
    // What was picked is kept across a refill; "Other…" chosen only because the list had not
    // come yet is not.
    const keep = box.dataset.filled ? box.value : '';
    box.dataset.filled = S.reasons.length ? '1' : '';
    box.replaceChildren(
      ...(S.reasons.length ? [Hub.el('option', { value: '' }, Hub.t('op.breakPick'))] : []),
      ...S.reasons.map((r) => Hub.el('option', { value: r }, r)),
      Hub.el('option', { value: OTHER }, Hub.t('op.breakOtherOption')));
    box.value = [...box.options].some((o) => o.value === keep) ? keep : box.options[0].value;
    Hub.show(box, S.reasons.length > 0);
    Hub.show($(other), box.value === OTHER);
  });
}
export async function loadReasons() {
  try { S.reasons = (await Hub.api('GET', '/api/break-reasons')) || []; } catch (e) { S.reasons = []; }
  fillReasons();
}
['break-reason', 'chat-break-reason'].forEach((id) => $(id).addEventListener('change', () => {
  const other = $(id + '-other');
  Hub.show(other, $(id).value === OTHER);
  if ($(id).value === OTHER) other.focus();
}));
export function pickedReason(sel) {
  const v = $(sel).value;
  return v === OTHER ? $(sel + '-other').value.trim() : v;
}
export async function takeBreak(sel) {
  const reason = pickedReason(sel);
  if (!reason) {
    Hub.say('op.needReason', null, 'error');
    ($(sel).value === OTHER ? $(sel + '-other') : $(sel)).focus();
    return;
  }
  S.op = await Hub.api('PUT', '/api/operator/presence', { state: 'break', reason });
  S.seq++;
  $(sel + '-other').value = '';
  fillReasons();
  $(sel).value = $(sel).options[0].value;
  Hub.show($(sel + '-other'), $(sel).value === OTHER);
}
$('take-break').addEventListener('click', () => act(() => takeBreak('break-reason')));

$('back-to-work').addEventListener('click', () => act(async () => {
  S.op = await Hub.api('PUT', '/api/operator/presence', { state: 'available' });
  S.seq++;
}));

$('transfer-service').addEventListener('change', render);

export async function signOut() {
  try { await Hub.api('POST', '/api/auth/logout', {}); } catch (_) { /* leave anyway */ }
  location.assign('/login');
}

/* Leaving the window keeps the operator signed in (offline; "Start work" brings them back);
   ending the shift signs out. Either, with a ticket in hand, asks what becomes of it first:
   the visitor must not be left on the board for a window nobody sits at. */
export async function leaveWindow() {
  S.op = await Hub.api('PUT', '/api/operator/presence', { state: 'offline' });
  S.seq++;
  Hub.say('op.leftWindow', null, 'ok');
}
export function leave(how) {
  S.leaving = how;
  const t = inHand();
  if (!t) { if (how === 'shift') signOut(); else act(leaveWindow); return; }
  Hub.setText($('leave-text'), Hub.t('op.leaveText', { number: t.number, status: Hub.t('st.' + t.status) }));
  Hub.setText($('leave-finish'), Hub.t(how === 'shift' ? 'op.leaveFinish' : 'op.leaveFinishWindow'));
  Hub.setText($('leave-return'), Hub.t(how === 'shift' ? 'op.leaveReturn' : 'op.leaveReturnWindow'));
  $('leave-dialog').showModal();
}
$('signout').addEventListener('click', () => leave('shift'));
$('leave-window').addEventListener('click', () => leave('window'));
$('leave-cancel').addEventListener('click', () => $('leave-dialog').close());
$('leave-finish').addEventListener('click', () => leaveWith('finish', {}));
$('leave-return').addEventListener('click', () => {
  const t = inHand();
  leaveWith('transfer', { service_id: t.service_id, placement: 'front' });
});
export async function leaveWith(action, body) {
  try {
    await Hub.api('POST', ticketPath(action), body);
  } catch (e) {
    $('leave-dialog').close();
    fail(e);
    await refresh();
    return;
  }
  if (S.leaving === 'shift') { signOut(); return; }
  $('leave-dialog').close();
  await act(leaveWindow);
}

Hub.onLang(() => {
  if (S.detail) {
    document.querySelectorAll('[data-svc-name]').forEach((n) => {
      const s = services().find((x) => String(x.id) === n.dataset.svcName);
      if (s) n.textContent = Hub.serviceName(s);
    });
    const win = $('window-select');
    if (win.options.length) win.options[0].textContent = Hub.t('op.choose');
    fillTransfer();
  }
  fillReasons();
  render();
});
