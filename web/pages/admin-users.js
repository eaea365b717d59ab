/* People: add one (name, login, role, password, language, branches), edit them (name, role,
   language, how Russian pages speak of them, chats at once, branches, the windows and services
   they take at each, chat skills), disable them (out at once, open consoles included), give a
   new password. */
import * as Hub from './hub.js';
import { $, S, arr, fail, matches, clearFieldErrors, fieldError, branchName, onBranches, levelSelect, pager } from './admin-kit.js';
import { Q } from './admin-chats.js';

const U = { users: [], editing: null, placesSeq: 0, placesReady: false, pages: pager($('users-pages'), () => renderUsers()) };

export async function loadUsers() { U.users = arr(await Hub.api('GET', '/api/admin/users')); renderUsers(); }

function branchesText(u) {
  const ids = arr(u.branch_ids);
  return ids.length ? ids.map(branchName).join(', ') : Hub.t('adm.allBranches');
}

export function renderUsers() {
  const q = $('users-filter').value.trim().toLowerCase();
  const list = U.users.filter((u) => matches(q, u.name, u.login, Hub.t('role.' + u.role), branchesText(u)));
  $('users').replaceChildren(...U.pages.rows(list).map((u) => {
    const self = S.me && S.me.user_id === u.id;
    const pw = Hub.el('input', { type: 'password', class: 'hidden', 'data-testid': 'user-password', autocomplete: 'new-password',
      'aria-label': Hub.t('adm.newPassword'), placeholder: Hub.t('adm.newPassword') });
    const err = Hub.el('p', { class: 'field-error hidden', 'data-field': 'password', 'data-testid': 'field-error', role: 'alert' });
    const save = Hub.el('button', { type: 'button', class: 'btn primary hidden', 'data-testid': 'user-password-save' }, Hub.t('adm.save'));
    save.addEventListener('click', async () => {
      err.id = 'err-pw-' + u.id;
      pw.setAttribute('aria-describedby', err.id);
      clearFieldErrors(save.parentElement);
      try {
        await Hub.api('PUT', '/api/admin/users/' + u.id + '/password', { password: pw.value });
        Hub.say('adm.passwordSet', { name: u.name }, 'ok');
        renderUsers();
      } catch (e) { fieldError(save.parentElement, e); }
    });
    return Hub.el('tr', { 'data-testid': 'user-row', 'data-user-id': String(u.id), 'data-login': u.login },
      Hub.el('td', null, u.name),
      Hub.el('td', { class: 'mono' }, u.login),
      Hub.el('td', null, Hub.t('role.' + u.role)),
      Hub.el('td', { 'data-testid': 'user-branches' }, branchesText(u)),
      Hub.el('td', null, Hub.el('span', { class: 'pill', 'data-status': u.disabled ? 'off' : 'on' }, Hub.t(u.disabled ? 'adm.disabled' : 'adm.enabled'))),
      Hub.el('td', { class: 'row-actions' },
        Hub.el('button', { type: 'button', class: 'btn', 'data-testid': 'user-edit', onclick: () => openUser(u) }, Hub.t('adm.edit')),
        self ? null : Hub.el('button', { type: 'button', class: 'btn ghost', 'data-testid': 'user-toggle', onclick: () => toggleUser(u) },
          Hub.t(u.disabled ? 'adm.enable' : 'adm.disable')),
        Hub.el('button', { type: 'button', class: 'btn ghost', 'data-testid': 'user-reset',
          onclick: () => { Hub.show(pw, true); Hub.show(save, true); pw.focus(); } }, Hub.t('adm.resetPassword')),
        pw, save, err));
  }));
  Hub.show($('users-none'), !list.length);
}

async function toggleUser(u) {
  try {
    await Hub.api('PATCH', '/api/admin/users/' + u.id, { disabled: !u.disabled });
    Hub.say(u.disabled ? 'adm.userEnabled' : 'adm.userDisabled', { name: u.name }, 'ok');
    await loadUsers();
  } catch (e) { fail(e); }
}

function branchChecks(chosen) {
  $('usr-branches').replaceChildren(...S.branches.map((b) => {
    const box = Hub.el('input', { type: 'checkbox', value: String(b.id), 'data-testid': 'usr-branch' });
    box.checked = chosen.includes(b.id);
    return Hub.el('label', { class: 'check' }, box, ' ', b.name);
  }));
}

/* A proficiency per chat queue: none, or 1 (a beginner) to 5 (the best). */
function skillRows(skills) {
  $('usr-skills').replaceChildren(...Q.queues.map((q) => {
    const select = levelSelect({ 'data-testid': 'usr-skill', 'data-queue-id': String(q.id), id: 'usr-skill-' + q.id, 'aria-describedby': 'err-usr-skills' },
      skills.find((s) => s.service_id === q.id));
    return Hub.el('div', { class: 'row skill-row' }, Hub.el('label', { for: select.id }, q.name), select);
  }));
}

/* Per branch: the windows they may sit at and the visit services they serve, with how well.
   Read fresh each time the dialog opens (an admin may have added a window a moment ago). */
async function placeRows(u) {
  const box = $('usr-places');
  const my = ++U.placesSeq;
  U.placesReady = false;
  box.replaceChildren(Hub.el('p', { class: 'muted' }, Hub.t('adm.placesLoading')));
  let details;
  try {
    details = await Promise.all(S.branches.map((b) => Hub.api('GET', '/api/branches/' + b.id)));
  } catch (e) { fail(e); return; }
  if (my !== U.placesSeq) return;
  const windows = arr(u && u.window_ids);
  const skills = arr(u && u.skills);
  box.replaceChildren(...details.map((d) => {
    const leaves = arr(d.services).filter((x) => x.prefix != null);
    return Hub.el('div', { class: 'stack place-branch', 'data-testid': 'usr-place-branch', 'data-branch-id': String(d.branch.id) },
      Hub.el('h4', null, d.branch.name),
      Hub.el('div', { class: 'checks' }, ...arr(d.windows).map((w) => {
        const check = Hub.el('input', { type: 'checkbox', value: String(w.id), 'data-testid': 'usr-window' });
        check.checked = windows.includes(w.id);
        return Hub.el('label', { class: 'check' }, check, ' ', Hub.t('adm.windowN', { label: w.label }));
      })),
      Hub.el('div', { class: 'skills' }, ...leaves.map((x) => {
        const select = levelSelect({ 'data-testid': 'usr-service-skill', 'data-service-id': String(x.id),
          id: 'usr-service-' + x.id, 'aria-describedby': 'err-usr-skills' }, skills.find((k) => k.service_id === x.id));
        return Hub.el('div', { class: 'row skill-row' }, Hub.el('label', { for: select.id }, Hub.serviceName(x)), select);
      })));
  }));
  U.placesReady = true;
}

/* The user's skills after the dialog: the chat queues' and visit services' as chosen, any other
   (a service the dialog did not show) kept. */
function chosenSkills(u) {
  const selects = [...$('user-form').querySelectorAll('select[data-queue-id], select[data-service-id]')];
  const shown = new Set(selects.map((s) => Number(s.dataset.queueId || s.dataset.serviceId)));
  const kept = arr(u && u.skills).filter((s) => !shown.has(s.service_id));
  const chosen = selects.filter((s) => s.value)
    .map((s) => ({ service_id: Number(s.dataset.queueId || s.dataset.serviceId), proficiency: Number(s.value) }));
  return kept.concat(chosen);
}

/* The dialog for a new user (u null) or an existing one. */
function openUser(u) {
  U.editing = u;
  const form = $('user-form');
  clearFieldErrors(form);
  form.reset();
  const isNew = !u;
  Hub.setText($('user-dialog-h'), isNew ? Hub.t('adm.userAdd') : Hub.t('adm.userEdit', { name: u.name }));
  Hub.show($('usr-login-box'), isNew);
  Hub.show($('usr-password-box'), isNew);
  $('usr-name').value = isNew ? '' : u.name;
  $('usr-login').value = '';
  $('usr-role').value = isNew ? 'operator' : u.role;
  $('usr-role').disabled = !isNew && S.me && S.me.user_id === u.id;
  $('usr-lang').value = isNew ? ((S.me && S.me.lang) || 'ru') : u.lang;
  $('usr-gender').value = isNew ? '' : (u.gender || '');
  $('usr-capacity').value = String(isNew ? 3 : u.chat_capacity);
  $('usr-mail-capacity').value = String(isNew ? 10 : u.mail_capacity);
  $('usr-password').value = '';
  branchChecks(isNew ? [] : arr(u.branch_ids));
  skillRows(isNew ? [] : arr(u.skills));
  placeRows(u);
  $('user-dialog').showModal();
  $('usr-name').focus();
}

async function saveUser() {
  const form = $('user-form');
  clearFieldErrors(form);
  const u = U.editing;
  const body = {
    name: $('usr-name').value.trim(), role: $('usr-role').value, lang: $('usr-lang').value,
    gender: $('usr-gender').value || null, chat_capacity: Number($('usr-capacity').value),
    mail_capacity: Number($('usr-mail-capacity').value),
    branch_ids: [...$('usr-branches').querySelectorAll('input:checked')].map((b) => Number(b.value)),
  };
  // Until the branches' windows are shown, the ones listed stay as they are.
  if (U.placesReady) body.window_ids = [...$('usr-places').querySelectorAll('input[data-testid=usr-window]:checked')].map((w) => Number(w.value));
  const skills = chosenSkills(u);
  try {
    let id;
    if (u) {
      await Hub.api('PATCH', '/api/admin/users/' + u.id, body);
      id = u.id;
    } else {
      body.login = $('usr-login').value.trim();
      body.password = $('usr-password').value;
      const capacity = { chat_capacity: body.chat_capacity, mail_capacity: body.mail_capacity };
      delete body.chat_capacity;
      delete body.mail_capacity;
      if (!body.gender) delete body.gender;
      const made = await Hub.api('POST', '/api/admin/users', body);
      id = made.id;
      if (capacity.chat_capacity !== made.chat_capacity || capacity.mail_capacity !== made.mail_capacity) {
        await Hub.api('PATCH', '/api/admin/users/' + made.id, capacity);
      }
    }
    const before = JSON.stringify(arr(u && u.skills).slice().sort((a, b) => a.service_id - b.service_id));
    const after = JSON.stringify(skills.slice().sort((a, b) => a.service_id - b.service_id));
    if (before !== after) await Hub.api('PUT', '/api/admin/users/' + id + '/skills', { skills });
    // The list is read again before the dialog closes: opened again at once, it shows what
    // was saved, never the list as it was.
    await loadUsers();
    $('user-dialog').close();
    Hub.say(u ? 'adm.saved' : 'adm.userAdded', { name: body.name }, 'ok');
  } catch (e) { fieldError(form, e); }
}

export function init() {
  onBranches(renderUsers);
  $('users-filter').addEventListener('input', () => { U.pages.first(); renderUsers(); });
  $('user-new').addEventListener('click', () => openUser(null));
  $('usr-close').addEventListener('click', () => $('user-dialog').close());
  $('usr-save').addEventListener('click', saveUser);
  $('user-form').addEventListener('submit', (ev) => { ev.preventDefault(); saveUser(); });
}
