/* /operator: the unified operator window: visits at a window (ticket in hand) and conversations
   (web chat, Telegram, e-mail, phone). Live via /ws/operator: visit events re-read the operator's
   state; conversation events update the list, the open thread and the typing indicator.
   ES modules: this entry signs in and starts the parts: the window (operator-window.js), the
   conversations (operator-chats.js), replying (operator-reply.js) and the contact card
   (operator-card.js), over the shared state (operator-state.js). */
import * as Hub from './hub.js';
import { chatFrame, chatResync, refreshChat, startChat } from './operator-chats.js';
import { C, CHAT_FRAMES, S, badge, fail, toLogin } from './operator-state.js';
import { fillBranches, loadBranch, loadOp, loadReasons, refresh, refreshSoon, render } from './operator-window.js';

const $ = (id) => document.getElementById(id);

/* Signs in and opens the page's parts. */
async function boot() {
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
}
boot();
