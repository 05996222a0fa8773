/**
 * Model-based test (electric-sql's model-based.test.ts style): random
 * interleavings of local mutations, the server processing them in order
 * (confirming or rejecting), foreign writes, and the two channels the client
 * hears from (the ordered stream; the write answers, in order among
 * themselves) delivered in any interleaving. The model server is a plain map
 * written independently of apply-ops.
 *
 * Invariants: at every step the view equals base with the pending mutations
 * replayed; once everything is processed and delivered, nothing is pending and
 * the view equals the server's table. fast-check prints the seed and the
 * shrunk counterexample on failure.
 *
 * Run twice: with cursors (deleted keys may be re-inserted), and without them,
 * where the client falls back to row versions, which restart on re-insert, so
 * there the model's unique constraint also covers deleted keys.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { JsonValue, Row, WriteOp, WrittenRow } from '@syncline/protocol';
import { applyOps } from './apply-ops.ts';
import { isOpsBody, PendingMutations } from './pending-mutations.ts';
import { baseRowsEqual, baseRowsFrom, getRow, toWrittenRows, type BaseRows } from './table-rows.ts';

const TABLE = 'public.t';
const KEYS = ['k0', 'k1', 'k2', 'k3', 'k4', 'k5'];

type OpSpec =
  | { type: 'set'; k: number; col: 'a' | 'b'; value: number; expect: boolean }
  | { type: 'update'; k: number; a: number; b: number; expect: boolean }
  | { type: 'set-now'; k: number }
  | { type: 'delete'; k: number; expect: boolean }
  | { type: 'insert'; k: number; a: number };

type Action =
  | { t: 'local'; ops: OpSpec[] }
  | { t: 'process'; reject: boolean }
  | { t: 'foreign'; kind: 'set' | 'delete' | 'insert'; k: number; value: number }
  | { t: 'stream' }
  | { t: 'response' };

const key = fc.nat({ max: KEYS.length - 1 });
const small = fc.integer({ min: 0, max: 9 });
const opSpec: fc.Arbitrary<OpSpec> = fc.oneof(
  fc.record({
    type: fc.constant('set' as const),
    k: key,
    col: fc.constantFrom('a' as const, 'b' as const),
    value: small,
    expect: fc.boolean(),
  }),
  fc.record({ type: fc.constant('update' as const), k: key, a: small, b: small, expect: fc.boolean() }),
  fc.record({ type: fc.constant('set-now' as const), k: key }),
  fc.record({ type: fc.constant('delete' as const), k: key, expect: fc.boolean() }),
  fc.record({ type: fc.constant('insert' as const), k: key, a: small }),
);
const action: fc.Arbitrary<Action> = fc.oneof(
  {
    arbitrary: fc.record({ t: fc.constant('local' as const), ops: fc.array(opSpec, { minLength: 1, maxLength: 3 }) }),
    weight: 3,
  },
  {
    arbitrary: fc.record({ t: fc.constant('process' as const), reject: fc.nat({ max: 4 }).map((n) => n === 0) }),
    weight: 3,
  },
  {
    arbitrary: fc.record({
      t: fc.constant('foreign' as const),
      kind: fc.constantFrom('set' as const, 'delete' as const, 'insert' as const),
      k: key,
      value: small,
    }),
    weight: 2,
  },
  { arbitrary: fc.constant({ t: 'stream' as const }), weight: 3 },
  { arbitrary: fc.constant({ t: 'response' as const }), weight: 3 },
);

interface ServerRow {
  row: Row;
  version: number;
}
type StreamMessage = ({ rows: WrittenRow[] } | { ack: number }) & { cursor: string };
type Response =
  | { mutationId: number; status: 200; rows: WrittenRow[]; cursor: string }
  | { mutationId: number; status: number; current?: WrittenRow };

class ModelServer {
  rows = new Map<string, ServerRow>();
  everDeleted = new Set<string>();
  stream: StreamMessage[] = [];
  responses: Response[] = [];
  private clock = 0;
  private position = 0;

  /** allowReinsert: deleted keys may come back (versions restart at 1). */
  constructor(private readonly allowReinsert: boolean) {
    for (const k of KEYS.slice(0, 3)) this.rows.set(k, { row: { id: k, a: 0, b: 0, version: 1 }, version: 1 });
  }

  written(k: string): WrittenRow {
    const r = this.rows.get(k);
    return { table: TABLE, key: k, row: r ? r.row : null, version: r ? r.version : 0 };
  }

  /** One transaction: all ops or none. */
  mutate(mutationId: number, ops: readonly WriteOp[], forceReject: boolean): void {
    if (forceReject) {
      this.responses.push({ mutationId, status: 403 });
      return;
    }
    const next = new Map(this.rows);
    const deleted = new Set(this.everDeleted);
    const out: WrittenRow[] = [];
    for (const op of ops) {
      if (op.type === 'insert') {
        const k = String(op.row['id']);
        if (next.has(k) || (!this.allowReinsert && deleted.has(k)))
          return void this.responses.push({ mutationId, status: 409 });
        const row: Row = { id: k, a: (op.row['a'] as JsonValue) ?? 0, b: 0, version: 1 };
        next.set(k, { row, version: 1 });
        out.push({ table: TABLE, key: k, row, version: 1 });
        continue;
      }
      const k = String(op.id);
      const old = next.get(k);
      if (!old) return void this.responses.push({ mutationId, status: 404 });
      // Like the real server, `current` is read inside the transaction (after its earlier ops).
      if (op.expectedVersion !== undefined && op.expectedVersion !== old.version) {
        return void this.responses.push({
          mutationId,
          status: 409,
          current: { table: TABLE, key: k, row: old.row, version: old.version },
        });
      }
      if (op.type === 'delete') {
        next.delete(k);
        deleted.add(k);
        out.push({ table: TABLE, key: k, row: null, version: old.version });
        continue;
      }
      const changes: Row =
        op.type === 'set'
          ? { [op.key]: op.value as JsonValue }
          : op.type === 'set-now'
            ? { [op.key]: `srv${++this.clock}` }
            : (op.values as Row);
      const version = old.version + 1;
      const row: Row = { ...old.row, ...changes, version };
      next.set(k, { row, version });
      out.push({ table: TABLE, key: k, row, version });
    }
    this.rows = next;
    this.everDeleted = deleted;
    const cursor = this.nextCursor();
    this.stream.push({ ack: mutationId, cursor }); // the initiator's stream gets an ack in place of the rows
    this.responses.push({ mutationId, status: 200, rows: out, cursor });
  }

  foreign(kind: 'set' | 'delete' | 'insert', k: string, value: number): void {
    const old = this.rows.get(k);
    if (kind === 'insert') {
      if (old || (!this.allowReinsert && this.everDeleted.has(k))) return;
      const row: Row = { id: k, a: value, b: value, version: 1 };
      this.rows.set(k, { row, version: 1 });
    } else if (!old) {
      return;
    } else if (kind === 'delete') {
      this.rows.delete(k);
      this.everDeleted.add(k);
      this.stream.push({
        rows: [{ table: TABLE, key: k, row: null, version: old.version }],
        cursor: this.nextCursor(),
      });
      return;
    } else {
      const version = old.version + 1;
      this.rows.set(k, { row: { ...old.row, b: value, version }, version });
    }
    this.stream.push({ rows: [this.written(k)], cursor: this.nextCursor() });
  }

  private nextCursor(): string {
    return '0e2cfb40' + (++this.position * 1000).toString(16).padStart(16, '0');
  }

  table(): BaseRows {
    return baseRowsFrom([...this.rows].map(([k, r]) => ({ table: TABLE, key: k, row: r.row, version: r.version })));
  }
}

function toOps(specs: readonly OpSpec[], view: BaseRows): WriteOp[] {
  const version = (k: string) => getRow(view, TABLE, k)?.version;
  return specs.map((s): WriteOp => {
    const k = KEYS[s.k] as string;
    const ev = 'expect' in s && s.expect ? version(k) : undefined;
    const expectedVersion = ev === undefined ? {} : { expectedVersion: ev };
    switch (s.type) {
      case 'set':
        return { type: 'set', table: 't', id: k, key: s.col, value: s.value, ...expectedVersion };
      case 'update':
        return { type: 'update', table: 't', id: k, values: { a: s.a, b: s.b }, ...expectedVersion };
      case 'set-now':
        return { type: 'set-now', table: 't', id: k, key: 'b' };
      case 'delete':
        return { type: 'delete', table: 'public.t', id: k, ...expectedVersion };
      case 'insert':
        return { type: 'insert', table: 't', row: { id: k, a: s.a } };
    }
  });
}

/** The replay, written out independently of PendingMutations.view(). */
function replay(pending: PendingMutations): BaseRows {
  let view = pending.base;
  for (const m of pending.mutations) {
    if (!isOpsBody(m.body)) continue;
    const at = m.createdAt;
    view = applyOps(view, m.body.ops, { now: () => at });
  }
  return view;
}

/** cursors: the client is given stream and answer positions; without them it orders by row versions. */
function run(actions: readonly Action[], cursors: boolean): void {
  const server = new ModelServer(cursors);
  let t = 0;
  const pending = new PendingMutations({ base: server.table(), now: () => `local${++t}` });
  const sentOps = new Map<number, WriteOp[]>();
  let nextId = 1;
  let nextToProcess = 1;

  const check = () => {
    const view = pending.view();
    if (!baseRowsEqual(view, replay(pending))) throw new Error('view differs from base + pending replay');
  };
  const process = (reject: boolean) => {
    const ops = sentOps.get(nextToProcess);
    if (!ops) return false;
    server.mutate(nextToProcess++, ops, reject);
    return true;
  };
  const deliverStream = () => {
    const msg = server.stream.shift();
    if (!msg) return false;
    const cursor = cursors ? msg.cursor : undefined;
    if ('ack' in msg) pending.acknowledge([{ clientId: 'me', mutationId: msg.ack }], 'me', cursor);
    else pending.applyServerRows(msg.rows, cursor);
    return true;
  };
  const deliverResponse = () => {
    const res = server.responses.shift();
    if (!res) return false;
    if ('rows' in res) pending.confirm(res.mutationId, res.rows, cursors ? res.cursor : null);
    else if ('current' in res && res.current)
      pending.reject(res.mutationId, { status: res.status, code: 'CONFLICT', message: '' }, res.current);
    else pending.reject(res.mutationId, { status: res.status, code: 'CONFLICT', message: '' });
    return true;
  };

  for (const a of actions) {
    switch (a.t) {
      case 'local': {
        const ops = toOps(a.ops, pending.view());
        const id = nextId++;
        sentOps.set(id, ops);
        pending.add(id, { ops });
        break;
      }
      case 'process':
        process(a.reject);
        break;
      case 'foreign':
        server.foreign(a.kind, KEYS[a.k] as string, a.value);
        break;
      case 'stream':
        deliverStream();
        break;
      case 'response':
        deliverResponse();
        break;
    }
    check();
  }
  while (process(false)) check();
  while (deliverStream() || deliverResponse()) check();

  expect(pending.size).toBe(0);
  expect(toWrittenRows(pending.view()).sort((x, y) => x.key.localeCompare(y.key))).toEqual(
    toWrittenRows(server.table()).sort((x, y) => x.key.localeCompare(y.key)),
  );
}

describe('pending mutations, model-based', () => {
  it('converges on the server state under any interleaving (stream and answer cursors, keys re-inserted)', () => {
    fc.assert(
      fc.property(fc.array(action, { maxLength: 60 }), (actions) => run(actions, true)),
      { numRuns: 2000 },
    );
  });

  it('converges without cursors (replayed answers), ordering by row versions', () => {
    fc.assert(
      fc.property(fc.array(action, { maxLength: 60 }), (actions) => run(actions, false)),
      { numRuns: 2000 },
    );
  });

  it('drains stream before answers and answers before stream alike', () => {
    const actions: Action[] = [
      { t: 'local', ops: [{ type: 'set', k: 0, col: 'a', value: 5, expect: true }] },
      { t: 'foreign', kind: 'set', k: 0, value: 7 },
      { t: 'process', reject: false },
      { t: 'foreign', kind: 'delete', k: 0, value: 0 },
      { t: 'stream' },
      { t: 'stream' },
      { t: 'stream' },
    ];
    run(actions, true);
    run(actions, false);
  });
});
