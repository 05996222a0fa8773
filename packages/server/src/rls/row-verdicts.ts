/**
 * Verdicts PostgreSQL gave on the rows of the transaction being routed, for
 * tables whose policies only the database can evaluate. Keyed by the row
 * objects themselves (old and new of each change), per table and claims key;
 * set just before the transaction is routed and cleared right after, so they
 * never outlive it. A row with no verdict is not visible.
 */
type Row = Record<string, unknown>;

export class RowVerdicts {
  private readonly current = new Map<string, Set<Row>>();

  set(table: string, claimsKey: string, visible: Set<Row>): void {
    this.current.set(`${table}\u0000${claimsKey}`, visible);
  }

  has(table: string, claimsKey: string): boolean {
    return this.current.has(`${table}\u0000${claimsKey}`);
  }

  visible(table: string, claimsKey: string, row: Row): boolean {
    return this.current.get(`${table}\u0000${claimsKey}`)?.has(row) === true;
  }

  clear(): void {
    this.current.clear();
  }
}
