/* Chat queues (the remote channels' lines: web chat, calls, mail, Telegram) with their routing
   rules, and the organisation's canned replies. */
import * as Hub from './hub.js';
import { addCanned, listCanned, removeCanned } from './canned.js';
import { $, arr, fail, branchName, branchOptions, onBranches, onSubmit, clearFieldErrors, removeButton, stepsEditor } from './admin-kit.js';

export const Q = { queues: [], canned: [], editing: null };
const watchers = [];
/* Other sections (bots, mailboxes, numbers, skills) list the queues too. */
export function onQueues(fn) { watchers.push(fn); }

export async function loadQueues() {
  Q.queues = arr(await Hub.api('GET', '/api/admin/chat-queues'));
  renderQueues();
  watchers.forEach((fn) => fn(Q.queues));
}
export async function loadCanned() {
  Q.canned = await listCanned(true);
  renderCanned();
}
export async function load() { await Promise.all([loadQueues(), loadCanned()]); }

function renderQueues() {
  $('queues').replaceChildren(...Q.queues.map((q) => Hub.el('tr', { 'data-testid': 'queue-row', 'data-queue-id': String(q.id) },
    Hub.el('td', null, q.name),
    Hub.el('td', null, branchName(q.branch_id)),
    Hub.el('td', null, Hub.t('adm.strategy.' + q.strategy)),
    Hub.el('td', { class: 'num' }, String(q.offer_secs)),
    Hub.el('td', { class: 'mono' }, q.widget_key || '—'),
    Hub.el('td', { class: 'row-actions' }, Hub.el('button', { type: 'button', class: 'btn', 'data-testid': 'queue-routing', onclick: () => editRouting(q) },
      Hub.t('adm.routing'))))));
  Hub.show($('queues-none'), !Q.queues.length);
  if (Q.editing) Hub.setText($('routing-h'), Hub.t('adm.routingOf', { name: Q.editing.name }));
}

function editRouting(q) {
  Q.editing = q;
  const form = $('routing-form');
  clearFieldErrors(form);
  $('rt-strategy').value = q.strategy;
  $('rt-offer').value = String(q.offer_secs);
  $('rt-missed').value = String(q.missed_limit);
  Q.steps = stepsEditor(q.steps, 'rt-steps-err');
  $('rt-steps').replaceChildren(Q.steps.list);
  Hub.setText($('routing-h'), Hub.t('adm.routingOf', { name: q.name }));
  Hub.show(form, true);
  $('rt-strategy').focus();
}

function renderCanned() {
  $('canned').replaceChildren(...Q.canned.map((c) => Hub.el('tr', { 'data-testid': 'canned-row' },
    Hub.el('td', { class: 'mono' }, '/' + c.shortcut), Hub.el('td', null, c.title), Hub.el('td', { class: 'canned-text' }, c.body),
    Hub.el('td', null, removeButton('adm.remove', async () => {
      try { await removeCanned(c); Hub.say('adm.cannedRemoved', { shortcut: c.shortcut }, 'ok'); await loadCanned(); } catch (e) { fail(e); }
    })))));
}

export function render() { renderQueues(); renderCanned(); }

export function init() {
  onBranches(() => { branchOptions($('q-branch')); renderQueues(); });
  $('q-branch').dataset.id = '';
  onSubmit($('queue-form'), async (body) => {
    const branch = body.branch_id;
    delete body.branch_id;
    const q = await Hub.api('POST', '/api/admin/branches/' + branch + '/chat-queues', body);
    $('queue-form').reset();
    Hub.say('adm.queueAdded', { name: q.name }, 'ok');
    await loadQueues();
  });
  onSubmit($('routing-form'), async (body) => {
    const q = Q.editing;
    await Hub.api('PUT', '/api/admin/services/' + q.id + '/routing', Object.assign({ steps: Q.steps.read() }, body));
    Q.editing = null;
    Hub.show($('routing-form'), false);
    Hub.say('adm.saved', null, 'ok');
    await loadQueues();
  });
  $('rt-cancel').addEventListener('click', () => { Q.editing = null; Hub.show($('routing-form'), false); });
  $('rt-step-add').addEventListener('click', () => Q.steps.add());
  onSubmit($('canned-form'), async (body) => {
    await addCanned(Object.assign({ personal: false }, body));
    $('canned-form').reset();
    Hub.say('adm.cannedAdded', { shortcut: body.shortcut || '' }, 'ok');
    await loadCanned();
  });
}
