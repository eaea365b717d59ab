/* Conversations: the lists (offers, mine, queued), the live feed, accepting and declining, the
   open thread and its messages. */
import * as Hub from './hub.js';
import { renderContact } from './operator-card.js';
import { fillTransferTargets, hidePicker, hideSuggest, hideTyping, markRead, scheduleRead, showTyping } from './operator-reply.js';
import { C, S, contactName, fail, findConv, isSup, myId, openConv, toLogin } from './operator-state.js';
import { act, render, setTitle, takeBreak } from './operator-window.js';

const $ = (id) => document.getElementById(id);

/* The open thread counts as read while it is on screen. */
export function shownUnread(c) {
  if (c.id === C.openId && document.visibilityState === 'visible') return 0;
  return c.unread || 0;
}
export function quiet(e) {
  if (e instanceof Hub.HubError && e.status === 401) { toLogin(); return; }
  console.warn(e);
}

/* ---------- presence without a window (chat-only operators) ---------- */
export function renderChatPresence(pr, place) {
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
export async function loadConvs() {
  const r = await Hub.api('GET', '/api/conversations');
  const arr = (v) => (Array.isArray(v) ? v : []);
  C.lists = { mine: arr(r && r.mine), offers: arr(r && r.offers), queued: arr(r && r.queued) };
  if (!C.on) { C.on = true; Hub.show($('conv'), true); render(); }
  const fresh = C.openId != null ? findConv(C.openId) : null;
  if (fresh && C.detail) { C.detail.conversation = Object.assign({}, C.detail.conversation, fresh); renderOpenHead(); }
  renderConvs();
}
export async function getList(path) {
  const r = await Hub.api('GET', path);
  return Array.isArray(r) ? r : [];
}
export async function refreshChatNow() {
  try { await loadConvs(); } catch (e) { quiet(e); return; }
  try { C.queues = await getList('/api/chat-queues'); C.queuesAt = Date.now(); } catch (e) { quiet(e); }
  renderChatQueues();
  fillTransferTargets();
}
export const refreshChat = Hub.debounce(refreshChatNow, 250);
/* Changes elsewhere in the organisation (other operators' chats, the queues) refresh the lists
   at most every 2 s, so a busy contact centre does not make every console refetch on every event. */
export let quietTimer = null;
export let quietAt = 0;
export function refreshChatQuietly() {
  if (quietTimer) return;
  const wait = Math.max(0, quietAt + 2000 - Date.now());
  quietTimer = setTimeout(() => { quietTimer = null; quietAt = Date.now(); refreshChatNow(); }, wait);
}
export async function loadOperators() {
  try { C.operators = await getList('/api/operators'); } catch (e) { quiet(e); }
  fillTransferTargets();
}
export async function loadCanned() {
  try {
    C.canned = (await getList('/api/canned')).filter((c) => c && c.shortcut);
    C.cannedAt = Date.now();
  } catch (e) { quiet(e); }
}
export function startChat() {
  refreshChatNow();
  loadOperators();
  loadCanned();
  setInterval(tick, 1000);
}
export function chatResync() {
  if (!C.on) return;
  refreshChat();
  if (C.openId != null) reloadOpen(false);
}

/* ---------- feed ---------- */
export const reloadOpenSoon = Hub.debounce(() => reloadOpen(false), 200);
export function chatFrame(f) {
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
export function preview(c) {
  const m = c.last_message;
  if (!m) return '';
  const atts = Array.isArray(m.attachments) ? m.attachments : [];
  const text = m.body || (atts[0] ? Hub.t('cv.file', { name: atts[0].name }) : '');
  return (m.author === 'operator' ? Hub.t('cv.you') + ': ' : '') + text;
}
export function convItem(c, kind) {
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
export function renderConvs() {
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
export function tick() {
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

export async function accept(id, btn) {
  if (btn) btn.disabled = true;
  Hub.clearMessage();
  try {
    await Hub.api('POST', '/api/conversations/' + id + '/accept', {});
    await refreshChatNow();
    await openConversation(id);
  } catch (e) { fail(e); refreshChat(); } finally { if (btn) btn.disabled = false; }
}
export async function decline(id, btn) {
  if (btn) btn.disabled = true;
  Hub.clearMessage();
  try {
    await Hub.api('POST', '/api/conversations/' + id + '/decline', {});
    if (C.openId === id) closeThread();
  } catch (e) { fail(e); } finally { if (btn) btn.disabled = false; }
  refreshChat();
}

/* ---------- chat queues ---------- */
export function renderChatQueues() {
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
export function setView(v) {
  $('conv-layout').dataset.view = v;
  if (v !== 'list' && window.matchMedia && window.matchMedia('(max-width: 759px)').matches) {
    $('conv').scrollIntoView({ block: 'start' });
  }
}
export function closeThread() {
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

export async function openConversation(id) {
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
export async function reloadOpen(byUser) {
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

export function renderOpenHead() {
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

export const canReply = () => { const c = openConv(); return !!(c && c.status === 'open' && c.assignee_id === myId()); };
export const canManage = () => { const c = openConv(); return !!(c && c.status === 'open' && (c.assignee_id === myId() || isSup())); };
export function renderReplyState() {
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
export function msgNode(m, state) {
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
  const note = author === 'system' && Hub.speechNote(m.body);
  if (note) node.appendChild(Hub.el('div', { class: 'conv-body' }, note));
  else if (m.body && !onlyFile) node.appendChild(Hub.el('div', { class: 'conv-body' }, m.body));
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
export function eventNode(ev) {
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
export const threadNearBottom = () => {
  const t = $('conv-thread');
  return t.scrollHeight - t.scrollTop - t.clientHeight < 80;
};
export function scrollThread(force) {
  const t = $('conv-thread');
  if (force || threadNearBottom()) requestAnimationFrame(() => { t.scrollTop = t.scrollHeight; });
}
export function renderThread() {
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
export function addMsg(m) {
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
