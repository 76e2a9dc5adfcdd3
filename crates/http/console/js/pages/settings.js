// Every setting of postern.toml, each saved on its own; the server checks
// it as `postern config set` does and the refusal shows beside the field.
import { api, get, enc } from '../api.js';
import { el, page, configEditor, clear } from '../ui.js';

export async function render(root) {
  const config = await get('/config');
  const save = (key, value) => api('PUT', `/config/${enc(key)}`, { value });
  const slot = el('div');
  const filter = el('input', { type: 'search', placeholder: 'filter keys, e.g. delivery.', id: 'config-filter', size: 30 });
  const draw = () => {
    const f = filter.value.trim().toLowerCase();
    clear(slot).append(configEditor(config.filter((c) => c.key.toLowerCase().includes(f)), save));
  };
  filter.addEventListener('input', draw);
  page(root, 'Settings', el('p', {}, filter, ' Values are TOML (bare words are strings); lists as ["a", "b"].'), slot);
  draw();
}
