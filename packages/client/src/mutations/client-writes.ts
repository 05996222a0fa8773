/**
 * The client's write side, wired together: optimistic view, outbox, undo.
 *
 *   mutate(ops) ─► pending (view updates at once) ─► outbox ─► POST /v1/mutate ─► confirm/reject
 *   stream changes/ack with our mutation ids ─► acknowledged (kept on screen until the answer lands)
 *   subscriptions' rows ─► base rows per table (the server truth the view replays on):
 *     rebuilt whole on snapshot/resync/unsubscribe; a stream change edits only its keys
 *
 * Each subscription knows its table (the server says it in `subscribed` and
 * `snapshot`). Mutation ids and unsent mutations live in local storage when
 * there is one, so they survive reloads.
 */
import type { AckMessage, Change, ChangesMessage, JsonValue, Row, WriteOp, WrittenRow } from '@syncline/protocol';
import type { TokenSource } from '../connection/requests.ts';
import { commonHeaders, endpoint, resolveToken } from '../connection/requests.ts';
import type { FetchLike, Timers } from '../connection/timers.ts';
import type { LocalStore } from '../persistence/local-store.ts';
import type { Subscription } from '../store/subscription.ts';
import { UndoManager } from '../undo/undo-manager.ts';
import { Outbox, type MutationIdCounter, type OutboxPersistence } from './outbox.ts';
import { PendingMutations, isOpsBody, type MutationBody, type RejectedEvent } from './pending-mutations.ts';
import { normaliseTable, RowsEditor, type VersionedRow } from './table-rows.ts';

export interface ClientWritesOptions {
  baseUrl: string;
  clientId: string;
  token: TokenSource | undefined;
  fetch: FetchLike;
  timers: Timers;
  random: () => number;
  store: LocalStore | undefined;
  onRejected: (e: RejectedEvent) => void;
  /** The client's subscriptions by id (live): base is their rows, merged per table. */
  subscriptions: ReadonlyMap<string, Subscription>;
  /** Another tab may lead (multitab/): show stored mutations, send none until `lead()`. */
  following?: boolean;
}

export class ClientWrites {
  readonly pending = new PendingMutations();
  readonly undoManager = new UndoManager();
  readonly outbox: Outbox;
  /** Base has been built from the subscriptions once: stream changes now edit it. */
  private baseBuilt = false;
  /**
   * Base keys an answer wrote (`table\0key`) since the last stream change: the
   * subscriptions may not hold those rows (yet), so the next one puts base back
   * to what they hold, as a whole rebuild would.
   */
  private readonly answerKeys = new Map<string, { table: string; key: string }>();
  /** Following another tab: mutations are queued there (set by the client), and its answers come mirrored. */
  private remote: ((body: MutationBody) => Promise<number>) | undefined;
  /** Leader: other tabs' requests being queued, so a repeated one gets the same mutation. */
  private readonly queueing = new Map<string, Promise<number>>();

  constructor(private readonly o: ClientWritesOptions) {
    this.outbox = new Outbox({
      clientId: o.clientId,
      pending: this.pending,
      timers: o.timers,
      random: o.random,
      counter: counterIn(o.store),
      paused: o.following === true,
      ...(o.store ? { persistence: outboxIn(o.store) } : {}),
      send: async (body) => {
        const token = await resolveToken(o.token);
        const res = await o.fetch(endpoint(o.baseUrl, '/v1/mutate'), {
          method: 'POST',
          headers: { ...commonHeaders(o.clientId, token), 'Content-Type': 'application/json' },
          body: JSON.stringify(body),
        });
        return { status: res.status, body: (await res.json().catch(() => null)) as unknown };
      },
    });
    this.pending.on('confirmed', (e) => {
      this.undoManager.confirmed(e.mutationId, e.rows);
      for (const w of e.rows) {
        const table = normaliseTable(w.table);
        this.answerKeys.set(`${table}\u0000${w.key}`, { table, key: w.key });
      }
    });
    this.pending.on('rejected', (e) => {
      this.undoManager.rejected(e.mutationId);
      o.onRejected(e);
    });
  }

  /** Restores unsent mutations (and the id counter) from storage and starts sending them. */
  async start(): Promise<void> {
    await this.outbox.rehydrate();
  }

  async mutate(ops: WriteOp[]): Promise<number> {
    return this.submit({ ops });
  }

  async mutator(name: string, args: unknown): Promise<number> {
    return this.submit({ mutator: name, args });
  }

  async undo(): Promise<number | undefined> {
    const body = this.undoManager.undo(this.pending.view());
    return body ? this.enqueue(body) : undefined;
  }

  async redo(): Promise<number | undefined> {
    const body = this.undoManager.redo(this.pending.view());
    return body ? this.enqueue(body) : undefined;
  }

  /** Another tab leads: queue mutations through `send` (it answers with the id); none are sent from here. */
  follow(send: (body: MutationBody) => Promise<number>): void {
    this.remote = send;
    this.outbox.pause();
  }

  /** This tab leads now: the stored outbox is the truth; send it. */
  async lead(): Promise<void> {
    this.remote = undefined;
    await this.outbox.adopt();
  }

  /** Leader: a mutation for another tab (which shows and records it itself); a repeated request gets the same id. */
  submitFor(requestId: string, body: MutationBody): Promise<number> {
    const known = this.outbox.idForRequest(requestId);
    if (known !== undefined) return Promise.resolve(known);
    const queueing = this.queueing.get(requestId);
    if (queueing) return queueing;
    const p = this.outbox.mutate(body, requestId).finally(() => this.queueing.delete(requestId));
    this.queueing.set(requestId, p);
    return p;
  }

  /** Resolves when the outbox's storage writes queued so far have landed. */
  settled(): Promise<void> {
    return this.outbox.settled();
  }

  /** The optimistic rows of a table: server rows with every pending mutation on top. */
  view(table: string): Row[] {
    const rows = this.pending.view().get(normaliseTable(table));
    return rows ? [...rows.values()].map((r) => r.row) : [];
  }

  /** Our mutations seen in the stream: kept on screen until their answers arrive with the rows. */
  onStream(message: ChangesMessage | AckMessage): void {
    if (message.mutations) this.pending.acknowledge(message.mutations, this.o.clientId, message.cursor);
  }

  /**
   * A snapshot, resync, unsubscribe or takeover: base is rebuilt from all the
   * subscriptions' rows (O(rows)). Written as an edit of the old base, so rows
   * that did not change keep their identity and live queries re-check only
   * the others. Stream changes do not come here (see `streamApplied`).
   */
  rebuildBase(): void {
    const merged = new Map<string, Map<string, VersionedRow>>();
    for (const sub of this.o.subscriptions.values()) {
      const table = sub.table;
      if (table === undefined || sub.status !== 'live') continue;
      let rows = merged.get(table);
      if (!rows) merged.set(table, (rows = new Map()));
      for (const [key, r] of sub.rowsByKey()) {
        const had = rows.get(key);
        if (!had || had.version < r.version) rows.set(key, r);
      }
    }
    const old = this.pending.base;
    const edit = new RowsEditor(old);
    for (const [table, rows] of old) {
      const next = merged.get(table);
      for (const key of rows.keys()) if (!next?.has(key)) edit.delete(table, key);
    }
    for (const [table, rows] of merged) {
      const had = old.get(table);
      for (const [key, r] of rows) if (had?.get(key) !== r) edit.set(table, key, r);
    }
    this.baseBuilt = true;
    this.answerKeys.clear();
    this.pending.setBase(edit.done());
  }

  /**
   * Changes the stream applied to the subscriptions: each changed key of base
   * becomes the newest row the live subscriptions of its table hold (or goes),
   * and so do the keys answers wrote since the last change — O(changes ×
   * subscriptions), whatever the number of rows held.
   */
  streamApplied(changes: readonly Change[], cursor: string): void {
    const rows: WrittenRow[] = [];
    for (const c of changes) {
      const table = this.tableOfSubscription(c.subscription);
      if (table) rows.push({ table, key: c.key, row: c.row, version: c.version });
    }
    this.pending.noteStream(rows, cursor);
    if (!this.baseBuilt) return; // the first rebuild brings them
    const keys = new Map(this.answerKeys);
    this.answerKeys.clear();
    for (const w of rows) keys.set(`${w.table}\u0000${w.key}`, w);
    this.pending.replaceBaseRows(
      [...keys.values()].map(({ table, key }) => this.mergedRow(table, key) ?? { table, key, row: null, version: 0 }),
    );
  }

  /** An own row placed in (or dropped from) a subscription: base takes what the subscriptions now hold for it. */
  refreshRow(subscriptionId: string, key: string): void {
    const table = this.tableOfSubscription(subscriptionId);
    if (!table || !this.baseBuilt) return;
    this.pending.replaceBaseRows([this.mergedRow(table, key) ?? { table, key, row: null, version: 0 }]);
  }

  /** The newest row the live subscriptions of `table` hold for `key`. */
  private mergedRow(table: string, key: string): WrittenRow | undefined {
    let best: VersionedRow | undefined;
    for (const sub of this.o.subscriptions.values()) {
      if (sub.status !== 'live' || sub.table !== table) continue;
      const r = sub.rowsByKey().get(key);
      if (r && (!best || best.version < r.version)) best = r;
    }
    return best ? { table, key, row: best.row, version: best.version } : undefined;
  }

  private tableOfSubscription(subscriptionId: string): string | undefined {
    return this.o.subscriptions.get(subscriptionId)?.table;
  }

  /** A subscription of `table` took a whole snapshot at `cursor` (see PendingMutations.noteSnapshot). */
  noteSnapshot(table: string, cursor: string): void {
    this.pending.noteSnapshot(table, cursor);
  }

  close(): void {
    this.outbox.close();
  }

  private async submit(body: MutationBody): Promise<number> {
    const before = this.pending.view();
    const id = await this.enqueue(body);
    if (!this.pending.undoable(body)) return id;
    this.undoManager.record(id, isOpsBody(body) ? body.ops : this.pending.localOps({ body }, before), before);
    return id;
  }

  private enqueue(body: MutationBody): Promise<number> {
    return this.remote ? this.remote(body) : this.outbox.mutate(body);
  }
}

function counterIn(store: LocalStore | undefined): MutationIdCounter {
  let n = 0;
  if (!store) return { get: () => Promise.resolve(n), set: (v) => Promise.resolve(void (n = v)) };
  return {
    get: async () => (await store.meta.get('lastMutationId')) ?? 0,
    set: (v) => store.meta.set('lastMutationId', v),
  };
}

function outboxIn(store: LocalStore): OutboxPersistence {
  // The outbox's createdAt is the `set-now` value its view showed (JSON); the store's is a
  // timestamp. Keep the former inside the stored body.
  return {
    list: async () =>
      (await store.outbox.list()).map((e) => {
        const stored = e.body as unknown as { body: MutationBody; createdAt?: JsonValue; requestId?: string };
        return {
          mutationId: e.mutationId,
          body: stored.body,
          ...(stored.createdAt !== undefined ? { createdAt: stored.createdAt } : {}),
          ...(stored.requestId !== undefined ? { requestId: stored.requestId } : {}),
        };
      }),
    append: (e) =>
      store.outbox.append({
        mutationId: e.mutationId,
        body: {
          body: e.body,
          ...(e.createdAt !== undefined ? { createdAt: e.createdAt } : {}),
          ...(e.requestId !== undefined ? { requestId: e.requestId } : {}),
        } as unknown as JsonValue,
        createdAt: Date.now(),
      }),
    delete: (id) => store.outbox.delete(id),
  };
}
