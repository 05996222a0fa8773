import type { SubscriptionRegistry } from '../store/subscription-registry.ts';
import type { Subscription } from '../store/subscription.ts';
import { ControlChannel } from './control-channel.ts';
import { HttpError } from './http-error.ts';
import { commonHeaders, endpoint, eventsUrl, resolveToken, type TokenSource } from './requests.ts';
import type { SseRequest } from './sse-connection.ts';
import { TransportChoice, type Transport, type TransportChoiceOptions } from './transport-choice.ts';
import { wsUrl } from './ws-stream.ts';
import type { FetchLike } from './timers.ts';

export interface ServerSubscriptionsOptions {
  fetch: FetchLike;
  baseUrl: string;
  clientId: string;
  token: TokenSource | undefined;
  registry: SubscriptionRegistry;
  /** Use WebSocket (subscriptions as frames) unless it proves blocked (see transport-choice.ts); SSE otherwise. */
  webSocket: boolean;
  /** When to fall back to SSE and try WebSocket again; defaults in DEFAULT_TRANSPORT_CHOICE. */
  transportChoice?: TransportChoiceOptions;
}

/** The probe of a failed WebSocket attempt gives up after this: no answer is no evidence. */
const PROBE_TIMEOUT_MS = 5_000;

const STALE = Symbol('stale');

/**
 * Keeps the server's set of subscriptions for our connection equal to ours.
 *
 *   connect:  GET …&subscribe=<each, with its cursor>        (remember which ids it carried)
 *   hello:    POST /unsubscribe for ids the GET carried but we dropped (or re-created) since
 *             POST /subscribe   for ids added, re-created or resynced since the GET was built
 *   open:     subscribe / resync ─▶ POST /subscribe ; unsubscribe ─▶ POST /unsubscribe
 *   not open: send nothing; the next GET carries the current set
 *
 * A POST lost to the network needs no retry of its own: the subscription is
 * still ours, so the next connection's GET carries it.
 *
 * Over WebSocket it is simpler: at every hello, SUBSCRIBE each subscription
 * (with its cursor); while open, SUBSCRIBE/UNSUBSCRIBE frames as they happen.
 */
export class ServerSubscriptions {
  private current: string | undefined;
  /** What the current attempt's GET carried, to reconcile at `hello`. */
  private carried = new Map<string, Subscription | typeof STALE>();
  private readonly control: ControlChannel;
  /** Absent when WebSocket is off or unavailable: SSE always. */
  private readonly choice: TransportChoice | undefined;
  /** The transport of the current (or last) attempt: how subscriptions and presence go out. */
  private useWs: boolean;
  /** The current attempt, while it is a WebSocket one: did the server speak on its socket? */
  private wsAttempt: { heard: boolean } | undefined;
  /** The HTTP probe after a WebSocket attempt the server never spoke on; the next attempt waits for its verdict. */
  private probing: Promise<void> | undefined;
  /** The open WebSocket's send, while there is one. */
  private sender: ((frame: object) => void) | undefined;

  constructor(private readonly options: ServerSubscriptionsOptions) {
    this.useWs = options.webSocket;
    this.choice = options.webSocket ? new TransportChoice(options.transportChoice) : undefined;
    this.control = new ControlChannel({
      fetch: options.fetch,
      baseUrl: options.baseUrl,
      headers: () => this.headers(),
    });
  }

  /** From `hello`; undefined while no connection is open. */
  get connectionId(): string | undefined {
    return this.current;
  }

  get transport(): Transport {
    return this.useWs ? 'ws' : 'sse';
  }

  /** When WebSocket will be tried again, while fallen back to SSE (epoch ms). */
  get wsRetryAt(): number | undefined {
    return this.choice?.wsRetryAt;
  }

  /**
   * Called with a send function once the server's first frame arrives on a
   * WebSocket (WebSocket gets through), undefined when it closes.
   */
  setSender(send: ((frame: object) => void) | undefined): void {
    this.sender = send;
    if (send && this.wsAttempt) {
      this.wsAttempt.heard = true;
      this.choice?.wsHeard();
    }
  }

  /**
   * An attempt ended. A WebSocket one the server never spoke on (refused,
   * hung, or a proxy that passed nothing) is checked at once with a plain HTTP
   * request to the same server: only if our server answers that does it count
   * as WebSocket being blocked (see transport-choice.ts).
   */
  attemptEnded(_reachedHello: boolean): void {
    const attempt = this.wsAttempt;
    this.wsAttempt = undefined;
    const choice = this.choice;
    if (!attempt || attempt.heard || !choice) return;
    this.probing = this.serverAnswers().then((answered) => choice.wsFailed(answered));
  }

  /** WebSocket only: the token is about to expire; send a fresh one from the token function. */
  async refreshToken(): Promise<void> {
    if (typeof this.options.token !== 'function' || !this.sender) return;
    const token = await resolveToken(this.options.token);
    if (token !== undefined) this.sender?.({ type: 'TOKEN_REFRESH', token });
  }

  async request(_lastEventId: string | undefined): Promise<SseRequest> {
    this.wsAttempt = undefined;
    await this.probing;
    this.probing = undefined;
    const token = await resolveToken(this.options.token);
    this.useWs = this.choice?.next() === 'ws';
    if (this.useWs) {
      this.wsAttempt = { heard: false };
      // Subscriptions go out as SUBSCRIBE frames once the server says hello.
      this.carried = new Map();
      return { url: wsUrl(this.options.baseUrl, this.options.clientId, token), headers: {}, transport: 'ws' };
    }
    // Read after the await: subscriptions made in the same tick as the first one ride this GET.
    const subs = [...this.options.registry.byId.values()];
    this.carried = new Map(subs.map((s) => [s.id, s]));
    // No Last-Event-ID: the server applies it to every subscription in the request that has
    // no cursor of its own, and a subscription whose snapshot never completed has none —
    // it must start from a snapshot, not resume. Each subscription carries its own cursor.
    const headers = commonHeaders(this.options.clientId, token);
    const subscriptions = subs.map((s) => s.toWire());
    return { url: eventsUrl(this.options.baseUrl, { clientId: this.options.clientId, token, subscriptions }), headers };
  }

  opened(connectionId: string): void {
    this.current = connectionId;
    const { byId } = this.options.registry;
    if (this.useWs) {
      for (const sub of byId.values()) this.sender?.({ type: 'SUBSCRIBE', subscription: sub.toWire() });
      return;
    }
    // Compared by identity: an id unsubscribed and subscribed again since the
    // GET is a different subscription (params may differ) and must be replaced.
    for (const [id, sent] of this.carried) {
      if (sent !== STALE && byId.get(id) !== sent) void this.control.unsubscribe(connectionId, id);
    }
    for (const sub of byId.values()) if (this.carried.get(sub.id) !== sub) this.subscribe(sub);
    this.carried = new Map(byId);
  }

  lost(): void {
    this.current = undefined;
    this.control.reset();
  }

  /** (Re)subscribes now if open; otherwise the next GET, or the coming hello, takes care of it. */
  subscribe(sub: Subscription): void {
    if (this.useWs) {
      // Not open yet: the coming hello sends every subscription.
      if (this.current !== undefined) this.sender?.({ type: 'SUBSCRIBE', subscription: sub.toWire() });
      return;
    }
    if (this.current === undefined) {
      // Resynced after the GET went out with its old cursor: re-send at hello (it replaces the old one).
      if (this.carried.get(sub.id) === sub) this.carried.set(sub.id, STALE);
      return;
    }
    void this.control.subscribe(this.current, sub.toWire()).then((result) => {
      if (result.ok || !(result.error instanceof HttpError) || !result.error.body) return;
      // 5xx, an unknown connection (404) or rate limiting heal on reconnect;
      // anything else (BAD_REQUEST, FORBIDDEN, UNKNOWN_COLLECTION…) is about the subscription.
      const { status, body } = result.error;
      if (status >= 500 || status === 404 || body.code === 'RATE_LIMITED') return;
      if (this.options.registry.get(sub.id) === sub) sub.fail(body);
    });
  }

  unsubscribe(id: string): void {
    if (this.current === undefined) return;
    if (this.useWs) this.sender?.({ type: 'UNSUBSCRIBE', id });
    else void this.control.unsubscribe(this.current, id);
  }

  /** A presence request on the open connection; false when none is open (the next hello rejoins every room). */
  sendPresence(kind: 'set' | 'leave' | 'broadcast', body: Record<string, unknown>): boolean {
    if (this.current === undefined) return false;
    if (this.useWs) {
      const type = kind === 'set' ? 'PRESENCE_SET' : kind === 'leave' ? 'PRESENCE_LEAVE' : 'BROADCAST';
      this.sender?.({ type, ...body });
    } else {
      const path = kind === 'set' ? '/v1/presence' : kind === 'leave' ? '/v1/presence/leave' : '/v1/presence/broadcast';
      void this.control.presence(this.current, path, body);
    }
    return true;
  }

  /**
   * `GET /v1/health` without credentials: did our server answer (200, or 503
   * with its `degraded` report)? A proxy's error page or no answer is no.
   */
  private async serverAnswers(): Promise<boolean> {
    try {
      const res = await this.options.fetch(endpoint(this.options.baseUrl, '/v1/health'), {
        method: 'GET',
        signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
      });
      if (res.ok) return true;
      const body = (await res.json().catch(() => null)) as { status?: unknown } | null;
      return res.status === 503 && body?.status === 'degraded';
    } catch {
      return false;
    }
  }

  private async headers(): Promise<Record<string, string>> {
    return commonHeaders(this.options.clientId, await resolveToken(this.options.token));
  }
}
