/**
 * Per-table write rules: who may insert, update or delete which rows, and which
 * columns a client may set. A table with no rules takes no generic writes at
 * all (named mutators still can write it).
 *
 * A rule is `true`, a filter (claims bound; the row must match — for update
 * both the row before and after), or a function. With `db.role`, RLS write
 * policies apply as well.
 */
import type { Row } from '@syncline/protocol';
import type { Filter } from '../collections/filter/filter-types.ts';
import type { CompiledFilter } from '../collections/filter/compile-filter.ts';
import { compileFilter } from '../collections/filter/compile-filter.ts';
import type { TableInfo } from '../collections/table-info.ts';
import type { Identity } from '../auth/token-verifier.ts';
import { SetupError } from '../util/errors.ts';

export interface WriteRuleContext {
  userId: string;
  claims: Record<string, unknown>;
  /** The row as it would be after the write (null for delete). */
  row: Row | null;
  /** The row before (null for insert). */
  old: Row | null;
}

export type WriteRule = true | Filter | ((ctx: WriteRuleContext) => boolean);

export interface TableWriteRules {
  /** Columns clients may set; omitted: every column. `version` is never client-set, primary keys never updated. */
  columns?: string[];
  insert?: WriteRule;
  update?: WriteRule;
  delete?: WriteRule;
}

type CompiledRule =
  { kind: 'all' } | { kind: 'filter'; filter: CompiledFilter } | { kind: 'fn'; fn: (ctx: WriteRuleContext) => boolean };

export class TableWriter {
  readonly writable: ReadonlySet<string>;
  private readonly rules: Record<'insert' | 'update' | 'delete', CompiledRule | null>;

  constructor(
    readonly table: TableInfo,
    def: TableWriteRules,
  ) {
    const names = new Set(table.columns.map((c) => c.name));
    for (const c of def.columns ?? [])
      if (!names.has(c)) throw new SetupError(`write rules for ${table.qualified}: unknown column ${c}`);
    this.writable = new Set((def.columns ?? [...names]).filter((c) => c !== 'version'));
    this.rules = {
      insert: compile(def.insert, table),
      update: compile(def.update, table),
      delete: compile(def.delete, table),
    };
  }

  /** Is this kind of write allowed at all for this table? */
  allows(kind: 'insert' | 'update' | 'delete'): boolean {
    return this.rules[kind] !== null;
  }

  /** Does the rule admit this row (and old row) for this user? */
  admits(kind: 'insert' | 'update' | 'delete', identity: Identity, row: Row | null, old: Row | null): boolean {
    const rule = this.rules[kind];
    if (!rule) return false;
    if (rule.kind === 'all') return true;
    if (rule.kind === 'fn') return rule.fn({ userId: identity.userId, claims: identity.claims, row, old });
    let bound;
    try {
      bound = rule.filter.bind({}, identity.claims);
    } catch {
      return false; // a claim the rule needs is missing
    }
    const check = (r: Row | null) => r === null || bound.matches(r);
    return check(old) && check(row);
  }
}

function compile(rule: WriteRule | undefined, table: TableInfo): CompiledRule | null {
  if (rule === undefined) return null;
  if (rule === true) return { kind: 'all' };
  if (typeof rule === 'function') return { kind: 'fn', fn: rule };
  const filter = compileFilter(rule, table.columns);
  if (filter.params.length > 0) throw new SetupError(`write rules for ${table.qualified} may use claims, not params`);
  return { kind: 'filter', filter };
}
