import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IdbLocalStore } from './idb-local-store.ts';
import type { LocalStore, RowChange } from './local-store.ts';
import { MemoryLocalStore } from './memory-local-store.ts';

const SUBSCRIPTIONS = ['s1', 's2'];

const change: fc.Arbitrary<RowChange> = fc.record({
  op: fc.constantFrom('insert' as const, 'update' as const, 'delete' as const),
  key: fc.constantFrom('a', 'b', 'c', 'd', 'é', 'A'),
  row: fc.option(fc.record({ v: fc.integer(), s: fc.string({ maxLength: 4 }) }), { freq: 8 }),
  version: fc.nat(100),
});

const step = fc.record({
  // 'ghost' is never stored: both stores must reject it and write nothing.
  subscriptionId: fc.constantFrom('s1', 's2', 'ghost'),
  changes: fc.array(change, { maxLength: 6 }),
  replace: fc.boolean(),
});

type Step = typeof step extends fc.Arbitrary<infer T> ? T : never;

async function run(store: LocalStore, steps: readonly Step[]) {
  for (const id of SUBSCRIPTIONS) await store.subscriptions.put({ id, collection: id, params: null, cursor: null });
  const outcomes: string[] = [];
  for (const [i, { subscriptionId, changes, replace }] of steps.entries()) {
    const cursor = String(i).padStart(4, '0');
    outcomes.push(
      await store.applyTransaction(subscriptionId, changes, cursor, { replace }).then(
        () => 'ok',
        (error: unknown) => (error instanceof Error ? error.name : 'error'),
      ),
    );
  }
  const state = await Promise.all(
    SUBSCRIPTIONS.map(async (id) => ({
      rows: await store.rows.getAll(id),
      cursor: (await store.subscriptions.get(id))?.cursor,
    })),
  );
  await store.close();
  return { outcomes, state };
}

describe('LocalStore implementations agree', () => {
  it('a random sequence of applyTransaction calls yields the same rows and cursors', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 12 }), async (steps) => {
        const memory = await run(await MemoryLocalStore.open({ namespace: 'p' }), steps);
        const idb = await run(await IdbLocalStore.open({ namespace: 'p', indexedDB: new IDBFactory() }), steps);
        expect(idb).toEqual(memory);
      }),
      { numRuns: 60 },
    );
  });
});
