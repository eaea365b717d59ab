/* The map's day plan: a dispatcher chooses an engineer and sees their stops for today in the
   order the hub proposes (deadlines kept first, then the least driving), each with when the
   engineer would get there; moving a stop up or down saves the dispatcher's order and the times
   are worked out again by the hub. The stops are numbered on the map, joined in order. */
import * as Hub from './hub.js';
import * as L from './leaflet-1.9.4.esm.js';

const $ = (id) => document.getElementById(id);
const P = { map: null, engineers: [], plan: null, layer: null, busy: false };

function stopIcon(n, late) {
  const node = Hub.el('span', { class: 'plan-pin' + (late ? ' late' : ''), 'data-testid': 'plan-pin' }, String(n));
  return L.divIcon({ className: 'map-marker-box', html: node, iconSize: null, iconAnchor: [11, 11] });
}

function draw() {
  if (P.layer) { P.layer.remove(); P.layer = null; }
  const plan = P.plan;
  if (!plan || !P.map || !plan.stops.length) return;
  P.layer = L.layerGroup().addTo(P.map);
  const line = plan.start ? [[plan.start.lat, plan.start.lon]] : [];
  plan.stops.forEach((s, i) => {
    line.push([s.lat, s.lon]);
    L.marker([s.lat, s.lon], { icon: stopIcon(i + 1, s.late_ms > 0), keyboard: false, title: s.subject })
      .bindTooltip(Hub.el('span', null, (i + 1) + '. #' + s.request_id + ' ' + s.subject + ' · ' + s.site)).addTo(P.layer);
  });
  L.polyline(line, { className: 'plan-route', weight: 3, dashArray: '6 6' }).addTo(P.layer);
}

function stopRow(s, i, n) {
  const move = (by) => Hub.el('button', {
    type: 'button', class: 'btn ghost plan-move', 'data-testid': by < 0 ? 'plan-up' : 'plan-down',
    disabled: (by < 0 ? i === 0 : i === n - 1) || P.busy,
    'aria-label': Hub.t(by < 0 ? 'plan.up' : 'plan.down', { id: s.request_id }),
    onclick: () => reorder(i, i + by),
  }, by < 0 ? '↑' : '↓');
  const late = s.late_ms > 0;
  return Hub.el('li', { class: 'plan-stop' + (late ? ' late' : ''), 'data-testid': 'plan-stop', 'data-request': String(s.request_id) },
    Hub.el('div', { class: 'plan-what' },
      Hub.el('a', { href: '/desk?request=' + s.request_id }, '#' + s.request_id + ' ' + s.subject),
      Hub.el('span', { class: 'muted' }, s.site + (s.address ? ' · ' + s.address : '')),
      Hub.el('span', { 'data-testid': 'plan-eta' }, Hub.t('plan.eta', { at: Hub.fmtTime(s.arrive) })
        + (s.start > s.arrive ? ' · ' + Hub.t('plan.from', { at: Hub.fmtTime(s.start) }) : '')
        + (s.deadline_at ? ' · ' + Hub.t('plan.due', { at: Hub.fmtTime(s.deadline_at) }) : '')),
      late ? Hub.el('strong', { class: 'plan-late', 'data-testid': 'plan-late' }, Hub.t('plan.late', { n: Math.ceil(s.late_ms / 60000) })) : null),
    Hub.el('span', { class: 'plan-moves' }, move(-1), move(1)));
}

function render() {
  const plan = P.plan;
  const box = $('plan-body');
  if (!plan) { box.replaceChildren(); return; }
  const same = JSON.stringify(plan.stops.map((s) => s.request_id)) === JSON.stringify(plan.proposed);
  const head = Hub.el('p', { class: 'muted', 'data-testid': 'plan-summary' },
    Hub.t('plan.summary', { drive: plan.driving_min, late: plan.late_min }),
    plan.saved ? ' ' + Hub.t('plan.saved', { at: Hub.fmtTime(plan.saved.at) }) : ' ' + Hub.t('plan.proposed'));
  const back = same ? null : Hub.el('button', {
    type: 'button', class: 'btn ghost', 'data-testid': 'plan-propose', disabled: P.busy, onclick: () => save(plan.proposed),
  }, Hub.t('plan.takeProposal', { drive: plan.proposed_driving_min, late: plan.proposed_late_min }));
  const list = plan.stops.length
    ? Hub.el('ol', { class: 'plan-stops plain', 'data-testid': 'plan-stops' }, ...plan.stops.map((s, i) => stopRow(s, i, plan.stops.length)))
    : Hub.el('p', { class: 'muted', 'data-testid': 'plan-empty' }, Hub.t('plan.empty'));
  box.replaceChildren(head, back || '', list);
  $('plan').dataset.state = P.busy ? 'busy' : 'ready';
}

async function save(order) {
  P.busy = true; render();
  try {
    P.plan = await Hub.api('PUT', '/api/supervisor/day-plan', { user_id: P.plan.user_id, order });
  } catch (e) {
    Hub.showError(e);
    await load(P.plan.user_id).catch(Hub.showError);
  } finally {
    P.busy = false; render(); draw();
  }
}

function reorder(from, to) {
  const order = P.plan.stops.map((s) => s.request_id);
  const [id] = order.splice(from, 1);
  order.splice(to, 0, id);
  return save(order);
}

async function load(userId) {
  if (!userId) { P.plan = null; render(); draw(); return; }
  $('plan').dataset.state = 'busy';
  P.plan = await Hub.api('GET', '/api/supervisor/day-plan?user_id=' + userId);
  render(); draw();
  if (P.plan.stops.length) P.map.fitBounds(L.latLngBounds(P.plan.stops.map((s) => [s.lat, s.lon])).pad(0.3), { maxZoom: 14 });
}

/* The engineers to plan for, from the map's snapshot. */
export function setEngineers(map, engineers) {
  P.map = map;
  P.engineers = engineers;
  const sel = $('plan-engineer');
  const chosen = sel.value;
  sel.replaceChildren(Hub.el('option', { value: '' }, Hub.t('plan.choose')),
    ...engineers.map((e) => Hub.el('option', { value: String(e.id) }, e.name)));
  sel.value = engineers.some((e) => String(e.id) === chosen) ? chosen : '';
}

/* A request changed somewhere (assigned, closed): the open plan is read again, once for a burst. */
export const refresh = Hub.debounce(() => { if (P.plan && !P.busy) load(P.plan.user_id).catch(Hub.showError); }, 1000);

$('plan-engineer').addEventListener('change', (e) => load(Number(e.target.value)).catch(Hub.showError));
Hub.onLang(() => { if (P.engineers.length) setEngineers(P.map, P.engineers); render(); });
