/* The console's shared state: who is signed in, their window and ticket (S), the conversations
   (C), and the small readings of them every part uses. */
import * as Hub from './hub.js';


export const S = {
  me: null, op: null, branches: [], detail: null, queues: [], busy: false, seq: 0,
  reasons: [], skew: 0, leaving: 'shift',
};
/* Conversations: lists from /api/conversations, the open thread, helpers' data. */
export const C = {
  on: false, lists: { mine: [], offers: [], queued: [] },
  openId: null, detail: null, openSeq: 0, contactId: null,
  byId: new Map(), pending: new Map(), lastRead: 0,
  canned: [], cannedAt: 0, cannedBusy: false, operators: [], queues: [], queuesAt: 0,
  typingAt: 0, typingTimer: null, suggest: { items: [], index: 0, tok: null }, expired: new Set(),
};
export const badge = Hub.wsBadge(Hub.tid('ws-status'));

export function toLogin() { location.assign('/login?next=' + encodeURIComponent('/operator')); }
export function fail(e) {
  if (e instanceof Hub.HubError && e.status === 401) { toLogin(); return; }
  Hub.showError(e);
}
export const services = () => (S.detail ? S.detail.services : []);
export const leafServices = () => services().filter((s) => s.prefix != null)
  .sort((a, b) => (a.position - b.position) || (a.id - b.id));
export const inHand = () => (S.op && S.op.in_hand) || null;
export const hasPlace = () => !!(S.op && S.op.state && S.op.state.window_id != null);
export const presence = () => (S.op && S.op.state && S.op.state.presence) || { state: 'offline' };
/* ================= conversations ================= */
export const CHAT_FRAMES = new Set(['conversation_changed', 'message_added', 'typing']);
export const TYPING_EVERY = 2000;
export const TYPING_SHOWN = 4000;
export const myId = () => (S.me ? S.me.user_id : null);
export const isSup = () => !!(S.me && (S.me.role === 'supervisor' || S.me.role === 'admin'));
export const openConv = () => (C.detail ? C.detail.conversation : null);
export const allConvs = () => [...C.lists.offers, ...C.lists.mine, ...C.lists.queued];
export const findConv = (id) => allConvs().find((c) => c.id === id) || null;
export const contactName = (c) => (c && c.contact && (c.contact.name || ('#' + c.contact.id))) || '';
export const presState = (p) => (p && typeof p === 'object' ? p.state : p) || 'offline';
