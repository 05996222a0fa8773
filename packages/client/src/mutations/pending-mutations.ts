/**
 * Pending (unconfirmed) local mutations and the view they produce: Replicache's
 * model. The view is base (server truth) with every pending mutation's ops
 * replayed on top in mutationId order, so a server change that arrives while a
 * mutation is in flight lands in base and the mutation is simply replayed on it
 * (rebase); a rejected one is dropped and the rest replayed (rollback).
 *
 * This class owns base, so that "the mutation leaves pending" and "its rows
 * enter base" are one step: a view observer never sees the pre-mutation value
 * between the optimistic one and the confirmed one (no flicker). For the same
 * reason a stream `ack` (which carries no rows) only marks a mutation
 * acknowledged: it leaves pending when the `POST /v1/mutate` answer brings its
 * rows (the outbox always gets one, replayed from the server's record if need be).
 *
 * Ordering server rows from two channels. The stream is ordered; a write's
 * answer can overtake it (the answer and the stream are different
 * connections), so each row remembers which channel last wrote it and at what
 * stream position (`cursor`, fixed-width hex, ordered within an epoch):
 *  - a stream row is skipped when an answer already wrote that row at a
 *    position at or after the stream message's;
 *  - an answer row is skipped when the stream already wrote that row at a
 *    later position.
 * Without cursors (a replayed answer has `cursor: null`) it falls back to row
 * versions: a row replaces base's only when newer; deletes the stream brings
 * while mutations are pending leave tombstones against late answers, and
 * deletes an answer brings before the stream's `ack` for that mutation leave
 * tombstones against lagging stream rows (until that ack). Versions restart
 * when a deleted key is re-inserted, which only cursors order correctly, so
 * pass them when you have them.
 */
import type { ErrorCode, JsonValue, MutationRef, WriteOp, WrittenRow } from '@syncline/protocol';
import { applyOps, defaultKeyOf, type KeyOf } from './apply-ops.ts';
import { Emitter, type Listener } from '../store/emitter.ts';
import { emptyBaseRows, isNewer, normaliseTable, RowsEditor, type BaseRows } from './table-rows.ts';

export type OpsBody = { ops: WriteOp[] };
export type MutatorBody = { mutator: string; args?: unknown };
/** What `POST /v1/mutate` carries besides `clientId` and `mutationId`. */
export type MutationBody = OpsBody | MutatorBody;

/** A mutator's local prediction: the ops to show in the view, computed from the view it replays on. */
export type Predictor = (view: BaseRows, args: unknown) => readonly WriteOp[];

export interface MutatorOptions {
  /**
   * Default true: undo sends the inverse of the prediction as plain writes. Set false when the
   * user may not make those writes directly (the server would refuse the undo): the prediction
   * still shows, and undo history skips the mutation.
   */
  undoable?: boolean;
}

/** queued → sending (request in flight) → acknowledged (the stream said it committed; rows still to come). */
export type MutationStatus = 'queued' | 'sending' | 'acknowledged';

export interface PendingMutation {
  readonly mutationId: number;
  readonly body: MutationBody;
  /** `now()` when the mutation was added: what its `set-now` ops show in every replay. */
  readonly createdAt: JsonValue;
  readonly status: MutationStatus;
}

export interface MutationError {
  /** HTTP status of the answer (400, 403, 404, 409, …). */
  status: number;
  code: ErrorCode;
  message: string;
  op?: number;
  field?: string;
  /** For a 400 on a mutation id gap: the id the server expected. */
  expected?: number;
}

export interface RejectedEvent {
  mutationId: number;
  body: MutationBody;
  error: MutationError;
  /** For a 409: the row as it is on the server. */
  current?: WrittenRow;
}

export interface ConfirmedEvent {
  mutationId: number;
  rows: readonly WrittenRow[];
  /** The answer's stream position (null for a replayed answer). */
  cursor: string | null;
}

export type ChangeReason = 'add' | 'confirm' | 'reject' | 'server' | 'base' | 'mutator';

export interface ChangeEvent {
  reason: ChangeReason;
  /** The mutation concerned, for add/confirm/reject. */
  mutationId?: number;
}

export interface PendingMutationsEvents {
  change: ChangeEvent;
  rejected: RejectedEvent;
  confirmed: ConfirmedEvent;
}

export interface PendingMutationsOptions {
  base?: BaseRows;
  /** Value of `set-now` in the view, taken once per mutation; default an ISO timestamp. */
  now?: () => JsonValue;
  keyOf?: KeyOf;
  predictors?: Readonly<Record<string, Predictor>>;
  reportError?: (error: unknown) => void;
}

export function isOpsBody(body: MutationBody): body is OpsBody {
  return 'ops' in body;
}

export class PendingMutations {
  private currentBase: BaseRows;
  private list: PendingMutation[] = [];
  private readonly predictors = new Map<string, Predictor>();
  /** Mutators registered with `undoable: false`: their predictions show, but undo history skips them. */
  private readonly notUndoable = new Set<string>();
  private readonly emitter: Emitter<PendingMutationsEvents>;
  /** The `set-now` value a mutation added now would get (the outbox stores it before adding). */
  readonly now: () => JsonValue;
  private readonly keyOf: KeyOf;
  private readonly reportError: (error: unknown) => void;
  /** Deletes from the stream (row → last version), so a late answer cannot resurrect them; kept while mutations are pending. */
  private readonly streamTombstones = new Map<string, number>();
  /** Deletes from an answer the stream has not acknowledged yet, so a lagging stream row cannot resurrect them. */
  private readonly answerTombstones = new Map<string, { version: number; mutationId: number }>();
  /** Last stream position applied. */
  private streamCursor: string | undefined;
  /** Rows an answer wrote at a position the stream has not reached yet → that position. */
  private readonly aheadOfStream = new Map<string, string>();
  /** Rows the stream wrote while mutations were pending → position (answers older than it are stale). */
  private readonly streamTouched = new Map<string, string>();
  /** Per table, the latest snapshot cursor (one entry per table: bounded). */
  private readonly tableFloors = new Map<string, string>();
  private revision = 0;
  private memo: { base: BaseRows; revision: number; view: BaseRows } | undefined;

  constructor(options: PendingMutationsOptions = {}) {
    this.currentBase = options.base ?? emptyBaseRows();
    this.now = options.now ?? (() => new Date().toISOString());
    this.keyOf = options.keyOf ?? defaultKeyOf;
    this.reportError = options.reportError ?? ((e) => console.error('[syncline] mutation', e));
    this.emitter = new Emitter(this.reportError);
    for (const [name, p] of Object.entries(options.predictors ?? {})) this.predictors.set(name, p);
  }

  on<K extends keyof PendingMutationsEvents>(event: K, listener: Listener<PendingMutationsEvents[K]>): () => void {
    return this.emitter.on(event, listener);
  }

  get base(): BaseRows {
    return this.currentBase;
  }

  /** Pending mutations in mutationId order. */
  get mutations(): readonly PendingMutation[] {
    return this.list;
  }

  get size(): number {
    return this.list.length;
  }

  get(mutationId: number): PendingMutation | undefined {
    return this.list.find((m) => m.mutationId === mutationId);
  }

  /** Registers a mutator's local prediction; returns a function that removes it. */
  registerMutator(name: string, predict: Predictor, options: MutatorOptions = {}): () => void {
    this.predictors.set(name, predict);
    if (options.undoable === false) this.notUndoable.add(name);
    else this.notUndoable.delete(name);
    this.touch('mutator');
    return () => {
      if (this.predictors.get(name) !== predict) return;
      this.predictors.delete(name);
      this.notUndoable.delete(name);
      this.touch('mutator');
    };
  }

  /** Whether undo history records this body (plain writes always; a mutator unless registered `undoable: false`). */
  undoable(body: MutationBody): boolean {
    return isOpsBody(body) || !this.notUndoable.has(body.mutator);
  }

  /** Adds a local mutation (kept in mutationId order; a duplicate id throws). */
  add(
    mutationId: number,
    body: MutationBody,
    options: { status?: MutationStatus; createdAt?: JsonValue } = {},
  ): PendingMutation {
    if (this.get(mutationId)) throw new Error(`mutation ${mutationId} is already pending`);
    const mutation: PendingMutation = {
      mutationId,
      body,
      createdAt: options.createdAt ?? this.now(),
      status: options.status ?? 'queued',
    };
    const at = this.list.findIndex((m) => m.mutationId > mutationId);
    this.list = at < 0 ? [...this.list, mutation] : [...this.list.slice(0, at), mutation, ...this.list.slice(at)];
    this.revision++;
    this.emitter.emit('change', { reason: 'add', mutationId });
    return mutation;
  }

  /** Status only; the view does not depend on it, so no `change` is emitted. */
  setStatus(mutationId: number, status: MutationStatus): void {
    this.list = this.list.map((m) => (m.mutationId === mutationId ? { ...m, status } : m));
  }

  /**
   * A stream `ack` (or `changes` with `mutations`) naming our mutations: they
   * committed, but the rows come with the write's answer, so they stay in the
   * view until `confirm` (see the header comment). Returns the ids that matched.
   */
  acknowledge(refs: readonly MutationRef[], clientId: string, cursor?: string): number[] {
    if (cursor !== undefined) this.advanceStream(cursor);
    const ids = new Set(refs.filter((r) => r.clientId === clientId).map((r) => r.mutationId));
    for (const [id, t] of this.answerTombstones) if (ids.has(t.mutationId)) this.answerTombstones.delete(id);
    const matched: number[] = [];
    for (const m of this.list) if (ids.has(m.mutationId)) matched.push(m.mutationId);
    for (const id of matched) this.setStatus(id, 'acknowledged');
    return matched;
  }

  /** The view: `base` (default: the owned base) with pending mutations replayed. Memoised. */
  view(base: BaseRows = this.currentBase): BaseRows {
    const memo = this.memo;
    if (memo && memo.base === base && memo.revision === this.revision) return memo.view;
    let view = base;
    for (const m of this.list) view = this.replayOne(view, m);
    if (base === this.currentBase) this.memo = { base, revision: this.revision, view };
    return view;
  }

  /** The ops a mutation shows in the view, computed on `view` (for mutators: its prediction, or none). */
  localOps(mutation: Pick<PendingMutation, 'body'>, view: BaseRows): readonly WriteOp[] {
    const { body } = mutation;
    if (isOpsBody(body)) return body.ops;
    const predict = this.predictors.get(body.mutator);
    if (!predict) return [];
    try {
      return predict(view, body.args);
    } catch (error) {
      this.reportError(error);
      return [];
    }
  }

  /** Applies one mutation's local ops to `view`, as the replay does. */
  replayOne(view: BaseRows, mutation: Pick<PendingMutation, 'body' | 'createdAt'>): BaseRows {
    const createdAt = mutation.createdAt;
    return applyOps(view, this.localOps(mutation, view), { now: () => createdAt, keyOf: this.keyOf });
  }

  /** Replaces base wholesale (a snapshot or resync rebuilt it). */
  setBase(base: BaseRows): void {
    if (base === this.currentBase) return;
    this.currentBase = base;
    this.answerTombstones.clear();
    this.aheadOfStream.clear();
    this.emitter.emit('change', { reason: 'base' });
  }

  /**
   * Sets base rows as they are (`row: null` removes), outside the stream's
   * ordering: the client's subscriptions changed them (an own row placed, an
   * answer settled) and they are the truth for these keys.
   */
  replaceBaseRows(rows: readonly WrittenRow[]): void {
    const edit = new RowsEditor(this.currentBase);
    for (const w of rows) {
      const had = edit.get(w.table, w.key);
      if (w.row === null) edit.delete(w.table, w.key);
      else if (had?.row !== w.row || had.version !== w.version) {
        edit.set(w.table, w.key, { row: w.row, version: w.version });
      }
    }
    if (!edit.changed) return;
    this.currentBase = edit.done();
    this.emitter.emit('change', { reason: 'base' });
  }

  /**
   * A subscription on `table` took a whole snapshot at `cursor`: an answer from
   * before it is older than what base is rebuilt from (its row may be gone).
   */
  noteSnapshot(table: string, cursor: string): void {
    const t = normaliseTable(table);
    const floor = this.tableFloors.get(t);
    if (floor === undefined || compareCursors(cursor, floor) > 0) this.tableFloors.set(t, cursor);
  }

  /**
   * Stream rows that reach base another way (the client rebuilds base from its
   * subscriptions): remembered, while mutations are pending, so an answer that
   * lands later does not undo them (a row deleted after our write stays deleted).
   */
  noteStream(rows: readonly WrittenRow[], cursor: string): void {
    if (this.list.length > 0) {
      for (const w of rows) {
        const id = `${normaliseTable(w.table)}\u0000${w.key}`;
        if (w.row === null) this.streamTombstones.set(id, Math.max(w.version, this.streamTombstones.get(id) ?? 0));
        this.streamTouched.set(id, cursor);
      }
    }
    this.advanceStream(cursor);
  }

  /**
   * Server rows from the stream (`changes` mapped to their tables, or a
   * snapshot's rows), in stream order, with the message's `cursor`. Rows a
   * write's answer already brought newer are skipped; pending mutations are
   * replayed on top.
   */
  applyServerRows(rows: readonly WrittenRow[], cursor?: string): void {
    const edit = new RowsEditor(this.currentBase);
    for (const w of rows) this.mergeRow(edit, w, 'stream', cursor, undefined);
    if (cursor !== undefined) this.advanceStream(cursor);
    if (!edit.changed) return;
    this.currentBase = edit.done();
    this.emitter.emit('change', { reason: 'server' });
  }

  /**
   * The write's 200 answer: in one step the mutation leaves pending and its
   * rows (unless the stream already brought newer) enter base, then one
   * `change` is emitted. `cursor` is the answer's (null when replayed).
   * Returns false when the mutation was not pending (its rows are merged anyway).
   */
  confirm(mutationId: number, rows: readonly WrittenRow[], cursor?: string | null): boolean {
    const edit = new RowsEditor(this.currentBase);
    // Acknowledged: the stream is already past this write; nothing of it can lag behind.
    const unacked = this.get(mutationId)?.status !== 'acknowledged' ? mutationId : undefined;
    for (const w of rows) this.mergeRow(edit, w, 'answer', cursor ?? undefined, unacked);
    const found = this.remove(mutationId);
    this.currentBase = edit.done();
    if (found) this.emitter.emit('confirmed', { mutationId, rows, cursor: cursor ?? null });
    if (found || edit.changed) this.emitter.emit('change', { reason: 'confirm', mutationId });
    return found !== undefined;
  }

  /**
   * A permanent refusal (400/403/404/409): the mutation is dropped and the
   * rest replayed on base. A 409's `current` goes out with the event but is
   * NOT merged into base: the server reads it inside the failed transaction,
   * so after earlier ops of the same mutation it can be a state that was
   * rolled back, with a version that would then hide the real one. The stream
   * brings the row as it really is.
   */
  reject(mutationId: number, error: MutationError, current?: WrittenRow): boolean {
    const found = this.remove(mutationId);
    if (!found) return false;
    const event: RejectedEvent = { mutationId, body: found.body, error };
    if (current) event.current = current;
    this.emitter.emit('rejected', event);
    this.emitter.emit('change', { reason: 'reject', mutationId });
    return true;
  }

  /**
   * Forgets a mutation without an outcome: another tab leads, and its outbox
   * no longer has it (it was answered there, or never stored). Emits `change`.
   */
  drop(mutationId: number): boolean {
    if (!this.remove(mutationId)) return false;
    this.emitter.emit('change', { reason: 'reject', mutationId });
    return true;
  }

  private remove(mutationId: number): PendingMutation | undefined {
    const found = this.get(mutationId);
    if (!found) return undefined;
    this.list = this.list.filter((m) => m !== found);
    this.revision++;
    if (this.list.length === 0) {
      // No answer can come any more: only stream-vs-answer bookkeeping for answers in hand (aheadOfStream) stays.
      this.streamTombstones.clear();
      this.streamTouched.clear();
    }
    return found;
  }

  private mergeRow(
    edit: RowsEditor,
    w: WrittenRow,
    from: 'stream' | 'answer',
    cursor: string | undefined,
    unackedMutation: number | undefined,
  ): void {
    const table = normaliseTable(w.table);
    const id = `${table}\u0000${w.key}`;
    const pendingNow = this.list.length > 0;
    const current = edit.get(table, w.key);
    if (from === 'stream') {
      if (w.row === null && pendingNow) {
        // Even for rows base never held: our own insert's answer may still be on its way.
        this.streamTombstones.set(id, Math.max(w.version, this.streamTombstones.get(id) ?? 0));
      }
      const tombstone = this.answerTombstones.get(id)?.version;
      if (cursor !== undefined) {
        const ahead = this.aheadOfStream.get(id);
        if (ahead !== undefined && compareCursors(ahead, cursor) >= 0) return;
        if (ahead === undefined && tombstone !== undefined && w.row !== null && w.version <= tombstone) return;
        if (pendingNow) this.streamTouched.set(id, cursor);
      } else if (!isNewer(current, w, tombstone)) {
        return;
      }
    } else if (cursor !== undefined) {
      const floor = this.tableFloors.get(table);
      if (floor !== undefined && compareCursors(floor, cursor) > 0) return;
      const touched = this.streamTouched.get(id);
      if (touched !== undefined && compareCursors(touched, cursor) > 0) return;
      if (this.streamCursor === undefined || compareCursors(cursor, this.streamCursor) > 0)
        this.aheadOfStream.set(id, cursor);
    } else {
      if (w.row === null && unackedMutation !== undefined) {
        const version = Math.max(w.version, this.answerTombstones.get(id)?.version ?? 0);
        this.answerTombstones.set(id, { version, mutationId: unackedMutation });
      }
      if (!isNewer(current, w, this.streamTombstones.get(id))) return;
    }
    if (w.row === null) edit.delete(table, w.key);
    else edit.set(table, w.key, { row: w.row, version: w.version });
  }

  private advanceStream(cursor: string): void {
    if (this.streamCursor !== undefined && compareCursors(cursor, this.streamCursor) <= 0) return;
    this.streamCursor = cursor;
    for (const [id, at] of this.aheadOfStream) if (compareCursors(at, cursor) <= 0) this.aheadOfStream.delete(id);
  }

  private touch(reason: ChangeReason): void {
    this.revision++;
    this.emitter.emit('change', { reason });
  }
}

/** Orders stream cursors (fixed-width hex: epoch + LSN); a longer one sorts later. */
export function compareCursors(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}
