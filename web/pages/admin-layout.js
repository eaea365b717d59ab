/* A branch's services (the kiosk's menu, two levels) and windows: add, rename, reorder, take
   off. Taking off is refused while a visitor waits for the service or an operator sits at the
   window; the server says why, in the page's language. */
import * as Hub from './hub.js';
import { $, arr, fail, clearFieldErrors, fieldError, branchOptions, onBranches, stepsEditor } from './admin-kit.js';

const L = { branch: null, editing: null, steps: null };

/* Who is called for a service as its visitors wait: its widening steps, under its line. */
async function openSteps(x) {
  try {
    const policy = await Hub.api('GET', '/api/admin/services/' + x.id + '/routing');
    const errId = 'svc-steps-err-' + x.id;
    L.steps = { id: x.id, policy, errId, editor: stepsEditor(policy.steps, errId) };
    render();
  } catch (e) { fail(e); }
}

function stepsBlock(x) {
  const s = L.steps;
  const box = Hub.el('div', { class: 'stack svc-steps', 'data-testid': 'svc-steps' },
    Hub.el('p', { class: 'muted' }, Hub.t('adm.visitStepsHint')),
    s.editor.list,
    Hub.el('p', { class: 'field-error hidden', id: s.errId, 'data-field': 'steps', 'data-testid': 'field-error', role: 'alert' }));
  box.appendChild(Hub.el('div', { class: 'row-actions' },
    Hub.el('button', { type: 'button', class: 'btn', 'data-testid': 'rt-step-add', onclick: () => s.editor.add() }, Hub.t('adm.stepAdd')),
    Hub.el('button', { type: 'button', class: 'btn primary', 'data-testid': 'svc-steps-save', onclick: async () => {
      clearFieldErrors(box);
      try {
        await Hub.api('PUT', '/api/admin/services/' + x.id + '/routing', { strategy: s.policy.strategy, steps: s.editor.read() });
        L.steps = null;
        Hub.say('adm.saved', null, 'ok');
        render();
      } catch (e) { fieldError(box, e); }
    } }, Hub.t('adm.save')),
    Hub.el('button', { type: 'button', class: 'btn ghost', 'data-testid': 'svc-steps-cancel', onclick: () => { L.steps = null; render(); } }, Hub.t('adm.cancel'))));
  return box;
}

async function load() {
  const id = $('branch-pick').value;
  if (!id) return;
  try { L.branch = await Hub.api('GET', '/api/branches/' + encodeURIComponent(id)); } catch (e) { fail(e); return; }
  render();
}

const sorted = (list) => list.slice().sort((a, b) => (a.position - b.position) || (a.id - b.id));

async function move(x, siblings, step) {
  const ids = siblings.map((s) => s.id);
  const i = ids.indexOf(x.id);
  const j = i + step;
  if (j < 0 || j >= ids.length) return;
  [ids[i], ids[j]] = [ids[j], ids[i]];
  try {
    await Hub.api('PUT', '/api/admin/branches/' + L.branch.branch.id + '/service-order', { parent_id: x.parent_id, ids });
    await load();
  } catch (e) { fail(e); }
}

async function remove(x) {
  if (!window.confirm(Hub.t('adm.serviceRemoveAsk', { name: Hub.serviceName(x) }))) return;
  try {
    await Hub.api('DELETE', '/api/admin/services/' + x.id);
    Hub.say('adm.serviceRemoved', { name: Hub.serviceName(x) }, 'ok');
    await load();
  } catch (e) { fail(e); }
}

function renameForm(x) {
  const err = (f) => Hub.el('p', { class: 'field-error hidden', id: 'err-svc-' + x.id + '-' + f, 'data-field': f, 'data-testid': 'field-error', role: 'alert' });
  const [eRu, eEn] = [err('name_ru'), err('name_en')];
  const ru = Hub.el('input', { type: 'text', value: x.name_ru, maxlength: '100', 'data-testid': 'svc-edit-ru', 'aria-label': Hub.t('adm.nameRu'), 'aria-describedby': eRu.id });
  const en = Hub.el('input', { type: 'text', value: x.name_en, maxlength: '100', 'data-testid': 'svc-edit-en', 'aria-label': Hub.t('adm.nameEn'), 'aria-describedby': eEn.id });
  const form = Hub.el('form', { class: 'row inline-edit', novalidate: true }, Hub.el('div', null, ru, eRu), Hub.el('div', null, en, eEn),
    Hub.el('button', { type: 'submit', class: 'btn primary', 'data-testid': 'svc-edit-save' }, Hub.t('adm.save')),
    Hub.el('button', { type: 'button', class: 'btn ghost', onclick: () => { L.editing = null; render(); } }, Hub.t('adm.cancel')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearFieldErrors(form);
    try {
      await Hub.api('PATCH', '/api/admin/services/' + x.id, { name_ru: ru.value.trim(), name_en: en.value.trim() });
      L.editing = null;
      Hub.say('adm.saved', null, 'ok');
      await load();
    } catch (e) { fieldError(form, e); }
  });
  return form;
}

function item(x, siblings) {
  const i = siblings.indexOf(x);
  const label = Hub.serviceName(x);
  const actions = Hub.el('span', { class: 'row-actions' },
    Hub.el('button', { type: 'button', class: 'btn ghost icon-btn', 'data-testid': 'svc-up', disabled: i === 0,
      'aria-label': Hub.t('adm.moveUp', { name: label }), title: Hub.t('adm.moveUp', { name: label }), onclick: () => move(x, siblings, -1) }, '↑'),
    Hub.el('button', { type: 'button', class: 'btn ghost icon-btn', 'data-testid': 'svc-down', disabled: i === siblings.length - 1,
      'aria-label': Hub.t('adm.moveDown', { name: label }), title: Hub.t('adm.moveDown', { name: label }), onclick: () => move(x, siblings, 1) }, '↓'),
    Hub.el('button', { type: 'button', class: 'btn ghost', 'data-testid': 'svc-rename', onclick: () => { L.editing = x.id; render(); } }, Hub.t('adm.rename')),
    x.prefix != null ? Hub.el('button', { type: 'button', class: 'btn ghost', 'data-testid': 'svc-steps-open', onclick: () => openSteps(x) }, Hub.t('adm.visitSteps')) : null,
    Hub.el('button', { type: 'button', class: 'btn ghost', 'data-testid': 'svc-remove', onclick: () => remove(x) }, Hub.t('adm.remove')));
  const head = L.editing === x.id ? renameForm(x) : Hub.el('span', { class: 'svc-label' },
    x.prefix ? Hub.el('span', { class: 'prefix-tag' }, x.prefix) : null, ' ', label,
    x.prefix == null ? Hub.el('span', { class: 'muted' }, ' · ' + Hub.t('adm.group')) : null);
  return Hub.el('li', { 'data-testid': 'service-item', 'data-service-id': String(x.id) },
    Hub.el('div', { class: 'svc-line' }, head, L.editing === x.id ? null : actions),
    L.steps && L.steps.id === x.id ? stepsBlock(x) : null);
}

async function removeWindow(w) {
  if (!window.confirm(Hub.t('adm.windowRemoveAsk', { label: w.label }))) return;
  try {
    await Hub.api('DELETE', '/api/admin/windows/' + w.id);
    Hub.say('adm.windowRemoved', { label: w.label }, 'ok');
    await load();
  } catch (e) { fail(e); }
}

async function relabel(w) {
  const label = window.prompt(Hub.t('adm.windowLabel'), w.label);
  if (label == null || label.trim() === w.label) return;
  try {
    await Hub.api('PATCH', '/api/admin/windows/' + w.id, { label: label.trim() });
    Hub.say('adm.saved', null, 'ok');
    await load();
  } catch (e) { fail(e); }
}

export function render() {
  const d = L.branch;
  if (!d) return;
  const services = sorted(arr(d.services));
  const top = services.filter((x) => x.parent_id == null);
  const groups = top.filter((x) => x.prefix == null);
  $('services').replaceChildren(...top.map((x) => {
    const li = item(x, top);
    const children = services.filter((c) => c.parent_id === x.id);
    if (children.length) li.appendChild(Hub.el('ul', null, ...children.map((c) => item(c, children))));
    return li;
  }));
  const parent = $('svc-parent');
  const keep = parent.value;
  parent.replaceChildren(Hub.el('option', { value: '' }, Hub.t('adm.topLevel')),
    ...groups.map((g) => Hub.el('option', { value: String(g.id) }, Hub.serviceName(g))));
  if ([...parent.options].some((o) => o.value === keep)) parent.value = keep;
  $('windows').replaceChildren(...arr(d.windows).map((w) => Hub.el('li', { 'data-testid': 'window-item', 'data-window-id': String(w.id) },
    Hub.el('div', { class: 'svc-line' }, Hub.el('span', null, Hub.t('adm.windowN', { label: w.label })),
      Hub.el('span', { class: 'row-actions' },
        Hub.el('button', { type: 'button', class: 'btn ghost', 'data-testid': 'win-rename', onclick: () => relabel(w) }, Hub.t('adm.rename')),
        Hub.el('button', { type: 'button', class: 'btn ghost', 'data-testid': 'win-remove', onclick: () => removeWindow(w) }, Hub.t('adm.remove')))))));
  Hub.show($('services-none'), !services.length);
  Hub.show($('windows-none'), !arr(d.windows).length);
}

export function init() {
  onBranches(() => { branchOptions($('branch-pick')); load(); });
  $('branch-pick').addEventListener('change', load);
  $('service-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const form = $('service-form');
    clearFieldErrors(form);
    const body = { name_ru: $('svc-name-ru').value.trim(), name_en: $('svc-name-en').value.trim() };
    const prefix = $('svc-prefix').value.trim().toUpperCase();
    if (prefix) body.prefix = prefix;
    if ($('svc-parent').value) body.parent_id = Number($('svc-parent').value);
    try {
      const svc = await Hub.api('POST', '/api/admin/branches/' + L.branch.branch.id + '/services', body);
      form.reset();
      Hub.say('adm.serviceAdded', { name: Hub.serviceName(svc) }, 'ok');
      await load();
    } catch (e) { fieldError(form, e); }
  });
  $('window-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const form = $('window-form');
    clearFieldErrors(form);
    try {
      const w = await Hub.api('POST', '/api/admin/branches/' + L.branch.branch.id + '/windows', { label: $('win-label').value.trim() });
      form.reset();
      Hub.say('adm.windowAdded', { label: w.label }, 'ok');
      await load();
    } catch (e) { fieldError(form, e); }
  });
}


