// Logs (mail, security): newest first, filtered by time, address, IP and
// text, paged; "Live" polls the newest page every 2 seconds.
import { get } from '../api.js';
import { el, page, clear, showError, button } from '../ui.js';

const POLL_MS = 2000;

export async function render(root) {
  let timer = null;
  let next = null;
  const list = el('ol', { class: 'log', id: 'log-lines' });
  const log = el('select', { name: 'log' }, el('option', { value: 'mail' }, 'mail'), el('option', { value: 'security' }, 'security'));
  const inputs = ['since', 'until', 'address', 'ip', 'text'].map((name) =>
    el('input', { name, placeholder: name === 'since' || name === 'until' ? `${name} (UTC, RFC 3339)` : name, title: name === 'since' || name === 'until' ? 'e.g. 2026-12-07T05:00:00Z' : null, size: name === 'text' ? 24 : 16 }));
  const live = el('input', { type: 'checkbox', name: 'live', id: 'live' });
  const older = button('Older', () => load(true).catch(showError));
  const query = (before) => {
    const q = new URLSearchParams({ limit: '200' });
    for (const i of inputs) if (i.value.trim()) q.set(i.name, i.value.trim());
    if (before !== null && before !== undefined) q.set('before', String(before));
    return q.toString();
  };
  async function load(more) {
    const p = await get(`/logs/${log.value}?${query(more ? next : null)}`);
    if (!more) clear(list);
    for (const line of p.lines) list.append(el('li', {}, line));
    next = p.next;
    older.disabled = next === null || next === undefined;
  }
  const form = el('form', { class: 'inline', id: 'log-filter' }, log, ...inputs,
    el('button', { type: 'submit', class: 'primary' }, 'Search'), el('label', { for: 'live' }, live, ' Live'));
  form.addEventListener('submit', (ev) => { ev.preventDefault(); load(false).catch(showError); });
  log.addEventListener('change', () => load(false).catch(showError));
  live.addEventListener('change', () => {
    clearInterval(timer);
    timer = live.checked ? setInterval(() => load(false).catch(showError), POLL_MS) : null;
  });
  page(root, 'Logs', form, list, el('p', {}, older));
  await load(false);
  return () => clearInterval(timer);
}
