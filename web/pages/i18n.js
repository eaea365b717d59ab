/* The pages' two languages: the words (words-en.js, words-ru.js), the page's language (the
   principal's or the branch's unless the visitor chose one with the RU/EN toggle, remembered in
   localStorage), and wording static markup by data-i18n attributes. */
import en from './words-en.js';
import ru from './words-ru.js';
import { el } from './dom.js';
import { store, stored } from './storage.js';

const LANG_KEY = 'hub.lang';
const listeners = [];
/* The page's language; a live binding: read it as `lang` after any switch. */
export let lang = (navigator.language || '').toLowerCase().startsWith('ru') ? 'ru' : 'en';
const isLang = (l) => l === 'ru' || l === 'en';
if (isLang(stored(LANG_KEY))) lang = stored(LANG_KEY);
const DICT = { en, ru };

export function t(key, params) {
  let s = DICT[lang][key] ?? DICT.en[key] ?? key;
  if (params) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in params ? String(params[k]) : m));
  return s;
}

/* The page's own language (principal or branch) unless the visitor chose one with the toggle. */
export function setDefaultLang(l) {
  const chosen = stored(LANG_KEY);
  apply(isLang(chosen) ? chosen : (isLang(l) ? l : lang));
}
function apply(l) {
  lang = l;
  document.documentElement.lang = l;
  applyI18n(document);
  document.querySelectorAll('.lang-toggle button').forEach((b) => b.setAttribute('aria-pressed', String(b.dataset.lang === l)));
  listeners.forEach((fn) => { try { fn(l); } catch (e) { console.error(e); } });
}
export function onLang(fn) { listeners.push(fn); }
/* A language chosen by the embedding page (the chat widget's lang): applied, not remembered. */
export function setLang(l) { if (isLang(l)) apply(l); }

export function applyI18n(root) {
  root.querySelectorAll('[data-i18n]').forEach((n) => { n.textContent = t(n.dataset.i18n); });
  root.querySelectorAll('[data-i18n-ph]').forEach((n) => { n.placeholder = t(n.dataset.i18nPh); });
  root.querySelectorAll('[data-i18n-label]').forEach((n) => {
    n.setAttribute('aria-label', t(n.dataset.i18nLabel)); n.title = t(n.dataset.i18nLabel);
  });
}

export function mountLangToggles() {
  document.querySelectorAll('.lang-toggle').forEach((box) => {
    box.replaceChildren();
    box.setAttribute('role', 'group');
    box.setAttribute('aria-label', 'Language / Язык');
    ['ru', 'en'].forEach((l) => {
      box.appendChild(el('button', {
        type: 'button', 'data-lang': l, 'aria-pressed': String(l === lang),
        onclick: () => { store(LANG_KEY, l); apply(l); },
      }, l.toUpperCase()));
    });
  });
}

/* The entry for `key` in language `l` itself (no fallback), or undefined. */
export function wordIn(l, key) { return (DICT[l] || {})[key]; }
/* The dictionary's keys per language: a test checks both have the same. */
export function keys(l) { return Object.keys(DICT[l] || {}); }
