/* Kiosks and boards: add one to a branch, pair a new screen by the code it shows (nobody types a
   secret on a TV), a board's template, a kiosk's printing and logo, disable, a new secret. */
import { Hub, $, arr, fail, matches, clearFieldErrors, fieldError, branchName, branchOptions, onBranches } from './admin-kit.js';

const D = { devices: [], device: null, look: null, logo: undefined, bannerImage: undefined };
export async function loadDevices() { D.devices = arr(await Hub.api('GET', '/api/admin/devices')); renderDevices(); }
export function renderDevices() {
  const q = $('devices-filter').value.trim().toLowerCase();
  const list = D.devices.filter((d) => matches(q, d.name, d.login, branchName(d.branch_id), Hub.t('adm.kind.' + d.kind)));
  $('devices').replaceChildren(...list.map((d) => Hub.el('tr', { 'data-testid': 'device-row', 'data-device-id': String(d.id), 'data-login': d.login },
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
  } catch (e) { fail(e); return; }
  const board = d.kind === 'board';
  Hub.show($('look-board'), board);
  Hub.show($('look-kiosk'), !board);
  Hub.show($('look-logo-box'), true);
  Hub.show($('look-logo-clear-box'), !!D.look.logo);
  Hub.show($('look-banner-image-clear-box'), board && !!D.look.banner_image);
  if (board) {
    $('look-rows').value = D.look.rows == null ? '' : String(D.look.rows);
    $('look-status').checked = D.look.status_column !== false;
    $('look-banner').value = D.look.banner || '';
    $('look-background').value = D.look.background;
    $('look-row').value = D.look.row;
    $('look-accent').value = D.look.accent;
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
  $('devices-filter').addEventListener('input', renderDevices);
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
  $('look-save').addEventListener('click', async () => {
    const d = D.device;
    const form = $('device-form');
    clearFieldErrors(form);
    const look = Object.assign({}, D.look);
    if (d.kind === 'board') {
      const rows = $('look-rows').value.trim();
      look.rows = rows === '' ? null : Number(rows);
      look.status_column = $('look-status').checked;
      look.banner = $('look-banner').value;
      look.background = $('look-background').value;
      look.row = $('look-row').value;
      look.accent = $('look-accent').value;
    } else {
      look.print = $('look-print').value;
    }
    if ($('look-logo-clear').checked) look.logo = null;
    else if (D.logo !== undefined) look.logo = D.logo;
    if (d.kind === 'board') {
      if ($('look-banner-image-clear').checked) look.banner_image = null;
      else if (D.bannerImage !== undefined) look.banner_image = D.bannerImage;
    }
    try {
      const r = await Hub.api('PUT', '/api/admin/devices/' + d.id + '/look', look);
      D.look = r.look;
      // One template for the branch's boards: the others take the same, each on its own screens.
      const others = d.kind === 'board' && $('look-all').checked
        ? D.devices.filter((x) => x.kind === 'board' && x.branch_id === d.branch_id && x.id !== d.id) : [];
      for (const o of others) await Hub.api('PUT', '/api/admin/devices/' + o.id + '/look', r.look);
      const voice = { voice: $('look-voice').checked, chime: $('look-chime').checked };
      if (d.kind === 'board' && (voice.voice !== !!d.voice || voice.chime !== !!d.chime)) {
        await Hub.api('PATCH', '/api/admin/boards/' + d.id + '/voice', voice);
        await loadDevices();
      }
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
