/**
 * `POST /v1/mutate`, end to end:
 *
 *   BEGIN ─ claims ─ claim (clientId, mutationId): a repeat? answer from the record
 *         ─ SAVEPOINT ─ [role] ─ ops or mutator ─ origin tag ─ record answer ─ COMMIT
 *         ─ wait for the stream to carry it (its cursor) ─ 200 { ok, cursor, rows }
 *
 *   permanent failure (validation, permission, conflict, not found, constraint):
 *         ROLLBACK TO SAVEPOINT ─ record the error ─ COMMIT ─ 4xx (the client's queue moves on)
 *   transient failure (connection, serialization, deadlock): ROLLBACK ─ 503, retryable
 */
import type pg from 'pg';
import type { MutateRequest, MutateResponse, WriteOp, WrittenRow } from '@syncline/protocol';
import type { Identity } from '../auth/token-verifier.ts';
import type { DbSessionOptions } from '../auth/user-transaction.ts';
import { SynclineError } from '../util/errors.ts';
import { quoteIdent } from '../util/quote-ident.ts';
import { applyOp } from './apply-op.ts';
import { claimMutation, recordMutation, type RecordedAnswer } from './mutation-log.ts';
import type { Mutator, MutatorTx } from './mutators.ts';
import { tagTransaction } from './origin-tag.ts';
import { classifyPgError } from './pg-errors.ts';
import type { Writers } from './writers.ts';
import { opError, type WriteValueLimits } from './write-values.ts';

export interface MutateDeps {
  pool: pg.Pool;
  db: DbSessionOptions;
  writers: Writers;
  mutators: ReadonlyMap<string, Mutator>;
  limits: WriteValueLimits;
  /** Leaves out answer rows the caller may not read under RLS (rows a mutator wrote for others). */
  visibleRows?: (client: pg.PoolClient, identity: Identity, rows: WrittenRow[]) => Promise<WrittenRow[]>;
  /** Resolves with the write's stream cursor once the router has routed it (null on timeout). */
  awaitCursor(clientId: string, mutationId: number): { promise: Promise<string | null>; cancel(): void };
}

export async function mutate(deps: MutateDeps, identity: Identity, req: MutateRequest): Promise<RecordedAnswer> {
  const { clientId, mutationId } = req;
  const c = await connectForWrite(deps.pool);
  let done = false;
  let waiter: { promise: Promise<string | null>; cancel(): void } | null = null;
  try {
    await c.query('BEGIN');
    await c.query(`SELECT set_config('request.jwt.claims', $1, true), set_config('request.jwt.claim.sub', $2, true)`, [
      JSON.stringify(identity.claims),
      identity.userId,
    ]);
    const replay = await claimMutation(c, clientId, mutationId, identity.userId);
    if (replay) {
      await c.query('COMMIT');
      done = true;
      return replay.status === 200 ? { status: 200, body: { ...replay.body, cursor: null, replayed: true } } : replay;
    }
    // Only the request that holds the claim writes; it alone waits for its cursor.
    waiter = deps.awaitCursor(clientId, mutationId);
    await c.query('SAVEPOINT ops');
    let rows: WrittenRow[];
    try {
      rows = 'ops' in req ? await runOps(deps, c, identity, req.ops) : await runMutator(deps, c, identity, req);
      if (deps.visibleRows) rows = await deps.visibleRows(c, identity, rows);
      await tagTransaction(c, { clientId, mutationIds: [mutationId], rows });
    } catch (e) {
      const err = classifyPgError(e);
      if (err.retryable) throw err.error;
      await c.query('ROLLBACK TO SAVEPOINT ops');
      const answer = errorAnswer(err.error);
      await recordMutation(c, clientId, mutationId, answer);
      await c.query('COMMIT');
      done = true;
      waiter.cancel();
      return answer;
    }
    await recordMutation(c, clientId, mutationId, { status: 200, body: { ok: true, rows } });
    await c.query('COMMIT');
    done = true;
    const body: MutateResponse = { ok: true, cursor: await waiter.promise, rows };
    return { status: 200, body: body as unknown as Record<string, unknown> };
  } catch (e) {
    waiter?.cancel();
    if (!done) await c.query('ROLLBACK').catch(() => {});
    throw classifyPgError(e).error;
  } finally {
    c.release();
  }
}

async function runOps(deps: MutateDeps, c: pg.PoolClient, identity: Identity, ops: WriteOp[]): Promise<WrittenRow[]> {
  // Client ops run under the user's role, so RLS write policies hold too; set back before the tag.
  if (deps.db.role) await c.query(`SET LOCAL ROLE ${quoteIdent(deps.db.role)}`);
  const rows: WrittenRow[] = [];
  for (const [i, op] of ops.entries()) {
    const writer = deps.writers.forClient(op.table);
    if (!writer) throw opError('BAD_REQUEST', i, `unknown table "${op.table}" (or it takes no writes)`, 'table');
    try {
      rows.push(await applyOp({ client: c, identity, limits: deps.limits }, writer, op, i));
    } catch (e) {
      throw classifyPgError(e, i).error;
    }
  }
  if (deps.db.role) await c.query('SET LOCAL ROLE NONE');
  return rows;
}

async function runMutator(
  deps: MutateDeps,
  c: pg.PoolClient,
  identity: Identity,
  req: Extract<MutateRequest, { mutator: string }>,
): Promise<WrittenRow[]> {
  const mutator = deps.mutators.get(req.mutator);
  if (!mutator) throw new SynclineError('BAD_REQUEST', `unknown mutator "${req.mutator}"`);
  const rows: WrittenRow[] = [];
  let n = 0;
  const tx: MutatorTx = {
    query: async (sql, values) => (await c.query(sql, values as unknown[])).rows,
    write: async (op) => {
      const i = n++;
      const row = await applyOp(
        { client: c, identity, limits: deps.limits },
        await deps.writers.forMutator(op.table),
        op,
        i,
      );
      rows.push(row);
      return row;
    },
  };
  await mutator.run(tx, req.args, {
    userId: identity.userId,
    claims: identity.claims,
    clientId: req.clientId,
    mutationId: req.mutationId,
  });
  return rows;
}

function errorAnswer(e: SynclineError): RecordedAnswer {
  return { status: e.status, body: { error: { code: e.code, message: e.message, ...e.details }, ...e.body } };
}

/**
 * A request whose ops failed validation, but whose client and mutation id are
 * sound: its refusal is recorded like any permanent error, so the client's
 * queue can move on to the next id instead of hitting a gap forever.
 */
export async function recordRefusal(
  deps: MutateDeps,
  identity: Identity,
  clientId: string,
  mutationId: number,
  error: SynclineError,
): Promise<RecordedAnswer> {
  const c = await connectForWrite(deps.pool);
  try {
    await c.query('BEGIN');
    const replay = await claimMutation(c, clientId, mutationId, identity.userId);
    if (replay) {
      await c.query('COMMIT');
      return replay.status === 200 ? { status: 200, body: { ...replay.body, cursor: null, replayed: true } } : replay;
    }
    const answer = errorAnswer(error);
    await recordMutation(c, clientId, mutationId, answer);
    await c.query('COMMIT');
    return answer;
  } catch (e) {
    await c.query('ROLLBACK').catch(() => {});
    throw classifyPgError(e).error;
  } finally {
    c.release();
  }
}

/** A database that is away (refused, shutting down, starting up) is a transient failure: 503, retry. */
function connectForWrite(pool: pg.Pool): Promise<pg.PoolClient> {
  return pool.connect().catch((e: unknown) => {
    throw classifyPgError(e).error;
  });
}
