/**
 * Capture: the durable slot's stream, assembled into whole transactions and
 * handed to the bus in commit order.
 *
 *   prepareSlot ─► ReplicationStream ─► decodePgoutput ─► TransactionAssembler
 *                        ▲                                        │ tx
 *                        └──── confirm(tx.lsn) ◄── bus.publish ◄──┘ (skipped if tx.lsn ≤ last: a resend)
 *
 * The slot's position is confirmed only after the bus has the transaction, so
 * a crash makes Postgres resend rather than lose. Transactions with nothing for
 * Syncline (other tables, other applications' logical messages) are not
 * published; the slot moves past them like past keepalives, and only after the
 * range "nothing for Syncline since the last delivered transaction" is on
 * record, so a restart can still resume cursors at that transaction. When Postgres goes away the
 * loop reconnects with backoff; when the slot is gone it is recreated under a
 * new epoch (see slot-manager.ts).
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Bus } from '../bus/bus.ts';
import type { CapturedTransaction } from './captured-transaction.ts';
import type { Lsn } from './lsn.ts';
import { DelayedConfirm } from './delayed-confirm.ts';
import { decodePgoutput } from './pgoutput-decoder.ts';
import { prepareSlot, saveEpoch, saveResumeRange } from './slot-manager.ts';
import { ReplicationStream } from './replication-stream.ts';
import type { AssemblerLimits } from './transaction-assembler.ts';
import { TransactionAssembler } from './transaction-assembler.ts';

export interface CaptureOptions {
  connectionString: string;
  /** Pool for catalog queries (slot state). */
  pool: pg.Pool;
  slot: string;
  publication: string;
  bus: Bus;
  limits: AssemblerLimits;
  logger: Logger;
  /**
   * Confirm the slot only this long after a transaction was handed over (0: at once). For a bus
   * whose log dies with the process (one node): Postgres then resends the last moments to the
   * next process, so cursors of clients that had not read them yet still resume.
   */
  confirmDelayMs?: number;
  /** Reconnect backoff bounds. */
  retryMinMs?: number;
  retryMaxMs?: number;
}

export interface CaptureStatus {
  connected: boolean;
  epoch: string | null;
  lastCommitLsn: Lsn;
  confirmedLsn: Lsn;
  lastError: string | null;
}

export class CaptureService {
  private stream: ReplicationStream | null = null;
  /** The current stream's confirmations (held back by confirmDelayMs). */
  private confirms: DelayedConfirm | null = null;
  private stopped = false;
  private loop: Promise<void> | null = null;
  private epoch: string | null = null;
  private lastLsn: Lsn = 0n;
  private publishing: Promise<void> = Promise.resolve();
  private pending = 0;
  private connected = false;
  private lastError: string | null = null;
  private readonly assembler: TransactionAssembler;
  /** The last transaction handed to the bus (or the resume floor): nothing for Syncline after it, up to what we confirm. */
  private delivered: Lsn = 0n;
  private recording = false;
  /** A publish was refused in this stream session: nothing more is published or confirmed until the next. */
  private broken = false;
  private session = 0;
  /** The oldest transaction the bus refused and that was not handed over since. */
  private mustDeliver: Lsn | null = null;
  private recordFailed = false;
  private lastRecordAt = 0;
  /** Transactions that had nothing for Syncline (not published). */
  skipped = 0;

  constructor(private readonly options: CaptureOptions) {
    this.assembler = new TransactionAssembler(options.limits, (tx) => this.onTransaction(tx));
  }

  /** Resolves once the slot is ready and the stream has been started for the first time. */
  async start(): Promise<void> {
    await this.openSlot();
    this.loop = this.runLoop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.stream?.stop();
    await this.loop;
    await this.publishing;
  }

  /**
   * The shared log lost what it held (Redis restarted empty): the same slot goes on under a new
   * epoch, so every cursor given out before is void and clients resync instead of resuming across
   * the gap. Runs between transactions, in the publishing order.
   */
  renewEpoch(): Promise<void> {
    this.publishing = this.publishing
      .then(async () => {
        const epoch = await saveEpoch(this.options.pool, this.options.slot);
        this.epoch = epoch;
        this.delivered = this.lastLsn;
        this.options.logger.warn({ slot: this.options.slot, epoch }, 'the shared log lost data; clients will resync');
        await this.options.bus.announceEpoch({ epoch, floor: this.lastLsn, reason: 'log-lost' });
      })
      .catch((err: unknown) => {
        // The next check finds the log still without our epoch and tries again.
        this.options.logger.error({ err }, 'could not start a new epoch');
      });
    return this.publishing;
  }

  status(): CaptureStatus {
    return {
      connected: this.connected,
      epoch: this.epoch,
      lastCommitLsn: this.lastLsn,
      confirmedLsn: this.stream?.confirmedLsn ?? this.lastLsn,
      lastError: this.lastError,
    };
  }

  private async openSlot(): Promise<void> {
    const slot = await prepareSlot(this.options.pool, this.options.slot);
    if (slot.epoch !== this.epoch) {
      const reason = this.epoch === null ? 'start' : 'slot-recreated';
      if (reason === 'slot-recreated')
        this.options.logger.warn(
          { slot: this.options.slot },
          'replication slot was lost and recreated; clients will resync',
        );
      this.epoch = slot.epoch;
      this.lastLsn = slot.confirmedLsn;
      this.delivered = slot.floorLsn;
      await this.options.bus.announceEpoch({ epoch: slot.epoch, floor: slot.floorLsn, reason });
    }
    if (slot.confirmedLsn > this.lastLsn) this.lastLsn = slot.confirmedLsn;
  }

  private async runLoop(): Promise<void> {
    const min = this.options.retryMinMs ?? 200;
    const max = this.options.retryMaxMs ?? 5_000;
    let delay = min;
    let first = true;
    while (!this.stopped) {
      try {
        if (!first) await this.openSlot();
        first = false;
        await this.runStream(() => {
          delay = min;
        });
      } catch (err) {
        this.lastError = err instanceof Error ? err.message : String(err);
        if (!this.stopped) this.options.logger.warn({ err: this.lastError }, 'replication stream ended; reconnecting');
      } finally {
        this.connected = false;
        this.assembler.reset();
      }
      if (this.stopped) break;
      await sleep(delay * (0.5 + Math.random() / 2));
      delay = Math.min(max, delay * 2);
    }
  }

  private async runStream(onFirstData: () => void): Promise<void> {
    if (this.stopped) return;
    // Whatever the previous session had queued is dropped (see onTransaction), and it is resent.
    await this.publishing;
    this.session++;
    this.broken = false;
    let seen = false;
    const stream = new ReplicationStream({
      connectionString: this.options.connectionString,
      slot: this.options.slot,
      publication: this.options.publication,
      startLsn: this.lastLsn,
      onData: (payload) => {
        // A stream being stopped may still deliver a little: only the current session counts.
        if (this.stream !== stream || this.broken) return;
        if (!seen) {
          seen = true;
          onFirstData();
        }
        this.assembler.push(decodePgoutput(payload));
      },
      onKeepalive: (walEnd, replyRequested) => {
        this.connected = true;
        if (!seen) {
          seen = true;
          onFirstData();
        }
        if (this.stream === stream) this.confirmQuiet(stream, walEnd, replyRequested);
      },
    });
    this.stream = stream;
    this.confirms = new DelayedConfirm(stream, this.options.confirmDelayMs ?? 0);
    this.connected = true;
    this.lastError = null;
    try {
      await stream.run();
    } finally {
      this.confirms.stop();
      this.confirms = null;
      this.stream = null;
    }
  }

  /**
   * Moves the slot past WAL with nothing for Syncline (a keepalive, a skipped transaction): only with
   * nothing open or in flight, at most once a second, and after recording that the range since the
   * last delivered transaction holds nothing for Syncline.
   */
  private confirmQuiet(stream: ReplicationStream, wanted: Lsn, urgent = false): void {
    // Postgres skips a transaction whose commit record starts before the confirmed position, so
    // with a refused one still to come, nothing past the last handed-over transaction is confirmed.
    const position = this.mustDeliver !== null && wanted >= this.mustDeliver ? this.delivered : wanted;
    if (this.broken || this.assembler.inTransaction || this.pending > 0 || position <= stream.confirmedLsn) return;
    if (urgent && (this.recording || this.recordFailed) && this.stream === stream) {
      // Postgres is waiting for us (a shutdown waits for walsenders to be confirmed up to the end)
      // and the record cannot be written: confirm without it. A restart then resumes cursors from
      // this position only (the record no longer covers it), never across a gap.
      this.confirms?.now(position);
      return;
    }
    if (this.recording || Date.now() - this.lastRecordAt < 1_000) return;
    this.recording = true;
    this.lastRecordAt = Date.now();
    const session = this.session;
    saveResumeRange(this.options.pool, this.options.slot, this.delivered, position).then(
      () => {
        this.recording = false;
        this.recordFailed = false;
        // Still true after the write? (A publish may have been refused meanwhile.)
        if (this.stream === stream && this.session === session && !this.broken && this.pending === 0) {
          // A lower position than one confirmed since is ignored. Postgres waiting (urgent): at once.
          if (urgent) this.confirms?.now(position);
          else this.confirms?.confirm(position);
        }
      },
      (err: unknown) => {
        this.recording = false;
        this.recordFailed = true;
        this.options.logger.warn({ err }, 'could not record the resume range; the slot waits');
      },
    );
  }

  /** Nothing here for Syncline: no rows, no resets, no message of ours. */
  private static isEmpty(tx: CapturedTransaction): boolean {
    return (
      tx.changes.length === 0 &&
      tx.truncated.length === 0 &&
      tx.schemaChanged.length === 0 &&
      tx.oversizedTables === null &&
      !tx.origins.some((o) => o.prefix === 'syncline' || o.prefix.startsWith('syncline.'))
    );
  }

  private onTransaction(tx: CapturedTransaction): void {
    // Postgres resends from the confirmed position after a reconnect; those we already have.
    if (tx.lsn <= this.lastLsn || this.broken) return;
    this.lastLsn = tx.lsn;
    if (CaptureService.isEmpty(tx)) {
      // Other applications' transactions cost their decoding and nothing else: not in the log.
      this.skipped++;
      if (this.stream) this.confirmQuiet(this.stream, tx.lsn);
      return;
    }
    this.pending++;
    const stream = this.stream;
    const session = this.session;
    this.publishing = this.publishing.then(async () => {
      // After a refusal nothing later of that stream session may go out, or be confirmed: a later
      // transaction confirmed would move the slot past the refused one. Postgres resends them all.
      if (session !== this.session || this.broken) {
        this.pending--;
        return;
      }
      try {
        await this.options.bus.publish(tx);
      } catch (err) {
        this.pending--;
        this.broken = true;
        // The next session starts here: at the last transaction handed over, never inside the
        // refused one (Postgres would skip a transaction whose commit starts before the start point).
        this.lastLsn = this.delivered;
        // A keepalive of the next session may already point past this transaction, before Postgres
        // has resent it: no quiet confirm may pass it until it is handed over.
        if (this.mustDeliver === null || tx.lsn < this.mustDeliver) this.mustDeliver = tx.lsn;
        this.options.logger.error({ err }, 'bus refused a transaction; restarting the stream');
        void stream?.stop();
        return;
      }
      this.pending--;
      if (tx.lsn > this.delivered) this.delivered = tx.lsn;
      if (this.mustDeliver !== null && tx.lsn >= this.mustDeliver) this.mustDeliver = null;
      if (this.stream === stream) this.confirms?.confirm(tx.lsn);
    });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
