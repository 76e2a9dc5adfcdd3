// Aliases: an address delivering to targets; list, add, delete.
import { api, get, enc } from '../api.js';
import { page, table, form, dangerButton, showError } from '../ui.js';

export const split = (text) => text.split(/[\s,]+/).filter(Boolean);

export async function listPage(root, title, path, noun) {
  const lists = await get(path);
  const again = () => listPage(root, title, path, noun).catch(showError);
  page(
    root,
    title,
    form(
      [
        { name: 'address', label: 'Address', placeholder: `${noun}@example.org` },
        { name: 'targets', label: noun === 'group' ? 'Members' : 'Delivers to', placeholder: 'a@example.org, b@example.net' },
      ],
      `Add ${noun}`,
      async (v) => {
        await api('POST', path, { address: v.address.trim(), targets: split(v.targets) });
        await again();
      },
    ),
    table(['address', noun === 'group' ? 'members' : 'delivers to', ''], lists.map((a) => [
      a.address,
      a.targets.join(', '),
      dangerButton('Delete', async () => {
        try { await api('DELETE', `${path}/${enc(a.address)}`); await again(); } catch (e) { showError(e); }
      }),
    ])),
  );
}

export async function render(root) {
  await listPage(root, 'Aliases', '/aliases', 'alias');
}
