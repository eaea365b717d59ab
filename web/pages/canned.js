/* Canned replies, for every page that keeps them (the operator's own, the supervisor's and the
   back office's shared ones): the list, adding one, removing one. A reply already removed (by
   another tab, another supervisor) counts as removed: that is what was wanted. */
import * as Hub from './hub.js';

/* The organisation's replies the caller sees; `shared` leaves out personal ones. */
export async function listCanned(shared) {
  const list = await Hub.api('GET', '/api/canned');
  return (Array.isArray(list) ? list : []).filter((c) => c && c.shortcut && (!shared || !c.personal));
}

/* Adds a reply; the shortcut is taken as typed ("/bye" or "bye"). The server refuses a taken
   shortcut (409) or a wrong field (400, named) and the caller says it. */
export async function addCanned({ shortcut, title, body, personal }) {
  const typed = String(shortcut || '').trim().replace(/^\/+/, '');
  return Hub.api('POST', '/api/canned', { shortcut: typed, title: title || '', body, personal: !!personal });
}

export async function removeCanned(c) {
  try {
    await Hub.api('DELETE', '/api/canned/' + encodeURIComponent(c.id));
  } catch (e) {
    if (!(e instanceof Hub.HubError && e.status === 404)) throw e;
  }
}
