/**
 * The client's write side, wired together: optimistic view, outbox, undo.
 *
 *   mutate(ops) ─► pending (view updates at once) ─► outbox ─► POST /v1/mutate ─► confirm/reject
 *   stream changes/ack with our mutation ids ─► acknowledged (kept on screen until the answer lands)
 *   subscriptions' rows ─► base rows per table (the server truth the view replays on)
 *
 * Tables come from `GET /v1/collections` (collection → table). Mutation ids and
 * unsent mutations live in local storage when there is one, so they survive reloads.
 */
import type {
  AckMessage,
  Change,
  ChangesMessage,
  CoveredChange,
  JsonValue,
  Row,
  WriteOp,
  WrittenRow,
} from '@syncline/protocol';
import type { TokenSource } from '../connection/requests.ts';
import { commonHeaders, endpoint, resolveToken } from '../connection/requests.ts';
import type { FetchLike, Timers } from '../connection/timers.ts';
import type { LocalStore } from '../persistence/local-store.ts';
import type { Subscription } from '../store/subscription.ts';
import { UndoManager } from '../undo/undo-manager.ts';
import { Outbox, type MutationIdCounter, type OutboxPersistence } from './outbox.ts';
import { PendingMutations, isOpsBody, type MutationBody, type RejectedEvent } from './pending-mutations.ts';
import { normaliseTable, type BaseRows, type VersionedRow } from './table-rows.ts';

/**
 * Where a covered row goes: the subscription it belonged to, as a change to
 * apply (undefined: the answer has no row for it, nothing to place), and the
 * cursor of the message that covered it.
 */
export type ApplyCovered = (subscriptionId: string, key: string, change: Change | undefined, coveredAt: string) => void;

export interface ClientWritesOptions {
  baseUrl: string;
  clientId: string;
  token: TokenSource | undefined;
  fetch: FetchLike;
  timers: Timers;
  random: () => number;
  store: LocalStore | undefined;
  onRejected: (e: RejectedEvent) => void;
  /** Applies a row of our own answer to a subscription the stream said it belongs to. */
  applyCovered: ApplyCovered;
  /** Another tab may lead (multitab/): show stored mutations, send none until `lead()`. */
  following?: boolean;
}

/** Own rows the stream left out of the message at `cursor`, to place once the answers of `ids` are here. */
export interface AwaitedOwnRows {
  ids: number[];
  covered: CoveredChange[];
  cursor: string;
}

/** Answers kept to pair with `covered` entries that arrive after them. */
const KEEP_ANSWERS = 200;

export class ClientWrites {
  readonly pending = new PendingMutations();
  readonly undoManager = new UndoManager();
  readonly outbox: Outbox;
  private tables: Promise<Map<string, string>> | undefined;
  /** The same map once it has arrived, for synchronous readers. */
  private tableNames: Map<string, string> | undefined;
  private subscriptions: readonly Subscription[] = [];
  /** Subscription id → collection, as of the last rebuild (read per stream message: built once there). */
  private collectionOf = new Map<string, string>();
  /** Confirmed answers' rows by mutation id (recent ones). */
  private readonly answers = new Map<number, WrittenRow[]>();
  /** Covered entries still waiting for their mutation's answer. */
  private waiting: AwaitedOwnRows[] = [];
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
      this.answers.set(e.mutationId, [...e.rows]);
      if (this.answers.size > KEEP_ANSWERS) this.answers.delete(this.answers.keys().next().value as number);
      void this.applyWaiting();
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
    void this.applyWaiting();
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
    if (!message.mutations) return;
    this.pending.acknowledge(message.mutations, this.o.clientId, message.cursor);
    // Followers too: the leader's answer reaches them mirrored, and one that takes over before it
    // arrives must still know where its rows go when the answer is replayed.
    if (message.covered && message.covered.length > 0) {
      const ids = message.mutations.filter((m) => m.clientId === this.o.clientId).map((m) => m.mutationId);
      this.waiting.push({ ids, covered: message.covered, cursor: message.cursor });
      void this.applyWaiting();
    }
  }

  /**
   * The stream left our own rows out (they are in our answers) and said which
   * subscriptions they belong to; once the answer is here, put them there.
   */
  private async applyWaiting(): Promise<void> {
    if (this.waiting.length === 0) return;
    if (this.remote) {
      // Following: the leader places our rows (and tells us how it went). Keep only what waits for an
      // answer nobody has had yet: if the leader goes first, we place those ourselves (see lead()).
      this.waiting = this.waiting.filter(({ ids }) => ids.some((id) => !this.answers.has(id)));
      return;
    }
    const tables = await this.collectionTables();
    if (tables.size === 0) return; // not known yet: wait (the next rebuild asks again, then tries these)
    const collectionOf = this.collectionOf;
    this.waiting = this.waiting.filter(({ ids, covered, cursor }) => {
      const rows = ids.flatMap((id) => this.answers.get(id) ?? []);
      if (ids.some((id) => !this.answers.has(id))) return true; // an answer is still on its way
      for (const c of covered) {
        const table = tables.get(collectionOf.get(c.collection) ?? '');
        // The answer's last row for the key is the newest the client may know of.
        const written = rows.filter((r) => r.table === table && r.key === c.key).at(-1);
        if (!written) {
          this.o.applyCovered(c.collection, c.key, undefined, cursor);
          continue;
        }
        this.o.applyCovered(
          c.collection,
          c.key,
          {
            collection: c.collection,
            op: c.op === 'delete' || written.row === null ? 'delete' : c.op,
            key: c.key,
            row: c.op === 'delete' ? null : written.row,
            version: c.op === 'delete' ? c.version : written.version,
          },
          cursor,
        );
      }
      return false;
    });
  }

  /** The subscriptions changed: rebuild the base (server truth) per table from all their rows. */
  rebuildBase(subscriptions: Iterable<Subscription>): void {
    this.subscriptions = [...subscriptions];
    this.collectionOf = new Map(this.subscriptions.map((s) => [s.id, s.collection]));
    void this.collectionTables().then((tables) => {
      const base = new Map<string, Map<string, VersionedRow>>();
      for (const sub of this.subscriptions) {
        const table = tables.get(sub.collection);
        if (!table || sub.status !== 'live') continue;
        let rows = base.get(table);
        if (!rows) base.set(table, (rows = new Map()));
        for (const [key, r] of sub.rowsByKey()) {
          const had = rows.get(key);
          if (!had || had.version < r.version) rows.set(key, { row: r.row, version: r.version });
        }
      }
      this.pending.setBase(base as BaseRows);
      void this.applyWaiting(); // own rows that waited for the tables
    });
  }

  /** The subscription is gone: its own rows have nowhere to go (a new one of the same id starts from the server). */
  forgetCovered(subscriptionId: string): void {
    this.waiting = this.waiting.flatMap((w) => {
      const covered = w.covered.filter((c) => c.collection !== subscriptionId);
      return covered.length > 0 ? [{ ...w, covered }] : [];
    });
  }

  /** Leader: own rows still to come for one subscription (a follower taking a copy must know of them). */
  awaitedFor(subscriptionId: string): AwaitedOwnRows[] {
    return this.waiting.flatMap((w) => {
      const covered = w.covered.filter((c) => c.collection === subscriptionId);
      return covered.length > 0 ? [{ ids: [...w.ids], covered, cursor: w.cursor }] : [];
    });
  }

  /** Follower: the leader's awaited own rows that came with a copy; returns those new to us. */
  adoptAwaited(entries: readonly AwaitedOwnRows[]): AwaitedOwnRows[] {
    const known = new Set(this.waiting.flatMap((w) => w.covered.map((c) => `${w.cursor}|${c.collection}|${c.key}`)));
    const added: AwaitedOwnRows[] = [];
    for (const e of entries) {
      const covered = e.covered.filter((c) => !known.has(`${e.cursor}|${c.collection}|${c.key}`));
      if (covered.length === 0 || e.ids.every((id) => this.answers.has(id))) continue;
      const entry = { ids: e.ids, covered, cursor: e.cursor };
      this.waiting.push(entry);
      added.push(entry);
    }
    return added;
  }

  /** Stream changes applied to the subscriptions (their rows reach base by rebuild): see PendingMutations.noteStream. */
  noteStream(changes: readonly Change[], cursor: string): void {
    const rows: WrittenRow[] = [];
    for (const c of changes) {
      const table = this.tableFor(this.collectionOf.get(c.collection) ?? '');
      if (table) rows.push({ table, key: c.key, row: c.row, version: c.version });
    }
    this.pending.noteStream(rows, cursor);
  }

  /** A subscription of `collection` took a whole snapshot at `cursor` (see PendingMutations.noteSnapshot). */
  noteSnapshot(collection: string, cursor: string): void {
    const table = this.tableFor(collection);
    if (table) this.pending.noteSnapshot(table, cursor);
  }

  /** A collection's table, once `/v1/collections` has answered. */
  tableFor(collection: string): string | undefined {
    return this.tableNames?.get(collection);
  }

  close(): void {
    this.outbox.close();
  }

  private async submit(body: MutationBody): Promise<number> {
    const before = this.pending.view();
    const id = await this.enqueue(body);
    this.undoManager.record(id, isOpsBody(body) ? body.ops : this.pending.localOps({ body }, before), before);
    return id;
  }

  private enqueue(body: MutationBody): Promise<number> {
    return this.remote ? this.remote(body) : this.outbox.mutate(body);
  }

  private collectionTables(): Promise<Map<string, string>> {
    this.tables ??= (async () => {
      const token = await resolveToken(this.o.token);
      const res = await this.o.fetch(endpoint(this.o.baseUrl, '/v1/collections'), {
        method: 'GET',
        headers: commonHeaders(this.o.clientId, token),
      });
      const body = (await res.json()) as { collections: Array<{ name: string; table: string }> };
      this.tableNames = new Map(body.collections.map((c) => [c.name, c.table]));
      return this.tableNames;
    })().catch((e: unknown) => {
      this.tables = undefined; // try again on the next rebuild
      throw e;
    });
    return this.tables.catch(() => new Map());
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
