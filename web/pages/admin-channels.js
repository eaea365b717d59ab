/* Telegram bots and mailboxes: connect one to a chat queue, pause and resume it, see what went
   wrong. Tokens and mailbox passwords go to the server once and are kept encrypted; nothing of
   them comes back. */
import * as Hub from './hub.js';
import { $, arr, fail, onSubmit, queueOptions } from './admin-kit.js';
import { Q, onQueues } from './admin-chats.js';

const C = { bots: [], mailboxes: [] };
const queueName = (id) => { const q = Q.queues.find((x) => x.id === id); return q ? q.name : '#' + id; };
const pill = (on, onKey, offKey) => Hub.el('span', { class: 'pill', 'data-status': on ? 'on' : 'off' }, Hub.t(on ? onKey : offKey));

async function loadBots() { C.bots = arr(await Hub.api('GET', '/api/admin/telegram/bots')); renderBots(); }
async function loadMailboxes() { C.mailboxes = arr(await Hub.api('GET', '/api/admin/mailboxes')); renderMailboxes(); }
export async function load() { await Promise.all([loadBots(), loadMailboxes()]); }

async function toggle(path, enabled, reload) {
  try { await Hub.api('PATCH', path, { enabled }); Hub.say(enabled ? 'adm.resumed' : 'adm.paused', null, 'ok'); await reload(); } catch (e) { fail(e); }
}

function renderBots() {
  $('bots').replaceChildren(...C.bots.map((b) => Hub.el('tr', { 'data-testid': 'bot-row', 'data-bot-id': String(b.id) },
    Hub.el('td', null, b.username ? '@' + b.username : Hub.t('adm.botUnknown')),
    Hub.el('td', null, queueName(b.service_id)),
    Hub.el('td', null, Hub.t('adm.mode.' + b.mode)),
    Hub.el('td', null, pill(b.enabled, 'adm.working', 'adm.pausedState')),
    Hub.el('td', { class: 'row-actions' }, Hub.el('button', { type: 'button', class: 'btn ghost', 'data-testid': 'bot-toggle',
      onclick: () => toggle('/api/admin/telegram/bots/' + b.id, !b.enabled, loadBots) }, Hub.t(b.enabled ? 'adm.pause' : 'adm.resume'))))));
  Hub.show($('bots-none'), !C.bots.length);
}

function mailboxStatus(m) {
  if (!m.enabled) return pill(false, 'adm.working', 'adm.pausedState');
  if (m.last_error) return Hub.el('span', { class: 'pill', 'data-status': 'off', title: m.last_error }, Hub.t('adm.mailError'));
  return pill(true, 'adm.working', 'adm.pausedState');
}

function renderMailboxes() {
  $('mailboxes').replaceChildren(...C.mailboxes.map((m) => Hub.el('tr', { 'data-testid': 'mailbox-row', 'data-mailbox-id': String(m.id) },
    Hub.el('td', null, m.address, m.name ? Hub.el('span', { class: 'muted' }, ' · ' + m.name) : null),
    Hub.el('td', null, queueName(m.service_id)),
    Hub.el('td', null, mailboxStatus(m)),
    Hub.el('td', { class: 'row-actions' }, Hub.el('button', { type: 'button', class: 'btn ghost', 'data-testid': 'mailbox-toggle',
      onclick: () => toggle('/api/admin/mailboxes/' + m.id, !m.enabled, loadMailboxes) }, Hub.t(m.enabled ? 'adm.pause' : 'adm.resume'))))));
  Hub.show($('mailboxes-none'), !C.mailboxes.length);
}

export function render() { renderBots(); renderMailboxes(); }

export function init() {
  onQueues((queues) => {
    queueOptions($('bot-queue'), queues);
    queueOptions($('mb-queue'), queues);
    render();
  });
  const secretBox = $('bot-secret').closest('.field');
  const mode = () => Hub.show(secretBox, $('bot-mode').value === 'webhook');
  $('bot-mode').addEventListener('change', mode);
  mode();
  onSubmit($('bot-form'), async (body) => {
    if (body.mode !== 'webhook') delete body.webhook_secret;
    await Hub.api('POST', '/api/admin/telegram/bots', body);
    $('bot-form').reset();
    mode();
    Hub.say('adm.botAdded', null, 'ok');
    await loadBots();
  });
  onSubmit($('mailbox-form'), async (body) => {
    const m = await Hub.api('POST', '/api/admin/mailboxes', body);
    $('mailbox-form').reset();
    Hub.say('adm.mailboxAdded', { address: m.address }, 'ok');
    await loadMailboxes();
  });
}
