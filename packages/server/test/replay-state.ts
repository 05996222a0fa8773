/** Rebuilds one subscription's rows from raw events, the way a client would. */
import type { RawEvent } from './sse-reader.ts';

export function stateOf(events: RawEvent[], subId: string): Map<string, Record<string, unknown>> {
  return strictStateOf(events, subId).state;
}

/**
 * Like stateOf, and also lists every change that could only be a duplicate or a
 * gap: an insert of a key already there, an update or delete of a key not there,
 * an update whose version does not rise. Final state alone cannot show these,
 * because re-applying a full-row change converges anyway.
 */
export function strictStateOf(
  events: RawEvent[],
  subId: string,
): { state: Map<string, Record<string, unknown>>; violations: string[] } {
  const violations: string[] = [];
  let state = new Map<string, Record<string, unknown>>();
  let parts: Array<{ key: string; row: Record<string, unknown> }> = [];
  for (const e of events) {
    if (e.event === 'snapshot' && e.data.subscription === subId) {
      parts.push(...e.data.rows);
      if (e.data.done) {
        state = new Map(parts.map((r) => [r.key, r.row]));
        parts = [];
      }
    } else if (e.event === 'changes') {
      for (const c of e.data.changes) {
        if (c.subscription !== subId) continue;
        const had = state.get(c.key);
        if (c.op === 'insert' && had) violations.push(`${e.data.cursor} insert of present key ${c.key}`);
        if (c.op !== 'insert' && !had) violations.push(`${e.data.cursor} ${c.op} of absent key ${c.key}`);
        if (c.op === 'update' && had && Number(had['version']) >= c.version) {
          violations.push(`${e.data.cursor} update ${c.key} v${String(had['version'])} → v${c.version}`);
        }
        if (c.op === 'delete') state.delete(c.key);
        else state.set(c.key, c.row);
      }
    } else if (e.event === 'resync' && e.data.subscription === subId) {
      state = new Map();
    }
  }
  return { state, violations };
}

export function rowsByKey(rows: Array<Record<string, unknown>>, key = 'id'): Map<string, Record<string, unknown>> {
  return new Map(rows.map((r) => [String(r[key]), r]));
}
