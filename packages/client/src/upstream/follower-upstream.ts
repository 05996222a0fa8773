/**
 * A follower tab's upstream: the leading tab (multitab/). Subscriptions and
 * presence go to it; what its connection, subscriptions and mutations go
 * through comes back as tab messages and is replayed here.
 *
 * Only subscriptions this tab's callers hold follow the leader, and each only
 * from the leader's whole copy of it (`reset`) on: until then it takes no
 * changes, so none lands on rows it does not follow from.
 */
import type { ConnectionState } from '../connection/connection-state.ts';
import type { ConnectionMirror, TabMessage } from '../multitab/tab-messages.ts';
import { emitCommitted, type ClientParts } from '../client-parts.ts';
import type { Subscription } from '../store/subscription.ts';
import { SyncError } from '../store/sync-error.ts';
import { presenceEvent } from './connection-upstream.ts';
import type { PresenceKind, Upstream } from './upstream.ts';

export class FollowerUpstream implements Upstream {
  /** The leading tab's connection. */
  private mirrored: ConnectionMirror = { state: 'connecting' };
  /** Held subscriptions that take no changes until the leader's whole state arrives (`reset`). */
  private readonly awaitingReset = new Set<string>();

  constructor(
    private readonly parts: ClientParts,
    /** Whether this tab's callers hold the subscription. */
    private readonly isHeld: (id: string) => boolean,
    /** Whether this client is closed (then so is its state, whatever the leader's). */
    private readonly closed: () => boolean,
  ) {}

  get state(): ConnectionState {
    return this.closed() ? 'closed' : this.mirrored.state;
  }
  get connectionId(): string | undefined {
    return this.mirrored.connectionId;
  }

  subscribe(sub: Subscription): void {
    this.awaitingReset.add(sub.id);
    this.parts.tabs()?.subscribe(sub.toWire());
  }

  claim(sub: Subscription): void {
    this.subscribe(sub);
  }

  unsubscribe(id: string): void {
    this.awaitingReset.delete(id);
    this.parts.tabs()?.unsubscribe(id);
  }

  sendPresence(kind: PresenceKind, body: Record<string, unknown>): boolean {
    this.parts.tabs()?.presence(kind, body as never);
    return true;
  }

  want(): void {} // the leader's connection is open or opening

  /** Another tab leads now: our copies wait for its whole state; our rooms join on its connection. */
  leaderChanged(heldIds: Iterable<string>): void {
    for (const id of heldIds) this.awaitingReset.add(id);
    this.parts.rooms.opened(); // the new leader's connection holds none of our metas yet
  }

  /** This tab leads now: copies still waiting for a reset took no changes since they were consistent. */
  stop(): void {
    this.awaitingReset.clear();
  }

  /** Replays what the leader's connection, subscriptions and mutations went through. */
  apply(m: TabMessage): void {
    const { parts } = this;
    const pending = parts.writes.pending;
    const held = (id: string) => (this.isHeld(id) ? parts.registry.get(id) : undefined);
    const following = (id: string) => (this.awaitingReset.has(id) ? undefined : held(id));
    switch (m.t) {
      case 'presence-event':
        return presenceEvent(parts, m.event);
      case 'state':
        return this.connectionChanged(m.connection);
      case 'changes': {
        parts.ownRows.streamMessage(m.message);
        const changes = m.message.changes.filter((c) => following(c.subscription) !== undefined);
        if (changes.length > 0) parts.registry.applyChanges({ ...m.message, changes });
        parts.writes.onStream(m.message);
        return emitCommitted(parts, m.message);
      }
      case 'ack':
        parts.ownRows.streamMessage(m.message);
        // Exactly the subscriptions whose cursor the leader moved (those its connection had attached).
        for (const id of m.advanced) {
          const sub = following(id);
          if (sub) {
            sub.attached = true;
            sub.advanceCursor(m.message.cursor);
          }
        }
        parts.writes.onStream(m.message);
        parts.emitter.emit('ack', m.message);
        return emitCommitted(parts, m.message);
      case 'reset': {
        const sub = held(m.id);
        if (!sub) return;
        this.awaitingReset.delete(m.id);
        sub.restore(m.rows, m.cursor, m.table);
        // Own rows the leader still waits for: if it goes first, we place them when the answers come,
        // unless the stream changed them since (the leader knows where; our copy may not show it).
        return parts.ownRows.adopt(m.id, m.awaited, m.touched);
      }
      case 'resync':
        return held(m.id)?.resync();
      case 'own': {
        const sub = held(m.id);
        if (!sub) return;
        parts.ownRows.replicated(m.id, m.key);
        if (m.change && m.applied) sub.replicateOwn(m.change);
        return parts.writes.refreshRow(m.id, m.key);
      }
      case 'fail':
      case 'sub-error':
        return held(m.id)?.fail(m.error);
      case 'pending-add':
        if (!pending.get(m.mutation.mutationId)) {
          const { mutationId, body, createdAt, status } = m.mutation;
          pending.add(mutationId, body, { createdAt, status });
        }
        return;
      case 'pending-confirm':
        pending.confirm(m.mutationId, m.rows, m.cursor);
        return;
      case 'pending-reject':
        pending.reject(m.mutationId, m.error, m.current);
        return;
      default:
        return;
    }
  }

  private connectionChanged(connection: ConnectionMirror): void {
    const { parts } = this;
    const previous = this.state;
    this.mirrored = connection;
    // The leader's connection came (back) up: our rooms join again on it.
    if (connection.state === 'open' && previous !== 'open') parts.rooms.opened();
    if (connection.state === 'backoff') parts.registry.connectionLost();
    if (connection.state === 'closed' && connection.error) {
      parts.lastError = connection.error;
      parts.emitter.emit('error', connection.error);
      const why = SyncError.from(connection.error);
      for (const sub of parts.registry.byId.values()) sub.dispose(why);
    }
    if (previous !== connection.state) {
      parts.emitter.emit('state', { state: connection.state, previous, reason: undefined });
    }
  }
}
