/* /map: where the organisation's vehicles are, live, for dispatchers and supervisors. The
   snapshot (GET /api/supervisor/fleet: vehicles, last positions, territories, sites, the tile
   source) is drawn with Leaflet; /ws/fleet then moves the vehicles and adds alerts as they come.
   A vehicle chosen in the list shows its track of the last 24 hours. A vehicle not heard for ten
   minutes is shown as silent. An engineer's day plan is map-plan.js'; drawing a territory, map-draw.js'. */
import * as Hub from './hub.js';
import * as L from './leaflet-1.9.4.esm.js';
import { mountDrawing } from './map-draw.js';
import { refresh as refreshPlan, setEngineers } from './map-plan.js';
import { ALERTS, alertText } from './vehicle-alert.js';

const $ = (id) => document.getElementById(id);
const SILENT_MS = 10 * 60 * 1000;
const M = { me: null, map: null, vehicles: new Map(), positions: new Map(), markers: new Map(), territories: [], alerts: [], chosen: null, track: null, fitted: false, mileage: null };

function toLogin() { location.assign('/login?next=' + encodeURIComponent('/map')); }
function fail(e) { if (e instanceof Hub.HubError && e.status === 401) { toLogin(); return; } Hub.showError(e); }
function badge(s) { const b = Hub.tid('ws-status'); b.dataset.state = s; Hub.setText(b, Hub.t('ws.' + s)); }
Hub.onLang(() => { const b = Hub.tid('ws-status'); if (b.dataset.state) badge(b.dataset.state); });

const vehicleName = (id) => { const v = M.vehicles.get(id); return v ? v.name : '#' + id; };
const territoryName = (id) => { const t = M.territories.find((x) => x.id === id); return t ? t.name : '#' + id; };
const silent = (p) => !p || Date.now() - p.at > SILENT_MS;

/* A vehicle's state in words: moving at a speed, stopped, or silent since a time. */
function state(p) {
  if (!p) return Hub.t('map.noFix');
  if (silent(p)) return Hub.t('map.silent', { at: Hub.fmtTime(p.at) });
  if (p.speed_kmh != null && p.speed_kmh >= 5) return Hub.t('map.moving', { n: Math.round(p.speed_kmh) });
  return Hub.t('map.stopped');
}

function markerIcon(id) {
  const p = M.positions.get(id);
  const node = Hub.el('span', {
    class: 'map-marker' + (silent(p) ? ' silent' : '') + (M.chosen === id ? ' chosen' : ''),
    'data-testid': 'map-vehicle', 'data-id': String(id), 'data-lat': p ? String(p.lat) : '', 'data-lon': p ? String(p.lon) : '',
  }, Hub.el('b', null, vehicleName(id)));
  return L.divIcon({ className: 'map-marker-box', html: node, iconSize: null, iconAnchor: [8, 8] });
}

function placeMarker(id) {
  const p = M.positions.get(id);
  if (!p) return;
  const ll = [p.lat, p.lon];
  let m = M.markers.get(id);
  if (!m) {
    m = L.marker(ll, { icon: markerIcon(id), keyboard: false, title: vehicleName(id) }).addTo(M.map);
    m.on('click', () => choose(id));
    M.markers.set(id, m);
  } else {
    m.setLatLng(ll);
    m.setIcon(markerIcon(id));
  }
}

function renderList() {
  const q = $('map-filter').value.trim().toLowerCase();
  const list = [...M.vehicles.values()].filter((v) => !q || (v.name + ' ' + v.plate).toLowerCase().includes(q));
  $('map-vehicles').replaceChildren(...list.map((v) => {
    const p = M.positions.get(v.id);
    return Hub.el('li', null, Hub.el('button', {
      type: 'button', class: 'map-vehicle' + (M.chosen === v.id ? ' chosen' : ''), 'data-testid': 'map-vehicle-item', 'data-id': String(v.id),
      'aria-pressed': String(M.chosen === v.id), onclick: () => choose(v.id),
    }, Hub.el('b', null, v.name), v.plate ? Hub.el('span', { class: 'muted' }, ' · ' + v.plate) : null,
    Hub.el('span', { class: 'map-state' + (silent(p) ? ' silent' : ''), 'data-testid': 'map-vehicle-state' }, state(p))));
  }));
  Hub.show($('map-none'), M.vehicles.size === 0);
}

/* An alert in words, with the names this page knows. */
function alertLine(a) { return alertText(a, vehicleName(a.vehicle_id), territoryName(a.territory_id)); }

function renderAlerts() {
  $('map-alerts').replaceChildren(...M.alerts.slice(0, 30).map((a) => Hub.el('li', { 'data-testid': 'map-alert', 'data-kind': a.kind },
    Hub.el('time', { class: 'muted' }, Hub.fmtTime(a.at)), ' ', alertLine(a))));
  if (!M.alerts.length) $('map-alerts').append(Hub.el('li', { class: 'muted' }, Hub.t('map.noAlerts')));
}

/* The chosen vehicle's last seven days: kilometres a day, and those outside its driver's shift
   (private use of a company car) when the driver has a shift to judge by. */
function renderMileage(m) {
  const box = $('map-mileage');
  M.mileage = m;
  Hub.show(box, !!m);
  if (!m) { box.replaceChildren(); return; }
  const head = Hub.el('p', { 'data-testid': 'mileage-summary' }, m.shift
    ? Hub.t('map.mileageShift', { km: m.km, out: m.km_outside, n: m.private_trips })
    : Hub.t('map.mileage', { km: m.km }) + ' ' + Hub.t(m.driver_id == null ? 'map.noDriver' : 'map.noShift'));
  const rows = m.days.filter((d) => d.trips > 0).reverse().map((d) => Hub.el('tr', { 'data-testid': 'mileage-day' },
    Hub.el('td', null, Hub.fmtDay(d.date)), Hub.el('td', { class: 'num' }, Hub.t('map.km', { n: d.km })),
    Hub.el('td', { class: 'num' + (d.km_outside ? ' warn' : '') }, d.km_outside == null ? '—' : Hub.t('map.km', { n: d.km_outside }))));
  const table = rows.length ? Hub.el('table', { class: 'mileage' },
    Hub.el('thead', null, Hub.el('tr', null, Hub.el('th', null, Hub.t('map.day')), Hub.el('th', null, Hub.t('map.driven')),
      Hub.el('th', null, Hub.t('map.outside')))), Hub.el('tbody', null, ...rows)) : null;
  box.replaceChildren(Hub.el('h3', null, Hub.t('map.week', { v: vehicleName(m.vehicle_id) })), head, table || '');
}

async function choose(id) {
  M.chosen = M.chosen === id ? null : id;
  if (M.track) { M.track.remove(); M.track = null; }
  for (const vid of M.markers.keys()) placeMarker(vid);
  renderList();
  renderMileage(null);
  if (M.chosen == null) return;
  Hub.api('GET', '/api/supervisor/vehicles/' + id + '/mileage').then((m) => { if (M.chosen === id) renderMileage(m); }).catch(fail);
  const p = M.positions.get(id);
  if (p) M.map.panTo([p.lat, p.lon]);
  try {
    const t = await Hub.api('GET', '/api/supervisor/vehicles/' + id + '/track');
    if (M.chosen !== id) return;
    M.track = L.polyline(t.points.map((x) => [x.lat, x.lon]), { className: 'map-track', weight: 4 }).addTo(M.map);
    $('map').dataset.track = String(t.points.length);
  } catch (e) { fail(e); }
}

function onFrame(e) {
  if (e.type === 'vehicle_moved') {
    const before = M.positions.get(e.vehicle_id);
    if (before && before.at > e.fix_at) return;
    M.positions.set(e.vehicle_id, { vehicle_id: e.vehicle_id, at: e.fix_at, lat: e.lat, lon: e.lon, speed_kmh: e.speed_kmh, course: e.course });
    if (!M.vehicles.has(e.vehicle_id)) { load().catch(fail); return; }
    placeMarker(e.vehicle_id);
    if (M.track && M.chosen === e.vehicle_id) M.track.addLatLng([e.lat, e.lon]);
    renderList();
  } else if (e.type === 'vehicle_alert') {
    M.alerts.unshift(Object.assign({ vehicle_id: e.vehicle_id }, e.alert));
    renderAlerts();
  } else if (e.type === 'vehicle_changed') {
    load().catch(fail);
  } else if (e.type === 'request_changed') {
    refreshPlan();
  }
}

async function load() {
  const heardBefore = new Set(M.alerts);
  const [f, events] = await Promise.all([
    Hub.api('GET', '/api/supervisor/fleet'), Hub.api('GET', '/api/supervisor/vehicle-events')]);
  M.vehicles = new Map(f.vehicles.map((v) => [v.id, v]));
  for (const p of f.positions) {
    const had = M.positions.get(p.vehicle_id);
    if (!had || had.at <= p.at) M.positions.set(p.vehicle_id, p);
  }
  M.territories = f.territories;
  // The stored list, and what the socket told while it was being read (stored after the read
  // began, or it would be in the list): a load never takes back an alert already shown.
  const stored = events.filter((e) => ALERTS.includes(e.kind));
  const key = (a) => `${a.vehicle_id}|${a.kind}|${a.at}`;
  const listed = new Set(stored.map(key));
  M.alerts = M.alerts.filter((a) => !heardBefore.has(a) && !listed.has(key(a))).concat(stored);
  if (!M.map) {
    M.map = L.map('map', { zoomControl: true, attributionControl: false }).setView([55.75, 37.62], 10);
    L.control.attribution({ prefix: 'Leaflet' }).addTo(M.map);
    // Leaflet writes the attribution as HTML: the owner's text goes in escaped.
    L.tileLayer(f.tiles.url, { attribution: Hub.esc(f.tiles.attribution), maxZoom: 19, subdomains: 'abc' }).addTo(M.map);
  }
  M.map.eachLayer((layer) => { if (layer.options && layer.options.fleetStatic) layer.remove(); });
  for (const t of f.territories) {
    L.geoJSON(t.shape, { fleetStatic: true, style: { className: 'map-territory', weight: 2, fillOpacity: 0.06 } })
      .bindTooltip(Hub.el('span', null, t.name + (t.speed_limit_kmh ? ' · ' + Hub.t('fl.kmh', { n: t.speed_limit_kmh }) : '')), { sticky: true })
      .addTo(M.map);
  }
  // Sites, those with open requests larger and marked, with the count.
  const open = new Map((f.open_requests || []).map((o) => [o.site_id, o.open]));
  for (const s of f.sites) {
    if (s.lat == null || s.lon == null) continue;
    const n = open.get(s.id) || 0;
    L.circleMarker([s.lat, s.lon], { fleetStatic: true, radius: n ? 9 : 6, className: 'map-site' + (n ? ' busy' : '') })
      .bindTooltip(Hub.el('span', { 'data-testid': 'map-site-tip' }, s.name + (n ? ' · ' + Hub.t('map.openRequests', { n }) : ''))).addTo(M.map);
  }
  for (const [id, m] of M.markers) if (!M.vehicles.has(id)) { m.remove(); M.markers.delete(id); }
  for (const id of M.positions.keys()) if (M.vehicles.has(id)) placeMarker(id);
  if (!M.fitted && M.positions.size) {
    M.fitted = true;
    M.map.fitBounds(L.latLngBounds([...M.positions.values()].map((p) => [p.lat, p.lon])).pad(0.2), { maxZoom: 14 });
  }
  setEngineers(M.map, f.engineers);
  mountDrawing(M.map, M.me.role === 'admin', () => load().catch(fail));
  renderList(); renderAlerts();
}

$('map-filter').addEventListener('input', renderList);
Hub.onLang(() => { renderList(); renderAlerts(); renderMileage(M.mileage); for (const id of M.markers.keys()) placeMarker(id); });

(async () => {
  try {
    M.me = await Hub.api('GET', '/api/me');
  } catch (e) {
    if (e.status === 401) { toLogin(); return; }
    Hub.showError(e); return;
  }
  Hub.setDefaultLang(M.me.lang);
  Hub.setText($('me-name'), M.me.name);
  if (!M.me || M.me.type !== 'user' || (M.me.role !== 'supervisor' && M.me.role !== 'admin')) {
    Hub.say('map.forbidden', null, 'error'); badge('offline'); return;
  }
  try { await load(); } catch (e) { fail(e); return; }
  Hub.socket('/ws/fleet', { onMessage: onFrame, onOpen: () => load().catch(fail), onStatus: badge });
  // Silence is a matter of time: the list and markers are worded again each half minute.
  setInterval(() => { renderList(); for (const id of M.markers.keys()) placeMarker(id); }, 30000);
  $('map-page').dataset.ready = '1';
})();
