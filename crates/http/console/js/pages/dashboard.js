// Services and listeners, connections now, queue size, messages in/out per
// hour over the last day (an SVG chart), failed logins, blocked addresses,
// disk use — from GET /api/v1/dashboard, refreshed every 10 seconds.
import { get } from '../api.js';
import { el, page, table, bytes, showError } from '../ui.js';

const SVG = 'http://www.w3.org/2000/svg';
const W = 720;
const H = 200;
const PAD = 30;

function svg(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/** Two bars per hour: received (in) and sent (out). */
export function chart(hours, received, sent) {
  const max = Math.max(1, ...received, ...sent);
  const slot = (W - PAD) / hours.length;
  const bar = Math.max(1, slot / 2 - 1);
  const y = (n) => H - PAD - (n / max) * (H - 2 * PAD);
  const s = svg('svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, class: 'chart', id: 'traffic-chart', role: 'img' });
  s.append(svg('title', {}, 'Messages in and out per hour, last 24 hours'));
  s.append(svg('line', { x1: PAD, y1: H - PAD, x2: W, y2: H - PAD, class: 'axis' }));
  s.append(svg('line', { x1: PAD, y1: PAD, x2: PAD, y2: H - PAD, class: 'axis' }));
  s.append(svg('text', { x: 2, y: PAD + 4 }, String(max)));
  s.append(svg('text', { x: 2, y: H - PAD }, '0'));
  hours.forEach((h, i) => {
    const x = PAD + i * slot + 1;
    for (const [n, cls, dx] of [[received[i], 'in', 0], [sent[i], 'out', bar]]) {
      const r = svg('rect', { x: x + dx, y: y(n), width: bar, height: H - PAD - y(n), class: cls, 'data-hour': h, 'data-count': n });
      r.append(svg('title', {}, `${h}:00 UTC ${cls === 'in' ? 'in' : 'out'}: ${n}`));
      s.append(r);
    }
    if (i % 4 === 0 || i === hours.length - 1) {
      s.append(svg('text', { x, y: H - PAD + 14 }, `${h.slice(11)}h`));
    }
  });
  return s;
}

function card(label, value, id) {
  return el('div', { class: 'card', id }, el('div', { class: 'value' }, value), el('div', { class: 'label' }, label));
}

function uptime(s) {
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return d ? `${d}d ${h}h` : `${h}h ${m}m`;
}

async function draw(root) {
  const d = await get('/dashboard');
  const connections = d.listeners.reduce((a, l) => a + l.connections, 0);
  const sum = (xs) => xs.reduce((a, b) => a + b, 0);
  page(
    root,
    'Dashboard',
    el('div', { class: 'cards' },
      card('connections now', connections, 'card-connections'),
      card('messages queued', d.queue_size, 'card-queue'),
      card('failed logins (24 h)', d.failed_logins, 'card-failed'),
      card('blocked addresses', d.blocked, 'card-blocked'),
      card('data directory', bytes(d.disk_bytes), 'card-disk'),
      card(`up, version ${d.version}`, uptime(d.uptime_seconds), 'card-uptime')),
    el('h2', {}, 'Messages per hour, last 24 hours (UTC): ',
      el('span', { class: 'legend-in' }, `■ in ${sum(d.received)}`), ' ',
      el('span', { class: 'legend-out' }, `■ out ${sum(d.sent)}`)),
    chart(d.hours, d.received, d.sent),
    el('h2', {}, 'Services'),
    table(['service', 'listening on', 'connections now'],
      d.listeners.map((l) => [l.name, l.address, String(l.connections)])),
  );
}

export async function render(root) {
  await draw(root);
  const timer = setInterval(() => draw(root).catch(showError), 10000);
  return () => clearInterval(timer);
}
