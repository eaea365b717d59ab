/* Numbers, times and names written one way in both languages. */
import { lang, t } from './i18n.js';

export function fmtBytes(n) {
  if (n == null || !isFinite(n)) return '';
  if (n < 1024) return n + ' B';
  if (n < 1024 * 1024) return Math.round(n / 1024) + ' KB';
  return (n / 1024 / 1024).toFixed(1) + ' MB';
}
/* Times are written one way in both languages: a clock time as 24-hour HH:MM (in the branch's
   zone where one is given), with the day before it when it is not today; a duration as m:ss,
   or h:mm:ss from an hour. */
export function fmtClock(ms, tz) {
  if (ms == null || !isFinite(ms)) return '';
  const o = { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' };
  try { return new Date(ms).toLocaleTimeString(lang, tz ? Object.assign(o, { timeZone: tz }) : o); } catch (_) {
    return new Date(ms).toLocaleTimeString(lang, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  }
}
/* A date and time on a paper ticket: 06.12.2026 14:05, in the branch's zone. */
export function fmtDate(ms, tz) {
  if (ms == null || !isFinite(ms)) return '';
  const o = { day: '2-digit', month: '2-digit', year: 'numeric' };
  let day;
  try { day = new Date(ms).toLocaleDateString('ru', tz ? Object.assign(o, { timeZone: tz }) : o); } catch (_) {
    day = new Date(ms).toLocaleDateString('ru', { day: '2-digit', month: '2-digit', year: 'numeric' });
  }
  return day + ' ' + fmtClock(ms, tz);
}
/* A calendar day given as 2026-12-07 (already the right zone's day): "Mon, 7 Dec". */
export function fmtDay(date) {
  const [y, m, d] = String(date).split('-').map(Number);
  if (!y || !m || !d) return String(date);
  return new Date(Date.UTC(y, m - 1, d, 12)).toLocaleDateString(lang, { weekday: 'short', day: 'numeric', month: 'short', timeZone: 'UTC' });
}
export function fmtTime(ms) {
  if (ms == null || !isFinite(ms) || ms <= 0) return '';
  const d = new Date(ms);
  if (new Date().toDateString() === d.toDateString()) return fmtClock(ms);
  return d.toLocaleDateString(lang, { day: 'numeric', month: 'short' }) + ', ' + fmtClock(ms);
}
/* An attachment as a link; images as a thumbnail inside the link. */

export function fmtDur(secs) {
  if (secs == null || !isFinite(secs)) return t('common.none');
  const s = Math.max(0, Math.round(secs));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h ? h + ':' + String(m).padStart(2, '0') + ':' + ss : m + ':' + ss;
}
export function fmtEta(secs) {
  if (secs == null || !isFinite(secs)) return t('eta.unknown');
  if (secs < 60) return t('eta.lt1');
  return t('eta.min', { n: Math.round(secs / 60) });
}

/* A service's name in the page's language, else in the other. */
export function serviceName(s) {
  if (!s) return '';
  return lang === 'ru' ? (s.name_ru || s.name_en || '') : (s.name_en || s.name_ru || '');
}
/* An amount kept in minor units (kopecks, cents), with two decimals in the page's language:
   the organisation's currency is its own, so no sign is added. `whole`: rounded to whole units
   (a dashboard's tile). */
export function fmtMoney(cents, whole) {
  if (cents == null || !isFinite(cents)) return t('common.none');
  const digits = whole ? 0 : 2;
  return (cents / 100).toLocaleString(lang === 'ru' ? 'ru-RU' : 'en-GB', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}
