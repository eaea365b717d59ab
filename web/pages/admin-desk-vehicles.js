/* The back office's vehicles: each with its plate, usual driver (a field engineer's position is
   their vehicle's) and own speed limit, and the trackers bound to it by their unique id or
   IMEI. The hint says where each kind of tracker is pointed, from the installation's settings. */
import * as Hub from './hub.js';
import { arr, fail } from './admin-kit.js';

export const V = { vehicles: [], devices: [], listeners: {} };
const PROTOCOLS = ['osmand', 'teltonika', 'wialon'];

export async function loadVehicles() {
  const got = await Hub.api('GET', '/api/admin/vehicles');
  V.vehicles = arr(got.vehicles); V.devices = arr(got.devices); V.listeners = got.listeners || {};
}

/* Where a tracker of `protocol` sends: this page's origin for OsmAnd, the listener's port for the others. */
function endpoint(protocol) {
  if (protocol === 'osmand') return V.listeners.osmand ? location.origin + '/api/trackers/osmand' : '';
  const addr = V.listeners[protocol] || '';
  return addr ? location.hostname + ':' + addr.split(':').pop() : '';
}

export function vehicles(kit, users) {
  const { field, input, table, row, form, select } = kit;
  const userName = (id) => { const u = users.find((x) => x.id === id); return u ? u.name : '—'; };
  const reload = async () => { await loadVehicles(); kit.redraw(); };
  const remove = (label, confirmText, path) => Hub.el('button', { type: 'button', class: 'btn ghost', 'data-testid': 'fl-remove', onclick: async () => {
    if (!window.confirm(confirmText)) return;
    try { await Hub.api('DELETE', path); Hub.say('adm.saved', null, 'ok'); await reload(); } catch (e) { fail(e); }
  } }, Hub.t(label));
  const trackers = (v) => {
    const mine = V.devices.filter((d) => d.vehicle_id === v.id);
    if (!mine.length) return Hub.el('span', { class: 'muted' }, Hub.t('fl.noTracker'));
    return Hub.el('ul', { class: 'plain' }, ...mine.map((d) => Hub.el('li', { 'data-testid': 'fl-tracker', 'data-id': d.id },
      Hub.el('span', { class: 'mono' }, d.unique_id), ' · ', Hub.t('fl.p.' + d.protocol), ' · ',
      d.last_seen_at ? Hub.t('fl.seen', { at: Hub.fmtTime(d.last_seen_at) }) : Hub.t('fl.neverSeen'), ' ',
      remove('fl.unbind', Hub.t('fl.unbindConfirm', { id: d.unique_id }), '/api/admin/trackers/' + d.id))));
  };
  const name = input('name', { maxlength: '100', 'data-testid': 'fl-name' });
  const plate = input('plate', { maxlength: '20', 'data-testid': 'fl-plate' });
  const driver = select('driver_id', [['', Hub.t('fl.noDriver')], ...users.map((u) => [u.id, u.name])], { 'data-testid': 'fl-driver' });
  const limit = input('speed_limit_kmh', { type: 'number', min: '1', max: '300', inputmode: 'numeric', 'data-testid': 'fl-limit' });
  const protocol = select('protocol', PROTOCOLS.map((p) => [p, Hub.t('fl.p.' + p)]), { 'data-testid': 'fl-protocol' });
  const uniqueId = input('unique_id', { maxlength: '40', class: 'mono', 'data-testid': 'fl-unique-id' });
  const vehicle = select('vehicle_id', V.vehicles.map((v) => [v.id, v.name]), { 'data-testid': 'fl-vehicle' });
  const where = Hub.el('p', { class: 'muted', 'data-testid': 'fl-endpoint' });
  const sayWhere = () => {
    const e = endpoint(protocol.value);
    Hub.setText(where, e ? Hub.t('fl.pointAt', { where: e }) : Hub.t('fl.listenerOff', { key: 'trackers.' + protocol.value + (protocol.value === 'osmand' ? '' : '_listen') }));
  };
  protocol.addEventListener('change', sayWhere);
  sayWhere();
  const limitText = (l) => (l == null ? '—' : Hub.t('fl.kmh', { n: l }));
  return [
    Hub.el('p', { class: 'muted' }, Hub.t('fl.hint')),
    V.vehicles.length === 0 ? Hub.el('p', { class: 'muted', 'data-testid': 'fl-none' }, Hub.t('fl.none')) : table('fl-vehicles',
      ['adm.name', 'fl.plate', 'fl.driver', 'fl.speedLimit', 'fl.trackers', ''], V.vehicles.map((v) => row('fl-vehicle', v.id,
        v.name, v.plate || '—', v.driver_id ? userName(v.driver_id) : '—', limitText(v.speed_limit_kmh), trackers(v),
        remove('adm.remove', Hub.t('fl.removeConfirm', { name: v.name }), '/api/admin/vehicles/' + v.id)))),
    Hub.el('h3', null, Hub.t('fl.new')),
    form('fl-form', [field('adm.name', name), field('fl.plate', plate), field('fl.driver', driver), field('fl.speedLimit', limit)], async () => {
      const body = { name: name.value.trim(), plate: plate.value.trim() };
      if (driver.value) body.driver_id = Number(driver.value);
      if (limit.value.trim() !== '') body.speed_limit_kmh = Number(limit.value);
      await Hub.api('POST', '/api/admin/vehicles', body);
      await loadVehicles();
    }),
    Hub.el('h3', null, Hub.t('fl.bind')),
    V.vehicles.length === 0 ? Hub.el('p', { class: 'muted' }, Hub.t('fl.bindFirst')) : form('fl-tracker-form',
      [field('fl.protocol', protocol), where, field('fl.uniqueId', uniqueId), field('fl.vehicle', vehicle)], async () => {
        await Hub.api('POST', '/api/admin/trackers', { protocol: protocol.value, unique_id: uniqueId.value.trim(), vehicle_id: Number(vehicle.value) });
        await loadVehicles();
      }, 'fl.bindButton'),
  ];
}
