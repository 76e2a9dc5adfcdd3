// Postern webmail. Everything user-supplied goes into the page with
// textContent (never as markup); message HTML comes sanitised by the server
// and is shown only inside a sandboxed frame.
'use strict';

const $ = (id) => document.getElementById(id);
const state = { csrf: '', folder: 'INBOX', page: 0, pages: 1, order: 'desc', q: '', rows: [], open: null, events: null, view: null, draft: null, files: [], thread: false, settings: null };

async function api(method, path, body) {
  const init = { method, headers: {}, credentials: 'same-origin' };
  if (method !== 'GET') init.headers['X-CSRF-Token'] = state.csrf;
  if (body instanceof Blob) {
    init.headers['Content-Type'] = body.type || 'application/octet-stream';
    init.body = body;
  } else if (body !== undefined) {
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
  fitBar();
  await loadSettings();
  await loadFolders();
  await loadList();
  listen();
}

// On a phone the header wraps: what opens full-screen starts below it.
function fitBar() {
  const bar = document.querySelector('header.bar');
  document.documentElement.style.setProperty('--bar-h', `${bar.offsetHeight}px`);
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
    li.addEventListener('dragover', (e) => {
      if (!e.dataTransfer.types.includes(DRAG_TYPE)) return;
      e.preventDefault();
      li.classList.add('drop');
    });
    li.addEventListener('dragleave', () => li.classList.remove('drop'));
    li.addEventListener('drop', (e) => dropOnFolder(e, f.name, li));
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
  if (state.settings) params.set('size', state.settings.prefs.page_size);
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
    tr.draggable = true;
    tr.addEventListener('dragstart', (e) => dragRows(e, m.uid));
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
  const html = m.has_html && (!state.settings || state.settings.prefs.prefer_html || !m.text);
  if (html) {
    frame.hidden = false;
    frame.src = msgUrl('/html', uid, m.images_allowed ? { images: 1 } : {});
    $('text').textContent = '';
    $('text').hidden = true;
  } else {
    frame.hidden = true;
    frame.removeAttribute('src');
    $('text').hidden = false;
    $('text').textContent = m.text;
  }
  $('images-note').hidden = !(html && m.blocked_images > 0 && !m.images_allowed);
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
    if (a.preview === 'pdf') {
      const view = el('a', 'Preview', 'preview-link');
      view.href = msgUrl('/preview', uid, { n: a.n });
      view.target = '_blank';
      view.rel = 'noopener noreferrer';
      li.append(' ', view);
    } else if (a.preview === 'image') {
      const img = el('img', undefined, 'preview');
      img.alt = a.name;
      img.src = msgUrl('/preview', uid, { n: a.n });
      li.append(img);
    }
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

async function alwaysImages() {
  if (state.open === null) return;
  try {
    await api('POST', '/api/images/allow', { folder: state.folder, uid: state.open });
    showImages();
    status('Remote images from this sender will be shown');
  } catch (e) { status(e.message); }
}

// ---- dragging messages onto folders

const DRAG_TYPE = 'application/x-postern-uids';

function dragRows(e, uid) {
  const chosen = selected();
  const uids = chosen.includes(uid) ? chosen : [uid];
  e.dataTransfer.setData(DRAG_TYPE, JSON.stringify({ folder: state.folder, uids }));
  e.dataTransfer.effectAllowed = 'move';
}

async function dropOnFolder(e, name, li) {
  li.classList.remove('drop');
  const data = e.dataTransfer.getData(DRAG_TYPE);
  if (!data) return;
  e.preventDefault();
  const { folder, uids } = JSON.parse(data);
  if (folder === name) return;
  try {
    await api('POST', '/api/messages/move', { folder, uids, to: name });
    if (uids.includes(state.open)) closeReader();
    status(`Moved to ${name}`);
    await loadFolders();
    await loadList();
  } catch (err) { status(err.message); }
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

function signed(text) {
  const sig = state.settings && state.settings.prefs.signature;
  return sig ? `\n\n-- \n${sig}${text || ''}` : (text || '');
}

function fillIdentities(from) {
  const sel = $('c-from');
  sel.replaceChildren();
  const ids = (state.settings && state.settings.identities) || [self()];
  for (const id of ids) {
    const opt = el('option', id);
    opt.value = id;
    sel.append(opt);
  }
  if (from && ids.some((i) => i.toLowerCase() === from.toLowerCase())) sel.value = ids.find((i) => i.toLowerCase() === from.toLowerCase());
}

function openComposer(fields) {
  state.draft = fields.draft_uid ?? null;
  state.files = [];
  state.compose = { in_reply_to: fields.in_reply_to || '', references: fields.references || [] };
  fillIdentities(fields.from);
  $('c-to').value = fields.to || '';
  $('c-cc').value = fields.cc || '';
  $('c-bcc').value = '';
  $('c-subject').value = fields.subject || '';
  $('c-text').value = fields.draft_uid === undefined ? signed(fields.text) : (fields.text || '');
  setRich(false);
  $('c-files').value = '';
  $('c-attached').replaceChildren();
  $('c-status').textContent = '';
  hideSuggestions();
  $('reader').hidden = true;
  $('settings-panel').hidden = true;
  $('contacts-panel').hidden = true;
  $('composer').hidden = false;
  (fields.to ? $('c-text') : $('c-to')).focus();
  // A new text starts above the signature and quote; a draft goes on at its end.
  const at = fields.draft_uid === undefined ? 0 : $('c-text').value.length;
  $('c-text').setSelectionRange(at, at);
}

// The editor holds the user's own text; it goes into the page as text
// nodes and line breaks, and leaves as the editor's HTML, which the server
// sanitises (rich.rs) before sending.
function textToEditor(text) {
  const ed = $('c-editor');
  ed.replaceChildren();
  for (const line of text.replace(/\r\n/g, '\n').split('\n')) {
    const div = el('div');
    if (line) div.textContent = line; else div.append(el('br'));
    ed.append(div);
  }
}

// A rich draft comes back as tokens (rich_tokens.rs): elements by name
// from the editor's allow-list and text as text nodes, never as markup.
const RICH_TAGS = new Set(['b', 'strong', 'i', 'em', 'u', 'ul', 'ol', 'li', 'p', 'br', 'div', 'a', 'blockquote']);
function tokensToEditor(tokens) {
  const ed = $('c-editor');
  ed.replaceChildren();
  const stack = [ed];
  for (const t of tokens) {
    const top = stack[stack.length - 1];
    if (t.kind === 'text') {
      top.append(document.createTextNode(t.text || ''));
    } else if (t.kind === 'open' && RICH_TAGS.has(t.tag)) {
      const e = document.createElement(t.tag);
      if (t.tag === 'a' && /^(https?:|mailto:)/i.test(t.href || '')) e.setAttribute('href', t.href);
      top.append(e);
      if (t.tag !== 'br') stack.push(e);
    } else if (t.kind === 'close' && stack.length > 1 && stack[stack.length - 1].localName === t.tag) {
      stack.pop();
    }
  }
}

function setRich(on) {
  const was = !$('c-editor').hidden;
  if (on && !was) textToEditor($('c-text').value);
  if (!on && was) $('c-text').value = $('c-editor').innerText;
  $('c-rich').checked = on;
  $('c-editor').hidden = !on;
  $('c-text').hidden = on;
  $('c-format').classList.toggle('rich', on);
}

function format(cmd) {
  $('c-editor').focus();
  if (cmd === 'createLink') {
    const url = $('c-link-url').value.trim();
    if (!/^(https?:|mailto:)/i.test(url)) { $('c-status').textContent = 'A link starts with https://, http:// or mailto:'; return; }
    document.execCommand('createLink', false, url);
  } else {
    document.execCommand(cmd, false, null);
  }
}

// ---- address completion (contacts, then the directory of this domain)

let suggestFor = null;
let suggestSeq = 0;

function hideSuggestions() { $('c-suggest').hidden = true; $('c-suggest').replaceChildren(); suggestFor = null; }

function lastToken(input) { return input.value.split(/[,;]/).pop().trim(); }

async function suggest(input) {
  const q = lastToken(input);
  const seq = ++suggestSeq;
  if (!q) { hideSuggestions(); return; }
  let found;
  try { found = await api('GET', '/api/addresses?' + new URLSearchParams({ q })); } catch (e) { return; }
  if (seq !== suggestSeq) return;
  const ul = $('c-suggest');
  ul.replaceChildren();
  for (const s of found) {
    const li = el('li', s.name ? `${s.name} <${s.address}>` : s.address);
    li.dataset.address = s.address;
    li.setAttribute('role', 'option');
    li.addEventListener('mousedown', (e) => { e.preventDefault(); choose(input, s.address); });
    ul.append(li);
  }
  suggestFor = input;
  ul.hidden = found.length === 0;
  input.closest('label').after(ul);
}

function choose(input, address) {
  const parts = input.value.split(/[,;]/).map((p) => p.trim()).filter(Boolean);
  parts.pop();
  parts.push(address);
  input.value = parts.join(', ') + ', ';
  hideSuggestions();
  input.focus();
}

function suggestKeys(e) {
  const ul = $('c-suggest');
  if (ul.hidden || suggestFor !== e.target) return;
  const items = [...ul.children];
  let i = items.findIndex((li) => li.classList.contains('active'));
  if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
    e.preventDefault();
    i = e.key === 'ArrowDown' ? Math.min(i + 1, items.length - 1) : Math.max(i - 1, 0);
    items.forEach((li, j) => li.classList.toggle('active', j === i));
  } else if (e.key === 'Enter' || e.key === 'Tab') {
    const pick = items[i >= 0 ? i : 0];
    if (pick) { e.preventDefault(); choose(e.target, pick.dataset.address); }
  } else if (e.key === 'Escape') {
    hideSuggestions();
  }
}

function self() { return $('whoami').textContent.toLowerCase(); }

function addrOf(s) { const m = s.match(/<([^>]+)>/); return (m ? m[1] : s).trim().toLowerCase(); }

function identities() { return ((state.settings && state.settings.identities) || [self()]).map((i) => i.toLowerCase()); }

// A reply goes out as the identity the message was sent to, when it is one.
function replyIdentity(m) {
  const addressed = [m.to, m.cc].join(',').split(',').filter((s) => s.trim()).map(addrOf);
  return identities().find((i) => addressed.includes(i));
}

function reply(all) {
  const m = state.view;
  if (!m) return;
  const to = m.reply_to || m.from;
  let cc = '';
  if (all) {
    const seen = new Set([...identities(), addrOf(to)]);
    cc = [m.to, m.cc].join(',').split(',').map((s) => s.trim()).filter((s) => s && !seen.has(addrOf(s)) && seen.add(addrOf(s))).join(', ');
  }
  const refs = [...(m.references || [])];
  if (m.message_id && !refs.includes(m.message_id)) refs.push(m.message_id);
  openComposer({ from: replyIdentity(m), to, cc, subject: prefixed('Re:', m.subject), text: quote(m), in_reply_to: m.message_id, references: refs });
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
  openComposer({ from: addrOf(m.from), to: m.to, cc: m.cc, subject: m.subject, text: m.text, in_reply_to: '', references: m.references, draft_uid: m.uid });
  if (m.rich && m.rich.length) {
    setRich(true);
    tokensToEditor(m.rich);
  }
}

function readFile(f) {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve({ name: f.name, content_type: f.type || 'application/octet-stream', data: String(r.result).split(',')[1] || '' });
    r.onerror = () => reject(r.error);
    r.readAsDataURL(f);
  });
}

// Attachments travel base64 inside JSON; the whole message must fit the
// server's smtp.max_message_size (the submission session enforces it too).
function attachedBytes() { return state.files.reduce((n, f) => n + f.size, 0); }

async function addFiles(files) {
  const limit = state.settings ? state.settings.max_message_size : Infinity;
  for (const f of files) {
    if ((attachedBytes() + f.size) * 4 / 3 > limit) {
      $('c-status').textContent = `${f.name} is too large: a message may be at most ${limit} bytes`;
      continue;
    }
    const read = await readFile(f);
    read.size = f.size;
    state.files.push(read);
    const li = el('li', `${f.name} (${f.size} bytes)`);
    $('c-attached').append(li);
  }
}

async function pickFiles() {
  await addFiles($('c-files').files);
  $('c-files').value = '';
}

function dropFiles(e) {
  $('composer').classList.remove('dropping');
  if (!e.dataTransfer || e.dataTransfer.files.length === 0) return;
  e.preventDefault();
  addFiles(e.dataTransfer.files).catch((err) => { $('c-status').textContent = err.message; });
}

function composed() {
  const rich = !$('c-editor').hidden;
  return {
    from: $('c-from').value, to: $('c-to').value, cc: $('c-cc').value, bcc: $('c-bcc').value, subject: $('c-subject').value,
    text: rich ? $('c-editor').innerText : $('c-text').value, html: rich ? $('c-editor').innerHTML : '',
    in_reply_to: state.compose.in_reply_to, references: state.compose.references,
    attachments: state.files.map(({ name, content_type, data }) => ({ name, content_type, data })), draft_uid: state.draft,
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

async function loadSettings() {
  state.settings = await api('GET', '/api/settings');
  const p = state.settings.prefs;
  state.thread = p.threads;
  $('threads').checked = p.threads;
  $('set-signature').value = p.signature;
  $('set-page-size').value = p.page_size;
  $('set-threads').checked = p.threads;
  $('set-html').checked = p.prefer_html;
  $('set-identities').textContent = state.settings.identities.join(', ');
  $('filters-hook').disabled = !state.settings.filters;
}

async function savePrefs(ev) {
  ev.preventDefault();
  const prefs = {
    signature: $('set-signature').value, page_size: Number($('set-page-size').value),
    threads: $('set-threads').checked, prefer_html: $('set-html').checked,
  };
  try {
    await api('PUT', '/api/settings', prefs);
    await loadSettings();
    $('set-status').textContent = 'Saved';
    state.page = 0;
    await loadList();
  } catch (e) { $('set-status').textContent = e.message; }
}

function togglePanel(id) {
  const panel = $(id);
  const show = panel.hidden;
  for (const p of ['settings-panel', 'contacts-panel']) $(p).hidden = true;
  panel.hidden = !show;
  if (show) { $('reader').hidden = true; $('composer').hidden = true; }
  return show;
}

// ---- contacts

function contactForm(c) {
  $('ct-id').value = c.id || '';
  $('ct-name').value = c.name || '';
  $('ct-emails').value = (c.emails || []).join(', ');
  $('ct-phones').value = (c.phones || []).join(', ');
  $('ct-org').value = c.org || '';
  $('ct-note').value = c.note || '';
  state.contact = c;
}

async function loadContacts() {
  const list = await api('GET', '/api/contacts');
  const ul = $('contact-list');
  ul.replaceChildren();
  for (const c of list) {
    const li = el('li');
    li.dataset.id = c.id;
    const who = el('span', [c.name, ...c.emails].filter(Boolean).join(' \u00b7 '), 'who');
    const edit = el('button', 'Edit');
    edit.type = 'button';
    edit.addEventListener('click', () => contactForm(c));
    const write = el('button', 'Write');
    write.type = 'button';
    write.disabled = c.emails.length === 0;
    write.addEventListener('click', () => openComposer({ to: c.emails[0] }));
    const del = el('button', 'Delete');
    del.type = 'button';
    del.addEventListener('click', () => deleteContact(c.id));
    li.append(who, edit, write, del);
    ul.append(li);
  }
}

function listOf(s) { return s.split(/[,;]/).map((x) => x.trim()).filter(Boolean); }

async function saveContact(ev) {
  ev.preventDefault();
  const c = {
    ...(state.contact || {}), name: $('ct-name').value.trim(), emails: listOf($('ct-emails').value),
    phones: listOf($('ct-phones').value), org: $('ct-org').value.trim(), note: $('ct-note').value,
  };
  const id = Number($('ct-id').value || 0);
  try {
    if (id) await api('PUT', '/api/contacts', { ...c, id });
    else await api('POST', '/api/contacts', { ...c, id: 0 });
    contactForm({});
    $('ct-status').textContent = 'Contact saved';
    await loadContacts();
  } catch (e) { $('ct-status').textContent = e.message; }
}

async function deleteContact(id) {
  try {
    await api('DELETE', '/api/contacts?' + new URLSearchParams({ id }));
    $('ct-status').textContent = 'Contact deleted';
    await loadContacts();
  } catch (e) { $('ct-status').textContent = e.message; }
}

async function importVcard() {
  const f = $('vcf-file').files[0];
  if (!f) return;
  try {
    const r = await api('POST', '/api/contacts/import', new Blob([f], { type: 'text/vcard' }));
    $('ct-status').textContent = `Imported ${r.imported} contact(s)`;
    await loadContacts();
  } catch (e) { $('ct-status').textContent = e.message; }
  $('vcf-file').value = '';
}

async function addSender() {
  if (state.open === null) return;
  try {
    const r = await api('POST', '/api/contacts/sender', { folder: state.folder, uid: state.open });
    status(r && r.id ? 'Sender added to contacts' : 'Done');
  } catch (e) { status(e.message); }
}

async function changePassword(ev) {
  ev.preventDefault();
  try {
    await api('POST', '/api/password', { current: $('pw-current').value, new: $('pw-new').value });
    $('pw-current').value = '';
    $('pw-new').value = '';
    $('settings-panel').hidden = true;
    showLogin();
    $('login-error').textContent = 'Password changed: sign in with the new one';
  } catch (e) { $('pw-status').textContent = e.message; }
}

function keys(e) {
  if ($('app-view').hidden || e.target.matches('input, textarea, select, [contenteditable]')) return;
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
  window.addEventListener('resize', fitBar);
  $('compose').addEventListener('click', () => openComposer({}));
  $('reply').addEventListener('click', () => reply(false));
  $('reply-all').addEventListener('click', () => reply(true));
  $('forward').addEventListener('click', forward);
  $('edit-draft').addEventListener('click', editDraft);
  $('c-files').addEventListener('change', () => pickFiles().catch((e) => { $('c-status').textContent = e.message; }));
  $('c-save').addEventListener('click', saveDraft);
  $('c-cancel').addEventListener('click', () => { $('composer').hidden = true; state.replying = null; });
  $('composer').addEventListener('submit', send);
  $('settings').addEventListener('click', () => { togglePanel('settings-panel'); $('pw-status').textContent = ''; $('set-status').textContent = ''; });
  $('password-form').addEventListener('submit', changePassword);
  $('prefs-form').addEventListener('submit', savePrefs);
  $('contacts-btn').addEventListener('click', () => { if (togglePanel('contacts-panel')) { contactForm({}); $('ct-status').textContent = ''; loadContacts().catch((e) => { $('ct-status').textContent = e.message; }); } });
  $('contact-form').addEventListener('submit', saveContact);
  $('ct-new').addEventListener('click', () => contactForm({}));
  $('vcf-file').addEventListener('change', importVcard);
  $('add-contact').addEventListener('click', addSender);
  $('always-images').addEventListener('click', alwaysImages);
  $('c-rich').addEventListener('change', (e) => setRich(e.target.checked));
  for (const b of document.querySelectorAll('#c-format button[data-cmd]')) {
    b.addEventListener('mousedown', (e) => e.preventDefault());
    b.addEventListener('click', () => format(b.dataset.cmd));
  }
  for (const input of document.querySelectorAll('#composer input.addr')) {
    input.addEventListener('input', () => suggest(input));
    input.addEventListener('keydown', suggestKeys);
    input.addEventListener('blur', () => { if (suggestFor === input) hideSuggestions(); });
  }
  $('composer').addEventListener('dragover', (e) => {
    if (!e.dataTransfer || !e.dataTransfer.types.includes('Files')) return;
    e.preventDefault();
    $('composer').classList.add('dropping');
  });
  $('composer').addEventListener('dragleave', () => $('composer').classList.remove('dropping'));
  $('composer').addEventListener('drop', dropFiles);
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
