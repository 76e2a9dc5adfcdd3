// Postern webmail. Everything user-supplied goes into the page with
// textContent (never as markup); message HTML comes sanitised by the server
// and is shown only inside a sandboxed frame.
'use strict';

const $ = (id) => document.getElementById(id);
const state = { csrf: '', folder: 'INBOX', page: 0, pages: 1, order: 'desc', q: '', rows: [], open: null, events: null, view: null, draft: null, files: [], thread: false };

async function api(method, path, body) {
  const init = { method, headers: {}, credentials: 'same-origin' };
  if (method !== 'GET') init.headers['X-CSRF-Token'] = state.csrf;
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const r = await fetch(path, init);
  if (r.status === 401 && path !== '/api/session') { showLogin(); throw new Error('signed out'); }
  const type = r.headers.get('Content-Type') || '';
  const data = type.includes('json') ? await r.json() : null;
  if (!r.ok) throw new Error((data && data.error) || ('error ' + r.status));
  return data;
}

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

function status(text) { $('status').textContent = text; }

function showLogin() {
  if (state.events) { state.events.close(); state.events = null; }
  $('app-view').hidden = true;
  $('login-view').hidden = false;
  $('login-user').focus();
}

async function showApp(who) {
  state.csrf = who.csrf_token;
  $('whoami').textContent = who.user;
  $('login-view').hidden = true;
  $('app-view').hidden = false;
  await loadFolders();
  await loadList();
  listen();
}

async function login(ev) {
  ev.preventDefault();
  $('login-error').textContent = '';
  try {
    const who = await api('POST', '/api/session', {
      user: $('login-user').value, password: $('login-password').value, remember: $('login-remember').checked,
    });
    $('login-password').value = '';
    await showApp(who);
  } catch (e) {
    $('login-error').textContent = e.message === 'please sign in' ? 'Wrong address or password' : e.message;
  }
}

async function logout() {
  try { await api('DELETE', '/api/session'); } catch (e) { /* already out */ }
  state.csrf = '';
  showLogin();
}

async function loadFolders() {
  const folders = await api('GET', '/api/folders');
  const ul = $('folders');
  const target = $('move-target');
  ul.replaceChildren();
  target.replaceChildren();
  for (const f of folders) {
    const li = el('li');
    li.dataset.folder = f.name;
    const name = el('span', f.name);
    li.append(name);
    if (f.unread > 0) {
      li.classList.add('unread');
      li.append(el('span', String(f.unread), 'count'));
    }
    if (f.name === state.folder) li.classList.add('open');
    li.addEventListener('click', () => openFolder(f.name));
    ul.append(li);
    const opt = el('option', f.name);
    opt.value = f.name;
    target.append(opt);
  }
}

async function openFolder(name) {
  state.folder = name;
  state.page = 0;
  state.q = '';
  $('search').value = '';
  $('sidebar').classList.remove('shown');
  closeReader();
  await loadFolders();
  await loadList();
}

function fmtDate(s) {
  const d = new Date(s);
  if (isNaN(d)) return '';
  const today = new Date();
  return d.toDateString() === today.toDateString()
    ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
    : d.toLocaleDateString();
}

async function loadList() {
  const params = new URLSearchParams({ folder: state.folder, page: state.page, order: state.order });
  if (state.q) params.set('q', state.q);
  if (state.thread) params.set('thread', 1);
  const t0 = performance.now();
  const page = await api('GET', '/api/messages?' + params);
  state.rows = page.messages;
  state.pages = page.pages;
  state.page = page.page;
  const tbody = $('rows');
  tbody.replaceChildren();
  for (const m of page.messages) {
    const tr = el('tr');
    tr.dataset.uid = m.uid;
    if (!m.seen) tr.classList.add('unseen');
    if (m.depth > 0) tr.classList.add('reply');
    if (state.open === m.uid) tr.classList.add('current');
    const check = el('td', undefined, 'check');
    const box = el('input');
    box.type = 'checkbox';
    box.className = 'select';
    box.addEventListener('click', (e) => e.stopPropagation());
    check.append(box);
    const from = el('td', state.folder.match(/sent|drafts/i) ? m.to : m.from, 'from');
    const subj = el('td', (m.flagged ? '\u2691 ' : '') + (m.attachment ? '\u{1F4CE} ' : '') + (m.subject || '(no subject)'), 'subject');
    const date = el('td', fmtDate(m.date), 'date');
    tr.append(check, from, subj, date);
    tr.addEventListener('click', () => openMessage(m.uid));
    tbody.append(tr);
  }
  $('folder-title').textContent = state.q ? `${state.folder}: \u201c${state.q}\u201d (${page.total})` : `${state.folder} (${page.total})`;
  $('page-info').textContent = `${page.page + 1}/${page.pages}`;
  $('select-all').checked = false;
  document.body.dataset.listMs = String(Math.round(performance.now() - t0));
  document.body.dataset.listLoaded = String(Date.now());
}

function selected() {
  return [...document.querySelectorAll('#rows tr')]
    .filter((tr) => tr.querySelector('.select').checked)
    .map((tr) => Number(tr.dataset.uid));
}

function targetUids() {
  const uids = selected();
  if (uids.length === 0 && state.open !== null) uids.push(state.open);
  return uids;
}

function closeReader() {
  state.open = null;
  state.view = null;
  $('reader').hidden = true;
  $('html-frame').hidden = true;
  $('html-frame').removeAttribute('src');
}

function msgUrl(kind, uid, extra) {
  const p = new URLSearchParams({ folder: state.folder, uid, ...(extra || {}) });
  return `/api/message${kind}?${p}`;
}

async function openMessage(uid) {
  const t0 = performance.now();
  const m = await api('GET', msgUrl('', uid));
  state.open = uid;
  $('reader').hidden = false;
  $('subject').textContent = m.subject || '(no subject)';
  $('from').textContent = m.from;
  $('to').textContent = [m.to, m.cc].filter(Boolean).join(', ');
  $('date').textContent = m.date ? new Date(m.date).toLocaleString() : '';
  const frame = $('html-frame');
  if (m.has_html) {
    frame.hidden = false;
    frame.src = msgUrl('/html', uid);
    $('text').textContent = '';
    $('text').hidden = true;
  } else {
    frame.hidden = true;
    frame.removeAttribute('src');
    $('text').hidden = false;
    $('text').textContent = m.text;
  }
  $('images-note').hidden = !(m.has_html && m.blocked_images > 0);
  $('images-count').textContent = `${m.blocked_images} remote image(s) blocked.`;
  const ul = $('attachments');
  ul.replaceChildren();
  for (const a of m.attachments) {
    const li = el('li');
    const link = el('a', a.name);
    link.href = msgUrl('/part', uid, { n: a.n });
    link.setAttribute('download', '');
    link.className = 'attachment';
    li.append(link, el('span', ` (${a.content_type}, ${a.size} bytes)`));
    ul.append(li);
  }
  $('raw').href = msgUrl('/raw', uid);
  state.view = m;
  $('edit-draft').hidden = !m.flags.includes('\\Draft');
  for (const tr of document.querySelectorAll('#rows tr')) tr.classList.toggle('current', Number(tr.dataset.uid) === uid);
  document.body.dataset.openMs = String(Math.round(performance.now() - t0));
  if (!m.flags.includes('\\Seen')) {
    await api('POST', '/api/messages/flag', { folder: state.folder, uids: [uid], flag: '\\Seen', on: true });
    const tr = document.querySelector(`#rows tr[data-uid="${uid}"]`);
    if (tr) tr.classList.remove('unseen');
    await loadFolders();
  }
}

function showImages() {
  if (state.open === null) return;
  $('html-frame').src = msgUrl('/html', state.open, { images: 1 });
  $('images-note').hidden = true;
}

async function act(path, extra) {
  const uids = targetUids();
  if (uids.length === 0) { status('Select messages first'); return; }
  try {
    await api('POST', path, { folder: state.folder, uids, ...extra });
    if (path !== '/api/messages/flag') closeReader();
    status('Done');
    await loadFolders();
    await loadList();
  } catch (e) { status(e.message); }
}

async function folderOp(method, body, query) {
  try {
    await api(method, '/api/folders' + (query || ''), body);
    $('folder-name').value = '';
    await loadFolders();
    status('Done');
  } catch (e) { status(e.message); }
}

function listen() {
  if (state.events || !window.EventSource) return;
  const es = new EventSource('/api/events');
  es.addEventListener('change', async (e) => {
    await loadFolders();
    if (e.data === state.folder || e.data === '') await loadList();
  });
  state.events = es;
}

// ---- writing

function quote(m) {
  const lines = (m.text || '').replace(/\r\n/g, '\n').split('\n').map((l) => '> ' + l);
  return `\n\nOn ${m.date || 'an earlier date'}, ${m.from} wrote:\n` + lines.join('\n');
}

function prefixed(prefix, subject) {
  return subject.toLowerCase().startsWith(prefix.toLowerCase()) ? subject : `${prefix} ${subject}`;
}

function openComposer(fields) {
  state.draft = fields.draft_uid ?? null;
  state.files = [];
  state.compose = { in_reply_to: fields.in_reply_to || '', references: fields.references || [] };
  $('c-to').value = fields.to || '';
  $('c-cc').value = fields.cc || '';
  $('c-bcc').value = '';
  $('c-subject').value = fields.subject || '';
  $('c-text').value = fields.text || '';
  $('c-files').value = '';
  $('c-attached').replaceChildren();
  $('c-status').textContent = '';
  $('reader').hidden = true;
  $('composer').hidden = false;
  (fields.to ? $('c-text') : $('c-to')).focus();
}

function self() { return $('whoami').textContent.toLowerCase(); }

function addrOf(s) { const m = s.match(/<([^>]+)>/); return (m ? m[1] : s).trim().toLowerCase(); }

function reply(all) {
  const m = state.view;
  if (!m) return;
  const to = m.reply_to || m.from;
  let cc = '';
  if (all) {
    const seen = new Set([self(), addrOf(to)]);
    cc = [m.to, m.cc].join(',').split(',').map((s) => s.trim()).filter((s) => s && !seen.has(addrOf(s)) && seen.add(addrOf(s))).join(', ');
  }
  const refs = [...(m.references || [])];
  if (m.message_id && !refs.includes(m.message_id)) refs.push(m.message_id);
  openComposer({ to, cc, subject: prefixed('Re:', m.subject), text: quote(m), in_reply_to: m.message_id, references: refs });
  state.replying = { folder: state.folder, uid: m.uid };
}

function forward() {
  const m = state.view;
  if (!m) return;
  const head = `\n\n-------- Forwarded message --------\nFrom: ${m.from}\nDate: ${m.date}\nSubject: ${m.subject}\nTo: ${m.to}\n\n`;
  openComposer({ subject: prefixed('Fwd:', m.subject), text: head + (m.text || '') });
}

function editDraft() {
  const m = state.view;
  if (!m) return;
  openComposer({ to: m.to, cc: m.cc, subject: m.subject, text: m.text, in_reply_to: '', references: m.references, draft_uid: m.uid });
}

function readFile(f) {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve({ name: f.name, content_type: f.type || 'application/octet-stream', data: String(r.result).split(',')[1] || '' });
    r.onerror = () => reject(r.error);
    r.readAsDataURL(f);
  });
}

async function pickFiles() {
  for (const f of $('c-files').files) {
    state.files.push(await readFile(f));
    const li = el('li', `${f.name} (${f.size} bytes)`);
    $('c-attached').append(li);
  }
  $('c-files').value = '';
}

function composed() {
  return {
    to: $('c-to').value, cc: $('c-cc').value, bcc: $('c-bcc').value, subject: $('c-subject').value,
    text: $('c-text').value, in_reply_to: state.compose.in_reply_to, references: state.compose.references,
    attachments: state.files, draft_uid: state.draft,
  };
}

async function saveDraft() {
  try {
    const r = await api('POST', '/api/draft', composed());
    state.draft = r.uid;
    $('c-status').textContent = 'Draft saved';
    await loadFolders();
    if (state.folder.match(/drafts/i)) await loadList();
  } catch (e) { $('c-status').textContent = e.message; }
}

async function send(ev) {
  ev.preventDefault();
  $('c-status').textContent = 'Sending…';
  try {
    await api('POST', '/api/send', composed());
    if (state.replying) {
      await api('POST', '/api/messages/flag', { folder: state.replying.folder, uids: [state.replying.uid], flag: '\\Answered', on: true }).catch(() => {});
    }
    state.replying = null;
    $('composer').hidden = true;
    status('Message sent');
    await loadFolders();
    await loadList();
  } catch (e) { $('c-status').textContent = e.message; }
}

// ---- settings

async function changePassword(ev) {
  ev.preventDefault();
  try {
    await api('POST', '/api/password', { current: $('pw-current').value, new: $('pw-new').value });
    $('pw-current').value = '';
    $('pw-new').value = '';
    $('password-form').hidden = true;
    showLogin();
    $('login-error').textContent = 'Password changed: sign in with the new one';
  } catch (e) { $('pw-status').textContent = e.message; }
}

function keys(e) {
  if ($('app-view').hidden || e.target.matches('input, textarea, select')) return;
  const i = state.rows.findIndex((m) => m.uid === state.open);
  if (e.key === 'j' && i + 1 < state.rows.length) openMessage(state.rows[i + 1].uid);
  else if (e.key === 'k' && i > 0) openMessage(state.rows[i - 1].uid);
  else if (e.key === 'Delete' || e.key === '#') act('/api/messages/delete');
  else if (e.key === '/') { e.preventDefault(); $('search').focus(); }
  else if (e.key === 'Escape') closeReader();
  else if (e.key === 'c') { e.preventDefault(); openComposer({}); }
  else if (e.key === 'r') { e.preventDefault(); reply(false); }
  else if (e.key === 'a') { e.preventDefault(); reply(true); }
  else if (e.key === 'f') { e.preventDefault(); forward(); }
}

function wire() {
  $('login-form').addEventListener('submit', login);
  $('logout').addEventListener('click', logout);
  $('search-form').addEventListener('submit', (e) => {
    e.preventDefault();
    state.q = $('search').value.trim();
    state.page = 0;
    closeReader();
    loadList().catch((err) => status(err.message));
  });
  $('mark-read').addEventListener('click', () => act('/api/messages/flag', { flag: '\\Seen', on: true }));
  $('mark-unread').addEventListener('click', () => act('/api/messages/flag', { flag: '\\Seen', on: false }));
  $('flag').addEventListener('click', () => act('/api/messages/flag', { flag: '\\Flagged', on: true }));
  $('delete').addEventListener('click', () => act('/api/messages/delete'));
  $('spam').addEventListener('click', () => act('/api/messages/spam', { spam: true }));
  $('not-spam').addEventListener('click', () => act('/api/messages/spam', { spam: false }));
  $('move').addEventListener('click', () => act('/api/messages/move', { to: $('move-target').value }));
  $('copy').addEventListener('click', () => act('/api/messages/move', { to: $('move-target').value, copy: true }));
  $('select-all').addEventListener('change', (e) => {
    for (const b of document.querySelectorAll('#rows .select')) b.checked = e.target.checked;
  });
  $('order').addEventListener('click', () => {
    state.order = state.order === 'desc' ? 'asc' : 'desc';
    $('order').textContent = state.order === 'desc' ? 'Newest first' : 'Oldest first';
    loadList();
  });
  $('threads').addEventListener('change', (e) => { state.thread = e.target.checked; state.page = 0; loadList(); });
  $('prev').addEventListener('click', () => { if (state.page > 0) { state.page--; loadList(); } });
  $('next').addEventListener('click', () => { if (state.page + 1 < state.pages) { state.page++; loadList(); } });
  $('create-folder').addEventListener('click', () => folderOp('POST', { name: $('folder-name').value.trim() }));
  $('rename-folder').addEventListener('click', async () => {
    const to = $('folder-name').value.trim();
    await folderOp('PATCH', { from: state.folder, to });
    await openFolder(to);
  });
  $('delete-folder').addEventListener('click', async () => {
    await folderOp('DELETE', undefined, '?' + new URLSearchParams({ name: state.folder }));
    await openFolder('INBOX');
  });
  $('show-images').addEventListener('click', showImages);
  $('back').addEventListener('click', closeReader);
  $('menu').addEventListener('click', () => $('sidebar').classList.toggle('shown'));
  document.addEventListener('keydown', keys);
  $('compose').addEventListener('click', () => openComposer({}));
  $('reply').addEventListener('click', () => reply(false));
  $('reply-all').addEventListener('click', () => reply(true));
  $('forward').addEventListener('click', forward);
  $('edit-draft').addEventListener('click', editDraft);
  $('c-files').addEventListener('change', () => pickFiles().catch((e) => { $('c-status').textContent = e.message; }));
  $('c-save').addEventListener('click', saveDraft);
  $('c-cancel').addEventListener('click', () => { $('composer').hidden = true; state.replying = null; });
  $('composer').addEventListener('submit', send);
  $('settings').addEventListener('click', () => { $('password-form').hidden = !$('password-form').hidden; $('pw-status').textContent = ''; });
  $('password-form').addEventListener('submit', changePassword);
}

async function start() {
  wire();
  try {
    const who = await api('GET', '/api/session');
    await showApp(who);
  } catch (e) {
    showLogin();
  }
}

start();
