/**
 * The origin tag: a transactional logical message written inside a write's
 * transaction, so the stream knows who initiated it (initiator exclusion)
 * without a trigger table. It names the client, its mutation ids, and the rows
 * (table, key, version) its response already returned.
 */
import type pg from 'pg';
import type { MutationRef } from '@syncline/protocol';

export const ORIGIN_PREFIX = 'syncline';

export interface OriginTag {
  clientId: string;
  mutationIds: number[];
  /** `table\u0000key` → the highest version of that row the initiator's response returned. */
  rows: Map<string, number>;
}

export interface TagInput {
  clientId: string;
  mutationIds: number[];
  rows?: Array<{ table: string; key: string; version: number }>;
}

/** For apps with their own endpoints: call inside the transaction that writes. */
export async function tagTransaction(client: pg.ClientBase, tag: TagInput): Promise<void> {
  const content = JSON.stringify({
    c: tag.clientId,
    m: tag.mutationIds,
    r: (tag.rows ?? []).map((r) => [r.table, r.key, r.version]),
  });
  await client.query(`SELECT pg_logical_emit_message(true, '${ORIGIN_PREFIX}', $1)`, [content]);
}

export function parseOriginTag(origins: Array<{ prefix: string; content: string }>): OriginTag | null {
  const o = origins.find((x) => x.prefix === ORIGIN_PREFIX);
  if (!o) return null;
  try {
    const j = JSON.parse(o.content) as { c: unknown; m: unknown; r: unknown };
    if (typeof j.c !== 'string' || !Array.isArray(j.m)) return null;
    const rows = new Map<string, number>();
    for (const r of Array.isArray(j.r) ? (j.r as unknown[][]) : []) {
      const k = `${String(r[0])}\u0000${String(r[1])}`;
      rows.set(k, Math.max(rows.get(k) ?? 0, Number(r[2])));
    }
    return { clientId: j.c, mutationIds: j.m.map(Number), rows };
  } catch {
    return null;
  }
}

export function mutationRefs(tag: OriginTag): MutationRef[] {
  return tag.mutationIds.map((mutationId) => ({ clientId: tag.clientId, mutationId }));
}
