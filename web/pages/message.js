/* The page's message line, and a refusal worded in the page's language. */
import { HubError } from './api.js';
import { show, tid } from './dom.js';
import { lang, onLang, t, wordIn } from './i18n.js';

export function errorText(e) {
  if (!(e instanceof HubError)) return t('err.generic');
  // A refusal the server names a reason for is worded here, in the page's language, from
  // the reason's values (a status is a code: it is worded too).
  if (e.reason && wordIn(lang, 'why.' + e.reason)) {
    const args = Object.assign({}, e.args || {});
    if (typeof args.status === 'string') args.status = t('st.' + args.status);
    return t('why.' + e.reason, args);
  }
  // Otherwise the server's own words are English: shown as they are on an English page, and
  // on another only the code's sentence in that language (never a sentence half in English).
  if (lang === 'en') return e.message || wordIn('en', 'err.' + e.code) || t('err.generic');
  return wordIn(lang, 'err.' + e.code) || t('err.generic');
}

/* The page's message line ([data-testid=message]). kind: info | error | ok. `text` may be a
   function: it is worded again when the language changes, so a line never stays in the
   language it was first shown in. */
let wording = null;
export function message(text, kind) {
  const box = tid('message');
  if (!box) return;
  wording = typeof text === 'function' ? text : null;
  const shown = wording ? wording() : text;
  box.textContent = shown || '';
  box.dataset.kind = shown ? (kind || 'info') : '';
  box.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  show(box, !!shown);
}
onLang(() => { const box = tid('message'); if (wording && box) box.textContent = wording(); });
/* A message from the dictionary, worded in the page's language now and after a switch. */
export function say(key, params, kind) { message(() => t(key, params), kind); }
export function showError(e) { if (e) console.warn(e); message(() => errorText(e), 'error'); }
export function clearMessage() { message(''); }
