/* /desk: the service desk's engineer's view. Request lists by view (mine, my groups', breaching
   soon, all) and filters, saved views (in this browser), the request card (desk-card.js), a board
   of a group's requests by status, and for supervisors the figures (desk-kpis.js). Live via
   /ws/operator: a request's change re-reads the list and the open card; an alarm of a request
   that is mine or my group's shows at the top. */
import * as Hub from './hub.js';
import { fillActivities, openCard, refreshCard } from './desk-card.js';
import { loadClients, renderClients } from './desk-clients.js';
import { loadKpis } from './desk-kpis.js';
import { loadThreads, renderThreads, searchWords } from './desk-search.js';
import { D, S, clockName, fmtLeft, groupName, hooks, statusName, typeName } from './desk-state.js';

const $ = (id) => document.getElementById(id);
const SAVED = 'hub.desk.views';

/* The saved views of this browser: [{name, type, status, group, text, closed}]. */
function savedViews() {
  try { return JSON.parse(Hub.stored(SAVED) || '[]').filter((v) => v && typeof v.name === 'string'); } catch (_) { return []; }
}

function option(value, text) { return Hub.el('option', { value: String(value) }, text); }

function fillSelect(sel, items, first) {
  const keep = sel.value;
  sel.replaceChildren(option('', first), ...items.map(([v, t]) => option(v, t)));
  if ([...sel.options].some((o) => o.value === keep)) sel.value = keep;
}

/* The statuses of the chosen type, or of every type (keys shown once). */
function statusItems(typeId) {
  const seen = new Map();
  for (const t of D.types) {
    if (typeId && t.id !== typeId) continue;
    for (const s of t.statuses) if (!seen.has(s.key)) seen.set(s.key, s.name);
  }
  return [...seen.entries()];
}

function fillFilters() {
  const types = D.types.map((t) => [t.id, t.name]);
  const groups = D.groups.map((g) => [g.id, groupName(g.id)]);
  fillSelect($('f-type'), types, Hub.t('desk.anyType'));
  fillSelect($('f-status'), statusItems(Number($('f-type').value) || null), Hub.t('desk.anyStatus'));
  fillSelect($('f-group'), groups, Hub.t('desk.anyGroup'));
  fillSelect($('f-label'), D.labels.map((l) => [l.label, l.label + ' (' + l.requests + ')']), Hub.t('desk.anyLabel'));
  $('label-known').replaceChildren(...D.labels.map((l) => Hub.el('option', { value: l.label })));
  fillSelect($('k-group'), groups, Hub.t('desk.chooseGroup'));
  fillSelect($('k-type'), types, Hub.t('desk.chooseType'));
  fillSelect($('new-type'), types, Hub.t('desk.chooseType'));
  newCategories();
  fillSelect($('new-site'), D.sites.map((x) => [x.id, x.name]), '—');
  fillSelect($('new-counterparty'), D.counterparties.map((x) => [x.id, x.name]), '—');
  fillSelect($('new-priority'), ['low', 'normal', 'high', 'critical'].map((p) => [p, Hub.t('desk.prio.' + p)]), Hub.t('desk.prioDefault'));
  fillSelect($('new-impact'), ['low', 'high'].map((p) => [p, Hub.t('desk.imp.' + p)]), Hub.t('desk.impDefault'));
  if (!$('k-group').value && S.myGroups.length) $('k-group').value = String(S.myGroups[0]);
  if (!$('k-type').value && D.types.length) $('k-type').value = String(D.types[0].id);
}

function renderViews() {
  for (const b of document.querySelectorAll('.desk-views [data-view]')) {
    b.setAttribute('aria-pressed', String(b.dataset.view === S.view && !S.saved));
  }
  const box = $('saved-views');
  box.replaceChildren(...savedViews().map((v, i) => Hub.el('span', { class: 'chip-pair' },
    Hub.el('button', {
      type: 'button', class: 'chip', 'data-testid': 'saved-view', 'aria-pressed': String(S.saved === v.name),
      onclick: () => useSaved(v),
    }, v.name),
    Hub.el('button', {
      type: 'button', class: 'chip ghost', 'data-testid': 'saved-view-delete', title: Hub.t('desk.forgetView'),
      'aria-label': Hub.t('desk.forgetView') + ' ' + v.name,
      onclick: () => { const all = savedViews(); all.splice(i, 1); Hub.store(SAVED, JSON.stringify(all)); renderViews(); },
    }, '×'))));
}

function useSaved(v) {
  S.view = v.view || 'all'; S.saved = v.name;
  $('f-type').value = v.type || ''; fillFilters();
  $('f-status').value = v.status || ''; $('f-group').value = v.group || ''; $('f-label').value = v.label || '';
  $('f-text').value = v.text || ''; $('f-closed').checked = !!v.closed;
  renderViews(); onFind(true);
}

function saveView() {
  const name = (window.prompt(Hub.t('desk.viewName')) || '').trim().slice(0, 40);
  if (!name) return;
  const all = savedViews().filter((v) => v.name !== name);
  all.push({
    name, view: S.view, type: $('f-type').value, status: $('f-status').value, group: $('f-group').value, label: $('f-label').value,
    text: $('f-text').value, closed: $('f-closed').checked,
  });
  Hub.store(SAVED, JSON.stringify(all.slice(-20)));
  S.saved = name;
  renderViews();
}

/* The nearest running clock of a request of the breaching view, as its list line shows it. */
function nearest(r) {
  const running = (r.timers || []).filter((x) => x.stopped_at == null);
  running.sort((a, b) => a.left_secs - b.left_secs);
  return running[0];
}

/* A stop of my day: its place in the order, when I would be there, its deadline. */
function dayLine(stop, n) {
  const late = stop.late_ms > 0;
  return Hub.el('span', { class: 'desk-day' + (late ? ' late' : ''), 'data-testid': 'request-day' },
    Hub.t('desk.dayStop', { n, site: stop.site, at: Hub.fmtTime(stop.arrive) })
    + (stop.deadline_at ? ' · ' + Hub.t('plan.due', { at: Hub.fmtTime(stop.deadline_at) }) : '')
    + (late ? ' · ' + Hub.t('plan.late', { n: Math.ceil(stop.late_ms / 60000) }) : ''));
}

function listItem(r) {
  const near = nearest(r);
  const stop = r.stop ? dayLine(r.stop, r.stopNo) : null;
  return Hub.el('li', {
    class: 'desk-item' + (r.id === S.openId ? ' open' : ''), 'data-testid': 'request-item',
    'data-request-id': r.id, 'data-status': r.status, tabindex: '0', role: 'button',
    onclick: () => openCard(r.id),
    onkeydown: (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); openCard(r.id); } },
  },
  Hub.el('span', { class: 'mono desk-item-id' }, '#' + r.id),
  Hub.el('span', { class: 'desk-item-subject', 'data-testid': 'request-subject' }, r.subject),
  Hub.el('span', { class: 'pill', 'data-status-kind': r.status_kind }, statusName(r.type_id, r.status)),
  Hub.el('span', { class: 'muted' }, [typeName(r.type_id), r.group_id ? groupName(r.group_id) : ''].filter(Boolean).join(' · ')),
  ...(r.labels || []).map((l) => Hub.el('span', { class: 'chip desk-label', 'data-testid': 'request-label' }, l)),
  near ? Hub.el('span', { class: 'desk-left' + (near.breached ? ' breached' : ''), 'data-testid': 'request-left' },
    clockName(near) + ' ' + fmtLeft(near.left_secs)) : null, stop);
}

/* My day: my requests at sites in the order the dispatcher set (or the hub proposes), each
   with when I would be there; my other requests after them. */
async function loadDay(seq) {
  const [mine, day] = await Promise.all([Hub.api('GET', '/api/desk/requests?view=mine'), Hub.api('GET', '/api/desk/my-day')]);
  if (seq !== S.listSeq) return null;
  const byId = new Map((mine || []).map((r) => [r.id, r]));
  const planned = day.stops.map((st, i) => byId.has(st.request_id)
    ? Object.assign({}, byId.get(st.request_id), { stop: st, stopNo: i + 1 }) : null).filter(Boolean);
  const rest = (mine || []).filter((r) => !day.stops.some((st) => st.request_id === r.id));
  $('request-list').dataset.plan = day.saved ? 'saved' : 'proposed';
  return planned.concat(rest);
}

function renderList() {
  /* "#12" filters the list as read; words were searched for by the server. */
  const text = $('f-text').value.trim().toLowerCase();
  const id = text.startsWith('#') ? text : '';
  const rows = S.list.filter((r) => !id || ('#' + r.id).startsWith(id));
  $('request-list').replaceChildren(...rows.map(listItem));
  Hub.show($('list-none'), rows.length === 0);
}

async function loadList() {
  const q = new URLSearchParams({ view: S.view });
  if ($('f-closed').checked || S.client) q.set('all', 'true');
  if (S.client && S.client.counterparty_id) q.set('counterparty_id', S.client.counterparty_id);
  if (S.client && S.client.contact_id) q.set('contact_id', S.client.contact_id);
  for (const [k, id] of [['type_id', 'f-type'], ['status', 'f-status'], ['group_id', 'f-group'], ['label', 'f-label']]) {
    if ($(id).value) q.set(k, $(id).value);
  }
  const words = searchWords();
  if (words) q.set('q', words);
  const seq = ++S.listSeq;
  let list;
  try {
    list = S.view === 'day' ? await loadDay(seq) : await Hub.api('GET', '/api/desk/requests?' + q.toString()) || [];
  } catch (e) { Hub.showError(e); return; }
  if (seq !== S.listSeq) return;
  S.list = list;
  renderList();
  document.body.dataset.ready = '1';
}

/* The board: the chosen group's open requests of the chosen type in a column per status. */
async function loadKanban() {
  const group = Number($('k-group').value); const type = Number($('k-type').value);
  const box = $('kanban');
  const t = D.types.find((x) => x.id === type);
  if (!group || !t) { box.replaceChildren(); return; }
  let rows = [];
  try {
    rows = await Hub.api('GET', '/api/desk/requests?' + new URLSearchParams({ group_id: group, type_id: type })) || [];
  } catch (e) { Hub.showError(e); return; }
  box.replaceChildren(...t.statuses.filter((s) => s.kind !== 'closed').map((s) => {
    const mine = rows.filter((r) => r.status === s.key);
    return Hub.el('div', { class: 'kanban-col', 'data-testid': 'kanban-column', 'data-status': s.key },
      Hub.el('h3', null, s.name, ' ', Hub.el('span', { class: 'count-badge' }, String(mine.length))),
      ...mine.map((r) => Hub.el('button', {
        type: 'button', class: 'kanban-card', 'data-testid': 'kanban-card', 'data-request-id': r.id,
        onclick: () => { tab('requests'); openCard(r.id); },
      }, Hub.el('span', { class: 'mono' }, '#' + r.id), ' ', r.subject,
      Hub.el('span', { class: 'muted' }, r.assignee_id ? ' · ' + (D.people.find((p) => p.id === r.assignee_id) || {}).name : ''))));
  }));
}

function tab(name) {
  for (const b of document.querySelectorAll('[data-tab]')) b.setAttribute('aria-selected', String(b.dataset.tab === name));
  for (const p of ['requests', 'kanban', 'clients', 'kpis']) Hub.show($('panel-' + p), p === name);
  S.tab = name;
  if (name === 'kanban') loadKanban();
  if (name === 'clients') loadClients();
  if (name === 'kpis') loadKpis();
}

/* An alarm of a request that is mine, or my group's, or any for a supervisor. */
function alarm(f) {
  const mine = S.supervisor || S.myGroups.includes(f.group_id) || S.list.some((r) => r.id === f.request_id && r.assignee_id === S.me.user_id);
  if (!mine) return;
  const key = f.share >= 100 ? 'desk.alarmBreach' : 'desk.alarmWarn';
  const line = Hub.el('div', {
    class: 'desk-alert' + (f.share >= 100 ? ' breached' : ''), 'data-testid': 'desk-alert',
    'data-request-id': f.request_id, 'data-share': f.share, role: 'alert',
  }, Hub.el('button', { type: 'button', class: 'linkish', onclick: () => openCard(f.request_id) },
    Hub.t(key, { id: f.request_id, clock: clockName(f), share: f.share })),
  Hub.el('button', { type: 'button', class: 'icon-btn', 'aria-label': Hub.t('desk.dismiss'), onclick: (e) => e.target.closest('.desk-alert').remove() }, '×'));
  $('desk-alerts').prepend(line);
  while ($('desk-alerts').children.length > 5) $('desk-alerts').lastChild.remove();
}

/* A colleague called me by @login in a note. */
function mentioned(f) {
  if (f.user_id !== S.me.user_id) return;
  const who = (D.people.find((p) => p.id === f.by_user) || {}).name || '';
  const line = Hub.el('div', { class: 'desk-alert mention', 'data-testid': 'desk-alert', 'data-request-id': f.request_id, 'data-kind': 'mention', role: 'alert' },
    Hub.el('button', { type: 'button', class: 'linkish', onclick: () => openCard(f.request_id) }, Hub.t('desk.mentioned', { who, id: f.request_id })),
    Hub.el('button', { type: 'button', class: 'icon-btn', 'aria-label': Hub.t('desk.dismiss'), onclick: (e) => e.target.closest('.desk-alert').remove() }, '×'));
  $('desk-alerts').prepend(line);
}

/* Runs `fn` at most once per `ms` (the last call within the window runs at its end): the
   figures and the labels are read over the whole organisation, too much for every event of a
   busy desk. */
function atMostEvery(ms, fn) {
  let last = 0; let timer = null;
  return () => {
    const wait = last + ms - Date.now();
    if (wait <= 0) { last = Date.now(); fn(); return; }
    if (!timer) timer = setTimeout(() => { timer = null; last = Date.now(); fn(); }, wait);
  };
}
const kpisSoon = atMostEvery(15000, () => { if (S.tab === 'kpis') loadKpis(); });
const labelsSoon = atMostEvery(15000, reloadLabels);

const refreshSoon = Hub.debounce(() => {
  loadList();
  labelsSoon();
  if (S.openId) refreshCard();
  if (S.tab === 'kanban') loadKanban();
  kpisSoon();
}, 300);

/* The organisation's labels (for the filter and the card's suggestions) change as requests are
   labelled: read again with the list. */
async function reloadLabels() {
  try {
    const d = await Hub.api('GET', '/api/desk/directory');
    D.labels = d.labels || [];
    fillFilters();
  } catch (_) { /* the list's own read says what is wrong */ }
}

async function loadDirectory() {
  Object.assign(D, await Hub.api('GET', '/api/desk/directory'));
  S.myGroups = D.groups.filter((g) => g.members.includes(S.me.user_id)).map((g) => g.id);
  fillFilters();
  fillActivities();
}

/* A client's history: every request of theirs, closed ones too, whatever the view. */
function showClient(c) {
  S.client = c;
  S.view = 'all'; S.saved = null;
  renderViews();
  Hub.setText($('f-client-name'), Hub.t('desk.clientOf', { name: c.name }));
  Hub.show($('f-client'), true);
  tab('requests');
  loadList();
}

/* The chosen type's categories, when it names any. */
function newCategories() {
  const t = D.types.find((x) => x.id === Number($('new-type').value));
  const kinds = t && Array.isArray(t.categories) ? t.categories : [];
  fillSelect($('new-category'), kinds.map((c) => [c, c]), Hub.t('desk.noCategory'));
  Hub.show($('new-category-box'), kinds.length > 0);
}

async function create(e) {
  e.preventDefault();
  const body = { type_id: Number($('new-type').value), subject: $('new-subject').value };
  if ($('new-category').value) body.category = $('new-category').value;
  if ($('new-priority').value) body.priority = $('new-priority').value;
  if ($('new-impact').value) body.impact = $('new-impact').value;
  if ($('new-site').value) body.site_id = Number($('new-site').value);
  if ($('new-counterparty').value) body.counterparty_id = Number($('new-counterparty').value);
  if (S.fromThread) body.conversation_id = S.fromThread;
  try {
    const r = await Hub.api('POST', '/api/desk/requests', body);
    $('new-subject').value = ''; S.fromThread = null; Hub.show($('new-thread'), false);
    Hub.say('desk.created1', { id: r.id }, 'ok');
    await loadList();
    if (searchWords()) loadThreads(openFromSearch, makeFromThread);
    openCard(r.id);
  } catch (err) { Hub.showError(err); }
}

/* A thread the search found becomes a request: the new request's form, its subject from the
   line that matched, and the thread linked when it is made. */
function makeFromThread(h) {
  S.fromThread = h.conversation_id;
  $('new-subject').value = (h.line || '').slice(0, 120);
  Hub.setText($('new-thread'), Hub.t('desk.fromThread', { name: h.contact_name || Hub.t('desk.someone') }));
  Hub.show($('new-thread'), true);
  const box = document.querySelector('.desk-new');
  box.open = true;
  $('new-subject').focus();
}

function openFromSearch(id) { openCard(id); }

/* The find box: "#12" filters the list at once; words search the server (requests and threads). */
function onFind(read) {
  const words = searchWords();
  if (words || S.searched) { loadList(); loadThreads(openFromSearch, makeFromThread); }
  else if (read) loadList();
  else renderList();
  if (!words) S.searched = '';
}

async function boot() {
  hooks.reloadList = () => { loadList(); reloadLabels(); };
  S.showClient = showClient;
  $('f-client-clear').addEventListener('click', () => { S.client = null; Hub.show($('f-client'), false); loadList(); });
  try {
    S.me = await Hub.api('GET', '/api/me');
  } catch (e) {
    if (e.status === 401) { location.href = '/login?next=' + encodeURIComponent(location.pathname + location.search); return; }
    Hub.showError(e); return;
  }
  if (!S.me || S.me.type !== 'user') { Hub.say('op.notOperator', null, 'error'); return; }
  Hub.setDefaultLang(S.me.lang);
  S.supervisor = S.me.role === 'supervisor' || S.me.role === 'admin';
  Hub.setText($('me-name'), S.me.name);
  Hub.show(document.querySelector('[data-tab="kpis"]'), S.supervisor);
  try { await loadDirectory(); } catch (e) { Hub.showError(e); return; }
  S.view = S.myGroups.length ? 'groups' : 'all';
  renderViews();
  for (const b of document.querySelectorAll('.desk-views [data-view]')) {
    b.addEventListener('click', () => {
      S.view = b.dataset.view; S.saved = null; S.client = null; Hub.show($('f-client'), false);
      renderViews(); loadList();
    });
  }
  for (const b of document.querySelectorAll('[data-tab]')) b.addEventListener('click', () => tab(b.dataset.tab));
  $('f-type').addEventListener('change', () => { fillFilters(); S.saved = null; renderViews(); loadList(); });
  for (const id of ['f-status', 'f-group', 'f-label', 'f-closed']) $(id).addEventListener('change', () => { S.saved = null; renderViews(); loadList(); });
  $('f-text').addEventListener('input', Hub.debounce(() => onFind(false), 300));
  $('save-view').addEventListener('click', saveView);
  $('k-group').addEventListener('change', loadKanban);
  $('k-type').addEventListener('change', loadKanban);
  $('new-form').addEventListener('submit', create);
  $('new-type').addEventListener('change', newCategories);
  Hub.onLang(() => {
    fillFilters(); fillActivities(); renderList(); renderClients(); renderThreads(openFromSearch, makeFromThread);
    if (S.client) Hub.setText($('f-client-name'), Hub.t('desk.clientOf', { name: S.client.name }));
    if (S.openId) refreshCard();
  });
  await loadList();
  const wanted = Number(new URLSearchParams(location.search).get('request'));
  if (wanted) openCard(wanted);
  Hub.socket('/ws/operator', {
    onMessage: (f) => {
      if (!f) return;
      if (f.type === 'request_alarm') { alarm(f); refreshSoon(); }
      if (f.type === 'request_mention') mentioned(f);
      if (f.type === 'request_changed' || f.type === 'message_added') refreshSoon();
    },
    onOpen: refreshSoon,
    onStatus: Hub.wsBadge(Hub.tid('ws-status')),
  });
}
boot();
