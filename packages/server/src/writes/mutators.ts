/**
 * Named mutators: business logic (e.g. `orders.accept`) run inside the
 * mutation's transaction with the same guarantees as plain ops — one
 * transaction, idempotent, tagged, rows returned to the caller.
 *
 * They run as the server (not under `db.role`): they are trusted code and may
 * write history or notification rows the user could not write directly. The
 * user's claims are set (`request.jwt.claims`) for triggers and helpers.
 */
import type pg from 'pg';
import type { Row, WriteOp, WrittenRow } from '@syncline/protocol';
import type { Identity } from '../auth/token-verifier.ts';

export interface MutatorTx {
  /** Any SQL, parameterised. */
  query<R extends pg.QueryResultRow = Row>(sql: string, values?: unknown[]): Promise<R[]>;
  /** A plain op without write rules (mutators decide); its row is returned to the client. */
  write(op: WriteOp): Promise<WrittenRow>;
}

export interface MutatorUser {
  userId: string;
  claims: Record<string, unknown>;
  clientId: string;
  mutationId: number;
}

export type MutatorFn<A = unknown> = (tx: MutatorTx, args: A, user: MutatorUser) => Promise<unknown>;

export interface Mutator {
  name: string;
  run: MutatorFn;
}

/** Throw SynclineError('FORBIDDEN' | 'CONFLICT' | 'BAD_REQUEST', …) from `run` for a permanent refusal. */
export function defineMutator<A = unknown>(name: string, run: MutatorFn<A>): Mutator {
  if (!/^[A-Za-z0-9_.:-]{1,128}$/.test(name)) throw new Error(`invalid mutator name ${JSON.stringify(name)}`);
  return { name, run: run as MutatorFn };
}

export type { Identity };
