/* The service desk's set-up: support groups with grades and members, business calendars, SLA and
   OLA policies, territories (imported as GeoJSON, or drawn on /map), counterparties, sites, request types, the
   routing rules and intake; the workflows are admin-desk-flow.js, shifts and rates
   admin-desk-people.js, the webhooks admin-desk-hooks.js, vehicles and their trackers
   admin-desk-vehicles.js. Everything is read at once
   (GET /api/admin/desk) and read again after each change; the server checks each form and names
   the wrong field, said beside it. */
import * as Hub from './hub.js';
import { $, arr, clearFieldErrors, fail, fieldError, formFields } from './admin-kit.js';
import { editFlow, newFlow } from './admin-desk-flow.js';
import { loadHooks, webhooks } from './admin-desk-hooks.js';
import { people } from './admin-desk-people.js';
import { loadVehicles, vehicles } from './admin-desk-vehicles.js';

export const K = { setup: null, users: [], queues: [], sub: 'groups' };
const SUBS = ['groups', 'calendars', 'policies', 'territories', 'counterparties', 'sites', 'workflows', 'types', 'rules', 'intake', 'people', 'webhooks', 'vehicles'];
const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const PRIORITIES = ['low', 'normal', 'high', 'critical'];
const IMPACTS = ['low', 'medium', 'high'];
/* Conditions that are words, not ids. */
const WORDS = ['priorities', 'impacts', 'categories'];

const named = (list, id) => { const x = arr(list).find((i) => i.id === id); return x ? x.name : '#' + id; };
const names = (list, ids) => arr(ids).map((id) => named(list, id)).join(', ') || '—';
export const groupLabel = (g) => 'L' + g.grade + ' · ' + g.name;

/* A labelled control with its error box; `name` is the API's field. */
function field(label, control) {
  return Hub.el('div', { class: 'field' }, Hub.el('label', { for: control.id }, Hub.t(label)), control);
}
let uid = 0;
function input(name, attrs) { return Hub.el('input', Object.assign({ id: 'dk-' + name + '-' + (++uid), name, type: 'text' }, attrs || {})); }
function select(name, items, attrs) {
  return Hub.el('select', Object.assign({ id: 'dk-' + name + '-' + (++uid), name }, attrs || {}),
    ...items.map(([v, t]) => Hub.el('option', { value: String(v) }, t)));
}
const chosen = (sel) => [...sel.selectedOptions].map((o) => o.value).filter(Boolean);
const chosenIds = (sel) => chosen(sel).map(Number);
const minutes = (v) => (v.trim() === '' ? null : Number(v));

/* The conditions a policy or a rule names, as multiple selects: [controls, read()]. A policy
   may also ask who holds the request (its group, its engineer), which a routing rule cannot:
   routing is what decides it. */
function conditions(when, policy) {
  const w = when || {};
  const multi = (name, items, had) => {
    const s = select(name, items, { multiple: true, size: String(Math.min(5, Math.max(2, items.length))), 'data-testid': 'dk-when-' + name });
    for (const o of s.options) o.selected = arr(had).map(String).includes(o.value);
    return s;
  };
  const s = K.setup;
  const parts = {
    territories: multi('territories', s.territories.map((x) => [x.id, x.name]), w.territories),
    sites: multi('sites', s.sites.map((x) => [x.id, x.name]), w.sites),
    counterparties: multi('counterparties', s.counterparties.map((x) => [x.id, x.name]), w.counterparties),
    request_types: multi('request_types', s.request_types.map((x) => [x.id, x.name]), w.request_types),
    priorities: multi('priorities', PRIORITIES.map((p) => [p, Hub.t('desk.prio.' + p)]), w.priorities),
    impacts: multi('impacts', IMPACTS.map((p) => [p, Hub.t('desk.imp.' + p)]), w.impacts),
  };
  // Every type's categories, each once.
  const kinds = [...new Set(arr(s.request_types).flatMap((t) => arr(t.categories)))];
  if (kinds.length || arr(w.categories).length) {
    parts.categories = multi('categories', [...new Set([...kinds, ...arr(w.categories)])].map((c) => [c, c]), w.categories);
  }
  if (policy) {
    parts.groups = multi('groups', s.groups.map((g) => [g.id, groupLabel(g)]), w.groups);
    parts.assignees = multi('assignees', K.users.map((u) => [u.id, u.name]), w.assignees);
  }
  const box = Hub.el('fieldset', { class: 'row dk-when' }, Hub.el('legend', null, Hub.t('dk.when')),
    ...Object.entries(parts).map(([k, c]) => field('dk.w.' + k, c)));
  const read = () => {
    const out = {};
    for (const [k, c] of Object.entries(parts)) {
      const v = WORDS.includes(k) ? chosen(c) : chosenIds(c);
      if (v.length) out[k] = v;
    }
    return out;
  };
  return [box, read];
}

function whenText(w) {
  const s = K.setup; const parts = [];
  if (arr(w.territories).length) parts.push(Hub.t('dk.w.territories') + ': ' + names(s.territories, w.territories));
  if (arr(w.sites).length) parts.push(Hub.t('dk.w.sites') + ': ' + names(s.sites, w.sites));
  if (arr(w.counterparties).length) parts.push(Hub.t('dk.w.counterparties') + ': ' + names(s.counterparties, w.counterparties));
  if (arr(w.request_types).length) parts.push(Hub.t('dk.w.request_types') + ': ' + names(s.request_types, w.request_types));
  if (arr(w.priorities).length) parts.push(Hub.t('dk.w.priorities') + ': ' + w.priorities.map((p) => Hub.t('desk.prio.' + p)).join(', '));
  if (arr(w.categories).length) parts.push(Hub.t('dk.w.categories') + ': ' + w.categories.join(', '));
  if (arr(w.impacts).length) parts.push(Hub.t('dk.w.impacts') + ': ' + w.impacts.map((p) => Hub.t('desk.imp.' + p)).join(', '));
  if (arr(w.groups).length) parts.push(Hub.t('dk.w.groups') + ': ' + arr(w.groups).map((id) => { const g = arr(s.groups).find((x) => x.id === id); return g ? groupLabel(g) : '#' + id; }).join(', '));
  if (arr(w.assignees).length) parts.push(Hub.t('dk.w.assignees') + ': ' + names(K.users, w.assignees));
  return parts.join('; ') || Hub.t('dk.always');
}

function table(testid, heads, rows) {
  return Hub.el('div', { class: 'table-scroll' }, Hub.el('table', { class: 'data', 'data-testid': testid },
    Hub.el('thead', null, Hub.el('tr', null, ...heads.map((h) => Hub.el('th', null, Hub.t(h))))),
    Hub.el('tbody', null, ...rows)));
}
const row = (testid, id, ...cells) => Hub.el('tr', { 'data-testid': testid, 'data-id': id }, ...cells.map((c) => Hub.el('td', null, c)));

/* A form that posts its body to the API, says what was wrong beside it, and reloads. */
function form(testid, controls, send, label) {
  const f = Hub.el('form', { class: 'stack dk-form', id: 'dk-form-' + testid, 'data-testid': testid, novalidate: true }, ...controls,
    Hub.el('div', null, Hub.el('button', { type: 'submit', class: 'btn primary', 'data-testid': testid + '-submit' }, Hub.t(label || 'adm.add'))));
  formFields(f);
  f.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearFieldErrors(f);
    try {
      await send();
      Hub.say('adm.saved', null, 'ok');
      await loadDesk();
    } catch (e) { fieldError(f, e); }
  });
  return f;
}

/* ---------- each section ---------- */

function groups() {
  const s = K.setup;
  const name = input('name', { maxlength: '100', 'data-testid': 'dk-group-name' });
  const grade = select('grade', [1, 2, 3, 4, 5].map((n) => [n, 'L' + n]), { 'data-testid': 'dk-group-grade' });
  const ola = select('ola_policy_id', [['', Hub.t('dk.noOla')], ...s.policies.filter((p) => p.kind === 'ola').map((p) => [p.id, p.name])], { 'data-testid': 'dk-group-ola' });
  const members = select('members', K.users.map((u) => [u.id, u.name]), { multiple: true, size: '5', 'data-testid': 'dk-group-members' });
  const dispatch = select('dispatch', ['manual', 'least_loaded'].map((d) => [d, Hub.t('dk.dispatch.' + d)]), { 'data-testid': 'dk-group-dispatch' });
  /* The group being edited (its row's Edit fills the form), or none: a new one. */
  let editing = null;
  const heading = Hub.el('h3', null, Hub.t('dk.groupNew'));
  const cancel = Hub.el('button', { type: 'button', class: 'btn ghost hidden', 'data-testid': 'dk-group-cancel' }, Hub.t('adm.cancel'));
  const edit = (g) => {
    editing = g;
    name.value = g ? g.name : ''; grade.value = String(g ? g.grade : 1); ola.value = g && g.ola_policy_id ? String(g.ola_policy_id) : '';
    dispatch.value = g ? g.dispatch || 'manual' : 'manual';
    for (const o of members.options) o.selected = !!g && arr(g.members).map(String).includes(o.value);
    Hub.setText(heading, Hub.t(g ? 'dk.groupEdit' : 'dk.groupNew', { name: g ? g.name : '' }));
    Hub.show(cancel, !!g);
    const submit = f.querySelector('[data-testid="dk-group-form-submit"]');
    Hub.setText(submit, Hub.t(g ? 'adm.save' : 'adm.add'));
    if (g) name.focus();
  };
  cancel.addEventListener('click', () => edit(null));
  const f = form('dk-group-form', [field('adm.name', name), field('dk.grade', grade), field('dk.ola', ola), field('dk.members', members),
    field('dk.dispatch', dispatch), cancel],
  () => {
    const body = { name: name.value.trim(), grade: Number(grade.value), members: chosenIds(members), dispatch: dispatch.value,
      ...(ola.value ? { ola_policy_id: Number(ola.value) } : {}) };
    return editing ? Hub.api('PUT', '/api/admin/desk/groups/' + editing.id, body) : Hub.api('POST', '/api/admin/desk/groups', body);
  });
  return [
    table('dk-groups', ['adm.name', 'dk.grade', 'dk.ola', 'dk.members', 'dk.dispatch', ''], s.groups.map((g) => row('dk-group', g.id,
      g.name, 'L' + g.grade, g.ola_policy_id ? named(s.policies, g.ola_policy_id) : '—', names(K.users, g.members),
      Hub.t('dk.dispatch.' + (g.dispatch || 'manual')),
      Hub.el('button', { type: 'button', class: 'btn ghost', 'data-testid': 'dk-group-edit', onclick: () => edit(g) }, Hub.t('adm.edit'))))),
    heading,
    f,
  ];
}

function calendars() {
  const s = K.setup;
  const name = input('name', { maxlength: '100', 'data-testid': 'dk-cal-name' });
  let tz = 'Europe/Moscow';
  try { tz = Intl.DateTimeFormat().resolvedOptions().timeZone || tz; } catch (_) { /* old browser */ }
  const zone = input('timezone', { value: tz, maxlength: '64', 'data-testid': 'dk-cal-zone' });
  const always = Hub.el('input', { type: 'checkbox', id: 'dk-cal-always', 'data-testid': 'dk-cal-always' });
  const days = DAYS.map((d) => input('week.' + d, { value: ['sat', 'sun'].includes(d) ? '' : '09:00-18:00', placeholder: Hub.t('dk.closed'),
    maxlength: '11', 'data-testid': 'dk-cal-' + d }));
  always.addEventListener('change', () => days.forEach((x) => { x.value = always.checked ? '00:00-24:00' : x.value; x.disabled = always.checked; }));
  const exceptions = Hub.el('textarea', { id: 'dk-cal-exc', name: 'exceptions', rows: '4', 'data-testid': 'dk-cal-exceptions', placeholder: '2027-01-01 —\n2026-12-31 09:00-15:00' });
  const readExceptions = () => exceptions.value.split('\n').map((l) => l.trim()).filter(Boolean).map((l) => {
    const [date, hours, ...note] = l.split(/\s+/);
    const open = hours && /^\d/.test(hours);
    return { date, hours: open ? hours : null, note: (open ? note : [hours, ...note].filter((x) => x && x !== '—')).join(' ') };
  });
  return [
    table('dk-calendars', ['adm.name', 'dk.zone', 'dk.week', 'adm.holidays'], s.calendars.map((c) => row('dk-calendar', c.id,
      c.name, c.timezone, DAYS.filter((d) => c.week[d]).map((d) => Hub.t('wd.' + d).slice(0, 2) + ' ' + c.week[d]).join(', '),
      arr(c.exceptions).map((e) => e.date + (e.hours ? ' ' + e.hours : '')).join(', ') || '—'))),
    Hub.el('h3', null, Hub.t('dk.calendarNew')),
    form('dk-cal-form', [field('adm.name', name), field('dk.zone', zone),
      Hub.el('label', { class: 'check' }, always, ' ', Hub.t('dk.always247')),
      Hub.el('div', { class: 'row' }, ...DAYS.map((d, i) => field('wd.' + d, days[i]))),
      field('dk.exceptions', exceptions), Hub.el('p', { class: 'muted' }, Hub.t('dk.exceptionsHint'))],
    () => Hub.api('POST', '/api/admin/desk/calendars', {
      name: name.value.trim(), timezone: zone.value.trim(),
      week: Object.fromEntries(DAYS.map((d, i) => [d, days[i].value.trim()]).filter(([, v]) => v)),
      exceptions: readExceptions(),
    })),
  ];
}

/* The targets of a policy as controls, and read(). */
function targets(t) {
  const v = t || {};
  const mins = (name, had) => input(name, { type: 'number', min: '1', max: '525600', value: had == null ? '' : String(had), 'data-testid': 'dk-pol-' + name });
  const first = mins('first_response_mins', v.first_response_mins);
  const next = mins('next_response_mins', v.next_response_mins);
  const resolution = mins('resolution_mins', v.resolution_mins);
  const pausing = input('pausing', { value: arr(v.pausing).join(', '), 'data-testid': 'dk-pol-pausing' });
  const warn = input('warn_at', { value: arr(v.warn_at).join(', '), placeholder: '75', 'data-testid': 'dk-pol-warn' });
  const raise = Hub.el('input', { type: 'checkbox', id: 'dk-raise-' + (++uid), 'data-testid': 'dk-pol-raise' });
  raise.checked = arr(v.escalations).some((e) => e.do === 'raise_grade');
  const notify = Hub.el('input', { type: 'checkbox', id: 'dk-notify-' + (++uid), 'data-testid': 'dk-pol-notify' });
  notify.checked = arr(v.escalations).some((e) => e.do === 'notify');
  const list = (x) => x.value.split(',').map((p) => p.trim()).filter(Boolean);
  const controls = [Hub.el('div', { class: 'row' }, field('dk.firstResponse', first), field('dk.nextResponse', next), field('dk.resolution', resolution)),
    Hub.el('div', { class: 'row' }, field('dk.pausing', pausing), field('dk.warnAt', warn)),
    Hub.el('div', { class: 'row' }, Hub.el('label', { class: 'check' }, raise, ' ', Hub.t('dk.raiseOnBreach')),
      Hub.el('label', { class: 'check' }, notify, ' ', Hub.t('dk.notifyOnBreach')))];
  const read = () => {
    const out = { pausing: list(pausing), warn_at: list(warn).map(Number), escalations: [] };
    for (const [k, c] of [['first_response_mins', first], ['next_response_mins', next], ['resolution_mins', resolution]]) {
      const m = minutes(c.value);
      if (m != null) out[k] = m;
    }
    if (raise.checked) out.escalations.push({ share: 100, do: 'raise_grade' });
    if (notify.checked) out.escalations.push({ share: 100, do: 'notify' });
    return out;
  };
  return [controls, read];
}

function policies() {
  const s = K.setup;
  const name = input('name', { maxlength: '100', 'data-testid': 'dk-pol-name' });
  const kind = select('kind', [['sla', 'SLA'], ['ola', 'OLA']], { 'data-testid': 'dk-pol-kind' });
  const cal = select('calendar_id', [['', Hub.t('dk.around')], ...s.calendars.map((c) => [c.id, c.name])], { 'data-testid': 'dk-pol-calendar' });
  const [tc, readTargets] = targets(null);
  const [when, readWhen] = conditions(null, true);
  const fmt = (m) => (m == null ? '—' : Hub.fmtDur(m * 60));
  return [
    table('dk-policies', ['adm.name', 'adm.kind', 'dk.firstResponse', 'dk.resolution', 'dk.calendar', 'dk.when'], s.policies.map((p) => row('dk-policy', p.id,
      p.name, p.kind.toUpperCase(), fmt(p.targets.first_response_mins), fmt(p.targets.resolution_mins),
      p.calendar_id ? named(s.calendars, p.calendar_id) : Hub.t('dk.around'), p.kind === 'sla' ? whenText(p.conditions) : '—'))),
    Hub.el('h3', null, Hub.t('dk.policyNew')),
    form('dk-pol-form', [Hub.el('div', { class: 'row' }, field('adm.name', name), field('adm.kind', kind), field('dk.calendar', cal)), ...tc, when],
      () => Hub.api('POST', '/api/admin/desk/policies', {
        name: name.value.trim(), kind: kind.value, targets: readTargets(), conditions: readWhen(),
        ...(cal.value ? { calendar_id: Number(cal.value) } : {}),
      })),
  ];
}

/* A territory's bounds, south-west to north-east: enough to see it is where it should be. */
function extent(shape) {
  const pts = [];
  const walk = (c) => { if (typeof c[0] === 'number') pts.push(c); else c.forEach(walk); };
  try { walk(shape.coordinates); } catch (_) { return '—'; }
  if (!pts.length) return '—';
  const f = (n) => n.toFixed(3);
  const lon = pts.map((p) => p[0]); const lat = pts.map((p) => p[1]);
  return f(Math.min(...lat)) + ', ' + f(Math.min(...lon)) + ' — ' + f(Math.max(...lat)) + ', ' + f(Math.max(...lon));
}

function territories() {
  const s = K.setup;
  const name = input('name', { maxlength: '100', 'data-testid': 'dk-ter-name' });
  const limit = input('speed_limit_kmh', { type: 'number', min: '1', max: '300', inputmode: 'numeric', 'data-testid': 'dk-ter-limit' });
  const file = Hub.el('input', { type: 'file', id: 'dk-ter-file', accept: '.geojson,.json,application/geo+json,application/json', 'data-testid': 'dk-ter-file' });
  const shape = Hub.el('textarea', { id: 'dk-ter-shape', name: 'shape', rows: '5', class: 'mono', 'data-testid': 'dk-ter-shape',
    placeholder: '{"type": "Polygon", "coordinates": [[[37.3, 55.5], [37.9, 55.5], [37.9, 56.0], [37.3, 56.0], [37.3, 55.5]]]}' });
  file.addEventListener('change', async () => {
    const f = file.files && file.files[0];
    if (!f) return;
    if (f.size > 4 * 1024 * 1024) { Hub.say('dk.tooBig', null, 'error'); return; }
    shape.value = await f.text();
    if (!name.value) name.value = f.name.replace(/\.(geo)?json$/i, '');
  });
  return [
    table('dk-territories', ['adm.name', 'dk.extent', 'fl.speedLimit'], s.territories.map((t) => row('dk-territory', t.id, t.name, extent(t.shape),
      t.speed_limit_kmh == null ? '—' : Hub.t('fl.kmh', { n: t.speed_limit_kmh })))),
    Hub.el('h3', null, Hub.t('dk.territoryNew')),
    Hub.el('p', null, Hub.el('a', { href: '/map?draw=1', 'data-testid': 'dk-ter-draw' }, Hub.t('dk.drawOnMap'))),
    form('dk-ter-form', [field('adm.name', name), field('fl.speedLimit', limit), field('dk.geojsonFile', file), field('dk.geojson', shape), Hub.el('p', { class: 'muted' }, Hub.t('dk.geojsonHint'))],
      () => {
        // Text that is not JSON goes as it is: the server says what a territory must be.
        let parsed = shape.value;
        try { parsed = JSON.parse(shape.value); } catch (_) { /* the server refuses it with its reason */ }
        const body = { name: name.value.trim(), shape: parsed };
        if (limit.value.trim() !== '') body.speed_limit_kmh = Number(limit.value);
        return Hub.api('POST', '/api/admin/desk/territories', body);
      }),
  ];
}

function counterparties() {
  const s = K.setup;
  const name = input('name', { maxlength: '100', 'data-testid': 'dk-cp-name' });
  const domain = input('mail_domain', { maxlength: '253', placeholder: 'romashka.ru', 'data-testid': 'dk-cp-domain' });
  return [
    table('dk-counterparties', ['adm.name', 'dk.mailDomain', 'dk.sites'], s.counterparties.map((c) => row('dk-counterparty', c.id,
      c.name, c.mail_domain || '—', String(s.sites.filter((x) => x.counterparty_id === c.id).length)))),
    Hub.el('h3', null, Hub.t('dk.counterpartyNew')),
    form('dk-cp-form', [field('adm.name', name), field('dk.mailDomain', domain)],
      () => Hub.api('POST', '/api/admin/desk/counterparties', { name: name.value.trim(), ...(domain.value.trim() ? { mail_domain: domain.value.trim() } : {}) })),
  ];
}

function sites() {
  const s = K.setup;
  const name = input('name', { maxlength: '100', 'data-testid': 'dk-site-name' });
  const address = input('address', { maxlength: '300', 'data-testid': 'dk-site-address' });
  const lat = input('lat', { type: 'number', step: 'any', min: '-90', max: '90', 'data-testid': 'dk-site-lat' });
  const lon = input('lon', { type: 'number', step: 'any', min: '-180', max: '180', 'data-testid': 'dk-site-lon' });
  const cp = select('counterparty_id', [['', '—'], ...s.counterparties.map((c) => [c.id, c.name])], { 'data-testid': 'dk-site-counterparty' });
  return [
    table('dk-sites', ['adm.name', 'adm.address', 'dk.point', 'desk.counterparty'], s.sites.map((x) => row('dk-site', x.id,
      x.name, x.address || '—', x.lat != null ? x.lat + ', ' + x.lon : '—', x.counterparty_id ? named(s.counterparties, x.counterparty_id) : '—'))),
    Hub.el('h3', null, Hub.t('dk.siteNew')),
    form('dk-site-form', [field('adm.name', name), field('adm.address', address),
      Hub.el('div', { class: 'row' }, field('dk.lat', lat), field('dk.lon', lon)), field('desk.counterparty', cp)],
    () => Hub.api('POST', '/api/admin/desk/sites', {
      name: name.value.trim(), address: address.value.trim(),
      ...(lat.value !== '' ? { lat: Number(lat.value) } : {}), ...(lon.value !== '' ? { lon: Number(lon.value) } : {}),
      ...(cp.value ? { counterparty_id: Number(cp.value) } : {}),
    })),
  ];
}

function workflows() {
  const s = K.setup;
  return [
    table('dk-workflows', ['adm.name', 'dk.version', 'dk.statuses', ''], s.workflows.map((w) => row('dk-workflow', w.id,
      w.name, 'v' + w.version, w.body.statuses.map((x) => x.name).join(' → '),
      Hub.el('button', { type: 'button', class: 'btn ghost', 'data-testid': 'dk-workflow-edit', onclick: () => editFlow(w) }, Hub.t('adm.edit'))))),
    Hub.el('div', null, Hub.el('button', { type: 'button', class: 'btn', 'data-testid': 'dk-workflow-new', onclick: () => newFlow() }, Hub.t('dk.workflowNew'))),
    Hub.el('div', { id: 'dk-flow-editor' }),
  ];
}

function types() {
  const s = K.setup;
  const name = input('name', { maxlength: '100', 'data-testid': 'dk-type-name' });
  const flow = select('workflow_id', s.workflows.map((w) => [w.id, w.name]), { 'data-testid': 'dk-type-workflow' });
  const fields = input('fields', { placeholder: 'solution, serial_number', 'data-testid': 'dk-type-fields' });
  const checklist = Hub.el('textarea', { id: 'dk-type-checklist', name: 'checklist', rows: '3', 'data-testid': 'dk-type-checklist' });
  const categories = Hub.el('textarea', { id: 'dk-type-categories', name: 'categories', rows: '3', 'data-testid': 'dk-type-categories' });
  return [
    table('dk-types', ['adm.name', 'dk.workflow', 'desk.fields', 'desk.checklist', 'dk.categories'], s.request_types.map((t) => row('dk-type', t.id,
      t.name, named(s.workflows, t.workflow_id), arr(t.fields).join(', ') || '—', arr(t.checklist).join('; ') || '—',
      arr(t.categories).join(', ') || '—'))),
    Hub.el('h3', null, Hub.t('dk.typeNew')),
    form('dk-type-form', [field('adm.name', name), field('dk.workflow', flow), field('desk.fields', fields),
      field('dk.checklistLines', checklist), field('dk.categoryLines', categories)],
    () => Hub.api('POST', '/api/admin/desk/request-types', {
      name: name.value.trim(), workflow_id: Number(flow.value),
      fields: fields.value.split(',').map((x) => x.trim()).filter(Boolean),
      checklist: checklist.value.split('\n').map((x) => x.trim()).filter(Boolean),
      categories: categories.value.split('\n').map((x) => x.trim()).filter(Boolean),
    })),
  ];
}

/* The routing rules in order: each its conditions and its line of groups; edited as a list, saved whole. */
function rules() {
  const s = K.setup;
  const list = Hub.el('ol', { class: 'stack dk-rules', 'data-testid': 'dk-rules' });
  const ruleRow = (r) => {
    const [when, readWhen] = conditions(r.when);
    const line = select('groups', s.groups.map((g) => [g.id, groupLabel(g)]), { multiple: true, size: '4', 'data-testid': 'dk-rule-groups' });
    for (const o of line.options) o.selected = arr(r.groups).map(String).includes(o.value);
    const li = Hub.el('li', { class: 'card dk-rule', 'data-testid': 'dk-rule' }, when, field('dk.line', line),
      Hub.el('div', { class: 'row-actions' },
        Hub.el('button', { type: 'button', class: 'btn ghost', onclick: () => { if (li.previousElementSibling) li.previousElementSibling.before(li); } }, Hub.t('adm.moveUp')),
        Hub.el('button', { type: 'button', class: 'btn ghost', onclick: () => { if (li.nextElementSibling) li.nextElementSibling.after(li); } }, Hub.t('adm.moveDown')),
        Hub.el('button', { type: 'button', class: 'btn ghost', 'data-testid': 'remove', onclick: () => li.remove() }, Hub.t('adm.remove'))));
    li.read = () => ({ when: readWhen(), groups: chosenIds(line) });
    list.append(li);
  };
  s.rules.forEach(ruleRow);
  const err = Hub.el('p', { class: 'field-error hidden', id: 'dk-rules-err', 'data-field': 'rules', 'data-testid': 'field-error', role: 'alert' });
  const f = Hub.el('form', { class: 'stack', id: 'dk-rules-form', novalidate: true }, list, err,
    Hub.el('div', { class: 'row-actions' },
      Hub.el('button', { type: 'button', class: 'btn', 'data-testid': 'dk-rule-add', onclick: () => ruleRow({ when: {}, groups: [] }) }, Hub.t('dk.ruleAdd')),
      Hub.el('button', { type: 'submit', class: 'btn primary', 'data-testid': 'dk-rules-save' }, Hub.t('adm.save'))));
  f.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearFieldErrors(f);
    try {
      await Hub.api('PUT', '/api/admin/desk/rules', { rules: [...list.children].map((li) => li.read()) });
      Hub.say('adm.saved', null, 'ok');
      await loadDesk();
    } catch (e) { fieldError(f, e); }
  });
  return [Hub.el('p', { class: 'muted' }, Hub.t('dk.rulesHint')), f];
}

function intake() {
  const s = K.setup;
  const had = new Map(arr(s.intake).map(([q, t]) => [q, t]));
  return [Hub.el('p', { class: 'muted' }, Hub.t('dk.intakeHint')),
    table('dk-intake', ['adm.queue', 'dk.opens'], K.queues.map((q) => {
      const sel = select('type_id', [['', Hub.t('dk.noIntake')], ...s.request_types.map((t) => [t.id, t.name])],
        { 'data-testid': 'dk-intake-type', 'aria-label': q.name });
      sel.value = had.has(q.service_id) ? String(had.get(q.service_id)) : '';
      sel.addEventListener('change', async () => {
        try {
          await Hub.api('PUT', '/api/admin/desk/intake', { service_id: q.service_id, type_id: sel.value ? Number(sel.value) : null });
          Hub.say('adm.saved', null, 'ok');
        } catch (e) { fail(e); }
      });
      return row('dk-intake-row', q.service_id, q.name, sel);
    }))];
}

const DRAW = {
  groups, calendars, policies, territories, counterparties, sites, workflows, types, rules, intake,
  people: () => people({ field, input, table, row, form, select }, K.setup, K.users, loadDesk),
  webhooks: () => webhooks({ field, input, table, row, form }, render),
  vehicles: () => vehicles({ field, input, table, row, form, select, redraw: render }, K.users, K.setup),
};

export function render() {
  if (!K.setup) return;
  for (const b of document.querySelectorAll('[data-dk-sub]')) b.setAttribute('aria-pressed', String(b.dataset.dkSub === K.sub));
  $('dk-body').replaceChildren(Hub.el('h3', null, Hub.t('dk.s.' + K.sub)), ...DRAW[K.sub]());
  $('panel-desk').dataset.ready = '1';
}

export async function loadDesk() {
  const [setup, users, queues] = await Promise.all([
    Hub.api('GET', '/api/admin/desk'), Hub.api('GET', '/api/admin/users'), Hub.api('GET', '/api/chat-queues')]);
  K.setup = setup; K.users = arr(users).filter((u) => !u.disabled); K.queues = arr(queues);
  await Promise.all([loadHooks(), loadVehicles()]);
  render();
}

export function init() {
  $('dk-nav').replaceChildren(...SUBS.map((name) => Hub.el('button', {
    type: 'button', class: 'chip', 'data-dk-sub': name, 'data-testid': 'dk-sub-' + name,
    onclick: () => { K.sub = name; render(); },
  }, Hub.t('dk.s.' + name))));
  Hub.onLang(() => {
    for (const b of document.querySelectorAll('[data-dk-sub]')) Hub.setText(b, Hub.t('dk.s.' + b.dataset.dkSub));
  });
}
