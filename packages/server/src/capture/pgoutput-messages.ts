/** Decoded pgoutput (protocol version 1) messages. */
import type { Lsn } from './lsn.ts';

export interface RelationColumn {
  name: string;
  typeOid: number;
  typeMod: number;
  /** part of the replica identity (with REPLICA IDENTITY FULL, every column) */
  isKey: boolean;
}

export interface Relation {
  oid: number;
  schema: string;
  name: string;
  /** "schema.name", the key every other part uses for a table */
  qualified: string;
  replicaIdentity: 'default' | 'nothing' | 'full' | 'index';
  columns: RelationColumn[];
}

/** A tuple column as sent: a text value, SQL NULL, or an unchanged TOASTed value we must fill in. */
export type TupleValue = string | null | typeof UNCHANGED_TOAST;
export const UNCHANGED_TOAST: unique symbol = Symbol('unchanged-toast');

export type PgoutputMessage =
  | { tag: 'begin'; finalLsn: Lsn; commitTime: bigint; xid: number }
  | { tag: 'commit'; commitLsn: Lsn; endLsn: Lsn; commitTime: bigint }
  | { tag: 'origin'; originLsn: Lsn; name: string }
  | { tag: 'relation'; relation: Relation }
  | { tag: 'type'; oid: number; schema: string; name: string }
  | { tag: 'insert'; relationOid: number; newTuple: TupleValue[] }
  | { tag: 'update'; relationOid: number; oldTuple: TupleValue[] | null; newTuple: TupleValue[] }
  | { tag: 'delete'; relationOid: number; oldTuple: TupleValue[] }
  | { tag: 'truncate'; relationOids: number[]; cascade: boolean; restartIdentity: boolean }
  | { tag: 'message'; transactional: boolean; lsn: Lsn; prefix: string; content: Buffer };
