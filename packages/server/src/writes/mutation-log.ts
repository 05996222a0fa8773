/**
 * Idempotency: `(clientId, mutationId)` is recorded in the same transaction as
 * the write, with its answer. A client id belongs to the first user who wrote
 * with it; its mutation ids must rise one at a time: a repeat is answered from
 * the record, a gap is refused. The last KEEP answers per client are kept.
 */
import type pg from 'pg';
import { SynclineError } from '../util/errors.ts';

const KEEP = 100;

export interface RecordedAnswer {
  status: number;
  body: Record<string, unknown>;
}

/** Locks the client's row; returns the recorded answer when this mutation was seen before. */
export async function claimMutation(
  c: pg.PoolClient,
  clientId: string,
  mutationId: number,
  userId: string,
): Promise<RecordedAnswer | null> {
  await c.query(
    `INSERT INTO syncline.clients (client_id, user_id) VALUES ($1, $2) ON CONFLICT (client_id) DO NOTHING`,
    [clientId, userId],
  );
  const { rows } = await c.query<{ user_id: string; last: string }>(
    `SELECT user_id, last_mutation_id::text AS last FROM syncline.clients WHERE client_id = $1 FOR UPDATE`,
    [clientId],
  );
  const client = rows[0];
  if (!client || client.user_id !== userId)
    throw new SynclineError('FORBIDDEN', 'this client id belongs to another user');
  const last = Number(client.last);
  if (mutationId <= last) {
    const rec = await c.query<{ status: number; response: Record<string, unknown> }>(
      `SELECT status, response FROM syncline.mutations WHERE client_id = $1 AND mutation_id = $2`,
      [clientId, mutationId],
    );
    const r = rec.rows[0];
    if (r) return { status: r.status, body: r.response };
    return {
      status: 409,
      body: {
        error: {
          code: 'CONFLICT',
          message: `mutation ${mutationId} was applied long ago; its answer is no longer kept`,
        },
      },
    };
  }
  if (last > 0 && mutationId !== last + 1) {
    throw new SynclineError(
      'BAD_REQUEST',
      `mutation ids must increase by one: expected ${last + 1}, got ${mutationId}`,
      {
        details: { expected: last + 1 },
      },
    );
  }
  return null;
}

export async function recordMutation(
  c: pg.PoolClient,
  clientId: string,
  mutationId: number,
  answer: RecordedAnswer,
): Promise<void> {
  await c.query(`UPDATE syncline.clients SET last_mutation_id = $2, updated_at = now() WHERE client_id = $1`, [
    clientId,
    mutationId,
  ]);
  await c.query(`INSERT INTO syncline.mutations (client_id, mutation_id, status, response) VALUES ($1, $2, $3, $4)`, [
    clientId,
    mutationId,
    answer.status,
    JSON.stringify(answer.body),
  ]);
  await c.query(`DELETE FROM syncline.mutations WHERE client_id = $1 AND mutation_id <= $2`, [
    clientId,
    mutationId - KEEP,
  ]);
}
