/* Drawn here as SVG, shipped with the pages: emoji need a font a kiosk or an office PC may not
   have (they showed as empty boxes). 24x24, stroked in the text's colour unless `fill`. */

const ICONS = {
  chat: 'M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z',
  clip: 'M21 11.5l-8.6 8.6a5 5 0 0 1-7.1-7.1l8.6-8.6a3.5 3.5 0 0 1 5 5l-8.6 8.6a2 2 0 0 1-2.8-2.8l7.9-7.9',
  mic: 'M12 3a3 3 0 0 1 3 3v6a3 3 0 0 1-6 0V6a3 3 0 0 1 3-3zM5 11a7 7 0 0 0 14 0M12 18v3M8 21h8',
  telegram: 'M22 3L2 11l7 3 2 7 4-5 5 4zM9 14L22 3',
  email: 'M3 5h18v14H3zM3 6l9 7 9-7',
  phone: 'M5 3h4l2 5-3 2a11 11 0 0 0 6 6l2-3 5 2v4a2 2 0 0 1-2 2A17 17 0 0 1 3 5a2 2 0 0 1 2-2z',
  pin: 'M12 22s7-7 7-12a7 7 0 0 0-14 0c0 5 7 12 7 12zM12 12.5a2.5 2.5 0 1 0 0-5 2.5 2.5 0 0 0 0 5z',
  clock: 'M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18zM12 7v5l3 2',
  warn: 'M12 3l10 18H2zM12 10v5M12 18v.5',
  star: 'M12 3l2.8 5.7 6.2.9-4.5 4.4 1.1 6.2L12 17.3l-5.6 2.9 1.1-6.2L3 9.6l6.2-.9z',
  close: 'M6 6l12 12M18 6L6 18',
  dot: 'M12 9a3 3 0 1 0 0 6 3 3 0 0 0 0-6z',
  stop: 'M7 7h10v10H7z',
};
const FILLED = new Set(['star', 'dot', 'stop']);
const SVG = 'http://www.w3.org/2000/svg';
export function icon(name, label) {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('class', 'icon icon-' + name);
  svg.setAttribute('data-icon', name);
  const fill = FILLED.has(name);
  svg.setAttribute('fill', fill ? 'currentColor' : 'none');
  svg.setAttribute('stroke', 'currentColor');
  svg.setAttribute('stroke-width', fill ? '1' : '2');
  svg.setAttribute('stroke-linecap', 'round');
  svg.setAttribute('stroke-linejoin', 'round');
  if (label) { svg.setAttribute('role', 'img'); svg.setAttribute('aria-label', label); } else svg.setAttribute('aria-hidden', 'true');
  const path = document.createElementNS(SVG, 'path');
  path.setAttribute('d', ICONS[name] || ICONS.dot);
  svg.appendChild(path);
  return svg;
}
/* Every [data-icon] placeholder in static markup gets its drawing. */
export function mountIcons(root) {
  (root || document).querySelectorAll('span[data-icon]').forEach((n) => n.replaceChildren(icon(n.dataset.icon)));
}
