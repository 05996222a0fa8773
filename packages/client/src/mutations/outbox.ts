/**
 * Sends pending mutations to `POST /v1/mutate` in mutationId order, one at a
 * time (the server refuses id gaps, and a later mutation may depend on an
 * earlier one). Network errors and transient answers retry the SAME mutation
 * with exponential backoff and full jitter; a 200 confirms it, a permanent
 * refusal rejects it and the queue moves on (the server recorded the refusal,
 * so the id is used up).
 *
 * Everything that touches the outside is injected: `send` (no network in
 * tests), timers and random (backoff), the mutation id counter and the entry
 * persistence (IndexedDB in the browser), so ids rise per client across
 * reloads and the queue survives them.
 *
 *   mutate ─► id = last + 1 ─► append(entry): id AND entry, one write ─► pending (view) ─► send
 *                               └ fails: mutate rejects, nothing queued, the id stays free
 *
 * A new id is stored only together with its entry: an id stored alone would
 * never be sent after a crash, and the server refuses every id after a gap.
 */
import { protocolCode, SyncError } from '../store/sync-error.ts';
import { codeOfStatus } from '../connection/http-error.ts';
import type { JsonValue, WrittenRow } from '@syncline/protocol';
import { Backoff, DEFAULT_BACKOFF, type BackoffOptions } from '../connection/backoff.ts';
import { realTimers, type Timers } from '../connection/timers.ts';
import { Emitter, type Listener } from '../store/emitter.ts';
import type { MutationBody, MutationError, PendingMutations } from './pending-mutations.ts';

/** A persisted outbox entry. */
export interface OutboxEntry {
  mutationId: number;
  body: MutationBody;
  /** The `set-now` value the view showed, so a reload replays the same view. */
  createdAt?: JsonValue;
  /** Another tab's request this entry answers (see multitab/): a repeated request finds it here. */
  requestId?: string;
}

/** The last allocated mutation id (0 before the first), persisted per client id. */
export interface MutationIdCounter {
  get(): Promise<number>;
  set(n: number): Promise<void>;
}

export interface OutboxPersistence {
  list(): Promise<OutboxEntry[]>;
  /** A new mutation: stores its entry AND moves the id counter to its id, in one write (both or neither). */
  append(entry: OutboxEntry): Promise<void>;
  delete(mutationId: number): Promise<void>;
}

/** The request body of `POST /v1/mutate`. */
export type MutateRequestBody = { clientId: string; mutationId: number } & MutationBody;

/** `send` resolves with any HTTP answer and rejects only for network errors. */
export type SendMutation = (body: MutateRequestBody) => Promise<{ status: number; body: unknown }>;

export interface OutboxOptions {
  clientId: string;
  pending: PendingMutations;
  send: SendMutation;
  counter: MutationIdCounter;
  persistence?: OutboxPersistence;
  timers?: Timers;
  /** In [0, 1); drives the backoff jitter. */
  random?: () => number;
  backoff?: BackoffOptions;
  /** Start paused (e.g. offline); `resume()` starts sending. */
  paused?: boolean;
}

export interface RetryEvent {
  mutationId: number;
  attempt: number;
  delayMs: number;
  /** The status of the transient answer, or undefined for a network error. */
  status?: number;
  error?: unknown;
}

export interface OutboxEvents {
  retry: RetryEvent;
  /** The queue is empty and nothing is in flight. */
  idle: Record<string, never>;
}

export type Verdict =
  | { kind: 'confirm'; rows: WrittenRow[]; cursor: string | null }
  | { kind: 'reject'; error: MutationError; current?: WrittenRow }
  | { kind: 'retry' };

/** Classifies an answer of `POST /v1/mutate`. */
export function classifyResponse(status: number, body: unknown): Verdict {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  if (status >= 200 && status < 300) {
    const rows = Array.isArray(b['rows']) ? (b['rows'] as WrittenRow[]) : [];
    return { kind: 'confirm', rows, cursor: typeof b['cursor'] === 'string' ? b['cursor'] : null };
  }
  const err = (typeof b['error'] === 'object' && b['error'] !== null ? b['error'] : {}) as Record<string, unknown>;
  // Transient: overload/unavailable (503 retryable), other 5xx, rate limits and timeouts; 401 heals once the
  // caller's `send` carries a fresh token. The server records none of these, so the same mutation is sent again.
  if (
    status >= 500 ||
    status === 401 ||
    status === 408 ||
    status === 425 ||
    status === 429 ||
    err['retryable'] === true
  )
    return { kind: 'retry' };
  const error: MutationError = {
    status,
    code: typeof err['code'] === 'string' ? protocolCode(err['code']) : codeOfStatus(status),
    message: typeof err['message'] === 'string' ? err['message'] : `HTTP ${status}`,
  };
  if (typeof err['op'] === 'number') error.op = err['op'];
  if (typeof err['field'] === 'string') error.field = err['field'];
  const expected = err['expected'] ?? b['expected'];
  if (typeof expected === 'number') error.expected = expected;
  const current = b['current'];
  const verdict: Verdict = { kind: 'reject', error };
  if (isWrittenRow(current)) verdict.current = current;
  return verdict;
}

function isWrittenRow(v: unknown): v is WrittenRow {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return typeof o['table'] === 'string' && typeof o['key'] === 'string' && typeof o['version'] === 'number';
}

/** The outbox was closed (its client is closing): the mutation was not queued. */
export class OutboxClosedError extends SyncError {
  constructor() {
    super('CLOSED', 'the outbox is closed: the mutation was not queued');
    this.name = 'OutboxClosedError';
  }
}

export class Outbox {
  private readonly emitter = new Emitter<OutboxEvents>();
  private readonly pending: PendingMutations;
  private readonly timers: Timers;
  private readonly backoff: Backoff;
  private lastId: number | undefined;
  /** Serialises id allocation and persistence writes, so ids are handed out once and persisted in order. */
  private chain: Promise<unknown> = Promise.resolve();
  /** Mutations whose entry is stored (only those are sent). */
  private readonly stored = new Set<number>();
  private isPaused: boolean;
  private inFlight: number | undefined;
  private retryTimer: unknown;
  private closed = false;
  /** Request id → mutation id, for entries queued on another tab's behalf and not yet answered. */
  private readonly requests = new Map<string, number>();
  /** The same, mutation id → request id, so finishing one is a lookup. */
  private readonly requestOf = new Map<number, string>();

  constructor(private readonly options: OutboxOptions) {
    this.pending = options.pending;
    this.timers = options.timers ?? realTimers;
    this.backoff = new Backoff(options.backoff ?? DEFAULT_BACKOFF, options.random ?? Math.random);
    this.isPaused = options.paused ?? false;
  }

  on<K extends keyof OutboxEvents>(event: K, listener: Listener<OutboxEvents[K]>): () => void {
    return this.emitter.on(event, listener);
  }

  get paused(): boolean {
    return this.isPaused;
  }

  /** The mutation currently being sent, if any. */
  get sending(): number | undefined {
    return this.inFlight;
  }

  /**
   * Loads the counter and the persisted entries (a reload), puts the entries
   * back into pending in id order and starts sending. Call once before use.
   */
  async rehydrate(): Promise<void> {
    await this.enqueue(async () => {
      const entries = (await this.options.persistence?.list()) ?? [];
      entries.sort((a, b) => a.mutationId - b.mutationId);
      let last = await this.options.counter.get();
      for (const e of entries) {
        last = Math.max(last, e.mutationId);
        if (e.requestId !== undefined) this.trackRequest(e.requestId, e.mutationId);
        this.stored.add(e.mutationId);
        if (this.pending.get(e.mutationId)) continue;
        const opts: { createdAt?: JsonValue } = {};
        if (e.createdAt !== undefined) opts.createdAt = e.createdAt;
        this.pending.add(e.mutationId, e.body, opts);
      }
      this.lastId = Math.max(this.lastId ?? 0, last);
    });
    this.kick();
  }

  /**
   * A local mutation: allocates its id (one more than the highest this client
   * ever handed out), stores the id and its entry in one write, shows it in the
   * view and queues it for sending. Resolves with its id once stored; if
   * storing fails (outbox full, storage broken) it rejects with that error and
   * the mutation is not queued: sending it unstored could let a reload hand its
   * id out again, and the server would answer the new mutation with the old one's record.
   */
  async mutate(body: MutationBody, requestId?: string): Promise<number> {
    // One step of the serial queue, so nothing that waits for the queue (another tab about to lead
    // reads the store then) sees a half-made mutation.
    const mutationId = await this.enqueue(async () => {
      if (this.closed) throw new OutboxClosedError();
      const n = (this.lastId ?? (await this.options.counter.get())) + 1;
      const createdAt = this.pending.now();
      const entry: OutboxEntry = { mutationId: n, body, createdAt };
      if (requestId !== undefined) entry.requestId = requestId;
      try {
        if (this.options.persistence) await this.options.persistence.append(entry);
        else await this.options.counter.set(n);
      } catch (error) {
        this.lastId = undefined; // read the stored counter again: another tab may have moved it
        throw error;
      }
      this.lastId = n;
      this.pending.add(n, body, { createdAt });
      if (requestId !== undefined) this.trackRequest(requestId, n);
      this.stored.add(n);
      return n;
    });
    this.kick();
    return mutationId;
  }

  private trackRequest(requestId: string, mutationId: number): void {
    this.requests.set(requestId, mutationId);
    this.requestOf.set(mutationId, requestId);
  }

  /** The mutation queued for another tab's request, while it is unanswered. */
  idForRequest(requestId: string): number | undefined {
    return this.requests.get(requestId);
  }

  /**
   * This tab starts sending for all tabs: what the store holds is the truth.
   * Mirrored mutations it no longer holds were answered (or never stored) by
   * the tab that led; the rest are loaded, the counter re-read, and sending starts.
   */
  async adopt(): Promise<void> {
    const stored = new Set(((await this.options.persistence?.list()) ?? []).map((e) => e.mutationId));
    for (const m of this.pending.mutations) if (!stored.has(m.mutationId)) this.pending.drop(m.mutationId);
    this.lastId = undefined;
    await this.rehydrate();
    this.resume();
  }

  /** Resolves when every id allocation and storage write queued so far has finished. */
  settled(): Promise<void> {
    return this.chain.then(() => undefined);
  }

  /** Stops starting requests (offline); an in-flight one finishes, retries wait for resume(). */
  pause(): void {
    this.isPaused = true;
    if (this.retryTimer !== undefined) {
      this.timers.clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
    }
  }

  /** Back online: sends at once (the backoff restarts from its base). */
  resume(): void {
    if (!this.isPaused) return;
    this.isPaused = false;
    this.backoff.reset();
    this.kick();
  }

  /** Stops for good (client closed): no further requests or timers. */
  close(): void {
    this.pause();
    this.closed = true;
  }

  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    const next = this.chain.then(task);
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** Starts sending the first pending mutation when idle. */
  private kick(): void {
    if (this.closed || this.isPaused || this.inFlight !== undefined || this.retryTimer !== undefined) return;
    // Strictly in id order: the first pending mutation waits until it is stored.
    const next = this.pending.mutations[0];
    if (!next) {
      this.emitter.emit('idle', {});
      return;
    }
    if (!this.stored.has(next.mutationId)) return;
    this.inFlight = next.mutationId;
    void this.sendOne(next.mutationId);
  }

  private async sendOne(mutationId: number): Promise<void> {
    let verdict: Verdict;
    let status: number | undefined;
    let networkError: unknown;
    try {
      const m = this.pending.get(mutationId);
      if (!m) return this.finish(mutationId); // confirmed or rejected meanwhile
      this.pending.setStatus(mutationId, m.status === 'acknowledged' ? 'acknowledged' : 'sending');
      const res = await this.options.send({ clientId: this.options.clientId, mutationId, ...m.body });
      status = res.status;
      verdict = classifyResponse(res.status, res.body);
    } catch (error) {
      networkError = error;
      verdict = { kind: 'retry' };
    }
    if (this.closed) return;
    if (verdict.kind === 'retry') {
      this.inFlight = undefined;
      if (this.pending.get(mutationId)?.status === 'sending') this.pending.setStatus(mutationId, 'queued');
      const attempt = this.backoff.attempts + 1;
      const delayMs = this.backoff.next();
      const event: RetryEvent = { mutationId, attempt, delayMs };
      if (status !== undefined) event.status = status;
      if (networkError !== undefined) event.error = networkError;
      this.emitter.emit('retry', event);
      if (this.isPaused) return; // resume() sends again
      this.retryTimer = this.timers.setTimeout(() => {
        this.retryTimer = undefined;
        this.kick();
      }, delayMs);
      return;
    }
    this.backoff.reset();
    if (verdict.kind === 'confirm') this.pending.confirm(mutationId, verdict.rows, verdict.cursor);
    else this.pending.reject(mutationId, verdict.error, verdict.current);
    await this.enqueue(async () => {
      await this.options.persistence?.delete(mutationId);
    }).catch((error: unknown) => console.error('[syncline] outbox delete failed', error));
    this.finish(mutationId);
  }

  private finish(mutationId: number): void {
    this.stored.delete(mutationId);
    const requestId = this.requestOf.get(mutationId);
    if (requestId !== undefined) {
      this.requestOf.delete(mutationId);
      this.requests.delete(requestId);
    }
    this.inFlight = undefined;
    this.kick();
  }
}
