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

const NO_HOLD: ReadonlySet<string> = new Set();

export class PersistedState {
  private queue: Promise<void> = Promise.resolve();
  /** Writes waiting for a subscription's own rows (see transactionApplied). */
  private readonly held = new Map<string, SubscriptionUpdate[]>();
  /** Tables stored with their subscriptions (see tableKnown). */
  private readonly tables = new Map<string, string>();
  /** Off while another tab leads: that tab writes the shared store (see multitab/). */
  active = true;

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
        ...(sub.table !== undefined ? { table: sub.table } : {}),
      }),
    );
  }

  /**
   * Stored (without a cursor) unless it already is: a stored cursor must always
   * go with the stored rows, so an existing entry is left for a snapshot write
   * to move both at once.
   */
  subscribedIfMissing(sub: Subscription): void {
    this.enqueue(async () => {
      if (await this.store.subscriptions.get(sub.id)) return;
      await this.store.subscriptions.put({
        id: sub.id,
        collection: sub.collection,
        params: (sub.params ?? null) as JsonValue as never,
        cursor: null,
      });
    });
  }

  unsubscribed(id: string): void {
    this.held.delete(id);
    this.tables.delete(id);
    this.enqueue(() => this.store.subscriptions.delete(id));
  }

  /** All of the subscription's rows at its cursor; supersedes whatever was held for it. */
  snapshotCommitted(sub: Subscription): void {
    const cursor = sub.cursor;
    if (cursor === undefined) return;
    this.held.delete(sub.id);
    const changes = [...sub.rowsByKey()].map(([key, r]) => ({
      op: 'insert' as const,
      key,
      row: r.row,
      version: r.version,
    }));
    this.enqueue(() => this.store.applyTransaction(sub.id, changes, cursor, { replace: true }));
    this.tableKnown(sub);
  }

  /** The subscription's table, stored with it once known, so a reload can show its rows offline. */
  private tableKnown(sub: Subscription): void {
    const table = sub.table;
    if (table === undefined || this.tables.get(sub.id) === table) return;
    this.tables.set(sub.id, table);
    this.enqueue(async () => {
      const stored = await this.store.subscriptions.get(sub.id);
      if (stored && stored.table !== table) await this.store.subscriptions.put({ ...stored, table });
    });
  }

  /**
   * Rows and cursor of an applied transaction. Subscriptions in `hold` are
   * waiting for their own rows (an ack's `covered`): their writes wait too, so
   * a stored cursor never passes rows the store does not have yet.
   */
  transactionApplied(event: TransactionEvent, hold: ReadonlySet<string> = NO_HOLD): void {
    const bySub = new Map<string, SubscriptionUpdate['changes'][number][]>();
    for (const c of event.changes) {
      let list = bySub.get(c.subscription);
      if (!list) bySub.set(c.subscription, (list = []));
      list.push({ op: c.op, key: c.key, row: c.row, version: c.version });
    }
    const updates: SubscriptionUpdate[] = [];
    for (const [subscriptionId, changes] of bySub) {
      const update = { subscriptionId, changes, cursor: event.cursor };
      if (hold.has(subscriptionId)) this.hold(update);
      else updates.push(update);
    }
    if (updates.length > 0) this.enqueue(() => this.store.applyTransactions(updates));
  }

  /** The held subscription's own rows have arrived: store everything held, with them, at `cursor`. */
  release(subscriptionId: string, changes: SubscriptionUpdate['changes'], cursor: string): void {
    const held = this.held.get(subscriptionId) ?? [];
    this.held.delete(subscriptionId);
    const all = [...held.flatMap((u) => u.changes), ...changes];
    this.enqueue(() => this.store.applyTransactions([{ subscriptionId, changes: all, cursor }]));
  }

  private hold(update: SubscriptionUpdate): void {
    if (!this.active) return;
    const list = this.held.get(update.subscriptionId) ?? [];
    list.push(update);
    this.held.set(update.subscriptionId, list);
  }

  cursorsAdvanced(subs: Iterable<Subscription>, hold: ReadonlySet<string> = NO_HOLD): void {
    const updates: SubscriptionUpdate[] = [];
    for (const s of subs) {
      if (s.status !== 'live' || s.cursor === undefined || hold.has(s.id)) continue;
      updates.push({ subscriptionId: s.id, changes: [], cursor: s.cursor });
    }
    if (updates.length > 0) this.enqueue(() => this.store.applyTransactions(updates));
  }

  /** Resolves when every write queued so far has landed (tests, and before closing). */
  flush(): Promise<void> {
    return this.queue;
  }

  private enqueue(write: () => Promise<unknown>): void {
    if (!this.active) return;
    this.queue = this.queue.then(write).then(
      () => undefined,
      (error: unknown) => this.reportError(error),
    );
  }
}
