/**
 * Capture: the durable slot's stream, assembled into whole transactions and
 * handed to the bus in commit order.
 *
 *   prepareSlot ─► ReplicationStream ─► decodePgoutput ─► TransactionAssembler
 *                        ▲                                        │ tx
 *                        └──── confirm(tx.lsn) ◄── bus.publish ◄──┘ (skipped if tx.lsn ≤ last: a resend)
 *
 * The slot's position is confirmed only after the bus has the transaction, so
 * a crash makes Postgres resend rather than lose. When Postgres goes away the
 * loop reconnects with backoff; when the slot is gone it is recreated under a
 * new epoch (see slot-manager.ts).
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Bus } from '../bus/bus.ts';
import type { CapturedTransaction } from './captured-transaction.ts';
import type { Lsn } from './lsn.ts';
import { decodePgoutput } from './pgoutput-decoder.ts';
import { prepareSlot } from './slot-manager.ts';
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
  private stopped = false;
  private loop: Promise<void> | null = null;
  private epoch: string | null = null;
  private lastLsn: Lsn = 0n;
  private publishing: Promise<void> = Promise.resolve();
  private pending = 0;
  private connected = false;
  private lastError: string | null = null;
  private readonly assembler: TransactionAssembler;

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
      await this.options.bus.announceEpoch({ epoch: slot.epoch, floor: slot.confirmedLsn, reason });
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
    let seen = false;
    const stream = new ReplicationStream({
      connectionString: this.options.connectionString,
      slot: this.options.slot,
      publication: this.options.publication,
      startLsn: this.lastLsn,
      onData: (payload) => {
        if (!seen) {
          seen = true;
          onFirstData();
        }
        this.assembler.push(decodePgoutput(payload));
      },
      onKeepalive: (walEnd) => {
        this.connected = true;
        if (!seen) {
          seen = true;
          onFirstData();
        }
        // Nothing open and nothing in flight: everything before walEnd is either handed over or not ours.
        if (!this.assembler.inTransaction && this.pending === 0) stream.confirm(walEnd);
      },
    });
    this.stream = stream;
    this.connected = true;
    this.lastError = null;
    try {
      await stream.run();
    } finally {
      this.stream = null;
    }
  }

  private onTransaction(tx: CapturedTransaction): void {
    // Postgres resends from the confirmed position after a reconnect; those we already have.
    if (tx.lsn <= this.lastLsn) return;
    this.lastLsn = tx.lsn;
    this.pending++;
    const stream = this.stream;
    this.publishing = this.publishing
      .then(() => this.options.bus.publish(tx))
      .then(
        () => {
          this.pending--;
          stream?.confirm(tx.lsn);
        },
        (err: unknown) => {
          this.pending--;
          // Not confirmed: Postgres will resend it after we reconnect.
          this.options.logger.error({ err }, 'bus refused a transaction; restarting the stream');
          this.lastLsn = tx.lsn - 1n;
          void stream?.stop();
        },
      );
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
