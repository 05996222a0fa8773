/**
 * Keeps a LocalStore in step with the client's subscriptions, so a reload (or a
 * new client on the same IndexedDB) shows the last rows at once, without the
 * network, and resumes each subscription from its stored cursor.
 *
 *   subscribe ─► subscriptions.put          unsubscribe ─► subscriptions.delete (rows too)
 *   snapshot done ─► rows replaced + cursor, in one transaction
 *   changes applied ─► rows + cursor per subscription, in one transaction
 *   ack ─► cursors of live subscriptions
 *
 * Writes go through one serial queue so a stored cursor never moves backwards;
 * a failed write is reported and skipped: memory stays the truth, and the
 * worst case after a crash is resuming from an older cursor (duplicates are
 * dropped by cursor) or a resync.
 */
import type { JsonValue, Row } from '@syncline/protocol';
import type { TransactionEvent } from '../store/subscription-registry.ts';
import type { Subscription } from '../store/subscription.ts';
import type { LocalStore, PersistedSubscription, SubscriptionUpdate } from './local-store.ts';

export class PersistedState {
  private queue: Promise<void> = Promise.resolve();

  constructor(
    readonly store: LocalStore,
    private readonly reportError: (error: unknown) => void,
  ) {}

  /** Stored subscriptions with their rows, for the client to rebuild before connecting. */
  async load(): Promise<
    Array<{ sub: PersistedSubscription; rows: Array<{ key: string; row: Row; version: number }> }>
  > {
    const subs = await this.store.subscriptions.list();
    const out = [];
    for (const sub of subs) {
      const rows = await this.store.rows.getAll(sub.id);
      out.push({ sub, rows: rows.map((r) => ({ key: r.key, row: r.row as Row, version: r.version })) });
    }
    return out;
  }

  subscribed(sub: Subscription): void {
    this.enqueue(() =>
      this.store.subscriptions.put({
        id: sub.id,
        collection: sub.collection,
        params: (sub.params ?? null) as JsonValue as never,
        cursor: sub.cursor ?? null,
      }),
    );
  }

  unsubscribed(id: string): void {
    this.enqueue(() => this.store.subscriptions.delete(id));
  }

  snapshotCommitted(sub: Subscription): void {
    const cursor = sub.cursor;
    if (cursor === undefined) return;
    const changes = [...sub.rowsByKey()].map(([key, r]) => ({
      op: 'insert' as const,
      key,
      row: r.row,
      version: r.version,
    }));
    this.enqueue(() => this.store.applyTransaction(sub.id, changes, cursor, { replace: true }));
  }

  transactionApplied(event: TransactionEvent): void {
    const bySub = new Map<string, SubscriptionUpdate['changes'][number][]>();
    for (const c of event.changes) {
      let list = bySub.get(c.collection);
      if (!list) bySub.set(c.collection, (list = []));
      list.push({ op: c.op, key: c.key, row: c.row, version: c.version });
    }
    const updates: SubscriptionUpdate[] = [...bySub].map(([subscriptionId, changes]) => ({
      subscriptionId,
      changes,
      cursor: event.cursor,
    }));
    if (updates.length > 0) this.enqueue(() => this.store.applyTransactions(updates));
  }

  cursorsAdvanced(subs: Iterable<Subscription>): void {
    const updates: SubscriptionUpdate[] = [];
    for (const s of subs)
      if (s.status === 'live' && s.cursor !== undefined)
        updates.push({ subscriptionId: s.id, changes: [], cursor: s.cursor });
    if (updates.length > 0) this.enqueue(() => this.store.applyTransactions(updates));
  }

  /** Resolves when every write queued so far has landed (tests, and before closing). */
  flush(): Promise<void> {
    return this.queue;
  }

  private enqueue(write: () => Promise<unknown>): void {
    this.queue = this.queue.then(write).then(
      () => undefined,
      (error: unknown) => this.reportError(error),
    );
  }
}
