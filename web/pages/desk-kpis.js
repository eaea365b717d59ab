/* The manager's figures (supervisors): the period's requests counted by the server's model
   (model::kpi), for the desk, per group and per engineer, the top counterparties and sites, and
   every open request whose clock is breached or near it. Each figure carries its raw value in
   data-value; the CSV link downloads the same figures. */
import * as Hub from './hub.js';
import { S, clockName, counterpartyName, fmtLeft, groupName, personName, siteName } from './desk-state.js';

const $ = (id) => document.getElementById(id);

function pct(c) { return c.percent == null ? '—' : c.percent + ' %'; }
function dur(secs) { return secs == null ? '—' : Hub.fmtDur(secs); }

/* [test id, word key, raw value, shown] for each tile of the desk's figures. */
function tiles(f) {
  return [
    ['requests', 'desk.k.requests', f.requests, String(f.requests)],
    ['backlog', 'desk.k.backlog', f.backlog, String(f.backlog)],
    ['resolved', 'desk.k.resolved', f.resolved, String(f.resolved)],
    ['first-response', 'desk.k.firstResponse', f.first_response.percent, pct(f.first_response)],
    ['next-response', 'desk.k.nextResponse', f.next_response.percent, pct(f.next_response)],
    ['resolution', 'desk.k.resolution', f.resolution.percent, pct(f.resolution)],
    ['first-response-avg', 'desk.k.firstResponseAvg', f.first_response_avg_secs, dur(f.first_response_avg_secs)],
    ['resolution-avg', 'desk.k.resolutionAvg', f.resolution_avg_secs, dur(f.resolution_avg_secs)],
    ['reopen', 'desk.k.reopen', f.reopen_percent, f.reopen_percent == null ? '—' : f.reopen_percent + ' %'],
    ['backlog-age', 'desk.k.backlogAge', f.backlog_age_secs, dur(f.backlog_age_secs)],
    ['ola-breached', 'desk.k.olaBreached', f.ola_breached, String(f.ola_breached)],
    ['logged', 'desk.k.logged', f.logged_mins, Hub.t('desk.mins', { n: f.logged_mins })],
    ['cost', 'desk.k.cost', f.labour_cost_cents, Hub.fmtMoney(f.labour_cost_cents, true)],
    ['csat', 'desk.k.csat', f.csat.percent, pct(f.csat)],
  ];
}

const COLUMNS = [
  ['requests', 'desk.k.requests', (f) => f.requests],
  ['backlog', 'desk.k.backlog', (f) => f.backlog],
  ['resolved', 'desk.k.resolved', (f) => f.resolved],
  ['first-response', 'desk.k.firstResponse', (f) => f.first_response.met + ' / ' + f.first_response.breached + ' · ' + pct(f.first_response)],
  ['resolution', 'desk.k.resolution', (f) => f.resolution.met + ' / ' + f.resolution.breached + ' · ' + pct(f.resolution)],
  ['next-response', 'desk.k.nextResponse', (f) => pct(f.next_response)],
  ['reopen', 'desk.k.reopen', (f) => (f.reopen_percent == null ? '—' : f.reopen_percent + ' %')],
  ['logged', 'desk.k.logged', (f) => Hub.t('desk.mins', { n: f.logged_mins })],
  ['cost', 'desk.k.cost', (f) => Hub.fmtMoney(f.labour_cost_cents) + (f.unpriced_mins ? ' · ' + Hub.t('desk.unpriced', { n: f.unpriced_mins }) : '')],
  ['csat', 'desk.k.csat', (f) => (f.csat.rated ? f.csat.satisfied + ' / ' + f.csat.rated + ' · ' + pct(f.csat) : '—')],
];

/* Hours as "7:30". */
function hours(mins) { return Math.floor(mins / 60) + ':' + String(mins % 60).padStart(2, '0'); }

/* Each engineer's load: logged work and time holding requests against their shift over the
   period, and their fullest day (by logged work). */
function loadTable(rows) {
  $('kpi-load').replaceChildren(...rows.map((l) => {
    const top = l.days.filter((d) => d.percent != null).sort((a, b) => b.percent - a.percent)[0];
    return Hub.el('tr', { 'data-testid': 'kpi-load-row', 'data-id': l.user, 'data-load': JSON.stringify(l) },
      Hub.el('td', null, personName(l.user)),
      Hub.el('td', { class: 'n', 'data-k': 'shift' }, hours(l.shift_mins)),
      Hub.el('td', { class: 'n', 'data-k': 'logged' }, hours(l.logged_mins)),
      Hub.el('td', { class: 'n', 'data-k': 'tracked' }, hours(l.tracked_mins)),
      Hub.el('td', { class: 'n', 'data-k': 'utilisation' }, l.utilisation_percent == null ? Hub.t('desk.noShift') : l.utilisation_percent + ' %'),
      Hub.el('td', { class: 'n', 'data-k': 'tracked-share' }, l.tracked_percent == null ? '—' : l.tracked_percent + ' %'),
      Hub.el('td', { class: 'n', 'data-k': 'top' }, top ? top.date + ' · ' + top.percent + ' %' : '—'));
  }));
  Hub.show($('kpi-load-none'), rows.length === 0);
}

function table(head, body, rows, nameOf, idKey, testid) {
  head.replaceChildren(Hub.el('tr', null, Hub.el('th', null, ''), Hub.el('th', { class: 'bar-cell' }, Hub.t('desk.k.resolution')),
    ...COLUMNS.map(([, key]) => Hub.el('th', { class: 'n' }, Hub.t(key)))));
  body.replaceChildren(...rows.map((r) => {
    const f = r.figures;
    const bar = Hub.el('div', { class: 'bar' });
    bar.style.width = (f.resolution.percent == null ? 0 : f.resolution.percent) + '%';
    return Hub.el('tr', { 'data-testid': testid, 'data-id': r[idKey], 'data-figures': JSON.stringify(f) },
      Hub.el('td', null, nameOf(r[idKey])), Hub.el('td', { class: 'bar-cell' }, bar),
      ...COLUMNS.map(([name, , v]) => Hub.el('td', { class: 'n', 'data-k': name }, String(v(f)))));
  }));
}

function ranked(body, rows, key, nameOf, testid) {
  body.replaceChildren(...rows.slice(0, 10).map((r) => Hub.el('tr', { 'data-testid': testid, 'data-id': r[key] },
    Hub.el('td', null, nameOf(r[key])), Hub.el('td', { class: 'n' }, String(r.requests)))));
}

export async function loadKpis() {
  if (!S.supervisor) return;
  const days = Number($('kpi-period').value) || 30;
  const to = Date.now() + 60000;
  const from = days === 1 ? new Date(new Date().setHours(0, 0, 0, 0)).getTime() - 86400000 : to - days * 86400000;
  const q = new URLSearchParams({ from: String(from), to: String(to) }).toString();
  $('kpi-csv').href = '/api/desk/kpis.csv?' + q;
  let k;
  try { k = await Hub.api('GET', '/api/desk/kpis?' + q); } catch (e) { Hub.showError(e); return; }
  $('kpi-total').replaceChildren(...tiles(k.total).map(([id, key, raw, shown]) => Hub.el('div', {
    class: 'stat', 'data-testid': 'kpi-' + id, 'data-value': raw == null ? '' : String(raw),
  }, Hub.el('b', null, shown), Hub.el('span', null, Hub.t(key)))));
  table($('kpi-groups-head'), $('kpi-groups'), k.groups, groupName, 'group_id', 'kpi-group');
  table($('kpi-people-head'), $('kpi-people'), k.people, personName, 'user_id', 'kpi-person');
  loadTable(k.load);
  ranked($('kpi-counterparties'), k.counterparties, 'counterparty_id', counterpartyName, 'kpi-counterparty');
  ranked($('kpi-sites'), k.sites, 'site_id', siteName, 'kpi-site');
  $('kpi-breaching').replaceChildren(...k.breaching.map((b) => Hub.el('li', {
    class: 'desk-item', 'data-testid': 'kpi-breaching-item', 'data-request-id': b.request_id,
  }, Hub.el('a', { href: '/desk?request=' + b.request_id, class: 'mono' }, '#' + b.request_id),
  Hub.el('span', { class: 'desk-item-subject' }, b.subject),
  Hub.el('span', { class: 'muted' }, b.group_id ? groupName(b.group_id) : ''),
  Hub.el('span', { class: 'desk-left' + (b.breached ? ' breached' : '') }, clockName(b) + ' ' + fmtLeft(b.left_secs)))));
  Hub.show($('kpi-breaching-none'), k.breaching.length === 0);
  $('panel-kpis').dataset.ready = '1';
}

$('kpi-period').addEventListener('change', loadKpis);
