// IP groups (hosts, networks, ranges; IPv4 and IPv6): add entries, remove one.
import { api, get, enc } from '../api.js';
import { el, page, table, form, dangerButton, showError } from '../ui.js';
import { split } from './aliases.js';

export async function render(root) {
  const groups = await get('/ipgroups');
  const again = () => render(root).catch(showError);
  const rows = [];
  for (const g of groups) {
    for (const entry of g.entries) {
      rows.push([g.name, entry, dangerButton('Remove', async () => {
        try { await api('DELETE', `/ipgroups/${enc(g.name)}`, { entries: [entry] }); await again(); } catch (e) { showError(e); }
      })]);
    }
  }
  page(
    root,
    'IP groups',
    el('p', {}, 'Used by access.*.allow, security exemptions and relay control (see Settings).'),
    form(
      [
        { name: 'name', label: 'Group', placeholder: 'trusted' },
        { name: 'entries', label: 'Entries', placeholder: '192.0.2.1, 10.0.0.0/8, 192.0.2.10-192.0.2.20' },
      ],
      'Add to group',
      async (v) => {
        await api('POST', `/ipgroups/${enc(v.name.trim())}`, { entries: split(v.entries) });
        await again();
      },
    ),
    table(['group', 'entry', ''], rows),
  );
}
