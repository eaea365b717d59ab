/* Branches: a new branch from nothing, or one's name, address, time zone, language, queue rules,
   working week and holidays. Hours are typed as 24-hour HH:MM, the way the server, the board and
   the kiosk write them (a native time field would show "12:00 AM" in an English browser and
   cannot say 24:00, the end of a day open to midnight). */
import * as Hub from './hub.js';
import { $, S, arr, clearFieldErrors, fieldError, loadBranches, branchOptions, onBranches } from './admin-kit.js';
import { regionOptions, render as renderRegions } from './admin-regions.js';

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const B = { current: null, holidays: [] };

/* A time field: HH:MM, digits and a colon, checked by the server (which names the day). */
const timeInput = (attrs) => Hub.el('input', Object.assign({ type: 'text', inputmode: 'numeric', maxlength: '5',
  pattern: '[0-9]{1,2}:[0-9]{2}', placeholder: '09:00', autocomplete: 'off', class: 'hhmm' }, attrs));
const span = (h) => (h && h.includes('-') ? h.split('-') : ['09:00', '18:00']);

function fresh() {
  let tz = 'Europe/Moscow';
  try { tz = Intl.DateTimeFormat().resolvedOptions().timeZone || tz; } catch (_) { /* old browser */ }
  return {
    id: null, name: '', address: '', timezone: tz, lang: (S.me && S.me.lang) || 'ru',
    schedule: Object.fromEntries(DAYS.slice(0, 5).map((d) => [d, '09:00-18:00'])),
    holidays: [], recalls_before_no_show: 1, board_size: 8, vip_code_set: false, region_id: null,
  };
}

function renderWeek(schedule) {
  $('week').replaceChildren(...DAYS.map((d) => {
    const hours = schedule[d];
    const [from, to] = span(hours);
    const open = Hub.el('input', { type: 'checkbox', id: 'wk-open-' + d, 'data-testid': 'week-open-' + d,
      'aria-label': Hub.t('wd.' + d) + ': ' + Hub.t('adm.openThatDay') });
    open.checked = !!hours;
    const err = Hub.el('p', { class: 'field-error hidden', id: 'err-wk-' + d, 'data-field': 'schedule.' + d, 'data-testid': 'field-error', role: 'alert' });
    const time = (which, v) => timeInput({ 'data-testid': 'week-' + which + '-' + d, value: v,
      'aria-label': Hub.t('wd.' + d) + ': ' + Hub.t(which === 'from' ? 'adm.from' : 'adm.to'), 'aria-describedby': err.id, disabled: !hours });
    const f = time('from', from);
    const t = time('to', to);
    open.addEventListener('change', () => { f.disabled = t.disabled = !open.checked; });
    return Hub.el('tr', { 'data-day': d },
      Hub.el('th', { scope: 'row' }, Hub.t('wd.' + d)),
      Hub.el('td', null, open),
      Hub.el('td', null, f), Hub.el('td', null, t), Hub.el('td', null, err));
  }));
}

function readWeek() {
  const schedule = {};
  for (const d of DAYS) {
    const row = $('week').querySelector('tr[data-day="' + d + '"]');
    if (!row.querySelector('[data-testid="week-open-' + d + '"]').checked) continue;
    const from = row.querySelector('[data-testid="week-from-' + d + '"]').value.trim();
    const to = row.querySelector('[data-testid="week-to-' + d + '"]').value.trim();
    schedule[d] = from + '-' + to;
  }
  return schedule;
}

function renderHolidays() {
  const list = B.holidays;
  $('holidays').replaceChildren(...list.map((h, i) => {
    const [from, to] = span(h.hours);
    const date = Hub.el('input', { type: 'date', value: h.date, 'data-testid': 'holiday-date', 'aria-label': Hub.t('adm.date'), 'aria-describedby': 'err-br-holidays' });
    const open = Hub.el('input', { type: 'checkbox', 'data-testid': 'holiday-open', 'aria-label': Hub.t('adm.openThatDay') });
    open.checked = !!h.hours;
    const f = timeInput({ value: from, 'data-testid': 'holiday-from', 'aria-label': Hub.t('adm.from'), 'aria-describedby': 'err-br-holidays', disabled: !h.hours });
    const t = timeInput({ value: to, 'data-testid': 'holiday-to', 'aria-label': Hub.t('adm.to'), 'aria-describedby': 'err-br-holidays', disabled: !h.hours });
    const note = Hub.el('input', { type: 'text', value: h.note || '', maxlength: '100', 'data-testid': 'holiday-note', 'aria-label': Hub.t('adm.note') });
    const sync = () => {
      list[i] = { date: date.value, hours: open.checked ? f.value.trim() + '-' + t.value.trim() : null, note: note.value };
      f.disabled = t.disabled = !open.checked;
    };
    [date, open, f, t, note].forEach((n) => { n.addEventListener('change', sync); n.addEventListener('input', sync); });
    const remove = Hub.el('button', { type: 'button', class: 'btn ghost', 'data-testid': 'holiday-remove',
      onclick: () => { list.splice(i, 1); renderHolidays(); } }, Hub.t('adm.remove'));
    return Hub.el('tr', { 'data-testid': 'holiday-row' }, Hub.el('td', null, date), Hub.el('td', null, open),
      Hub.el('td', null, f), Hub.el('td', null, t), Hub.el('td', null, note), Hub.el('td', null, remove));
  }));
  Hub.show($('holidays-none'), !list.length);
}

function vipState() {
  const b = B.current;
  Hub.setText($('br-vip-state'), !b ? Hub.t('adm.vipNew') : Hub.t(b.vip_code_set ? 'adm.vipSet' : 'adm.vipNone'));
}

function renderForm() {
  const b = B.current || fresh();
  clearFieldErrors($('branch-form'));
  Hub.setText($('branch-form-h'), b.id == null ? Hub.t('adm.branchNew') : Hub.t('adm.branchEdit', { name: b.name }));
  $('br-name').value = b.name;
  $('br-address').value = b.address || '';
  regionOptions($('br-region'), b.region_id == null ? null : b.region_id, 'adm.regionNone');
  $('br-timezone').value = b.timezone;
  $('br-lang').value = b.lang;
  $('br-recalls').value = String(b.recalls_before_no_show);
  $('br-board-size').value = String(b.board_size);
  $('br-vip').value = '';
  $('br-vip-clear').checked = false;
  Hub.show($('br-vip-clear-box'), b.vip_code_set);
  vipState();
  renderWeek(b.schedule || {});
  B.holidays = arr(b.holidays).map((h) => Object.assign({}, h)).sort((x, y) => (x.date < y.date ? -1 : 1));
  renderHolidays();
}

function pick(id) {
  B.current = S.branches.find((b) => b.id === id) || null;
  if (B.current) $('branches-pick').value = String(id);
  renderForm();
}

export function render() {
  branchOptions($('branches-pick'), B.current ? B.current.id : null);
  // The form is worded again (day names, the heading); what was typed is kept.
  const week = readWeek();
  Hub.setText($('branch-form-h'), B.current ? Hub.t('adm.branchEdit', { name: B.current.name }) : Hub.t('adm.branchNew'));
  renderWeek(week);
  renderHolidays();
  vipState();
}

export function init() {
  const tz = $('tz-list');
  try {
    tz.replaceChildren(...Intl.supportedValuesOf('timeZone').map((z) => Hub.el('option', { value: z })));
  } catch (_) { /* the server checks the zone anyway */ }
  onBranches(() => branchOptions($('branches-pick'), B.current ? B.current.id : null));
  $('branches-pick').addEventListener('change', () => pick(Number($('branches-pick').value)));
  $('branch-new').addEventListener('click', () => { B.current = null; $('branches-pick').value = ''; renderForm(); $('br-name').focus(); });
  $('holiday-add').addEventListener('click', () => {
    B.holidays.push({ date: '', hours: null, note: '' });
    renderHolidays();
    const dates = $('holidays').querySelectorAll('[data-testid="holiday-date"]');
    dates[dates.length - 1].focus();
  });
  $('branch-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const form = $('branch-form');
    clearFieldErrors(form);
    const body = {
      name: $('br-name').value.trim(), address: $('br-address').value.trim(), timezone: $('br-timezone').value.trim(),
      lang: $('br-lang').value, schedule: readWeek(), holidays: B.holidays.filter((h) => h.date || h.note),
      recalls_before_no_show: Number($('br-recalls').value), board_size: Number($('br-board-size').value),
      region_id: $('br-region').value ? Number($('br-region').value) : null,
    };
    const vip = $('br-vip').value;
    if ($('br-vip-clear').checked) body.vip_code = null;
    else if (vip) body.vip_code = vip;
    try {
      const creating = !B.current;
      const saved = creating
        ? await Hub.api('POST', '/api/admin/branches', body)
        : await Hub.api('PATCH', '/api/admin/branches/' + B.current.id, body);
      await loadBranches();
      renderRegions();
      pick(saved.id);
      Hub.say(creating ? 'adm.branchAdded' : 'adm.saved', { name: saved.name }, 'ok');
    } catch (e) { fieldError(form, e); }
  });
}

export function start() { pick(S.branches.length ? S.branches[0].id : null); }
