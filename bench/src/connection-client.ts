/**
 * One process's share of the idle subscribers of `npm run bench -- connections`
 * (a process holds a few thousand sockets; the bench starts several). Each
 * connection is its own user, subscribes to one small collection and counts as
 * open once its snapshot is complete; after that it only answers heartbeats.
 *
 *   node --conditions=@syncline/source --import tsx bench/src/connection-client.ts   (started by connections.ts, with IPC)
 *
 * Requests:
 *   { type: 'init', transport, baseUrl, secret, collection, prefix, localAddress, concurrency, timeoutMs } → {}
 *   { type: 'open', target } → opens streams until `target` are held (failures are counted, not retried)
 *       → { held, opened, failed, failures: { reason: count }, ms }
 *   { type: 'status' } → { held, dropped, dropReasons, minPings, rss }   (pings since the last 'status')
 *   { type: 'close' } → every stream closed → {}
 */
import http from 'node:http';
import WebSocket from 'ws';
import { tokenFor } from './auth.ts';
import { serveParent } from './child-ipc.ts';
import type { Transport } from './subscribers.ts';

interface Init {
  transport: Transport;
  baseUrl: string;
  secret: string;
  collection: string;
  prefix: string;
  localAddress: string;
  concurrency: number;
  timeoutMs: number;
}

interface Conn {
  ready: boolean;
  /** Heartbeats received since the last status. */
  pings: number;
  close(): void;
}

let init: Init | null = null;
const held = new Set<Conn>();
let nextIndex = 0;
let dropped = 0;
const dropReasons: Record<string, number> = {};
let closing = false;
const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });

function countInto(map: Record<string, number>, key: string): void {
  map[key] = (map[key] ?? 0) + 1;
}

/** Opens stream `index`; resolves once its snapshot is complete, rejects with a short reason. */
async function openOne(o: Init, index: number): Promise<void> {
  const token = await tokenFor(o.secret, `${o.prefix}-${index}`);
  const clientId = `${o.prefix}-${index}`;
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const conn: Conn = { ready: false, pings: 0, close: () => {} };
    const timer = setTimeout(() => fail('timeout'), o.timeoutMs);
    const fail = (reason: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      conn.close();
      reject(new Error(reason));
    };
    const ready = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      conn.ready = true;
      held.add(conn);
      resolve();
    };
    const lost = (reason: string) => {
      if (!conn.ready) return fail(reason);
      if (!held.delete(conn) || closing) return;
      dropped++;
      countInto(dropReasons, reason);
    };
    if (o.transport === 'sse') {
      const subscribe = encodeURIComponent(JSON.stringify({ id: 'b', collection: o.collection }));
      const url = `${o.baseUrl}/v1/sync/events?clientId=${clientId}&subscribe=${subscribe}`;
      const req = http.get(
        url,
        { agent, headers: { authorization: `Bearer ${token}` }, localAddress: o.localAddress },
        (res) => {
          if (res.statusCode !== 200) {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (c: string) => (body += c));
            res.on('end', () => fail(`HTTP ${res.statusCode} ${/"code":"(\w+)"/.exec(body)?.[1] ?? ''}`.trim()));
            return;
          }
          res.setEncoding('utf8');
          let buffer = '';
          res.on('data', (chunk: string) => {
            buffer += chunk;
            let end: number;
            while ((end = buffer.indexOf('\n\n')) >= 0) {
              const block = buffer.slice(0, end);
              buffer = buffer.slice(end + 2);
              if (block.startsWith('event: ping')) conn.pings++;
              else if (block.startsWith('event: snapshot') && block.includes('"done":true')) ready();
              else if (block.startsWith('event: error')) fail(`error ${/"code":"(\w+)"/.exec(block)?.[1] ?? ''}`);
            }
          });
          res.on('close', () => lost('closed by server'));
        },
      );
      req.on('error', (err: NodeJS.ErrnoException) => lost(err.code ?? err.message));
      conn.close = () => req.destroy();
    } else {
      const wsBase = o.baseUrl.replace(/^http/, 'ws');
      const url = `${wsBase}/v1/sync/ws?token=${encodeURIComponent(token)}&clientId=${clientId}`;
      const ws = new WebSocket(url, { perMessageDeflate: false, localAddress: o.localAddress });
      ws.on('open', () =>
        ws.send(JSON.stringify({ type: 'SUBSCRIBE', subscription: { id: 'b', collection: o.collection } })),
      );
      ws.on('ping', () => conn.pings++);
      ws.on('message', (data: Buffer) => {
        if (conn.ready) return;
        const msg = JSON.parse(data.toString('utf8')) as { type: string; done?: boolean; code?: string };
        if (msg.type === 'SNAPSHOT' && msg.done) ready();
        else if (msg.type === 'ERROR') fail(`ERROR ${msg.code ?? ''}`);
      });
      ws.on('error', (err: NodeJS.ErrnoException) => lost(err.code ?? err.message));
      ws.on('close', (code) => lost(`closed ${code}`));
      conn.close = () => ws.terminate();
    }
  });
}

async function openUpTo(o: Init, target: number): Promise<Record<string, unknown>> {
  const start = performance.now();
  const need = Math.max(0, target - held.size);
  let launched = 0;
  let opened = 0;
  let failed = 0;
  const failures: Record<string, number> = {};
  const worker = async () => {
    while (launched < need) {
      launched++;
      try {
        await openOne(o, nextIndex++);
        opened++;
      } catch (e) {
        failed++;
        countInto(failures, e instanceof Error ? e.message : String(e));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.concurrency, need) }, worker));
  return { held: held.size, opened, failed, failures, ms: performance.now() - start };
}

function status(): Record<string, unknown> {
  let minPings = Infinity;
  for (const c of held) {
    minPings = Math.min(minPings, c.pings);
    c.pings = 0;
  }
  return {
    held: held.size,
    dropped,
    dropReasons,
    minPings: held.size ? minPings : null,
    rss: process.memoryUsage().rss,
  };
}

serveParent(
  async (msg) => {
    switch (msg['type']) {
      case 'init':
        init = msg as unknown as Init;
        return {};
      case 'open':
        if (!init) throw new Error('open before init');
        return openUpTo(init, msg['target'] as number);
      case 'status':
        return status();
      case 'close':
        closing = true;
        for (const c of held) c.close();
        held.clear();
        agent.destroy();
        return {};
      default:
        throw new Error(`unknown request ${String(msg['type'])}`);
    }
  },
  () => process.exit(0),
);
process.on('SIGTERM', () => process.exit(0));
