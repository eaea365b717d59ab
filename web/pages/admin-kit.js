/* What the back office's sections share: the page's state (who is signed in, the branches),
   loading the branches once for every section, and saying a wrong field beside it. An ES module;
   `Hub` (hub.js, loaded first) is the pages' common kit: API client, dictionary, DOM helpers. */
import * as Hub from './hub.js';
export const $ = (id) => document.getElementById(id);
export const S = { me: null, branches: [] };
export const arr = (v) => (Array.isArray(v) ? v : []);
export const matches = (q, ...fields) => !q || fields.some((f) => String(f || '').toLowerCase().includes(q));

export function toLogin() { location.assign('/login?next=' + encodeURIComponent('/admin')); }
export function fail(e) {
  if (e instanceof Hub.HubError && e.status === 401) { toLogin(); return; }
  Hub.showError(e);
}

/* ---------- field errors: the server names the field; the sentence goes beside it ---------- */
export function clearFieldErrors(root) {
  root.querySelectorAll('.field-error').forEach((n) => { Hub.setText(n, ''); Hub.show(n, false); });
  root.querySelectorAll('[aria-invalid]').forEach((n) => n.removeAttribute('aria-invalid'));
}
/* Shows the error beside its field when the form has one; else on the message line. A field of
   a group ("schedule.tue") falls back to its group's box ("schedule"). The sentence is worded
   again when the language changes. */
export function fieldError(root, e) {
  const field = e instanceof Hub.HubError && e.field;
  const find = (f) => f && root.querySelector('.field-error[data-field="' + f + '"]');
  const box = find(field) || find(field && field.split('.')[0]);
  if (!box) { fail(e); return; }
  const word = () => Hub.setText(box, Hub.errorText(e));
  word();
  wordings.set(box, word);
  Hub.show(box, true);
  const input = root.querySelector('[aria-describedby~="' + box.id + '"]');
  if (input) { input.setAttribute('aria-invalid', 'true'); input.focus(); }
}
const wordings = new Map();
Hub.onLang(() => wordings.forEach((word, box) => { if (box.isConnected && !box.classList.contains('hidden')) word(); }));

/* ---------- the organisation's branches, for every section's pickers ---------- */
const branchWatchers = [];
export function onBranches(fn) { branchWatchers.push(fn); }
export async function loadBranches() {
  S.branches = arr(await Hub.api('GET', '/api/admin/branches'));
  branchWatchers.forEach((fn) => fn());
}
export const branchName = (id) => { const b = S.branches.find((x) => x.id === id); return b ? b.name : '#' + id; };
/* Fills a branch picker, keeping its choice when the branch is still there. */
export function branchOptions(select, prefer) {
  const keep = prefer != null ? String(prefer) : select.value;
  select.replaceChildren(...S.branches.map((b) => Hub.el('option', { value: String(b.id) }, b.name)));
  if ([...select.options].some((o) => o.value === keep)) select.value = keep;
}

/* ---------- forms whose controls carry the API's field names ---------- */
/* Gives each named control of a form a box for its error (after it, inside its .field) that the
   server's field names find. */
export function formFields(form) {
  form.querySelectorAll('[name]').forEach((input) => {
    const name = input.name;
    if (form.querySelector('.field-error[data-field="' + name + '"]')) return;
    const box = Hub.el('p', { class: 'field-error hidden', id: form.id + '-err-' + name, 'data-field': name, 'data-testid': 'field-error', role: 'alert' });
    const wrap = input.closest('.field');
    if (wrap) wrap.appendChild(box); else input.after(box);
    input.setAttribute('aria-describedby', box.id);
  });
}
/* The body a form makes: its named controls, numbers as numbers, ticks as booleans, empty text
   left out (the server's default). */
export function readForm(form) {
  const body = {};
  form.querySelectorAll('[name]').forEach((input) => {
    if (input.type === 'checkbox') { body[input.name] = input.checked; return; }
    const v = input.value.trim();
    if (v === '') return;
    body[input.name] = input.type === 'number' || input.dataset.id != null ? Number(v) : v;
  });
  return body;
}
/* A select of the organisation's chat queues. */
export function queueOptions(select, queues, none) {
  const keep = select.value;
  select.replaceChildren(...(none ? [Hub.el('option', { value: '' }, Hub.t(none))] : []),
    ...queues.map((q) => Hub.el('option', { value: String(q.id) }, q.name)));
  select.dataset.id = '';
  if ([...select.options].some((o) => o.value === keep)) select.value = keep;
}
/* Submits a form to the API; a wrong field is said beside it. */
export function onSubmit(form, send) {
  formFields(form);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearFieldErrors(form);
    try { await send(readForm(form)); } catch (e) { fieldError(form, e); }
  });
}
export function removeButton(label, onclick) {
  return Hub.el('button', { type: 'button', class: 'btn ghost', 'data-testid': 'remove', onclick }, Hub.t(label || 'adm.remove'));
}

/* A select of skill levels, none or 1 (a beginner) to 5 (the best), showing `had`'s. */
export function levelSelect(attrs, had, none = true) {
  const select = Hub.el('select', attrs,
    ...(none ? [Hub.el('option', { value: '' }, Hub.t('adm.skillNone'))] : []),
    ...[1, 2, 3, 4, 5].map((n) => Hub.el('option', { value: String(n) }, Hub.t('adm.skillLevel', { n }))));
  select.value = had ? String(had.proficiency) : '';
  return select;
}

/* A routing policy's widening steps, edited as rows: after so many seconds of waiting, operators
   of at least this level. `errId` is the field error the rows are described by. */
let stepRows = 0;
export function stepsEditor(steps, errId) {
  const list = Hub.el('div', { class: 'stack', 'data-testid': 'steps' });
  const row = (step) => {
    const n = ++stepRows;
    const after = Hub.el('input', { type: 'number', min: '0', max: '86400', id: 'step-after-' + n, 'data-testid': 'rt-step-after', 'aria-describedby': errId });
    after.value = String(step.after_secs);
    const level = levelSelect({ id: 'step-level-' + n, 'data-testid': 'rt-step-level', 'aria-describedby': errId },
      { proficiency: step.min_proficiency }, false);
    const line = Hub.el('div', { class: 'row', 'data-testid': 'rt-step' },
      Hub.el('div', null, Hub.el('label', { for: after.id }, Hub.t('adm.stepAfter')), after),
      Hub.el('div', null, Hub.el('label', { for: level.id }, Hub.t('adm.stepLevel')), level),
      Hub.el('div', { class: 'row-actions' }, removeButton('adm.remove', () => line.remove())));
    list.appendChild(line);
  };
  const read = () => [...list.querySelectorAll('[data-testid=rt-step]')].map((r) => ({
    after_secs: Number(r.querySelector('[data-testid=rt-step-after]').value),
    min_proficiency: Number(r.querySelector('[data-testid=rt-step-level]').value),
  }));
  arr(steps).forEach(row);
  // A new step starts after the last one, a level lower: steps only ever widen.
  const add = () => {
    const all = read();
    const last = all[all.length - 1];
    row(last ? { after_secs: last.after_secs + 30, min_proficiency: Math.max(1, last.min_proficiency - 1) } : { after_secs: 0, min_proficiency: 4 });
  };
  return { list, add, read };
}

/* A long list shown a page at a time: PAGE rows, "‹ 51–100 of 230 ›" in `box` (an element after
   the table). rows(list) gives the rows of the page shown, brought back into range when the list
   shrinks; first() goes back to the first page (a new filter). `redraw` draws the list again. */
const PAGE = 50;
export function pager(box, redraw) {
  let page = 0;
  return {
    first() { page = 0; },
    rows(list) {
      const pages = Math.max(1, Math.ceil(list.length / PAGE));
      page = Math.min(page, pages - 1);
      const from = page * PAGE;
      const shown = list.slice(from, from + PAGE);
      const turn = (by, label, testid, off) => Hub.el('button', {
        type: 'button', class: 'btn ghost', 'data-testid': testid, 'aria-label': Hub.t(label), title: Hub.t(label), disabled: off,
        onclick: () => { page += by; redraw(); },
      }, by < 0 ? '‹' : '›');
      box.replaceChildren(
        turn(-1, 'adm.pagePrev', 'page-prev', page === 0),
        Hub.el('span', { class: 'muted', 'data-testid': 'page-range' },
          Hub.t('adm.pageRange', { from: list.length ? from + 1 : 0, to: from + shown.length, total: list.length })),
        turn(1, 'adm.pageNext', 'page-next', page >= pages - 1));
      Hub.show(box, pages > 1);
      return shown;
    },
  };
}
