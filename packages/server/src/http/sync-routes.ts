/**
 * The sync endpoints of PROTOCOL.md: the SSE stream and subscribe/unsubscribe on
 * an open stream. Each bad subscription gets its own error; the others proceed.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type Subscription,
  subscribeRequestSchema,
  subscriptionSchema,
  unsubscribeRequestSchema,
} from '@syncline/protocol';
import type { z } from 'zod';
import type { ConnectionHub } from '../transport/connection-hub.ts';
import { SseConnection } from '../transport/sse-connection.ts';
import { SynclineError } from '../util/errors.ts';
import type { StreamRelay, StreamRequest } from '../cluster/stream-relay.ts';
import type { PresenceService } from '../presence/presence-service.ts';
import { clientIdOf } from './client-identity.ts';
import { authenticate, checkOrigin, type Gate } from './gate.ts';
import { readJson, sendJson } from './respond.ts';
import { openStream, streamRefusal, type StreamAdmission } from './stream-admission.ts';

export interface SyncRouteOptions extends StreamAdmission {
  gate: Gate;
  /** Several nodes: reaches the node that holds a stream this one does not. */
  relay?: StreamRelay;
  maxBodyBytes: number;
  maxBufferedBytes: number;
  maxSubscriptionsPerConnection: number;
}

export async function openEventStream(
  req: IncomingMessage,
  res: ServerResponse,
  query: URLSearchParams,
  o: SyncRouteOptions,
): Promise<void> {
  checkOrigin(req, o.gate);
  const identity = await authenticate(req, query, o.gate);
  const clientId = clientIdOf(req, query);
  const rawSubs = query.getAll('subscribe');
  if (rawSubs.length > o.maxSubscriptionsPerConnection) {
    throw new SynclineError('TOO_LARGE', `at most ${o.maxSubscriptionsPerConnection} subscriptions per connection`);
  }
  const refusal = streamRefusal(o, identity.userId);
  if (refusal) throw refusal;
  const lastEventId = (req.headers['last-event-id'] as string | undefined) ?? query.get('cursor') ?? undefined;
  const conn = new SseConnection(res, clientId, o.maxBufferedBytes, identity);
  // SSE has no way to send a new token on the stream: at expiry it ends with AUTH_FAILED,
  // and the client reconnects with a fresh token and its cursors.
  openStream(conn, identity.expiresAt, o, () => {});
  const subs: Subscription[] = [];
  for (const raw of rawSubs) {
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      conn.error({ code: 'BAD_REQUEST', message: 'subscribe parameter is not valid JSON' });
      continue;
    }
    const parsed = subscriptionSchema.safeParse(json);
    if (!parsed.success) {
      const id = (json as { id?: unknown } | null)?.id;
      conn.error({
        code: 'BAD_REQUEST',
        message: `invalid subscription: ${parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`,
        ...(typeof id === 'string' && id.length <= 128 ? { subscription: id } : {}),
      });
      continue;
    }
    subs.push(parsed.data);
  }
  await o.router.subscribe(conn, subs, lastEventId, (id, table) => conn.subscribed(id, table));
}

export async function subscribeOnStream(
  req: IncomingMessage,
  res: ServerResponse,
  query: URLSearchParams,
  o: SyncRouteOptions,
): Promise<void> {
  const { who, body } = await onOpenStream(req, query, o, subscribeRequestSchema, 'subscribe');
  const request: StreamRequest = { kind: 'subscribe', ...who, subscription: body.subscription };
  const answer = handleStreamRequest(o, request) ?? (await o.relay?.forward(request)) ?? null;
  if (!answer) throw notFound();
  sendJson(res, 200, { ok: true });
}

export async function unsubscribeOnStream(
  req: IncomingMessage,
  res: ServerResponse,
  query: URLSearchParams,
  o: SyncRouteOptions,
): Promise<void> {
  const { who, body } = await onOpenStream(req, query, o, unsubscribeRequestSchema, 'unsubscribe');
  const request: StreamRequest = { kind: 'unsubscribe', ...who, id: body.id };
  const answer = handleStreamRequest(o, request) ?? (await o.relay?.forward(request)) ?? null;
  if (!answer) throw notFound();
  sendJson(res, 200, { ok: true, removed: answer.removed === true });
}

/**
 * Acts on a subscribe/unsubscribe for a stream this node holds (whether the request came here
 * or was relayed from another node); null when the connection is not here.
 */
export function handleStreamRequest(
  o: { hub: ConnectionHub; router: SyncRouteOptions['router']; presence: PresenceService },
  r: StreamRequest,
) {
  const conn = o.hub.get(r.connectionId);
  // Another client's or user's connection id is treated as unknown: ids are not capabilities to share.
  if (!conn || conn.clientId !== r.clientId || conn.identity.userId !== r.userId) return null;
  // Answers and refusals for a subscription or a room travel on the stream, where the client handles them.
  switch (r.kind) {
    case 'unsubscribe':
      return { found: true, removed: o.router.unsubscribe(conn, r.id) };
    case 'subscribe':
      void o.router
        .subscribe(conn, [r.subscription], undefined, (id, table) => conn.subscribed(id, table))
        .catch(() => conn.error({ code: 'INTERNAL', message: 'could not subscribe', subscription: r.subscription.id }));
      break;
    case 'presence-set':
      void o.presence.set(conn, r.set);
      break;
    case 'presence-leave':
      void o.presence.leave(conn, r.leave);
      break;
    case 'broadcast':
      void o.presence.broadcast(conn, r.broadcast);
      break;
  }
  return { found: true };
}

/** A request about an open stream: its validated body and who asks. */
export async function onOpenStream<T extends { connectionId: string }>(
  req: IncomingMessage,
  query: URLSearchParams,
  o: SyncRouteOptions,
  schema: z.ZodType<T, z.ZodTypeDef, unknown>,
  what: string,
): Promise<{ who: { connectionId: string; clientId: string; userId: string }; body: T }> {
  const identity = await authenticate(req, query, o.gate);
  const clientId = clientIdOf(req, query);
  const parsed = schema.safeParse(await readJson(req, o.maxBodyBytes));
  if (!parsed.success) {
    throw new SynclineError('BAD_REQUEST', `invalid ${what} request: ${parsed.error.issues[0]?.message ?? ''}`);
  }
  return { who: { connectionId: parsed.data.connectionId, clientId, userId: identity.userId }, body: parsed.data };
}

export function notFound(): SynclineError {
  return new SynclineError('NOT_FOUND', 'no open connection with that id for this client');
}
