/* The API client: JSON in, JSON out; a refusal ({code, message, reason?, args?, field?}) is
   thrown as a HubError for message.js to word in the page's language. */
import { t } from './i18n.js';

export class HubError extends Error {
  constructor(status, code, message, reason, args) {
    super(message); this.status = status; this.code = code; this.reason = reason || null; this.args = args || null;
  }
}

/* fetch wrapper: JSON in, JSON out, {code,message} errors thrown as HubError. */
export async function api(method, path, body, opts) {
  const headers = { Accept: 'application/json' };
  if (opts && opts.token) headers.Authorization = 'Bearer ' + opts.token;
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try { res = await fetch(path, init); } catch (_) { throw new HubError(0, 'network', t('err.network')); }
  return answer(res);
}

export async function answer(res) {
  const text = res.status === 204 ? '' : await res.text().catch(() => '');
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (_) { /* not JSON */ }
  if (!res.ok) {
    const code = data && typeof data.code === 'string' ? data.code : 'http_' + res.status;
    const msg = data && typeof data.message === 'string' ? data.message : (res.statusText || '');
    const reason = data && typeof data.reason === 'string' ? data.reason : null;
    const args = data && data.args && typeof data.args === 'object' ? data.args : null;
    const err = new HubError(res.status, code, msg, reason, args);
    // A form's wrong field, for the page to mark.
    if (data && typeof data.field === 'string') err.field = data.field;
    throw err;
  }
  return data;
}
