/**
 * Live queries over the client's optimistic view.
 *
 *   const q = createQuery<Order>(source, 'order').where((o) => o.status === 'open').orderBy('created_at', 'desc').limit(20);
 *   q.run();                           // one-off
 *   const off = q.subscribe((rows) => render(rows)); // now, then whenever the result changes
 *
 * Builders are immutable (`where`/`orderBy`/`limit` return new builders); each
 * builder keeps its own live state, shared by all of its subscribers. A live
 * query does no work when another table changes (the table's map is the same
 * object), re-filters only the rows that changed when its table changes, and
 * notifies only when the result (row objects and their order) changes.
 * Results are frozen arrays.
 */
import type { Row } from '@syncline/protocol';
import { normaliseTable, type BaseRows } from '../mutations/table-rows.ts';
import type { Comparator, Direction } from './compare.ts';
import { QueryEvaluator, type QuerySpec } from './evaluator.ts';

/** The optimistic view and its change signal (SyncClient: the pending view and the 'view' event). */
export interface ViewSource {
  view(): BaseRows;
  onChange(listener: () => void): () => void;
}

export interface QueryBuilder<R extends Row = Row> {
  /** Keeps rows the predicate accepts; chained calls AND together. Predicates should be pure. */
  where(pred: (row: R) => boolean): QueryBuilder<R>;
  /** Sorts by a column or comparator; later calls break ties of earlier ones, the row key breaks the rest. */
  orderBy(key: (keyof R & string) | Comparator<R>, dir?: Direction): QueryBuilder<R>;
  /** At most n rows (after sorting). */
  limit(n: number): QueryBuilder<R>;
  /** Evaluates once against the current view (a frozen array). */
  run(): readonly R[];
  /** Calls `listener` with the result now, then each time it changes. Returns the unsubscribe function. */
  subscribe(listener: (rows: readonly R[]) => void): () => void;
  /** The result: while subscribed, the last one delivered; otherwise evaluated against the current view. */
  readonly current: readonly R[];
  /**
   * How many times this query was evaluated against a changed table (its
   * first run included): a change to another table costs it nothing and does
   * not count. For tests and benchmarks.
   */
  readonly runs: number;
}

export function createQuery<R extends Row = Row>(source: ViewSource, table: string): QueryBuilder<R> {
  return new Query<R>(source, { table: normaliseTable(table), where: [], orderBy: [], limit: Infinity });
}

class Query<R extends Row> implements QueryBuilder<R> {
  private evaluator: QueryEvaluator | undefined;
  private runCount = 0;
  private readonly listeners = new Set<(rows: readonly R[]) => void>();
  private detach: (() => void) | undefined;

  constructor(
    private readonly source: ViewSource,
    private readonly spec: QuerySpec,
  ) {}

  where(pred: (row: R) => boolean): QueryBuilder<R> {
    return this.with({ where: [...this.spec.where, pred as (row: Row) => boolean] });
  }

  orderBy(key: (keyof R & string) | Comparator<R>, dir: Direction = 'asc'): QueryBuilder<R> {
    if (dir !== 'asc' && dir !== 'desc') throw new RangeError(`orderBy: direction must be 'asc' or 'desc'`);
    const by = key as string | Comparator<Row>;
    return this.with({ orderBy: [...this.spec.orderBy, { by, dir }] });
  }

  limit(n: number): QueryBuilder<R> {
    if (!(n === Infinity || (Number.isInteger(n) && n >= 0))) {
      throw new RangeError(`limit: expected a non-negative integer, got ${n}`);
    }
    return this.with({ limit: n });
  }

  run(): readonly R[] {
    const evaluator = new QueryEvaluator(this.spec);
    this.update(evaluator);
    return evaluator.result as readonly R[];
  }

  get current(): readonly R[] {
    const evaluator = (this.evaluator ??= new QueryEvaluator(this.spec));
    if (this.detach === undefined) this.update(evaluator);
    return evaluator.result as readonly R[];
  }

  get runs(): number {
    return this.runCount;
  }

  /** Brings `evaluator` up to the current view of the table; returns whether its result changed. */
  private update(evaluator: QueryEvaluator): boolean {
    const table = this.source.view().get(this.spec.table);
    if (evaluator.isAt(table)) return false;
    this.runCount++;
    return evaluator.update(table);
  }

  subscribe(listener: (rows: readonly R[]) => void): () => void {
    const wrapped = (rows: readonly R[]): void => listener(rows);
    if (this.detach === undefined) {
      this.evaluator ??= new QueryEvaluator(this.spec);
      this.update(this.evaluator);
      this.detach = this.source.onChange(() => this.refresh());
    }
    this.listeners.add(wrapped);
    const unsubscribe = (): void => {
      if (!this.listeners.delete(wrapped) || this.listeners.size > 0) return;
      const detach = this.detach;
      this.detach = undefined;
      detach?.();
    };
    try {
      listener(this.current);
    } catch (error) {
      unsubscribe(); // the caller never got the unsubscribe function
      throw error;
    }
    return unsubscribe;
  }

  private refresh(): void {
    const evaluator = this.evaluator;
    if (evaluator === undefined || !this.update(evaluator)) return;
    const rows = evaluator.result as readonly R[];
    let failure: { error: unknown } | undefined;
    for (const listener of [...this.listeners]) {
      if (!this.listeners.has(listener)) continue; // unsubscribed by an earlier listener
      try {
        listener(rows);
      } catch (error) {
        failure ??= { error };
      }
    }
    if (failure) throw failure.error;
  }

  private with(patch: Partial<QuerySpec>): QueryBuilder<R> {
    return new Query<R>(this.source, { ...this.spec, ...patch });
  }
}
