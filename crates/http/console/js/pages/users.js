// Users: list, add, edit (quota, role, password), delete.
import { api, get, enc } from '../api.js';
import { el, page, table, form, dangerButton, showError, bytes, parseSize, clear, actionButton } from '../ui.js';

function editor(u, done) {
  return el('div', { class: 'details', id: 'user-editor' },
    el('h2', {}, 'Edit ', u.address),
    form(
      [
        { name: 'quota', label: 'Quota (0 = none)', value: String(u.quota) },
        { name: 'role', label: 'Role', value: u.role || 'none', placeholder: 'admin, auditor, domain-admin:example.org, none' },
        { name: 'password', label: 'New password', type: 'password', placeholder: 'unchanged' },
      ],
      'Save',
      async (v) => {
        const change = { quota: parseSize(v.quota) };
        if ((v.role || 'none') !== (u.role || 'none')) change.role = v.role.trim();
        if (v.password) change.password = v.password;
        await api('PATCH', `/users/${enc(u.address)}`, change);
        await done();
      },
      'stack',
    ));
}

export async function render(root) {
  const users = await get('/users');
  const again = () => render(root).catch(showError);
  const slot = el('div');
  const rows = users.map((u) => [
    u.address,
    u.name,
    u.quota ? bytes(u.quota) : 'none',
    bytes(u.used),
    u.role || '',
    u.enabled ? 'yes' : 'no',
    el('span', {},
      actionButton('Edit', () => { clear(slot).append(editor(u, again)); }),
      ' ',
      dangerButton('Delete', async () => {
        try { await api('DELETE', `/users/${enc(u.address)}`); await again(); } catch (e) { showError(e); }
      })),
  ]);
  page(
    root,
    'Users',
    form(
      [
        { name: 'address', label: 'Address', placeholder: 'user@example.org' },
        { name: 'name', label: 'Full name' },
        { name: 'password', label: 'Password', type: 'password' },
        { name: 'quota', label: 'Quota', placeholder: '500M, 0 = none', value: '0' },
      ],
      'Add user',
      async (v) => {
        await api('POST', '/users', { address: v.address.trim(), name: v.name, password: v.password, quota: parseSize(v.quota) });
        await again();
      },
    ),
    slot,
    table(['address', 'name', 'quota', 'used', 'role', 'enabled', ''], rows),
  );
}
