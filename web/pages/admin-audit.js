/* The audit log: every change, who made it, when, before and after; searchable, paged back. */
import * as Hub from './hub.js';
import { $, arr, fail } from './admin-kit.js';

const A = { audit: [], end: false };

function actionText(a) {
  const key = 'adm.act.' + a.action;
  const known = Hub.wordIn(Hub.lang, key) !== undefined;
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
export async function loadAudit(reset) {
  const q = $('audit-q').value.trim();
  const params = new URLSearchParams({ limit: '50' });
  if (q) params.set('q', q);
  if (!reset && A.audit.length) params.set('before', String(A.audit[A.audit.length - 1].id));
  try {
    const page = arr(await Hub.api('GET', '/api/admin/audit?' + params));
    A.audit = reset ? page : A.audit.concat(page);
    A.end = page.length < 50;
    renderAudit();
  } catch (e) { fail(e); }
}
export function renderAudit() {
  $('audit').replaceChildren(...A.audit.map((a) => Hub.el('tr', { 'data-testid': 'audit-row', 'data-action': a.action, 'data-object-id': a.object_id == null ? '' : String(a.object_id) },
    Hub.el('td', { class: 'num' }, Hub.fmtTime(a.at)),
    Hub.el('td', null, a.actor),
    Hub.el('td', null, actionText(a), a.object_id != null ? ' #' + a.object_id : ''),
    Hub.el('td', { class: 'audit-change' }, changeText(a)))));
  Hub.show($('audit-more'), !A.end);
}
export function init() {
  $('audit-q').addEventListener('input', Hub.debounce(() => loadAudit(true), 250));
  $('audit-more').addEventListener('click', () => loadAudit(false));
}
