// Security: addresses blocked now (block, unblock), then the security
// policy and options (security.*, access.*, auth.*) in the config editor.
import { api, get, enc } from '../api.js';
import { el, page, table, form, dangerButton, showError, configEditor } from '../ui.js';

const POLICY = /^(security|access|auth)\./;

export async function render(root) {
  const [blocked, config] = await Promise.all([get('/security/blocked'), get('/config')]);
  const again = () => render(root).catch(showError);
  const save = (key, value) => api('PUT', `/config/${enc(key)}`, { value });
  page(
    root,
    'Security',
    el('h2', {}, 'Blocked addresses'),
    form(
      [
        { name: 'ip', label: 'Block', placeholder: '192.0.2.7 or 2001:db8::1' },
        { name: 'duration', label: 'for', placeholder: '1h (default: security.block_for)' },
      ],
      'Block',
      async (v) => {
        const body = { ip: v.ip.trim() };
        if (v.duration.trim()) body.duration = v.duration.trim();
        await api('POST', '/security/blocked', body);
        await again();
      },
    ),
    table(['address', 'since', 'until', 'failures', 'reason', ''], blocked.map((b) => [
      b.ip, b.since, b.until, String(b.failures), b.reason,
      dangerButton('Unblock', async () => {
        try { await api('DELETE', `/security/blocked/${enc(b.ip)}`); await again(); } catch (e) { showError(e); }
      }),
    ])),
    el('h2', {}, 'Policy and options'),
    configEditor(config.filter((c) => POLICY.test(c.key)), save),
  );
}
