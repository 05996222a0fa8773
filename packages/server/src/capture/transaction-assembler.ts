/**
 * Turns the pgoutput message stream into whole transactions.
 *
 *   begin ─► relation/insert/update/delete/truncate/message … ─► commit ─► CapturedTransaction
 *
 * Rows are decoded once here (see pg-values.ts). A transaction whose change count
 * or size passes the bound stops keeping rows and only remembers which tables it
 * touched, so one huge transaction cannot hold memory per subscriber.
 */
import type { Row } from '@syncline/protocol';
import type { CapturedTransaction, OriginTag, RowChange } from './captured-transaction.ts';
import type { PgoutputMessage, Relation, TupleValue } from './pgoutput-messages.ts';
import { UNCHANGED_TOAST } from './pgoutput-messages.ts';
import { decodeValue } from './pg-values.ts';

export interface AssemblerLimits {
  /** Most row changes kept for one transaction. */
  maxChanges: number;
  /** Most bytes of row text kept for one transaction. */
  maxBytes: number;
}

const PG_EPOCH_MS = 946_684_800_000;

interface Open {
  xid: number;
  changes: RowChange[];
  truncated: Set<string>;
  origins: OriginTag[];
  touched: Set<string>;
  schemaChanged: Set<string>;
  bytes: number;
  oversized: boolean;
}

export class TransactionAssembler {
  private readonly relations = new Map<number, Relation>();
  private open: Open | null = null;

  constructor(
    private readonly limits: AssemblerLimits,
    private readonly onTransaction: (tx: CapturedTransaction) => void,
  ) {}

  get inTransaction(): boolean {
    return this.open !== null;
  }

  /** Forget an unfinished transaction (the connection dropped; Postgres will resend it). */
  reset(): void {
    this.open = null;
  }

  push(msg: PgoutputMessage): void {
    switch (msg.tag) {
      case 'begin':
        this.open = {
          xid: msg.xid,
          changes: [],
          truncated: new Set(),
          origins: [],
          touched: new Set(),
          schemaChanged: new Set(),
          bytes: 0,
          oversized: false,
        };
        return;
      case 'relation':
        this.onRelation(msg.relation);
        return;
      case 'insert':
        this.addChange(msg.relationOid, 'insert', null, msg.newTuple);
        return;
      case 'update':
        this.addChange(msg.relationOid, 'update', msg.oldTuple, msg.newTuple);
        return;
      case 'delete':
        this.addChange(msg.relationOid, 'delete', msg.oldTuple, null);
        return;
      case 'truncate':
        for (const oid of msg.relationOids) this.current().truncated.add(this.relation(oid).qualified);
        return;
      case 'message':
        if (msg.transactional && this.open)
          this.open.origins.push({ prefix: msg.prefix, content: msg.content.toString('utf8') });
        return;
      case 'commit':
        this.commit(msg.endLsn, msg.commitTime);
        return;
      case 'origin':
      case 'type':
        return;
    }
  }

  private current(): Open {
    if (!this.open) throw new Error('pgoutput: change outside a transaction');
    return this.open;
  }

  private relation(oid: number): Relation {
    const rel = this.relations.get(oid);
    if (!rel) throw new Error(`pgoutput: change for unknown relation ${oid}`);
    return rel;
  }

  private onRelation(rel: Relation): void {
    const before = this.relations.get(rel.oid);
    this.relations.set(rel.oid, rel);
    // Postgres resends Relation on every new connection; only a different shape is a schema change.
    if (before && !sameShape(before, rel) && this.open) this.open.schemaChanged.add(rel.qualified);
  }

  private addChange(
    oid: number,
    op: RowChange['op'],
    oldTuple: TupleValue[] | null,
    newTuple: TupleValue[] | null,
  ): void {
    const tx = this.current();
    const rel = this.relation(oid);
    tx.touched.add(rel.qualified);
    if (tx.oversized) return;
    const old = oldTuple ? toRow(rel, oldTuple, null) : null;
    const row = newTuple ? toRow(rel, newTuple, old) : null;
    tx.bytes += tupleBytes(oldTuple) + tupleBytes(newTuple);
    tx.changes.push({ table: rel.qualified, op, row, old });
    if (tx.changes.length > this.limits.maxChanges || tx.bytes > this.limits.maxBytes) {
      tx.oversized = true;
      tx.changes = [];
    }
  }

  private commit(endLsn: bigint, commitTime: bigint): void {
    const tx = this.current();
    this.open = null;
    this.onTransaction({
      xid: tx.xid,
      lsn: endLsn,
      commitTime: Number(commitTime / 1000n) + PG_EPOCH_MS,
      changes: tx.changes,
      truncated: [...tx.truncated],
      origins: tx.origins,
      oversizedTables: tx.oversized ? [...tx.touched] : null,
      schemaChanged: [...tx.schemaChanged],
    });
  }
}

function toRow(rel: Relation, tuple: TupleValue[], fillFrom: Row | null): Row {
  const row: Row = {};
  rel.columns.forEach((col, i) => {
    const v = tuple[i];
    if (v === UNCHANGED_TOAST) {
      // Unchanged TOAST: the value is only in the old tuple (REPLICA IDENTITY FULL sends it detoasted).
      row[col.name] = fillFrom?.[col.name] ?? null;
    } else if (v === null || v === undefined) {
      row[col.name] = null;
    } else {
      row[col.name] = decodeValue(col.typeOid, v);
    }
  });
  return row;
}

function tupleBytes(tuple: TupleValue[] | null): number {
  if (!tuple) return 0;
  let n = 0;
  for (const v of tuple) if (typeof v === 'string') n += v.length + 8;
  return n;
}

function sameShape(a: Relation, b: Relation): boolean {
  if (a.qualified !== b.qualified || a.columns.length !== b.columns.length) return false;
  return a.columns.every((c, i) => c.name === b.columns[i]?.name && c.typeOid === b.columns[i]?.typeOid);
}
