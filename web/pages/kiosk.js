/* /kiosk: touch-screen ticket dispenser. Device token in localStorage "hub.kiosk.token". */
import * as Hub from './hub.js';
const KEY = 'hub.kiosk.token';
const $ = (id) => document.getElementById(id);
const S = { token: Hub.stored(KEY), data: null, issued: null, backTimer: null, issuing: false, pair: null };
const menu = Hub.menu($('menu'), issue);
const screens = ['signin', 'closed', 'menu', 'issued'];

if (new URLSearchParams(location.search).has('reset')) { Hub.store(KEY, null); S.token = null; }

function screen(name) {
  if (name !== 'signin' && S.pair) { S.pair.stop(); S.pair = null; }
  screens.forEach((s) => Hub.show($(s), s === name));
  Hub.show($('vip-box'), name === 'menu');
  Hub.show($('phone-box'), name === 'menu');
  if (name !== 'menu') hideVip();
}

function signOut(e) {
  Hub.store(KEY, null);
  S.token = null;
  S.data = null;
  Hub.setText($('branch-name'), 'Hub');
  screen('signin');
  if (e) Hub.showError(e);
  // A kiosk pairs by the code it shows (no keyboard needed); the form is for a technician.
  if (!S.pair) S.pair = Hub.pairing($('pair'), 'kiosk', KEY, (token, principal) => { S.pair = null; signedIn(token, principal); });
}

async function load() {
  if (!S.token) { signOut(); return; }
  let data;
  try {
    data = await Hub.api('GET', '/api/kiosk', undefined, { token: S.token });
  } catch (e) {
    if (e.status === 401 || e.status === 403) { signOut(e.status === 403 ? e : null); return; }
    Hub.showError(e);
    return;
  }
  S.data = data;
  Hub.setText($('branch-name'), data.branch.name);
  $('registrar-qr').src = '/api/public/branches/' + encodeURIComponent(data.branch.id) + '/qr.svg';
  const look = data.look || {};
  for (const id of ['logo', 'receipt-logo']) {
    if (look.logo) { if ($(id).getAttribute('src') !== look.logo) $(id).src = look.logo; } else $(id).removeAttribute('src');
    Hub.show($(id), !!look.logo);
  }
  document.body.dataset.print = look.print || 'off';
  // A QR code to an address only this computer opens would lead a phone nowhere: say so.
  const local = !!(data.phone && data.phone.reachable === false);
  document.querySelectorAll('[data-testid="qr-local"]').forEach((n) => Hub.show(n, local));
  if (S.issued) return; // the ticket screen stays until it times out
  if (!data.open) { screen('closed'); return; }
  menu.set(data.services);
  screen('menu');
}

async function boot() {
  try {
    const me = await Hub.api('GET', '/api/me', undefined, { token: S.token });
    if (me && me.lang) Hub.setDefaultLang(me.lang);
  } catch (e) {
    if (e.status === 401) { signOut(); return; }
  }
  await load();
}

async function issue(service) {
  if (S.issuing) return;
  S.issuing = true;
  menu.busy(true);
  Hub.say('kiosk.issuing', null, 'info');
  const body = { service_id: service.id };
  const vip = $('vip-code').value.trim();
  if (vip) body.vip_code = vip;
  try {
    const r = await Hub.api('POST', '/api/kiosk/tickets', body, { token: S.token });
    Hub.clearMessage();
    showTicket(r, service);
  } catch (e) {
    if (e.status === 401) { signOut(); return; }
    Hub.showError(e);
    if (e.code === 'branch_closed') load();
  } finally {
    S.issuing = false;
    menu.busy(false);
  }
}

function showTicket(r, service) {
  S.issued = { r, service };
  Hub.setText($('ticket-number'), r.ticket.number);
  Hub.setText($('ticket-ahead'), String(r.ahead));
  Hub.show($('ticket-vip'), r.ticket.priority > 0);
  paintTicket();
  $('ticket-qr').src = r.qr_url;
  screen('issued');
  const printing = S.data && S.data.look && S.data.look.print && S.data.look.print !== 'off';
  Hub.show($('ticket-printed'), !!printing);
  if (printing) printTicket(r, service);
  clearTimeout(S.backTimer);
  S.backTimer = setTimeout(done, 15000);
}
/* Nobody ahead: "you are next", never "wait unknown". An estimate the hub cannot make yet
   (no service times today) is left out rather than shown as "unknown". */
function paintTicket() {
  if (!S.issued) return;
  const r = S.issued.r;
  Hub.setText($('ticket-service'), Hub.serviceName(S.issued.service));
  const next = r.ahead === 0;
  Hub.show($('ahead-row'), !next);
  Hub.show($('next-row'), next);
  Hub.show($('eta-row'), !next && r.eta_secs != null);
  Hub.setText($('ticket-eta'), Hub.fmtEta(r.eta_secs));
}

/* The paper ticket: filled in, its QR code loaded, then printed through the browser. A kiosk
   runs Chromium with --kiosk-printing, which prints to the default (receipt) printer without a
   dialog; the roll's width comes from the kiosk's setting (58 or 80 mm). */
window.__hubPrinted = [];
function printTicket(r, service) {
  Hub.setText($('receipt-branch'), S.data.branch.name);
  Hub.setText($('receipt-number'), r.ticket.number);
  Hub.show($('receipt-vip'), r.ticket.priority > 0);
  Hub.setText($('receipt-service'), Hub.serviceName(service));
  Hub.setText($('receipt-ahead'), r.ahead === 0 ? Hub.t('kiosk.next') : Hub.t('kiosk.aheadN', { n: r.ahead }));
  Hub.setText($('receipt-time'), Hub.fmtDate(r.ticket.issued_at, S.data.branch.timezone));
  const qr = $('receipt-qr');
  const go = () => {
    qr.onload = qr.onerror = null;
    window.__hubPrinted.push({ number: r.ticket.number, roll: S.data.look.print });
    try { window.print(); } catch (_) { /* no printer: the screen still shows the ticket */ }
  };
  qr.onload = go;
  qr.onerror = go;
  qr.src = r.qr_url;
}

function done() {
  clearTimeout(S.backTimer);
  S.issued = null;
  $('ticket-qr').removeAttribute('src');
  menu.reset();
  if (S.data && !S.data.open) screen('closed'); else screen('menu');
  load();
}

function hideVip() {
  $('vip-code').value = '';
  Hub.show($('vip-code'), false);
}

$('ticket-done').addEventListener('click', done);
$('vip-toggle').addEventListener('click', () => {
  const input = $('vip-code');
  if (input.classList.contains('hidden')) { Hub.show(input, true); input.focus(); } else hideVip();
});
function signedIn(token, principal) {
  S.token = token;
  if (principal && principal.type === 'device' && principal.device !== 'kiosk') {
    signOut(null);
    Hub.say('dev.wrongKind', { kind: Hub.t('kind.kiosk') }, 'error');
    return;
  }
  if (principal && principal.lang) Hub.setDefaultLang(principal.lang);
  Hub.clearMessage();
  load();
}
Hub.deviceForm($('signin'), KEY, signedIn);
Hub.onLang(paintTicket);

// Working hours change and menus get edited: re-read every minute (the ticket screen is left alone).
setInterval(() => { if (S.token && !S.issuing) load(); }, 60000);
if (S.token) boot(); else signOut();
