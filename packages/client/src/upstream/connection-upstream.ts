/**
 * This tab's own connection to the server: the stream (SSE or WebSocket), the
 * subscriptions on it, and what its events do to the client's parts.
 *
 *   subscribe() ─(first one)─▶ EventStream ─ GET /v1/sync/events?subscribe=… (or the WebSocket)
 *        └─(open)─▶ ServerSubscriptions ─ POST /subscribe (or a frame)   │ events
 *                                                                        ▼
 *   decodeEvent ─▶ hello     → connectionId; send what the request missed; liveness on; rooms rejoin
 *               ─▶ snapshot / changes / ack → own rows first, then the registry → subscriptions,
 *                                            view, store, follower tabs
 *               ─▶ resync    → differential sync, or a new snapshot (resync.ts)
 *               ─▶ presence  → rooms (and follower tabs)
 *               ─▶ error     → the subscription's, or the connection's (AUTH_FAILED may stop it)
 */
import type { ErrorMessage } from '@syncline/protocol';
import { DEFAULT_BACKOFF } from '../connection/backoff.ts';
import type { ConnectionState } from '../connection/connection-state.ts';
import { decodeEvent } from '../connection/decode-event.ts';
import { EventStream } from '../connection/event-stream.ts';
import { HttpError } from '../connection/http-error.ts';
import { browserOnline } from '../connection/online-source.ts';
import { ServerSubscriptions } from '../connection/server-subscriptions.ts';
import type { SseEvent } from '../connection/sse-parser.ts';
import { globalFetch, realTimers } from '../connection/timers.ts';
import type { WebSocketConstructor } from '../connection/ws-stream.ts';
import type { ConnectionMirror, PresenceEvent } from '../multitab/tab-messages.ts';
import { emitCommitted, toFollowers, type ClientParts } from '../client-parts.ts';
import type { Subscription } from '../store/subscription.ts';
import { protocolCode, SyncError } from '../store/sync-error.ts';
import type { SyncClientOptions } from '../sync-client-options.ts';
import { Resyncer } from './resync.ts';
import type { PresenceKind, Upstream } from './upstream.ts';

export class ConnectionUpstream implements Upstream {
  private readonly server: ServerSubscriptions;
  private readonly stream: EventStream;
  private readonly resyncer: Resyncer;
  private readonly stopOnline: () => void;
  /** A token function can mint a fresh token, so an expired one is worth a reconnect. */
  private readonly refreshableToken: boolean;

  constructor(
    private readonly parts: ClientParts,
    options: SyncClientOptions,
  ) {
    this.refreshableToken = typeof options.token === 'function';
    const fetch = options.fetch ?? globalFetch;
    const webSocket = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    this.server = new ServerSubscriptions({
      fetch,
      baseUrl: options.url,
      clientId: parts.clientId,
      token: options.token,
      registry: parts.registry,
      webSocket: (options.transport ?? 'ws') === 'ws' && webSocket !== undefined,
    });
    this.stream = new EventStream({
      fetch,
      timers: options.timers ?? realTimers,
      random: options.random ?? Math.random,
      backoff: { ...DEFAULT_BACKOFF, ...options.backoff },
      connectTimeoutMs: options.connectTimeoutMs ?? 15_000,
      request: (lastEventId) => this.server.request(lastEventId),
      onEvent: (event) => this.onEvent(event),
      onStateChange: (state, previous, reason) => this.onStateChange(state, previous, reason),
      onTimeout: () => parts.stats.livenessTimeouts++,
      ...(webSocket ? { webSocket } : {}),
      onSender: (send) => this.server.setSender(send),
    });
    this.resyncer = new Resyncer(
      parts,
      { baseUrl: options.url, clientId: parts.clientId, token: options.token, fetch },
      (sub) => this.server.subscribe(sub),
    );
    this.stopOnline = (options.online ?? browserOnline).subscribe((online) => {
      if (online) this.stream.nudge();
    });
  }

  get state(): ConnectionState {
    return this.stream.state;
  }
  get connectionId(): string | undefined {
    return this.server.connectionId;
  }
  /** `ws` or `sse`: what the next connection uses. */
  get transport(): 'ws' | 'sse' {
    return this.server.transport;
  }

  subscribe(sub: Subscription): void {
    this.parts.persisted?.subscribed(sub);
    if (this.stream.state === 'idle') this.stream.start();
    else this.server.subscribe(sub);
  }

  claim(): void {
    this.want();
  }

  unsubscribe(id: string): void {
    this.parts.persisted?.unsubscribed(id);
    this.server.unsubscribe(id);
  }

  sendPresence(kind: PresenceKind, body: Record<string, unknown>): boolean {
    return this.server.sendPresence(kind, body);
  }

  want(): void {
    if (this.stream.state === 'idle') this.stream.start();
  }

  /** What follower tabs show as their connection. */
  mirror(): ConnectionMirror {
    const id = this.server.connectionId;
    return { state: this.stream.state, ...(id !== undefined ? { connectionId: id } : {}) };
  }

  /** Stops for good: the stream, its requests and the online watch. */
  async close(): Promise<void> {
    this.stopOnline();
    await this.stream.close();
  }

  private onEvent(event: SseEvent): void {
    const { parts } = this;
    parts.stats.eventsReceived++;
    // WebSocket-only messages: a refresh before the token expires; confirmations need nothing.
    if (event.type === 'token_expiring_soon') return void this.server.refreshToken();
    const decoded = decodeEvent(event);
    if (decoded === 'unknown') return;
    if (decoded === 'malformed') {
      parts.stats.malformedEvents++;
      return;
    }
    switch (decoded.type) {
      case 'hello':
        parts.stats.connects++;
        // connectionId first, so 'state' listeners seeing 'open' can read it.
        this.server.opened(decoded.message.connectionId);
        this.stream.opened(decoded.message.heartbeatMs);
        return parts.rooms.opened();
      case 'presence_state':
      case 'presence_diff':
      case 'broadcast':
        toFollowers(parts, { t: 'presence-event', event: decoded });
        return presenceEvent(parts, decoded);
      case 'snapshot':
        return parts.registry.applySnapshot(decoded.message);
      case 'changes':
        parts.ownRows.streamMessage(decoded.message);
        parts.registry.applyChanges(decoded.message);
        toFollowers(parts, { t: 'changes', message: decoded.message });
        parts.writes.onStream(decoded.message);
        return emitCommitted(parts, decoded.message);
      case 'ack': {
        parts.ownRows.streamMessage(decoded.message);
        const advanced = parts.registry.applyAck(decoded.message);
        parts.persisted?.cursorsAdvanced(parts.registry.byId.values(), parts.ownRows.holding);
        toFollowers(parts, { t: 'ack', message: decoded.message, advanced });
        parts.writes.onStream(decoded.message);
        parts.emitter.emit('ack', decoded.message);
        return emitCommitted(parts, decoded.message);
      }
      case 'resync':
        return this.resyncer.resync(decoded.message.subscription, decoded.message.reason);
      case 'error':
        return this.onError(decoded.message);
      case 'ping':
        return; // its bytes already fed the liveness watchdog
      case 'subscribed':
        // The server has it on this connection now; its snapshot or replay follows.
        return parts.registry.attached(decoded.message.id, decoded.message.table);
    }
  }

  private onError(error: ErrorMessage): void {
    const { parts } = this;
    parts.stats.errors++;
    if (error.room !== undefined) {
      toFollowers(parts, { t: 'presence-event', event: { type: 'error', message: error } });
      presenceEvent(parts, { type: 'error', message: error });
      return void parts.emitter.emit('error', error);
    }
    const sub = error.subscription === undefined ? undefined : parts.registry.get(error.subscription);
    // MUST_RESYNC scoped to a subscription means the same as a `resync` event.
    if (sub && error.code === 'MUST_RESYNC') return this.resyncer.resync(sub.id);
    if (sub) sub.fail(error);
    if (error.subscription === undefined || error.code === 'AUTH_FAILED') parts.lastError = error;
    // Retrying with the same credentials cannot succeed; the app must create a new client.
    // With a token function the next connect asks it for a new token (the usual case: the
    // token expired); if the server refuses that one too, the 401 stops the stream.
    if (error.code === 'AUTH_FAILED' && !this.refreshableToken) this.stream.fail(error);
    parts.emitter.emit('error', error);
  }

  private onStateChange(state: ConnectionState, previous: ConnectionState, reason: unknown): void {
    const { parts } = this;
    if (state === 'backoff') this.server.attemptEnded(previous === 'open');
    if (state === 'backoff' || state === 'closed') {
      this.server.lost();
      parts.registry.connectionLost();
    }
    if (previous === 'backoff' && state === 'connecting') parts.stats.reconnects++;
    if (reason instanceof HttpError) {
      const code = reason.isAuthFailure ? 'AUTH_FAILED' : 'INTERNAL';
      parts.lastError = reason.body ?? { code, message: reason.message };
    }
    const fatal = state === 'closed' ? this.stream.fatalError : undefined;
    if (state === 'closed') {
      const why = fatal === undefined ? new SyncError('CLOSED', 'SyncClient closed') : SyncError.from(fatal);
      for (const sub of parts.registry.byId.values()) sub.dispose(why);
    }
    // A leader closed by its app says nothing: the next one takes over and reports its own
    // connection. One whose connection ended for good tells the followers why.
    if (state !== 'closed') toFollowers(parts, { t: 'state', connection: this.mirror() });
    else if (fatal !== undefined) {
      const error = SyncError.from(fatal);
      const code = protocolCode(error.code); // followers hear the protocol's codes (CLOSED reads as INTERNAL)
      toFollowers(parts, { t: 'state', connection: { state: 'closed', error: { code, message: error.message } } });
    }
    parts.emitter.emit('state', { state, previous, reason });
  }
}

/** What the connection (ours, or the leader's) said about presence, to this tab's rooms. */
export function presenceEvent(parts: ClientParts, e: PresenceEvent): void {
  if (e.type === 'presence_state') parts.rooms.onState(e.message);
  else if (e.type === 'presence_diff') parts.rooms.onDiff(e.message);
  else if (e.type === 'broadcast') parts.rooms.onBroadcast(e.message);
  else parts.rooms.onError(e.message);
}
