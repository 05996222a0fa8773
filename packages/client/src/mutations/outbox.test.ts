import { describe, expect, it } from 'vitest';
import { FakeTimers } from '../testing/fake-timers.ts';
import {
  Outbox,
  OutboxClosedError,
  type MutateRequestBody,
  type MutationIdCounter,
  type OutboxEntry,
  type OutboxPersistence,
} from './outbox.ts';
import { PendingMutations, type RejectedEvent } from './pending-mutations.ts';
import { baseRowsFrom, getRow } from './table-rows.ts';

type Answer = { status: number; body: unknown } | Error;

class FakeServer {
  requests: MutateRequestBody[] = [];
  private waiting: Array<(a: Answer) => void> = [];
  send = (body: MutateRequestBody) => {
    this.requests.push(body);
    return new Promise<{ status: number; body: unknown }>((resolve, reject) => {
      this.waiting.push((a) => (a instanceof Error ? reject(a) : resolve(a)));
    });
  };
  get inFlight(): number {
    return this.waiting.length;
  }
  async answer(a: Answer): Promise<void> {
    const next = this.waiting.shift();
    if (!next) throw new Error('no request in flight');
    next(a);
    await flush();
  }
}

class MemoryStore implements MutationIdCounter, OutboxPersistence {
  n = 0;
  entries = new Map<number, OutboxEntry>();
  get = () => Promise.resolve(this.n);
  set = (n: number) => {
    this.n = n;
    return Promise.resolve();
  };
  list = () => Promise.resolve([...this.entries.values()]);
  append = (e: OutboxEntry) => {
    this.n = e.mutationId;
    this.entries.set(e.mutationId, structuredClone(e));
    return Promise.resolve();
  };
  delete = (id: number) => {
    this.entries.delete(id);
    return Promise.resolve();
  };
}

async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
}

const ok = (rows: unknown[] = []) => ({ status: 200, body: { ok: true, cursor: 'c', rows } });
const setOp = (value: string) => ({ ops: [{ type: 'set' as const, table: 'order', id: 'o1', key: 'status', value }] });

function setup(store = new MemoryStore(), opts: { paused?: boolean } = {}) {
  const server = new FakeServer();
  const timers = new FakeTimers();
  const pending = new PendingMutations({
    base: baseRowsFrom([
      { table: 'public.order', key: 'o1', row: { id: 'o1', status: 'new', version: 1 }, version: 1 },
    ]),
  });
  const outbox = new Outbox({
    clientId: 'c1',
    pending,
    send: server.send,
    counter: store,
    persistence: store,
    timers,
    random: () => 0.5,
    ...opts,
  });
  return { server, timers, pending, outbox, store };
}

describe('Outbox', () => {
  it('sends one at a time in mutationId order and confirms', async () => {
    const { server, pending, outbox, store } = setup();
    await outbox.rehydrate();
    expect(await outbox.mutate(setOp('a'))).toBe(1);
    expect(await outbox.mutate(setOp('b'))).toBe(2);
    await flush();
    expect(server.inFlight).toBe(1);
    expect(server.requests).toEqual([{ clientId: 'c1', mutationId: 1, ...setOp('a') }]);
    expect(pending.get(1)?.status).toBe('sending');
    await server.answer(
      ok([{ table: 'public.order', key: 'o1', row: { id: 'o1', status: 'a', version: 2 }, version: 2 }]),
    );
    expect(pending.get(1)).toBeUndefined();
    expect(server.requests.map((r) => r.mutationId)).toEqual([1, 2]);
    expect(getRow(pending.view(), 'order', 'o1')?.row['status']).toBe('b');
    await server.answer(
      ok([{ table: 'public.order', key: 'o1', row: { id: 'o1', status: 'b', version: 3 }, version: 3 }]),
    );
    expect(pending.size).toBe(0);
    expect(getRow(pending.base, 'order', 'o1')?.version).toBe(3);
    expect(store.entries.size).toBe(0);
  });

  it('retries the same mutation with exponential backoff and full jitter, capped', async () => {
    const { server, timers, pending, outbox } = setup();
    const delays: number[] = [];
    outbox.on('retry', (e) => delays.push(e.delayMs));
    await outbox.rehydrate();
    await outbox.mutate(setOp('a'));
    await outbox.mutate(setOp('b'));
    await flush();
    await server.answer(new TypeError('fetch failed'));
    expect(timers.pending()).toEqual([125]); // 0.5 · 250
    expect(server.inFlight).toBe(0);
    timers.advance(125);
    await flush();
    await server.answer({ status: 503, body: { error: { code: 'INTERNAL', message: 'busy', retryable: true } } });
    expect(timers.pending()).toEqual([250]);
    timers.advance(250);
    await flush();
    for (let i = 0; i < 8; i++) {
      await server.answer(new TypeError('offline'));
      timers.advance(timers.pending()[0] ?? 0);
      await flush();
    }
    expect(delays).toEqual([125, 250, 500, 1000, 2000, 4000, 5000, 5000, 5000, 5000]);
    expect(new Set(server.requests.map((r) => r.mutationId))).toEqual(new Set([1]));
    await server.answer(ok());
    expect(pending.mutations.map((m) => m.mutationId)).toEqual([2]);
    expect(server.requests.at(-1)?.mutationId).toBe(2);
    await server.answer(new TypeError('x'));
    expect(timers.pending()).toEqual([125]); // backoff restarted after the success
  });

  it('permanent errors reject and move on to the next mutation', async () => {
    const { server, pending, outbox } = setup();
    const rejected: RejectedEvent[] = [];
    pending.on('rejected', (e) => rejected.push(e));
    await outbox.rehydrate();
    await outbox.mutate(setOp('a'));
    await outbox.mutate(setOp('b'));
    await outbox.mutate(setOp('c'));
    await flush();
    const current = { table: 'public.order', key: 'o1', row: { id: 'o1', status: 'z', version: 5 }, version: 5 };
    await server.answer({ status: 409, body: { error: { code: 'CONFLICT', message: 'stale', op: 0 }, current } });
    await server.answer({ status: 403, body: { error: { code: 'FORBIDDEN', message: 'no', op: 0, field: 'status' } } });
    expect(server.requests.map((r) => r.mutationId)).toEqual([1, 2, 3]);
    expect(rejected.map((e) => [e.mutationId, e.error.status, e.error.code])).toEqual([
      [1, 409, 'CONFLICT'],
      [2, 403, 'FORBIDDEN'],
    ]);
    expect(rejected[0]?.current).toEqual(current);
    expect(rejected[1]?.error.field).toBe('status');
    expect(getRow(pending.view(), 'order', 'o1')?.row).toEqual({ id: 'o1', status: 'c', version: 1 });
  });

  it('pause holds requests and retries until resume', async () => {
    const { server, timers, outbox } = setup(new MemoryStore(), { paused: true });
    await outbox.rehydrate();
    await outbox.mutate(setOp('a'));
    await flush();
    expect(server.inFlight).toBe(0);
    outbox.resume();
    await flush();
    expect(server.inFlight).toBe(1);
    outbox.pause();
    await server.answer(new TypeError('offline'));
    expect(timers.pending()).toEqual([]);
    outbox.resume();
    await flush();
    expect(server.requests.map((r) => r.mutationId)).toEqual([1, 1]);
  });

  it('ids survive a reload and the persisted queue comes back in order', async () => {
    const store = new MemoryStore();
    const first = setup(store, { paused: true });
    await first.outbox.rehydrate();
    await first.outbox.mutate(setOp('a'));
    await first.outbox.mutate(setOp('b'));
    first.outbox.close();
    // reload: fresh memory, same storage
    const second = setup(store);
    await second.outbox.rehydrate();
    expect(second.pending.mutations.map((m) => m.mutationId)).toEqual([1, 2]);
    expect(getRow(second.pending.view(), 'order', 'o1')?.row['status']).toBe('b');
    expect(await second.outbox.mutate(setOp('c'))).toBe(3);
    await flush();
    expect(second.server.requests.map((r) => r.mutationId)).toEqual([1]);
    await second.server.answer(ok());
    await second.server.answer(ok());
    await second.server.answer(ok());
    expect(second.server.requests.map((r) => r.mutationId)).toEqual([1, 2, 3]);
    // a counter that fell behind the stored entries never hands out their ids again
    store.n = 0;
    store.entries.set(7, { mutationId: 7, body: setOp('x') });
    const third = setup(store, { paused: true });
    await third.outbox.rehydrate();
    expect(await third.outbox.mutate(setOp('y'))).toBe(8);
    // concurrent allocations are distinct and increasing
    const ids = await Promise.all([third.outbox.mutate(setOp('p')), third.outbox.mutate(setOp('q'))]);
    expect(ids).toEqual([9, 10]);
    expect(store.n).toBe(10);
  });

  it("another tab's request: a repeat finds its mutation until answered; adopting the store drops what it no longer holds", async () => {
    const store = new MemoryStore();
    // The leading tab queues a follower's mutation, then goes before it is answered.
    const leader = setup(store);
    await leader.outbox.rehydrate();
    expect(await leader.outbox.mutate(setOp('a'), 'req-1')).toBe(1);
    expect(leader.outbox.idForRequest('req-1')).toBe(1);
    leader.outbox.close();

    // A follower mirrored it, and one more (2) the leader never stored.
    const follower = setup(store, { paused: true });
    follower.pending.add(1, setOp('a'));
    follower.pending.add(2, setOp('b'));
    await follower.outbox.adopt();
    expect(follower.pending.mutations.map((m) => m.mutationId)).toEqual([1]);
    expect(follower.outbox.idForRequest('req-1')).toBe(1); // the repeated request gets the same mutation
    await flush();
    expect(follower.server.requests.map((r) => r.mutationId)).toEqual([1]);
    await follower.server.answer(ok());
    expect(follower.outbox.idForRequest('req-1')).toBeUndefined();
    expect(store.entries.size).toBe(0);
    expect(await follower.outbox.mutate(setOp('c'))).toBe(2); // the counter is the store's
  });

  it('closing never leaves an id stored without its entry (the next leader would skip it and the server refuse the rest)', async () => {
    const store = new MemoryStore();
    const slowAppend = store.append;
    store.append = (e: OutboxEntry) => new Promise<void>((r) => setTimeout(() => void slowAppend(e).then(r), 5));
    const { outbox } = setup(store);
    await outbox.rehydrate();
    const first = outbox.mutate(setOp('a'));
    const second = outbox.mutate(setOp('b'));
    await new Promise((r) => setTimeout(r, 1)); // the first is storing its id
    outbox.close();
    await outbox.settled();
    expect(await first).toBe(1);
    await expect(second).rejects.toBeInstanceOf(OutboxClosedError);
    expect(store.n).toBe(1);
    expect([...store.entries.keys()]).toEqual([1]);
  });

  it('a store write that fails queues nothing: mutate rejects and the next mutation takes the same id', async () => {
    const store = new MemoryStore();
    const { server, pending, outbox } = setup(store);
    await outbox.rehydrate();
    expect(await outbox.mutate(setOp('a'))).toBe(1);
    const full = new Error('outbox full');
    const append = store.append;
    store.append = () => Promise.reject(full);
    const views: string[] = [];
    pending.on('change', () => views.push(String(getRow(pending.view(), 'order', 'o1')?.row['status'])));
    await expect(outbox.mutate(setOp('b'), 'req-b')).rejects.toBe(full);
    expect(views).toEqual([]); // never shown, so never taken back
    expect(outbox.idForRequest('req-b')).toBeUndefined();
    expect(pending.mutations.map((m) => m.mutationId)).toEqual([1]);
    store.append = append;
    expect(await outbox.mutate(setOp('c'))).toBe(2);
    await flush();
    await server.answer(ok());
    await server.answer(ok());
    expect(server.requests.map((r) => r.mutationId)).toEqual([1, 2]);
    expect(server.requests.at(-1)).toMatchObject(setOp('c'));
  });
});
