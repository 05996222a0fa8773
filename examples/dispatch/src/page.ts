/**
 * The demo's routes outside /v1, served through the server's `fallback`:
 *
 *   GET /             the app's page (a shell; the Svelte app renders into it)
 *   GET /app.js       the app, built by app-bundle.ts (Vite) at start (and /app.css)
 *   GET /sw.js        the service worker that lets a reload work offline
 *   GET /demo/token   sign-in by name: ?user=dana → { token, userId, role }
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { buildDemoApp } from './app-bundle.ts';
import { demoToken } from './demo-auth.ts';
import { SERVICE_WORKER } from './service-worker.ts';

const HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Syncline · Dispatch</title>
<link rel="icon" href="data:,">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="theme-color" content="#17233a">
<link rel="stylesheet" href="/app.css">
</head>
<body>
<div id="app"></div>
<script type="module" src="/app.js"></script>
</body>
</html>`;

export function demoRoutes(secret: string) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method === 'GET' && url.pathname === '/demo/token') {
      const t = await demoToken(secret, url.searchParams.get('user') ?? '');
      res.writeHead(t ? 200 : 404, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
      res.end(JSON.stringify(t ?? { error: { code: 'NOT_FOUND', message: 'no such demo user' } }));
      return;
    }
    await servePage(req, res);
  };
}

export async function servePage(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  // HEAD answers as GET does, without the body (node's http drops it for HEAD).
  const read = req.method === 'GET' || req.method === 'HEAD';
  if (read && url.pathname === '/') return send(res, 'text/html; charset=utf-8', HTML);
  if (read && (url.pathname === '/app.js' || url.pathname === '/app.css')) {
    try {
      const app = await buildDemoApp();
      if (url.pathname === '/app.css') return send(res, 'text/css; charset=utf-8', app.css);
      return send(res, 'text/javascript; charset=utf-8', app.js);
    } catch (e) {
      res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end(`the app did not build: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
  }
  if (read && url.pathname === '/sw.js') return send(res, 'text/javascript', SERVICE_WORKER);
  res.writeHead(404, { 'Content-Type': 'text/plain' });
  res.end('not found');
}

function send(res: ServerResponse, type: string, body: string): void {
  res.writeHead(200, { 'Content-Type': type, 'Cache-Control': 'no-cache' });
  res.end(body);
}
