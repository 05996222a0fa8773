/** `POST /v1/sync`: differential sync — send what we hold (key → version), get what changed. */
import type { DiffSyncResponse, Subscription as WireSubscription } from '@syncline/protocol';
import { HttpError } from './http-error.ts';
import { commonHeaders, endpoint, resolveToken, type TokenSource } from './requests.ts';
import type { FetchLike } from './timers.ts';

export async function requestDiffSync(
  o: { fetch: FetchLike; baseUrl: string; clientId: string; token: TokenSource | undefined },
  subscription: WireSubscription,
  versions: Record<string, number>,
): Promise<DiffSyncResponse> {
  const { cursor: _cursor, ...withoutCursor } = subscription;
  const res = await o.fetch(endpoint(o.baseUrl, '/v1/sync'), {
    method: 'POST',
    headers: { ...commonHeaders(o.clientId, await resolveToken(o.token)), 'Content-Type': 'application/json' },
    body: JSON.stringify({ subscription: withoutCursor, versions }),
  });
  if (!res.ok) throw await HttpError.fromResponse(res);
  const body = (await res.json()) as Partial<DiffSyncResponse>;
  const lists = [body.new, body.updated, body.unchanged, body.removed];
  if (!lists.every(Array.isArray) || typeof body.cursor !== 'string')
    throw new Error('malformed differential sync answer');
  return body as DiffSyncResponse;
}
