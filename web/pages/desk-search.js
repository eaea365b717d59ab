/* The desk's search over every channel's conversations: the threads whose messages hold every
   word searched for (stemmed on the server, Russian and English), each with the line that
   matched. A thread that belongs to a request opens it; one that does not can become one. */
import * as Hub from './hub.js';
import { S } from './desk-state.js';

const $ = (id) => document.getElementById(id);
const F = { hits: [], seq: 0, words: '' };

/* The words a search is made of: none for an empty box or a "#number" (that filters the list). */
export function searchWords() {
  const t = $('f-text').value.trim();
  return t.startsWith('#') ? '' : t;
}

function hitItem(h, open, make) {
  const who = h.contact_name || Hub.t('desk.someone');
  return Hub.el('li', { class: 'desk-hit', 'data-testid': 'thread-hit', 'data-conversation-id': h.conversation_id },
    Hub.el('span', { class: 'muted' }, [Hub.t('ch.' + h.channel), who, Hub.fmtTime(h.last_message_at)].join(' · ')),
    h.line ? Hub.el('span', { class: 'desk-hit-line', 'data-testid': 'thread-hit-line' }, h.line) : null,
    h.request_id
      ? Hub.el('button', { type: 'button', class: 'linkish', 'data-testid': 'thread-hit-request', onclick: () => open(h.request_id) },
        Hub.t('desk.requestN', { id: h.request_id }))
      : Hub.el('button', { type: 'button', class: 'btn ghost', 'data-testid': 'thread-hit-make', onclick: () => make(h) },
        Hub.t('desk.makeRequest')));
}

export function renderThreads(open, make) {
  const box = $('thread-hits');
  Hub.show(box, !!F.words);
  $('thread-hit-list').replaceChildren(...F.hits.map((h) => hitItem(h, open, make)));
  Hub.show($('thread-hits-none'), !!F.words && F.hits.length === 0);
}

/* Reads the threads for the words in the box; a slower answer to older words is dropped. */
export async function loadThreads(open, make) {
  const words = searchWords();
  const seq = ++F.seq;
  F.words = words;
  if (!words) { F.hits = []; renderThreads(open, make); return; }
  let hits = [];
  try {
    hits = await Hub.api('GET', '/api/desk/threads?' + new URLSearchParams({ q: words })) || [];
  } catch (e) { Hub.showError(e); return; }
  if (seq !== F.seq) return;
  F.hits = hits;
  renderThreads(open, make);
  S.searched = words;
}
