/**
 * Server options, with the defaults a production deployment can start from.
 * Every bound says what happens when it is reached.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { CollectionDefinition } from './collections/collection-config.ts';
import type { AuthOptions } from './auth/token-verifier.ts';
import type { DbSessionOptions } from './auth/user-transaction.ts';
import type { TableWriteRules } from './writes/write-rules.ts';
import type { Mutator } from './writes/mutators.ts';
import { defaultMaxStreams } from './transport/stream-capacity.ts';
import { DEFAULT_PRESENCE_LIMITS, type PresenceLimits } from './presence/presence-limits.ts';
import type { RoomDefinition } from './presence/room-definition.ts';

export interface SynclineOptions {
  /** Postgres connection string (`DATABASE_URL`). */
  databaseUrl: string;
  collections: CollectionDefinition[];
  /** Presence rooms (`defineRooms`); a client may join only these. */
  rooms?: RoomDefinition[];
  /** HTTP port (`PORT`), default 4000; 0 picks a free one. */
  port?: number;
  host?: string;
  /** Replication slot name (one per deployment); default `syncline`. */
  slot?: string;
  /** Publication name; default `syncline`. */
  publication?: string;
  /**
   * `ping` interval on every stream, ms; default 15 000. A WebSocket that answers
   * neither our pings nor sends anything for two intervals is closed (idle timeout).
   */
  heartbeatMs?: number;
  logger?: Logger;
  /** Handles requests outside `/v1` (e.g. the demo page). */
  fallback?: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;
  limits?: Partial<AllLimits>;
  /**
   * Token verification. Defaults from SYNCLINE_JWT_SECRET (HS256) or
   * SYNCLINE_JWKS_URL; one of them is required.
   */
  auth?: AuthOptions;
  /** User queries (snapshots, access rules, differential sync): `role` to SET LOCAL ROLE to, for RLS. */
  db?: DbSessionOptions;
  /**
   * Browser origins allowed to open streams (the `Origin` header of SSE and
   * WebSocket requests). Omitted: any origin — tokens are not cookies, so this is
   * defence in depth, not the gate.
   */
  allowedOrigins?: string[];
  /**
   * Redis URL (`REDIS_URL` in the CLI): nodes sharing it form a cluster — one captures (advisory
   * lock), all read the shared log (a Redis Stream). Omitted: one node, in-process bus.
   */
  redis?: string;
  /** When set, `GET /metrics` answers only requests with `Authorization: Bearer <metricsToken>`. */
  metricsToken?: string;
  /** Per-table write rules for `POST /v1/mutate` ops; a table not listed takes no client writes. */
  writes?: Record<string, TableWriteRules>;
  /** Named mutators (`defineMutator`). */
  mutators?: Mutator[];
}

export interface SynclineLimits {
  /** Larger transactions are not kept: their collections resync. Default 10 000 changes. */
  maxTransactionChanges: number;
  /** …or this many bytes of row text. Default 32 MiB. */
  maxTransactionBytes: number;
  /** Resume log: older transactions are dropped and their cursors get MUST_RESYNC. Default 10 000. */
  logTransactions: number;
  /** Resume log size estimate bound. Default 64 MiB. */
  logBytes: number;
  /** Unsent bytes per connection before it is told to resync and closed. Default 8 MiB. */
  maxBufferedBytes: number;
  /** Request bodies above this get TOO_LARGE. Default 64 KiB. */
  maxBodyBytes: number;
  /** Subscriptions per connection; more get TOO_LARGE. Default 100. */
  maxSubscriptionsPerConnection: number;
  /** Changes buffered during one snapshot before it restarts. Default 100 000. */
  maxSnapshotBuffer: number;
  /** Rows an instance may have; more gets TOO_LARGE. Default 100 000. */
  maxSnapshotRows: number;
  /** Rows per `snapshot` message part. Default 500. */
  snapshotPartRows: number;
  /** Pool size for snapshot queries. Default 10. */
  poolSize: number;
  /** Open streams per user; more get 429 RATE_LIMITED. Default 20. */
  maxConnectionsPerUser: number;
  /**
   * Open streams in this process; more get 503 (WebSocket: ERROR RATE_LIMITED + close) so
   * the process keeps file descriptors for health checks and the database. Default: the
   * open-file limit minus 256 (10,000 where it cannot be read).
   */
  maxStreams: number;
  /** Inbound WebSocket frames per connection per second (burst ×2); over it: ERROR RATE_LIMITED. Default 50. */
  messagesPerSecond: number;
  /** HTTP requests per user per second (burst ×2); over it: 429 RATE_LIMITED. Default 20. */
  requestsPerSecond: number;
  /** Largest inbound WebSocket frame; larger closes with 1009 before it is buffered. Default 64 KiB. */
  maxFrameBytes: number;
  /** `POST /v1/sync` bodies carry a state vector, so they may be larger. Default 4 MiB. */
  maxDiffSyncBodyBytes: number;
  /** Seconds before `exp` to send TOKEN_EXPIRING_SOON. Default 60. */
  tokenWarningSec: number;
  /** Time to receive request headers; slower clients are cut off. Default 10 s. */
  headersTimeoutMs: number;
  /** Time to receive a whole request (not the response: streams are unaffected). Default 30 s. */
  requestTimeoutMs: number;
  /** Longest value one field of a write may hold: `BAD_REQUEST` naming op and field. Default 16 KiB. */
  maxWriteValueBytes: number;
  /**
   * With `db.role`: how often RLS policies are re-read from the catalog, ms. Changes made
   * through SQL reach the stream at once when the event trigger could be installed (a
   * superuser); this interval is the fallback and catches function bodies. Default 10 s.
   */
  policyCheckMs: number;
}

/** Every bound, presence's included. */
export type AllLimits = SynclineLimits & PresenceLimits;

export const DEFAULT_LIMITS: AllLimits = {
  maxTransactionChanges: 10_000,
  maxTransactionBytes: 32 * 1024 * 1024,
  logTransactions: 10_000,
  logBytes: 64 * 1024 * 1024,
  maxBufferedBytes: 8 * 1024 * 1024,
  maxBodyBytes: 64 * 1024,
  maxSubscriptionsPerConnection: 100,
  maxSnapshotBuffer: 100_000,
  maxSnapshotRows: 100_000,
  snapshotPartRows: 500,
  poolSize: 10,
  maxConnectionsPerUser: 20,
  maxStreams: defaultMaxStreams(),
  messagesPerSecond: 50,
  requestsPerSecond: 20,
  maxFrameBytes: 64 * 1024,
  maxDiffSyncBodyBytes: 4 * 1024 * 1024,
  tokenWarningSec: 60,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  maxWriteValueBytes: 16 * 1024,
  policyCheckMs: 10_000,
  ...DEFAULT_PRESENCE_LIMITS,
};
