/**
 * Which failures of a write are the client's (permanent: recorded, the queue
 * moves on) and which are the system's (transient: retry the same mutation).
 */
import { SynclineError } from '../util/errors.ts';

const TRANSIENT = new Set([
  '40001',
  '40P01',
  '55P03',
  '57P01',
  '57P02',
  '57P03',
  '53300',
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
]);

export function classifyPgError(e: unknown, op?: number): { error: SynclineError; retryable: boolean } {
  if (e instanceof SynclineError) return { error: e, retryable: e.details['retryable'] === true };
  const pg = e as { code?: string; message?: string; column?: string; constraint?: string };
  const details = { ...(op !== undefined ? { op } : {}), ...(pg.column ? { field: pg.column } : {}) };
  const at = op !== undefined ? `op ${op}: ` : '';
  const code = pg.code ?? '';
  if (
    TRANSIENT.has(code) ||
    /Connection terminated|ECONNRESET|ECONNREFUSED|not queryable|timeout exceeded when trying to connect/.test(
      pg.message ?? '',
    )
  ) {
    return {
      error: new SynclineError('INTERNAL', 'temporary database failure; retry the same mutation', {
        details: { retryable: true },
        status: 503,
      }),
      retryable: true,
    };
  }
  if (code === '42501')
    return {
      error: new SynclineError('FORBIDDEN', `${at}not allowed by the database's row-level security`, { details }),
      retryable: false,
    };
  if (code === '23505')
    return {
      error: new SynclineError(
        'CONFLICT',
        `${at}a row with this key already exists${pg.constraint ? ` (${pg.constraint})` : ''}`,
        { details },
      ),
      retryable: false,
    };
  if (code.startsWith('23') || code.startsWith('22') || code === '42804') {
    return {
      error: new SynclineError('BAD_REQUEST', `${at}${pg.message ?? 'invalid value'}`, { details }),
      retryable: false,
    };
  }
  return { error: new SynclineError('INTERNAL', 'internal error', { cause: e }), retryable: false };
}
