/**
 * Property: whatever sequence of view updates arrives, a live query's `current`
 * is exactly (same row objects, same order) what a fresh one-off query computes
 * on the same view, and listeners are called exactly when the result changes.
 */
import fc from 'fast-check';
import type { Row } from '@syncline/protocol';
import type { BaseRows } from '../mutations/table-rows.ts';
import { describe, expect, it } from 'vitest';
import { createQuery, type QueryBuilder, type ViewSource } from './live-query.ts';
import { edit, FakeSource } from './test-source.ts';

const TABLES = ['public.a', 'public.b'] as const;
const keyArb = fc.constantFrom('1', '2', '3', '10', '11', 'x', 'y', '["1","2"]');
const rowArb = fc.record({
  g: fc.integer({ min: 0, max: 3 }),
  v: fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constantFrom(null, 'p', 'q', true)),
});
const updateArb = fc.oneof(
  fc.record({
    kind: fc.constant('edit' as const),
    table: fc.constantFrom(...TABLES),
    changes: fc.dictionary(keyArb, fc.option(rowArb, { nil: null }), { maxKeys: 4 }),
  }),
  fc.record({ kind: fc.constant('drop' as const), table: fc.constantFrom(...TABLES) }),
  fc.record({ kind: fc.constant('bump' as const), table: fc.constantFrom(...TABLES), key: keyArb }),
  fc.constant({ kind: 'same' as const }),
);
type Update = typeof updateArb extends fc.Arbitrary<infer U> ? U : never;

function apply(rows: BaseRows, u: Update): BaseRows {
  switch (u.kind) {
    case 'edit':
      return edit(rows, u.table, u.changes);
    case 'drop': {
      const out = new Map(rows);
      out.delete(u.table);
      return out;
    }
    case 'bump': {
      // New VersionedRow, same row object.
      const v = rows.get(u.table)?.get(u.key);
      if (!v) return rows;
      const t = new Map(rows.get(u.table)).set(u.key, { row: v.row, version: v.version + 1 });
      return new Map(rows).set(u.table, t);
    }
    case 'same':
      return rows;
  }
}

type Shape = (q: QueryBuilder) => QueryBuilder;
const shapes: Record<string, Shape> = {
  all: (q) => q,
  filtered: (q) => q.where((r) => r['g'] !== 0),
  sorted: (q) => q.orderBy('v'),
  sortedDescLimit: (q) => q.orderBy('v', 'desc').limit(3),
  twoKeysFiltered: (q) =>
    q
      .where((r) => r['g'] !== 1)
      .orderBy('g')
      .orderBy('v', 'desc')
      .limit(4),
  comparatorLimit: (q) => q.orderBy((a, b) => Number(a['g']) - Number(b['g'])).limit(2),
};

function sameRows(a: readonly Row[], b: readonly Row[]): boolean {
  return a.length === b.length && a.every((r, i) => r === b[i]);
}

describe('live query property', () => {
  for (const [name, shape] of Object.entries(shapes)) {
    it(`current equals a fresh run() after every update (${name})`, () => {
      fc.assert(
        fc.property(fc.array(updateArb, { maxLength: 30 }), fc.constantFrom(...TABLES), (updates, table) => {
          const source = new FakeSource();
          const fresh = (s: ViewSource): readonly Row[] => shape(createQuery(s, table)).run();
          const q = shape(createQuery(source, table));
          const delivered: (readonly Row[])[] = [];
          const off = q.subscribe((rows) => delivered.push(rows));
          let last = fresh(source);
          for (const u of updates) {
            source.set(apply(source.rows, u));
            const expected = fresh(source);
            expect(sameRows(q.current, expected)).toBe(true);
            expect(delivered.at(-1)).toBe(q.current);
            const changed = !sameRows(last, expected);
            expect(delivered.length).toBe(changed ? 2 : 1);
            delivered.splice(0, delivered.length - 1);
            last = expected;
          }
          off();
          expect(source.listeners.size).toBe(0);
        }),
        { numRuns: 200 },
      );
    });
  }
});
