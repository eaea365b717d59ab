/* /operator: the operator's console. Live via /ws/operator; every push re-reads the state. */
'use strict';
Hub.ready(() => {
  const $ = (id) => document.getElementById(id);
  const S = {
    me: null, op: null, branches: [], detail: null, queues: [], busy: false, seq: 0,
  };
  const badge = Hub.wsBadge(Hub.tid('ws-status'));

  function toLogin() { location.assign('/login?next=' + encodeURIComponent('/operator')); }
  function fail(e) {
    if (e instanceof Hub.HubError && e.status === 401) { toLogin(); return; }
    Hub.showError(e);
  }
  const services = () => (S.detail ? S.detail.services : []);
  const leafServices = () => services().filter((s) => s.prefix != null)
    .sort((a, b) => (a.position - b.position) || (a.id - b.id));
  const inHand = () => (S.op && S.op.in_hand) || null;
  const hasPlace = () => !!(S.op && S.op.state && S.op.state.window_id != null);
  const presence = () => (S.op && S.op.state && S.op.state.presence) || { state: 'offline' };

  /* ---------- place selector ---------- */
  function fillBranches(selectedId) {
    const sel = $('branch-select');
    sel.replaceChildren(...S.branches.map((b) => Hub.el('option', { value: String(b.id) }, b.name)));
    if (selectedId != null) sel.value = String(selectedId);
  }

  let branchLoad = 0;
  async function loadBranch(id) {
    if (!id) return;
    // Only the latest choice counts: an answer for a branch chosen earlier is dropped, and a
    // repeated choice of the shown branch keeps what the operator already picked.
    const my = ++branchLoad;
    if (S.detail && String(S.detail.branch.id) === String(id)) return;
    let detail;
    try {
      detail = await Hub.api('GET', '/api/branches/' + encodeURIComponent(id));
    } catch (e) { if (my === branchLoad) fail(e); return; }
    if (my !== branchLoad) return;
    S.detail = detail;
    fillPlace();
    fillTransfer();
    await loadQueues();
    render();
  }

  function fillPlace() {
    const d = S.detail;
    const st = S.op && S.op.state;
    const mine = st && S.op.branch_id != null && S.op.branch_id === d.branch.id;
    const win = $('window-select');
    win.replaceChildren(Hub.el('option', { value: '' }, Hub.t('op.choose')),
      ...d.windows.map((w) => Hub.el('option', { value: String(w.id) }, w.label)));
    win.value = mine && st.window_id != null ? String(st.window_id) : '';
    const box = $('service-checks');
    const list = leafServices();
    box.replaceChildren(...list.map((s) => Hub.el('label', { class: 'check' },
      Hub.el('input', {
        type: 'checkbox', 'data-testid': 'service-checkbox', value: String(s.id),
        checked: !!(mine && st.service_ids.includes(s.id)),
      }),
      Hub.el('span', { 'data-svc-name': s.id }, Hub.serviceName(s)))));
    if (!list.length) box.appendChild(Hub.el('p', { class: 'muted' }, Hub.t('op.noServices')));
  }

  function fillTransfer() {
    const sel = $('transfer-service');
    const keep = sel.value;
    sel.replaceChildren(...leafServices().map((s) => Hub.el('option', { value: String(s.id) }, Hub.serviceName(s))));
    if (keep && [...sel.options].some((o) => o.value === keep)) sel.value = keep;
  }

  /* ---------- data ---------- */
  async function loadOp() {
    const my = ++S.seq;
    const op = await Hub.api('GET', '/api/operator');
    if (my === S.seq) S.op = op;
  }

  async function loadQueues() {
    if (!S.detail) return;
    try {
      S.queues = await Hub.api('GET', '/api/branches/' + S.detail.branch.id + '/queues') || [];
    } catch (e) {
      if (e.status === 401) toLogin();
      S.queues = [];
    }
  }

  async function refresh() {
    try { await Promise.all([loadOp(), loadQueues()]); } catch (e) { fail(e); }
    render();
  }
  const refreshSoon = Hub.debounce(refresh, 150);

  /* ---------- rendering ---------- */
  function render() {
    const op = S.op;
    const t = inHand();
    const status = t ? t.status : '';
    const pr = presence();
    const place = hasPlace();
    const busy = S.busy;

    Hub.show($('work'), place);
    Hub.show($('presence-h').parentElement, place);

    Hub.setText(Hub.tid('current-number'), t ? t.number : '');
    const stEl = Hub.tid('current-status');
    stEl.dataset.status = status;
    Hub.setText(stEl, t ? Hub.t('st.' + status) : Hub.t('op.noTicket'));
    const svc = t && services().find((s) => s.id === t.service_id);
    Hub.setText($('current-service'), svc ? Hub.serviceName(svc) : '');
    const max = S.detail && t && S.detail.branch.id === t.branch_id ? S.detail.branch.recalls_before_no_show : null;
    Hub.setText($('current-recalls'), t && status === 'called'
      ? Hub.t('op.recalls', { n: t.recalls || 0, max: max == null ? '?' : max }) : '');
    Hub.setText($('current-comment'), t && t.comment ? t.comment : '');
    Hub.show($('current-comment'), !!(t && t.comment));

    const set = (id, on) => { $(id).disabled = busy || !on; };
    set('call-next', place && !t);
    set('recall', status === 'called');
    set('no-show', status === 'called');
    set('start-service', status === 'called');
    set('finish', status === 'called' || status === 'serving');
    set('transfer', (status === 'called' || status === 'serving') && $('transfer-service').value !== '');
    set('take-break', place && !t && pr.state !== 'break');
    set('back-to-work', place && pr.state !== 'available');
    set('start-work', true);
    $('finish-comment').disabled = !t;
    $('transfer-service').disabled = !t;

    const prEl = $('presence');
    prEl.dataset.status = pr.state;
    Hub.setText(prEl, Hub.t('pr.' + pr.state, { reason: pr.reason || '' }));

    renderQueues();
    renderStats(op && op.stats);
    Hub.setText($('op-name'), op ? op.name : (S.me ? S.me.name : ''));
    document.title = (t ? t.number + ' · ' : '') + Hub.t('title.operator');
  }

  function renderQueues() {
    const body = $('queues');
    const byId = new Map(S.queues.map((q) => [q.service_id, q]));
    const list = leafServices();
    const max = Math.max(1, ...S.queues.map((q) => q.waiting || 0));
    body.replaceChildren(...list.map((s) => {
      const q = byId.get(s.id) || { waiting: 0, eta_secs: null };
      const bar = Hub.el('div', { class: 'bar' });
      bar.style.width = Math.round(((q.waiting || 0) / max) * 100) + '%';
      return Hub.el('tr', null,
        Hub.el('td', null, Hub.serviceName(s)),
        Hub.el('td', { class: 'bar-cell' }, bar),
        Hub.el('td', { class: 'n', 'data-testid': 'queue-count', 'data-service-id': String(s.id) }, String(q.waiting || 0)),
        Hub.el('td', { class: 'muted' }, q.waiting ? Hub.fmtEta(q.eta_secs) : Hub.t('common.none')));
    }));
  }

  function renderStats(st) {
    const n = (v) => (v == null ? Hub.t('common.none') : String(v));
    Hub.setText(Hub.tid('stats-served'), n(st && st.served));
    Hub.setText($('stats-noshow'), n(st && st.no_show));
    Hub.setText($('stats-waiting'), n(st && st.waiting));
    Hub.setText($('stats-wait'), Hub.fmtDur(st ? st.avg_wait_secs : null));
    Hub.setText($('stats-service'), Hub.fmtDur(st ? st.avg_service_secs : null));
  }

  /* ---------- actions ---------- */
  async function act(fn) {
    if (S.busy) return;
    S.busy = true;
    Hub.clearMessage();
    render();
    try { await fn(); } catch (e) { fail(e); }
    S.busy = false;
    await refresh();
  }
  const ticketPath = (a) => '/api/operator/tickets/' + inHand().id + '/' + a;
  const num = () => (inHand() ? inHand().number : '');

  $('branch-select').addEventListener('change', (ev) => {
    Hub.store('hub.op.branch', ev.target.value);
    loadBranch(ev.target.value);
  });

  $('start-work').addEventListener('click', () => act(async () => {
    const windowId = Number($('window-select').value);
    const ids = [...document.querySelectorAll('[data-testid="service-checkbox"]:checked')].map((c) => Number(c.value));
    if (!windowId) { Hub.message(Hub.t('op.needWindow'), 'error'); return; }
    if (!ids.length) { Hub.message(Hub.t('op.needService'), 'error'); return; }
    S.op = await Hub.api('PUT', '/api/operator/place', { window_id: windowId, service_ids: ids });
    S.seq++;
    const w = S.detail.windows.find((x) => x.id === windowId);
    Hub.message(Hub.t('op.placeSaved', { window: w ? w.label : windowId }), 'ok');
  }));

  $('call-next').addEventListener('click', () => act(async () => {
    const r = await Hub.api('POST', '/api/operator/call-next', {});
    if (!r || !r.ticket) { Hub.message(Hub.t('op.nobody'), 'info'); return; }
    if (S.op) { S.op.in_hand = r.ticket; S.seq++; }
    Hub.message(Hub.t('op.called', { number: r.ticket.number }), 'ok');
  }));

  $('recall').addEventListener('click', () => act(async () => {
    const n = num();
    await Hub.api('POST', ticketPath('recall'), {});
    Hub.message(Hub.t('op.recalled', { number: n }), 'ok');
  }));

  $('no-show').addEventListener('click', () => act(async () => {
    const n = num();
    await Hub.api('POST', ticketPath('no-show'), {});
    Hub.message(Hub.t('op.noShowDone', { number: n }), 'ok');
  }));

  $('start-service').addEventListener('click', () => act(async () => {
    await Hub.api('POST', ticketPath('start'), {});
  }));

  $('finish').addEventListener('click', () => act(async () => {
    const n = num();
    const comment = $('finish-comment').value.trim();
    await Hub.api('POST', ticketPath('finish'), comment ? { comment } : {});
    $('finish-comment').value = '';
    Hub.message(Hub.t('op.finished', { number: n }), 'ok');
  }));

  $('transfer').addEventListener('click', () => act(async () => {
    const n = num();
    const body = {
      service_id: Number($('transfer-service').value),
      placement: $('transfer-front').checked ? 'front' : 'back',
    };
    const comment = $('transfer-comment').value.trim();
    if (comment) body.comment = comment;
    await Hub.api('POST', ticketPath('transfer'), body);
    $('transfer-comment').value = '';
    $('transfer-back').checked = true;
    Hub.message(Hub.t('op.transferred', { number: n }), 'ok');
  }));

  $('take-break').addEventListener('click', () => act(async () => {
    const reason = $('break-reason').value.trim();
    if (!reason) { Hub.message(Hub.t('op.needReason'), 'error'); $('break-reason').focus(); return; }
    S.op = await Hub.api('PUT', '/api/operator/presence', { state: 'break', reason });
    S.seq++;
    $('break-reason').value = '';
  }));

  $('back-to-work').addEventListener('click', () => act(async () => {
    S.op = await Hub.api('PUT', '/api/operator/presence', { state: 'available' });
    S.seq++;
  }));

  $('transfer-service').addEventListener('change', render);

  $('signout').addEventListener('click', async () => {
    try { await Hub.api('POST', '/api/auth/logout', {}); } catch (_) { /* leave anyway */ }
    location.assign('/login');
  });

  Hub.onLang(() => {
    if (S.detail) {
      document.querySelectorAll('[data-svc-name]').forEach((n) => {
        const s = services().find((x) => String(x.id) === n.dataset.svcName);
        if (s) n.textContent = Hub.serviceName(s);
      });
      const win = $('window-select');
      if (win.options.length) win.options[0].textContent = Hub.t('op.choose');
      fillTransfer();
    }
    render();
  });

  /* ---------- start ---------- */
  (async () => {
    try {
      S.me = await Hub.api('GET', '/api/me');
    } catch (e) {
      if (e.status === 401) { toLogin(); return; }
      Hub.showError(e); return;
    }
    if (!S.me || S.me.type !== 'user') { Hub.message(Hub.t('op.notOperator'), 'error'); return; }
    Hub.setDefaultLang(S.me.lang);
    try {
      await loadOp();
      S.branches = await Hub.api('GET', '/api/branches') || [];
    } catch (e) {
      if (e.status === 403) Hub.message(Hub.t('op.notOperator'), 'error'); else fail(e);
      render();
      return;
    }
    const saved = Number(Hub.stored('hub.op.branch'));
    const pick = [S.op && S.op.branch_id, saved].find((id) => id && S.branches.some((b) => b.id === id))
      || (S.branches[0] && S.branches[0].id);
    fillBranches(pick);
    render();
    if (pick) await loadBranch(pick);
    Hub.socket('/ws/operator', { onMessage: refreshSoon, onOpen: refreshSoon, onStatus: badge });
    setInterval(refresh, 30000);
  })();
});
