/**
 * The fan-out floor's server (a child process, like Syncline): a bare `ws` or
 * `node:http` SSE server that writes one pre-serialised frame to every client
 * when the bench says "send frame n now" over IPC. No database, no routing, no
 * per-connection state: what broadcasting those bytes to N sockets costs.
 *
 *   node --conditions=@syncline/source --import tsx bench/src/broadcast-server.ts ws|sse
 *
 * It speaks just enough of the protocol for the bench's subscribers to treat it
 * like Syncline: WS answers SUBSCRIBE with SUBSCRIBED and an empty SNAPSHOT; SSE
 * opens every stream with an empty snapshot.
 *
 * Requests: `{ type: 'address' }` → `{ port }`; `{ type: 'frame', before, after }`
 * (the frame is `before + n + after`) → `{}`. Unanswered: `{ type: 'send', seq }`.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { serveParent } from './child-ipc.ts';

const transport = process.argv[2];
if (transport !== 'ws' && transport !== 'sse') throw new Error(`usage: broadcast-server.ts ws|sse (got ${transport})`);

let frameParts = { before: '{"type":"CHANGES","n":', after: '}' };
const sseClients = new Set<http.ServerResponse>();
const snapshot = { subscription: 'b', rows: [], cursor: '0', done: true };

const server = http.createServer((req, res) => {
  if (transport !== 'sse' || !req.url?.startsWith('/v1/sync/events')) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache' });
  res.flushHeaders();
  res.socket?.setNoDelay(true);
  res.write(`event: snapshot\ndata: ${JSON.stringify(snapshot)}\n\n`);
  sseClients.add(res);
  res.on('close', () => sseClients.delete(res));
});
// The server's own default for the request timeout would end a stream after 5 minutes.
server.requestTimeout = 0;

const wss = transport === 'ws' ? new WebSocketServer({ server, perMessageDeflate: false }) : null;
wss?.on('connection', (ws) => {
  ws.on('error', () => {});
  ws.on('message', (data: Buffer) => {
    const msg = JSON.parse(data.toString('utf8')) as { type?: string };
    if (msg.type !== 'SUBSCRIBE') return;
    ws.send(JSON.stringify({ type: 'SUBSCRIBED', id: 'b', count: 1 }));
    ws.send(JSON.stringify({ type: 'SNAPSHOT', ...snapshot }));
  });
});

function broadcast(seq: number): void {
  const frame = Buffer.from(`${frameParts.before}${seq}${frameParts.after}`);
  if (wss) for (const ws of wss.clients) ws.send(frame, { binary: false });
  else for (const res of sseClients) res.write(frame);
}

const listening = new Promise<number>((resolve) =>
  server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
);

serveParent(
  async (msg) => {
    switch (msg['type']) {
      case 'send':
        broadcast(msg['seq'] as number);
        return;
      case 'address':
        return { port: await listening };
      case 'frame':
        frameParts = { before: msg['before'] as string, after: msg['after'] as string };
        return {};
      default:
        throw new Error(`unknown request ${String(msg['type'])}`);
    }
  },
  () => process.exit(0),
);
process.on('SIGTERM', () => process.exit(0));
