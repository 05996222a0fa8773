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
import type { SyncConnection } from '../transport/sync-connection.ts';
import type { ConnectionHub } from '../transport/connection-hub.ts';
import { SseConnection } from '../transport/sse-connection.ts';
import { SynclineError } from '../util/errors.ts';
import { clientIdOf } from './client-identity.ts';
import { authenticate, checkOrigin, type Gate } from './gate.ts';
import { readJson, sendJson } from './respond.ts';
import { openStream, streamRefusal, type StreamAdmission } from './stream-admission.ts';

export interface SyncRouteOptions extends StreamAdmission {
  gate: Gate;
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
  await o.router.subscribe(conn, subs, lastEventId, (id) => conn.subscribed(id));
}

export async function subscribeOnStream(
  req: IncomingMessage,
  res: ServerResponse,
  query: URLSearchParams,
  o: SyncRouteOptions,
): Promise<void> {
  const { conn, body } = await onOpenStream(req, query, o, subscribeRequestSchema, 'subscribe');
  sendJson(res, 200, { ok: true });
  // Errors for the subscription itself travel on the stream, where the client already handles them.
  await o.router.subscribe(conn, [body.subscription], undefined, (id) => conn.subscribed(id));
}

export async function unsubscribeOnStream(
  req: IncomingMessage,
  res: ServerResponse,
  query: URLSearchParams,
  o: SyncRouteOptions,
): Promise<void> {
  const { conn, body } = await onOpenStream(req, query, o, unsubscribeRequestSchema, 'unsubscribe');
  sendJson(res, 200, { ok: true, removed: o.router.unsubscribe(conn, body.id) });
}

/** A request about an open stream: its validated body and the caller's own connection. */
async function onOpenStream<T extends { connectionId: string }>(
  req: IncomingMessage,
  query: URLSearchParams,
  o: SyncRouteOptions,
  schema: z.ZodType<T, z.ZodTypeDef, unknown>,
  what: string,
): Promise<{ conn: SyncConnection; body: T }> {
  const identity = await authenticate(req, query, o.gate);
  const clientId = clientIdOf(req, query);
  const parsed = schema.safeParse(await readJson(req, o.maxBodyBytes));
  if (!parsed.success) {
    throw new SynclineError('BAD_REQUEST', `invalid ${what} request: ${parsed.error.issues[0]?.message ?? ''}`);
  }
  return { conn: connectionOf(o.hub, parsed.data.connectionId, clientId, identity.userId), body: parsed.data };
}

function connectionOf(hub: ConnectionHub, id: string, clientId: string, userId: string): SyncConnection {
  const conn = hub.get(id);
  // Another client's or user's connection id is treated as unknown: ids are not capabilities to share.
  if (!conn || conn.clientId !== clientId || conn.identity.userId !== userId)
    throw new SynclineError('NOT_FOUND', 'no open connection with that id for this client');
  return conn;
}
