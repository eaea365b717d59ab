/* Building the page from data: every piece of server or user text goes in through textContent
   (el(), setText()) or esc(); nothing from data is ever assigned to innerHTML. */

export function esc(s) {
  return String(s == null ? '' : s).replace(/[&<>"']/g, (c) => (
    { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}

/* el('button', {class: 'btn', onclick: fn}, 'text', node) */
export function el(tag, attrs, ...children) {
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

export const tid = (id, root) => (root || document).querySelector('[data-testid="' + id + '"]');
export function setText(node, text) { if (node) node.textContent = text == null ? '' : String(text); }
export function show(node, on) { if (node) node.classList.toggle('hidden', !on); }

export function debounce(fn, ms) {
  let timer = null;
  return (...a) => { clearTimeout(timer); timer = setTimeout(() => fn(...a), ms); };
}

/* The URL path's i-th part, decoded ('' when missing or malformed). */
export function pathPart(i) {
  const parts = location.pathname.split('/').filter(Boolean);
  try { return decodeURIComponent(parts[i] || ''); } catch (_) { return ''; }
}
