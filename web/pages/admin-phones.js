/* Telephony: the numbers callers dial (greeting, menu of keys to queues), trunks to a provider,
   operators' desk-phone accounts, and VIP callers whose calls wait ahead. */
import * as Hub from './hub.js';
import { $, arr, fail, onSubmit, queueOptions, removeButton } from './admin-kit.js';
import { Q, onQueues } from './admin-chats.js';

const P = { numbers: [], trunks: [], accounts: [], vips: [], users: [] };
const queueName = (id) => { const q = Q.queues.find((x) => x.id === id); return q ? q.name : '#' + id; };

async function get(path) { return arr(await Hub.api('GET', path)); }
async function loadNumbers() { P.numbers = await get('/api/admin/sip/numbers'); renderNumbers(); }
async function loadTrunks() { P.trunks = await get('/api/admin/sip/trunks'); renderTrunks(); }
async function loadAccounts() { P.accounts = await get('/api/admin/sip/accounts'); renderAccounts(); }
async function loadVips() { P.vips = await get('/api/admin/sip/vip'); renderVips(); }
export async function load() {
  P.users = await get('/api/admin/users');
  await Promise.all([loadNumbers(), loadTrunks(), loadAccounts(), loadVips()]);
}

const choicesOf = (n) => { try { return typeof n.choices === 'string' ? JSON.parse(n.choices) : (n.choices || {}); } catch (_) { return {}; } };

function renderNumbers() {
  $('numbers').replaceChildren(...P.numbers.map((n) => Hub.el('tr', { 'data-testid': 'number-row' },
    Hub.el('td', { class: 'mono' }, n.number),
    Hub.el('td', null, n.greeting),
    Hub.el('td', null, Object.entries(choicesOf(n)).map(([k, q]) => k + ' → ' + queueName(q)).join(', ') || '—',
      Hub.el('div', { class: 'muted' }, Hub.t('adm.otherwise', { queue: queueName(n.default_service_id) }))),
    Hub.el('td', null, n.trunk_id == null ? Hub.t('adm.noTrunk') : trunkName(n.trunk_id)))));
}
const trunkName = (id) => { const t = P.trunks.find((x) => x.id === id); return t ? t.name : '#' + id; };

function trunkState(t) {
  const st = t.status;
  if (!st) return Hub.t(t.register ? 'adm.trunkUnknown' : 'adm.trunk.static');
  return Hub.t('adm.trunk.' + st.state);
}
function renderTrunks() {
  $('trunks').replaceChildren(...P.trunks.map((t) => Hub.el('tr', { 'data-testid': 'trunk-row' },
    Hub.el('td', null, t.name), Hub.el('td', { class: 'mono' }, t.domain), Hub.el('td', null, trunkState(t)),
    Hub.el('td', null, removeButton('adm.remove', async () => {
      try { await Hub.api('DELETE', '/api/admin/sip/trunks/' + t.id); Hub.say('adm.trunkRemoved', { name: t.name }, 'ok'); await loadTrunks(); } catch (e) { fail(e); }
    })))));
  Hub.show($('trunks-none'), !P.trunks.length);
  const keep = $('nm-trunk').value;
  $('nm-trunk').replaceChildren(Hub.el('option', { value: '' }, Hub.t('adm.noTrunk')),
    ...P.trunks.map((t) => Hub.el('option', { value: String(t.id) }, t.name)));
  $('nm-trunk').dataset.id = '';
  if ([...$('nm-trunk').options].some((o) => o.value === keep)) $('nm-trunk').value = keep;
}

const userName = (id) => { const u = P.users.find((x) => x.id === id); return u ? u.name : '#' + id; };
function renderAccounts() {
  $('accounts').replaceChildren(...P.accounts.map((a) => Hub.el('tr', { 'data-testid': 'account-row' },
    Hub.el('td', null, userName(a.user_id)), Hub.el('td', { class: 'mono' }, a.username),
    Hub.el('td', null, Hub.t(a.registered ? 'adm.phoneOn' : 'adm.phoneOff')),
    Hub.el('td', null, removeButton('adm.remove', async () => {
      try { await Hub.api('DELETE', '/api/admin/sip/accounts/' + a.user_id); Hub.say('adm.accountRemoved', { name: userName(a.user_id) }, 'ok'); await loadAccounts(); } catch (e) { fail(e); }
    })))));
  const keep = $('ac-user').value;
  $('ac-user').replaceChildren(...P.users.filter((u) => !u.disabled).map((u) => Hub.el('option', { value: String(u.id) }, u.name)));
  if ([...$('ac-user').options].some((o) => o.value === keep)) $('ac-user').value = keep;
}

function renderVips() {
  $('vips').replaceChildren(...P.vips.map((v) => Hub.el('tr', { 'data-testid': 'vip-row' },
    Hub.el('td', { class: 'mono' }, v.number), Hub.el('td', { class: 'num' }, String(v.priority)), Hub.el('td', null, v.note || ''),
    Hub.el('td', null, removeButton('adm.remove', async () => {
      try { await Hub.api('DELETE', '/api/admin/sip/vip/' + encodeURIComponent(v.number)); await loadVips(); } catch (e) { fail(e); }
    })))));
  Hub.show($('vips-none'), !P.vips.length);
}

/* The menu's rows: a key and the queue it leads to. */
function choiceRow(key, queue) {
  const k = Hub.el('input', { type: 'text', maxlength: '1', value: key || '', class: 'key-input', 'data-testid': 'nm-choice-key', 'aria-label': Hub.t('adm.key') });
  const q = Hub.el('select', { 'data-testid': 'nm-choice-queue', 'aria-label': Hub.t('adm.queue') });
  queueOptions(q, Q.queues);
  if (queue) q.value = String(queue);
  const row = Hub.el('div', { class: 'row choice-row' }, k, q, removeButton('adm.remove', () => row.remove()));
  return row;
}

export function render() { renderNumbers(); renderTrunks(); renderAccounts(); renderVips(); }

export function init() {
  onQueues((queues) => { queueOptions($('nm-queue'), queues); renderNumbers(); });
  $('ac-user').dataset.id = '';
  $('nm-choice-add').addEventListener('click', () => $('nm-choices').appendChild(choiceRow()));
  onSubmit($('number-form'), async (body) => {
    const choices = {};
    $('nm-choices').querySelectorAll('.choice-row').forEach((r) => {
      const key = r.querySelector('[data-testid="nm-choice-key"]').value.trim();
      if (key) choices[key] = Number(r.querySelector('[data-testid="nm-choice-queue"]').value);
    });
    body.choices = choices;
    await Hub.api('POST', '/api/admin/sip/numbers', body);
    $('number-form').reset();
    $('nm-choices').replaceChildren();
    Hub.say('adm.numberAdded', { number: body.number }, 'ok');
    await loadNumbers();
  });
  onSubmit($('trunk-form'), async (body) => {
    body.proxies = String(body.proxies || '').split(/[\s,]+/).filter(Boolean);
    await Hub.api('POST', '/api/admin/sip/trunks', body);
    $('trunk-form').reset();
    Hub.say('adm.trunkAdded', { name: body.name }, 'ok');
    await loadTrunks();
  });
  onSubmit($('account-form'), async (body) => {
    const user = body.user_id;
    delete body.user_id;
    await Hub.api('PUT', '/api/admin/sip/accounts/' + user, body);
    $('account-form').reset();
    Hub.say('adm.accountSet', { name: userName(Number(user)) }, 'ok');
    await loadAccounts();
  });
  onSubmit($('vip-form'), async (body) => {
    await Hub.api('PUT', '/api/admin/sip/vip', body);
    $('vip-form').reset();
    Hub.say('adm.vipAdded', null, 'ok');
    await loadVips();
  });
}
