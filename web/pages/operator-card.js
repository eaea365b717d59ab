/* The customer's card beside the thread: identities, history, edits and merging. */
import * as Hub from './hub.js';
import { openConversation, refreshChat, renderChatQueues, renderConvs, renderOpenHead, renderThread } from './operator-chats.js';
import { fillTransferTargets } from './operator-reply.js';
import { C, fail, openConv } from './operator-state.js';

const $ = (id) => document.getElementById(id);

/* ---------- contact card ---------- */
export const KIND_ICON = { web: 'webchat', phone: 'phone', telegram: 'telegram', email: 'email' };
export function renderContact(card) {
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
export function fillContactForm(card) {
  $('contact-edit-name').value = card.name || '';
  $('contact-edit-email').value = card.email || '';
  $('contact-edit-phone').value = card.phone || '';
  $('contact-edit-note').value = card.note || '';
  $('contact-merge-id').value = '';
}
export function afterCard(card, msgKey) {
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
