import type { AckMessage, ErrorMessage, Row } from '@syncline/protocol';
import { DEFAULT_BACKOFF, type BackoffOptions } from './connection/backoff.ts';
import type { ConnectionState } from './connection/connection-state.ts';
import { ControlChannel } from './connection/control-channel.ts';
import { decodeEvent } from './connection/decode-event.ts';
import { EventStream } from './connection/event-stream.ts';
import { HttpError } from './connection/http-error.ts';
import { commonHeaders, eventsUrl, resolveToken, type TokenSource } from './connection/requests.ts';
import type { SseEvent } from './connection/sse-parser.ts';
import { globalFetch, realTimers, type FetchLike, type Timers } from './connection/timers.ts';
import { randomId } from './random-id.ts';
import { createStats, type SyncClientStats } from './stats.ts';
import { Emitter } from './store/emitter.ts';
import { Subscription, type SubscriptionHandle, type SubscriptionParams } from './store/subscription.ts';
import { SubscriptionRegistry, type TransactionEvent } from './store/subscription-registry.ts';
import { SyncError } from './store/sync-error.ts';

/**
 *   subscribe() ──▶ registry ──(idle? start)──▶ EventStream ── GET /v1/sync/events?subscribe=…
 *        │                                          │ SSE events
 *        └─(open)─▶ ControlChannel POST /subscribe  ▼
 *                                          decodeEvent ─▶ hello    → connectionId, POST what the GET missed
 *                                                      ─▶ snapshot/changes/ack → registry → handles' 'change'
 *                                                      ─▶ resync   → wipe, re-subscribe without cursor
 *                                                      ─▶ error    → subscription error | AUTH_FAILED stops
 */
export interface SyncClientOptions {
  /** Server base URL, e.g. `http://localhost:4000`. */
  url: string;
  /** Stable client identity; generated when absent (persisting it is the caller's job). */
  clientId?: string;
  token?: TokenSource;
  fetch?: FetchLike;
  timers?: Timers;
  /** Jitter source in [0, 1). */
  random?: () => number;
  backoff?: Partial<BackoffOptions>;
  /** How long to wait for `hello` after starting a request (default 15 s). */
  connectTimeoutMs?: number;
}

export interface SubscribeOptions {
  id?: string;
  collection: string;
  params?: SubscriptionParams;
}

export interface ConnectionStateEvent {
  state: ConnectionState;
  previous: ConnectionState;
  /** Why the previous connection ended (an Error, HttpError, DOMException…), when it did. */
  reason: unknown;
}

export interface SyncClientEvents {
  state: ConnectionStateEvent;
  transaction: TransactionEvent;
  ack: AckMessage;
  error: ErrorMessage;
}

// Mirrors subscriptionIdSchema in @syncline/protocol (not imported: it would pull zod into the bundle).
const SUBSCRIPTION_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

export class SyncClient {
  readonly clientId: string;
  private readonly statsData = createStats();
  private readonly emitter = new Emitter<SyncClientEvents>();
  private readonly registry: SubscriptionRegistry;
  private readonly stream: EventStream;
  private readonly control: ControlChannel;
  private connection: string | undefined;
  /** Subscription ids the current attempt's GET carried; hello reconciles the rest by POST. */
  private inRequest = new Set<string>();
  private lastError: ErrorMessage | undefined;
  private idCounter = 0;

  constructor(private readonly options: SyncClientOptions) {
    this.clientId = options.clientId ?? randomId();
    const fetchFn = options.fetch ?? globalFetch;
    this.registry = new SubscriptionRegistry(this.statsData, (event) => this.emitter.emit('transaction', event));
    this.control = new ControlChannel({ fetch: fetchFn, baseUrl: options.url, headers: () => this.headers() });
    this.stream = new EventStream({
      fetch: fetchFn,
      timers: options.timers ?? realTimers,
      random: options.random ?? Math.random,
      backoff: { ...DEFAULT_BACKOFF, ...options.backoff },
      connectTimeoutMs: options.connectTimeoutMs ?? 15_000,
      request: (lastEventId) => this.buildRequest(lastEventId),
      onEvent: (event) => this.onEvent(event),
      onStateChange: (state, previous, reason) => this.onStateChange(state, previous, reason),
      onTimeout: () => this.statsData.livenessTimeouts++,
    });
  }

  get state(): ConnectionState {
    return this.stream.state;
  }
  /** From the current connection's `hello`; undefined while not open. */
  get connectionId(): string | undefined {
    return this.connection;
  }
  /** The last connection-level protocol error (not tied to a subscription). */
  get error(): ErrorMessage | undefined {
    return this.lastError;
  }
  get stats(): Readonly<SyncClientStats> {
    return this.statsData;
  }

  on<K extends keyof SyncClientEvents>(event: K, listener: (payload: SyncClientEvents[K]) => void): () => void {
    return this.emitter.on(event, listener);
  }

  /** Subscribes; the first call opens the connection. Row type R is the caller's claim, not checked. */
  subscribe<R extends Row = Row>(options: SubscribeOptions): SubscriptionHandle<R> {
    if (this.state === 'closed') throw new Error('SyncClient is closed');
    const id = options.id ?? `s${++this.idCounter}-${randomId().slice(0, 8)}`;
    if (!SUBSCRIPTION_ID.test(id)) throw new TypeError(`invalid subscription id: ${id}`);
    if (this.registry.byId.has(id)) throw new Error(`subscription id already in use: ${id}`);
    const sub = new Subscription(id, options.collection, options.params, (subId) => this.unsubscribe(subId));
    this.registry.byId.set(id, sub);
    if (this.state === 'idle') this.stream.start();
    else this.sendSubscribe(sub);
    // The store keeps whatever the server sends; R is a view the caller asserts.
    return sub as unknown as SubscriptionHandle<R>;
  }

  /** Stops for good: aborts the stream and pending requests, clears timers. */
  async close(): Promise<void> {
    await this.stream.close();
  }

  private unsubscribe(id: string): void {
    const sub = this.registry.get(id);
    if (!sub) return;
    this.registry.byId.delete(id);
    sub.dispose(new SyncError('UNSUBSCRIBED', `subscription ${id} was unsubscribed`, id));
    // Not open: the next GET will not carry it, and hello reconciles a GET already sent.
    if (this.state === 'open' && this.connection !== undefined) {
      void this.control.unsubscribe(this.connection, sub.id);
    }
  }

  /** (Re)subscribes on the open connection, or leaves it for the next GET / the coming hello. */
  private sendSubscribe(sub: Subscription): void {
    if (this.state !== 'open' || this.connection === undefined) {
      this.inRequest.delete(sub.id);
      return;
    }
    void this.control.subscribe(this.connection, sub.toWire()).then((result) => {
      if (result.ok || !(result.error instanceof HttpError) || !result.error.body) return;
      // Network failures, 5xx, an unknown connection or rate limiting heal on reconnect
      // (the GET carries every subscription); anything else is about the subscription itself.
      const { status, body } = result.error;
      if (status >= 500 || status === 404 || body.code === 'RATE_LIMITED') return;
      if (this.registry.get(sub.id) === sub) sub.fail(body);
    });
  }

  private async headers(): Promise<Record<string, string>> {
    return commonHeaders(this.clientId, await resolveToken(this.options.token));
  }

  private async buildRequest(lastEventId: string | undefined) {
    const token = await resolveToken(this.options.token);
    // Read after the await: subscriptions made in the same tick as the first one ride this GET.
    const subs = [...this.registry.byId.values()];
    this.inRequest = new Set(subs.map((s) => s.id));
    const headers = commonHeaders(this.clientId, token);
    if (lastEventId) headers['Last-Event-ID'] = lastEventId;
    const url = eventsUrl(this.options.url, {
      clientId: this.clientId,
      token,
      subscriptions: subs.map((s) => s.toWire()),
    });
    return { url, headers };
  }

  private onEvent(event: SseEvent): void {
    this.statsData.eventsReceived++;
    const decoded = decodeEvent(event.type, event.data);
    if (decoded === 'unknown') return;
    if (decoded === 'malformed') {
      this.statsData.malformedEvents++;
      return;
    }
    switch (decoded.type) {
      case 'hello':
        this.connection = decoded.message.connectionId;
        this.statsData.connects++;
        this.stream.opened(decoded.message.heartbeatMs);
        this.reconcileAfterHello();
        return;
      case 'snapshot':
        return this.registry.applySnapshot(decoded.message);
      case 'changes':
        return this.registry.applyChanges(decoded.message);
      case 'ack':
        this.registry.applyAck(decoded.message);
        return this.emitter.emit('ack', decoded.message);
      case 'resync':
        return this.resync(decoded.message.subscription);
      case 'error':
        return this.onError(decoded.message);
      case 'ping':
        return; // its bytes already fed the liveness watchdog
    }
  }

  /** Subscriptions changed between building the GET and `hello`: catch the server up. */
  private reconcileAfterHello(): void {
    const connection = this.connection;
    if (connection === undefined) return;
    for (const sub of this.registry.byId.values()) if (!this.inRequest.has(sub.id)) this.sendSubscribe(sub);
    for (const id of this.inRequest) if (!this.registry.byId.has(id)) void this.control.unsubscribe(connection, id);
    this.inRequest = new Set(this.registry.byId.keys());
  }

  private resync(id: string): void {
    const sub = this.registry.get(id);
    if (!sub) return;
    this.statsData.resyncs++;
    sub.resync();
    this.sendSubscribe(sub);
  }

  private onError(error: ErrorMessage): void {
    this.statsData.errors++;
    const sub = error.subscription === undefined ? undefined : this.registry.get(error.subscription);
    // MUST_RESYNC scoped to a subscription means the same as a `resync` event.
    if (sub && error.code === 'MUST_RESYNC') return this.resync(sub.id);
    if (sub) sub.fail(error);
    else this.lastError = error;
    if (error.code === 'AUTH_FAILED') {
      this.lastError = error;
      this.stream.fail(error);
    }
    this.emitter.emit('error', error);
  }

  private onStateChange(state: ConnectionState, previous: ConnectionState, reason: unknown): void {
    if (state === 'backoff' || state === 'closed') {
      this.connection = undefined;
      this.control.reset();
      this.registry.connectionLost();
    }
    if (previous === 'backoff' && state === 'connecting') this.statsData.reconnects++;
    if (reason instanceof HttpError) {
      this.lastError = reason.body ?? {
        code: reason.isAuthFailure ? 'AUTH_FAILED' : 'INTERNAL',
        message: reason.message,
      };
    }
    if (state === 'closed') {
      const fatal = this.stream.fatalError;
      const why = fatal === undefined ? new SyncError('CLOSED', 'SyncClient closed') : SyncError.from(fatal);
      for (const sub of this.registry.byId.values()) sub.dispose(why);
    }
    this.emitter.emit('state', { state, previous, reason });
  }
}
