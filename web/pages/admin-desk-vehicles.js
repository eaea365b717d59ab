/* The back office's vehicles: each with its plate, usual driver (a field engineer's position is
   their vehicle's) and own speed limit, and the trackers bound to it by their unique id or
   IMEI. The hint says where each kind of tracker is pointed, from the installation's settings. */
import * as Hub from './hub.js';
import { arr, fail } from './admin-kit.js';

export const V = { vehicles: [], devices: [], sensors: [], listeners: {} };
const PROTOCOLS = ['osmand', 'teltonika', 'wialon'];

export async function loadVehicles() {
  const got = await Hub.api('GET', '/api/admin/vehicles');
  V.vehicles = arr(got.vehicles); V.devices = arr(got.devices); V.sensors = arr(got.sensors); V.listeners = got.listeners || {};
}

/* Where a tracker of `protocol` sends: this page's origin for OsmAnd, the listener's port for the others. */
function endpoint(protocol) {
  if (protocol === 'osmand') return V.listeners.osmand ? location.origin + '/api/trackers/osmand' : '';
  const addr = V.listeners[protocol] || '';
  return addr ? location.hostname + ':' + addr.split(':').pop() : '';
}

/* A sensor in words: its reading past its threshold for so long, and what an excursion opens. */
function sensorText(s, setup) {
  const site = arr(setup.sites).find((x) => x.id === s.site_id);
  const type = arr(setup.request_types).find((x) => x.id === s.type_id);
  const rule = Hub.t(s.bound === 'below' ? 'fl.below' : 'fl.above', { reading: s.reading, n: s.threshold, mins: Math.round(s.for_secs / 60) });
  const opens = type ? Hub.t('fl.opens', { type: type.name, site: site ? site.name : '—' }) : Hub.t('fl.alertOnly');
  return rule + ' · ' + opens;
}

export function vehicles(kit, users, setup) {
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
  const sensors = (v) => {
    const mine = V.sensors.filter((x) => x.vehicle_id === v.id);
    if (!mine.length) return null;
    return Hub.el('ul', { class: 'plain' }, ...mine.map((x) => Hub.el('li', { 'data-testid': 'fl-sensor', 'data-id': x.id },
      Hub.el('b', null, x.name), ': ', sensorText(x, setup), ' ',
      remove('adm.remove', Hub.t('fl.sensorRemoveConfirm', { name: x.name }), '/api/admin/sensors/' + x.id))));
  };
  const name = input('name', { maxlength: '100', 'data-testid': 'fl-name' });
  const plate = input('plate', { maxlength: '20', 'data-testid': 'fl-plate' });
  const driver = select('driver_id', [['', Hub.t('fl.noDriver')], ...users.map((u) => [u.id, u.name])], { 'data-testid': 'fl-driver' });
  const limit = input('speed_limit_kmh', { type: 'number', min: '1', max: '300', inputmode: 'numeric', 'data-testid': 'fl-limit' });
  const protocol = select('protocol', PROTOCOLS.map((p) => [p, Hub.t('fl.p.' + p)]), { 'data-testid': 'fl-protocol' });
  const uniqueId = input('unique_id', { maxlength: '40', class: 'mono', 'data-testid': 'fl-unique-id' });
  const vehicle = select('vehicle_id', V.vehicles.map((v) => [v.id, v.name]), { 'data-testid': 'fl-tracker-vehicle' });
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
        v.name, v.plate || '—', v.driver_id ? userName(v.driver_id) : '—', limitText(v.speed_limit_kmh),
        Hub.el('div', null, trackers(v), sensors(v)),
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
    ...sensorForm(kit, setup),
  ];
}

/* A sensor: which reading, its unit's factor, the threshold and for how long, and the request
   an excursion opens for a site. */
function sensorForm(kit, setup) {
  const { field, input, form, select } = kit;
  if (V.vehicles.length === 0) return [];
  const vehicle = select('vehicle_id', V.vehicles.map((v) => [v.id, v.name]), { 'data-testid': 'fl-sensor-vehicle' });
  const name = input('name', { maxlength: '100', 'data-testid': 'fl-sensor-name' });
  const reading = input('reading', { maxlength: '40', class: 'mono', placeholder: 'temp', 'data-testid': 'fl-sensor-reading' });
  const scale = input('scale', { inputmode: 'decimal', value: '1', 'data-testid': 'fl-sensor-scale' });
  const bound = select('bound', [['above', Hub.t('fl.boundAbove')], ['below', Hub.t('fl.boundBelow')]], { 'data-testid': 'fl-sensor-bound' });
  const threshold = input('threshold', { inputmode: 'decimal', 'data-testid': 'fl-sensor-threshold' });
  const mins = input('for_secs', { type: 'number', min: '0', max: '10080', value: '10', 'data-testid': 'fl-sensor-mins' });
  const site = select('site_id', [['', '—'], ...arr(setup.sites).map((x) => [x.id, x.name])], { 'data-testid': 'fl-sensor-site' });
  const type = select('type_id', [['', Hub.t('fl.alertOnly')], ...arr(setup.request_types).map((x) => [x.id, x.name])], { 'data-testid': 'fl-sensor-type' });
  return [
    Hub.el('h3', null, Hub.t('fl.sensorNew')),
    Hub.el('p', { class: 'muted' }, Hub.t('fl.sensorHint')),
    form('fl-sensor-form', [field('fl.vehicle', vehicle), field('adm.name', name), field('fl.reading', reading), field('fl.scale', scale),
      field('fl.bound', bound), field('fl.threshold', threshold), field('fl.forMins', mins), field('fl.site', site), field('fl.opensType', type)], async () => {
      const body = { name: name.value.trim(), reading: reading.value.trim(), scale: scale.value.trim() || 1, bound: bound.value,
        threshold: threshold.value.trim(), for_secs: Math.round(Number(mins.value || 0) * 60) };
      if (site.value) body.site_id = Number(site.value);
      if (type.value) body.type_id = Number(type.value);
      await Hub.api('POST', '/api/admin/vehicles/' + vehicle.value + '/sensors', body);
    }, 'adm.add'),
  ];
}
