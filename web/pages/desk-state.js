/* The desk page's shared state: who is signed in, the view and list, the open card, and the
   organisation's directory (types with their statuses, groups, sites, counterparties, people),
   with the names the parts show. */
import * as Hub from './hub.js';

export const S = {
  me: null, supervisor: false, myGroups: [], view: 'all', saved: null, tab: 'requests',
  list: [], openId: null, card: null,
  /* The list's last read (an older answer arriving later is dropped); the words last searched
     for; the thread a new request is being made from. */
  listSeq: 0, searched: '', fromThread: null,
  /* The client whose history the list shows ({counterparty_id | contact_id, name}), and how to show one. */
  client: null, showClient: () => {},
};

export const D = { types: [], groups: [], sites: [], counterparties: [], people: [], labels: [], activities: [], policies: [] };

const named = (list, id) => (list.find((x) => x.id === id) || {}).name;

export function typeName(id) { return named(D.types, id) || ''; }
export function siteName(id) { return named(D.sites, id) || ''; }
export function counterpartyName(id) { return named(D.counterparties, id) || ''; }
export function personName(id) { return named(D.people, id) || (id ? '#' + id : ''); }
export function policyName(id) { return named(D.policies, id) || (id ? '#' + id : ''); }

/* "L2 · Field engineers" */
export function groupName(id) {
  const g = D.groups.find((x) => x.id === id);
  return g ? 'L' + g.grade + ' · ' + g.name : '';
}

export function statusName(typeId, key) {
  const t = D.types.find((x) => x.id === typeId);
  const s = t && t.statuses.find((x) => x.key === key);
  return s ? s.name : key;
}

/* A clock's name with its track: "SLA · resolution". */
export function clockName(x) {
  return Hub.t('desk.track.' + x.track) + ' · ' + Hub.t('desk.clock.' + x.clock);
}

/* Business time left, negative once past: "−0:42". */
export function fmtLeft(secs) {
  return (secs < 0 ? '−' : '') + Hub.fmtDur(Math.abs(secs));
}

/* What the parts ask of the page: set by desk.js at start. */
export const hooks = { reloadList: () => {} };
