// Domains: list, add, delete.
import { api, get, enc } from '../api.js';
import { el, page, table, form, dangerButton, showError } from '../ui.js';

export async function render(root) {
  const domains = await get('/domains');
  const again = () => render(root).catch(showError);
  page(
    root,
    'Domains',
    form([{ name: 'name', label: 'New domain', placeholder: 'example.org' }], 'Add domain', async (v) => {
      await api('POST', '/domains', { name: v.name.trim() });
      await again();
    }),
    table(['domain', ''], domains.map((d) => [d.name, dangerButton('Delete', async () => {
      try { await api('DELETE', `/domains/${enc(d.name)}`); await again(); } catch (e) { showError(e); }
    })])),
  );
}
