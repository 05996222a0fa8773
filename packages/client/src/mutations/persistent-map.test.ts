import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { changedKeys, PersistentMap, Transient } from './persistent-map.ts';

type Op = { t: 'set'; k: string; v: number } | { t: 'del'; k: string };

const key = fc.oneof(fc.string({ maxLength: 3 }), fc.integer({ min: 0, max: 300 }).map(String));
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ t: fc.constant('set' as const), k: key, v: fc.integer() }),
  fc.record({ t: fc.constant('del' as const), k: key }),
);

function diffOf<V>(a: PersistentMap<V>, b: PersistentMap<V>): string[] {
  const out: string[] = [];
  changedKeys(a, b, (k) => out.push(k));
  return out.sort();
}

describe('PersistentMap', () => {
  it('behaves like a Map under any sequence of sets and deletes, and never changes an older value', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const model = new Map<string, number>();
        let map = PersistentMap.empty<number>();
        const history: Array<[PersistentMap<number>, Map<string, number>]> = [];
        for (const o of ops) {
          history.push([map, new Map(model)]);
          if (o.t === 'set') {
            model.set(o.k, o.v);
            map = map.set(o.k, o.v);
          } else {
            model.delete(o.k);
            map = map.delete(o.k);
          }
          expect(map.size).toBe(model.size);
        }
        expect(new Map(map)).toEqual(model);
        for (const [k, v] of model) expect(map.get(k)).toBe(v);
        for (const [old, snapshot] of history) expect(new Map(old)).toEqual(snapshot);
      }),
    );
  });

  it('changedKeys names exactly the keys whose value differs', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 100 }), fc.array(op, { maxLength: 30 }), (setup, edits) => {
        const base = setup.reduce(
          (m, o) => (o.t === 'set' ? m.set(o.k, o.v) : m.delete(o.k)),
          PersistentMap.empty<number>(),
        );
        const t = new Transient(base);
        for (const o of edits)
          if (o.t === 'set') t.set(o.k, o.v);
          else t.delete(o.k);
        const next = t.done();
        const expected = [...new Set([...base.keys(), ...next.keys()])]
          .filter((k) => base.has(k) !== next.has(k) || base.get(k) !== next.get(k))
          .sort();
        expect(diffOf(base, next)).toEqual(expected);
        expect(diffOf(next, base)).toEqual(expected);
      }),
    );
  });

  it('a transient builds in place but never mutates a value it was given or has returned', () => {
    const a = PersistentMap.from(Array.from({ length: 1000 }, (_, i) => [`k${i}`, i] as const));
    const t = new Transient(a);
    t.set('k1', -1);
    t.delete('k2');
    const b = t.done();
    t.set('k3', -3);
    const c = t.done();
    expect([a.get('k1'), a.get('k2'), a.get('k3')]).toEqual([1, 2, 3]);
    expect([b.get('k1'), b.has('k2'), b.get('k3')]).toEqual([-1, false, 3]);
    expect(c.get('k3')).toBe(-3);
    expect(diffOf(a, b)).toEqual(['k1', 'k2']);
  });

  it('names only the changed key of a large map', () => {
    const big = PersistentMap.from(Array.from({ length: 100_000 }, (_, i) => [String(i), i] as const));
    const next = big.set('500', -1);
    let visited = 0;
    changedKeys(big, next, () => visited++);
    expect(visited).toBe(1);
  });
});
