/** `POST /v1/sync`: differential sync (see router/diff-sync.ts). */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { diffSyncRequestSchema } from '@syncline/protocol';
import type { DiffSyncContext } from '../router/diff-sync.ts';
import { diffSync } from '../router/diff-sync.ts';
import { SynclineError } from '../util/errors.ts';
import { authenticate, type Gate } from './gate.ts';
import { readJson, sendJson } from './respond.ts';

export async function diffSyncRoute(
  req: IncomingMessage,
  res: ServerResponse,
  query: URLSearchParams,
  o: { gate: Gate; diff: DiffSyncContext; maxBodyBytes: number },
): Promise<void> {
  const identity = await authenticate(req, query, o.gate);
  const parsed = diffSyncRequestSchema.safeParse(await readJson(req, o.maxBodyBytes));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new SynclineError(
      'BAD_REQUEST',
      `invalid sync request: ${issue ? `${issue.path.join('.')} ${issue.message}` : ''}`,
    );
  }
  sendJson(res, 200, await diffSync(o.diff, identity, parsed.data.subscription, parsed.data.versions));
}
