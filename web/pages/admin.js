/* /admin: the back office (admin role). Devices (pair a screen by the code it shows, a board's
   template, a kiosk's printing and logo, disable, a new secret), users (disable, a new password),
   break reasons, and the audit log of every change. Lists filter as one types; a form's wrong
   field is named by the server and said beside it. */
'use strict';
Hub.ready(() => {
  const $ = (id) => document.getElementById(id);
  const S = { me: null, branch: null, branches: [], devices: [], users: [], audit: [], auditEnd: false, device: null, look: null, logo: undefined };

  function toLogin() { location.assign('/login?next=' + encodeURIComponent('/admin')); }
  function fail(e) {
    if (e instanceof Hub.HubError && e.status === 401) { toLogin(); return; }
    Hub.showError(e);
  }
  const arr = (v) => (Array.isArray(v) ? v : []);
  const matches = (q, ...fields) => !q || fields.some((f) => String(f || '').toLowerCase().includes(q));

  /* ---------- field errors: the server names the field; the sentence goes beside it ---------- */
  function clearFieldErrors(root) {
    root.querySelectorAll('.field-error').forEach((n) => { Hub.setText(n, ''); Hub.show(n, false); });
    root.querySelectorAll('[aria-invalid]').forEach((n) => n.removeAttribute('aria-invalid'));
  }
  /* Shows the error beside its field when the form has one; else on the message line. */
  function fieldError(root, e) {
    const field = e instanceof Hub.HubError && e.field;
    const box = field && root.querySelector('.field-error[data-field="' + field + '"]');
    if (!box) { fail(e); return; }
    Hub.setText(box, Hub.errorText(e));
    Hub.show(box, true);
    const input = document.querySelector('[aria-describedby~="' + box.id + '"]');
    if (input) { input.setAttribute('aria-invalid', 'true'); input.focus(); }
  }

  /* ---------- tabs ---------- */
  function tab(name) {
    document.querySelectorAll('[data-tab]').forEach((b) => b.setAttribute('aria-selected', String(b.dataset.tab === name)));
    document.querySelectorAll('.tab-panel').forEach((p) => Hub.show(p, p.id === 'panel-' + name));
    if (name === 'audit') loadAudit(true);
  }
  document.querySelectorAll('[data-tab]').forEach((b) => b.addEventListener('click', () => tab(b.dataset.tab)));

  /* ---------- a branch: its services (the kiosk's menu) and windows ---------- */
  async function loadBranch() {
    const id = $('branch-pick').value;
    if (!id) return;
    try { S.branch = await Hub.api('GET', '/api/branches/' + encodeURIComponent(id)); } catch (e) { fail(e); return; }
    renderBranch();
  }
  function renderBranch() {
    const d = S.branch;
    if (!d) return;
    const services = arr(d.services).slice().sort((a, b) => (a.position - b.position) || (a.id - b.id));
    const groups = services.filter((x) => x.prefix == null && x.parent_id == null);
    const item = (x) => Hub.el('li', { 'data-testid': 'service-item', 'data-service-id': String(x.id) },
      x.prefix ? Hub.el('span', { class: 'prefix-tag' }, x.prefix) : null, ' ', Hub.serviceName(x),
      x.prefix == null ? Hub.el('span', { class: 'muted' }, ' · ' + Hub.t('adm.group')) : null);
    $('services').replaceChildren(...services.filter((x) => x.parent_id == null).map((x) => {
      const li = item(x);
      const children = services.filter((c) => c.parent_id === x.id);
      if (children.length) li.appendChild(Hub.el('ul', null, ...children.map(item)));
      return li;
    }));
    const parent = $('svc-parent');
    const keep = parent.value;
    parent.replaceChildren(Hub.el('option', { value: '' }, Hub.t('adm.topLevel')),
      ...groups.map((g) => Hub.el('option', { value: String(g.id) }, Hub.serviceName(g))));
    if ([...parent.options].some((o) => o.value === keep)) parent.value = keep;
    $('windows').replaceChildren(...arr(d.windows).map((w) => Hub.el('li', { 'data-testid': 'window-item', 'data-window-id': String(w.id) },
      Hub.t('adm.windowN', { label: w.label }))));
  }
  $('branch-pick').addEventListener('change', loadBranch);
  $('service-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const form = $('service-form');
    clearFieldErrors(form);
    const body = { name_ru: $('svc-name-ru').value.trim(), name_en: $('svc-name-en').value.trim() };
    const prefix = $('svc-prefix').value.trim().toUpperCase();
    if (prefix) body.prefix = prefix;
    if ($('svc-parent').value) body.parent_id = Number($('svc-parent').value);
    try {
      const svc = await Hub.api('POST', '/api/admin/branches/' + S.branch.branch.id + '/services', body);
      form.reset();
      Hub.say('adm.serviceAdded', { name: Hub.serviceName(svc) }, 'ok');
      await loadBranch();
    } catch (e) { fieldError(form, e); }
  });
  $('window-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const form = $('window-form');
    clearFieldErrors(form);
    try {
      const w = await Hub.api('POST', '/api/admin/branches/' + S.branch.branch.id + '/windows', { label: $('win-label').value.trim() });
      form.reset();
      Hub.say('adm.windowAdded', { label: w.label }, 'ok');
      await loadBranch();
    } catch (e) { fieldError(form, e); }
  });

  /* ---------- devices ---------- */
  const branchName = (id) => { const b = S.branches.find((x) => x.id === id); return b ? b.name : '#' + id; };
  async function loadDevices() { S.devices = arr(await Hub.api('GET', '/api/admin/devices')); renderDevices(); }
  function renderDevices() {
    const q = $('devices-filter').value.trim().toLowerCase();
    const list = S.devices.filter((d) => matches(q, d.name, d.login, branchName(d.branch_id), Hub.t('adm.kind.' + d.kind)));
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
  $('devices-filter').addEventListener('input', renderDevices);

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
    S.device = d;
    S.logo = undefined;
    const form = $('device-form');
    clearFieldErrors(form);
    form.reset();
    Hub.setText($('device-dialog-h'), d.name + ' · ' + Hub.t('adm.kind.' + d.kind));
    try {
      const r = await Hub.api('GET', '/api/admin/devices/' + d.id + '/look');
      S.look = r.look;
    } catch (e) { fail(e); return; }
    const board = d.kind === 'board';
    Hub.show($('look-board'), board);
    Hub.show($('look-kiosk'), !board);
    Hub.show($('look-logo-box'), true);
    if (board) {
      $('look-rows').value = S.look.rows == null ? '' : String(S.look.rows);
      $('look-status').checked = S.look.status_column !== false;
      $('look-banner').value = S.look.banner || '';
      $('look-background').value = S.look.background;
      $('look-row').value = S.look.row;
      $('look-accent').value = S.look.accent;
    } else {
      $('look-print').value = S.look.print || 'off';
    }
    $('device-dialog').showModal();
    $('pair-input').focus();
  }
  $('device-close').addEventListener('click', () => $('device-dialog').close());

  $('pair-submit').addEventListener('click', async () => {
    const d = S.device;
    clearFieldErrors($('pair-fields'));
    try {
      await Hub.api('POST', '/api/admin/devices/' + d.id + '/pair', { code: $('pair-input').value });
      $('pair-input').value = '';
      $('device-dialog').close();
      Hub.say('adm.paired', { name: d.name }, 'ok');
    } catch (e) { fieldError($('pair-fields'), e); }
  });

  $('look-logo').addEventListener('change', () => {
    const file = $('look-logo').files[0];
    if (!file) { S.logo = undefined; return; }
    const reader = new FileReader();
    reader.onload = () => { S.logo = String(reader.result); };
    reader.readAsDataURL(file);
  });

  $('look-save').addEventListener('click', async () => {
    const d = S.device;
    const form = $('device-form');
    clearFieldErrors(form);
    const look = Object.assign({}, S.look);
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
    if (S.logo !== undefined) look.logo = S.logo;
    try {
      const r = await Hub.api('PUT', '/api/admin/devices/' + d.id + '/look', look);
      S.look = r.look;
      $('device-dialog').close();
      Hub.say('adm.saved', null, 'ok');
    } catch (e) { fieldError(form, e); }
  });

  /* ---------- users ---------- */
  async function loadUsers() { S.users = arr(await Hub.api('GET', '/api/admin/users')); renderUsers(); }
  function renderUsers() {
    const q = $('users-filter').value.trim().toLowerCase();
    const list = S.users.filter((u) => matches(q, u.name, u.login, Hub.t('role.' + u.role)));
    $('users').replaceChildren(...list.map((u) => {
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
        Hub.el('td', null, Hub.el('span', { class: 'pill', 'data-status': u.disabled ? 'off' : 'on' }, Hub.t(u.disabled ? 'adm.disabled' : 'adm.enabled'))),
        Hub.el('td', { class: 'row-actions' },
          self ? null : Hub.el('button', { type: 'button', class: 'btn ghost', 'data-testid': 'user-toggle', onclick: () => toggleUser(u) },
            Hub.t(u.disabled ? 'adm.enable' : 'adm.disable')),
          Hub.el('button', { type: 'button', class: 'btn ghost', 'data-testid': 'user-reset',
            onclick: () => { Hub.show(pw, true); Hub.show(save, true); pw.focus(); } }, Hub.t('adm.resetPassword')),
          pw, save, err));
    }));
    Hub.show($('users-none'), !list.length);
  }
  $('users-filter').addEventListener('input', renderUsers);
  async function toggleUser(u) {
    try {
      await Hub.api('PATCH', '/api/admin/users/' + u.id, { disabled: !u.disabled });
      Hub.say(u.disabled ? 'adm.userEnabled' : 'adm.userDisabled', { name: u.name }, 'ok');
      await loadUsers();
    } catch (e) { fail(e); }
  }

  /* ---------- break reasons ---------- */
  async function loadBreaks() {
    $('breaks-text').value = arr(await Hub.api('GET', '/api/break-reasons')).join('\n');
  }
  $('breaks-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearFieldErrors($('breaks-form'));
    const reasons = $('breaks-text').value.split('\n').map((l) => l.trim()).filter(Boolean);
    try {
      await Hub.api('PUT', '/api/admin/break-reasons', { reasons });
      Hub.say('adm.saved', null, 'ok');
      await loadBreaks();
    } catch (e) { fieldError($('breaks-form'), e); }
  });

  /* ---------- audit log ---------- */
  function actionText(a) {
    const key = 'adm.act.' + a.action;
    const known = Hub.keys(Hub.lang).includes(key);
    return known ? Hub.t(key) : Hub.t('adm.act.other', { what: a.action });
  }
  function changeText(a) {
    const brief = (v) => {
      if (v == null) return '';
      const s = typeof v === 'string' ? v : JSON.stringify(v);
      return s.length > 160 ? s.slice(0, 157) + '…' : s;
    };
    const before = brief(a.before);
    const after = brief(a.after);
    return before && after ? before + ' → ' + after : before || after;
  }
  async function loadAudit(reset) {
    const q = $('audit-q').value.trim();
    const params = new URLSearchParams({ limit: '50' });
    if (q) params.set('q', q);
    if (!reset && S.audit.length) params.set('before', String(S.audit[S.audit.length - 1].id));
    try {
      const page = arr(await Hub.api('GET', '/api/admin/audit?' + params));
      S.audit = reset ? page : S.audit.concat(page);
      S.auditEnd = page.length < 50;
      renderAudit();
    } catch (e) { fail(e); }
  }
  function renderAudit() {
    $('audit').replaceChildren(...S.audit.map((a) => Hub.el('tr', { 'data-testid': 'audit-row', 'data-action': a.action, 'data-object-id': a.object_id == null ? '' : String(a.object_id) },
      Hub.el('td', { class: 'num' }, Hub.fmtTime(a.at)),
      Hub.el('td', null, a.actor),
      Hub.el('td', null, actionText(a), a.object_id != null ? ' #' + a.object_id : ''),
      Hub.el('td', { class: 'audit-change' }, changeText(a)))));
    Hub.show($('audit-more'), !S.auditEnd);
  }
  $('audit-q').addEventListener('input', Hub.debounce(() => loadAudit(true), 250));
  $('audit-more').addEventListener('click', () => loadAudit(false));

  Hub.onLang(() => { renderBranch(); renderDevices(); renderUsers(); renderAudit(); });

  /* ---------- start ---------- */
  (async () => {
    try {
      S.me = await Hub.api('GET', '/api/me');
    } catch (e) {
      if (e.status === 401) { toLogin(); return; }
      Hub.showError(e); return;
    }
    if (!S.me || S.me.type !== 'user' || S.me.role !== 'admin') { Hub.say('adm.notAdmin', null, 'error'); return; }
    Hub.setDefaultLang(S.me.lang);
    Hub.setText($('who'), S.me.name);
    try {
      S.branches = arr(await Hub.api('GET', '/api/branches'));
      $('branch-pick').replaceChildren(...S.branches.map((b) => Hub.el('option', { value: String(b.id) }, b.name)));
      await Promise.all([loadBranch(), loadDevices(), loadUsers(), loadBreaks()]);
    } catch (e) { fail(e); return; }
    tab('branch');
    $('admin').dataset.ready = '1';
  })();
});
