/**
 * Crash: SIGKILL the server mid-stream while writers keep committing, start it
 * again on the same port. Clients reconnect, resume (or resync when the log
 * cannot reach back), converge to the database, and never apply a transaction
 * twice — checked with a counter every transaction increments.
 */
import { expect, it } from 'vitest';
import { wireTypes } from '../src/capture/pg-values.ts';
import { restartableNode } from './restartable-node.ts';
import { eventually, watchedClient } from './client-harness.ts';

const node = restartableNode();

it('survives SIGKILL mid-stream: clients converge and no transaction is applied twice', async () => {
  const { db, clients } = node;
  let server = await node.start();

  for (let i = 0; i < 3; i++) {
    clients.push(
      watchedClient(server.url, [
        { id: 'counter', collection: 'counters' },
        { id: 'items', collection: 'items_all' },
      ]),
    );
  }
  await Promise.all(clients.flatMap((c) => Object.values(c.subs).map((s) => s.ready())));

  // Every transaction bumps the counter and inserts one item: the counter a client
  // sees must only ever go up, one transaction at a time, while it is live.
  const seen = clients.map(() => [] as number[]);
  clients.forEach((c, i) =>
    c.subs['counter']?.on('change', (e) => {
      const n = c.subs['counter']?.get('1')?.['n'];
      if (typeof n === 'number') seen[i]?.push(e.cause === 'changes' ? n : -n); // negative: from a snapshot
    }),
  );

  let stop = false;
  let committed = 0;
  const writer = (async () => {
    while (!stop) {
      const c = await db.pool.connect();
      try {
        await c.query('BEGIN');
        const r = await c.query<{ n: number }>('UPDATE counter SET n = n + 1 WHERE id = 1 RETURNING n');
        await c.query(`INSERT INTO item (id, status) VALUES ($1, 'open')`, [`crash-${r.rows[0]?.n}`]);
        await c.query('COMMIT');
        committed++;
      } finally {
        c.release();
      }
      await new Promise((r) => setTimeout(r, 2));
    }
  })();

  await eventually(() => committed > 100, 20_000, 'writes before the crash');
  await server.kill('SIGKILL');
  const atCrash = committed;
  await eventually(() => committed > atCrash + 50, 20_000, 'writes while the server is down');
  server = await node.restart();
  await eventually(() => committed > atCrash + 150, 20_000, 'writes after restart');
  stop = true;
  await writer;

  const finalN = (await db.query<{ n: number }>('SELECT n FROM counter WHERE id = 1')).rows[0]?.n;
  const items = await db.pool.query({ text: 'SELECT * FROM item', types: wireTypes });
  for (const [i, c] of clients.entries()) {
    await eventually(() => c.subs['counter']?.get('1')?.['n'] === finalN, 30_000, `client ${i} counter ${finalN}`);
    await eventually(() => c.subs['items']?.rows().length === items.rows.length, 30_000, `client ${i} items`);
    const rows = new Map(c.subs['items']?.rows().map((r) => [r['id'], r]));
    for (const r of items.rows) expect(rows.get(r.id)).toEqual(r);

    expect(new Set(c.applied).size, 'a transaction was applied twice').toBe(c.applied.length);
    // Live counter values rise by exactly one per transaction; a snapshot may jump ahead, never back.
    const s = seen[i] as number[];
    let last = -Infinity;
    for (const v of s) {
      const n = Math.abs(v);
      if (v > 0 && last !== -Infinity) expect(n, `client ${i}: ${s.join(',')}`).toBe(last + 1);
      else expect(n).toBeGreaterThanOrEqual(last === -Infinity ? 0 : last);
      last = n;
    }
  }
}, 120_000);
