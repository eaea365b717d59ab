/* /operator: the unified operator window: visits at a window (ticket in hand) and conversations
   (web chat, Telegram, e-mail, phone). Live via /ws/operator: visit events re-read the operator's
   state; conversation events update the list, the open thread and the typing indicator. */
'use strict';
Hub.ready(() => {
  const $ = (id) => document.getElementById(id);
  const S = {
    me: null, op: null, branches: [], detail: null, queues: [], busy: false, seq: 0,
    reasons: [], skew: 0, leaving: 'shift',
  };
  /* Conversations: lists from /api/conversations, the open thread, helpers' data. */
  const C = {
    on: false, lists: { mine: [], offers: [], queued: [] },
    openId: null, detail: null, openSeq: 0, contactId: null,
    byId: new Map(), pending: new Map(), lastRead: 0,
    canned: [], cannedAt: 0, cannedBusy: false, operators: [], queues: [], queuesAt: 0,
    typingAt: 0, typingTimer: null, suggest: { items: [], index: 0, tok: null }, expired: new Set(),
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
    if (op && typeof op.now === 'number') S.skew = op.now - Date.now();
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
    renderChatPresence(pr, place);

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
    // A button is enabled only when its action is allowed: calling only at work (a break ends
    // by "back to work", never by another button), no-show only after the branch's recalls.
    set('call-next', place && !t && pr.state === 'available');
    set('recall', status === 'called');
    set('no-show', status === 'called' && max != null && (t.recalls || 0) >= max);
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

    renderTimers();
    renderCounters(op && op.counters);
    set('leave-window', place && pr.state !== 'offline');
    renderQueues();
    renderStats(op && op.stats);
    Hub.setText($('op-name'), op ? op.name : (S.me ? S.me.name : ''));
    setTitle();
  }

  function setTitle() {
    const t = inHand();
    const n = C.lists.offers.length + C.lists.mine.reduce((a, c) => a + (shownUnread(c) > 0 ? 1 : 0), 0);
    document.title = (n ? '(' + n + ') ' : '') + (t ? t.number + ' · ' : '') + Hub.t('title.operator');
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

  /* Всего / Ко мне / Обслужено / Осталось: the window's day at a glance. */
  function renderCounters(c) {
    const n = (v) => (v == null ? Hub.t('common.none') : String(v));
    Hub.setText($('count-total'), n(c && c.total));
    Hub.setText($('count-for-me'), n(c && c.for_me));
    Hub.setText($('count-served'), n(c && c.served));
    Hub.setText($('count-left'), n(c && c.left));
  }

  /* Since the call, and since service began, on the server's clock. */
  function renderTimers() {
    const t = inHand();
    const now = Date.now() + S.skew;
    const called = t && t.called_at ? t.called_at : null;
    const started = t && t.status === 'serving' && t.started_at ? t.started_at : null;
    Hub.show($('timer-called'), !!called);
    Hub.show($('timer-serving'), !!started);
    if (called) Hub.setText($('timer-called'), Hub.t('op.sinceCall', { t: Hub.fmtDur((now - called) / 1000) }));
    if (started) Hub.setText($('timer-serving'), Hub.t('op.inService', { t: Hub.fmtDur((now - started) / 1000) }));
  }
  setInterval(renderTimers, 1000);

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
    if (!windowId) { Hub.say('op.needWindow', null, 'error'); return; }
    if (!ids.length) { Hub.say('op.needService', null, 'error'); return; }
    S.op = await Hub.api('PUT', '/api/operator/place', { window_id: windowId, service_ids: ids });
    S.seq++;
    const w = S.detail.windows.find((x) => x.id === windowId);
    Hub.say('op.placeSaved', { window: w ? w.label : windowId }, 'ok');
  }));

  $('call-next').addEventListener('click', () => act(async () => {
    const r = await Hub.api('POST', '/api/operator/call-next', {});
    if (!r || !r.ticket) { Hub.say('op.nobody', null, 'info'); return; }
    if (S.op) { S.op.in_hand = r.ticket; S.seq++; }
    Hub.say('op.called', { number: r.ticket.number }, 'ok');
  }));

  $('recall').addEventListener('click', () => act(async () => {
    const n = num();
    await Hub.api('POST', ticketPath('recall'), {});
    Hub.say('op.recalled', { number: n }, 'ok');
  }));

  $('no-show').addEventListener('click', () => act(async () => {
    const n = num();
    await Hub.api('POST', ticketPath('no-show'), {});
    Hub.say('op.noShowDone', { number: n }, 'ok');
  }));

  $('start-service').addEventListener('click', () => act(async () => {
    await Hub.api('POST', ticketPath('start'), {});
  }));

  $('finish').addEventListener('click', () => act(async () => {
    const n = num();
    const comment = $('finish-comment').value.trim();
    await Hub.api('POST', ticketPath('finish'), comment ? { comment } : {});
    $('finish-comment').value = '';
    Hub.say('op.finished', { number: n }, 'ok');
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
    Hub.say('op.transferred', { number: n }, 'ok');
  }));

  /* Break reasons: the organisation's list, and "Other…" to type one (the only way when the
     list is empty). */
  const OTHER = '\u0000other';
  function fillReasons() {
    [['break-reason', 'break-reason-other'], ['chat-break-reason', 'chat-break-reason-other']].forEach(([sel, other]) => {
      const box = $(sel);
      // What was picked is kept across a refill; "Other…" chosen only because the list had not
      // come yet is not.
      const keep = box.dataset.filled ? box.value : '';
      box.dataset.filled = S.reasons.length ? '1' : '';
      box.replaceChildren(
        ...(S.reasons.length ? [Hub.el('option', { value: '' }, Hub.t('op.breakPick'))] : []),
        ...S.reasons.map((r) => Hub.el('option', { value: r }, r)),
        Hub.el('option', { value: OTHER }, Hub.t('op.breakOtherOption')));
      box.value = [...box.options].some((o) => o.value === keep) ? keep : box.options[0].value;
      Hub.show(box, S.reasons.length > 0);
      Hub.show($(other), box.value === OTHER);
    });
  }
  async function loadReasons() {
    try { S.reasons = (await Hub.api('GET', '/api/break-reasons')) || []; } catch (e) { S.reasons = []; }
    fillReasons();
  }
  ['break-reason', 'chat-break-reason'].forEach((id) => $(id).addEventListener('change', () => {
    const other = $(id + '-other');
    Hub.show(other, $(id).value === OTHER);
    if ($(id).value === OTHER) other.focus();
  }));
  function pickedReason(sel) {
    const v = $(sel).value;
    return v === OTHER ? $(sel + '-other').value.trim() : v;
  }
  async function takeBreak(sel) {
    const reason = pickedReason(sel);
    if (!reason) {
      Hub.say('op.needReason', null, 'error');
      ($(sel).value === OTHER ? $(sel + '-other') : $(sel)).focus();
      return;
    }
    S.op = await Hub.api('PUT', '/api/operator/presence', { state: 'break', reason });
    S.seq++;
    $(sel + '-other').value = '';
    fillReasons();
    $(sel).value = $(sel).options[0].value;
    Hub.show($(sel + '-other'), $(sel).value === OTHER);
  }
  $('take-break').addEventListener('click', () => act(() => takeBreak('break-reason')));

  $('back-to-work').addEventListener('click', () => act(async () => {
    S.op = await Hub.api('PUT', '/api/operator/presence', { state: 'available' });
    S.seq++;
  }));

  $('transfer-service').addEventListener('change', render);

  async function signOut() {
    try { await Hub.api('POST', '/api/auth/logout', {}); } catch (_) { /* leave anyway */ }
    location.assign('/login');
  }

  /* Leaving the window keeps the operator signed in (offline; "Start work" brings them back);
     ending the shift signs out. Either, with a ticket in hand, asks what becomes of it first:
     the visitor must not be left on the board for a window nobody sits at. */
  async function leaveWindow() {
    S.op = await Hub.api('PUT', '/api/operator/presence', { state: 'offline' });
    S.seq++;
    Hub.say('op.leftWindow', null, 'ok');
  }
  function leave(how) {
    S.leaving = how;
    const t = inHand();
    if (!t) { if (how === 'shift') signOut(); else act(leaveWindow); return; }
    Hub.setText($('leave-text'), Hub.t('op.leaveText', { number: t.number, status: Hub.t('st.' + t.status) }));
    Hub.setText($('leave-finish'), Hub.t(how === 'shift' ? 'op.leaveFinish' : 'op.leaveFinishWindow'));
    Hub.setText($('leave-return'), Hub.t(how === 'shift' ? 'op.leaveReturn' : 'op.leaveReturnWindow'));
    $('leave-dialog').showModal();
  }
  $('signout').addEventListener('click', () => leave('shift'));
  $('leave-window').addEventListener('click', () => leave('window'));
  $('leave-cancel').addEventListener('click', () => $('leave-dialog').close());
  $('leave-finish').addEventListener('click', () => leaveWith('finish', {}));
  $('leave-return').addEventListener('click', () => {
    const t = inHand();
    leaveWith('transfer', { service_id: t.service_id, placement: 'front' });
  });
  async function leaveWith(action, body) {
    try {
      await Hub.api('POST', ticketPath(action), body);
    } catch (e) {
      $('leave-dialog').close();
      fail(e);
      await refresh();
      return;
    }
    if (S.leaving === 'shift') { signOut(); return; }
    $('leave-dialog').close();
    await act(leaveWindow);
  }

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
    fillReasons();
    render();
  });

  /* ================= conversations ================= */
  const CHAT_FRAMES = new Set(['conversation_changed', 'message_added', 'typing']);
  const TYPING_EVERY = 2000;
  const TYPING_SHOWN = 4000;
  const myId = () => (S.me ? S.me.user_id : null);
  const isSup = () => !!(S.me && (S.me.role === 'supervisor' || S.me.role === 'admin'));
  const openConv = () => (C.detail ? C.detail.conversation : null);
  const allConvs = () => [...C.lists.offers, ...C.lists.mine, ...C.lists.queued];
  const findConv = (id) => allConvs().find((c) => c.id === id) || null;
  const contactName = (c) => (c && c.contact && (c.contact.name || ('#' + c.contact.id))) || '';
  const presState = (p) => (p && typeof p === 'object' ? p.state : p) || 'offline';
  /* The open thread counts as read while it is on screen. */
  function shownUnread(c) {
    if (c.id === C.openId && document.visibilityState === 'visible') return 0;
    return c.unread || 0;
  }
  function quiet(e) {
    if (e instanceof Hub.HubError && e.status === 401) { toLogin(); return; }
    console.warn(e);
  }

  /* ---------- presence without a window (chat-only operators) ---------- */
  function renderChatPresence(pr, place) {
    Hub.show($('chat-presence-box'), C.on && !place && !!S.op);
    const pill = Hub.tid('chat-presence');
    pill.dataset.status = pr.state;
    Hub.setText(pill, Hub.t('pr.' + pr.state, { reason: pr.reason || '' }));
    Hub.tid('chat-break').disabled = S.busy || pr.state === 'break';
    Hub.tid('chat-available').disabled = S.busy || pr.state === 'available';
  }
  $('chat-break').addEventListener('click', () => act(() => takeBreak('chat-break-reason')));
  $('chat-available').addEventListener('click', () => act(async () => {
    S.op = await Hub.api('PUT', '/api/operator/presence', { state: 'available' });
    S.seq++;
  }));

  /* ---------- data ---------- */
  async function loadConvs() {
    const r = await Hub.api('GET', '/api/conversations');
    const arr = (v) => (Array.isArray(v) ? v : []);
    C.lists = { mine: arr(r && r.mine), offers: arr(r && r.offers), queued: arr(r && r.queued) };
    if (!C.on) { C.on = true; Hub.show($('conv'), true); render(); }
    const fresh = C.openId != null ? findConv(C.openId) : null;
    if (fresh && C.detail) { C.detail.conversation = Object.assign({}, C.detail.conversation, fresh); renderOpenHead(); }
    renderConvs();
  }
  async function getList(path) {
    const r = await Hub.api('GET', path);
    return Array.isArray(r) ? r : [];
  }
  async function refreshChatNow() {
    try { await loadConvs(); } catch (e) { quiet(e); return; }
    try { C.queues = await getList('/api/chat-queues'); C.queuesAt = Date.now(); } catch (e) { quiet(e); }
    renderChatQueues();
    fillTransferTargets();
  }
  const refreshChat = Hub.debounce(refreshChatNow, 250);
  /* Changes elsewhere in the organisation (other operators' chats, the queues) refresh the lists
     at most every 2 s, so a busy contact centre does not make every console refetch on every event. */
  let quietTimer = null;
  let quietAt = 0;
  function refreshChatQuietly() {
    if (quietTimer) return;
    const wait = Math.max(0, quietAt + 2000 - Date.now());
    quietTimer = setTimeout(() => { quietTimer = null; quietAt = Date.now(); refreshChatNow(); }, wait);
  }
  async function loadOperators() {
    try { C.operators = await getList('/api/operators'); } catch (e) { quiet(e); }
    fillTransferTargets();
  }
  async function loadCanned() {
    try {
      C.canned = (await getList('/api/canned')).filter((c) => c && c.shortcut);
      C.cannedAt = Date.now();
    } catch (e) { quiet(e); }
  }
  function startChat() {
    refreshChatNow();
    loadOperators();
    loadCanned();
    setInterval(tick, 1000);
  }
  function chatResync() {
    if (!C.on) return;
    refreshChat();
    if (C.openId != null) reloadOpen(false);
  }

  /* ---------- feed ---------- */
  const reloadOpenSoon = Hub.debounce(() => reloadOpen(false), 200);
  function chatFrame(f) {
    if (f.type === 'conversation_changed') {
      const mine = f.offered_to === myId() || f.assignee_id === myId() || !!findConv(f.conversation_id);
      if (mine) refreshChat(); else refreshChatQuietly();
      if (f.conversation_id === C.openId) reloadOpenSoon();
      if (f.offered_to === myId() && f.status === 'offered') C.expired.delete(f.conversation_id);
    } else if (f.type === 'message_added') {
      const m = f.message;
      if (!m) return;
      const c = findConv(f.conversation_id);
      if (c) { c.last_message = m; c.last_message_at = m.at; }
      if (f.conversation_id === C.openId) {
        addMsg(m);
        if (m.author === 'visitor') hideTyping();
        scheduleRead();
      } else if (c && m.author === 'visitor') {
        c.unread = (c.unread || 0) + 1;
      } else if (!c && f.assignee_id === myId()) {
        refreshChat();
      }
      renderConvs();
    } else if (f.type === 'typing') {
      if (f.conversation_id === C.openId && f.author === 'visitor') showTyping();
    }
  }

  /* ---------- list ---------- */
  function preview(c) {
    const m = c.last_message;
    if (!m) return '';
    const atts = Array.isArray(m.attachments) ? m.attachments : [];
    const text = m.body || (atts[0] ? Hub.t('cv.file', { name: atts[0].name }) : '');
    return (m.author === 'operator' ? Hub.t('cv.you') + ': ' : '') + text;
  }
  function convItem(c, kind) {
    const unread = shownUnread(c);
    const open = () => openConversation(c.id);
    const li = Hub.el('li', {
      class: 'conv-item' + (c.id === C.openId ? ' active' : ''), 'data-testid': 'conv-item',
      'data-conversation-id': String(c.id), 'data-status': c.status, 'data-channel': c.channel, 'data-kind': kind,
      tabindex: '0', role: 'button', 'aria-current': c.id === C.openId ? 'true' : null,
      onclick: open,
      onkeydown: (ev) => { if ((ev.key === 'Enter' || ev.key === ' ') && ev.target === li) { ev.preventDefault(); open(); } },
    },
    Hub.el('div', { class: 'conv-item-head' },
      Hub.channelIcon(c.channel),
      Hub.el('span', { class: 'conv-name' }, contactName(c)),
      Hub.el('span', { class: 'count-badge unread' + (unread ? '' : ' hidden'), 'data-testid': 'conv-unread', 'aria-label': Hub.t('cv.unread') }, String(unread)),
      c.undelivered ? Hub.el('span', { class: 'count-badge undelivered', 'data-testid': 'conv-undelivered',
        title: Hub.t('cv.undeliveredCount', { n: c.undelivered }), 'aria-label': Hub.t('cv.undeliveredCount', { n: c.undelivered }) }, Hub.icon('warn')) : null,
      Hub.el('span', { class: 'conv-when muted' }, Hub.fmtTime(c.last_message_at || c.created_at))),
    Hub.el('div', { class: 'conv-item-sub muted' },
      Hub.el('span', null, c.service || ''),
      kind === 'queued' ? Hub.el('span', { class: 'conv-wait', 'data-since': String(c.queued_at || c.created_at || 0) }) : null,
      kind === 'mine' && c.status !== 'open' ? Hub.el('span', null, Hub.t('cs.' + c.status)) : null,
      c.assignee && c.assignee_id !== myId() && kind === 'queued' ? Hub.el('span', null, c.assignee) : null),
    Hub.el('div', { class: 'conv-preview' }, preview(c)));
    if (kind === 'offer') {
      const stop = (fn) => (ev) => { ev.stopPropagation(); fn(ev.currentTarget); };
      li.appendChild(Hub.el('div', { class: 'conv-offer' },
        Hub.el('span', { class: 'conv-countdown', 'data-testid': 'conv-countdown', 'data-expires': String(c.offer_expires_at || '') }),
        Hub.el('button', { type: 'button', class: 'btn ok', 'data-testid': 'conv-accept', onclick: stop((b) => accept(c.id, b)) }, Hub.t('cv.accept')),
        Hub.el('button', { type: 'button', class: 'btn', 'data-testid': 'conv-decline', onclick: stop((b) => decline(c.id, b)) }, Hub.t('cv.decline'))));
    }
    return li;
  }
  function renderConvs() {
    if (!C.on) return;
    $('conv-offers').replaceChildren(...C.lists.offers.map((c) => convItem(c, 'offer')));
    $('conv-mine').replaceChildren(...C.lists.mine.map((c) => convItem(c, 'mine')));
    // The queue also lists conversations being offered (to anyone); the one offered to me is
    // already above as an offer, so it is not shown twice.
    const above = new Set([...C.lists.offers, ...C.lists.mine].map((c) => c.id));
    const queued = C.lists.queued.filter((c) => !above.has(c.id));
    $('conv-queued').replaceChildren(...queued.map((c) => convItem(c, 'queued')));
    Hub.setText($('conv-queued-count'), String(queued.length));
    Hub.show($('conv-none'), !C.lists.offers.length && !C.lists.mine.length);
    tick();
    setTitle();
  }
  $('conv-queued-box').open = Hub.stored('hub.op.queuedOpen') !== '0';
  $('conv-queued-box').addEventListener('toggle', () => Hub.store('hub.op.queuedOpen', $('conv-queued-box').open ? null : '0'));

  /* Every second: offer countdowns and waiting times. */
  function tick() {
    const now = Date.now();
    document.querySelectorAll('#conv-list [data-expires]').forEach((n) => {
      const exp = Number(n.dataset.expires);
      if (!exp) { n.textContent = ''; return; }
      const left = Math.max(0, Math.ceil((exp - now) / 1000));
      n.textContent = Hub.t('cv.expires', { t: Hub.fmtDur(left) });
      n.classList.toggle('urgent', left <= 5);
      const id = Number(n.closest('[data-conversation-id]').dataset.conversationId);
      if (left === 0 && !C.expired.has(id)) { C.expired.add(id); setTimeout(refreshChat, 800); }
    });
    document.querySelectorAll('#conv-list [data-since]').forEach((n) => {
      const since = Number(n.dataset.since);
      if (since) n.replaceChildren(Hub.icon('clock'), ' ' + Hub.fmtDur((now - since) / 1000)); else n.replaceChildren();
    });
    const qs = C.queuesAt ? (now - C.queuesAt) / 1000 : 0;
    document.querySelectorAll('#chat-queues [data-longest]').forEach((n) => {
      const base = Number(n.dataset.longest);
      n.textContent = Hub.fmtDur(base + qs);
    });
  }

  async function accept(id, btn) {
    if (btn) btn.disabled = true;
    Hub.clearMessage();
    try {
      await Hub.api('POST', '/api/conversations/' + id + '/accept', {});
      await refreshChatNow();
      await openConversation(id);
    } catch (e) { fail(e); refreshChat(); } finally { if (btn) btn.disabled = false; }
  }
  async function decline(id, btn) {
    if (btn) btn.disabled = true;
    Hub.clearMessage();
    try {
      await Hub.api('POST', '/api/conversations/' + id + '/decline', {});
      if (C.openId === id) closeThread();
    } catch (e) { fail(e); } finally { if (btn) btn.disabled = false; }
    refreshChat();
  }

  /* ---------- chat queues ---------- */
  function renderChatQueues() {
    const box = $('chat-queues');
    box.replaceChildren(...C.queues.map((q) => Hub.el('span', {
      class: 'chip' + (q.waiting ? ' busy' : ''), 'data-testid': 'chat-queue', 'data-service-id': String(q.service_id),
    },
    Hub.el('span', { class: 'chip-name' }, q.name || ''),
    Hub.el('b', { class: 'num', 'data-testid': 'chat-queue-waiting', title: Hub.t('op.waiting') }, String(q.waiting || 0)),
    Hub.el('span', { class: 'muted', title: Hub.t('cv.ewt') }, Hub.t('cv.ewtShort') + ' ' + (q.ewt_secs == null ? Hub.t('common.none') : Hub.fmtDur(q.ewt_secs))),
    q.waiting ? Hub.el('span', { class: 'muted', title: Hub.t('cv.longest'), 'data-longest': String(q.longest_wait_secs || 0) }, Hub.fmtDur(q.longest_wait_secs || 0)) : null)));
    Hub.show(box, C.queues.length > 0);
  }

  /* ---------- the open conversation ---------- */
  function setView(v) {
    $('conv-layout').dataset.view = v;
    if (v !== 'list' && window.matchMedia && window.matchMedia('(max-width: 759px)').matches) {
      $('conv').scrollIntoView({ block: 'start' });
    }
  }
  function closeThread() {
    C.openId = null; C.detail = null; C.contactId = null; C.byId.clear(); C.pending.clear(); C.lastRead = 0;
    $('conv-thread').replaceChildren();
    hideTyping(); hideSuggest(); hidePicker();
    Hub.show($('conv-open'), false);
    Hub.show($('conv-pick'), true);
    Hub.show(Hub.tid('contact-card'), false);
    setView('list');
    renderConvs();
  }
  $('conv-back').addEventListener('click', () => { setView('list'); });
  $('conv-show-card').addEventListener('click', () => setView('card'));
  $('contact-back').addEventListener('click', () => setView('thread'));

  async function openConversation(id) {
    if (C.openId !== id) {
      C.openId = id; C.detail = null; C.byId.clear(); C.pending.clear(); C.lastRead = 0; C.contactId = null;
      $('conv-thread').replaceChildren();
      $('reply-input').value = '';
      $('conv-resolution').value = '';
      $('conv-transfer-note').value = '';
      hideTyping(); hideSuggest(); hidePicker();
      const c = findConv(id);
      if (c) { C.detail = { conversation: c, messages: [], timeline: [], contact: null }; renderOpenHead(); }
    }
    Hub.show($('conv-pick'), false);
    Hub.show($('conv-open'), true);
    setView('thread');
    renderConvs();
    await reloadOpen(true);
  }

  /* byUser: the operator opened it (errors are shown); otherwise a push or a reconnect asked. */
  async function reloadOpen(byUser) {
    const id = C.openId;
    if (id == null) return;
    const my = ++C.openSeq;
    let d;
    try { d = await Hub.api('GET', '/api/conversations/' + id); } catch (e) {
      if (my !== C.openSeq) return;
      const gone = e instanceof Hub.HubError && (e.status === 404 || e.status === 403);
      if (gone && C.openId === id) { closeThread(); refreshChat(); }
      if (byUser) fail(e); else quiet(e);
      return;
    }
    if (my !== C.openSeq || C.openId !== id || !d) return;
    // Messages that came live while this answer was on its way stay on screen.
    const snap = Array.isArray(d.messages) ? d.messages : [];
    const have = new Set(snap.map((m) => m.id));
    const newest = Math.max(0, ...snap.map((m) => m.id || 0));
    const live = (C.detail && C.detail.messages ? C.detail.messages : []).filter((m) => m && !have.has(m.id) && m.id > newest);
    C.detail = {
      conversation: d.conversation || (C.detail && C.detail.conversation),
      messages: snap.concat(live),
      timeline: Array.isArray(d.timeline) ? d.timeline : [],
      contact: d.contact || null,
    };
    renderThread();
    renderOpenHead();
    renderContact(C.detail.contact);
    markRead();
  }

  function renderOpenHead() {
    const c = openConv();
    if (!c) return;
    const icon = $('conv-icon');
    icon.replaceChildren(Hub.channelIcon(c.channel));
    Hub.setText($('conv-title'), contactName(c));
    const st = Hub.tid('conv-status');
    st.dataset.status = c.status;
    Hub.setText(st, Hub.t('cs.' + c.status));
    const bits = [c.service, c.assignee ? Hub.t('cv.assignee', { name: c.assignee }) : '', '#' + c.id].filter(Boolean);
    if (c.status === 'closed' && c.resolution) bits.push(Hub.t('cv.resolved', { text: c.resolution }));
    if (c.rating != null) bits.push(Hub.t('cv.rated', { n: c.rating }));
    Hub.setText($('conv-meta'), bits.join(' · '));
    renderReplyState();
  }

  const canReply = () => { const c = openConv(); return !!(c && c.status === 'open' && c.assignee_id === myId()); };
  const canManage = () => { const c = openConv(); return !!(c && c.status === 'open' && (c.assignee_id === myId() || isSup())); };
  function renderReplyState() {
    const c = openConv();
    const on = canReply();
    ['reply-input', 'reply-send', 'reply-canned', 'reply-attach'].forEach((t) => { Hub.tid(t).disabled = !on; });
    $('reply-attach-label').classList.toggle('disabled', !on);
    Hub.show($('reply'), on);
    let why = '';
    if (c && !on) {
      if (c.status === 'offered' && c.offered_to === myId()) why = Hub.t('cv.acceptFirst');
      else if (c.status === 'closed') why = Hub.t('cv.closedNote');
      else if (c.status === 'queued' || c.status === 'offered') why = Hub.t('cv.inQueue');
      else why = Hub.t('cv.notYours');
    }
    Hub.setText($('reply-off'), why);
    Hub.show($('reply-off'), !!why);
    const m = canManage();
    Hub.show($('conv-actions'), m);
    Hub.tid('conv-close').disabled = !m;
    Hub.tid('conv-transfer').disabled = !m || (!$('conv-transfer-operator').value && !$('conv-transfer-service').value);
  }

  /* Thread: messages and timeline events by time; messages only once (id, then client_id). */
  function msgNode(m, state) {
    const author = ['visitor', 'operator', 'system'].includes(m.author) ? m.author : 'system';
    const node = Hub.el('div', {
      class: 'conv-msg' + (author === 'operator' && m.operator_id != null && m.operator_id !== myId() ? ' other' : ''),
      'data-testid': 'conv-message', 'data-author': author,
      'data-message-id': m.id != null ? String(m.id) : null, 'data-client-id': m.client_id || null, 'data-state': state,
      'data-delivery': m.delivery || null,
    });
    const c = openConv();
    if (author !== 'system') {
      node.appendChild(Hub.el('div', { class: 'conv-who' },
        author === 'visitor' ? contactName(c) : (m.operator_name || Hub.t('chat.operator'))));
    }
    const atts = Array.isArray(m.attachments) ? m.attachments : [];
    const onlyFile = atts.length === 1 && m.body === atts[0].name;
    if (m.body && !onlyFile) node.appendChild(Hub.el('div', { class: 'conv-body' }, m.body));
    if (atts.length) {
      node.appendChild(Hub.el('div', { class: 'chat-atts' },
        ...atts.map((a) => Hub.attachmentNode(a, '/api/attachments/' + encodeURIComponent(a.id)))));
    }
    const time = Hub.el('div', { class: 'conv-time muted' }, Hub.fmtTime(m.at || Date.now()));
    if (m.delivery === 'failed') {
      time.appendChild(Hub.el('span', { class: 'conv-undelivered', 'data-testid': 'msg-undelivered' }, ' · ', Hub.icon('warn'), ' ' + Hub.t('cv.undelivered')));
    }
    node.appendChild(time);
    return node;
  }
  function eventNode(ev) {
    const kindKey = 'cv.ev.' + ev.kind;
    let text = Hub.t(kindKey);
    if (text === kindKey) text = String(ev.kind || '');
    const op = ev.operator_id != null ? C.operators.find((o) => o.user_id === ev.operator_id) : null;
    const parts = [text];
    if (op) parts.push(op.name);
    else if (ev.operator_id != null && ev.operator_id === myId()) parts.push(Hub.t('cv.you'));
    if (ev.kind === 'undelivered' && ev.detail) parts.push(Hub.t('cv.why.' + ev.detail));
    // "Created" names the channel it came by: a code, worded.
    else if (ev.kind === 'created' && ev.detail && Hub.t('ch.' + ev.detail) !== 'ch.' + ev.detail) parts.push(Hub.t('ch.' + ev.detail));
    else if (ev.detail) parts.push('«' + ev.detail + '»');
    return Hub.el('div', { class: 'conv-event', 'data-testid': 'conv-event', 'data-kind': ev.kind || '' },
      Hub.el('span', null, parts.join(' · ')), Hub.el('span', { class: 'muted' }, ' ' + Hub.fmtTime(ev.at)));
  }
  const threadNearBottom = () => {
    const t = $('conv-thread');
    return t.scrollHeight - t.scrollTop - t.clientHeight < 80;
  };
  function scrollThread(force) {
    const t = $('conv-thread');
    if (force || threadNearBottom()) requestAnimationFrame(() => { t.scrollTop = t.scrollHeight; });
  }
  function renderThread() {
    const d = C.detail;
    const box = $('conv-thread');
    const stick = threadNearBottom() || !box.children.length;
    const keepTop = box.scrollTop;
    const pend = [...C.pending.values()];
    C.byId.clear();
    box.replaceChildren();
    const items = [
      ...d.timeline.map((ev) => ({ at: ev.at || 0, ev })),
      ...d.messages.map((m) => ({ at: m.at || 0, m })),
    ].sort((a, b) => (a.at - b.at) || ((a.ev ? 0 : 1) - (b.ev ? 0 : 1)));
    for (const it of items) {
      if (it.ev) { box.appendChild(eventNode(it.ev)); continue; }
      const m = it.m;
      if (m.id == null || C.byId.has(m.id)) continue;
      if (m.client_id && C.pending.has(m.client_id)) C.pending.delete(m.client_id);
      const node = msgNode(m, 'sent');
      C.byId.set(m.id, node);
      box.appendChild(node);
    }
    pend.forEach((n) => { if (C.pending.has(n.dataset.clientId)) box.appendChild(n); });
    if (stick) scrollThread(true); else box.scrollTop = keepTop;
  }
  /* A live message: after everything but the operator's own unsent ones. */
  function addMsg(m) {
    if (!m || m.id == null || C.byId.has(m.id)) return;
    const box = $('conv-thread');
    const stick = threadNearBottom();
    const node = msgNode(m, 'sent');
    const pend = m.client_id ? C.pending.get(m.client_id) : null;
    if (pend) { pend.replaceWith(node); C.pending.delete(m.client_id); }
    else {
      const firstPending = C.pending.size ? [...C.pending.values()][0] : null;
      if (firstPending && firstPending.parentNode === box) box.insertBefore(node, firstPending); else box.appendChild(node);
    }
    C.byId.set(m.id, node);
    if (C.detail) C.detail.messages.push(m);
    scrollThread(stick || m.author === 'operator');
  }

  /* ---------- read marks ---------- */
  function markRead() {
    const c = openConv();
    if (!c || c.assignee_id !== myId() || document.visibilityState !== 'visible') return;
    const upTo = Math.max(0, ...C.byId.keys());
    if (!upTo || upTo <= C.lastRead) return;
    C.lastRead = upTo;
    const item = findConv(c.id);
    if (item) item.unread = 0;
    Hub.api('POST', '/api/conversations/' + c.id + '/read', { up_to: upTo }).catch((e) => { C.lastRead = 0; quiet(e); });
    setTitle();
  }
  const scheduleRead = Hub.debounce(markRead, 300);
  document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'visible') { markRead(); renderConvs(); } });

  /* ---------- typing ---------- */
  function hideTyping() { clearTimeout(C.typingTimer); C.typingTimer = null; Hub.show(Hub.tid('conv-typing'), false); }
  function showTyping() {
    Hub.show(Hub.tid('conv-typing'), true);
    clearTimeout(C.typingTimer);
    C.typingTimer = setTimeout(hideTyping, TYPING_SHOWN);
  }
  function sendTyping() {
    const c = openConv();
    if (!c || !canReply() || !$('reply-input').value.trim()) return;
    const now = Date.now();
    if (now - C.typingAt < TYPING_EVERY) return;
    C.typingAt = now;
    Hub.api('POST', '/api/conversations/' + c.id + '/typing', {}).catch(quiet);
  }

  /* ---------- sending ---------- */
  function pendingNode(clientId, body, atts) {
    const node = msgNode({ author: 'operator', operator_id: myId(), operator_name: S.me && S.me.name, body, attachments: atts, client_id: clientId, at: Date.now() }, 'pending');
    C.pending.set(clientId, node);
    $('conv-thread').appendChild(node);
    scrollThread(true);
    return node;
  }
  async function postMessage(convId, clientId, body, ids) {
    const node = C.pending.get(clientId);
    if (node) { node.dataset.state = 'pending'; const r = node.querySelector('.chat-retry'); if (r) r.remove(); }
    try {
      const m = await Hub.api('POST', '/api/conversations/' + convId + '/messages', { client_id: clientId, body, attachment_ids: ids });
      if (C.openId !== convId) return;
      if (m && m.id != null && C.byId.has(m.id)) {
        const p = C.pending.get(clientId);
        if (p) { p.remove(); C.pending.delete(clientId); }
      } else if (m) addMsg(m);
      markRead();
    } catch (e) {
      fail(e);
      const p = C.pending.get(clientId);
      if (p && C.openId === convId) {
        p.dataset.state = 'failed';
        p.appendChild(Hub.el('button', {
          type: 'button', class: 'chat-retry', 'data-testid': 'conv-retry',
          onclick: () => postMessage(convId, clientId, body, ids),
        }, Hub.t('chat.retry')));
      }
    }
  }
  function sendReply() {
    const c = openConv();
    if (!canReply()) return;
    const input = $('reply-input');
    const body = input.value.trim();
    if (!body) return;
    if (body.length > 4000) { Hub.say('chat.tooLong', { max: 4000 }, 'error'); return; }
    Hub.clearMessage();
    input.value = '';
    hideSuggest();
    const cid = Hub.uuid();
    pendingNode(cid, body, []);
    postMessage(c.id, cid, body, []);
  }
  Hub.tid('reply-send').addEventListener('click', sendReply);

  Hub.tid('reply-attach').addEventListener('change', async (ev) => {
    const file = ev.target.files && ev.target.files[0];
    ev.target.value = '';
    const c = openConv();
    if (!file || !c || !canReply()) return;
    const problem = Hub.fileProblem(file);
    if (problem) { Hub.message(() => Hub.fileProblem(file), 'error'); return; }
    Hub.say('att.uploading', { name: file.name }, 'info');
    let a;
    try { a = await Hub.upload('/api/attachments', file); } catch (e) { fail(e); return; }
    Hub.clearMessage();
    const input = $('reply-input');
    const text = input.value.trim();
    input.value = '';
    const body = text || a.name || file.name;
    const cid = Hub.uuid();
    pendingNode(cid, body, [a]);
    postMessage(c.id, cid, body, [a.id]);
  });

  /* ---------- canned responses: "/shortcut" suggestions and the picker ---------- */
  function slashToken() {
    const input = $('reply-input');
    const pos = input.selectionStart;
    if (pos == null || pos !== input.selectionEnd) return null;
    const m = /(^|\s)\/([^\s/]*)$/.exec(input.value.slice(0, pos));
    if (!m) return null;
    return { start: pos - m[2].length - 1, end: pos, prefix: m[2].toLowerCase() };
  }
  function hideSuggest() { C.suggest = { items: [], index: 0, tok: null }; $('canned-suggest').replaceChildren(); Hub.show($('canned-suggest'), false); }
  function paintSuggest() {
    const list = $('canned-suggest');
    list.replaceChildren(...C.suggest.items.map((c, i) => Hub.el('li', {
      class: 'canned-item' + (i === C.suggest.index ? ' sel' : ''), role: 'option', 'aria-selected': String(i === C.suggest.index),
      'data-testid': 'canned-suggestion', 'data-shortcut': c.shortcut,
      onmousedown: (ev) => ev.preventDefault(),
      onclick: () => insertCanned(c, C.suggest.tok),
    }, Hub.el('b', null, '/' + c.shortcut), ' ', Hub.el('span', null, c.title || ''), Hub.el('div', { class: 'muted canned-body' }, c.body || ''))));
    Hub.show(list, C.suggest.items.length > 0);
  }
  function updateSuggest() {
    const tok = slashToken();
    const items = tok ? C.canned.filter((c) => String(c.shortcut).toLowerCase().startsWith(tok.prefix)).slice(0, 8) : [];
    C.suggest = { items, index: 0, tok };
    paintSuggest();
  }
  function insertCanned(c, tok) {
    const input = $('reply-input');
    const v = input.value;
    const body = c.body || '';
    let from = tok ? tok.start : (input.selectionStart ?? v.length);
    let to = tok ? tok.end : (input.selectionEnd ?? v.length);
    if (from > v.length) { from = v.length; to = v.length; }
    input.value = v.slice(0, from) + body + v.slice(to);
    const caret = from + body.length;
    hideSuggest();
    hidePicker();
    input.focus();
    try { input.setSelectionRange(caret, caret); } catch (_) { /* not focusable */ }
    sendTyping();
  }
  const replyInput = $('reply-input');
  replyInput.addEventListener('input', () => { updateSuggest(); sendTyping(); });
  replyInput.addEventListener('click', updateSuggest);
  // Canned responses change elsewhere (a supervisor, another tab): re-read them now and then.
  replyInput.addEventListener('focus', () => { if (Date.now() - C.cannedAt > 30000) cannedChanged(); });
  replyInput.addEventListener('blur', () => setTimeout(hideSuggest, 150));
  replyInput.addEventListener('keydown', (ev) => {
    const sug = C.suggest.items;
    if (sug.length) {
      if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
        ev.preventDefault();
        const n = sug.length;
        C.suggest.index = (C.suggest.index + (ev.key === 'ArrowDown' ? 1 : n - 1)) % n;
        paintSuggest();
        return;
      }
      if ((ev.key === 'Tab' && !ev.shiftKey) || (ev.key === 'Enter' && !ev.shiftKey)) {
        ev.preventDefault();
        insertCanned(sug[C.suggest.index], C.suggest.tok);
        return;
      }
      if (ev.key === 'Escape') { ev.preventDefault(); hideSuggest(); return; }
    }
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing && ev.keyCode !== 229) { ev.preventDefault(); sendReply(); }
  });

  function hidePicker() { Hub.show($('canned-picker'), false); Hub.tid('reply-canned').setAttribute('aria-expanded', 'false'); }
  /* The picker: every canned response (shared and my own; my own can be deleted), then a form for
     a new personal one. Only the list is repainted, so what is typed in the form stays. */
  function paintPicker() {
    const rows = C.canned.map((c) => Hub.el('div', { class: 'canned-row', 'data-personal': c.personal ? '1' : null },
      Hub.el('button', {
        type: 'button', class: 'canned-pick', 'data-testid': 'canned-pick', 'data-shortcut': c.shortcut,
        'data-personal': c.personal ? '1' : null,
        onmousedown: (ev) => ev.preventDefault(),
        onclick: () => insertCanned(c, null),
      }, Hub.el('b', null, '/' + c.shortcut), c.personal ? Hub.el('span', { class: 'canned-tag' }, Hub.t('canned.mine')) : null,
      ' ', Hub.el('span', null, c.title || ''), Hub.el('span', { class: 'muted canned-body' }, c.body || '')),
      c.personal ? Hub.el('button', {
        type: 'button', class: 'btn ghost canned-del', 'data-testid': 'canned-delete', 'data-shortcut': c.shortcut,
        disabled: C.cannedBusy, 'aria-label': Hub.t('canned.deleteOne', { shortcut: c.shortcut }),
        title: Hub.t('canned.deleteOne', { shortcut: c.shortcut }),
        onmousedown: (ev) => ev.preventDefault(),
        onclick: () => deleteCanned(c),
      }, Hub.icon('close')) : null));
    $('canned-rows').replaceChildren(...(rows.length ? rows : [Hub.el('p', { class: 'muted' }, Hub.t('cv.noCanned'))]));
    Hub.tid('canned-new-add').disabled = C.cannedBusy;
  }
  async function cannedChanged() {
    await loadCanned();
    if (!$('canned-picker').classList.contains('hidden')) paintPicker();
    if (C.suggest.tok) updateSuggest();
  }
  $('canned-new').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (C.cannedBusy) return;
    const field = $('canned-new-shortcut');
    const shortcut = Hub.cannedShortcut(field.value);
    const body = $('canned-new-body').value.trim();
    if (!shortcut) { Hub.say('canned.needShortcut', null, 'error'); field.focus(); return; }
    if (!body) { Hub.say('canned.needBody', null, 'error'); $('canned-new-body').focus(); return; }
    C.cannedBusy = true;
    paintPicker();
    Hub.clearMessage();
    try {
      const row = await Hub.api('POST', '/api/canned', { shortcut, title: $('canned-new-title').value.trim(), body, personal: true });
      field.value = '';
      $('canned-new-title').value = '';
      $('canned-new-body').value = '';
      Hub.say('canned.added', { shortcut: (row && row.shortcut) || shortcut }, 'ok');
    } catch (e) {
      if (e instanceof Hub.HubError && e.status === 401) { toLogin(); return; }
      console.warn(e);
      Hub.message(() => Hub.cannedError(e, shortcut), 'error');
    }
    C.cannedBusy = false;
    await cannedChanged();
  });
  async function deleteCanned(c) {
    if (C.cannedBusy) return;
    C.cannedBusy = true;
    paintPicker();
    Hub.clearMessage();
    try {
      await Hub.api('DELETE', '/api/canned/' + encodeURIComponent(c.id));
      Hub.say('canned.deleted', { shortcut: c.shortcut }, 'ok');
    } catch (e) {
      // Already gone (another tab): what was wanted.
      if (e instanceof Hub.HubError && e.status === 404) Hub.say('canned.deleted', { shortcut: c.shortcut }, 'ok');
      else fail(e);
    }
    C.cannedBusy = false;
    await cannedChanged();
  }
  Hub.tid('reply-canned').addEventListener('click', async () => {
    const box = $('canned-picker');
    if (!box.classList.contains('hidden')) { hidePicker(); return; }
    hideSuggest();
    paintPicker();
    Hub.show(box, true);
    Hub.tid('reply-canned').setAttribute('aria-expanded', 'true');
    await loadCanned();
    if (!box.classList.contains('hidden')) paintPicker();
  });

  /* ---------- transfer and close ---------- */
  function fillTransferTargets() {
    const opSel = $('conv-transfer-operator');
    const svcSel = $('conv-transfer-service');
    const keepOp = opSel.value;
    const keepSvc = svcSel.value;
    opSel.replaceChildren(Hub.el('option', { value: '' }, Hub.t('common.none')),
      ...C.operators.filter((o) => o.user_id !== myId()).map((o) => Hub.el('option', { value: String(o.user_id) },
        o.name + ' — ' + Hub.t('pr.' + presState(o.presence), { reason: (o.presence && o.presence.reason) || '' }))));
    svcSel.replaceChildren(Hub.el('option', { value: '' }, Hub.t('common.none')),
      ...C.queues.map((q) => Hub.el('option', { value: String(q.service_id) }, q.name || ('#' + q.service_id))));
    if ([...opSel.options].some((o) => o.value === keepOp)) opSel.value = keepOp;
    if ([...svcSel.options].some((o) => o.value === keepSvc)) svcSel.value = keepSvc;
    renderReplyState();
  }
  $('conv-transfer-operator').addEventListener('change', (ev) => { if (ev.target.value) $('conv-transfer-service').value = ''; renderReplyState(); });
  $('conv-transfer-service').addEventListener('change', (ev) => { if (ev.target.value) $('conv-transfer-operator').value = ''; renderReplyState(); });
  $('conv-transfer-operator').addEventListener('focus', loadOperators);

  Hub.tid('conv-transfer').addEventListener('click', async () => {
    const c = openConv();
    if (!c) return;
    const op = Number($('conv-transfer-operator').value);
    const svc = Number($('conv-transfer-service').value);
    if (!op && !svc) { Hub.say('cv.needTarget', null, 'error'); return; }
    const body = op ? { operator_id: op } : { service_id: svc };
    const note = $('conv-transfer-note').value.trim();
    if (note) body.note = note;
    const btn = Hub.tid('conv-transfer');
    btn.disabled = true;
    Hub.clearMessage();
    try {
      await Hub.api('POST', '/api/conversations/' + c.id + '/transfer', body);
      $('conv-transfer-note').value = '';
      $('conv-transfer-operator').value = '';
      $('conv-transfer-service').value = '';
      Hub.say('cv.transferred', { name: contactName(c) }, 'ok');
      if (isSup()) await reloadOpen(); else closeThread();
    } catch (e) { fail(e); }
    renderReplyState();
    refreshChat();
  });

  Hub.tid('conv-close').addEventListener('click', async () => {
    const c = openConv();
    if (!c) return;
    const btn = Hub.tid('conv-close');
    btn.disabled = true;
    Hub.clearMessage();
    try {
      const resolution = $('conv-resolution').value.trim();
      const r = await Hub.api('POST', '/api/conversations/' + c.id + '/close', resolution ? { resolution } : {});
      $('conv-resolution').value = '';
      if (r && C.detail && C.openId === c.id) C.detail.conversation = r;
      Hub.say('cv.closed', { name: contactName(c) }, 'ok');
      renderOpenHead();
      reloadOpen();
    } catch (e) { fail(e); }
    renderReplyState();
    refreshChat();
  });

  /* ---------- contact card ---------- */
  const KIND_ICON = { web: 'webchat', phone: 'phone', telegram: 'telegram', email: 'email' };
  function renderContact(card) {
    const box = Hub.tid('contact-card');
    Hub.show(box, !!card);
    if (!card) return;
    box.dataset.contactId = String(card.id);
    Hub.setText(Hub.tid('contact-name'), card.name || ('#' + card.id));
    Hub.setText($('contact-line'), ['#' + card.id, card.email, card.phone, card.location ? Hub.t('cv.location', { place: card.location }) : null].filter(Boolean).join(' · '));
    // Click-to-call: the hub rings the operator's own phone, then this number (through the trunk).
    Hub.show($('contact-call-row'), !!card.phone);
    $('contact-call').title = card.phone ? Hub.t('cv.callTitle', { number: card.phone }) : '';
    Hub.setText($('contact-note'), card.note || '');
    Hub.show($('contact-note'), !!card.note);
    const ids = Array.isArray(card.identities) ? card.identities : [];
    $('contact-ids').replaceChildren(...ids.map((i) => Hub.el('li', { 'data-testid': 'contact-identity', 'data-kind': i.kind || '' },
      Hub.channelIcon(KIND_ICON[i.kind] || i.kind), ' ', Hub.el('span', { class: 'muted' }, Hub.t('idk.' + i.kind) + ': '), Hub.el('span', null, i.value || ''))));
    const hist = Array.isArray(card.history) ? card.history : [];
    $('contact-history').replaceChildren(...hist.map((h) => Hub.el('li', {
      class: 'contact-history-item' + (h.id === C.openId ? ' active' : ''), 'data-testid': 'contact-history-item',
      'data-conversation-id': h.id != null ? String(h.id) : null, 'data-status': h.status || '',
    },
    Hub.el('button', {
      type: 'button', class: 'linkish', disabled: h.id === C.openId || h.kind !== 'conversation',
      onclick: () => openConversation(h.id),
    }, Hub.channelIcon(h.channel), ' #' + h.id + ' · ' + Hub.fmtTime(h.created_at) + ' · ' + Hub.t('cs.' + h.status)),
    h.resolution ? Hub.el('div', { class: 'muted' }, h.resolution) : null,
    h.rating != null ? Hub.el('div', { class: 'muted' }, Hub.icon('star'), ' ' + h.rating) : null)));
    if (!hist.length) $('contact-history').appendChild(Hub.el('li', { class: 'muted' }, Hub.t('cv.noHistory')));
    if (C.contactId !== card.id) {
      C.contactId = card.id;
      fillContactForm(card);
    }
  }
  function fillContactForm(card) {
    $('contact-edit-name').value = card.name || '';
    $('contact-edit-email').value = card.email || '';
    $('contact-edit-phone').value = card.phone || '';
    $('contact-edit-note').value = card.note || '';
    $('contact-merge-id').value = '';
  }
  function afterCard(card, msgKey) {
    if (C.detail) C.detail.contact = card;
    C.contactId = null;
    renderContact(card);
    Hub.say(msgKey, null, 'ok');
    refreshChat();
    const c = openConv();
    if (c && card) { c.contact = { id: card.id, name: card.name }; renderOpenHead(); }
  }
  $('contact-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const card = C.detail && C.detail.contact;
    if (!card) return;
    const body = {};
    const fields = { name: 'contact-edit-name', email: 'contact-edit-email', phone: 'contact-edit-phone', note: 'contact-edit-note' };
    for (const [k, id] of Object.entries(fields)) {
      const v = $(id).value.trim();
      if (v !== (card[k] || '')) body[k] = v;
    }
    if (body.email && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(body.email)) { Hub.say('chat.badEmail', null, 'error'); return; }
    if (!Object.keys(body).length) { Hub.say('cv.nothingChanged', null, 'info'); return; }
    const btn = Hub.tid('contact-save');
    btn.disabled = true;
    Hub.clearMessage();
    try {
      afterCard(await Hub.api('PATCH', '/api/contacts/' + card.id, body), 'cv.saved');
    } catch (e) { fail(e); } finally { btn.disabled = false; }
  });
  Hub.tid('contact-call').addEventListener('click', async () => {
    const card = C.detail && C.detail.contact;
    if (!card || !card.phone) return;
    const btn = Hub.tid('contact-call');
    btn.disabled = true;
    Hub.clearMessage();
    try {
      await Hub.api('POST', '/api/calls/dial', { number: card.phone, conversation_id: C.openId });
      Hub.say('cv.calling', { number: card.phone }, 'ok');
    } catch (e) { fail(e); } finally { btn.disabled = false; }
  });
  Hub.tid('contact-merge').addEventListener('click', async () => {
    const card = C.detail && C.detail.contact;
    if (!card) return;
    const raw = $('contact-merge-id').value.trim().replace(/^#/, '');
    const other = Number(raw);
    if (!/^\d+$/.test(raw) || !other || other === card.id) { Hub.say('cv.badMergeId', null, 'error'); return; }
    const btn = Hub.tid('contact-merge');
    btn.disabled = true;
    Hub.clearMessage();
    try {
      afterCard(await Hub.api('POST', '/api/contacts/' + card.id + '/merge', { other_id: other }), 'cv.merged');
    } catch (e) { fail(e); } finally { btn.disabled = false; }
  });

  Hub.onLang(() => {
    if (!C.on) return;
    renderConvs();
    renderChatQueues();
    fillTransferTargets();
    if (C.detail) {
      renderOpenHead();
      if (C.detail.contact) renderContact(C.detail.contact);
      renderThread();
    }
  });

  /* ---------- start ---------- */
  (async () => {
    try {
      S.me = await Hub.api('GET', '/api/me');
    } catch (e) {
      if (e.status === 401) { toLogin(); return; }
      Hub.showError(e); return;
    }
    if (!S.me || S.me.type !== 'user') { Hub.say('op.notOperator', null, 'error'); return; }
    Hub.setDefaultLang(S.me.lang);
    Hub.show($('sup-link'), S.me.role === 'supervisor' || S.me.role === 'admin');
    try {
      await loadOp();
      S.branches = await Hub.api('GET', '/api/branches') || [];
    } catch (e) {
      if (e.status === 403) Hub.say('op.notOperator', null, 'error'); else fail(e);
      render();
      return;
    }
    const saved = Number(Hub.stored('hub.op.branch'));
    const pick = [S.op && S.op.branch_id, saved].find((id) => id && S.branches.some((b) => b.id === id))
      || (S.branches[0] && S.branches[0].id);
    fillBranches(pick);
    await loadReasons();
    render();
    if (pick) await loadBranch(pick);
    startChat();
    Hub.socket('/ws/operator', {
      onMessage: (f) => {
        if (f && CHAT_FRAMES.has(f.type)) { chatFrame(f); return; }
        refreshSoon();
        if (f && f.type === 'resync') chatResync();
      },
      onOpen: () => { refreshSoon(); chatResync(); },
      // A socket closed by the server may mean the session ended (signed out elsewhere, the
      // user disabled): the next read says so, and sends the person to sign in.
      onClose: () => refreshSoon(),
      onStatus: badge,
    });
    setInterval(() => { refresh(); if (C.on) refreshChat(); }, 30000);
  })();
});
