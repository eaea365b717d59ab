/* Regions: the tree an organisation files its branches in (a region may sit in another, a few
   levels deep). Add, rename, move, take away once empty; each branch's region is chosen in its
   form. The server keeps it a tree and says why beside the field. */
import * as Hub from './hub.js';
import { $, S, arr, fail, clearFieldErrors, fieldError } from './admin-kit.js';

export const R = { regions: [], editing: null };

export async function loadRegions() {
  R.regions = arr(await Hub.api('GET', '/api/admin/regions'));
  render();
}

/* "Урал / Екатеринбург": a region by its path from the top. */
export function regionPath(id) {
  const names = [];
  for (let r = R.regions.find((x) => x.id === id); r && names.length < 8; r = R.regions.find((x) => x.id === r.parent_id)) {
    names.unshift(r.name);
  }
  return names.join(' / ');
}

/* A select of the regions by path, with "none" first; `skip` leaves out a region and what is
   under it (a region cannot move inside itself). */
export function regionOptions(select, selected, noneKey, skip) {
  const under = (r) => { for (let x = r; x; x = R.regions.find((y) => y.id === x.parent_id)) if (x.id === skip) return true; return false; };
  const list = R.regions.filter((r) => skip == null || !under(r))
    .map((r) => ({ id: r.id, path: regionPath(r.id) }))
    .sort((a, b) => a.path.localeCompare(b.path));
  select.replaceChildren(Hub.el('option', { value: '' }, Hub.t(noneKey)),
    ...list.map((r) => Hub.el('option', { value: String(r.id) }, r.path)));
  select.value = selected == null ? '' : String(selected);
}

function editForm(r) {
  const name = Hub.el('input', { type: 'text', maxlength: '100', 'data-testid': 'rg-edit-name', id: 'rg-edit-name', 'aria-describedby': 'rg-edit-err-name' });
  name.value = r.name;
  const parent = Hub.el('select', { 'data-testid': 'rg-edit-parent', id: 'rg-edit-parent', 'aria-describedby': 'rg-edit-err-parent' });
  regionOptions(parent, r.parent_id, 'adm.regionTop', r.id);
  const box = Hub.el('div', { class: 'row', 'data-testid': 'rg-edit' },
    Hub.el('div', null, Hub.el('label', { for: name.id }, Hub.t('adm.name')), name,
      Hub.el('p', { class: 'field-error hidden', id: 'rg-edit-err-name', 'data-field': 'name', 'data-testid': 'field-error', role: 'alert' })),
    Hub.el('div', null, Hub.el('label', { for: parent.id }, Hub.t('adm.regionParent')), parent,
      Hub.el('p', { class: 'field-error hidden', id: 'rg-edit-err-parent', 'data-field': 'parent_id', 'data-testid': 'field-error', role: 'alert' })));
  box.appendChild(Hub.el('div', { class: 'row-actions' },
    Hub.el('button', { type: 'button', class: 'btn primary', 'data-testid': 'rg-edit-save', onclick: async () => {
      clearFieldErrors(box);
      try {
        await Hub.api('PATCH', '/api/admin/regions/' + r.id, { name: name.value.trim(), parent_id: parent.value ? Number(parent.value) : null });
        R.editing = null;
        await loadRegions();
        Hub.say('adm.saved', null, 'ok');
      } catch (e) { fieldError(box, e); }
    } }, Hub.t('adm.save')),
    Hub.el('button', { type: 'button', class: 'btn ghost', onclick: () => { R.editing = null; render(); } }, Hub.t('adm.cancel'))));
  return box;
}

async function remove(r) {
  try {
    await Hub.api('DELETE', '/api/admin/regions/' + r.id);
    await loadRegions();
    Hub.say('adm.regionRemoved', { name: r.name }, 'ok');
  } catch (e) { fail(e); }
}

function node(r) {
  const branches = S.branches.filter((b) => b.region_id === r.id);
  const subs = R.regions.filter((x) => x.parent_id === r.id);
  const line = R.editing === r.id ? editForm(r) : Hub.el('div', { class: 'svc-line' },
    Hub.el('span', { class: 'svc-label' }, r.name,
      branches.length ? Hub.el('span', { class: 'muted', 'data-testid': 'region-branches' }, ' · ' + branches.map((b) => b.name).join(', ')) : null),
    Hub.el('span', { class: 'row-actions' },
      Hub.el('button', { type: 'button', class: 'btn ghost', 'data-testid': 'rg-edit-open', onclick: () => { R.editing = r.id; render(); } }, Hub.t('adm.edit')),
      Hub.el('button', { type: 'button', class: 'btn ghost', 'data-testid': 'rg-remove', onclick: () => remove(r) }, Hub.t('adm.remove'))));
  return Hub.el('li', { 'data-testid': 'region-item', 'data-region-id': String(r.id) }, line,
    subs.length ? Hub.el('ul', null, ...subs.map(node)) : null);
}

export function render() {
  $('regions').replaceChildren(...R.regions.filter((r) => r.parent_id == null).map(node));
  Hub.show($('regions-none'), !R.regions.length);
  const keep = (id) => ($(id).value ? Number($(id).value) : null);
  regionOptions($('rg-parent'), keep('rg-parent'), 'adm.regionTop');
  // The branch form's choice is offered the regions as they are now, keeping what is chosen.
  regionOptions($('br-region'), keep('br-region'), 'adm.regionNone');
}

export function init() {
  $('region-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const form = $('region-form');
    clearFieldErrors(form);
    const body = { name: $('rg-name').value.trim() };
    if ($('rg-parent').value) body.parent_id = Number($('rg-parent').value);
    try {
      const r = await Hub.api('POST', '/api/admin/regions', body);
      $('rg-name').value = '';
      await loadRegions();
      Hub.say('adm.regionAdded', { name: r.name }, 'ok');
    } catch (e) { fieldError(form, e); }
  });
}
