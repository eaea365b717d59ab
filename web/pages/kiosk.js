/* /kiosk: touch-screen ticket dispenser. Device token in localStorage "hub.kiosk.token". */
'use strict';
Hub.ready(() => {
  const KEY = 'hub.kiosk.token';
  const $ = (id) => document.getElementById(id);
  const S = { token: Hub.stored(KEY), data: null, issued: null, backTimer: null, issuing: false };
  const menu = Hub.menu($('menu'), issue);
  const screens = ['signin', 'closed', 'menu', 'issued'];

  if (new URLSearchParams(location.search).has('reset')) { Hub.store(KEY, null); S.token = null; }

  function screen(name) {
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
    Hub.tid('device-login').focus();
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
    Hub.message(Hub.t('kiosk.issuing'), 'info');
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
    paintTicket();
    $('ticket-qr').src = r.qr_url;
    screen('issued');
    clearTimeout(S.backTimer);
    S.backTimer = setTimeout(done, 15000);
  }
  function paintTicket() {
    if (!S.issued) return;
    Hub.setText($('ticket-service'), Hub.serviceName(S.issued.service));
    Hub.setText($('ticket-eta'), Hub.fmtEta(S.issued.r.eta_secs));
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
  Hub.deviceForm($('signin'), KEY, (token, principal) => {
    S.token = token;
    if (principal && principal.type === 'device' && principal.device !== 'kiosk') {
      signOut(null);
      Hub.message(Hub.t('dev.wrongKind', { kind: 'kiosk' }), 'error');
      return;
    }
    if (principal && principal.lang) Hub.setDefaultLang(principal.lang);
    Hub.clearMessage();
    load();
  });
  Hub.onLang(paintTicket);

  // Working hours change and menus get edited: re-read every minute (the ticket screen is left alone).
  setInterval(() => { if (S.token && !S.issuing) load(); }, 60000);
  if (S.token) boot(); else signOut();
});
