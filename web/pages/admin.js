/* /admin: the back office (admin role), as ES modules: one per section, sharing admin-kit.js.
   Branches (week, holidays, rules), services and windows, devices (pairing by the code a screen
   shows, templates), users (roles, branches, skills), chat queues and canned replies, Telegram
   bots and mailboxes, telephony, the service desk's set-up, break reasons, and the audit log of
   every change. Lists filter as
   one types; a form's wrong field is named by the server and said beside it. */
import * as Hub from './hub.js';
import { $, S, fail, toLogin, loadBranches } from './admin-kit.js';
import * as branches from './admin-branches.js';
import * as regions from './admin-regions.js';
import * as layout from './admin-layout.js';
import * as devices from './admin-devices.js';
import * as users from './admin-users.js';
import * as chats from './admin-chats.js';
import * as channels from './admin-channels.js';
import * as phones from './admin-phones.js';
import * as breaks from './admin-breaks.js';
import * as desk from './admin-desk.js';
import * as audit from './admin-audit.js';

const TABS = ['branches', 'branch', 'devices', 'users', 'chats', 'channels', 'phones', 'desk', 'breaks', 'audit'];

function tab(name) {
  if (!TABS.includes(name)) name = 'branch';
  document.querySelectorAll('[data-tab]').forEach((b) => b.setAttribute('aria-selected', String(b.dataset.tab === name)));
  document.querySelectorAll('.tab-panel').forEach((p) => Hub.show(p, p.id === 'panel-' + name));
  if (name === 'audit') audit.loadAudit(true);
  if (name === 'desk') desk.loadDesk().catch(fail);
  if (location.hash !== '#' + name) history.replaceState(null, '', '#' + name);
}

/* Signs in and opens the page's parts. */
async function boot() {
  document.querySelectorAll('[data-tab]').forEach((b) => b.addEventListener('click', () => tab(b.dataset.tab)));
  [branches, regions, layout, devices, users, chats, channels, phones, desk, breaks, audit].forEach((m) => m.init());
  Hub.onLang(() => {
    branches.render(); regions.render(); layout.render(); devices.renderDevices(); devices.renderPhrases(); users.renderUsers();
    chats.render(); channels.render(); phones.render(); desk.render(); audit.renderAudit();
  });
  try {
    S.me = await Hub.api('GET', '/api/me');
  } catch (e) {
    if (e.status === 401) { toLogin(); return; }
    Hub.showError(e); return;
  }
  if (!S.me || S.me.type !== 'user' || S.me.role !== 'admin') { Hub.say('adm.notAdmin', null, 'error'); return; }
  Hub.setDefaultLang(S.me.lang);
  Hub.setText($('who'), S.me.name);
  try {
    await loadBranches();
    await regions.loadRegions();
    branches.start();
    await chats.loadQueues();
    await Promise.all([devices.loadDevices(), users.loadUsers(), breaks.loadBreaks(), chats.loadCanned(), channels.load(), phones.load()]);
  } catch (e) { fail(e); return; }
  tab(location.hash.slice(1) || 'branch');
  $('admin').dataset.ready = '1';
}
boot();
