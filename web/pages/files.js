/* Files a visitor or an operator attaches: what the server accepts (it checks the content again)
   and the upload itself. */
import { HubError, answer } from './api.js';
import { t } from './i18n.js';

export const MAX_FILE = 5 * 1024 * 1024;
const FILE_EXT = { png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', webp: 'image/webp', pdf: 'application/pdf', txt: 'text/plain',
  wav: 'audio/wav', ogg: 'audio/ogg', oga: 'audio/ogg', opus: 'audio/ogg', webm: 'audio/webm', mp4: 'video/mp4' };
// Browsers name a recording's type variously (video/webm for any .webm file).
const FILE_TYPES = new Set([...Object.values(FILE_EXT), 'video/webm', 'audio/x-wav', 'audio/wave', 'audio/opus']);
export function fileType(file) {
  const ty = String(file.type || '').toLowerCase().split(';')[0].trim();
  if (FILE_TYPES.has(ty)) return ty;
  if (ty) return '';
  const ext = String(file.name || '').toLowerCase().split('.').pop();
  return FILE_EXT[ext] || '';
}
/* null when the file may be sent, else the text to show. */
export function fileProblem(file) {
  if (!file) return t('att.none');
  if (!fileType(file)) return t('att.type', { name: file.name });
  if (file.size > MAX_FILE) return t('att.size', { name: file.name, max: '5 MB' });
  if (file.size === 0) return t('att.empty', { name: file.name });
  return null;
}
/* POST path?name=… with the raw file as body → {id, name, mime, size}. */
export async function upload(path, file, token) {
  const headers = { Accept: 'application/json', 'Content-Type': fileType(file) || 'application/octet-stream' };
  if (token) headers.Authorization = 'Bearer ' + token;
  const url = path + (path.includes('?') ? '&' : '?') + 'name=' + encodeURIComponent(file.name || 'file');
  let res;
  try {
    res = await fetch(url, { method: 'POST', headers, body: file, credentials: 'same-origin', cache: 'no-store' });
  } catch (_) { throw new HubError(0, 'network', t('err.network')); }
  return answer(res);
}
