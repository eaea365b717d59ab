/* /r/{branch_id}: take a ticket from a phone (public, reached by QR at the branch entrance). */
import * as Hub from './hub.js';
const $ = (id) => document.getElementById(id);
const branchId = Hub.pathPart(1) || new URLSearchParams(location.search).get('id') || '';
const base = '/api/public/branches/' + encodeURIComponent(branchId);
const S = { langSet: false, busy: false, data: null };
const menu = Hub.menu($('menu'), take);

async function load() {
  if (!branchId) { notFound(); return; }
  let data;
  try {
    data = await Hub.api('GET', base);
  } catch (e) {
    if (e.status === 404) notFound(); else Hub.showError(e);
    return;
  }
  S.data = data;
  if (!S.langSet && data.branch.lang) { S.langSet = true; Hub.setDefaultLang(data.branch.lang); }
  Hub.setText($('branch-name'), data.branch.name);
  document.title = data.branch.name + ' · ' + Hub.t('title.registrar');
  Hub.show($('closed'), !data.open);
  Hub.show($('menu'), !!data.open);
  if (data.open) menu.set(data.services);
}

function notFound() {
  Hub.show($('menu'), false);
  Hub.say('reg.notFound', null, 'error');
}

async function take(service) {
  if (S.busy) return;
  S.busy = true;
  menu.busy(true);
  Hub.clearMessage();
  try {
    const r = await Hub.api('POST', base + '/tickets', { service_id: service.id });
    const url = r && typeof r.status_url === 'string' && r.status_url.startsWith('/') && !r.status_url.startsWith('//')
      ? r.status_url : '/t/' + encodeURIComponent(r.public_id);
    location.assign(url);
    return;
  } catch (e) {
    Hub.showError(e);
    if (e.code === 'branch_closed') load();
  }
  S.busy = false;
  menu.busy(false);
}

Hub.onLang(() => { if (S.data) document.title = S.data.branch.name + ' · ' + Hub.t('title.registrar'); });
load();
setInterval(() => { if (!S.busy && S.data && !S.data.open) load(); }, 60000);
