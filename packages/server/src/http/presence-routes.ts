/**
 * Presence for SSE clients: the stream carries `presence_state`,
 * `presence_diff` and `broadcast` events; these requests act on it. Like SSE
 * subscribe, a request for a stream another node holds is relayed there.
 *
 *   POST /v1/presence            { connectionId, room, state, key? }  join or update
 *   POST /v1/presence/leave      { connectionId, room, key? }
 *   POST /v1/presence/broadcast  { connectionId, room, event, payload }
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { broadcastRequestSchema, presenceLeaveRequestSchema, presenceSetRequestSchema } from '@syncline/protocol';
import type { StreamRequest } from '../cluster/stream-relay.ts';
import { sendJson } from './respond.ts';
import { handleStreamRequest, notFound, onOpenStream, type SyncRouteOptions } from './sync-routes.ts';

type Route = (req: IncomingMessage, res: ServerResponse, query: URLSearchParams, o: SyncRouteOptions) => Promise<void>;

async function act(o: SyncRouteOptions, res: ServerResponse, request: StreamRequest): Promise<void> {
  const answer = handleStreamRequest(o, request) ?? (await o.relay?.forward(request)) ?? null;
  if (!answer) throw notFound();
  sendJson(res, 200, { ok: true });
}

export const presenceSet: Route = async (req, res, query, o) => {
  const { who, body } = await onOpenStream(req, query, o, presenceSetRequestSchema, 'presence');
  const { connectionId: _, ...set } = body;
  await act(o, res, { kind: 'presence-set', ...who, set });
};

export const presenceLeave: Route = async (req, res, query, o) => {
  const { who, body } = await onOpenStream(req, query, o, presenceLeaveRequestSchema, 'presence leave');
  const { connectionId: _, ...leave } = body;
  await act(o, res, { kind: 'presence-leave', ...who, leave });
};

export const presenceBroadcast: Route = async (req, res, query, o) => {
  const { who, body } = await onOpenStream(req, query, o, broadcastRequestSchema, 'broadcast');
  const { connectionId: _, ...broadcast } = body;
  await act(o, res, { kind: 'broadcast', ...who, broadcast });
};
