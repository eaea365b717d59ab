/* Hub chat widget, embedded by a customer's site:
     <script src="https://HUB/widget.js" data-key="WIDGET_KEY" data-lang="ru" async></script>
   Adds a launcher button and an iframe (HUB/widget?key=…) to the page; the chat itself runs inside
   the iframe, on the hub's origin. The host page's CSS is unknown, so every style is set here, with
   !important, through element.style (CSSOM, allowed by a strict CSP). The only global is
   window.HubWidget = { open(), close() }. */
(function () {
  'use strict';
  if (window.HubWidget) return; // loaded twice

  const script = document.currentScript
    || document.querySelector('script[src*="widget.js"][data-key]');
  if (!script || !script.getAttribute('data-key')) return;
  let hub;
  try { hub = new URL(script.src, location.href).origin; } catch (_) { return; }
  const key = script.getAttribute('data-key');
  const langAttr = (script.getAttribute('data-lang') || '').toLowerCase();
  const lang = langAttr === 'ru' || langAttr === 'en' ? langAttr
    : ((navigator.language || '').toLowerCase().startsWith('ru') ? 'ru' : 'en');
  const OPEN_KEY = 'hub.widget.open.' + key;
  // Kept here only when the chat frame cannot use storage itself (third-party storage blocked).
  const TOKEN_KEY = 'hub.widget.token.' + key;
  function local(k, v) {
    try {
      if (v === undefined) return localStorage.getItem(k);
      localStorage.setItem(k, v);
    } catch (_) { /* storage blocked here too */ }
    return null;
  }
  const Z = '2147483000';
  const ACCENT = '#1747c9';
  const LABEL = lang === 'ru' ? { open: 'Открыть чат', close: 'Закрыть чат', title: 'Чат с поддержкой' }
    : { open: 'Open chat', close: 'Close chat', title: 'Chat with support' };

  function css(node, props) {
    for (const [k, v] of Object.entries(props)) node.style.setProperty(k, v, 'important');
  }
  function session(k, v) {
    try {
      if (v === undefined) return sessionStorage.getItem(k);
      if (v === null) sessionStorage.removeItem(k); else sessionStorage.setItem(k, v);
    } catch (_) { /* storage blocked */ }
    return null;
  }

  const base = {
    all: 'initial', 'box-sizing': 'border-box', margin: '0', position: 'fixed', 'z-index': Z,
  };

  const launcher = document.createElement('button');
  launcher.type = 'button';
  launcher.setAttribute('data-testid', 'chat-launcher');
  launcher.setAttribute('aria-expanded', 'false');
  launcher.setAttribute('aria-label', LABEL.open);
  launcher.title = LABEL.open;
  /* The launcher's glyph, drawn in SVG: an emoji needs a font the visitor's machine may lack. */
  const SVG = 'http://www.w3.org/2000/svg';
  const GLYPHS = {
    chat: 'M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z',
    close: 'M6 6l12 12M18 6L6 18',
  };
  const glyph = document.createElementNS(SVG, 'svg');
  glyph.setAttribute('viewBox', '0 0 24 24');
  glyph.setAttribute('aria-hidden', 'true');
  glyph.setAttribute('fill', 'none');
  glyph.setAttribute('stroke', '#fff');
  glyph.setAttribute('stroke-width', '2');
  glyph.setAttribute('stroke-linecap', 'round');
  glyph.setAttribute('stroke-linejoin', 'round');
  const glyphPath = document.createElementNS(SVG, 'path');
  glyph.appendChild(glyphPath);
  glyph.setAttribute('data-glyph', 'chat');
  glyphPath.setAttribute('d', GLYPHS.chat);
  // `all: initial` guards the glyph from the host page's styles, and would reset its paint as
  // well (CSS wins over the attributes: the bubble came out black, the close cross invisible).
  css(glyph, { all: 'initial', width: '28px', height: '28px', display: 'block', 'pointer-events': 'none',
    fill: 'none', stroke: '#fff', 'stroke-width': '2', 'stroke-linecap': 'round', 'stroke-linejoin': 'round' });
  const dot = document.createElement('span');
  dot.setAttribute('data-testid', 'chat-launcher-unread');
  css(dot, { all: 'initial', position: 'absolute', top: '-2px', right: '-2px', 'min-width': '20px', height: '20px',
    padding: '0 5px', 'box-sizing': 'border-box', 'border-radius': '10px', background: '#b4231b', color: '#fff',
    'font': '700 12px/20px system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif', 'text-align': 'center',
    display: 'none', 'pointer-events': 'none' });
  launcher.append(glyph, dot);
  css(launcher, Object.assign({}, base, {
    right: '20px', bottom: '20px', width: '60px', height: '60px', padding: '0', 'border-radius': '50%',
    border: '0', background: ACCENT, color: '#fff', cursor: 'pointer', display: 'flex',
    'align-items': 'center', 'justify-content': 'center', 'box-shadow': '0 4px 16px rgba(0,0,0,.3)',
    visibility: 'visible', opacity: '1',
  }));

  const frame = document.createElement('iframe');
  frame.setAttribute('data-testid', 'chat-frame');
  // Voice messages: the frame may ask for the microphone (the browser still asks the visitor).
  frame.setAttribute('allow', 'microphone');
  frame.title = LABEL.title;
  frame.setAttribute('aria-hidden', 'true');
  frame.src = hub + '/widget?key=' + encodeURIComponent(key) + '&lang=' + lang;
  const small = window.matchMedia ? window.matchMedia('(max-width: 480px)') : { matches: false };

  let open = false;
  let unread = 0;

  function layout() {
    const full = !!small.matches;
    css(frame, Object.assign({}, base, {
      display: open ? 'block' : 'none', border: '0', padding: '0', background: '#fff',
      'color-scheme': 'light', visibility: 'visible', opacity: '1', 'max-width': 'none', 'min-width': '0',
    }, full ? {
      top: '0', left: '0', right: '0', bottom: '0', width: '100%', height: '100%', 'border-radius': '0',
      'box-shadow': 'none', 'max-height': 'none',
    } : {
      top: 'auto', left: 'auto', right: '20px', bottom: '92px', width: '360px', height: '520px',
      'max-height': 'calc(100vh - 112px)', 'border-radius': '14px', 'box-shadow': '0 8px 32px rgba(0,0,0,.28)',
    }));
    // Full screen, the frame has its own close button; the launcher would cover the send button.
    launcher.style.setProperty('display', open && full ? 'none' : 'flex', 'important');
    glyph.setAttribute('data-glyph', open ? 'close' : 'chat');
    glyphPath.setAttribute('d', open ? GLYPHS.close : GLYPHS.chat);
    const label = open ? LABEL.close : LABEL.open;
    launcher.setAttribute('aria-label', label);
    launcher.title = label;
    launcher.setAttribute('aria-expanded', String(open));
    frame.setAttribute('aria-hidden', String(!open));
    dot.textContent = unread > 9 ? '9+' : String(unread);
    dot.style.setProperty('display', unread > 0 && !open ? 'block' : 'none', 'important');
  }

  let loaded = false;
  function tell() {
    if (!loaded) return;
    try { frame.contentWindow.postMessage({ source: 'hub-widget-host', open }, hub); } catch (_) { /* not loaded yet */ }
  }

  function setOpen(on) {
    open = !!on;
    if (open) unread = 0;
    session(OPEN_KEY, open ? '1' : null);
    layout();
    tell();
    if (open) { try { frame.focus(); } catch (_) { /* ignore */ } }
  }

  launcher.addEventListener('click', () => setOpen(!open));
  frame.addEventListener('load', () => { loaded = true; tell(); });
  if (small.addEventListener) small.addEventListener('change', layout);
  else if (small.addListener) small.addListener(layout);

  window.addEventListener('message', (ev) => {
    if (ev.origin !== hub || ev.source !== frame.contentWindow) return;
    const d = ev.data;
    if (!d || d.source !== 'hub-widget') return;
    if (d.event === 'ready') { loaded = true; tell(); }
    else if (d.event === 'need-token') {
      const token = local(TOKEN_KEY);
      try { frame.contentWindow.postMessage({ source: 'hub-widget-host', open, token }, hub); } catch (_) { /* gone */ }
    }
    else if (d.event === 'token' && typeof d.token === 'string' && d.token.length <= 128) local(TOKEN_KEY, d.token);
    else if (d.event === 'close') { setOpen(false); try { launcher.focus(); } catch (_) { /* ignore */ } }
    else if (d.event === 'message' && !open) { unread += 1; layout(); }
  });

  open = session(OPEN_KEY) === '1';
  layout();

  function mount() {
    if (!document.body) { document.addEventListener('DOMContentLoaded', mount); return; }
    document.body.append(frame, launcher);
  }
  mount();

  Object.defineProperty(window, 'HubWidget', {
    value: Object.freeze({ open: () => setOpen(true), close: () => setOpen(false) }),
    configurable: true,
  });
})();
