/* /t/{public_id}: a visitor's ticket on their phone. Live via /ws/ticket/{id}, polled every 30 s too. */
import * as Hub from './hub.js';
const $ = (id) => document.getElementById(id);
const id = Hub.pathPart(1) || new URLSearchParams(location.search).get('id') || '';
const S = { ticket: null, prev: null, sock: null, poll: null, langSet: false };
const FINAL = ['done', 'no_show'];
const badge = Hub.wsBadge(Hub.tid('ws-status'));

async function load() {
  if (!id) { notFound(); return; }
  let tk;
  try {
    tk = await Hub.api('GET', '/api/public/tickets/' + encodeURIComponent(id));
  } catch (e) {
    if (e.status === 404) notFound(); else Hub.showError(e);
    return;
  }
  Hub.clearMessage();
  if (!S.langSet && tk.lang) { S.langSet = true; Hub.setDefaultLang(tk.lang); }
  S.prev = S.ticket ? S.ticket.status : null;
  S.ticket = tk;
  render();
  if (tk.status === 'called' && S.prev !== 'called' && S.prev !== null) alertVisitor();
  if (FINAL.includes(tk.status)) stop();
}

function notFound() {
  Hub.show($('card'), false);
  Hub.say('tk.notFound', null, 'error');
  stop();
}

function render() {
  const tk = S.ticket;
  if (!tk) return;
  const st = tk.status;
  $('card').dataset.status = st;
  Hub.show($('card'), true);
  Hub.setText($('branch-name'), tk.branch_name || 'Hub');
  Hub.setText(Hub.tid('status-number'), tk.number);
  Hub.setText(Hub.tid('status-text'), Hub.t('tk.' + st));
  Hub.setText($('service'), Hub.lang === 'ru' ? (tk.service_ru || tk.service_en) : (tk.service_en || tk.service_ru));
  Hub.setText($('branch'), tk.branch_name);
  const waiting = st === 'waiting';
  document.querySelectorAll('.waiting-only').forEach((n) => Hub.show(n, waiting));
  Hub.setText(Hub.tid('status-ahead'), waiting && tk.ahead != null ? String(tk.ahead) : '');
  Hub.setText($('eta'), waiting ? Hub.fmtEta(tk.eta_secs) : '');
  const atWindow = (st === 'called' || st === 'serving') && tk.window != null;
  Hub.show($('go'), atWindow);
  Hub.setText(Hub.tid('status-window'), atWindow ? tk.window : '');
  Hub.setText($('go-label'), Hub.t(st === 'serving' ? 'tk.servedAt' : 'tk.goTo'));
  $('go').classList.toggle('flash', st === 'called');
  Hub.show($('keep-open'), !FINAL.includes(st));
  document.title = tk.number + (st === 'called' && tk.window != null ? ' → ' + tk.window : '') + ' · ' + Hub.t('title.ticket');
}

function alertVisitor() {
  try { if (navigator.vibrate) navigator.vibrate([400, 200, 400, 200, 400]); } catch (_) { /* not allowed */ }
  const go = $('go');
  go.classList.remove('flash');
  void go.offsetWidth;
  go.classList.add('flash');
}

function stop() {
  if (S.sock) { S.sock.stop(); S.sock = null; }
  clearInterval(S.poll);
  S.poll = null;
  badge('offline');
  Hub.show(Hub.tid('ws-status'), false);
}

Hub.onLang(render);
const soon = Hub.debounce(load, 150);
load().then(() => {
  if (!S.ticket || FINAL.includes(S.ticket.status)) return;
  S.sock = Hub.socket('/ws/ticket/' + encodeURIComponent(id), { onMessage: soon, onOpen: soon, onStatus: badge });
  S.poll = setInterval(load, 30000);
});
