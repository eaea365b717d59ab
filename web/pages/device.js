/* A kiosk's or a board's way in: a pairing code shown on the screen, or its login and secret. */
import { api } from './api.js';
import { setText, show, tid } from './dom.js';
import { clearMessage, showError } from './message.js';
import { store } from './storage.js';

/* A screen not signed in shows a pairing code: an admin types it at the device in the back
   office, and the screen signs in as that device. `box` holds [data-testid=pair-code]; the
   code is renewed when it expires; stop() when the screen signs in another way. */
export function pairing(box, kind, storageKey, onDone) {
  let timer = null; let ticket = null; let stopped = false;
  const code = tid('pair-code', box);
  async function fresh() {
    try {
      const p = await api('POST', '/api/pairing', { kind });
      ticket = p.ticket;
      setText(code, p.shown);
      code.dataset.code = p.code;
      show(box, true);
    } catch (_) {
      show(box, false); // the manual form stays; try again in a while
      ticket = null;
    }
    if (!stopped) timer = setTimeout(poll, ticket ? 2000 : 15000);
  }
  async function poll() {
    if (stopped) return;
    if (!ticket) { fresh(); return; }
    try {
      const res = await fetch('/api/pairing/' + encodeURIComponent(ticket), { headers: { Accept: 'application/json' }, cache: 'no-store' });
      if (res.status === 200) {
        const r = await res.json();
        stopped = true;
        store(storageKey, r.token);
        onDone(r.token, r.principal);
        return;
      }
      if (res.status === 404) { ticket = null; fresh(); return; } // expired: a new code
    } catch (_) { /* the server is away: keep trying */ }
    if (!stopped) timer = setTimeout(poll, 2000);
  }
  fresh();
  return { stop() { stopped = true; clearTimeout(timer); show(box, false); } };
}

/* The login-and-secret form (fields device-login, device-secret): stores the token, hands it on. */
export function deviceForm(form, storageKey, onDone) {
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
