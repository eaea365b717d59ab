/* Kiosk / registrar menu: top-level entries (parent_id null) by position; a group (prefix null)
   opens its children; a service calls onPick(service). */
import { el } from './dom.js';
import { serviceName } from './format.js';
import { onLang, t } from './i18n.js';

export function menu(root, onPick) {
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
