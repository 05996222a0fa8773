/**
 * The bus across nodes: one Redis Stream per deployment, written by the node
 * that owns capture and read by every node (the owner too) into its router.
 *
 *   capture ─► publish ─► XADD {syncline:<slot>}:log <commit LSN>-0, trimmed to count and bytes ─► resolves ─► slot confirmed
 *   every node: XREAD BLOCK from its last id ─► decode ─► router.onTransaction / onEpoch
 *
 * Entry ids are the commit LSN, so a transaction resent after a failover is
 * refused by Redis itself ("equal or smaller"), and is already there. The
 * epoch lives beside the stream; a new epoch (a recreated slot) replaces the
 * stream, so no cursor resumes across the gap. Keys share one hash tag, so one
 * Redis Cluster shard holds them all.
 */
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { CapturedTransaction } from '../capture/captured-transaction.ts';
import { boundedAppend } from './bounded-append.ts';
import type { Bus, BusConsumer, StreamEpoch } from './bus.ts';

export interface RedisBusOptions {
  url: string;
  /** Names the keys: `{syncline:<slot>}:log` and `{syncline:<slot>}:epoch`. */
  slot: string;
  /** Entries the stream keeps; older cursors resync. Default 10,000. */
  maxEntries?: number;
  /** Bytes of encoded transactions the stream keeps (the newest is always kept). Default 64 MiB. */
  maxBytes?: number;
  logger: Logger;
}

interface EpochRecord {
  epoch: string;
  floor: string;
}

export class RedisBus implements Bus {
  private readonly writer: Redis;
  private readonly reader: Redis;
  private readonly logKey: string;
  private readonly epochKey: string;
  /** The byte total of the log's entries, kept by the append script. */
  private readonly bytesKey: string;
  private readonly append: (id: string, data: string) => Promise<number>;
  private readonly consumers = new Set<BusConsumer>();
  private running = false;
  private lastId = '0-0';
  private epoch: string | null = null;
  /** Whether the reader has caught up with the stream at least once (readiness). */
  caughtUp = false;
  redisErrors = 0;
  /** Called (by the owner's bus) when Redis no longer holds our epoch: it lost its data. */
  onLost: (() => void) | null = null;
  private announced: string | null = null;
  private renewing = false;
  private watch: NodeJS.Timeout | null = null;

  constructor(private readonly options: RedisBusOptions) {
    const tag = `{syncline:${options.slot}}`;
    this.logKey = `${tag}:log`;
    this.epochKey = `${tag}:epoch`;
    this.bytesKey = `${tag}:log-bytes`;
    const onError = (err: Error) => {
      this.redisErrors++;
      options.logger.warn({ err: err.message }, 'redis connection error');
    };
    this.writer = new Redis(options.url, { maxRetriesPerRequest: 2, enableOfflineQueue: false });
    this.reader = new Redis(options.url, { maxRetriesPerRequest: null });
    this.append = boundedAppend(
      this.writer,
      { log: this.logKey, bytes: this.bytesKey },
      { maxEntries: options.maxEntries ?? 10_000, maxBytes: options.maxBytes ?? 64 * 1024 * 1024 },
    );
    this.writer.on('error', onError);
    this.reader.on('error', onError);
  }

  /** WAL bytes between the newest entry of the shared log and the last one this node read (0 when caught up). */
  async behindBytes(): Promise<number> {
    const last = (await this.writer.xrevrange(this.logKey, '+', '-', 'COUNT', 1))[0];
    if (!last) return 0;
    const newest = BigInt(last[0].split('-')[0] as string);
    const read = BigInt(this.lastId.split('-')[0] as string);
    return newest > read ? Number(newest - read) : 0;
  }

  get connected(): boolean {
    return this.writer.status === 'ready' && this.reader.status === 'ready';
  }

  async publish(tx: CapturedTransaction): Promise<void> {
    const data = JSON.stringify(tx, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    try {
      await this.append(`${tx.lsn}-0`, data);
    } catch (e) {
      // Already in the stream (a resend after failover or reconnect): handed over before.
      if (e instanceof Error && /equal or smaller/.test(e.message)) return;
      throw e;
    }
  }

  async announceEpoch(e: StreamEpoch): Promise<void> {
    this.announced = e.epoch;
    this.renewing = false;
    this.watchEpoch();
    const current = await this.writer.get(this.epochKey);
    const known = current ? (JSON.parse(current) as EpochRecord) : null;
    if (known?.epoch === e.epoch) return; // this slot's stream is already there (a new owner of the same slot)
    // A new slot, or a Redis that lost its data: the stream starts over under the new epoch.
    const record: EpochRecord = { epoch: e.epoch, floor: e.floor.toString() };
    await this.writer
      .multi()
      .del(this.logKey, this.bytesKey)
      .set(this.epochKey, JSON.stringify(record))
      .xadd(this.logKey, `${e.floor}-1`, 't', 'epoch', 'd', JSON.stringify({ ...record, reason: e.reason }))
      .exec();
  }

  subscribe(consumer: BusConsumer): () => void {
    this.consumers.add(consumer);
    if (!this.running) {
      this.running = true;
      void this.readLoop();
    }
    return () => this.consumers.delete(consumer);
  }

  /**
   * The node that publishes checks every second that Redis still holds its epoch. A Redis that
   * restarted without persistence (or was flushed, or failed over to an empty replica) does not:
   * the log is gone, and `onLost` starts a new epoch.
   */
  private watchEpoch(): void {
    if (this.watch) return;
    this.watch = setInterval(() => {
      if (this.writer.status !== 'ready' || !this.announced) return;
      this.writer.get(this.epochKey).then(
        (current) => {
          const known = current ? (JSON.parse(current) as EpochRecord).epoch : null;
          if (known !== this.announced && !this.renewing) {
            this.renewing = true;
            this.onLost?.();
          }
        },
        () => {},
      );
    }, 1_000);
    this.watch.unref();
  }

  async stop(): Promise<void> {
    if (this.watch) clearInterval(this.watch);
    this.running = false;
    this.reader.disconnect();
    await this.writer.quit().catch(() => {});
  }

  /** Reads the whole retained stream once, then follows it. */
  private async readLoop(): Promise<void> {
    let delay = 100;
    while (this.running) {
      try {
        if (this.epoch === null) await this.start();
        const res = (await this.reader.xread(
          'COUNT',
          1000,
          'BLOCK',
          1000,
          'STREAMS',
          this.logKey,
          this.lastId,
        )) as Array<[string, Array<[string, string[]]>]> | null;
        if (!res) {
          this.caughtUp = true;
          continue;
        }
        for (const [, entries] of res) for (const [id, fields] of entries) this.deliver(id, fields);
        delay = 100;
      } catch (err) {
        if (!this.running) return;
        this.redisErrors++;
        this.options.logger.warn(
          { err: err instanceof Error ? err.message : err },
          'reading the shared log failed; retrying',
        );
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(5_000, delay * 2);
      }
    }
  }

  /** The epoch and how far back the stream reaches, before the first read. */
  private async start(): Promise<void> {
    const current = await this.reader.get(this.epochKey);
    if (!current) {
      // Nothing yet: wait for the owner to announce.
      await new Promise((r) => setTimeout(r, 100));
      return;
    }
    const record = JSON.parse(current) as EpochRecord;
    // Trimmed (the epoch entry is gone): only cursors from the oldest entry kept can resume.
    const first = (await this.reader.xrange(this.logKey, '-', '+', 'COUNT', 1))[0];
    const floor = first?.[1][1] === 'tx' ? BigInt(first[0].split('-')[0] as string) : BigInt(record.floor);
    this.epoch = record.epoch;
    for (const c of this.consumers) c.onEpoch({ epoch: record.epoch, floor, reason: 'start' });
    this.lastId = `${floor}-1`;
    this.caughtUp = false;
  }

  private deliver(id: string, fields: string[]): void {
    this.lastId = id;
    const kind = fields[1];
    const data = fields[3] ?? '{}';
    if (kind === 'epoch') {
      const e = JSON.parse(data) as EpochRecord & { reason: StreamEpoch['reason'] };
      if (e.epoch === this.epoch) return;
      this.epoch = e.epoch;
      for (const c of this.consumers) c.onEpoch({ epoch: e.epoch, floor: BigInt(e.floor), reason: e.reason });
      return;
    }
    const raw = JSON.parse(data) as Omit<CapturedTransaction, 'lsn'> & { lsn: string };
    const tx: CapturedTransaction = { ...raw, lsn: BigInt(raw.lsn) };
    for (const c of this.consumers) c.onTransaction(tx);
  }
}
