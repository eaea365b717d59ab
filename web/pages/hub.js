/* Hub shared browser helpers: API calls, i18n, WebSocket with reconnect, DOM building.
   Every piece of server or user text goes into the page through textContent (see el()/setText())
   or esc(); nothing from data is ever assigned to innerHTML. */
'use strict';
(function (global) {
  const DICT = {
    en: {
      'common.done': 'Done', 'common.back': 'Back', 'common.none': '—',
      'title.index': 'Hub — electronic queue', 'title.login': 'Sign in — Hub',
      'title.operator': 'Operator console — Hub', 'title.kiosk': 'Kiosk — Hub',
      'title.board': 'Queue board — Hub', 'title.ticket': 'Your ticket — Hub',
      'title.registrar': 'Take a ticket — Hub',
      'index.lead': 'Self-hosted electronic queue and contact centre.',
      'index.operator': 'Operator console', 'index.operator.d': 'Call and serve visitors at your window.',
      'index.kiosk': 'Kiosk', 'index.kiosk.d': 'Touch-screen ticket dispenser for the branch hall.',
      'index.board': 'Queue board', 'index.board.d': 'Large screen showing which ticket goes to which window.',
      'index.note': 'Visitors open the ticket status page and the mobile registrar by QR code.',
      'login.heading': 'Sign in', 'login.login': 'Login', 'login.password': 'Password',
      'login.submit': 'Sign in', 'login.busy': 'Signing in…', 'login.already': 'You are signed in as {name}.',
      'login.continue': 'Continue',
      'ws.live': 'Live', 'ws.connecting': 'Connecting…', 'ws.reconnecting': 'Reconnecting…', 'ws.offline': 'Offline',
      'op.heading': 'Operator console', 'op.signout': 'Sign out', 'op.place': 'Workplace',
      'op.branch': 'Branch', 'op.window': 'Window', 'op.services': 'Services I serve',
      'op.start': 'Start work', 'op.choose': 'Choose…', 'op.noServices': 'This branch has no services.',
      'op.needWindow': 'Choose a window.', 'op.needService': 'Choose at least one service.',
      'op.placeSaved': 'Workplace saved: window {window}.', 'op.current': 'Ticket in hand',
      'op.noTicket': 'No ticket in hand', 'op.service': 'Service', 'op.recalls': 'Recalls: {n} of {max}',
      'op.callNext': 'Call next', 'op.recall': 'Recall', 'op.noShow': 'No-show', 'op.startService': 'Start service',
      'op.finish': 'Finish', 'op.finishComment': 'Comment (optional)', 'op.transfer': 'Transfer',
      'op.transferTo': 'To service', 'op.back': 'Back of the queue', 'op.front': 'Front of the queue',
      'op.transferComment': 'Comment for the next operator (optional)', 'op.presence': 'Presence',
      'op.breakReason': 'Break reason', 'op.takeBreak': 'Take a break', 'op.backToWork': 'Back to work',
      'op.nobody': 'Nobody is waiting.', 'op.called': 'Called {number}.', 'op.finished': 'Ticket {number} finished.',
      'op.transferred': 'Ticket {number} transferred.', 'op.noShowDone': 'Ticket {number} marked as no-show.',
      'op.recalled': 'Ticket {number} recalled.', 'op.needReason': 'Enter a break reason.',
      'op.queues': 'Waiting now', 'op.waiting': 'Waiting', 'op.eta': 'Est. wait',
      'op.stats': 'Today', 'op.served': 'Served', 'op.noShows': 'No-shows', 'op.avgWait': 'Average wait',
      'op.avgService': 'Average service', 'op.notOperator': 'This account cannot use the operator console.',
      'pr.offline': 'Offline', 'pr.available': 'Available', 'pr.break': 'On break: {reason}',
      'st.waiting': 'Waiting', 'st.called': 'Called', 'st.serving': 'Serving', 'st.done': 'Done', 'st.no_show': 'No-show',
      'dev.heading': 'Device sign-in', 'dev.login': 'Device login', 'dev.secret': 'Device secret',
      'dev.submit': 'Sign in', 'dev.wrongKind': 'This device is not registered as a {kind}.',
      'kiosk.choose': 'Choose a service', 'kiosk.closed': 'The branch is closed',
      'kiosk.closedHint': 'Please come back during working hours.', 'kiosk.vip': 'VIP',
      'kiosk.vipCode': 'VIP code', 'kiosk.yourTicket': 'Your ticket', 'kiosk.ahead': 'Ahead of you:',
      'kiosk.eta': 'Estimated wait:', 'kiosk.scan': 'Scan to follow your ticket on your phone',
      'kiosk.phone': 'No queue at the kiosk: take a ticket on your phone',
      'kiosk.empty': 'No services are available.', 'kiosk.issuing': 'Printing your ticket…',
      'eta.unknown': 'unknown', 'eta.lt1': 'less than a minute', 'eta.min': '≈ {n} min',
      'board.ticket': 'Ticket', 'board.window': 'Window', 'board.empty': 'Waiting for the first call…',
      'board.goTo': 'please go to window',
      'tk.service': 'Service', 'tk.branch': 'Branch', 'tk.ahead': 'Ahead of you:', 'tk.eta': 'Estimated wait:',
      'tk.goTo': 'Please go to window', 'tk.servedAt': 'You are being served at window',
      'tk.waiting': 'Waiting in the queue', 'tk.called': 'It is your turn!', 'tk.serving': 'Being served',
      'tk.done': 'Service completed. Thank you for your visit!',
      'tk.no_show': 'The ticket was closed: you did not come when called.',
      'tk.notFound': 'Ticket not found.', 'tk.keepOpen': 'Keep this page open: it updates by itself.',
      'reg.heading': 'Take a ticket', 'reg.notFound': 'Branch not found.',
      'err.generic': 'Something went wrong.', 'err.network': 'No connection to the server.',
    },
    ru: {
      'common.done': 'Готово', 'common.back': 'Назад', 'common.none': '—',
      'title.index': 'Hub — электронная очередь', 'title.login': 'Вход — Hub',
      'title.operator': 'Пульт оператора — Hub', 'title.kiosk': 'Киоск — Hub',
      'title.board': 'Табло очереди — Hub', 'title.ticket': 'Ваш талон — Hub',
      'title.registrar': 'Получить талон — Hub',
      'index.lead': 'Электронная очередь и контакт-центр на вашем сервере.',
      'index.operator': 'Пульт оператора', 'index.operator.d': 'Вызов и обслуживание посетителей у окна.',
      'index.kiosk': 'Киоск', 'index.kiosk.d': 'Сенсорный терминал выдачи талонов в зале.',
      'index.board': 'Табло', 'index.board.d': 'Большой экран: какой талон к какому окну.',
      'index.note': 'Статус талона и мобильная регистрация открываются по QR-коду.',
      'login.heading': 'Вход', 'login.login': 'Логин', 'login.password': 'Пароль',
      'login.submit': 'Войти', 'login.busy': 'Вход…', 'login.already': 'Вы вошли как {name}.',
      'login.continue': 'Продолжить',
      'ws.live': 'На связи', 'ws.connecting': 'Подключение…', 'ws.reconnecting': 'Переподключение…', 'ws.offline': 'Нет связи',
      'op.heading': 'Пульт оператора', 'op.signout': 'Выйти', 'op.place': 'Рабочее место',
      'op.branch': 'Отделение', 'op.window': 'Окно', 'op.services': 'Обслуживаемые услуги',
      'op.start': 'Начать работу', 'op.choose': 'Выберите…', 'op.noServices': 'В отделении нет услуг.',
      'op.needWindow': 'Выберите окно.', 'op.needService': 'Выберите хотя бы одну услугу.',
      'op.placeSaved': 'Рабочее место сохранено: окно {window}.', 'op.current': 'Талон в работе',
      'op.noTicket': 'Нет талона в работе', 'op.service': 'Услуга', 'op.recalls': 'Повторных вызовов: {n} из {max}',
      'op.callNext': 'Вызвать следующего', 'op.recall': 'Вызвать повторно', 'op.noShow': 'Не явился',
      'op.startService': 'Начать обслуживание', 'op.finish': 'Завершить', 'op.finishComment': 'Комментарий (необязательно)',
      'op.transfer': 'Перевести', 'op.transferTo': 'В услугу', 'op.back': 'В конец очереди', 'op.front': 'В начало очереди',
      'op.transferComment': 'Комментарий для следующего оператора (необязательно)', 'op.presence': 'Статус',
      'op.breakReason': 'Причина перерыва', 'op.takeBreak': 'Уйти на перерыв', 'op.backToWork': 'Вернуться к работе',
      'op.nobody': 'Никто не ждёт.', 'op.called': 'Вызван {number}.', 'op.finished': 'Талон {number} завершён.',
      'op.transferred': 'Талон {number} переведён.', 'op.noShowDone': 'Талон {number}: посетитель не явился.',
      'op.recalled': 'Талон {number} вызван повторно.', 'op.needReason': 'Укажите причину перерыва.',
      'op.queues': 'Сейчас ожидают', 'op.waiting': 'Ожидают', 'op.eta': 'Ожидание',
      'op.stats': 'Сегодня', 'op.served': 'Обслужено', 'op.noShows': 'Неявки', 'op.avgWait': 'Среднее ожидание',
      'op.avgService': 'Среднее обслуживание', 'op.notOperator': 'Эта учётная запись не может работать в пульте оператора.',
      'pr.offline': 'Не в сети', 'pr.available': 'Принимаю', 'pr.break': 'Перерыв: {reason}',
      'st.waiting': 'Ожидает', 'st.called': 'Вызван', 'st.serving': 'Обслуживается', 'st.done': 'Завершён', 'st.no_show': 'Не явился',
      'dev.heading': 'Вход устройства', 'dev.login': 'Логин устройства', 'dev.secret': 'Секрет устройства',
      'dev.submit': 'Войти', 'dev.wrongKind': 'Это устройство не зарегистрировано как {kind}.',
      'kiosk.choose': 'Выберите услугу', 'kiosk.closed': 'Отделение закрыто',
      'kiosk.closedHint': 'Приходите, пожалуйста, в рабочее время.', 'kiosk.vip': 'VIP',
      'kiosk.vipCode': 'VIP-код', 'kiosk.yourTicket': 'Ваш талон', 'kiosk.ahead': 'Перед вами:',
      'kiosk.eta': 'Примерное ожидание:', 'kiosk.scan': 'Отсканируйте, чтобы следить за талоном на телефоне',
      'kiosk.phone': 'Без очереди к киоску: возьмите талон на телефоне',
      'kiosk.empty': 'Нет доступных услуг.', 'kiosk.issuing': 'Печатаем талон…',
      'eta.unknown': 'неизвестно', 'eta.lt1': 'меньше минуты', 'eta.min': '≈ {n} мин',
      'board.ticket': 'Талон', 'board.window': 'Окно', 'board.empty': 'Ожидаем первого вызова…',
      'board.goTo': 'пройдите к окну',
      'tk.service': 'Услуга', 'tk.branch': 'Отделение', 'tk.ahead': 'Перед вами:', 'tk.eta': 'Примерное ожидание:',
      'tk.goTo': 'Пройдите к окну', 'tk.servedAt': 'Вас обслуживают у окна',
      'tk.waiting': 'Ожидание в очереди', 'tk.called': 'Ваша очередь!', 'tk.serving': 'Идёт обслуживание',
      'tk.done': 'Обслуживание завершено. Спасибо за визит!',
      'tk.no_show': 'Талон закрыт: вы не подошли по вызову.',
      'tk.notFound': 'Талон не найден.', 'tk.keepOpen': 'Не закрывайте страницу: она обновляется сама.',
      'reg.heading': 'Получить талон', 'reg.notFound': 'Отделение не найдено.',
      'err.generic': 'Что-то пошло не так.', 'err.network': 'Нет связи с сервером.',
      'err.not_found': 'Не найдено', 'err.invalid': 'Неверные данные', 'err.conflict': 'Конфликт состояния',
      'err.branch_closed': 'Отделение закрыто', 'err.bad_credentials': 'Неверный логин или пароль',
      'err.unauthenticated': 'Требуется вход', 'err.forbidden': 'Доступ запрещён',
      'err.ticket_state': 'Действие недоступно для талона в этом состоянии', 'err.presence': 'Нельзя сменить статус',
      'err.payload_too_large': 'Слишком большой запрос', 'err.bad_json': 'Некорректный запрос',
      'err.store_unavailable': 'Хранилище недоступно', 'err.internal': 'Внутренняя ошибка сервера',
    },
  };
  const LANG_KEY = 'hub.lang';
  const listeners = [];
  let lang = 'en';
  const isLang = (l) => l === 'ru' || l === 'en';

  function stored(key) { try { return localStorage.getItem(key); } catch (_) { return null; } }
  function store(key, value) {
    try { if (value == null) localStorage.removeItem(key); else localStorage.setItem(key, value); } catch (_) { /* private mode */ }
  }

  function t(key, params) {
    let s = DICT[lang][key] ?? DICT.en[key] ?? key;
    if (params) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in params ? String(params[k]) : m));
    return s;
  }

  /* The page's own language (principal or branch) unless the visitor chose one with the toggle. */
  function setDefaultLang(l) {
    const chosen = stored(LANG_KEY);
    apply(isLang(chosen) ? chosen : (isLang(l) ? l : lang));
  }
  function apply(l) {
    lang = l;
    document.documentElement.lang = l;
    applyI18n(document);
    document.querySelectorAll('.lang-toggle button').forEach((b) => b.setAttribute('aria-pressed', String(b.dataset.lang === l)));
    listeners.forEach((fn) => { try { fn(l); } catch (e) { console.error(e); } });
  }
  function onLang(fn) { listeners.push(fn); }

  function applyI18n(root) {
    root.querySelectorAll('[data-i18n]').forEach((n) => { n.textContent = t(n.dataset.i18n); });
    root.querySelectorAll('[data-i18n-ph]').forEach((n) => { n.placeholder = t(n.dataset.i18nPh); });
  }

  function mountLangToggles() {
    document.querySelectorAll('.lang-toggle').forEach((box) => {
      box.replaceChildren();
      box.setAttribute('role', 'group');
      box.setAttribute('aria-label', 'Language / Язык');
      ['ru', 'en'].forEach((l) => {
        box.appendChild(el('button', {
          type: 'button', 'data-lang': l, 'aria-pressed': String(l === lang),
          onclick: () => { store(LANG_KEY, l); apply(l); },
        }, l.toUpperCase()));
      });
    });
  }

  function esc(s) {
    return String(s == null ? '' : s).replace(/[&<>"']/g, (c) => (
      { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
  }

  /* el('button', {class: 'btn', onclick: fn}, 'text', node) */
  function el(tag, attrs, ...children) {
    const n = document.createElement(tag);
    if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v == null || v === false) continue;
        if (k.startsWith('on') && typeof v === 'function') n.addEventListener(k.slice(2), v);
        else if (k === 'class') n.className = v;
        else if (k === 'text') n.textContent = v;
        else if (k === 'checked' || k === 'disabled' || k === 'selected' || k === 'value') n[k] = v;
        else n.setAttribute(k, v === true ? '' : String(v));
      }
    }
    for (const c of children) if (c != null && c !== false) n.append(c);
    return n;
  }

  const tid = (id, root) => (root || document).querySelector('[data-testid="' + id + '"]');
  function setText(node, text) { if (node) node.textContent = text == null ? '' : String(text); }
  function show(node, on) { if (node) node.classList.toggle('hidden', !on); }

  class HubError extends Error {
    constructor(status, code, message) { super(message); this.status = status; this.code = code; }
  }

  /* fetch wrapper: JSON in, JSON out, {code,message} errors thrown as HubError. */
  async function api(method, path, body, opts) {
    const headers = { Accept: 'application/json' };
    if (opts && opts.token) headers.Authorization = 'Bearer ' + opts.token;
    const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try { res = await fetch(path, init); } catch (_) { throw new HubError(0, 'network', t('err.network')); }
    const text = res.status === 204 ? '' : await res.text().catch(() => '');
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (_) { /* not JSON */ }
    if (!res.ok) {
      const code = data && typeof data.code === 'string' ? data.code : 'http_' + res.status;
      const msg = data && typeof data.message === 'string' ? data.message : (res.statusText || '');
      throw new HubError(res.status, code, msg);
    }
    return data;
  }

  function errorText(e) {
    if (!(e instanceof HubError)) return t('err.generic');
    const loc = DICT[lang]['err.' + e.code];
    if (!loc) return e.message || t('err.generic');
    if (!e.message || e.message === loc || lang === 'en') return e.message || loc;
    return loc + ' (' + e.message + ')';
  }

  /* The page's message line ([data-testid=message]). kind: info | error | ok */
  function message(text, kind) {
    const box = tid('message');
    if (!box) return;
    box.textContent = text || '';
    box.dataset.kind = text ? (kind || 'info') : '';
    box.setAttribute('role', kind === 'error' ? 'alert' : 'status');
    show(box, !!text);
  }
  function showError(e) { if (e) console.warn(e); message(errorText(e), 'error'); }
  function clearMessage() { message(''); }

  /* WebSocket with automatic reconnect; back-off doubles from 500 ms, capped at 5 s. */
  function socket(path, h) {
    const handlers = h || {};
    let ws = null; let delay = 500; let timer = null; let stopped = false;
    const status = (s) => { if (handlers.onStatus) handlers.onStatus(s); };
    function url() {
      const p = typeof path === 'function' ? path() : path;
      return (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + p;
    }
    function connect() {
      clearTimeout(timer); timer = null;
      if (stopped) return;
      status(ws === null && delay === 500 ? 'connecting' : 'reconnecting');
      try { ws = new WebSocket(url()); } catch (_) { ws = null; schedule(); return; }
      const me = ws;
      me.onopen = () => { delay = 500; status('live'); if (handlers.onOpen) handlers.onOpen(); };
      me.onmessage = (ev) => {
        let data;
        try { data = JSON.parse(ev.data); } catch (_) { return; }
        if (handlers.onMessage) handlers.onMessage(data);
      };
      me.onclose = () => {
        if (ws !== me) return;
        ws = null;
        if (stopped) return;
        status('reconnecting');
        if (handlers.onClose) handlers.onClose();
        schedule();
      };
    }
    function schedule() {
      if (stopped || timer) return;
      const wait = Math.min(5000, delay * (0.85 + Math.random() * 0.3));
      delay = Math.min(delay * 2, 5000);
      timer = setTimeout(connect, wait);
    }
    const now = () => { if (!stopped && !ws) { delay = 500; connect(); } };
    window.addEventListener('online', now);
    document.addEventListener('visibilitychange', () => { if (!document.hidden) now(); });
    connect();
    return {
      stop() {
        stopped = true; clearTimeout(timer); timer = null;
        if (ws) { const w = ws; ws = null; w.close(); }
        status('offline');
      },
    };
  }

  /* Keeps a [data-testid=ws-status] badge in step with a socket's state. */
  function wsBadge(node) {
    let state = 'connecting';
    const paint = () => { if (node) { node.dataset.state = state; node.textContent = t('ws.' + state); } };
    onLang(paint);
    paint();
    return (s) => { state = s; paint(); };
  }

  function debounce(fn, ms) {
    let timer = null;
    return (...a) => { clearTimeout(timer); timer = setTimeout(() => fn(...a), ms); };
  }

  function fmtDur(secs) {
    if (secs == null || !isFinite(secs)) return t('common.none');
    const s = Math.max(0, Math.round(secs));
    return Math.floor(s / 60) + ':' + String(s % 60).padStart(2, '0');
  }
  function fmtEta(secs) {
    if (secs == null || !isFinite(secs)) return t('eta.unknown');
    if (secs < 60) return t('eta.lt1');
    return t('eta.min', { n: Math.round(secs / 60) });
  }
  function serviceName(s) {
    if (!s) return '';
    return lang === 'ru' ? (s.name_ru || s.name_en || '') : (s.name_en || s.name_ru || '');
  }
  function pathPart(i) {
    const parts = location.pathname.split('/').filter(Boolean);
    try { return decodeURIComponent(parts[i] || ''); } catch (_) { return ''; }
  }

  /* Kiosk / registrar menu: top-level entries (parent_id null) by position; a group (prefix null)
     opens its children; a service calls onPick(service). */
  function menu(root, onPick) {
    let services = []; let group = null; let busy = false;
    const byPos = (a, b) => (a.position - b.position) || (a.id - b.id);
    const ids = () => new Set(services.map((s) => s.id));
    function children(parentId) {
      const known = ids();
      return services.filter((s) => {
        const p = s.parent_id == null || !known.has(s.parent_id) ? null : s.parent_id;
        return p === parentId;
      }).sort(byPos);
    }
    const hasLeaf = (g, d = 0) => d < 8 && children(g.id).some((c) => c.prefix != null || hasLeaf(c, d + 1));
    function render() {
      root.replaceChildren();
      const head = el('div', { class: 'menu-head' });
      if (group) {
        head.appendChild(el('button', {
          type: 'button', class: 'btn menu-back', 'data-testid': 'menu-back',
          onclick: () => { const parent = services.find((s) => s.id === group.parent_id); group = parent || null; render(); },
        }, '← ' + t('common.back')));
        head.appendChild(el('h2', null, serviceName(group)));
      } else {
        head.appendChild(el('h2', null, t('kiosk.choose')));
      }
      root.appendChild(head);
      const items = children(group ? group.id : null).filter((s) => s.prefix != null || hasLeaf(s));
      const grid = el('div', { class: 'menu-grid' });
      for (const s of items) {
        const isGroup = s.prefix == null;
        grid.appendChild(el('button', {
          type: 'button', class: 'menu-btn' + (isGroup ? ' group' : ''), 'data-testid': 'service-button',
          'data-service-id': s.id, 'data-group': isGroup ? '1' : null, disabled: busy,
          onclick: () => {
            if (busy) return;
            if (isGroup) { group = s; render(); } else onPick(s);
          },
        }, el('span', { class: 'menu-name' }, serviceName(s)), isGroup ? el('span', { class: 'chev', 'aria-hidden': 'true' }, '›') : null));
      }
      if (!items.length) grid.appendChild(el('p', { class: 'muted center' }, t('kiosk.empty')));
      root.appendChild(grid);
    }
    onLang(() => { if (services.length || group) render(); });
    return {
      set(list) {
        services = Array.isArray(list) ? list.slice() : [];
        if (group) group = services.find((s) => s.id === group.id && s.prefix == null) || null;
        render();
      },
      reset() { group = null; render(); },
      busy(on) { busy = on; root.querySelectorAll('button').forEach((b) => { b.disabled = on; }); },
    };
  }

  /* Device sign-in form (kiosk, board): fields device-login / device-secret, stores the token. */
  function deviceForm(form, storageKey, onDone) {
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const login = tid('device-login', form).value.trim();
      const secret = tid('device-secret', form).value;
      const btn = tid('device-submit', form);
      btn.disabled = true;
      clearMessage();
      try {
        const r = await api('POST', '/api/auth/device', { login, secret });
        store(storageKey, r.token);
        tid('device-secret', form).value = '';
        onDone(r.token, r.principal);
      } catch (e) { showError(e); } finally { btn.disabled = false; }
    });
  }

  /* Boot: saved choice, else the browser's language; pages refine it with setDefaultLang(). */
  lang = (navigator.language || '').toLowerCase().startsWith('ru') ? 'ru' : 'en';
  if (isLang(stored(LANG_KEY))) lang = stored(LANG_KEY);
  const queue = [];
  let booted = false;
  function boot() {
    booted = true;
    document.documentElement.lang = lang;
    mountLangToggles();
    applyI18n(document);
    queue.splice(0).forEach((fn) => fn());
  }
  function ready(fn) { if (booted) fn(); else queue.push(fn); }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot); else boot();

  global.Hub = {
    t, onLang, setDefaultLang, applyI18n, get lang() { return lang; }, esc, el, tid, setText, show,
    api, HubError, errorText, message, showError, clearMessage, socket, wsBadge, debounce,
    fmtDur, fmtEta, serviceName, pathPart, menu, deviceForm, stored, store, ready,
  };
})(window);
