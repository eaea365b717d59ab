/* The back office's shifts and rates: each engineer's shift (a business calendar), hourly rate
   and the request types a dispatching group gives them (none chosen: every type), and the kinds
   of work they log with their own rates (which win over the engineer's).
   Rates are typed in the currency's units (1200 or 1200.50) and kept in its minor unit. */
import * as Hub from './hub.js';
import { arr, fail } from './admin-kit.js';

/* "1 200,50" → 120050; "" → null; anything else is sent as it is for the server to refuse. */
function cents(text) {
  const t = String(text).replace(/\s/g, '').replace(',', '.');
  if (t === '') return null;
  const n = Number(t);
  return Number.isFinite(n) ? Math.round(n * 100) : t;
}
function units(c) { return c == null ? '' : String(c / 100); }

export function people(kit, setup, users, reload) {
  const { field, input, table, row, form, select } = kit;
  const calendars = arr(setup.calendars);
  const kinds = arr(setup.request_types).map((t) => [t.id, t.name]);
  const had = new Map(arr(setup.people).map((p) => [p.user_id, p]));
  const rows = users.filter((u) => u.role !== 'admin' || had.has(u.id)).map((u) => {
    const p = had.get(u.id) || {};
    const shift = select('calendar_id', [['', Hub.t('dk.noShift')], ...calendars.map((c) => [c.id, c.name])],
      { 'data-testid': 'dk-person-shift', 'aria-label': Hub.t('dk.shift') + ': ' + u.name, class: 'dk-shift' });
    shift.value = p.calendar_id == null ? '' : String(p.calendar_id);
    const rate = input('rate_cents', { inputmode: 'decimal', value: units(p.rate_cents), 'data-testid': 'dk-person-rate',
      'aria-label': Hub.t('dk.rate') + ': ' + u.name, class: 'dk-rate' });
    const types = select('request_types', kinds, { multiple: true, size: String(Math.min(3, Math.max(2, kinds.length))),
      'data-testid': 'dk-person-types', 'aria-label': Hub.t('dk.personTypes') + ': ' + u.name, class: 'dk-types' });
    for (const o of types.options) o.selected = arr(p.request_types).map(String).includes(o.value);
    const save = Hub.el('button', { type: 'button', class: 'btn ghost', 'data-testid': 'dk-person-save', onclick: async () => {
      try {
        await Hub.api('PUT', '/api/admin/desk/people/' + u.id, { calendar_id: shift.value ? Number(shift.value) : null, rate_cents: cents(rate.value),
          request_types: [...types.selectedOptions].map((o) => Number(o.value)) });
        Hub.say('adm.saved', null, 'ok');
        await reload();
      } catch (e) { fail(e); }
    } }, Hub.t('adm.save'));
    return row('dk-person', u.id, u.name, shift, rate, types, save);
  });
  const name = input('name', { maxlength: '60', 'data-testid': 'dk-activity-name' });
  const rate = input('rate_cents', { inputmode: 'decimal', 'data-testid': 'dk-activity-rate', class: 'dk-rate' });
  const activityRows = arr(setup.activities).map((a) => {
    const r = input('rate_cents', { inputmode: 'decimal', value: units(a.rate_cents), 'data-testid': 'dk-activity-rate-edit',
      'aria-label': Hub.t('dk.rate') + ': ' + a.name, class: 'dk-rate' });
    const save = Hub.el('button', { type: 'button', class: 'btn ghost', 'data-testid': 'dk-activity-save', onclick: async () => {
      try {
        await Hub.api('PUT', '/api/admin/desk/activities/' + a.id, { rate_cents: cents(r.value) });
        Hub.say('adm.saved', null, 'ok');
        await reload();
      } catch (e) { fail(e); }
    } }, Hub.t('adm.save'));
    return row('dk-activity', a.id, a.name, r, save);
  });
  return [
    Hub.el('p', { class: 'muted' }, Hub.t('dk.peopleHint')),
    table('dk-people', ['adm.name', 'dk.shift', 'dk.ratePerHour', 'dk.personTypes', ''], rows),
    Hub.el('h3', null, Hub.t('dk.activities')),
    activityRows.length ? table('dk-activities', ['adm.name', 'dk.ratePerHour', ''], activityRows)
      : Hub.el('p', { class: 'muted', 'data-testid': 'dk-activities-none' }, Hub.t('dk.noActivities')),
    form('dk-activity-form', [field('adm.name', name), field('dk.ratePerHour', rate)],
      () => Hub.api('POST', '/api/admin/desk/activities', { name: name.value.trim(), rate_cents: cents(rate.value) })),
  ];
}
