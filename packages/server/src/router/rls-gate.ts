/**
 * Before a transaction is routed: PostgreSQL's verdicts for the rows of tables
 * whose policies were not compiled, one query per (table, distinct claims).
 *
 *   tx ─► touches a database-checked table with instances? ─ no ─► route now (no cost)
 *                                                          └ yes ─► visibleRows() per claims key
 *                                                                  ─► RowVerdicts ─► route ─► clear
 *
 * Tables those policies read (chat membership for chat messages) are watched:
 * a change there cannot be judged row by row, so the dependent subscriptions
 * refresh by differential sync (`rls-recheck`).
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import type { CapturedTransaction } from '../capture/captured-transaction.ts';
import type { CollectionInstance } from '../collections/collection-instance.ts';
import type { CollectionRegistry } from '../collections/collection-registry.ts';
import { databaseKey } from '../collections/collection-registry.ts';
import { visibleRows } from '../rls/database-check.ts';
import type { RowVerdicts } from '../rls/row-verdicts.ts';
import type { TablePolicy } from '../rls/table-policy.ts';

type DatabasePolicy = Extract<TablePolicy, { mode: 'database' }>;
type Row = Record<string, unknown>;

export class RlsGate {
  private readonly byTable = new Map<string, DatabasePolicy>();
  /** Table a policy reads → tables whose policies read it. */
  private readonly dependents = new Map<string, Set<string>>();
  queries = 0;

  constructor(
    private readonly registry: CollectionRegistry,
    private readonly pool: pg.Pool,
    private readonly role: string | undefined,
    private readonly verdicts: RowVerdicts,
    private readonly logger: Logger,
  ) {
    for (const t of registry.tables()) {
      const p = registry.policyOf(t.qualified);
      if (p?.mode !== 'database') continue;
      this.byTable.set(t.qualified, p);
      for (const d of p.dependsOn) {
        let set = this.dependents.get(d);
        if (!set) this.dependents.set(d, (set = new Set()));
        set.add(t.qualified);
        if (!registry.table(d))
          logger.warn(
            { table: t.qualified, reads: d },
            'a row-level security policy reads a table Syncline does not capture; changes there reach subscribers at their next resync',
          );
      }
    }
  }

  get active(): boolean {
    return this.byTable.size > 0;
  }

  isDatabaseChecked(table: string): boolean {
    return this.byTable.has(table);
  }

  /** Tables whose subscriptions must refresh because `tx` changed what their policies read. */
  recheckedBy(tx: CapturedTransaction): Set<string> {
    const out = new Set<string>();
    if (this.dependents.size === 0) return out;
    for (const t of tx.truncated) for (const d of this.dependents.get(t) ?? []) out.add(d);
    for (const c of tx.changes) for (const d of this.dependents.get(c.table) ?? []) out.add(d);
    return out;
  }

  /** Did anything after a cursor touch a database-checked table or what its policy reads? */
  touchedSince(table: string, txs: Iterable<CapturedTransaction>): boolean {
    const policy = this.byTable.get(table);
    if (!policy) return false;
    const watched = new Set([table, ...policy.dependsOn]);
    for (const tx of txs) {
      if (tx.truncated.some((t) => watched.has(t))) return true;
      for (const c of tx.changes) if (watched.has(c.table)) return true;
    }
    return false;
  }

  /** The instances `tx` needs verdicts for, grouped per table and claims key; null when none. */
  needs(
    tx: CapturedTransaction,
    instancesOf: (table: string) => CollectionInstance[],
  ): Map<string, Map<string, CollectionInstance>> | null {
    let out: Map<string, Map<string, CollectionInstance>> | null = null;
    for (const c of tx.changes) {
      if (!this.byTable.has(c.table) || out?.has(c.table)) continue;
      const byKey = new Map<string, CollectionInstance>();
      for (const i of instancesOf(c.table)) {
        if (i.subscribers.size === 0 && !i.snapshot) continue;
        byKey.set(databaseKey(i.identity), i);
      }
      if (byKey.size > 0) (out ??= new Map()).set(c.table, byKey);
    }
    return out;
  }

  /** Asks PostgreSQL, then records the verdicts for routing; throws if the database cannot answer. */
  async check(tx: CapturedTransaction, needed: Map<string, Map<string, CollectionInstance>>): Promise<void> {
    const jobs: Array<Promise<void>> = [];
    for (const [table, byKey] of needed) {
      const policy = this.byTable.get(table) as DatabasePolicy;
      const info = this.registry.table(table);
      if (!info || !this.role) continue;
      const rows: Row[] = [];
      for (const c of tx.changes) {
        if (c.table !== table) continue;
        if (c.row) rows.push(c.row);
        if (c.old) rows.push(c.old);
      }
      for (const [key, instance] of byKey) {
        this.queries++;
        jobs.push(
          visibleRows(this.pool, this.role, instance.identity, info, policy.sql, rows).then((visible) =>
            this.verdicts.set(table, key, visible),
          ),
        );
      }
    }
    const results = await Promise.allSettled(jobs);
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) {
      this.logger.warn({ err: (failed as PromiseRejectedResult).reason }, 'row-level security check failed');
      throw (failed as PromiseRejectedResult).reason;
    }
  }
}
