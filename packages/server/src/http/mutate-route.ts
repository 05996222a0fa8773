/** `POST /v1/mutate`: writes (see writes/mutate.ts). */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { clientIdSchema, mutateMutatorRequestSchema, mutateOpsRequestSchema } from '@syncline/protocol';
import { SynclineError } from '../util/errors.ts';
import type { MutateDeps } from '../writes/mutate.ts';
import { mutate, recordRefusal } from '../writes/mutate.ts';
import { authenticate, type Gate } from './gate.ts';
import { readJson, sendJson } from './respond.ts';

export async function mutateRoute(
  req: IncomingMessage,
  res: ServerResponse,
  query: URLSearchParams,
  o: { gate: Gate; deps: MutateDeps; maxBodyBytes: number },
): Promise<void> {
  const identity = await authenticate(req, query, o.gate);
  const body = await readJson(req, o.maxBodyBytes);
  const withOps = typeof body === 'object' && body !== null && 'ops' in body;
  const parsed = (withOps ? mutateOpsRequestSchema : mutateMutatorRequestSchema).safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const op = issue?.path[0] === 'ops' && typeof issue.path[1] === 'number' ? issue.path[1] : undefined;
    const error = new SynclineError(
      'BAD_REQUEST',
      `invalid mutation: ${issue ? `${issue.path.join('.')} ${issue.message}` : ''}`,
      {
        details: op === undefined ? {} : { op },
      },
    );
    // With a sound client and mutation id, the refusal is recorded so the client's queue moves on.
    const ids = mutationIdsOf(body);
    if (!ids) throw error;
    const refused = await recordRefusal(o.deps, identity, ids.clientId, ids.mutationId, error);
    sendJson(res, refused.status, refused.body);
    return;
  }
  const answer = await mutate(o.deps, identity, parsed.data);
  sendJson(res, answer.status, answer.body);
}

function mutationIdsOf(body: unknown): { clientId: string; mutationId: number } | null {
  const b = body as { clientId?: unknown; mutationId?: unknown } | null;
  const clientId = clientIdSchema.safeParse(b?.clientId);
  const mutationId = b?.mutationId;
  if (!clientId.success || typeof mutationId !== 'number' || !Number.isSafeInteger(mutationId) || mutationId < 1)
    return null;
  return { clientId: clientId.data, mutationId };
}
