/* Drawing a territory on the map (admins): each click on the map adds a corner, the polygon is
   drawn as it grows; with a name (and a speed limit, if the territory has one) it is saved as
   the back office saves an imported GeoJSON one, and every vehicle judges by it from then on.
   The back office's GeoJSON import stays for shapes made elsewhere. */
import * as Hub from './hub.js';
import * as L from './leaflet-1.9.4.esm.js';

const $ = (id) => document.getElementById(id);
const D = { map: null, on: false, points: [], shape: null, saved: null };

function redraw() {
  if (D.shape) { D.shape.remove(); D.shape = null; }
  const latlngs = D.points.map((p) => [p.lat, p.lng]);
  if (latlngs.length) D.shape = L.polygon(latlngs, { className: 'map-drawing', weight: 2, dashArray: '4 4' }).addTo(D.map);
  Hub.setText($('draw-count'), Hub.t('draw.points', { n: D.points.length }));
  $('draw-undo').disabled = !D.points.length;
  $('draw-save').disabled = D.points.length < 3 || !$('draw-name').value.trim();
  $('map').dataset.drawn = String(D.points.length);
}

function onClick(e) { D.points.push(e.latlng); redraw(); }

function start() {
  D.on = true; D.points = [];
  Hub.show($('draw-form'), true); Hub.show($('draw-start'), false);
  $('map').classList.add('drawing');
  D.map.on('click', onClick);
  redraw();
  $('draw-name').focus();
}

function stop() {
  D.on = false; D.points = [];
  D.map.off('click', onClick);
  $('map').classList.remove('drawing');
  Hub.show($('draw-form'), false); Hub.show($('draw-start'), true);
  redraw();
  $('draw-name').value = ''; $('draw-limit').value = '';
}

async function save(e) {
  e.preventDefault();
  if (D.points.length < 3) return;
  const ring = D.points.map((p) => [Number(p.lng.toFixed(6)), Number(p.lat.toFixed(6))]);
  ring.push(ring[0]);
  const body = { name: $('draw-name').value.trim(), shape: { type: 'Polygon', coordinates: [ring] } };
  if ($('draw-limit').value.trim() !== '') body.speed_limit_kmh = Number($('draw-limit').value);
  $('draw-save').disabled = true;
  try {
    const t = await Hub.api('POST', '/api/admin/desk/territories', body);
    Hub.say('draw.saved', { name: t.name || body.name }, 'ok');
    stop();
    if (D.saved) await D.saved();
  } catch (err) {
    Hub.showError(err);
    redraw();
  }
}

/* Shown to admins only (territories are the back office's); `saved` reads the map again. */
export function mountDrawing(map, isAdmin, saved) {
  D.map = map; D.saved = saved;
  Hub.show($('draw'), isAdmin);
  if (!isAdmin || $('draw').dataset.mounted) return;
  $('draw').dataset.mounted = '1';
  $('draw-start').addEventListener('click', start);
  $('draw-cancel').addEventListener('click', stop);
  $('draw-undo').addEventListener('click', () => { D.points.pop(); redraw(); });
  $('draw-name').addEventListener('input', redraw);
  $('draw-form').addEventListener('submit', save);
  if (new URLSearchParams(location.search).get('draw') === '1') start();
}

Hub.onLang(() => { if (D.map) redraw(); });
