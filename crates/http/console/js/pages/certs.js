// Certificates (issue 19 item 6): the default and each imported one, served
// by SNI; import a PEM chain and its key, pasted or read from files. The
// server checks the import (key matches, chain complete, valid for its
// names) and its refusal is shown next to the form.
import { api, get } from '../api.js';
import { el, page, table, showError, isReadOnly } from '../ui.js';

function row(c) {
  const name = c.name === 'default' ? el('strong', { class: 'default-cert' }, 'default') : c.name;
  return [name, c.hosts.join(', '), c.not_after, c.subject, c.issuer];
}

/** A PEM text area with a file picker that fills it. */
function pemField(name, label, placeholder) {
  const area = el('textarea', { name, id: `cert-${name}`, rows: 6, cols: 66, placeholder, spellcheck: 'false' });
  const pick = el('input', { type: 'file', name: `${name}-file`, accept: '.pem,.crt,.cer,.key,text/plain' });
  pick.addEventListener('change', async () => {
    if (pick.files.length) area.value = await pick.files[0].text();
  });
  return [el('label', { for: area.id }, label), el('span', { class: 'pem' }, area, pick)];
}

function importForm(done) {
  const hosts = el('input', { name: 'hosts', id: 'cert-hosts', size: 40, placeholder: 'default: every DNS name it holds' });
  const isDefault = el('input', { type: 'checkbox', name: 'default', id: 'cert-default' });
  const note = el('p', { class: 'field-error', id: 'cert-error', role: 'alert' });
  const f = el('form', { class: 'stack', id: 'cert-import' },
    ...pemField('cert', 'Certificate chain', '-----BEGIN CERTIFICATE----- (the host\'s first, then each intermediate)'),
    ...pemField('key', 'Private key', '-----BEGIN PRIVATE KEY-----'),
    el('label', { for: hosts.id }, 'Host names'), hosts,
    el('label', { for: isDefault.id }, 'Default'),
    el('span', {}, isDefault, ' serve it to clients asking for no name or an unknown one'),
    el('span', {}), el('span', {}, el('button', { type: 'submit', class: 'primary' }, 'Import')));
  f.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    note.textContent = '';
    note.className = 'field-error';
    const body = {
      cert: f.elements.cert.value,
      key: f.elements.key.value,
      hosts: hosts.value.split(/[\s,]+/).filter(Boolean),
      default: isDefault.checked,
    };
    try {
      const c = await api('POST', '/tls/certificates', body);
      note.className = 'ok';
      note.textContent = `imported ${c.name}: ${c.hosts.join(' ')}`;
      f.elements.key.value = '';
      await done();
    } catch (e) {
      note.textContent = e.message;
    }
  });
  return [f, note];
}

export async function render(root) {
  const list = el('div', { id: 'cert-list' });
  const load = async () => {
    const certs = await get('/tls/certificates');
    list.replaceChildren(table(['name', 'hosts', 'not after', 'subject', 'issuer'], certs.map(row)));
  };
  page(
    root,
    'Certificates',
    el('p', {}, 'Served by SNI on every TLS listener to new connections; the default to clients asking for no name or an unknown one.'),
    list,
    ...(isReadOnly() ? [] : [el('h2', {}, 'Import'), ...importForm(() => load().catch(showError))]),
  );
  await load();
}
