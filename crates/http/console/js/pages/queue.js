// The outbound queue: list, show, retry, hold, release, delete.
import { api, get, enc } from '../api.js';
import { el, page, table, dangerButton, showError, button, actionButton, bytes, when, clear } from '../ui.js';

function details(m) {
  return el('div', { class: 'details', id: 'queue-details' },
    el('h2', {}, 'Message ', m.id),
    el('p', {}, `from ${m.sender || '<>'}, ${bytes(m.size)}, queued ${when(m.created)}${m.held ? ', held' : ''}`),
    table(['recipient', 'status', 'attempts', 'next attempt', 'last error'], m.recipients.map((r) => [
      r.address, r.status, String(r.attempts), when(r.next_attempt), r.last_error || '',
    ])));
}

export async function render(root) {
  const queue = await get('/queue');
  const again = () => render(root).catch(showError);
  const slot = el('div');
  const act = (id, what) => async () => {
    try { await api('POST', `/queue/${enc(id)}/${what}`); await again(); } catch (e) { showError(e); }
  };
  const rows = queue.map((m) => [
    m.id,
    when(m.created),
    m.sender || '<>',
    el('span', {}, m.recipients.map((r) => el('div', { class: 'rcpt' },
      `${r.address}: ${r.status}, ${r.attempts} attempt${r.attempts === 1 ? '' : 's'}`))),
    m.held ? 'held' : '',
    el('span', { 'data-id': m.id },
      button('Show', async () => {
        try { clear(slot).append(details(await get(`/queue/${enc(m.id)}`))); } catch (e) { showError(e); }
      }, 'show'),
      ' ', actionButton('Retry', act(m.id, 'retry'), 'retry'),
      ' ', m.held ? actionButton('Release', act(m.id, 'release'), 'release') : actionButton('Hold', act(m.id, 'hold'), 'hold'),
      ' ', dangerButton('Delete', async () => {
        try { await api('DELETE', `/queue/${enc(m.id)}`); await again(); } catch (e) { showError(e); }
      })),
  ]);
  page(
    root,
    `Queue (${queue.length})`,
    el('p', {}, el('button', { type: 'button', id: 'queue-refresh', onclick: again }, 'Refresh')),
    slot,
    table(['id', 'queued', 'sender', 'recipients', '', ''], rows),
  );
}
