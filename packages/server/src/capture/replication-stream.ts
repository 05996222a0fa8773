/**
 * One logical replication connection: START_REPLICATION on a pgoutput slot,
 * XLogData in, standby status updates out.
 *
 *   pg (replication=database) ──CopyBoth──► 'w' XLogData ──► onData(payload)
 *                                        └─► 'k' keepalive ──► onKeepalive(walEnd) (+ reply when asked)
 *   confirm(lsn) ──► 'r' status update (written = flushed = applied = lsn)
 *
 * The stream only moves bytes; what may be confirmed is decided by the caller.
 */
import pg from 'pg';
import type { Lsn } from './lsn.ts';
import { formatLsn } from './lsn.ts';
import { SESSION_OPTIONS } from './pg-values.ts';

export interface ReplicationStreamOptions {
  connectionString: string;
  slot: string;
  publication: string;
  startLsn: Lsn;
  onData(payload: Buffer, walStart: Lsn): void;
  onKeepalive(walEnd: Lsn, replyRequested: boolean): void;
  /** How often to report our position even when Postgres does not ask (must beat wal_sender_timeout). */
  statusIntervalMs?: number;
}

const PG_EPOCH_US = 946_684_800_000_000n;

export class ReplicationStream {
  private client: pg.Client | null = null;
  private confirmed: Lsn = 0n;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private onStop: () => void = () => {};
  private readonly stopSignal = new Promise<void>((r) => (this.onStop = r));

  constructor(private readonly options: ReplicationStreamOptions) {
    assertIdentifier(options.slot);
    assertIdentifier(options.publication);
    this.confirmed = options.startLsn;
  }

  /** Resolves when the stream ends; rejects with the error that ended it. */
  async run(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.options.connectionString,
      // node-postgres passes this through as the startup parameter `replication=database`.
      ...({ replication: 'database' } as object),
      options: SESSION_OPTIONS,
    });
    this.client = client;
    const ended = new Promise<void>((resolve, reject) => {
      client.on('error', reject);
      client.on('end', () => resolve());
    });
    ended.catch(() => {}); // observed below; avoid an unhandled rejection while connecting
    // A stop() during connect must not leave us waiting on a socket it destroyed.
    const connected = client.connect();
    connected.catch(() => {});
    await Promise.race([connected, this.stopSignal]);
    if (this.stopped) return;
    client.connection.on('copyData', (msg: { chunk: Buffer }) => this.onCopyData(msg.chunk));
    const sql =
      `START_REPLICATION SLOT ${this.options.slot} LOGICAL ${formatLsn(this.options.startLsn)} ` +
      `(proto_version '1', publication_names '${this.options.publication}', messages 'true')`;
    this.timer = setInterval(() => this.sendStatus(false), this.options.statusIntervalMs ?? 10_000);
    try {
      const started = client.query(sql);
      started.catch(() => {});
      await Promise.race([started, ended, this.stopSignal]);
      await Promise.race([ended, this.stopSignal]);
    } finally {
      this.clearTimer();
      this.client = null;
      client.end().catch(() => {});
    }
  }

  /** Report everything up to `lsn` as durably handled; Postgres may then recycle that WAL. */
  confirm(lsn: Lsn): void {
    if (lsn <= this.confirmed) return;
    this.confirmed = lsn;
    this.sendStatus(false);
  }

  get confirmedLsn(): Lsn {
    return this.confirmed;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.onStop();
    this.clearTimer();
    const c = this.client;
    this.client = null;
    if (!c) return;
    // end() on a client still authenticating may never resolve: give it a moment, then cut the socket.
    await Promise.race([c.end().catch(() => {}), new Promise((r) => setTimeout(r, 1_000).unref())]);
    (c as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
  }

  private clearTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private onCopyData(chunk: Buffer): void {
    const kind = chunk[0];
    if (kind === 0x77 /* w */) {
      const walStart = chunk.readBigUInt64BE(1);
      this.options.onData(chunk.subarray(25), walStart);
    } else if (kind === 0x6b /* k */) {
      const walEnd = chunk.readBigUInt64BE(1);
      const replyRequested = chunk[17] === 1;
      this.options.onKeepalive(walEnd, replyRequested);
      if (replyRequested) this.sendStatus(false);
    }
  }

  private sendStatus(replyRequested: boolean): void {
    const c = this.client;
    if (!c) return;
    const buf = Buffer.alloc(34);
    buf.write('r', 0);
    buf.writeBigUInt64BE(this.confirmed, 1);
    buf.writeBigUInt64BE(this.confirmed, 9);
    buf.writeBigUInt64BE(this.confirmed, 17);
    buf.writeBigInt64BE(BigInt(Date.now()) * 1000n - PG_EPOCH_US, 25);
    buf.writeUInt8(replyRequested ? 1 : 0, 33);
    try {
      (c.connection as unknown as { sendCopyFromChunk(b: Buffer): void }).sendCopyFromChunk(buf);
    } catch {
      // The socket is closing; the next connection reports the position again.
    }
  }
}

/** Slot and publication names go into replication commands, which take no parameters. */
export function assertIdentifier(name: string): void {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) {
    throw new Error(`invalid name ${JSON.stringify(name)}: use lowercase letters, digits and _ (max 63)`);
  }
}
