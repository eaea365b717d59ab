/* The request card: its facts, every clock (business time left and the calendar moment it runs
   out), the moves the caller may make as buttons, its fields, checklist, the thread across
   channels with a reply box, the work log and the history with private notes. */
import * as Hub from './hub.js';
import { alertText } from './vehicle-alert.js';
import { D, S, clockName, counterpartyName, fmtLeft, groupName, hooks, personName, policyName, siteName, statusName, typeName } from './desk-state.js';

const PRIORITIES = ['low', 'normal', 'high', 'critical'];
const IMPACTS = ['low', 'medium', 'high'];

const $ = (id) => document.getElementById(id);

/* The calendar moment, with the day when it is not today. */
function when(ms) { return ms == null ? '—' : Hub.fmtTime(ms); }

function renderTimers(c) {
  const rows = c.timers.map((x) => Hub.el('tr', {
    'data-testid': 'card-timer', 'data-track': x.track, 'data-clock': x.clock,
    'data-breached': x.breached ? '1' : '0', 'data-running': x.running ? '1' : '0', 'data-target': String(x.target_secs),
  },
  Hub.el('td', null, clockName(x)),
  Hub.el('td', { class: 'n mono' + (x.breached ? ' warn-text' : ''), 'data-testid': 'card-timer-left' }, fmtLeft(x.left_secs),
    Hub.el('span', { class: 'muted' }, ' / ' + Hub.fmtDur(x.target_secs))),
  Hub.el('td', null, x.stopped_at != null ? when(x.stopped_at) : when(x.due_at)),
  Hub.el('td', { 'data-testid': 'card-timer-state' }, Hub.t(x.stopped_at != null
    ? (x.breached ? 'desk.stoppedLate' : 'desk.stoppedMet')
    : (x.breached ? 'desk.breached' : (x.running ? 'desk.running' : 'desk.paused'))))));
  $('card-timers').replaceChildren(...rows);
  Hub.show($('card-no-timers'), rows.length === 0);
}

function renderMoves(c) {
  const r = c.request;
  $('card-moves').replaceChildren(...c.moves.map((m) => Hub.el('button', {
    type: 'button', class: 'btn', 'data-testid': 'card-move', 'data-to': m.to,
    title: needs(m.requires), onclick: () => move(r.id, m.to),
  }, statusName(r.type_id, m.to))));
}

/* What a move asks for, as its button's hint. */
function needs(q) {
  const parts = [];
  if (q.comment) parts.push(Hub.t('desk.needsComment'));
  if (q.checklist) parts.push(Hub.t('desk.needsChecklist'));
  if (q.fields && q.fields.length) parts.push(Hub.t('desk.needsFields', { fields: q.fields.join(', ') }));
  if (q.approval_by && q.approval_by.length) parts.push(Hub.t('desk.needsApproval', { people: q.approval_by.map(personName).join(', ') }));
  return parts.join('; ');
}

function renderFields(c) {
  const r = c.request;
  const t = D.types.find((x) => x.id === r.type_id);
  const values = JSON.parse(r.fields || '{}');
  const names = [...new Set([...(t ? t.fields : []), ...Object.keys(values)])];
  const form = $('fields-form');
  form.replaceChildren(...names.map((n) => Hub.el('label', null, Hub.el('span', null, n), ' ',
    Hub.el('input', { type: 'text', name: n, 'data-testid': 'card-field', 'data-field': n, value: values[n] == null ? '' : String(values[n]), maxlength: '2000' }))),
  names.length ? Hub.el('button', { type: 'submit', class: 'btn', 'data-testid': 'card-fields-save' }, Hub.t('desk.saveFields')) : Hub.el('p', { class: 'muted' }, Hub.t('desk.noFields')));
}

function renderChecklist(c) {
  const items = JSON.parse(c.request.checklist || '[]');
  $('card-checklist').replaceChildren(...items.map((it, i) => Hub.el('li', null, Hub.el('label', { class: 'check' },
    Hub.el('input', {
      type: 'checkbox', checked: it.done, 'data-testid': 'card-check', 'data-index': i,
      onchange: (e) => tick(c.request.id, i, e.target.checked),
    }), ' ', it.text))));
  if (!items.length) $('card-checklist').append(Hub.el('li', { class: 'muted' }, Hub.t('desk.noChecklist')));
}

function renderThread(c) {
  const box = $('card-thread');
  const parts = [];
  for (const th of c.threads) {
    parts.push(Hub.el('p', { class: 'muted desk-thread-head' }, Hub.channelIcon(th.channel), ' ',
      Hub.t('desk.threadOf', { id: th.conversation_id })));
    for (const m of th.messages) {
      parts.push(Hub.el('div', {
        class: 'conv-msg ' + m.author, 'data-testid': 'card-message', 'data-author': m.author, 'data-message-id': m.id,
      }, Hub.el('div', { class: 'conv-body' }, m.body),
      Hub.el('div', { class: 'conv-meta muted' }, (m.author === 'operator' ? (m.operator_name || '') : '') + ' ' + Hub.fmtTime(m.at))));
    }
  }
  box.replaceChildren(...parts);
  if (!c.threads.length) box.append(Hub.el('p', { class: 'muted' }, Hub.t('desk.noThread')));
  const mine = c.request.assignee_id === S.me.user_id || S.supervisor;
  Hub.show($('reply-form'), c.threads.length > 0 && mine);
}

/* The latest field visit: on the way (and what the customer was told), on site, or done. */
function renderVisit(c) {
  const v = (c.visits || [])[0];
  const under = v && v.ended_at == null;
  let text;
  if (!v) text = Hub.t('desk.visitNone');
  else if (v.left_at != null) text = Hub.t('desk.visitDone', { from: Hub.fmtClock(v.arrived_at), to: Hub.fmtClock(v.left_at), n: Math.round((v.left_at - v.arrived_at) / 60000) });
  else if (v.arrived_at != null) text = Hub.t('desk.visitOnSite', { at: Hub.fmtClock(v.arrived_at) });
  else if (under) text = v.eta_told != null ? Hub.t('desk.visitTold', { since: Hub.fmtClock(v.started_at), eta: Hub.fmtClock(v.eta_told) }) : Hub.t('desk.visitOnWay', { since: Hub.fmtClock(v.started_at) });
  else text = Hub.t('desk.visitOff', { at: Hub.fmtTime(v.ended_at) });
  const line = $('card-visit');
  Hub.setText(line, text);
  line.dataset.state = !v ? 'none' : v.left_at != null ? 'done' : v.arrived_at != null ? 'on_site' : under ? 'on_way' : 'off';
  const mine = c.request.assignee_id === S.me.user_id || S.supervisor;
  Hub.show($('visit-start'), mine && !under && c.request.status_kind !== 'closed');
  Hub.show($('visit-end'), mine && under);
}

function renderWorkLog(c) {
  $('card-worklog').replaceChildren(...c.work_logs.map((w) => Hub.el('tr', { 'data-testid': 'card-worklog-item' },
    Hub.el('td', null, Hub.fmtTime(w.at)), Hub.el('td', null, personName(w.user_id)),
    Hub.el('td', { class: 'n' }, Hub.t('desk.mins', { n: w.minutes })), Hub.el('td', null, w.activity),
    Hub.el('td', null, w.billable ? Hub.t('desk.billable') : ''), Hub.el('td', null, w.note))));
  const sp = c.spent;
  const parts = Object.entries(sp.statuses).map(([k, secs]) => statusName(c.request.type_id, k) + ' ' + Hub.fmtDur(secs));
  Hub.setText($('card-spent'), parts.length ? Hub.t('desk.spent', { parts: parts.join(', ') }) : '');
  // Supervisors only: the server sends no cost to others.
  const cost = c.cost || { cents: 0, unpriced_mins: 0 };
  const priced = cost.cents ? Hub.t('desk.cost', { amount: Hub.fmtMoney(cost.cents) }) : '';
  const unpriced = cost.unpriced_mins ? Hub.t('desk.unpriced', { n: cost.unpriced_mins }) : '';
  const costLine = $('card-cost');
  Hub.setText(costLine, [priced, unpriced].filter(Boolean).join(' · '));
  costLine.dataset.cents = String(cost.cents);
}

/* One history line in words. */
function historyText(e, typeId) {
  const d = e.data || {};
  switch (e.kind) {
    case 'status': return Hub.t(d.cause === 'customer_reply' ? 'desk.h.statusReply' : 'desk.h.status', { status: statusName(typeId, d.status) });
    case 'group': return Hub.t('desk.h.group', { group: groupName(d.group_id), why: Hub.t('desk.why.' + (d.why || 'routing')) });
    case 'assignee': return d.user_id ? Hub.t('desk.h.assignee', { who: personName(d.user_id) }) : Hub.t('desk.h.unassigned');
    case 'comment': return Hub.t('desk.h.note', { text: d.text || '' }) + (d.mentions && d.mentions.length
      ? ' — ' + Hub.t('desk.h.told', { who: d.mentions.map(personName).join(', ') }) : '');
    case 'field': return Hub.t('desk.h.field', { field: d.field, value: d.value == null ? '—' : String(d.value) });
    case 'checklist': return Hub.t(d.done ? 'desk.h.checked' : 'desk.h.unchecked', { item: d.item || '' });
    case 'approval': return Hub.t('desk.h.approval', { status: statusName(typeId, d.status) });
    case 'alarm': return Hub.t(d.share >= 100 ? 'desk.h.breach' : 'desk.h.warning', { clock: clockName(d), share: d.share });
    // By nobody: a workflow's step raised it.
    case 'priority': return Hub.t(e.by_user ? 'desk.h.prioritySet' : 'desk.h.priority', { priority: Hub.t('desk.prio.' + d.priority) });
    case 'impact': return Hub.t('desk.h.impact', { impact: Hub.t('desk.imp.' + d.impact) });
    case 'policy': return d.from ? Hub.t('desk.h.policySwap', { policy: policyName(d.policy_id) }) : Hub.t('desk.h.policy');
    case 'child': return Hub.t('desk.h.child', { id: d.request_id });
    case 'labels': return Hub.t('desk.h.labels', { labels: (d.labels || []).join(', ') || '—' });
    case 'vehicle': return alertText(d, d.vehicle || '', d.territory || '');
    case 'notice': return Hub.t(d.conversation_id ? 'desk.h.notice' : 'desk.h.noticeNowhere', { text: d.text || '' });
    default: return e.kind;
  }
}

function renderHistory(c) {
  $('card-history').replaceChildren(...c.events.slice().reverse().map((e) => Hub.el('li', {
    'data-testid': 'card-event', 'data-kind': e.kind, class: e.kind === 'comment' ? 'note' : '',
  }, Hub.el('span', { class: 'muted' }, Hub.fmtTime(e.at) + (e.by_user ? ' · ' + personName(e.by_user) : '') + ' '),
  historyText(e, c.request.type_id))));
}

function renderLabels(c) {
  $('card-labels').replaceChildren(...c.labels.map((l) => Hub.el('span', { class: 'chip desk-label', 'data-testid': 'card-label' }, l,
    Hub.el('button', {
      type: 'button', class: 'linkish', 'data-testid': 'card-label-remove', 'aria-label': Hub.t('desk.labelRemove', { label: l }),
      onclick: () => setLabels(c.labels.filter((x) => x !== l)),
    }, '×'))));
}

function setLabels(labels) { return act(() => Hub.api('PUT', '/api/desk/requests/' + S.openId + '/labels', { labels })); }

function render() {
  const c = S.card;
  if (!c) return;
  const r = c.request;
  const card = $('card');
  card.dataset.requestId = r.id;
  Hub.setText($('card-id'), '#' + r.id);
  Hub.setText($('card-subject'), r.subject);
  const st = $('card-status');
  st.dataset.status = r.status; st.dataset.statusKind = r.status_kind;
  Hub.setText(st, statusName(r.type_id, r.status));
  Hub.setText($('card-type'), typeName(r.type_id));
  const pr = $('card-priority'); pr.dataset.priority = r.priority; Hub.setText(pr, Hub.t('desk.prio.' + r.priority));
  Hub.setText($('card-group'), r.group_id ? groupName(r.group_id) : '—');
  $('card-group').dataset.groupId = r.group_id || '';
  Hub.setText($('card-assignee'), r.assignee_id ? personName(r.assignee_id) : '—');
  $('card-assignee').dataset.userId = r.assignee_id || '';
  Hub.setText($('card-counterparty'), counterpartyName(r.counterparty_id) || '—');
  Hub.setText($('card-site'), siteName(r.site_id) || '—');
  Hub.setText($('card-category'), r.category || '—');
  Hub.setText($('card-created'), Hub.fmtTime(r.created_at));
  const closed = r.status_kind === 'closed';
  // Its engineer or a supervisor sets them; the SLA follows.
  const levels = !closed && (r.assignee_id === S.me.user_id || S.supervisor);
  for (const [id, list, key, value] of [['card-priority-set', PRIORITIES, 'desk.prio.', r.priority], ['card-impact-set', IMPACTS, 'desk.imp.', r.impact]]) {
    const sel = $(id);
    sel.replaceChildren(...list.map((v) => Hub.el('option', { value: v }, Hub.t(key + v))));
    sel.value = value;
    sel.disabled = !levels;
  }
  Hub.show($('card-take'), !closed && r.assignee_id !== S.me.user_id);
  Hub.show($('card-release'), !closed && r.assignee_id === S.me.user_id);
  Hub.show($('card-escalate'), !closed && S.supervisor);
  renderLabels(c); renderTimers(c); renderMoves(c); renderFields(c); renderChecklist(c); renderThread(c); renderVisit(c); renderWorkLog(c); renderHistory(c);
  card.dataset.ready = '1';
}

export async function openCard(id) {
  S.openId = id;
  for (const li of document.querySelectorAll('[data-testid="request-item"]')) li.classList.toggle('open', Number(li.dataset.requestId) === id);
  $('panel-requests').dataset.view = 'card';
  Hub.show($('card'), true);
  $('card').dataset.ready = '0';
  await refreshCard();
}

export async function refreshCard() {
  const id = S.openId;
  if (!id) return;
  try {
    const c = await Hub.api('GET', '/api/desk/requests/' + id);
    if (S.openId !== id) return;
    S.card = c;
    render();
  } catch (e) { Hub.showError(e); }
}

/* Runs an action on the open request, then reads it (and the list) again. */
// A field is emptied after its send only if it still holds what was sent: a person who typed the
// next entry while the answer was on its way keeps it.
function clearSent(id, sent) { if ($(id).value.trim() === sent) $(id).value = ''; }

async function act(fn) {
  try { await fn(); Hub.clearMessage(); } catch (e) { Hub.showError(e); }
  await refreshCard();
  hooks.reloadList();
}

function move(id, to) {
  const comment = $('move-comment').value.trim();
  return act(async () => {
    await Hub.api('POST', '/api/desk/requests/' + id + '/move', comment ? { to, comment } : { to });
    clearSent('move-comment', comment);
  });
}

function tick(id, index, done) { return act(() => Hub.api('POST', '/api/desk/requests/' + id + '/checklist', { index, done })); }

function setLevels(body) { return act(() => Hub.api('PATCH', '/api/desk/requests/' + S.openId, body)); }

function assign(userId) { return act(() => Hub.api('POST', '/api/desk/requests/' + S.openId + '/assign', { user_id: userId })); }

function wire() {
  $('card-take').addEventListener('click', () => assign(S.me.user_id));
  $('card-release').addEventListener('click', () => assign(null));
  $('card-escalate').addEventListener('click', () => act(() => Hub.api('POST', '/api/desk/requests/' + S.openId + '/escalate')));
  $('card-back').addEventListener('click', () => { $('panel-requests').dataset.view = 'list'; });
  $('card-priority-set').addEventListener('change', (e) => setLevels({ priority: e.target.value }));
  $('card-impact-set').addEventListener('change', (e) => setLevels({ impact: e.target.value }));
  $('fields-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const values = JSON.parse(S.card.request.fields || '{}');
    const fields = {};
    for (const inp of e.target.querySelectorAll('input[data-field]')) {
      const was = values[inp.dataset.field] == null ? '' : String(values[inp.dataset.field]);
      if (inp.value !== was) fields[inp.dataset.field] = inp.value;
    }
    if (Object.keys(fields).length) act(() => Hub.api('PATCH', '/api/desk/requests/' + S.openId + '/fields', { fields }));
  });
  $('label-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const l = $('label-new').value.trim();
    if (!l) return;
    setLabels([...S.card.labels, l]).then(() => clearSent('label-new', l));
  });
  $('reply-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const body = $('reply-text').value.trim();
    if (!body) return;
    act(async () => {
      await Hub.api('POST', '/api/desk/requests/' + S.openId + '/reply', { body, client_id: Hub.uuid() });
      clearSent('reply-text', body);
    });
  });
  $('visit-start').addEventListener('click', () => act(() => Hub.api('POST', '/api/desk/requests/' + S.openId + '/visit')));
  $('visit-end').addEventListener('click', () => act(() => Hub.api('DELETE', '/api/desk/requests/' + S.openId + '/visit')));
  $('worklog-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const minutes = $('wl-minutes').value.trim(), note = $('wl-note').value.trim();
    act(async () => {
      await Hub.api('POST', '/api/desk/requests/' + S.openId + '/work-logs', {
        minutes: Number(minutes), activity: $('wl-activity').value.trim(), billable: $('wl-billable').checked, note,
      });
      clearSent('wl-minutes', minutes); clearSent('wl-note', note);
    });
  });
  $('note-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const text = $('note-text').value.trim();
    if (!text) return;
    act(async () => {
      await Hub.api('POST', '/api/desk/requests/' + S.openId + '/notes', { text });
      clearSent('note-text', text);
    });
  });
  // "@an" in a note offers the colleagues whose login or name starts so; a click completes it.
  $('note-text').addEventListener('input', () => {
    const box = $('note-text');
    const before = box.value.slice(0, box.selectionStart);
    const m = /(^|[\s(«])@([\p{L}\p{N}._-]*)$/u.exec(before);
    const q = m ? m[2].toLowerCase() : null;
    const people = q == null ? [] : D.people.filter((p) => p.id !== S.me.user_id
      && (p.login.toLowerCase().startsWith(q) || p.name.toLowerCase().split(/\s+/).some((w) => w.startsWith(q)))).slice(0, 6);
    $('note-mentions').replaceChildren(...people.map((p) => Hub.el('button', {
      type: 'button', class: 'chip', 'data-testid': 'note-mention', 'data-login': p.login,
      onclick: () => {
        const at = before.length - m[2].length;
        box.value = box.value.slice(0, at) + p.login + ' ' + box.value.slice(box.selectionStart);
        $('note-mentions').replaceChildren();
        box.focus();
      },
    }, p.name + ' @' + p.login)));
  });
}

/* The activities a work log suggests: the organisation's own (priced by their rates), else a few
   common ones in the page's language. */
export function fillActivities() {
  const own = D.activities || [];
  const names = own.length ? own : ['diagnosis', 'repair', 'travel', 'consultation'].map((a) => Hub.t('desk.act.' + a));
  $('wl-activities').replaceChildren(...names.map((a) => Hub.el('option', { value: a })));
}
wire();
