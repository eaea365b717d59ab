/* Kiosks and boards: add one to a branch, pair a new screen by the code it shows (nobody types a
   secret on a TV), a board's look (its own or a named template it follows), a kiosk's printing
   and logo, disable, a new secret; the organisation's board templates. */
import * as Hub from './hub.js';
import { $, arr, fail, matches, clearFieldErrors, fieldError, branchName, branchOptions, onBranches, removeButton, pager } from './admin-kit.js';

const D = { devices: [], device: null, look: null, logo: undefined, bannerImage: undefined, templates: [], templateId: null, phrases: [], pages: pager($('devices-pages'), () => renderDevices()) };
export async function loadDevices() {
  const [devices, templates, phrases] = await Promise.all([Hub.api('GET', '/api/admin/devices'),
    Hub.api('GET', '/api/admin/board-templates'), Hub.api('GET', '/api/admin/speech/templates')]);
  D.devices = arr(devices);
  D.templates = arr(templates);
  D.phrases = arr(phrases);
  renderDevices();
  renderPhrases();
}

/* What the boards say for a call, per language: the organisation's phrase or the built-in one. */
export function renderPhrases() {
  $('phrases').replaceChildren(...D.phrases.map((p) => {
    const id = 'phrase-' + p.lang;
    const input = Hub.el('input', { type: 'text', id, maxlength: '500', 'data-testid': 'phrase-input', 'data-lang': p.lang, 'aria-describedby': id + '-err' });
    input.value = p.template;
    const err = Hub.el('p', { class: 'field-error hidden', id: id + '-err', 'data-field': 'template', 'data-testid': 'field-error', role: 'alert' });
    const box = Hub.el('div', { class: 'stack', 'data-testid': 'phrase', 'data-lang': p.lang });
    const send = async (template) => {
      clearFieldErrors(box);
      try {
        await Hub.api('PUT', '/api/admin/speech/templates/' + p.lang, { template });
        Hub.say('adm.phraseSaved', null, 'ok');
        await loadDevices();
      } catch (e) { fieldError(box, e); }
    };
    box.append(Hub.el('label', { for: id }, Hub.t(p.lang === 'ru' ? 'adm.langRu' : 'adm.langEn')), input, err,
      Hub.el('div', { class: 'row-actions' },
        Hub.el('button', { type: 'button', class: 'btn', 'data-testid': 'phrase-save', onclick: () => send(input.value) }, Hub.t('adm.save')),
        p.custom ? Hub.el('button', { type: 'button', class: 'btn ghost', 'data-testid': 'phrase-reset', onclick: () => send(null) }, Hub.t('adm.phraseBuiltIn')) : null));
    return box;
  }));
}
export function renderDevices() {
  const q = $('devices-filter').value.trim().toLowerCase();
  const list = D.devices.filter((d) => matches(q, d.name, d.login, branchName(d.branch_id), Hub.t('adm.kind.' + d.kind)));
  $('devices').replaceChildren(...D.pages.rows(list).map((d) => Hub.el('tr', { 'data-testid': 'device-row', 'data-device-id': String(d.id), 'data-login': d.login },
    Hub.el('td', null, d.name),
    Hub.el('td', { class: 'mono' }, d.login),
    Hub.el('td', null, Hub.t('adm.kind.' + d.kind)),
    Hub.el('td', null, branchName(d.branch_id)),
    Hub.el('td', null, Hub.el('span', { class: 'pill', 'data-status': d.disabled ? 'off' : 'on' }, Hub.t(d.disabled ? 'adm.disabled' : 'adm.enabled'))),
    Hub.el('td', { class: 'row-actions' },
      Hub.el('button', { type: 'button', class: 'btn', 'data-testid': 'device-open', disabled: !!d.disabled, onclick: () => openDevice(d) }, Hub.t('adm.settings')),
      Hub.el('button', { type: 'button', class: 'btn ghost', 'data-testid': 'device-toggle', onclick: () => toggleDevice(d) },
        Hub.t(d.disabled ? 'adm.enable' : 'adm.disable')),
      Hub.el('button', { type: 'button', class: 'btn ghost', 'data-testid': 'device-secret', onclick: () => newSecret(d) }, Hub.t('adm.newSecret'))))));
  Hub.show($('devices-none'), !list.length);
  renderTemplates();
}

function renderTemplates() {
  const name = (id) => (D.devices.find((x) => x.id === id) || { name: '#' + id }).name;
  $('templates').replaceChildren(...D.templates.map((t) => Hub.el('tr', { 'data-testid': 'template-row', 'data-template-id': String(t.id) },
    Hub.el('td', null, t.name),
    Hub.el('td', { 'data-testid': 'template-boards' }, arr(t.boards).map(name).join(', ') || '—'),
    Hub.el('td', { class: 'row-actions' }, removeButton('adm.remove', () => removeTemplate(t))))));
  Hub.show($('templates-none'), !D.templates.length);
}

async function removeTemplate(t) {
  if (!window.confirm(Hub.t('adm.templateRemoveAsk', { name: t.name }))) return;
  try {
    await Hub.api('DELETE', '/api/admin/board-templates/' + t.id);
    Hub.say('adm.templateRemoved', { name: t.name }, 'ok');
    await loadDevices();
  } catch (e) { fail(e); }
}

/* The dialog's board fields from a look, and the "follows" choice with what it means. */
function fillBoardLook(look) {
  $('look-rows').value = look.rows == null ? '' : String(look.rows);
  $('look-status').checked = look.status_column !== false;
  $('look-banner').value = look.banner || '';
  $('look-background').value = look.background;
  $('look-row').value = look.row;
  $('look-accent').value = look.accent;
  Hub.show($('look-logo-clear-box'), !!look.logo);
  Hub.show($('look-banner-image-clear-box'), !!look.banner_image);
  $('look-logo-clear').checked = false;
  $('look-banner-image-clear').checked = false;
}

function templateChoice(selected) {
  const sel = $('look-template');
  sel.replaceChildren(Hub.el('option', { value: '' }, Hub.t('adm.ownLook')),
    ...D.templates.map((t) => Hub.el('option', { value: String(t.id) }, t.name)));
  sel.value = selected == null ? '' : String(selected);
  templateNote();
}

function templateNote() {
  const t = D.templates.find((x) => String(x.id) === $('look-template').value);
  Hub.setText($('look-template-note'), t ? Hub.t('adm.templateNote', { n: arr(t.boards).length }) : Hub.t('adm.ownLookNote'));
}

/* The look the dialog shows now: the fields over the look it opened with, pictures as chosen. */
function readLook(kind) {
  const look = Object.assign({}, D.look);
  if (kind === 'board') {
    const rows = $('look-rows').value.trim();
    look.rows = rows === '' ? null : Number(rows);
    look.status_column = $('look-status').checked;
    look.banner = $('look-banner').value;
    look.background = $('look-background').value;
    look.row = $('look-row').value;
    look.accent = $('look-accent').value;
    if ($('look-banner-image-clear').checked) look.banner_image = null;
    else if (D.bannerImage !== undefined) look.banner_image = D.bannerImage;
  } else {
    look.print = $('look-print').value;
  }
  if ($('look-logo-clear').checked) look.logo = null;
  else if (D.logo !== undefined) look.logo = D.logo;
  return look;
}

async function toggleDevice(d) {
  try {
    await Hub.api('PATCH', '/api/admin/devices/' + d.id, { disabled: !d.disabled });
    Hub.say(d.disabled ? 'adm.deviceEnabled' : 'adm.deviceDisabled', { name: d.name }, 'ok');
    await loadDevices();
  } catch (e) { fail(e); }
}
async function newSecret(d) {
  if (!window.confirm(Hub.t('adm.newSecretAsk', { name: d.name }))) return;
  try {
    const r = await Hub.api('POST', '/api/admin/devices/' + d.id + '/secret', {});
    Hub.say('adm.newSecretShown', { name: d.name, secret: r.secret }, 'ok');
  } catch (e) { fail(e); }
}

async function openDevice(d) {
  D.device = d;
  D.logo = undefined;
  D.bannerImage = undefined;
  const form = $('device-form');
  clearFieldErrors(form);
  form.reset();
  Hub.setText($('device-dialog-h'), d.name + ' · ' + Hub.t('adm.kind.' + d.kind));
  try {
    const r = await Hub.api('GET', '/api/admin/devices/' + d.id + '/look');
    D.look = r.look;
    D.templateId = r.template_id == null ? null : r.template_id;
  } catch (e) { fail(e); return; }
  const board = d.kind === 'board';
  Hub.show($('look-board'), board);
  Hub.show($('look-kiosk'), !board);
  Hub.show($('look-logo-box'), true);
  Hub.show($('look-logo-clear-box'), !!D.look.logo);
  if (board) {
    fillBoardLook(D.look);
    templateChoice(D.templateId);
    $('look-template-name').value = '';
    $('look-voice').checked = !!d.voice;
    $('look-all').checked = false;
    $('look-chime').checked = !!d.chime;
  } else {
    $('look-print').value = D.look.print || 'off';
  }
  $('device-dialog').showModal();
  $('pair-input').focus();
}

export function init() {
  onBranches(() => { branchOptions($('dev-branch')); renderDevices(); });
  $('devices-filter').addEventListener('input', () => { D.pages.first(); renderDevices(); });
  $('device-close').addEventListener('click', () => $('device-dialog').close());
  $('pair-submit').addEventListener('click', async () => {
    const d = D.device;
    clearFieldErrors($('pair-fields'));
    try {
      await Hub.api('POST', '/api/admin/devices/' + d.id + '/pair', { code: $('pair-input').value });
      $('pair-input').value = '';
      $('device-dialog').close();
      Hub.say('adm.paired', { name: d.name }, 'ok');
    } catch (e) { fieldError($('pair-fields'), e); }
  });
  // A picture chosen is read as a data URL: the device shows it inline, never from an address.
  const picture = (input, key) => $(input).addEventListener('change', () => {
    const file = $(input).files[0];
    D[key] = undefined;
    if (!file) return;
    const reader = new FileReader();
    reader.onload = () => { D[key] = String(reader.result); };
    reader.readAsDataURL(file);
  });
  picture('look-logo', 'logo');
  picture('look-banner-image', 'bannerImage');
  // Following a template shows its look (and saving changes it); its own look starts from what
  // is shown.
  $('look-template').addEventListener('change', () => {
    const t = D.templates.find((x) => String(x.id) === $('look-template').value);
    if (t) { D.look = t.look; D.logo = undefined; D.bannerImage = undefined; fillBoardLook(t.look); }
    templateNote();
  });
  $('look-template-new').addEventListener('click', async () => {
    const d = D.device;
    const box = $('look-new-template');
    clearFieldErrors(box);
    try {
      const t = await Hub.api('POST', '/api/admin/board-templates', { name: $('look-template-name').value.trim(), look: readLook('board') });
      await Hub.api('PUT', '/api/admin/boards/' + d.id + '/template', { template_id: t.id });
      D.templateId = t.id;
      D.look = t.look;
      D.logo = undefined;
      D.bannerImage = undefined;
      await loadDevices();
      templateChoice(t.id);
      fillBoardLook(t.look);
      $('look-template-name').value = '';
      Hub.say('adm.templateMade', { name: t.name }, 'ok');
    } catch (e) { fieldError(box, e); }
  });
  $('look-save').addEventListener('click', async () => {
    const d = D.device;
    const form = $('device-form');
    clearFieldErrors(form);
    const look = readLook(d.kind);
    const tid = d.kind === 'board' && $('look-template').value ? Number($('look-template').value) : null;
    try {
      // The branch's other boards, when the admin gives them the same.
      const others = d.kind === 'board' && $('look-all').checked
        ? D.devices.filter((x) => x.kind === 'board' && x.branch_id === d.branch_id && x.id !== d.id) : [];
      if (tid != null) {
        // A template's look changes for every board following it; this board (and the others
        // chosen) follow it.
        await Hub.api('PATCH', '/api/admin/board-templates/' + tid, { look });
        for (const b of [d, ...others]) {
          if (b.id !== d.id || D.templateId !== tid) await Hub.api('PUT', '/api/admin/boards/' + b.id + '/template', { template_id: tid });
        }
      } else {
        // Its own look (a board leaves the template it followed).
        const r = await Hub.api('PUT', '/api/admin/devices/' + d.id + '/look', look);
        D.look = r.look;
        for (const o of others) await Hub.api('PUT', '/api/admin/devices/' + o.id + '/look', r.look);
      }
      const voice = { voice: $('look-voice').checked, chime: $('look-chime').checked };
      if (d.kind === 'board' && (voice.voice !== !!d.voice || voice.chime !== !!d.chime)) {
        await Hub.api('PATCH', '/api/admin/boards/' + d.id + '/voice', voice);
        await loadDevices();
      }
      // Read again before the dialog closes, as a saved user's is (opened again at once, it
      // shows what was saved).
      if (d.kind === 'board') await loadDevices();
      $('device-dialog').close();
      if (others.length) Hub.say('adm.savedBoards', { n: others.length + 1 }, 'ok'); else Hub.say('adm.saved', null, 'ok');
    } catch (e) { fieldError(form, e); }
  });
  $('device-add-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const form = $('device-add-form');
    clearFieldErrors(form);
    const body = { kind: $('dev-kind').value, name: $('dev-name').value.trim(), login: $('dev-login').value.trim() };
    try {
      const d = await Hub.api('POST', '/api/admin/branches/' + encodeURIComponent($('dev-branch').value) + '/devices', body);
      form.reset();
      branchOptions($('dev-branch'), d.branch_id);
      await loadDevices();
      Hub.say('adm.deviceAdded', { name: d.name }, 'ok');
      // Straight to pairing: the screen shows its code; the secret is not needed.
      const row = D.devices.find((x) => x.id === d.id);
      if (row) openDevice(row);
    } catch (e) { fieldError(form, e); }
  });
}
