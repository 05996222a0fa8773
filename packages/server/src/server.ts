/**
 * Assembles one Syncline node: checks and prepares the database, then starts
 * capture → bus → router → HTTP/SSE, and stops them in reverse.
 */
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import pino from 'pino';
import { MemoryBus } from './bus/memory-bus.ts';
import { RedisBus } from './bus/redis-bus.ts';
import { CaptureOwner } from './capture/capture-owner.ts';
import { StreamRelay } from './cluster/stream-relay.ts';
import { handleStreamRequest } from './http/sync-routes.ts';
import { CaptureService } from './capture/capture-service.ts';
import { formatLsn } from './capture/lsn.ts';
import { SESSION_OPTIONS } from './capture/pg-values.ts';
import { CollectionRegistry } from './collections/collection-registry.ts';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { AllLimits, SynclineOptions } from './config.ts';
import { DEFAULT_LIMITS } from './config.ts';
import { createHttpHandler, createHttpServer } from './http/http-server.ts';
import { SyncRouter } from './router/sync-router.ts';
import { checkDatabase } from './setup/check-database.ts';
import { installSyncline } from './setup/install.ts';
import { ConnectionHub } from './transport/connection-hub.ts';
import { KeyedRateLimiter } from './transport/rate-limiter.ts';
import type { AuthOptions } from './auth/token-verifier.ts';
import { createTokenVerifier } from './auth/token-verifier.ts';
import { assertIdentifier } from './capture/replication-stream.ts';
import type { Gate } from './http/gate.ts';
import { attachWebSocket, type WsOptions } from './http/ws-endpoint.ts';
import { Writers } from './writes/writers.ts';
import { SetupError } from './util/errors.ts';
import { PresenceCluster } from './presence/presence-cluster.ts';
import { PresenceService } from './presence/presence-service.ts';
import { loadRooms, roomTables } from './presence/room-definition.ts';
import { within } from './util/within.ts';
import { guardPool } from './util/guard-pool.ts';
import { Faults } from './http/faults.ts';
import { Metrics } from './metrics/metrics.ts';
import { loadTablePolicies } from './rls/load-policies.ts';
import { policySummary } from './rls/policy-summary.ts';
import { RowVerdicts } from './rls/row-verdicts.ts';
import { answerFilter } from './rls/answer-rows.ts';
import { installPolicyTrigger } from './setup/policy-trigger.ts';
import { changedPolicies } from './rls/changed-policies.ts';

/** Reported by `syncline_build_info`. */
const VERSION = '0.1.0';

export interface SynclineServer {
  url: string;
  port: number;
  router: SyncRouter;
  /** This node's capture; null on a node of a cluster that does not own it. */
  readonly capture: CaptureService | null;
  stop(): Promise<void>;
}

/**
 * One node's parts, wired but serving nothing yet: the standalone server (`startSyncline`)
 * and the mounted one (`createSyncline`) put their own HTTP front on it.
 */
export interface SynclineNode {
  /** Every request it is given: Syncline's routes, then `fallback`, else a JSON 404. */
  handler: (req: IncomingMessage, res: ServerResponse) => void;
  ws: WsOptions;
  hub: ConnectionHub;
  router: SyncRouter;
  limits: AllLimits;
  logger: Logger;
  slot: string;
  publication: string;
  currentCapture(): CaptureService | null;
  /** Stops capture and routes what it handed over (first, before any stream ends). */
  stopCapture(): Promise<void>;
  /** After the streams have ended: timers, relay, presence, Redis, the pool. */
  stopRest(): Promise<void>;
}

export async function startSyncline(options: SynclineOptions): Promise<SynclineServer> {
  const node = await assembleNode(options);
  const { limits, logger, router, hub, slot, publication } = node;
  try {
    const server = createHttpServer(node.handler, limits);
    const upgrades = attachWebSocket(server, node.ws);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 4000, options.host ?? '0.0.0.0', () => resolve());
    });
    const port = (server.address() as AddressInfo).port;
    logger.info({ port, slot, publication }, 'syncline listening');

    return {
      url: `http://127.0.0.1:${port}`,
      port,
      router,
      get capture() {
        return node.currentCapture();
      },
      async stop() {
        // Capture stops first and what it handed over is routed before the streams end: the slot
        // is confirmed up to it, and one node's log dies with the process, so every cursor a client
        // leaves with must already cover it (or a restart would find those cursors too old).
        // Then streams end (clients resume here after a restart, or on another node, by cursor).
        await node.stopCapture();
        const closed = new Promise<void>((r) => server.close(() => r()));
        hub.closeAll();
        upgrades.close();
        // Ended streams get a moment to flush their last bytes before sockets are cut.
        await within(closed, 2_000);
        server.closeAllConnections();
        await closed;
        await node.stopRest();
      },
    };
  } catch (e) {
    await node.pool.end().catch(() => {});
    throw e;
  }
}

/** Checks and prepares the database and starts capture → bus → router; serves nothing yet. */
export async function assembleNode(options: SynclineOptions): Promise<SynclineNode & { pool: pg.Pool }> {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const logger = options.logger ?? pino({ level: process.env['LOG_LEVEL'] ?? 'info' });
  const slot = options.slot ?? 'syncline';
  const verify = createTokenVerifier(authOptions(options.auth));
  const db = options.db ?? {};
  if (db.role !== undefined) assertIdentifier(db.role.toLowerCase());
  const publication = options.publication ?? 'syncline';
  const pool = guardPool(
    new pg.Pool({ connectionString: options.databaseUrl, max: limits.poolSize, options: SESSION_OPTIONS }),
    logger,
  );
  const faults = new Faults();

  try {
    await checkDatabase(pool);
    /** This process among the cluster's nodes (presence metas and relayed requests name it). */
    const nodeId = randomUUID();
    const roomDefs = options.rooms ?? [];
    await installSyncline(pool, publication, [
      ...new Set([...CollectionRegistry.tablesOf(options.collections), ...roomTables(roomDefs)]),
    ]);
    const registry = await CollectionRegistry.load(pool, options.collections);
    const rooms = await loadRooms(pool, roomDefs);
    const verdicts = new RowVerdicts();
    let policyTrigger = false;
    let reloadPolicies: (() => Promise<Set<string>>) | undefined;
    if (db.role !== undefined) {
      const role = db.role;
      const policies = await loadTablePolicies(pool, role, registry.tables());
      registry.usePolicies(policies, verdicts);
      for (const p of policies.values()) logger.info(policySummary(p), 'row-level security');
      policyTrigger = await installPolicyTrigger(pool);
      if (!policyTrigger)
        logger.warn(
          { everyMs: limits.policyCheckMs },
          'cannot create the policy event trigger (needs a superuser): policy changes are found by re-reading the catalog',
        );
      reloadPolicies = async () => {
        const next = await loadTablePolicies(pool, role, registry.tables());
        const changed = changedPolicies(registry, next);
        if (changed.size > 0) {
          registry.usePolicies(next, verdicts);
          for (const t of changed) logger.info(policySummary(next.get(t)), 'row-level security changed');
        }
        return changed;
      };
    }
    const writers = await Writers.load(pool, options.writes ?? {});
    const mutators = new Map((options.mutators ?? []).map((m) => [m.name, m]));
    if (mutators.size !== (options.mutators ?? []).length) throw new SetupError('two mutators share a name');
    const redisBus = options.redis
      ? new RedisBus({
          url: options.redis,
          slot,
          logger,
          maxEntries: limits.logTransactions,
          maxBytes: limits.logBytes,
        })
      : null;
    const bus = redisBus ?? new MemoryBus();
    let metrics: Metrics | null = null; // made once every part it reads exists
    const router = new SyncRouter({
      observe: {
        routed: (commitTime) => metrics?.routed(commitTime),
        snapshotDone: (ms) => metrics?.snapshotDone(ms),
      },
      registry,
      pool,
      logger,
      log: { maxTransactions: limits.logTransactions, maxBytes: limits.logBytes },
      maxSnapshotBuffer: limits.maxSnapshotBuffer,
      snapshotPartRows: limits.snapshotPartRows,
      maxSnapshotRows: limits.maxSnapshotRows,
      maxSubscriptionsPerConnection: limits.maxSubscriptionsPerConnection,
      db,
      verdicts,
      ...(reloadPolicies ? { reloadPolicies } : {}),
    });
    // The event trigger puts policy changes in stream order; this catches what it cannot see
    // (no superuser to create it, a function body changed by CREATE OR REPLACE elsewhere).
    // The check reads the catalog beside the stream; only a change found stops routing for the reload.
    const checkPolicies = async () => {
      if (db.role === undefined) return;
      const next = await loadTablePolicies(pool, db.role, registry.tables());
      if (changedPolicies(registry, next).size > 0) router.policiesMayHaveChanged();
    };
    const policyTimer =
      db.role !== undefined
        ? setInterval(
            () =>
              void checkPolicies().catch((err: unknown) =>
                logger.warn({ err }, 'could not re-read row-level security policies'),
              ),
            limits.policyCheckMs,
          )
        : null;
    policyTimer?.unref();
    bus.subscribe(router);
    const createCapture = () =>
      new CaptureService({
        connectionString: options.databaseUrl,
        pool,
        slot,
        publication,
        bus,
        limits: { maxChanges: limits.maxTransactionChanges, maxBytes: limits.maxTransactionBytes },
        logger,
        // One node's log dies with the process: the slot keeps the last 2 s for the next one.
        confirmDelayMs: redisBus ? 0 : 2_000,
      });
    // One node: capture here. Several (Redis): whichever node holds the advisory lock captures.
    let single: CaptureService | null = null;
    let owner: CaptureOwner | null = null;
    if (redisBus) {
      owner = new CaptureOwner({ connectionString: options.databaseUrl, slot, logger, createCapture });
      const o = owner;
      redisBus.onLost = () => void o.current?.renewEpoch();
      owner.start();
    } else {
      single = createCapture();
      await single.start();
    }
    const currentCapture = () => (owner ? owner.current : single);
    const captureStatus = () =>
      currentCapture()?.status() ?? {
        // A follower: its stream is the shared log.
        connected: redisBus?.connected === true && redisBus.caughtUp,
        epoch: router.currentEpoch,
        lastCommitLsn: router.log.head,
        confirmedLsn: 0n,
        lastError: null,
      };

    const hub = new ConnectionHub(options.heartbeatMs ?? 15_000);
    hub.start();
    const replication = () =>
      pool
        .query<{ lag: string | null; retained: string | null; seconds: string | null }>(
          `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), s.confirmed_flush_lsn)::text AS lag,
                  pg_wal_lsn_diff(pg_current_wal_lsn(), s.restart_lsn)::text AS retained,
                  COALESCE(EXTRACT(epoch FROM r.flush_lag), 0)::text AS seconds
             FROM pg_replication_slots s LEFT JOIN pg_stat_replication r ON r.pid = s.active_pid
            WHERE s.slot_name = $1`,
          [slot],
        )
        .then((r) => ({
          lagBytes: Number(r.rows[0]?.lag ?? NaN),
          retainedBytes: Number(r.rows[0]?.retained ?? NaN),
          lagSeconds: Number(r.rows[0]?.seconds ?? NaN),
        }))
        .catch(() => ({ lagBytes: NaN, retainedBytes: NaN, lagSeconds: NaN }));
    const lagBytes = () => replication().then((r) => r.lagBytes);
    metrics = new Metrics(
      {
        router: () => router.stats.toJSON(),
        connections: () => hub.counts(),
        instances: () => router.instanceCount(),
        log: () => ({ transactions: router.log.size, bytes: router.log.byteSize }),
        capture: () => ({
          connected: captureStatus().connected,
          skipped: currentCapture()?.skipped ?? 0,
          owner: owner ? owner.isOwner : true,
        }),
        faults: () => faults.toJSON(),
        rlsQueries: () => router.rlsQueries,
        replication,
        ...(redisBus && owner
          ? {
              cluster: () => ({
                redisErrors: redisBus.redisErrors,
                acquisitions: owner?.acquisitions ?? 0,
                behindBytes: () => redisBus.behindBytes(),
              }),
            }
          : {}),
      },
      VERSION,
    );
    const health = async () => {
      const s = captureStatus();
      const lag = await lagBytes();
      return {
        status: s.connected && Number.isFinite(lag) && (!redisBus || redisBus.connected) ? 'ok' : 'degraded',
        replication: {
          slot,
          epoch: s.epoch,
          connected: s.connected,
          lagBytes: Number.isFinite(lag) ? lag : null,
          lastCommitLsn: formatLsn(s.lastCommitLsn),
          confirmedLsn: formatLsn(s.confirmedLsn),
          lastError: s.lastError,
          captureOwner: owner ? owner.isOwner : true,
          ...(redisBus ? { redis: redisBus.connected ? 'connected' : 'unreachable' } : {}),
        },
        connections: hub.counts(),
      };
    };
    const gate: Gate = {
      verify,
      origins: options.allowedOrigins ? new Set(options.allowedOrigins) : null,
      requests: new KeyedRateLimiter({ rate: limits.requestsPerSecond, burst: limits.requestsPerSecond * 2 }),
    };
    // Several nodes: SSE subscribe/unsubscribe for a stream another node holds travel there over Redis.
    const presence = new PresenceService({ rooms, pool, db, limits, logger, node: nodeId });
    bus.subscribe({ onEpoch: () => {}, onTransaction: (tx) => presence.onTransaction(tx) });
    const presenceCluster = options.redis ? new PresenceCluster({ url: options.redis, slot, presence, logger }) : null;
    const relay = options.redis
      ? new StreamRelay(options.redis, slot, (r) => handleStreamRequest({ hub, router, presence }, r), logger)
      : null;
    const handler = createHttpHandler({
      ...(relay ? { relay } : {}),
      router,
      hub,
      presence,
      gate,
      logger,
      faults,
      events: metrics.events,
      metrics,
      ...(options.metricsToken !== undefined ? { metricsToken: options.metricsToken } : {}),
      ready: () => {
        if (redisBus && !redisBus.connected) return { ready: false, reason: 'redis is unreachable' };
        const s = captureStatus();
        if (!s.connected) return { ready: false, reason: 'the replication stream is not connected' };
        if (router.currentEpoch === null) return { ready: false, reason: 'no stream epoch yet' };
        return { ready: true };
      },
      diff: {
        pool,
        db,
        maxRows: limits.maxSnapshotRows,
        resolve: (sub, identity) => router.resolve(sub, identity),
        headCursor: () => router.headCursor() as string,
      },
      mutate: {
        pool,
        db,
        writers,
        mutators,
        limits: { maxValueBytes: limits.maxWriteValueBytes },
        awaitCursor: (clientId, mutationId) => router.awaitCursor(clientId, mutationId),
        visibleRows: answerFilter(registry, db.role),
      },
      maxDiffSyncBodyBytes: limits.maxDiffSyncBodyBytes,
      headersTimeoutMs: limits.headersTimeoutMs,
      requestTimeoutMs: limits.requestTimeoutMs,
      maxConnectionsPerUser: limits.maxConnectionsPerUser,
      maxStreams: limits.maxStreams,
      tokenWarningSec: limits.tokenWarningSec,
      maxBodyBytes: limits.maxBodyBytes,
      maxBufferedBytes: limits.maxBufferedBytes,
      maxSubscriptionsPerConnection: limits.maxSubscriptionsPerConnection,
      health,
      collections: () => ({
        collections: registry.all().map((c) => ({
          name: c.name,
          table: c.table.qualified,
          params: [...c.params],
          ...(db.role !== undefined ? { rls: policySummary(registry.policyOf(c.table.qualified)) } : {}),
        })),
      }),
      stats: () => ({
        router: { ...router.stats.toJSON(), rlsQueries: router.rlsQueries },
        instances: router.instanceCount(),
        accessWatches: router.accessWatchCount(),
        log: { transactions: router.log.size, bytes: router.log.byteSize },
        connections: hub.counts(),
        faults: faults.toJSON(),
      }),
      ...(options.fallback ? { fallback: options.fallback } : {}),
    });
    const ws: WsOptions = {
      router,
      hub,
      presence,
      gate,
      logger,
      faults,
      events: metrics.events,
      maxFrameBytes: limits.maxFrameBytes,
      maxBufferedBytes: limits.maxBufferedBytes,
      maxConnectionsPerUser: limits.maxConnectionsPerUser,
      maxStreams: limits.maxStreams,
      messagesPerSecond: limits.messagesPerSecond,
      tokenWarningSec: limits.tokenWarningSec,
    };
    return {
      handler,
      ws,
      hub,
      router,
      limits,
      logger,
      slot,
      publication,
      pool,
      currentCapture,
      async stopCapture() {
        await owner?.stop();
        await single?.stop();
        await within(router.idle(), 5_000);
      },
      async stopRest() {
        if (policyTimer) clearInterval(policyTimer);
        await relay?.stop();
        presence.stop();
        await presenceCluster?.stop();
        await redisBus?.stop();
        await pool.end();
      },
    };
  } catch (e) {
    await pool.end().catch(() => {});
    throw e;
  }
}

/** Explicit options win; otherwise SYNCLINE_JWT_SECRET / SYNCLINE_JWKS_URL. */
function authOptions(explicit: AuthOptions | undefined): AuthOptions {
  if (explicit?.jwtSecret || explicit?.jwksUrl) return explicit;
  const secret = process.env['SYNCLINE_JWT_SECRET'];
  const jwks = process.env['SYNCLINE_JWKS_URL'];
  return { ...explicit, ...(jwks ? { jwksUrl: jwks } : {}), ...(secret ? { jwtSecret: secret } : {}) };
}
