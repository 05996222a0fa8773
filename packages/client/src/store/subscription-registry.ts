import type { AckMessage, Change, ChangesMessage, MutationRef, SnapshotMessage } from '@syncline/protocol';
import type { SyncClientStats } from '../stats.ts';
import type { Subscription } from './subscription.ts';

export interface TransactionEvent {
  cursor: string;
  /** Only the changes actually applied (duplicates and dropped ones excluded). */
  changes: readonly Change[];
  mutations?: readonly MutationRef[];
}

/**
 * Applies stream messages to the subscriptions they concern.
 *
 * Ordering relies on one server guarantee: within one stream, cursors are
 * fixed-width strings whose plain string comparison (`<`, `>=`) matches
 * commit order. We never parse them; we only compare them. That lets us drop
 * a transaction a resumed stream re-sends (cursor <= the one we hold).
 *
 *   changes{cursor, [c1(s1), c2(s2), c3(s1)]}
 *      └─ group by subscription ─▶ s1:[c1,c3]  s2:[c2]
 *           └─ admit each: unknown | not-ready | duplicate | apply
 *                └─ apply all admitted ─▶ then notify each once ─▶ 'transaction'
 */
export class SubscriptionRegistry {
  readonly byId = new Map<string, Subscription>();

  constructor(
    private readonly stats: SyncClientStats,
    private readonly onTransaction: (event: TransactionEvent) => void,
  ) {}

  get(id: string): Subscription | undefined {
    return this.byId.get(id);
  }

  applySnapshot(message: SnapshotMessage): void {
    const sub = this.byId.get(message.subscription);
    if (!sub) return;
    sub.receiveSnapshot(message);
    if (message.done) this.stats.snapshotsCompleted++;
  }

  applyChanges(message: ChangesMessage): void {
    const admitted: Array<[Subscription, Change[]]> = [];
    for (const [id, changes] of groupBySubscription(message.changes)) {
      const sub = this.byId.get(id);
      const verdict = sub ? sub.admit(message.cursor) : 'unknown';
      if (sub && (verdict === 'apply' || verdict === 'duplicate')) sub.attached = true; // the server sends it to us
      if (verdict === 'apply' && sub) admitted.push([sub, changes]);
      else if (verdict === 'duplicate') this.stats.duplicatesIgnored++;
      else if (verdict === 'not-ready') this.stats.changesBeforeSnapshot += changes.length;
      else this.stats.changesForUnknownSubscription += changes.length;
    }
    if (admitted.length === 0) return;

    // Apply everywhere first: a listener of one subscription must not observe
    // another one still missing its half of the same transaction.
    for (const [sub, changes] of admitted) sub.apply(changes, message.cursor);
    const applied = admitted.flatMap(([, changes]) => changes);
    this.stats.messagesApplied++;
    this.stats.changesApplied += applied.length;
    for (const [sub, changes] of admitted) sub.emitChange('changes', changes);

    const event: TransactionEvent = { cursor: message.cursor, changes: applied };
    if (message.mutations) event.mutations = message.mutations;
    this.onTransaction(event);
  }

  /**
   * An ack stands in for a transaction whose rows the initiator already has,
   * so every live subscription attached to this connection is now at least at
   * its cursor. Returns the ids whose cursor moved.
   */
  applyAck(message: AckMessage): string[] {
    const moved: string[] = [];
    for (const sub of this.byId.values()) if (sub.advanceCursor(message.cursor)) moved.push(sub.id);
    return moved;
  }

  /** WebSocket `SUBSCRIBED`: the server has it on this connection; its replay follows. */
  attached(id: string, table: string): void {
    this.byId.get(id)?.attach(table);
  }

  connectionLost(): void {
    for (const sub of this.byId.values()) sub.connectionLost();
  }
}

function groupBySubscription(changes: readonly Change[]): Map<string, Change[]> {
  const groups = new Map<string, Change[]>();
  for (const change of changes) {
    const group = groups.get(change.subscription);
    if (group) group.push(change);
    else groups.set(change.subscription, [change]);
  }
  return groups;
}
