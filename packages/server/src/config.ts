/**
 * Server options, with the defaults a production deployment can start from.
 * Every bound says what happens when it is reached.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { CollectionDefinition } from './collections/collection-config.ts';

export interface SynclineOptions {
  /** Postgres connection string (`DATABASE_URL`). */
  databaseUrl: string;
  collections: CollectionDefinition[];
  /** HTTP port (`PORT`), default 4000; 0 picks a free one. */
  port?: number;
  host?: string;
  /** Replication slot name (one per deployment); default `syncline`. */
  slot?: string;
  /** Publication name; default `syncline`. */
  publication?: string;
  /** `ping` interval on every stream, ms; default 15 000. */
  heartbeatMs?: number;
  logger?: Logger;
  /** Handles requests outside `/v1` (e.g. the demo page). */
  fallback?: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;
  limits?: Partial<SynclineLimits>;
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
}

export const DEFAULT_LIMITS: SynclineLimits = {
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
};
