/**
 * A subscription as a live-query source: its rows as the user should see
 * them. Keys come from the subscription (the server decides what matches its
 * filter); values come from the optimistic view of its table, so a pending
 * update shows and a pending delete hides. A pending insert shows once the
 * server places it in the subscription: a client cannot evaluate the filter.
 *
 * The derived table is rebuilt only when the subscription or its table's
 * view changed, and reuses the view's row objects, so a live query over it
 * notifies only when a row it holds changed.
 */
import type { Row } from '@syncline/protocol';
import { normaliseTable, type BaseRows, type TableRows, type VersionedRow } from '../mutations/table-rows.ts';
import type { SubscriptionHandle } from '../store/subscription-handle.ts';
import type { ViewSource } from './live-query.ts';

/** The one table of a subscription source's view (a name no database table can have). */
export const SUBSCRIPTION_TABLE = '\u0000.subscription';

export function subscriptionSource(
  optimistic: ViewSource,
  sub: SubscriptionHandle,
  /** The subscription's table, once known (undefined: show the subscription's rows as they are). */
  tableOf: () => string | undefined,
): ViewSource {
  let revision = 0;
  sub.on('change', () => revision++);
  let memo: { revision: number; table: TableRows | undefined; view: BaseRows } | undefined;
  const serverRows = new WeakMap<object, VersionedRow>();
  return {
    view() {
      const name = tableOf();
      const table = name === undefined ? undefined : optimistic.view().get(normaliseTable(name));
      if (memo && memo.revision === revision && memo.table === table) return memo.view;
      const rows = new Map<string, VersionedRow>();
      for (const [key, stored] of sub.rowsByKey()) {
        if (table) {
          const shown = table.get(key);
          if (shown) rows.set(key, shown);
          continue;
        }
        // Same object for the same stored row, so the query sees no change where there is none.
        let v = serverRows.get(stored);
        if (!v) serverRows.set(stored, (v = { row: stored.row as Row, version: stored.version }));
        rows.set(key, v);
      }
      memo = { revision, table, view: new Map([[SUBSCRIPTION_TABLE, rows as TableRows]]) };
      return memo.view;
    },
    onChange(listener) {
      const offView = optimistic.onChange(listener);
      const offSub = sub.on('change', () => listener());
      return () => {
        offView();
        offSub();
      };
    },
  };
}
