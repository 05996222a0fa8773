/**
 * Three nodes over a real redis-server and one PostgreSQL: one captures (the
 * advisory lock), all read the shared log. Clients spread over the nodes
 * converge on direct SQL writes; a client moving to another node resumes from
 * its cursor with no resync and no duplicate; when the capture owner is
 * SIGKILLed under continuous writes, another node takes capture over and every
 * client converges with no transaction lost or applied twice and no resync.
 * When a follower is SIGKILLed, its clients (behind the dev round-robin front,
 * no sticky sessions) reconnect to the other nodes and resume by cursor.
 */
import type http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRoundRobin } from '../../../examples/dispatch/src/round-robin.ts';
import { startChildServer, type ChildServer } from './child-server.ts';
import { eventually, watchedClient, type WatchedClient } from './client-harness.ts';
import { COLLECTIONS, SCHEMA } from './fixtures.ts';
import { freePort } from './free-port.ts';
import { redisMissing, startRedis, type RunningRedis } from './redis-server.ts';
import { SseReader, eventsUrl } from './sse-reader.ts';
import { createTestDatabase, type TestDatabase } from './test-database.ts';
import { testToken } from './test-token.ts';

const skip = redisMissing();

/** Every live value each client's counter takes: a transaction lost shows as a jump, one applied twice as a repeat. */
function liveSteps(clients: WatchedClient[]): number[][] {
  const seen = clients.map(() => [] as number[]);
  clients.forEach((c, i) =>
    c.subs['counter']?.on('change', (e) => {
      const v = c.subs['counter']?.get('1')?.['n'];
      if (typeof v === 'number' && e.cause === 'changes') seen[i]?.push(v);
    }),
  );
  return seen;
}

function expectStepsOfOne(s: number[], who: string): void {
  for (let k = 1; k < s.length; k++) expect(s[k], `${who}: ${s.join(',')}`).toBe((s[k - 1] as number) + 1);
}

/** Adds one to the counter every 10 ms, each its own transaction; `stop()` resolves with the last value. */
function bumpCounter(db: TestDatabase): { stop(): Promise<number> } {
  let stopped = false;
  let n = 0;
  const running = (async () => {
    while (!stopped) {
      const r = await db.query<{ n: number }>('UPDATE counter SET n = n + 1 WHERE id = 1 RETURNING n');
      n = r.rows[0]?.n ?? n;
      await new Promise((res) => setTimeout(res, 10));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await running;
      return n;
    },
  };
}

describe.skipIf(skip !== null)('three nodes over Redis', () => {
  let db: TestDatabase;
  let redis: RunningRedis;
  const nodes: ChildServer[] = [];
  const ports: number[] = [];
  const clients: WatchedClient[] = [];
  const node = async (i: number) =>
    startChildServer({
      databaseUrl: db.url,
      port: ports[i] as number,
      slot: db.slot,
      collections: COLLECTIONS,
      env: { REDIS_URL: redis.url },
      extra: { writes: { item: { insert: true } } },
    });
  beforeAll(async () => {
    db = await createTestDatabase(SCHEMA);
    await db.query('INSERT INTO counter (id, n) VALUES (1, 0)');
    redis = await startRedis();
    for (let i = 0; i < 3; i++) ports.push(await freePort());
    for (let i = 0; i < 3; i++) nodes.push(await node(i));
  }, 90_000);
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.client.close()));
    await Promise.all(nodes.map((n) => n.kill()));
    await redis?.remove();
    await db?.drop();
  });

  const owner = async () => {
    for (const [i, n] of nodes.entries()) {
      const h = (await (await fetch(`${n.url}/v1/health`)).json()) as { replication: { captureOwner: boolean } };
      if (h.replication.captureOwner) return i;
    }
    return -1;
  };

  it('clients on every node converge; a client moving to another node resumes from its cursor', async () => {
    await eventually(async () => (await owner()) >= 0, 20_000, 'a capture owner');
    for (const n of nodes) clients.push(watchedClient(n.url, [{ id: 'counter', collection: 'counters' }]));
    await Promise.all(clients.map((c) => c.subs['counter']?.ready()));
    for (let i = 0; i < 20; i++) await db.query('UPDATE counter SET n = n + 1 WHERE id = 1');
    await eventually(() => clients.every((c) => c.subs['counter']?.get('1')?.['n'] === 20), 20_000, 'all at 20');

    // An SSE stream on node 0, then the same client on node 2 with its cursor.
    const first = new SseReader(
      eventsUrl((nodes[0] as ChildServer).url, 'mover', [{ id: 'i', collection: 'items_all' }]),
    );
    await first.until((r) => r.of('snapshot').some((e) => e.data.done));
    await db.query(`INSERT INTO item (id, status) VALUES ('c1', 'open')`);
    await first.until((r) => r.of('changes').length === 1);
    const cursor = first.of('changes')[0]?.id as string;
    first.close();
    await db.query(`INSERT INTO item (id, status) VALUES ('c2', 'open')`);
    const second = new SseReader(
      eventsUrl((nodes[2] as ChildServer).url, 'mover', [{ id: 'i', collection: 'items_all', cursor }]),
    );
    await second.until((r) => r.of('changes').some((e) => JSON.stringify(e.data).includes('"c2"')));
    expect(second.of('resync')).toEqual([]);
    expect(second.of('snapshot')).toEqual([]);
    expect(JSON.stringify(second.of('changes'))).not.toContain('"c1"');
    second.close();

    // Every node serves metrics; the owner counts its takeover, followers how far behind the log they read.
    const o = await owner();
    for (const [i, n] of nodes.entries()) {
      const text = await (await fetch(`${n.url}/metrics`)).text();
      expect(text).toMatch(/^syncline_redis_errors_total \d+/m);
      expect(text).toMatch(/^syncline_shared_log_behind_bytes \d+/m);
      expect(text).toContain(`syncline_capture_owner ${i === o ? 1 : 0}`);
      if (i === o) expect(text).toMatch(/^syncline_capture_acquisitions_total [1-9]/m);
    }
  }, 60_000);

  it('SSE subscribe and unsubscribe sent to another node than the stream reach it; a forged client id does not; a write on a third node is acked to its writer', async () => {
    const [a, b, c] = nodes as [ChildServer, ChildServer, ChildServer];
    const r = new SseReader(eventsUrl(a.url, 'relay-client', []));
    await r.until((x) => x.of('hello').length === 1);
    const connectionId = r.of('hello')[0]?.data.connectionId as string;
    const post = (url: string, path: string, body: object, clientId = 'relay-client') =>
      fetch(`${url}${path}`, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'X-Client-Id': clientId,
          Authorization: `Bearer ${testToken('test-user')}`,
        },
        body: JSON.stringify(body),
      });
    expect(
      (await post(b.url, '/v1/sync/subscribe', { connectionId, subscription: { id: 'i', collection: 'items_all' } }))
        .status,
    ).toBe(200);
    await r.until((x) => x.of('snapshot').some((e) => e.data.subscription === 'i' && e.data.done));
    expect(
      (
        await post(
          c.url,
          '/v1/sync/subscribe',
          { connectionId, subscription: { id: 'x', collection: 'items_all' } },
          'someone-else',
        )
      ).status,
    ).toBe(404);
    await db.query(`INSERT INTO item (id, status) VALUES ('relayed', 'open')`);
    await r.until((x) => x.of('changes').some((e) => JSON.stringify(e.data).includes('"relayed"')));
    const un = await post(c.url, '/v1/sync/unsubscribe', { connectionId, id: 'i' });
    expect(await un.json()).toEqual({ ok: true, removed: true });
    expect(r.of('snapshot').some((e) => e.data.subscription === 'x')).toBe(false);

    // Initiator exclusion across nodes: the writer's stream is on a, its write goes to c.
    expect(
      (await post(a.url, '/v1/sync/subscribe', { connectionId, subscription: { id: 'j', collection: 'items_all' } }))
        .status,
    ).toBe(200);
    await r.until((x) => x.of('snapshot').some((e) => e.data.subscription === 'j' && e.data.done));
    const w = await post(c.url, '/v1/mutate', {
      clientId: 'relay-client',
      mutationId: 1,
      ops: [{ type: 'insert', table: 'item', row: { id: 'mine', status: 'open' } }],
    });
    expect(w.status).toBe(200);
    expect(((await w.json()) as { cursor: string | null }).cursor).not.toBe(null);
    await r.until((x) => x.of('ack').length === 1, 10_000, 'ack on the writer stream');
    expect(JSON.stringify(r.of('changes'))).not.toContain('"mine"');
    r.close();
  }, 60_000);

  it('SIGKILL of the capture owner under continuous writes: another node takes over, nothing lost or doubled, no resync', async () => {
    const was = await owner();
    expect(was).toBeGreaterThanOrEqual(0);
    const seen = liveSteps(clients);
    const writer = bumpCounter(db);
    await new Promise((res) => setTimeout(res, 500));
    const t0 = Date.now();
    await (nodes[was] as ChildServer).kill('SIGKILL');
    await eventually(
      async () => {
        for (const [i, node] of nodes.entries()) {
          if (i === was) continue;
          const h = (await (await fetch(`${node.url}/v1/health`)).json()) as { replication: { captureOwner: boolean } };
          if (h.replication.captureOwner) return true;
        }
        return false;
      },
      20_000,
      'a new capture owner',
    );
    const failoverMs = Date.now() - t0;
    await new Promise((res) => setTimeout(res, 1_000));
    const n = await writer.stop();
    const survivors = clients.filter((_, i) => i !== was);
    await eventually(
      () => survivors.every((c) => c.subs['counter']?.get('1')?.['n'] === n),
      30_000,
      `survivors at ${n}`,
    );
    for (const [i, c] of clients.entries()) {
      if (i === was) continue;
      expect(c.resyncs).toBe(0);
      expect(new Set(c.applied).size).toBe(c.applied.length);
      expectStepsOfOne(seen[i] as number[], `client ${i}`);
    }
    // The killed node's client reconnects (the node comes back on its port) and resumes.
    nodes[was] = await node(was);
    const back = clients[was] as WatchedClient;
    await eventually(() => back.subs['counter']?.get('1')?.['n'] === n, 30_000, 'the moved client');
    expect(back.resyncs).toBe(0);
    console.log(`[cluster] failover: new owner after ${failoverMs} ms`);
  }, 90_000);

  it('SIGKILL of a follower: its clients reconnect to other nodes through the front and resume by cursor', async () => {
    const frontPort = await freePort();
    const front: http.Server = await startRoundRobin(frontPort, ports);
    const url = `http://127.0.0.1:${frontPort}`;
    const behind: WatchedClient[] = [];
    const streams = () =>
      Promise.all(
        nodes.map(async (n) => {
          const h = (await (await fetch(`${n.url}/v1/health`)).json()) as { connections: { sse: number; ws: number } };
          return h.connections.sse + h.connections.ws;
        }),
      );
    const before = await streams(); // the earlier tests' clients, one on each node
    try {
      // One after another, so the front's turns put two streams on every node.
      for (let i = 0; i < 6; i++) {
        const c = watchedClient(url, [{ id: 'counter', collection: 'counters' }], undefined, i % 2 ? 'ws' : 'sse');
        behind.push(c);
        await c.subs['counter']?.ready();
      }
      const o = await owner();
      const held = (await streams()).map((k, i) => k - (before[i] as number));
      const victim = nodes.findIndex((_, i) => i !== o && (held[i] as number) > 0);
      expect(victim, `streams per node: ${held.join(', ')}`).toBeGreaterThanOrEqual(0);

      const seen = liveSteps(behind);
      const snapshots = behind.map((c) => c.client.stats.snapshotsCompleted);
      const connects = behind.reduce((sum, c) => sum + c.client.stats.connects, 0);
      const writer = bumpCounter(db);
      await new Promise((res) => setTimeout(res, 300));
      await (nodes[victim] as ChildServer).kill('SIGKILL');
      await new Promise((res) => setTimeout(res, 1_500));
      const n = await writer.stop();
      await eventually(() => behind.every((c) => c.subs['counter']?.get('1')?.['n'] === n), 30_000, `all at ${n}`);
      // The victim's streams came back (elsewhere: it is still down), from their cursors.
      expect(behind.reduce((sum, c) => sum + c.client.stats.connects, 0)).toBeGreaterThanOrEqual(
        connects + (held[victim] as number),
      );
      for (const [i, c] of behind.entries()) {
        expect(c.resyncs, `client ${i}`).toBe(0);
        expect(c.client.stats.snapshotsCompleted, `client ${i} took no snapshot`).toBe(snapshots[i]);
        expect(new Set(c.applied).size).toBe(c.applied.length);
        expectStepsOfOne(seen[i] as number[], `client ${i}`);
      }
      nodes[victim] = await node(victim);
    } finally {
      await Promise.all(behind.map((c) => c.client.close()));
      await new Promise((res) => front.close(res));
    }
  }, 90_000);
});
