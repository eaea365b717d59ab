/* /login: user sign-in, then on to ?next= (same-site path only) or /operator. */
import * as Hub from './hub.js';
const form = document.getElementById('login-form');
const submit = Hub.tid('login-submit');

function target() {
  const next = new URLSearchParams(location.search).get('next') || '';
  // Only this site: the browser's own URL parser decides (it drops tabs, and reads "//host"
  // or a backslash form as another site); then only the path is kept.
  if (!next.startsWith('/')) return '/operator';
  try {
    const u = new URL(next, location.origin);
    if (u.origin === location.origin) return u.pathname + u.search + u.hash;
  } catch (e) { /* not a URL at all */ }
  return '/operator';
}

// The form posted without this script (it had not loaded yet): the server sent it back with
// the reason.
const failed = new URLSearchParams(location.search).get('failed');
if (failed) Hub.showError(new Hub.HubError(401, failed, ''));

// Signed in already? Offer a way on, but still allow signing in as someone else.
Hub.api('GET', '/api/me').then((me) => {
  if (!me || me.type !== 'user') return;
  if (me.lang) Hub.setDefaultLang(me.lang);
  const paint = () => Hub.setText(document.getElementById('already-text'), Hub.t('login.already', { name: me.name }));
  Hub.onLang(paint);
  paint();
  document.getElementById('already-link').href = target();
  Hub.show(document.getElementById('already'), true);
}).catch(() => { /* not signed in */ });

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const login = Hub.tid('login-input').value.trim();
  const password = Hub.tid('password-input').value;
  if (!login || !password) {
    (login ? Hub.tid('password-input') : Hub.tid('login-input')).focus();
    return;
  }
  submit.disabled = true;
  submit.textContent = Hub.t('login.busy');
  Hub.clearMessage();
  try {
    await Hub.api('POST', '/api/auth/login', { login, password });
    location.assign(target());
  } catch (e) {
    Hub.showError(e);
    Hub.tid('password-input').value = '';
    Hub.tid('password-input').focus();
    submit.disabled = false;
    submit.textContent = Hub.t('login.submit');
  }
});
// The field has `autofocus`; a person already typing (the script can load late) keeps their
// place: focus is moved only from nowhere.
if (!document.activeElement || document.activeElement === document.body) Hub.tid('login-input').focus();
