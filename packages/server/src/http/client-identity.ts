/** The client id from `X-Client-Id` or `?clientId=`, validated. */
import type { IncomingMessage } from 'node:http';
import { clientIdSchema } from '@syncline/protocol';
import { SynclineError } from '../util/errors.ts';

export function clientIdOf(req: IncomingMessage, query: URLSearchParams): string {
  const raw = (req.headers['x-client-id'] as string | undefined) ?? query.get('clientId') ?? undefined;
  if (raw === undefined)
    throw new SynclineError('BAD_REQUEST', 'clientId is required (X-Client-Id header or clientId query parameter)');
  const parsed = clientIdSchema.safeParse(raw);
  if (!parsed.success)
    throw new SynclineError('BAD_REQUEST', 'clientId must be 1–128 characters of A-Z a-z 0-9 _ . : -');
  return parsed.data;
}
