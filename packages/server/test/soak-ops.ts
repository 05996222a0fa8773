/**
 * The randomized runs' moves (client-soak, client-tabs-soak): writes a client
 * makes from what its view shows, writes from outside Syncline, and the
 * database's rows to compare the views with at the end.
 */
import type { SubscriptionHandle, SyncClient } from '@syncline/client';
import type { Row, WriteOp } from '@syncline/protocol';
import { wireTypes } from '../src/capture/pg-values.ts';
import type { TestDatabase } from './test-database.ts';

export const ID_POOL = Array.from({ length: 60 }, (_, i) => `k${String(i).padStart(2, '0')}`);
export const STATUSES = ['open', 'done', 'closed'] as const;
/** Outside the pool: only the final marker write touches it. */
const MARKER = 'zz-marker';

/** mulberry32: small, fast, good enough to pick operations reproducibly. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const byId = (rows: readonly Row[]) => new Map(rows.map((r) => [String(r['id']), r]));

/** The moves, drawing from `random` (seeded: a run is reproducible). */
export function soakOps(db: TestDatabase, random: () => number) {
  const int = (n: number) => Math.floor(random() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;
  const chance = (p: number) => random() < p;

  function randomRowValues(): Record<string, string | null> {
    const v: Record<string, string | null> = { status: pick(STATUSES), body: `b${int(1000)}` };
    if (chance(0.3)) v['owner'] = chance(0.5) ? null : pick(['ann', 'bob', 'cyd']);
    if (chance(0.3)) v['amount'] = `${int(10_000)}.${String(int(100)).padStart(2, '0')}`;
    if (chance(0.3)) v['big'] = String(2n ** 53n + BigInt(int(1_000_000)));
    return v;
  }

  /** One random op for a client, based on what its view shows (versions may be stale: conflicts expected). */
  function randomClientOp(c: SyncClient): { op: WriteOp; kind: string } {
    const view = new Map(c.view('item').map((r) => [String(r['id']), r]));
    const id = pick(ID_POOL);
    const row = view.get(id);
    // A row only inserted locally has no version yet (the server assigns it): nothing to expect then.
    const version = row?.['version'];
    const withVersion = typeof version === 'number' && chance(0.35);
    const ev = withVersion ? { expectedVersion: version + (chance(0.1) ? 1 : 0) } : {};
    const roll = random();
    if (roll < 0.25) {
      return { op: { type: 'insert', table: 'item', row: { id, ...randomRowValues() } }, kind: 'insert' };
    }
    if (roll < 0.5) {
      return {
        op: { type: 'set', table: 'item', id, key: 'status', value: pick(STATUSES), ...ev },
        kind: withVersion ? 'set-status/v' : 'set-status',
      };
    }
    if (roll < 0.65) {
      return {
        op: { type: 'set', table: 'item', id, key: 'body', value: `c${int(1000)}`, ...ev },
        kind: withVersion ? 'set-body/v' : 'set-body',
      };
    }
    if (roll < 0.85) {
      const { status, body, amount } = randomRowValues();
      const values: Record<string, string | null> = { status: status ?? 'open', body: body ?? null };
      if (amount !== undefined) values['amount'] = amount;
      return { op: { type: 'update', table: 'item', id, values, ...ev }, kind: withVersion ? 'update/v' : 'update' };
    }
    return { op: { type: 'delete', table: 'item', id, ...ev }, kind: withVersion ? 'delete/v' : 'delete' };
  }

  /** A write from outside Syncline (the triggers bump versions as for any writer). */
  async function directSql(): Promise<string> {
    const id = pick(ID_POOL);
    const roll = random();
    if (roll < 0.35) {
      const v = randomRowValues();
      await db.pool.query(
        `INSERT INTO item (id, status, body, owner, amount, big) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, body = EXCLUDED.body`,
        [id, v['status'], v['body'], v['owner'] ?? null, v['amount'] ?? null, v['big'] ?? null],
      );
      return 'sql-upsert';
    }
    if (roll < 0.7) {
      await db.pool.query(`UPDATE item SET status = $2, body = body || '+' WHERE id = $1`, [id, pick(STATUSES)]);
      return 'sql-update';
    }
    if (roll < 0.85) {
      // Several rows in one transaction.
      const ids = [pick(ID_POOL), pick(ID_POOL), pick(ID_POOL)];
      await db.pool.query(`UPDATE item SET body = 'multi' || $2 WHERE id = ANY($1)`, [ids, String(int(1000))]);
      return 'sql-multi';
    }
    await db.pool.query(`DELETE FROM item WHERE id = $1`, [id]);
    return 'sql-delete';
  }

  const dbRows = async () =>
    new Map(
      (await db.pool.query<Row>({ text: 'SELECT * FROM item', types: wireTypes })).rows.map((r) => [
        String(r['id']),
        r,
      ]),
    );
  /**
   * Writes a marker row after everything else; the returned check says whether a
   * client shows it in its view and in each given subscription (then it has seen
   * all before it).
   */
  async function writeEndMarker(token: string) {
    await db.query(
      `INSERT INTO item (id, status, body) VALUES ($1, 'open', $2) ON CONFLICT (id) DO UPDATE SET body = EXCLUDED.body`,
      [MARKER, token],
    );
    return (client: SyncClient | null, subs: ReadonlyArray<SubscriptionHandle | null>) =>
      subs.every((sub) => sub?.get(MARKER)?.['body'] === token) &&
      client?.view('item').find((r) => r['id'] === MARKER)?.['body'] === token;
  }

  return { int, pick, chance, randomRowValues, randomClientOp, directSql, dbRows, writeEndMarker };
}
