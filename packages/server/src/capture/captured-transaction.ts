/** A whole committed transaction as capture hands it to the bus. */
import type { Row } from '@syncline/protocol';
import type { Lsn } from './lsn.ts';

export interface RowChange {
  /** "schema.table" */
  table: string;
  op: 'insert' | 'update' | 'delete';
  /** new row; null for delete */
  row: Row | null;
  /** previous row (REPLICA IDENTITY FULL); null for insert */
  old: Row | null;
}

export interface OriginTag {
  prefix: string;
  content: string;
}

export interface CapturedTransaction {
  xid: number;
  /** End LSN of the commit record: unique per transaction, increasing in commit order. */
  lsn: Lsn;
  /** Commit time, ms since epoch (Postgres clock). */
  commitTime: number;
  changes: RowChange[];
  /** Tables emptied by TRUNCATE in this transaction. */
  truncated: string[];
  /** Transactional logical messages (`pg_logical_emit_message(true, …)`), e.g. the write API's origin tag. */
  origins: OriginTag[];
  /**
   * Set when the transaction was larger than the configured bound: `changes` is
   * then empty and these tables' collections must resync instead.
   */
  oversizedTables: string[] | null;
  /** Tables whose shape (Relation message) changed since the last time we saw them. */
  schemaChanged: string[];
}
