/**
 * Random sequences of what happens to subscriptions (admit, snapshot start, go live,
 * unsubscribe, snapshot failure, resync of an instance or of its live part, a
 * connection closing) must never leave a watch, waiter or live subscriber behind
 * whose subscription has ended, and must free everything once all of them end.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ServerMessageKind } from '@syncline/protocol';
import { CollectionInstance } from '../collections/collection-instance.ts';
import type { Collection } from '../collections/collection.ts';
import { compileFilter } from '../collections/filter/compile-filter.ts';
import { SnapshotJob } from '../collections/snapshot-job.ts';
import type { TableInfo } from '../collections/table-info.ts';
import { SyncConnection } from '../transport/sync-connection.ts';
import { AccessWatches } from './access-watches.ts';
import { ConnectionSubscriptions, resync } from './connection-subscriptions.ts';

const MEMBER: TableInfo = {
  qualified: 'public.member',
  schema: 'public',
  name: 'member',
  columns: [{ name: 'chat_id', typeOid: 25 }],
  primaryKey: ['chat_id'],
};
const access = compileFilter({ eq: ['chat_id', { param: 'chat' }] }, MEMBER.columns);

class FakeConnection extends SyncConnection {
  constructor(n: number) {
    super(`client-${n}`, 'ws', 1 << 20, { userId: 'u', claims: {}, expiresAt: null });
  }
  protected get bufferedBytes(): number {
    return 0;
  }
  protected frame(_event: ServerMessageKind, data: string): Buffer {
    return Buffer.from(data);
  }
  protected writeFrame(): void {}
  protected endTransport(): void {}
}

type Op =
  | { kind: 'admit'; conn: number; id: number; chat: number; resume: boolean }
  | { kind: 'goLive' | 'fail' | 'unsubscribe'; conn: number; id: number }
  | { kind: 'endInstance' | 'endLive'; chat: number }
  | { kind: 'close'; conn: number };

const small = (n: number) => fc.integer({ min: 0, max: n - 1 });
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('admit' as const),
    conn: small(3),
    id: small(3),
    chat: small(2),
    resume: fc.boolean(),
  }),
  fc.record({
    kind: fc.constantFrom('goLive' as const, 'fail' as const, 'unsubscribe' as const),
    conn: small(3),
    id: small(3),
  }),
  fc.record({ kind: fc.constantFrom('endInstance' as const, 'endLive' as const), chat: small(2) }),
  fc.record({ kind: fc.constant('close' as const), conn: small(3) }),
);

describe('connection subscriptions', () => {
  it('never keeps what an ended subscription held, and frees it all at the end', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const watches = new AccessWatches();
        const instances = new Map<number, CollectionInstance>();
        const subs = new ConnectionSubscriptions(watches, (i) => {
          for (const [chat, x] of instances) if (x === i && i.idle) instances.delete(chat);
        });
        const conns = [0, 1, 2].map((n) => new FakeConnection(n));
        const instanceFor = (chat: number) => {
          let i = instances.get(chat);
          if (!i) {
            i = new CollectionInstance(
              `chat-${chat}`,
              {} as Collection,
              access.bind({ chat: 'c' }),
              conns[0]!.identity,
            );
            instances.set(chat, i);
          }
          return i;
        };
        const current = (conn: SyncConnection, id: string) => conn.subscriptions.get(id)?.subscriber;
        const check = () => {
          for (const i of instances.values()) {
            for (const s of i.subscribers) expect(subs.isCurrent(s)).toBe(true);
            for (const w of i.snapshot?.waiters ?? []) expect(subs.isCurrent(w)).toBe(true);
          }
          for (const c of conns)
            for (const s of c.subscriptions.values()) expect(s.watch?.dependents.has(s.subscriber)).toBe(true);
        };

        for (const o of ops) {
          const conn = 'conn' in o ? (conns[o.conn] as FakeConnection) : null;
          const id = 'id' in o ? `s${o.id}` : '';
          if (o.kind === 'admit' && conn && !conn.closed) {
            subs.end(conn, id); // replaced, as the router does, before its instance is looked up
            const instance = instanceFor(o.chat);
            const s = subs.admit({
              conn,
              id,
              instance,
              params: {},
              access: { key: `chat-${o.chat}#access`, table: MEMBER, bound: access.bind({ chat: `c${o.chat}` }) },
              phase: o.resume ? 'live' : 'snapshot',
            });
            if (!o.resume) (instance.snapshot ??= new SnapshotJob(100)).waiters.push(s.subscriber);
          } else if (o.kind === 'goLive' && conn) {
            const w = current(conn, id);
            if (w) subs.goLive(w, null);
          } else if (o.kind === 'fail' && conn) {
            const w = current(conn, id);
            if (w) subs.endSubscriber(w, { kind: 'error', code: 'TOO_LARGE', message: 'too many rows' });
          } else if (o.kind === 'unsubscribe' && conn) {
            subs.end(conn, id);
          } else if (o.kind === 'endInstance' || o.kind === 'endLive') {
            const i = instances.get(o.chat);
            if (i && o.kind === 'endInstance') subs.endInstance(i, resync('slot-recreated'));
            else if (i) subs.endLive(i, resync('truncate'));
          } else if (o.kind === 'close' && conn) {
            subs.endAll(conn);
          }
          check();
        }

        for (const c of conns) subs.endAll(c);
        expect(watches.size).toBe(0);
        for (const i of instances.values()) {
          expect(i.subscribers.size).toBe(0);
          // Only a snapshot still in flight keeps an instance; it is freed when that query ends.
          expect(i.snapshot?.waiters ?? []).toEqual([]);
          expect(i.snapshot).not.toBeNull();
        }
      }),
      { numRuns: 300 },
    );
  });
});
