// DOM helpers. Text goes in with textContent (text nodes) only: what an
// admin or a mail sender typed is never parsed as HTML.

import { ApiError } from './api.js';

// An auditor reads every page and changes nothing: the helpers below that
// make edit controls (forms, action buttons, the config editor's inputs)
// make none for them. The server refuses an auditor's changes anyway (403).
let readOnly = false;

export function setReadOnly(on) {
  readOnly = Boolean(on);
}

export function isReadOnly() {
  return readOnly;
}

/** el('td', {class: 'x'}, 'text', child, …): attributes set one by one. */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  append(e, children);
  return e;
}

export function append(parent, children) {
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    parent.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(node) {
  while (node.firstChild) node.firstChild.remove();
  return node;
}

/** Shows an error at the top of the page (empty text hides it). */
export function showError(e) {
  const box = document.getElementById('error');
  box.textContent = e ? (e instanceof Error ? e.message : String(e)) : '';
}

export function table(headers, rows) {
  const head = el('tr', {}, headers.map((h) => el('th', {}, h)));
  const body = rows.map((cells) => el('tr', {}, cells.map((c) => el('td', {}, c))));
  return el('table', {}, el('thead', {}, head), el('tbody', {}, body));
}

export function button(text, onclick, cls) {
  return el('button', { type: 'button', class: cls, onclick }, text);
}

/** A button that changes something: none for an auditor. */
export function actionButton(text, onclick, cls) {
  return readOnly ? null : button(text, onclick, cls);
}

/** A button that asks once more ("Sure?") before it acts; none for an auditor. */
export function dangerButton(text, act) {
  if (readOnly) return null;
  const b = el('button', { type: 'button', class: 'danger' }, text);
  b.addEventListener('click', async () => {
    if (b.dataset.armed !== '1') {
      b.dataset.armed = '1';
      b.textContent = `Confirm ${text.toLowerCase()}`;
      return;
    }
    await act();
  });
  return b;
}

/**
 * A form of named fields: [{name, label, type, placeholder, value, options}].
 * `submit(values)` runs the change; a refusal is shown next to the field the
 * server's message names, else next to the button. None for an auditor.
 */
export function form(fields, submitText, submit, cls = 'inline') {
  if (readOnly) return null;
  const errors = {};
  const inputs = {};
  const f = el('form', { class: cls });
  for (const field of fields) {
    const id = `f-${field.name}-${Math.random().toString(36).slice(2, 8)}`;
    const input = field.options
      ? el('select', { name: field.name, id }, field.options.map((o) => el('option', { value: o }, o)))
      : el('input', { name: field.name, id, type: field.type || 'text', placeholder: field.placeholder, value: field.value });
    if (field.options && field.value !== undefined) input.value = field.value;
    inputs[field.name] = input;
    errors[field.name] = el('span', { class: 'field-error', 'data-for': field.name });
    f.append(el('label', { for: id }, field.label), el('span', {}, input, errors[field.name]));
  }
  const general = el('span', { class: 'field-error' });
  f.append(el('button', { type: 'submit', class: 'primary' }, submitText), general);
  f.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    for (const e of [...Object.values(errors), general]) e.textContent = '';
    const values = Object.fromEntries(Object.entries(inputs).map(([k, i]) => [k, i.value]));
    try {
      await submit(values);
    } catch (e) {
      const text = e instanceof ApiError || e instanceof Error ? e.message : String(e);
      const named = fields.find((fl) => text.toLowerCase().includes(fl.name.toLowerCase()));
      (named ? errors[named.name] : general).textContent = text;
    }
  });
  return f;
}

export function page(root, title, ...children) {
  clear(root);
  append(root, [el('h1', {}, title), ...children]);
}

export function bytes(n) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

/** A size typed as 500M, 2G, 1024 (bytes). */
export function parseSize(text) {
  const m = /^\s*(\d+)\s*([kmgt]?)i?b?\s*$/i.exec(text || '0');
  if (!m) throw new Error(`not a size: ${text}`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2].toLowerCase()];
  return Number(m[1]) * mult;
}

export function when(unix) {
  return new Date(unix * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

/**
 * Rows of config keys, each with its own input, Save button and error
 * next to it; the server validates (the same check as `postern config set`).
 */
export function configEditor(keys, save) {
  if (readOnly) {
    const rows = keys.map((c) => el('tr', { 'data-key': c.key }, el('td', {}, el('code', {}, c.key)), el('td', { class: 'config-value' }, c.value)));
    return el('table', { class: 'config' }, el('tbody', {}, rows));
  }
  const rows = keys.map((c) => {
    const input = el('input', { name: c.key, value: c.value, class: 'config-value', size: 40 });
    const note = el('span', { class: 'field-error', 'data-for': c.key });
    const b = el('button', { type: 'button' }, 'Save');
    b.addEventListener('click', async () => {
      note.textContent = '';
      note.className = 'field-error';
      try {
        const saved = await save(c.key, input.value);
        input.value = saved.value;
        note.className = 'ok';
        note.textContent = 'saved';
      } catch (e) {
        note.textContent = e.message;
      }
    });
    return el('tr', { 'data-key': c.key }, el('td', {}, el('code', {}, c.key)), el('td', {}, input, note), el('td', {}, b));
  });
  return el('table', { class: 'config' }, el('tbody', {}, rows));
}
