/**
 * Undo/redo of local mutations. For each local mutation the inverse ops are
 * computed from the view state it changed (insert → delete; delete → insert of
 * the old row without `version`; set/update → set/update of the changed
 * columns' old values; set-now → update with the old value). `undo()` returns
 * them as a NEW mutation body that the caller submits like any other mutation
 * (undo is a forward write, never a local rewind), and queues its own inverse
 * on the redo stack; `redo()` is symmetric.
 *
 * Concurrent edits: the first inverse op on each row carries `expectedVersion`
 * = the version the undone mutation produced (taken from its confirmation rows,
 * fed in through `confirmed()`). If another user changed that row since, the
 * server answers 409 CONFLICT with `current`, the undo mutation is rejected and
 * rolled back like any other, and the caller surfaces it ("this changed since —
 * can't undo"). We chose this over silently overwriting someone else's newer
 * edit with our old value. While the mutation is not yet confirmed its
 * produced version is unknown and the inverse is sent without `expectedVersion`
 * (last writer wins, which is the only other edit possible: ours).
 */
import type { JsonValue, Row, WriteOp, WrittenRow } from '@syncline/protocol';
import { applyOp, defaultKeyOf, opTarget, type KeyOf } from '../mutations/apply-ops.ts';
import { Emitter, type Listener } from '../store/emitter.ts';
import { normaliseTable, RowsEditor, type BaseRows } from '../mutations/table-rows.ts';

export interface UndoManagerOptions {
  /** Entries kept on the undo stack; the oldest is dropped beyond it. Default 100. */
  maxHistory?: number;
  keyOf?: KeyOf;
  /** Only used to step through `set-now` ops while computing inverses. */
  now?: () => JsonValue;
}

export interface UndoState {
  canUndo: boolean;
  canRedo: boolean;
}

export interface UndoManagerEvents {
  change: UndoState;
}

interface Entry {
  /** The mutation whose effect this entry reverts (undefined until its body was recorded). */
  mutationId: number | undefined;
  /** Inverse ops, in the order to send them, without expectedVersion. */
  inverse: WriteOp[];
  /** Row id → version the mutation produced, from its confirmation. */
  versions: Map<string, number>;
}

/** Inverse ops of `ops` applied to `viewBefore`, in the order that reverts them (last op first). */
export function inverseOps(
  ops: readonly WriteOp[],
  viewBefore: BaseRows,
  options: { keyOf?: KeyOf; now?: () => JsonValue } = {},
): WriteOp[] {
  const keyOf = options.keyOf ?? defaultKeyOf;
  const ctx = { now: options.now ?? (() => null), keyOf };
  const edit = new RowsEditor(viewBefore);
  const inverse: WriteOp[] = [];
  for (const op of ops) {
    const target = opTarget(op, keyOf);
    const before = target ? edit.get(target.table, target.key) : undefined;
    const inv = invert(op, before?.row, target?.key);
    if (inv) inverse.push(inv);
    applyOp(edit, op, ctx);
  }
  return inverse.reverse();
}

function invert(op: WriteOp, before: Row | undefined, key: string | undefined): WriteOp | undefined {
  const table = op.table;
  switch (op.type) {
    case 'insert': {
      if (key === undefined) return undefined;
      const id = op.row['id'];
      return { type: 'delete', table, id: typeof id === 'string' || typeof id === 'number' ? id : key };
    }
    case 'delete': {
      if (!before) return undefined;
      const row: Record<string, unknown> = { ...before };
      delete row['version'];
      return { type: 'insert', table, row };
    }
    case 'set':
      return before ? { type: 'set', table, id: op.id, key: op.key, value: before[op.key] ?? null } : undefined;
    case 'set-now':
      return before ? { type: 'update', table, id: op.id, values: { [op.key]: before[op.key] ?? null } } : undefined;
    case 'update': {
      if (!before) return undefined;
      const values: Record<string, unknown> = {};
      for (const c of Object.keys(op.values)) values[c] = before[c] ?? null;
      return { type: 'update', table, id: op.id, values };
    }
  }
}

function rowId(table: string, key: string): string {
  return `${normaliseTable(table)}\u0000${key}`;
}

export class UndoManager {
  private readonly emitter = new Emitter<UndoManagerEvents>();
  private undoStack: Entry[] = [];
  private redoStack: Entry[] = [];
  /** Bodies handed out by undo()/redo() → the entry waiting for that body's mutation id. */
  private readonly awaiting = new WeakMap<readonly WriteOp[], Entry>();
  private readonly maxHistory: number;
  private readonly keyOf: KeyOf;
  private readonly now: () => JsonValue;
  private last: UndoState = { canUndo: false, canRedo: false };

  constructor(options: UndoManagerOptions = {}) {
    this.maxHistory = Math.max(1, options.maxHistory ?? 100);
    this.keyOf = options.keyOf ?? defaultKeyOf;
    this.now = options.now ?? (() => null);
  }

  on<K extends keyof UndoManagerEvents>(event: K, listener: Listener<UndoManagerEvents[K]>): () => void {
    return this.emitter.on(event, listener);
  }

  get canUndo(): boolean {
    return this.undoStack.length > 0;
  }

  get canRedo(): boolean {
    return this.redoStack.length > 0;
  }

  /**
   * A mutation was submitted: `ops` are the ops it shows in the view (a
   * mutator's prediction), `viewBefore` the view just before it was added.
   * A local mutation clears redo; the body of an undo()/redo() (the same `ops`
   * array) only learns its mutation id.
   */
  record(mutationId: number, ops: readonly WriteOp[], viewBefore: BaseRows): void {
    const waiting = this.awaiting.get(ops);
    if (waiting) {
      this.awaiting.delete(ops);
      waiting.mutationId = mutationId;
      return;
    }
    this.redoStack = [];
    const inverse = inverseOps(ops, viewBefore, { keyOf: this.keyOf, now: this.now });
    if (inverse.length > 0) this.push(this.undoStack, { mutationId, inverse, versions: new Map() });
    this.changed();
  }

  /** A mutation's confirmation rows: the versions its undo will expect. */
  confirmed(mutationId: number, rows: readonly WrittenRow[]): void {
    for (const entry of [...this.undoStack, ...this.redoStack]) {
      if (entry.mutationId !== mutationId) continue;
      for (const w of rows) entry.versions.set(rowId(w.table, w.key), w.version);
    }
  }

  /** A mutation was rejected: there is nothing of it to undo (or redo). */
  rejected(mutationId: number): void {
    this.undoStack = this.undoStack.filter((e) => e.mutationId !== mutationId);
    this.redoStack = this.redoStack.filter((e) => e.mutationId !== mutationId);
    this.changed();
  }

  /** The body of a new mutation that undoes the latest recorded one (undefined when nothing to undo). */
  undo(view: BaseRows): { ops: WriteOp[] } | undefined {
    return this.step(this.undoStack, this.redoStack, view);
  }

  /** The body of a new mutation that redoes the latest undone one. */
  redo(view: BaseRows): { ops: WriteOp[] } | undefined {
    return this.step(this.redoStack, this.undoStack, view);
  }

  clear(): void {
    this.undoStack = [];
    this.redoStack = [];
    this.changed();
  }

  private step(from: Entry[], to: Entry[], view: BaseRows): { ops: WriteOp[] } | undefined {
    const entry = from.pop();
    if (!entry) return undefined;
    const ops = this.withExpectedVersions(entry);
    // Its own inverse, from the view it will change: what redo (or undo again) sends.
    const back: Entry = {
      mutationId: undefined,
      inverse: inverseOps(ops, view, { keyOf: this.keyOf, now: this.now }),
      versions: new Map(),
    };
    if (back.inverse.length > 0) {
      this.push(to, back);
      this.awaiting.set(ops, back);
    }
    this.changed();
    return { ops };
  }

  private withExpectedVersions(entry: Entry): WriteOp[] {
    const seen = new Set<string>();
    return entry.inverse.map((op) => {
      const target = opTarget(op, this.keyOf);
      if (!target) return op;
      const id = rowId(target.table, target.key);
      if (seen.has(id)) return op;
      seen.add(id);
      const version = entry.versions.get(id);
      if (op.type === 'insert' || version === undefined) return op;
      return { ...op, expectedVersion: version };
    });
  }

  private push(stack: Entry[], entry: Entry): void {
    stack.push(entry);
    while (stack.length > this.maxHistory) stack.shift();
  }

  private changed(): void {
    const state = { canUndo: this.canUndo, canRedo: this.canRedo };
    if (state.canUndo === this.last.canUndo && state.canRedo === this.last.canRedo) return;
    this.last = state;
    this.emitter.emit('change', state);
  }
}
