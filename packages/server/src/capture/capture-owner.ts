/**
 * Which node runs capture, when several share a slot: the holder of a Postgres
 * advisory lock, held on a connection of its own. The slot admits one walsender
 * anyway; the lock makes the others wait quietly instead of failing, and fences
 * the owner: when its lock connection dies (node killed, network lost,
 * Postgres restarted) its capture stops, and the next node to take the lock
 * resumes from the slot's confirmed position.
 *
 *   try lock every retryMs ─► got it ─► start capture ─┬─► lock connection lost ─► stop capture ─► try again
 *                                                     └─► stop() ─► stop capture, unlock
 */
import pg from 'pg';
import type { Logger } from 'pino';
import type { CaptureService } from './capture-service.ts';

export interface CaptureOwnerOptions {
  connectionString: string;
  slot: string;
  logger: Logger;
  /** How often a follower tries to take capture over, ms. Default 500. */
  retryMs?: number;
  /** A fresh capture for each time this node becomes the owner. */
  createCapture(): CaptureService;
}

export class CaptureOwner {
  private client: pg.Client | null = null;
  private capture: CaptureService | null = null;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  /** Times this node became the owner. */
  acquisitions = 0;

  constructor(private readonly options: CaptureOwnerOptions) {}

  get isOwner(): boolean {
    return this.capture !== null;
  }

  get current(): CaptureService | null {
    return this.capture;
  }

  start(): void {
    void this.attempt();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.release();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.attempt(), this.options.retryMs ?? 500);
    this.timer.unref();
  }

  private async attempt(): Promise<void> {
    if (this.stopped || this.client) return;
    const client = new pg.Client({ connectionString: this.options.connectionString, keepAlive: true });
    client.on('error', () => void this.lost(client));
    client.on('end', () => void this.lost(client));
    try {
      await client.connect();
      // TCP keepalives and a statement-free session: Postgres drops the lock as soon as this backend goes.
      const r = await client.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(hashtext($1)) AS ok`, [
        `syncline.capture.${this.options.slot}`,
      ]);
      if (!r.rows[0]?.ok || this.stopped) {
        await client.end().catch(() => {});
        return this.schedule();
      }
      this.client = client;
      this.acquisitions++;
      const capture = this.options.createCapture();
      this.capture = capture;
      this.options.logger.info({ slot: this.options.slot }, 'this node now runs capture');
      await capture.start();
    } catch (err) {
      this.options.logger.warn({ err: err instanceof Error ? err.message : err }, 'could not take capture');
      if (this.client === client) await this.lost(client);
      else {
        await client.end().catch(() => {});
        this.schedule();
      }
    }
  }

  /** Only the lock connection we hold counts; a refused attempt's connection ending is nothing. */
  private async lost(client: pg.Client): Promise<void> {
    if (this.client !== client) return;
    await this.release();
    this.schedule();
  }

  private async release(): Promise<void> {
    const capture = this.capture;
    const client = this.client;
    this.capture = null;
    this.client = null;
    if (capture) {
      this.options.logger.warn({ slot: this.options.slot }, 'this node no longer runs capture');
      await capture.stop().catch(() => {});
    }
    await client?.end().catch(() => {});
  }
}
