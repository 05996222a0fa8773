/**
 * The minimal demo page: `orders_active` live, as a board by status, as the
 * user picked at the top. Plain EventSource, no build step; the full demo app
 * replaces it later.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { demoToken } from './demo-auth.ts';

const HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Syncline · Dispatch</title>
<link rel="icon" href="data:,">
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  body { font: 14px system-ui, sans-serif; margin: 0; background: #f4f5f7; color: #172b4d; }
  header { padding: 12px 20px; background: #1d2b3a; color: #fff; display: flex; gap: 16px; align-items: baseline; }
  header h1 { font-size: 18px; margin: 0; }
  header label { font-size: 13px; }
  #status { font-size: 12px; opacity: .8; }
  main { display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; padding: 16px; }
  section { background: #ebecf0; border-radius: 6px; padding: 8px; min-height: 200px; }
  section h2 { font-size: 13px; text-transform: uppercase; margin: 4px 4px 8px; color: #5e6c84; }
  .card { background: #fff; border-radius: 4px; padding: 8px; margin-bottom: 8px; box-shadow: 0 1px 1px rgba(9,30,66,.25); transition: background 1s; }
  .card.flash { background: #fffae6; }
  .card small { color: #5e6c84; display: block; }
</style>
</head>
<body>
<header><h1>Dispatch board</h1>
  <label>as <select id="user">
    <option value="dana">Dana (dispatcher)</option><option value="alice">Alice (customer)</option>
    <option value="bob">Bob (customer)</option><option value="dmitri">Dmitri (driver)</option><option value="olga">Olga (driver)</option>
  </select></label>
  <span id="status">connecting…</span></header>
<main id="board"></main>
<script type="module">
const STATUSES = ['pending', 'accepted', 'in_progress', 'delivering'];
const board = document.getElementById('board');
const statusEl = document.getElementById('status');
const rows = new Map();
let cursor = null;
const clientId = localStorage.getItem('syncline-client-id') || crypto.randomUUID();
localStorage.setItem('syncline-client-id', clientId);

function render(flashKey) {
  board.innerHTML = '';
  for (const s of STATUSES) {
    const col = document.createElement('section');
    const list = [...rows.values()].filter((r) => r.status === s).sort((a, b) => a.title.localeCompare(b.title));
    col.innerHTML = '<h2>' + s.replace('_', ' ') + ' · ' + list.length + '</h2>';
    for (const r of list) {
      const card = document.createElement('div');
      card.className = 'card' + (r.id === flashKey ? ' flash' : '');
      card.textContent = r.title;
      const meta = document.createElement('small');
      meta.textContent = r.address + ' · ' + r.total + ' · v' + r.version;
      card.appendChild(meta);
      col.appendChild(card);
    }
    board.appendChild(col);
  }
}

const userSelect = document.getElementById('user');
userSelect.value = new URLSearchParams(location.search).get('user') || 'dana';
userSelect.onchange = () => { location.search = '?user=' + userSelect.value; };
let es = null;

async function connect() {
  // Each user sees what RLS lets them see: the dispatcher everything, a customer their orders.
  const { token, role } = await (await fetch('/demo/token?user=' + userSelect.value)).json();
  const collection = role === 'dispatcher' ? 'orders_active' : role === 'driver' ? 'orders_my_driver' : 'orders_my_customer';
  const sub = { id: 'board', collection };
  if (cursor) sub.cursor = cursor;
  const url = '/v1/sync/events?clientId=' + encodeURIComponent(clientId) + '&token=' + encodeURIComponent(token) +
    '&subscribe=' + encodeURIComponent(JSON.stringify(sub));
  es = new EventSource(url);
  let parts = [];
  es.addEventListener('hello', () => { statusEl.textContent = 'live'; });
  es.addEventListener('snapshot', (e) => {
    const m = JSON.parse(e.data);
    parts.push(...m.rows);
    if (!m.done) return;
    rows.clear();
    for (const r of parts) rows.set(r.key, r.row);
    parts = [];
    cursor = m.cursor;
    render();
  });
  es.addEventListener('changes', (e) => {
    const m = JSON.parse(e.data);
    let last;
    for (const c of m.changes) {
      if (c.op === 'delete') rows.delete(c.key); else rows.set(c.key, c.row);
      last = c.key;
    }
    cursor = m.cursor;
    render(last);
  });
  es.addEventListener('resync', () => { es.close(); cursor = null; void connect(); });
  es.onerror = () => { statusEl.textContent = 'reconnecting…'; es.close(); setTimeout(connect, 1000); };
}
render();
void connect();
</script>
</body>
</html>`;

/** The demo's routes outside /v1: the page, and sign-in by name for it. */
export function demoRoutes(secret: string) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method === 'GET' && url.pathname === '/demo/token') {
      const t = await demoToken(secret, url.searchParams.get('user') ?? '');
      res.writeHead(t ? 200 : 404, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(t ?? { error: { code: 'NOT_FOUND', message: 'no such demo user' } }));
      return;
    }
    servePage(req, res);
  };
}

export function servePage(req: IncomingMessage, res: ServerResponse): void {
  if (req.method === 'GET' && (req.url === '/' || req.url?.startsWith('/?'))) {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(HTML);
    return;
  }
  res.writeHead(404, { 'Content-Type': 'text/plain' });
  res.end('not found');
}
