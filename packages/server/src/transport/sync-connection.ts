/**
 * What the fan-out core sees of a client connection, whatever its framing.
 * Transports (SSE now, WebSocket next) only decide how a message becomes bytes.
 *
 * Changes for many connections are serialised once: frames are cached per
 * transaction under a signature of (subscription id, instance) pairs, so
 * connections that subscribed the same way share the same Buffer.
 */
import { randomUUID } from 'node:crypto';
import type {
  CoveredChange,
  AckMessage,
  MutationRef,
  ChangesMessage,
  ErrorMessage,
  HelloMessage,
  ResyncMessage,
  SnapshotMessage,
  ServerMessageKind,
} from '@syncline/protocol';
import type { CollectionInstance, Subscriber } from '../collections/collection-instance.ts';
import type { InstanceChange } from '../router/route-transaction.ts';
import type { AccessWatch } from '../router/access-watches.ts';
import type { Identity } from '../auth/token-verifier.ts';
import { NO_EVENTS, type ConnectionEvents } from './connection-events.ts';

export interface ConnSubscription {
  id: string;
  instance: CollectionInstance;
  phase: 'snapshot' | 'live';
  subscriber: Subscriber;
  /** As subscribed, to check again under a refreshed token. */
  params: Record<string, unknown>;
  /** Live revocation watch of an `exists` access rule. */
  watch: AccessWatch | null;
}

/** One subscription's share of a transaction. */
export interface ChangesEntry {
  subId: string;
  instanceId: number;
  changes: InstanceChange[];
}

export type FrameCache = Map<string, Buffer>;

export abstract class SyncConnection {
  readonly id = randomUUID();
  /** Written only by router/connection-subscriptions.ts, the subscriptions' one lifecycle. */
  readonly subscriptions: ReadonlyMap<string, ConnSubscription> = new Map();
  closed = false;
  /** Snapshot bytes written since the socket last drained. */
  private snapshotBytes = 0;
  /** Called once when the connection goes away, for whatever reason. */
  onClose: (() => void) | null = null;
  /** Where counts go (the node's metrics); set when the stream opens. */
  events: ConnectionEvents = NO_EVENTS;

  constructor(
    readonly clientId: string,
    readonly transport: 'sse' | 'ws',
    private readonly maxBufferedBytes: number,
    /** Who is connected; replaced on token refresh. */
    public identity: Identity,
  ) {}

  /** Bytes accepted but not yet flushed to the socket. */
  protected abstract get bufferedBytes(): number;
  protected abstract frame(event: ServerMessageKind, data: string, id?: string): Buffer;
  protected abstract writeFrame(frame: Buffer): void;
  protected abstract endTransport(): void;

  hello(msg: HelloMessage): void {
    this.send('hello', msg);
  }
  snapshot(msg: SnapshotMessage): void {
    if (this.closed) return;
    // Snapshot parts go out in one burst and are bounded by maxSnapshotRows; they do not
    // count against the live-change bound until the socket has drained them.
    const frame = this.frame('snapshot', JSON.stringify(msg));
    this.events.sent('snapshot', frame.length);
    this.snapshotBytes += frame.length;
    this.writeFrame(frame);
  }
  resync(msg: ResyncMessage): void {
    this.events.resync(msg.reason);
    this.send('resync', msg);
  }
  error(msg: ErrorMessage): void {
    this.events.error(msg.code);
    this.send('error', msg);
  }
  ping(): void {
    this.send('ping', {});
  }

  ack(msg: AckMessage): void {
    this.send('ack', msg);
  }

  /**
   * Presence: a room's whole state, a diff, or another member's broadcast — as JSON serialised
   * once for every member it goes to.
   */
  presence(event: 'presence_state' | 'presence_diff' | 'broadcast', json: string): void {
    if (this.closed) return;
    this.push(this.frame(event, json), event);
  }

  /** Sent as a subscription is admitted, before its snapshot or replay: from here on an `ack` covers it. */
  subscribed(id: string, table: string): void {
    this.send('subscribed', { id, table, count: this.subscriptions.size });
  }

  /**
   * One `changes` message for one transaction, holding every change this
   * connection may see (and the mutations that caused it, when tagged).
   */
  changes(
    cursor: string,
    entries: ChangesEntry[],
    cache: FrameCache,
    mutations?: MutationRef[],
    covered?: CoveredChange[],
  ): void {
    if (this.closed) return;
    let signature = this.transport;
    for (const e of entries) signature += `\u0001${e.subId}\u0002${e.instanceId}`;
    let frame = cache.get(signature);
    if (!frame) {
      const msg: ChangesMessage = {
        cursor,
        changes: [],
        ...(mutations ? { mutations } : {}),
        ...(covered && covered.length > 0 ? { covered } : {}),
      };
      for (const e of entries) for (const c of e.changes) msg.changes.push({ subscription: e.subId, ...c });
      frame = this.frame('changes', JSON.stringify(msg), cursor);
      cache.set(signature, frame);
    }
    this.push(frame);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.endTransport();
    this.onClose?.();
  }

  private send(event: ServerMessageKind, payload: object): void {
    if (this.closed) return;
    const id = event === 'changes' || event === 'ack' ? (payload as { cursor: string }).cursor : undefined;
    this.push(this.frame(event, JSON.stringify(payload), id), event);
  }

  /** Transports call this when the socket's write buffer has emptied. */
  protected drained(): void {
    this.snapshotBytes = 0;
  }

  private push(frame: Buffer, event = 'changes'): void {
    this.events.sent(event, frame.length);
    this.writeFrame(frame);
    if (this.bufferedBytes - this.snapshotBytes > this.maxBufferedBytes) {
      // A slow consumer must not grow our memory: each subscription is told to resync and
      // the connection is dropped, releasing its buffer. When the client reads again it
      // finds the RESYNCs, reconnects and starts its subscriptions over.
      this.events.dropped();
      for (const id of this.subscriptions.keys()) {
        this.events.resync('buffer-overflow');
        this.writeFrame(this.frame('resync', JSON.stringify({ subscription: id, reason: 'buffer-overflow' })));
      }
      this.close();
    }
  }
}
