// The console's shell: who is logged in, the navigation, and one module
// per page (pages/NAME.js) chosen by the URL's #/NAME.

import { api, get, setCsrf } from './api.js';
import { el, clear, showError, setReadOnly } from './ui.js';

const PAGES = [
  ['dashboard', 'Dashboard'],
  ['domains', 'Domains'],
  ['users', 'Users'],
  ['aliases', 'Aliases'],
  ['groups', 'Groups'],
  ['ipgroups', 'IP groups'],
  ['security', 'Security'],
  ['certs', 'Certificates'],
  ['queue', 'Queue'],
  ['logs', 'Logs'],
  ['settings', 'Settings'],
];

// A domain admin manages the users, aliases and groups of their domains;
// the server-wide pages would only answer 403.
const DOMAIN_ADMIN_PAGES = ['users', 'aliases', 'groups'];

let me = null;
let leave = null;

function pages() {
  const mine = me && me.role.startsWith('domain-admin');
  return mine ? PAGES.filter(([p]) => DOMAIN_ADMIN_PAGES.includes(p)) : PAGES;
}

function current() {
  const name = location.hash.replace(/^#\/?/, '').split('?')[0];
  const shown = pages();
  return shown.some(([p]) => p === name) ? name : shown[0][0];
}

function drawNav() {
  const nav = clear(document.getElementById('nav'));
  for (const [name, title] of pages()) {
    nav.append(el('a', { href: `#/${name}`, class: name === current() ? 'current' : null, id: `nav-${name}` }, title));
  }
  nav.classList.toggle('hidden', !me);
  document.getElementById('logout').classList.toggle('hidden', !me);
  document.getElementById('who').textContent = me ? `${me.user} (${me.role})` : '';
}

// Each page draws into a fresh view: one still loading when the admin
// moves on draws into a view no longer shown.
async function show() {
  showError('');
  if (leave) { leave(); leave = null; }
  const view = el('div', { class: 'view' });
  clear(document.getElementById('main')).append(view);
  const name = me ? current() : 'login';
  setReadOnly(Boolean(me) && me.role === 'auditor');
  drawNav();
  try {
    const mod = await import(`./pages/${name}.js`);
    const done = (await mod.render(view, { me, loggedIn })) || null;
    if (view.isConnected) leave = done; else if (done) done();
  } catch (e) {
    if (e.status === 401) return loggedOut();
    if (view.isConnected) showError(e);
  }
}

async function loggedIn(who) {
  me = who;
  if (who.csrf_token) setCsrf(who.csrf_token);
  const home = `#/${current()}`;
  if (location.hash !== home) {
    location.hash = home; // hashchange shows it
    return;
  }
  await show();
}

async function loggedOut() {
  me = null;
  setCsrf(null);
  await show();
}

async function start() {
  document.getElementById('logout').addEventListener('click', async () => {
    try { await api('DELETE', '/session'); } catch (e) { /* already gone */ }
    await loggedOut();
  });
  window.addEventListener('hashchange', show);
  try {
    me = await get('/session');
  } catch (e) {
    me = null;
  }
  await show();
}

start();
