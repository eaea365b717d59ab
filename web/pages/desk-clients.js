/* The desk's clients: counterparties with their sites and requests, and the contacts who made
   requests. A row opens that client's history: the request list filtered by them, closed ones
   too. */
import * as Hub from './hub.js';
import { S, counterpartyName } from './desk-state.js';

const $ = (id) => document.getElementById(id);
const C = { data: null };

function when(ms) { return ms == null ? '—' : Hub.fmtTime(ms); }

function row(testid, id, cells, open) {
  return Hub.el('tr', {
    'data-testid': testid, 'data-id': id, tabindex: '0', class: 'clickable',
    onclick: open, onkeydown: (e) => { if (e.key === 'Enter') open(); },
  }, ...cells.map((c, i) => Hub.el('td', { class: i >= 3 && i <= 4 ? 'n' : '' }, c)));
}

export function renderClients() {
  if (!C.data) return;
  const q = $('clients-q').value.trim().toLowerCase();
  const hit = (...xs) => !q || xs.some((x) => String(x || '').toLowerCase().includes(q));
  $('clients-cp').replaceChildren(...C.data.counterparties.filter((c) => hit(c.name, c.mail_domain)).map((c) => row('client-counterparty', c.id,
    [c.name, c.mail_domain || '—', String(c.sites), String(c.requests), String(c.open), when(c.last_at)],
    () => S.showClient({ counterparty_id: c.id, name: c.name }))));
  $('clients-ct').replaceChildren(...C.data.contacts.filter((c) => hit(c.name, c.email, c.phone)).map((c) => row('client-contact', c.id,
    [c.name || c.email || c.phone || '#' + c.id, [c.email, c.phone].filter(Boolean).join(', ') || '—',
      counterpartyName(c.counterparty_id) || '—', String(c.requests), String(c.open), when(c.last_at)],
    () => S.showClient({ contact_id: c.id, name: c.name || c.email || c.phone || '#' + c.id }))));
  $('panel-clients').dataset.ready = '1';
}

export async function loadClients() {
  try { C.data = await Hub.api('GET', '/api/desk/clients'); } catch (e) { Hub.showError(e); return; }
  renderClients();
}

$('clients-q').addEventListener('input', Hub.debounce(renderClients, 150));
