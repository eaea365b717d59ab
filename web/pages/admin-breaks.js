/* Break reasons: the list operators pick from, in the organisation's order. */
import * as Hub from './hub.js';
import { $, arr, clearFieldErrors, fieldError } from './admin-kit.js';

export async function loadBreaks() {
  $('breaks-text').value = arr(await Hub.api('GET', '/api/break-reasons')).join('\n');
}
export function init() {
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
}
