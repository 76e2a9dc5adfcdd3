// Logs (mail, security): newest first, filtered by time, address, IP and
// text, paged; "Live" follows the log as it grows through the server-sent
// events of /logs/NAME/tail (the same address, IP and text filter), newest
// on top, keeping at most MAX_LIVE lines on the page.
import { get } from '../api.js';
import { el, page, clear, showError, button } from '../ui.js';

const MAX_LIVE = 1000;
const TAIL_FILTERS = ['address', 'ip', 'text'];

export async function render(root) {
  let source = null;
  let next = null;
  const list = el('ol', { class: 'log', id: 'log-lines' });
  const log = el('select', { name: 'log' }, el('option', { value: 'mail' }, 'mail'), el('option', { value: 'security' }, 'security'));
  const inputs = ['since', 'until', 'address', 'ip', 'text'].map((name) =>
    el('input', { name, placeholder: name === 'since' || name === 'until' ? `${name} (UTC, RFC 3339)` : name, title: name === 'since' || name === 'until' ? 'e.g. 2026-12-07T05:00:00Z' : null, size: name === 'text' ? 24 : 16 }));
  const live = el('input', { type: 'checkbox', name: 'live', id: 'live' });
  const state = el('span', { class: 'ok', id: 'live-state' });
  const older = button('Older', () => load(true).catch(showError));
  const query = (before, names) => {
    const q = new URLSearchParams(before === undefined ? {} : { limit: '200' });
    for (const i of inputs) if ((!names || names.includes(i.name)) && i.value.trim()) q.set(i.name, i.value.trim());
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
  function stop(why) {
    if (source) source.close();
    source = null;
    live.checked = false;
    state.textContent = why || '';
  }
  function follow() {
    stop();
    live.checked = true;
    source = new EventSource(`/api/v1/logs/${log.value}/tail?${query(undefined, TAIL_FILTERS)}`);
    source.addEventListener('open', () => { state.textContent = 'following'; });
    source.addEventListener('line', (ev) => {
      list.prepend(el('li', {}, ev.data));
      while (list.childElementCount > MAX_LIVE) list.lastElementChild.remove();
    });
    source.addEventListener('end', (ev) => stop(`live view ended: ${ev.data}`));
    // A refused reconnection (the session is gone) closes it for good;
    // otherwise the browser reconnects after the last line it got.
    source.addEventListener('error', () => { if (source && source.readyState === EventSource.CLOSED) stop('live view ended'); });
  }
  const restart = async () => {
    await load(false);
    if (live.checked) follow();
  };
  const form = el('form', { class: 'inline', id: 'log-filter' }, log, ...inputs,
    el('button', { type: 'submit', class: 'primary' }, 'Search'), el('label', { for: 'live' }, live, ' Live'), state);
  form.addEventListener('submit', (ev) => { ev.preventDefault(); restart().catch(showError); });
  log.addEventListener('change', () => restart().catch(showError));
  live.addEventListener('change', () => (live.checked ? restart().catch(showError) : stop()));
  page(root, 'Logs', form, list, el('p', {}, older));
  await load(false);
  return () => stop();
}
