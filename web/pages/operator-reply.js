/* Replying: read marks, typing, sending with files, canned replies ("/shortcut" and the picker),
   transfer and close. */
import * as Hub from './hub.js';
import { addCanned, removeCanned } from './canned.js';
import { addMsg, canReply, closeThread, loadCanned, loadOperators, msgNode, quiet, refreshChat, reloadOpen, renderConvs, renderOpenHead, renderReplyState, scrollThread } from './operator-chats.js';
import { C, S, TYPING_EVERY, TYPING_SHOWN, contactName, fail, findConv, isSup, myId, openConv, presState, toLogin } from './operator-state.js';
import { setTitle } from './operator-window.js';

const $ = (id) => document.getElementById(id);

/* ---------- read marks ---------- */
export function markRead() {
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
export const scheduleRead = Hub.debounce(markRead, 300);
document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'visible') { markRead(); renderConvs(); } });

/* ---------- typing ---------- */
export function hideTyping() { clearTimeout(C.typingTimer); C.typingTimer = null; Hub.show(Hub.tid('conv-typing'), false); }
export function showTyping() {
  Hub.show(Hub.tid('conv-typing'), true);
  clearTimeout(C.typingTimer);
  C.typingTimer = setTimeout(hideTyping, TYPING_SHOWN);
}
export function sendTyping() {
  const c = openConv();
  if (!c || !canReply() || !$('reply-input').value.trim()) return;
  const now = Date.now();
  if (now - C.typingAt < TYPING_EVERY) return;
  C.typingAt = now;
  Hub.api('POST', '/api/conversations/' + c.id + '/typing', {}).catch(quiet);
}

/* ---------- sending ---------- */
export function pendingNode(clientId, body, atts) {
  const node = msgNode({ author: 'operator', operator_id: myId(), operator_name: S.me && S.me.name, body, attachments: atts, client_id: clientId, at: Date.now() }, 'pending');
  C.pending.set(clientId, node);
  $('conv-thread').appendChild(node);
  scrollThread(true);
  return node;
}
export async function postMessage(convId, clientId, body, ids) {
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
export function sendReply() {
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
export function slashToken() {
  const input = $('reply-input');
  const pos = input.selectionStart;
  if (pos == null || pos !== input.selectionEnd) return null;
  const m = /(^|\s)\/([^\s/]*)$/.exec(input.value.slice(0, pos));
  if (!m) return null;
  return { start: pos - m[2].length - 1, end: pos, prefix: m[2].toLowerCase() };
}
export function hideSuggest() { C.suggest = { items: [], index: 0, tok: null }; $('canned-suggest').replaceChildren(); Hub.show($('canned-suggest'), false); }
export function paintSuggest() {
  const list = $('canned-suggest');
  list.replaceChildren(...C.suggest.items.map((c, i) => Hub.el('li', {
    class: 'canned-item' + (i === C.suggest.index ? ' sel' : ''), role: 'option', 'aria-selected': String(i === C.suggest.index),
    'data-testid': 'canned-suggestion', 'data-shortcut': c.shortcut,
    onmousedown: (ev) => ev.preventDefault(),
    onclick: () => insertCanned(c, C.suggest.tok),
  }, Hub.el('b', null, '/' + c.shortcut), ' ', Hub.el('span', null, c.title || ''), Hub.el('div', { class: 'muted canned-body' }, c.body || ''))));
  Hub.show(list, C.suggest.items.length > 0);
}
export function updateSuggest() {
  const tok = slashToken();
  const items = tok ? C.canned.filter((c) => String(c.shortcut).toLowerCase().startsWith(tok.prefix)).slice(0, 8) : [];
  C.suggest = { items, index: 0, tok };
  paintSuggest();
}
export function insertCanned(c, tok) {
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
export const replyInput = $('reply-input');
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

export function hidePicker() { Hub.show($('canned-picker'), false); Hub.tid('reply-canned').setAttribute('aria-expanded', 'false'); }
/* The picker: every canned response (shared and my own; my own can be deleted), then a form for
   a new personal one. Only the list is repainted, so what is typed in the form stays. */
export function paintPicker() {
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
export async function cannedChanged() {
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
    const row = await addCanned({ shortcut, title: $('canned-new-title').value.trim(), body, personal: true });
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
export async function deleteCanned(c) {
  if (C.cannedBusy) return;
  C.cannedBusy = true;
  paintPicker();
  Hub.clearMessage();
  try {
    await removeCanned(c);
    Hub.say('canned.deleted', { shortcut: c.shortcut }, 'ok');
  } catch (e) { fail(e); }
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
export function fillTransferTargets() {
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
