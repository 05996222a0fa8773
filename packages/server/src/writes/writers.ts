/** The tables clients may write (from `writes` in the config), and permissive writers for mutators. */
import type pg from 'pg';
import type { TableInfo } from '../collections/table-info.ts';
import { loadTableInfo } from '../collections/table-info.ts';
import { splitTable } from '../util/quote-ident.ts';
import { TableWriter, type TableWriteRules } from './write-rules.ts';

export class Writers {
  private readonly permissive = new Map<string, TableWriter>();

  private constructor(
    private readonly pool: pg.Pool,
    private readonly ruled: Map<string, TableWriter>,
  ) {}

  static async load(pool: pg.Pool, rules: Record<string, TableWriteRules>): Promise<Writers> {
    const ruled = new Map<string, TableWriter>();
    for (const [table, def] of Object.entries(rules)) {
      const info = await loadTableInfo(pool, table);
      ruled.set(info.qualified, new TableWriter(info, def));
    }
    return new Writers(pool, ruled);
  }

  /** The writer for a client op; null when the table has no write rules. */
  forClient(table: string): TableWriter | null {
    return this.ruled.get(splitTable(table).qualified) ?? null;
  }

  /** Mutators may write any table (they are trusted code); cached per table. */
  async forMutator(table: string): Promise<TableWriter> {
    const q = splitTable(table).qualified;
    let w = this.permissive.get(q);
    if (!w) {
      const info: TableInfo = await loadTableInfo(this.pool, q);
      w = new TableWriter(info, { insert: true, update: true, delete: true });
      this.permissive.set(q, w);
    }
    return w;
  }
}
