/**
 * The floor: a bare pgoutput consumer on its own slot, built from the same
 * ReplicationStream and decoder Syncline uses, so the gap between it and an SSE
 * subscriber is what Syncline adds (assembly, routing, fan-out, HTTP), nothing else.
 *
 *   UPDATE … COMMIT ─► walsender (slot bench_floor) ─► ReplicationStream ─► decodePgoutput
 *                                                       'commit' of a tx that updated n ─► onCommit(n, now)
 */
import type pg from 'pg';
import { parseLsn } from '../../packages/server/src/capture/lsn.ts';
import { decodePgoutput } from '../../packages/server/src/capture/pgoutput-decoder.ts';
import { ReplicationStream } from '../../packages/server/src/capture/replication-stream.ts';

export interface FloorOptions {
  /** Connection string of the database the table lives in. */
  connectionString: string;
  /** Unqualified table name in `public`. */
  table: string;
  /** Column holding the sequence number (read from the new tuple of an update or insert). */
  column: string;
  slot: string;
  publication: string;
  /** Called with the sequence number and `performance.now()` when the commit message arrives. */
  onCommit(seq: number, at: number): void;
}

export class PgoutputFloor {
  private stream: ReplicationStream | null = null;
  private running: Promise<void> | null = null;
  private stopping = false;
  /** Why the stream ended early, if it did. */
  error: Error | null = null;

  constructor(private readonly options: FloorOptions) {}

  /** Creates the publication and slot (in `client`'s database), then starts streaming from the slot's start. */
  async start(client: pg.Client): Promise<void> {
    const { table, slot, publication } = this.options;
    await client.query(`CREATE PUBLICATION ${publication} FOR TABLE ${table}`);
    await client.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);
    const { rows } = await client.query<{ lsn: string }>(
      `SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1`,
      [slot],
    );
    const startLsn = parseLsn(rows[0]?.lsn ?? '0/0');

    const columnIndex = new Map<number, number>(); // relation oid → index of the sequence column
    let pending: number | null = null;
    let inTransaction = false;
    const stream: ReplicationStream = new ReplicationStream({
      connectionString: this.options.connectionString,
      slot,
      publication,
      startLsn,
      onData: (payload) => {
        const at = performance.now();
        const msg = decodePgoutput(payload);
        switch (msg.tag) {
          case 'begin':
            inTransaction = true;
            pending = null;
            break;
          case 'relation':
            if (msg.relation.name === table) {
              columnIndex.set(
                msg.relation.oid,
                msg.relation.columns.findIndex((c) => c.name === this.options.column),
              );
            }
            break;
          case 'insert':
          case 'update': {
            const i = columnIndex.get(msg.relationOid);
            const v = i === undefined ? undefined : msg.newTuple[i];
            if (typeof v === 'string') pending = Number(v);
            break;
          }
          case 'commit':
            inTransaction = false;
            if (pending !== null) this.options.onCommit(pending, at);
            pending = null;
            stream.confirm(msg.endLsn);
            break;
          default:
            break;
        }
      },
      onKeepalive: (walEnd) => {
        if (!inTransaction) stream.confirm(walEnd);
      },
    });
    this.stream = stream;
    this.running = stream.run().then(
      () => {
        if (!this.stopping) this.error = new Error('floor replication stream ended early');
      },
      (err: unknown) => {
        if (!this.stopping) this.error = err instanceof Error ? err : new Error(String(err));
      },
    );
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.stream?.stop();
    await this.running;
    this.stream = null;
  }
}
