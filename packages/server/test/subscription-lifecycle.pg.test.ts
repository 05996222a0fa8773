/**
 * Every way a subscription ends gives back what it held: its access watch (an
 * `exists` rule) and, once nobody else uses it, its collection instance. A watch
 * left behind holds its subscriber — and through it the connection — forever.
 *
 * Endings covered: a snapshot refused as TOO_LARGE, a snapshot query that fails
 * (cancelled), a resync of a live subscription (TRUNCATE), a resync of one still
 * waiting for its snapshot (the slot recreated), a revocation, UNSUBSCRIBE,
 * UNSUBSCRIBE_ALL and a closed socket.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import type { CollectionDefinition } from '../src/collections/collection-config.ts';
import type { SynclineServer } from '../src/server.ts';
import { eventually } from './client-harness.ts';
import { createTestDatabase, type TestDatabase } from './test-database.ts';
import { startTestServer } from './test-server.ts';
import { testToken } from './test-token.ts';
import { WsReader, wsUrl } from './ws-reader.ts';

const SCHEMA = `
CREATE TABLE chat_member (
  chat_id text NOT NULL,
  user_id text NOT NULL,
  version integer NOT NULL DEFAULT 1,
  PRIMARY KEY (chat_id, user_id)
);
CREATE TABLE message (
  id serial PRIMARY KEY,
  chat_id text NOT NULL,
  body text,
  version integer NOT NULL DEFAULT 1
);
INSERT INTO chat_member (chat_id, user_id) VALUES ('small', 'alice'), ('big', 'alice'), ('small', 'bob');
INSERT INTO message (chat_id, body) SELECT 'big', 'm' || g FROM generate_series(1, 10) g;
INSERT INTO message (chat_id, body) VALUES ('small', 'hello');
`;

const MAX_ROWS = 5;

const COLLECTIONS: CollectionDefinition[] = [
  {
    name: 'chat_messages',
    table: 'message',
    filter: { eq: ['chat_id', { param: 'chatId' }] },
    params: ['chatId'],
    access: {
      exists: {
        table: 'chat_member',
        filter: { and: [{ eq: ['chat_id', { param: 'chatId' }] }, { eq: ['user_id', { claim: 'sub' }] }] },
      },
    },
  },
];

const sub = (id: string, chatId: string) => ({ id, collection: 'chat_messages', params: { chatId } });

/** What the router still holds; both must come back to zero once nobody subscribes. */
const held = (server: SynclineServer) => ({
  watches: server.router.accessWatchCount(),
  instances: server.router.instanceCount(),
});

function errorFor(r: WsReader, id: string): { code: string } | undefined {
  return r.of('error').find((e) => e.data.subscription === id)?.data as { code: string } | undefined;
}

const snapshotDone = (id: string) => (r: WsReader) =>
  r.of('snapshot').some((e) => e.data.subscription === id && e.data.done === true);

/** Waits until a backend runs a query on `message` and is blocked on a lock; returns its pid. */
async function blockedSnapshotPid(db: TestDatabase, waitEventType: 'Lock' | 'Advisory'): Promise<number> {
  let pid: number | undefined;
  await eventually(
    async () => {
      const r = await db.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity
          WHERE datname = current_database() AND wait_event_type = 'Lock'
            AND ($1 = 'Lock' OR wait_event = 'advisory') AND query LIKE '%FROM "public"."message"%'`,
        [waitEventType],
      );
      pid = r.rows[0]?.pid;
      return pid !== undefined;
    },
    10_000,
    'the snapshot query to wait on the lock',
  );
  return pid as number;
}

async function dropSlot(db: TestDatabase): Promise<void> {
  // The walsender holds the slot: terminate it and drop the slot before capture reconnects.
  for (let i = 0; i < 200; i++) {
    await db.query(
      `SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL`,
      [db.slot],
    );
    const dropped = await db.query('SELECT pg_drop_replication_slot($1)', [db.slot]).then(
      () => true,
      () => false,
    );
    if (dropped) return;
  }
  throw new Error('could not drop the replication slot');
}

describe('subscription lifecycle: every ending gives back its access watch and instance', () => {
  let db: TestDatabase;
  let server: SynclineServer;
  const open: WsReader[] = [];

  beforeAll(async () => {
    db = await createTestDatabase(SCHEMA);
    server = await startTestServer(db, COLLECTIONS, { limits: { maxSnapshotRows: MAX_ROWS } });
  });
  afterAll(async () => {
    for (const r of open) r.close();
    await server?.stop();
    await db?.drop();
  });

  const connect = async (user = 'alice', subs: object[] = []): Promise<WsReader> => {
    const r = new WsReader(wsUrl(server.url, `${user}-${Math.random().toString(36).slice(2)}`, testToken(user)), subs);
    open.push(r);
    await r.until((x) => x.of('hello').length > 0, 10_000, 'hello');
    return r;
  };

  const released = async (what: string) =>
    eventually(
      () => {
        const h = held(server);
        return h.watches === 0 && h.instances === 0;
      },
      10_000,
      `${what}: watches and instances released (still ${JSON.stringify(held(server))})`,
    );

  it('a snapshot refused as TOO_LARGE holds no watch, during the connection or after it', async () => {
    const r = await connect('alice', [sub('big', 'big')]);
    await r.until((x) => errorFor(x, 'big') !== undefined, 10_000, 'TOO_LARGE');
    expect(errorFor(r, 'big')?.code).toBe('TOO_LARGE');
    expect(held(server)).toEqual({ watches: 0, instances: 0 });
    r.close();
    await r.closed();
    await released('after the connection closed');
  });

  it('a snapshot query that fails (cancelled while it waits for a lock) holds no watch', async () => {
    const locker: pg.PoolClient = await db.pool.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE message IN ACCESS EXCLUSIVE MODE');
      const r = await connect('alice', [sub('s', 'small')]);
      const pid = await blockedSnapshotPid(db, 'Lock');
      await db.query('SELECT pg_cancel_backend($1)', [pid]);
      await r.until((x) => errorFor(x, 's') !== undefined, 10_000, 'snapshot error');
      expect(errorFor(r, 's')?.code).toBe('INTERNAL');
      await locker.query('ROLLBACK');
      await released('after the failed snapshot');
      r.close();
      await r.closed();
      await released('after the connection closed');
    } finally {
      await locker.query('ROLLBACK').catch(() => {});
      locker.release();
    }
  });

  it('a live subscription resynced by TRUNCATE holds no watch', async () => {
    const r = await connect('alice', [sub('s', 'small')]);
    await r.until(snapshotDone('s'), 10_000, 'snapshot');
    expect(held(server)).toEqual({ watches: 1, instances: 1 });
    await db.query('TRUNCATE message');
    await r.until((x) => x.of('resync').some((e) => e.data.subscription === 's'), 10_000, 'resync');
    await released('after the resync');
    await db.query(`INSERT INTO message (chat_id, body) VALUES ('small', 'hello again')`);
    r.close();
  });

  it('a revoked subscription holds no watch', async () => {
    const r = await connect('bob', [sub('s', 'small')]);
    await r.until(snapshotDone('s'), 10_000, 'snapshot');
    await db.query(`DELETE FROM chat_member WHERE chat_id = 'small' AND user_id = 'bob'`);
    await r.until((x) => errorFor(x, 's')?.code === 'FORBIDDEN', 10_000, 'FORBIDDEN');
    await released('after the revocation');
    r.close();
  });

  it('UNSUBSCRIBE, UNSUBSCRIBE_ALL and a closed socket each give back what they held', async () => {
    const r = await connect('alice', [sub('a', 'small'), sub('b', 'small')]);
    await r.until((x) => snapshotDone('a')(x) && snapshotDone('b')(x), 10_000, 'snapshots');
    // One instance and one watch, shared by both subscriptions.
    expect(held(server)).toEqual({ watches: 1, instances: 1 });
    r.send({ type: 'UNSUBSCRIBE', id: 'a' });
    r.send({ type: 'UNSUBSCRIBE_ALL' });
    await released('after UNSUBSCRIBE and UNSUBSCRIBE_ALL');

    r.send({ type: 'SUBSCRIBE', subscription: sub('c', 'small') });
    await r.until(snapshotDone('c'), 10_000, 'snapshot of c');
    expect(held(server)).toEqual({ watches: 1, instances: 1 });
    r.close();
    await r.closed();
    await released('after the socket closed');
  });
});

/**
 * A subscription still waiting for its snapshot when every subscription must start
 * over (the replication slot was recreated). The snapshot is held in flight by a row
 * policy that waits on an advisory lock: unlike a table lock, that gives the waiting
 * transaction no xid, so it does not also hold up the creation of the new slot.
 */
describe('subscription lifecycle: a resync while the snapshot is in flight', () => {
  const ROLE = 'lifecycle_reader';
  const GATE = 4_242_001;
  let db: TestDatabase;
  let server: SynclineServer;
  const open: WsReader[] = [];

  beforeAll(async () => {
    db = await createTestDatabase(`${SCHEMA}
      DO $$ BEGIN CREATE ROLE ${ROLE} NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
      GRANT SELECT ON chat_member, message TO ${ROLE};
      CREATE FUNCTION lifecycle_gate() RETURNS boolean LANGUAGE plpgsql VOLATILE AS
        $$ BEGIN PERFORM pg_advisory_xact_lock_shared(${GATE}); RETURN true; END $$;
      GRANT EXECUTE ON FUNCTION lifecycle_gate() TO ${ROLE};
      ALTER TABLE message ENABLE ROW LEVEL SECURITY;
      CREATE POLICY gated ON message FOR SELECT TO ${ROLE} USING (lifecycle_gate());`);
    server = await startTestServer(db, COLLECTIONS, { db: { role: ROLE } });
  });
  afterAll(async () => {
    for (const r of open) r.close();
    await server?.stop();
    await db?.drop();
  });

  it('a subscription resynced while it waits for its snapshot holds no watch', async () => {
    const gate: pg.PoolClient = await db.pool.connect();
    try {
      await gate.query('SELECT pg_advisory_lock($1)', [GATE]);
      const r = new WsReader(wsUrl(server.url, 'alice-gated', testToken('alice')), [sub('s', 'small')]);
      open.push(r);
      await blockedSnapshotPid(db, 'Advisory');
      expect(held(server)).toEqual({ watches: 1, instances: 1 });
      await dropSlot(db);
      await r.until(
        (x) => x.of('resync').some((e) => e.data.subscription === 's' && e.data.reason === 'slot-recreated'),
        30_000,
        'resync after the slot was recreated',
      );
      expect(held(server)).toEqual({ watches: 0, instances: 0 });
      await gate.query('SELECT pg_advisory_unlock($1)', [GATE]);
      // The superseded snapshot finishes and must not bring the subscription back.
      await eventually(
        async () =>
          (
            await db.query(
              `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND state = 'active'
                 AND query LIKE '%FROM "public"."message"%' AND pid <> pg_backend_pid()`,
            )
          ).rows.length === 0,
        10_000,
        'the superseded snapshot to finish',
      );
      expect(held(server)).toEqual({ watches: 0, instances: 0 });
      r.close();
      await r.closed();
      expect(held(server)).toEqual({ watches: 0, instances: 0 });
    } finally {
      await gate.query('SELECT pg_advisory_unlock_all()').catch(() => {});
      gate.release();
    }
  });
});
