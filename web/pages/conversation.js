/* What the conversation pages (widget, operator, supervisor) share: a channel's icon, a message's
   attachment, the hub's notes on a voice message, canned-response shortcuts, a client id. */
import { HubError } from './api.js';
import { el } from './dom.js';
import { fmtBytes } from './format.js';
import { t } from './i18n.js';
import { icon } from './icons.js';
import { errorText } from './message.js';

/* Canned responses (operator, supervisor). */
/* A shortcut as the server keeps it (no leading /), or null when it would be refused. */
export function cannedShortcut(raw) {
  const s = String(raw == null ? '' : raw).trim().replace(/^\/+/, '');
  return /^[\p{L}\p{N}_-]{1,32}$/u.test(s) ? s : null;
}
export function cannedError(e, shortcut) {
  return e instanceof HubError && e.code === 'conflict' ? t('canned.taken', { shortcut }) : errorText(e);
}

const CHANNEL_ICONS = { webchat: 'chat', telegram: 'telegram', email: 'email', phone: 'phone' };
export function channelIcon(ch) {
  return el('span', { class: 'ch-icon', 'data-channel': ch || '', title: t('ch.' + ch), 'aria-label': t('ch.' + ch) },
    icon(CHANNEL_ICONS[ch] || 'dot'));
}

/* A v4 UUID: crypto.randomUUID exists only on secure pages (https, localhost). */
export function uuid() {
  try { if (globalThis.crypto && typeof globalThis.crypto.randomUUID === 'function') return globalThis.crypto.randomUUID(); } catch (_) { /* insecure context */ }
  const b = new Uint8Array(16);
  globalThis.crypto.getRandomValues(b);
  b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return h.slice(0, 8) + '-' + h.slice(8, 12) + '-' + h.slice(12, 16) + '-' + h.slice(16, 20) + '-' + h.slice(20);
}

/* The hub's own notes on a voice message (no speech in it; not transcribed), stored as fixed
   marks and worded here in the reader's language; null for any other text. */
const SPEECH_NOTES = new Map([['🎤', 'cv.noSpeech'], ['🎤 ✕', 'cv.notTranscribed']]);
export function speechNote(body) {
  const key = SPEECH_NOTES.get(body);
  return key ? '🎤 ' + t(key) : null;
}

export function attachmentNode(a, href) {
  // Voice messages and video notes play where they are, with a link to the file beside.
  const media = /^audio\//.test(a.mime || '') ? 'audio' : /^video\//.test(a.mime || '') ? 'video' : null;
  if (media) {
    return el('span', { class: 'att att-media', 'data-testid': 'attachment', 'data-attachment-id': a.id, 'data-media': media },
      el(media, { src: href, controls: true, preload: 'metadata', class: 'att-player' }),
      el('a', { href, target: '_blank', rel: 'noopener noreferrer', class: 'att-name' }, a.name || ''),
      a.size != null ? el('span', { class: 'att-size muted' }, fmtBytes(a.size)) : null);
  }
  const isImage = /^image\/(png|jpeg|gif|webp)$/.test(a.mime || '');
  const link = el('a', { class: 'att' + (isImage ? ' att-image' : ''), href, target: '_blank', rel: 'noopener noreferrer', 'data-testid': 'attachment', 'data-attachment-id': a.id });
  if (isImage) link.appendChild(el('img', { src: href, alt: a.name || '', loading: 'lazy', class: 'att-thumb' }));
  link.appendChild(el('span', { class: 'att-name' }, isImage ? null : icon('clip'), isImage ? '' : ' ', a.name || ''));
  if (a.size != null) link.appendChild(el('span', { class: 'att-size muted' }, fmtBytes(a.size)));
  return link;
}
