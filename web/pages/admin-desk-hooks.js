/* The back office's webhooks: where the organisation's own systems hear of its requests (made,
   moved, a clock's warning, breach or escalation). The secret that signs each delivery is shown
   once, when the webhook is made; each webhook's deliveries can be read and sent again. */
import * as Hub from './hub.js';
import { arr, fail } from './admin-kit.js';

const EVENTS = ['request.created', 'request.moved', 'request.alarm'];
export const W = { hooks: [], open: null, deliveries: [], secret: null, timer: null };

export async function loadHooks() {
  W.hooks = arr(await Hub.api('GET', '/api/admin/webhooks'));
  if (W.open && !W.hooks.some((h) => h.id === W.open)) W.open = null;
  if (W.open) W.deliveries = arr(await Hub.api('GET', '/api/admin/webhooks/' + W.open + '/deliveries'));
}

/* While the open webhook has a delivery due within the minute, its table is read again every
   two seconds, so a retry or a "send again" shows its outcome by itself. */
function followDue(redraw) {
  clearTimeout(W.timer);
  const soon = Date.now() + 60000;
  if (!W.open || !W.deliveries.some((d) => d.status === 'pending' && d.next_at <= soon)) return;
  W.timer = setTimeout(async () => {
    if (!document.querySelector('[data-testid="dk-deliveries"]')) return;
    try { await loadHooks(); redraw(); } catch (e) { fail(e); }
  }, 2000);
}

function eventNames(list) { return String(list || '').split(' ').filter(Boolean).map((e) => Hub.t('dk.ev.' + e)).join(', '); }

function deliveriesTable(kit, redraw) {
  const { table, row } = kit;
  if (!W.open) return [];
  const hook = W.hooks.find((h) => h.id === W.open);
  followDue(redraw);
  return [
    Hub.el('h3', { class: 'dk-url' }, Hub.t('dk.hookDeliveries', { url: hook ? hook.url : '' })),
    W.deliveries.length === 0 ? Hub.el('p', { class: 'muted', 'data-testid': 'dk-deliveries-none' }, Hub.t('dk.noDeliveries')) : null,
    table('dk-deliveries', ['dk.delivery', 'dk.event', 'dk.request', 'dk.deliveryState', 'dk.attempts', 'dk.lastAnswer', 'dk.moment', ''],
      W.deliveries.map((d) => row('dk-delivery', d.id, '#' + d.id, Hub.t('dk.ev.' + d.event), '#' + d.request_id,
        Hub.el('span', { class: 'pill', 'data-testid': 'dk-delivery-state', 'data-state': d.status }, Hub.t('dk.dstate.' + d.status)),
        String(d.attempts),
        d.last_status != null ? 'HTTP ' + d.last_status : (d.last_error || '—'),
        Hub.fmtTime(d.sent_at || d.created_at),
        Hub.el('button', {
          type: 'button', class: 'btn ghost', 'data-testid': 'dk-redeliver',
          onclick: async () => {
            try {
              await Hub.api('POST', '/api/admin/webhooks/' + W.open + '/deliveries/' + d.id + '/redeliver');
              Hub.say('dk.redelivered', null, 'ok');
              await loadHooks(); redraw();
            } catch (e) { fail(e); }
          },
        }, Hub.t('dk.redeliver'))))),
  ].filter(Boolean);
}

/* The section: the webhooks, the form for a new one, the secret just made, the open one's deliveries. */
export function webhooks(kit, redraw) {
  const { field, input, table, row, form } = kit;
  const url = input('url', { type: 'url', maxlength: '2000', placeholder: 'https://example.com/hub', 'data-testid': 'dk-hook-url' });
  const boxes = EVENTS.map((e) => Hub.el('input', { type: 'checkbox', value: e, checked: e !== 'request.created', 'data-testid': 'dk-hook-event' }));
  const events = Hub.el('fieldset', { class: 'dk-events', name: 'events' }, Hub.el('legend', null, Hub.t('dk.events')),
    ...boxes.map((b) => Hub.el('label', { class: 'check' }, b, ' ', Hub.t('dk.ev.' + b.value))));
  /* A row's button: does its part, then reads the webhooks again (unless it was called off). */
  const act = (label, testid, fn) => Hub.el('button', { type: 'button', class: 'btn ghost', 'data-testid': testid, onclick: async () => {
    try { if (await fn() === false) return; await loadHooks(); redraw(); } catch (e) { fail(e); }
  } }, Hub.t(label));
  return [
    Hub.el('p', { class: 'muted' }, Hub.t('dk.hooksHint')),
    W.secret ? Hub.el('div', { class: 'notice', 'data-testid': 'dk-hook-secret-box' },
      Hub.el('p', null, Hub.t('dk.hookSecret')), Hub.el('code', { class: 'mono', 'data-testid': 'dk-hook-secret' }, W.secret)) : null,
    W.hooks.length === 0 ? Hub.el('p', { class: 'muted', 'data-testid': 'dk-hooks-none' }, Hub.t('dk.noHooks')) : null,
    W.hooks.length === 0 ? null : table('dk-hooks', ['dk.address', 'dk.events', 'dk.hookState', 'dk.pending', 'dk.failed', ''], W.hooks.map((h) => row('dk-hook', h.id,
      // A long address breaks anywhere rather than push the rest of the row off the screen.
      Hub.el('span', { class: 'dk-url' }, h.url), eventNames(h.events), Hub.t(h.active ? 'dk.hookOn' : 'dk.hookPaused'), String(h.pending), String(h.failed),
      Hub.el('span', { class: 'row dk-hook-actions' },
        act('dk.deliveries', 'dk-hook-deliveries', async () => { W.open = h.id; W.secret = null; }),
        act(h.active ? 'dk.pause' : 'dk.resume', 'dk-hook-toggle', () => Hub.api('PATCH', '/api/admin/webhooks/' + h.id, { active: !h.active })),
        act('adm.remove', 'dk-hook-remove', async () => {
          if (!window.confirm(Hub.t('dk.hookRemoveConfirm', { url: h.url }))) return false;
          await Hub.api('DELETE', '/api/admin/webhooks/' + h.id);
          return true;
        }))))),
    Hub.el('h3', null, Hub.t('dk.hookNew')),
    form('dk-hook-form', [field('dk.address', url), events], async () => {
      const made = await Hub.api('POST', '/api/admin/webhooks', { url: url.value.trim(), events: boxes.filter((b) => b.checked).map((b) => b.value) });
      W.secret = made.secret;
    }),
    ...deliveriesTable(kit, redraw),
  ].filter(Boolean);
}
