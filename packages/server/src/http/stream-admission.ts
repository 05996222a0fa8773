/**
 * What SSE and WebSocket share when a stream starts: the capacity check before a
 * connection exists, and the wiring after (token clock, hub, router, HELLO).
 */
import { PROTOCOL_VERSION } from '@syncline/protocol';
import type { PresenceService } from '../presence/presence-service.ts';
import type { SyncRouter } from '../router/sync-router.ts';
import type { ConnectionHub } from '../transport/connection-hub.ts';
import type { ConnectionEvents } from '../transport/connection-events.ts';
import type { SyncConnection } from '../transport/sync-connection.ts';
import { TokenLifetime } from '../transport/token-lifetime.ts';
import { SynclineError } from '../util/errors.ts';

export interface StreamAdmission {
  router: SyncRouter;
  hub: ConnectionHub;
  presence: PresenceService;
  maxConnectionsPerUser: number;
  maxStreams: number;
  tokenWarningSec: number;
  /** Counts for /metrics. */
  events?: ConnectionEvents;
}

/**
 * Why this node will not take one more stream for `userId`, or null. A full node
 * is retryable elsewhere (503); a user at their cap is RATE_LIMITED.
 */
export function streamRefusal(o: StreamAdmission, userId: string): SynclineError | null {
  if (o.hub.size >= o.maxStreams) {
    return new SynclineError('INTERNAL', 'this server holds as many streams as it can; try another node or later', {
      status: 503,
      details: { retryable: true },
    });
  }
  if (o.hub.countFor(userId) >= o.maxConnectionsPerUser) {
    return new SynclineError('RATE_LIMITED', `at most ${o.maxConnectionsPerUser} open streams per user`);
  }
  return null;
}

/**
 * Registers an admitted connection and says HELLO. Closing it stops its token
 * clock and drops its subscriptions. `onWarn` is the transport's way to ask for a
 * fresh token (SSE has none).
 */
export function openStream(
  conn: SyncConnection,
  expiresAt: number | null,
  o: StreamAdmission,
  onWarn: (expiresInSec: number) => void,
): TokenLifetime {
  if (o.events) conn.events = o.events;
  const lifetime = new TokenLifetime(conn, o.tokenWarningSec, onWarn);
  lifetime.schedule(expiresAt);
  o.hub.add(conn, () => {
    lifetime.cancel();
    o.router.disconnect(conn);
    o.presence.disconnect(conn);
  });
  o.router.connect(conn);
  conn.hello({ connectionId: conn.id, protocol: PROTOCOL_VERSION, heartbeatMs: o.hub.heartbeatMs });
  return lifetime;
}
