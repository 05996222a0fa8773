/**
 * Requests about a stream held by another node (SSE subscribe/unsubscribe, presence),
 * relayed over Redis pub/sub: the node that got the request, having checked
 * its token, publishes it; the node holding the connection acts on it if the
 * connection is that client's and that user's, and answers. No sticky
 * sessions needed.
 *
 *   POST /v1/sync/subscribe ─► not here ─► PUBLISH …:streams {request} ─► holder ─► router.subscribe
 *                                     ◄── PUBLISH …:streams:reply {requestId, found} ◄──┘
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Broadcast, PresenceLeave, PresenceSet, Subscription } from '@syncline/protocol';

interface About {
  connectionId: string;
  clientId: string;
  userId: string;
}

export type StreamRequest =
  | (About & { kind: 'subscribe'; subscription: Subscription })
  | (About & { kind: 'unsubscribe'; id: string })
  | (About & { kind: 'presence-set'; set: PresenceSet })
  | (About & { kind: 'presence-leave'; leave: PresenceLeave })
  | (About & { kind: 'broadcast'; broadcast: Broadcast });

export interface StreamAnswer {
  found: boolean;
  removed?: boolean;
}

interface Envelope {
  requestId: string;
  from: string;
  request: StreamRequest;
}

/** How long a relayed request waits for the holder to answer before it is NOT_FOUND. */
const ANSWER_MS = 2_000;
/** Requests waiting for an answer at once; past this, new ones are refused rather than queued. */
const MAX_WAITING = 10_000;

export class StreamRelay {
  readonly node = randomUUID();
  private readonly pub: Redis;
  private readonly sub: Redis;
  private readonly requests: string;
  private readonly replies: string;
  private readonly waiting = new Map<string, (a: StreamAnswer | null) => void>();

  constructor(
    url: string,
    slot: string,
    /** Acts on a request if this node holds the connection; null if it does not. */
    private readonly handle: (r: StreamRequest) => StreamAnswer | null,
    private readonly logger: Logger,
  ) {
    const tag = `{syncline:${slot}}`;
    this.requests = `${tag}:streams`;
    this.replies = `${tag}:streams:reply`;
    this.pub = new Redis(url, { maxRetriesPerRequest: 2, enableOfflineQueue: false });
    this.sub = new Redis(url, { maxRetriesPerRequest: null });
    for (const c of [this.pub, this.sub])
      c.on('error', (err: Error) => logger.warn({ err: err.message }, 'redis (relay)'));
    void this.sub.subscribe(this.requests, this.replies);
    this.sub.on('message', (channel: string, text: string) => this.onMessage(channel, text));
  }

  /** Sends the request to whichever node holds the connection; null when none answers in time. */
  forward(request: StreamRequest): Promise<StreamAnswer | null> {
    if (this.waiting.size >= MAX_WAITING) return Promise.resolve(null);
    const requestId = randomUUID();
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(null), ANSWER_MS);
      const done = (a: StreamAnswer | null) => {
        clearTimeout(timer);
        this.waiting.delete(requestId);
        resolve(a);
      };
      this.waiting.set(requestId, done);
      const envelope: Envelope = { requestId, from: this.node, request };
      this.pub.publish(this.requests, JSON.stringify(envelope)).catch(() => done(null));
    });
  }

  async stop(): Promise<void> {
    for (const done of [...this.waiting.values()]) done(null);
    this.sub.disconnect();
    await this.pub.quit().catch(() => {});
  }

  private onMessage(channel: string, text: string): void {
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      return;
    }
    if (channel === this.replies) {
      const r = msg as { requestId?: string; to?: string; answer?: StreamAnswer };
      if (r.to === this.node && r.requestId && r.answer) this.waiting.get(r.requestId)?.(r.answer);
      return;
    }
    const e = msg as Envelope;
    if (e.from === this.node || !e.request) return;
    let answer: StreamAnswer | null;
    try {
      answer = this.handle(e.request);
    } catch (err) {
      this.logger.error({ err }, 'relayed stream request failed');
      return;
    }
    if (answer)
      this.pub.publish(this.replies, JSON.stringify({ requestId: e.requestId, to: e.from, answer })).catch(() => {});
  }
}
