/* A workflow's editor: its statuses (key, name, kind, where the customer's message takes a
   request, what entering it does) and the matrix of moves, a cell per "from → to" holding the
   least role that may make it, with each move's requirements below. Saved whole (a new workflow,
   or a new version of one); the server checks it whole and names the status at fault (an
   unreachable one, a dead end), said beside the matrix. */
import * as Hub from './hub.js';
import { $, arr, clearFieldErrors, fieldError } from './admin-kit.js';
import { K, groupLabel, loadDesk } from './admin-desk.js';
import { W } from './admin-desk-hooks.js';

const KINDS = ['open', 'waiting', 'resolved', 'closed'];
const ROLES = ['operator', 'supervisor', 'admin'];

/* The workflow being edited: {id, name, statuses: [...], moves: Map('from>to' → transition)}. */
const F = { id: null, name: '', statuses: [], moves: new Map() };

const key = (from, to) => from + '>' + to;

export function newFlow() {
  edit(null, '', {
    statuses: [
      { key: 'new', name: Hub.t('dk.st.new'), kind: 'open' }, { key: 'work', name: Hub.t('dk.st.work'), kind: 'open' },
      { key: 'waiting', name: Hub.t('dk.st.waiting'), kind: 'waiting', on_customer_reply: 'work' },
      { key: 'resolved', name: Hub.t('dk.st.resolved'), kind: 'resolved', on_customer_reply: 'work' },
      { key: 'closed', name: Hub.t('dk.st.closed'), kind: 'closed' },
    ],
    transitions: [['new', 'work'], ['work', 'waiting'], ['waiting', 'work'], ['work', 'resolved'], ['resolved', 'work'], ['resolved', 'closed']]
      .map(([from, to]) => ({ from, to, role: 'operator' })),
  });
}

export function editFlow(w) { edit(w.id, w.name, w.body); }

function edit(id, name, body) {
  F.id = id; F.name = name;
  F.statuses = arr(body.statuses).map((s) => Object.assign({ on_enter: [] }, s));
  F.moves = new Map(arr(body.transitions).map((t) => [key(t.from, t.to), Object.assign({ requires: {} }, t)]));
  draw();
  $('dk-flow-editor').scrollIntoView({ block: 'start' });
}

function statusRow(s, i) {
  const text = (field, attrs) => {
    const inp = Hub.el('input', Object.assign({ type: 'text', value: s[field] || '', 'data-testid': 'dk-st-' + field }, attrs));
    inp.addEventListener('change', () => {
      const was = s[field];
      s[field] = inp.value.trim();
      // A renamed key: the moves and replies that named it follow.
      if (field === 'key' && was !== s.key) {
        F.moves = new Map([...F.moves.values()].map((t) => {
          if (t.from === was) t.from = s.key;
          if (t.to === was) t.to = s.key;
          return [key(t.from, t.to), t];
        }));
        F.statuses.forEach((x) => { if (x.on_customer_reply === was) x.on_customer_reply = s.key; });
      }
      draw();
    });
    return inp;
  };
  const kind = Hub.el('select', { 'data-testid': 'dk-st-kind', 'aria-label': Hub.t('adm.kind') },
    ...KINDS.map((k) => Hub.el('option', { value: k }, Hub.t('dk.kind.' + k))));
  kind.value = s.kind;
  kind.addEventListener('change', () => { s.kind = kind.value; draw(); });
  const reply = Hub.el('select', { 'data-testid': 'dk-st-reply', 'aria-label': Hub.t('dk.onReply') },
    Hub.el('option', { value: '' }, '—'), ...F.statuses.filter((x) => x !== s).map((x) => Hub.el('option', { value: x.key }, x.name)));
  reply.value = s.on_customer_reply || '';
  reply.addEventListener('change', () => { s.on_customer_reply = reply.value || undefined; });
  // What entering it does, of what the page edits: hand it to a group, raise its priority.
  const assign = arr(s.on_enter).find((a) => a.do === 'assign');
  const group = Hub.el('select', { 'data-testid': 'dk-st-assign', 'aria-label': Hub.t('dk.onEnterAssign') },
    Hub.el('option', { value: '' }, '—'), ...arr(K.setup.groups).map((g) => Hub.el('option', { value: String(g.id) }, groupLabel(g))));
  group.value = assign ? String(assign.group) : '';
  group.addEventListener('change', () => {
    s.on_enter = arr(s.on_enter).filter((a) => a.do !== 'assign');
    if (group.value) s.on_enter.push({ do: 'assign', group: Number(group.value) });
  });
  const raise = Hub.el('input', { type: 'checkbox', 'data-testid': 'dk-st-raise', 'aria-label': Hub.t('dk.onEnterRaise') });
  raise.checked = arr(s.on_enter).some((a) => a.do === 'raise_priority');
  raise.addEventListener('change', () => {
    s.on_enter = arr(s.on_enter).filter((a) => a.do !== 'raise_priority');
    if (raise.checked) s.on_enter.push({ do: 'raise_priority' });
  });
  // Tell one of the organisation's webhooks of the move (whatever events it subscribes to).
  const hook = arr(s.on_enter).find((a) => a.do === 'webhook');
  const hooks = Hub.el('select', { 'data-testid': 'dk-st-webhook', 'aria-label': Hub.t('dk.onEnterWebhook') },
    Hub.el('option', { value: '' }, '—'), ...arr(W.hooks).map((h) => Hub.el('option', { value: String(h.id) }, h.url)));
  hooks.value = hook ? String(hook.webhook) : '';
  hooks.addEventListener('change', () => {
    s.on_enter = arr(s.on_enter).filter((a) => a.do !== 'webhook');
    if (hooks.value) s.on_enter.push({ do: 'webhook', webhook: Number(hooks.value) });
  });
  // The clocks entering it stops ("acknowledged" ends the first response).
  const stops = Hub.el('span', { class: 'dk-stops' }, ...['first_response', 'next_response', 'resolution'].map((clock) => {
    const box = Hub.el('input', { type: 'checkbox', 'data-testid': 'dk-st-stop', 'data-clock': clock });
    box.checked = arr(s.on_enter).some((a) => a.do === 'stop_clock' && a.clock === clock);
    box.addEventListener('change', () => {
      s.on_enter = arr(s.on_enter).filter((a) => !(a.do === 'stop_clock' && a.clock === clock));
      if (box.checked) s.on_enter.push({ do: 'stop_clock', clock });
    });
    return Hub.el('label', { class: 'check' }, box, ' ', Hub.t('desk.clock.' + clock));
  }));
  // Tell the customer, in the request's latest thread: the text with {id}, {subject}, {status}.
  const told = arr(s.on_enter).find((a) => a.do === 'notify_customer');
  const notice = Hub.el('textarea', { rows: '2', maxlength: '1000', 'data-testid': 'dk-st-notice', class: 'dk-notice',
    'aria-label': Hub.t('dk.onEnterNotice'), placeholder: Hub.t('dk.noticeHint') });
  notice.value = told ? told.template : '';
  notice.addEventListener('change', () => {
    s.on_enter = arr(s.on_enter).filter((a) => a.do !== 'notify_customer');
    if (notice.value.trim()) s.on_enter.push({ do: 'notify_customer', template: notice.value.trim() });
  });
  const remove = Hub.el('button', { type: 'button', class: 'btn ghost', 'data-testid': 'remove', onclick: () => {
    F.statuses.splice(i, 1);
    for (const k of [...F.moves.keys()]) { const t = F.moves.get(k); if (t.from === s.key || t.to === s.key) F.moves.delete(k); }
    draw();
  } }, Hub.t('adm.remove'));
  return Hub.el('tr', { 'data-testid': 'dk-status', 'data-key': s.key },
    Hub.el('td', null, text('key', { maxlength: '40', pattern: '[a-z0-9_]+', 'aria-label': Hub.t('dk.key') })),
    Hub.el('td', null, text('name', { maxlength: '100', 'aria-label': Hub.t('adm.name') })),
    Hub.el('td', null, kind), Hub.el('td', null, reply), Hub.el('td', null, group), Hub.el('td', null, raise),
    Hub.el('td', null, hooks), Hub.el('td', null, stops), Hub.el('td', null, notice), Hub.el('td', null, remove));
}

/* The matrix: rows "from", columns "to"; a cell's select is the least role that may move. */
function matrix() {
  const st = F.statuses;
  const head = Hub.el('tr', null, Hub.el('th', null, Hub.t('dk.fromTo')), ...st.map((s) => Hub.el('th', { scope: 'col' }, s.name)));
  const rows = st.map((from) => Hub.el('tr', null, Hub.el('th', { scope: 'row' }, from.name), ...st.map((to) => {
    if (from === to) return Hub.el('td', { class: 'muted' }, '·');
    const t = F.moves.get(key(from.key, to.key));
    const sel = Hub.el('select', { 'data-testid': 'dk-move', 'data-from': from.key, 'data-to': to.key,
      'aria-label': from.name + ' → ' + to.name },
    Hub.el('option', { value: '' }, '—'), ...ROLES.map((r) => Hub.el('option', { value: r }, Hub.t('dk.role.' + r))));
    sel.value = t ? t.role : '';
    sel.addEventListener('change', () => {
      const k = key(from.key, to.key);
      if (!sel.value) F.moves.delete(k);
      else F.moves.set(k, Object.assign(F.moves.get(k) || { from: from.key, to: to.key, requires: {} }, { role: sel.value }));
      drawRequirements();
    });
    return Hub.el('td', { class: t ? 'on' : '' }, sel);
  })));
  return Hub.el('div', { class: 'table-scroll' }, Hub.el('table', { class: 'data dk-matrix', 'data-testid': 'dk-matrix' },
    Hub.el('thead', null, head), Hub.el('tbody', null, ...rows)));
}

const statusName = (k) => (F.statuses.find((s) => s.key === k) || { name: k }).name;

function drawRequirements() {
  const box = $('dk-flow-requires');
  if (!box) return;
  box.replaceChildren(...[...F.moves.values()].map((t) => {
    const q = t.requires || (t.requires = {});
    const tick = (what) => {
      const c = Hub.el('input', { type: 'checkbox', 'data-testid': 'dk-req-' + what });
      c.checked = !!q[what];
      c.addEventListener('change', () => { q[what] = c.checked; });
      return Hub.el('label', { class: 'check' }, c, ' ', Hub.t('dk.req.' + what));
    };
    const fields = Hub.el('input', { type: 'text', value: arr(q.fields).join(', '), 'data-testid': 'dk-req-fields', placeholder: 'solution',
      'aria-label': Hub.t('dk.req.fields') });
    fields.addEventListener('change', () => { q.fields = fields.value.split(',').map((x) => x.trim()).filter(Boolean); });
    return Hub.el('li', { 'data-testid': 'dk-requires', 'data-from': t.from, 'data-to': t.to, class: 'row' },
      Hub.el('b', null, statusName(t.from) + ' → ' + statusName(t.to)), tick('comment'), tick('checklist'),
      Hub.el('label', null, Hub.t('dk.req.fields'), ' ', fields));
  }));
}

function draw() {
  const box = $('dk-flow-editor');
  if (!box) return;
  const name = Hub.el('input', { type: 'text', id: 'dk-flow-name', name: 'name', value: F.name, maxlength: '100', 'data-testid': 'dk-flow-name',
    disabled: F.id != null });
  name.addEventListener('input', () => { F.name = name.value; });
  const err = (field) => Hub.el('p', { class: 'field-error hidden', id: 'dk-flow-err-' + field, 'data-field': field, 'data-testid': 'field-error', role: 'alert' });
  const form = Hub.el('form', { class: 'stack card', id: 'dk-flow-form', 'data-testid': 'dk-flow-form', novalidate: true },
    Hub.el('h3', null, F.id ? Hub.t('dk.workflowEdit', { name: F.name }) : Hub.t('dk.workflowNew')),
    Hub.el('div', { class: 'field' }, Hub.el('label', { for: 'dk-flow-name' }, Hub.t('adm.name')), name, err('name')),
    Hub.el('h4', null, Hub.t('dk.statuses')),
    Hub.el('div', { class: 'table-scroll' }, Hub.el('table', { class: 'data' },
      Hub.el('thead', null, Hub.el('tr', null, ...['dk.key', 'adm.name', 'adm.kind', 'dk.onReply', 'dk.onEnterAssign', 'dk.onEnterRaise', 'dk.onEnterWebhook', 'dk.onEnterStop', 'dk.onEnterNotice', '']
        .map((h) => Hub.el('th', null, h ? Hub.t(h) : '')))),
      Hub.el('tbody', null, ...F.statuses.map(statusRow)))),
    Hub.el('div', null, Hub.el('button', { type: 'button', class: 'btn', 'data-testid': 'dk-status-add', onclick: () => {
      let n = F.statuses.length + 1;
      while (F.statuses.some((s) => s.key === 'status_' + n)) n += 1;
      F.statuses.push({ key: 'status_' + n, name: Hub.t('dk.st.new1', { n }), kind: 'open', on_enter: [] });
      draw();
    } }, Hub.t('dk.statusAdd'))),
    err('statuses'),
    Hub.el('h4', null, Hub.t('dk.moves')), Hub.el('p', { class: 'muted' }, Hub.t('dk.movesHint')), matrix(), err('transitions'),
    Hub.el('h4', null, Hub.t('dk.requires')), Hub.el('ul', { class: 'stack dk-requires', id: 'dk-flow-requires' }),
    Hub.el('div', { class: 'row-actions' },
      Hub.el('button', { type: 'submit', class: 'btn primary', 'data-testid': 'dk-flow-save' }, Hub.t('adm.save')),
      Hub.el('button', { type: 'button', class: 'btn ghost', onclick: () => box.replaceChildren() }, Hub.t('adm.cancel'))));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearFieldErrors(form);
    const body = {
      statuses: F.statuses.map((s) => {
        const out = { key: s.key, name: s.name, kind: s.kind, on_enter: arr(s.on_enter) };
        if (s.on_customer_reply) out.on_customer_reply = s.on_customer_reply;
        return out;
      }),
      transitions: [...F.moves.values()].map((t) => {
        const q = t.requires || {};
        const requires = {};
        if (q.comment) requires.comment = true;
        if (q.checklist) requires.checklist = true;
        if (arr(q.fields).length) requires.fields = q.fields;
        if (arr(q.approval_by).length) requires.approval_by = q.approval_by;
        return { from: t.from, to: t.to, role: t.role, requires };
      }),
    };
    try {
      if (F.id) await Hub.api('PUT', '/api/admin/desk/workflows/' + F.id, { body });
      else await Hub.api('POST', '/api/admin/desk/workflows', { name: F.name.trim(), body });
      Hub.say('adm.saved', null, 'ok');
      await loadDesk();
    } catch (e) {
      // The body's parts are named body.statuses / statuses by the server: say it by the matrix.
      if (e.field && e.field.startsWith('body.')) e.field = e.field.slice(5);
      // The status at fault by the name the person gave it.
      if (e.args && typeof e.args.key === 'string') e.args = Object.assign({}, e.args, { key: statusName(e.args.key) });
      fieldError(form, e);
    }
  });
  box.replaceChildren(form);
  drawRequirements();
}
