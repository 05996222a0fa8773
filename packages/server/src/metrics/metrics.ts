/**
 * `GET /metrics`: Prometheus text from a registry of this node's own (never
 * prom-client's global one). Names are `syncline_`-prefixed, in base units;
 * durations are histograms; labels are bounded (transport, reason, code,
 * event, outcome — each from a fixed set the code writes).
 *
 *   counters the code bumps (connection events, mutate, commit → send)   ─┐
 *   values read at scrape time (router stats, hub, capture, log, health)  ─┴─► registry.metrics()
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ConnectionEvents } from '../transport/connection-events.ts';

export interface MetricSources {
  router(): Record<string, number>;
  connections(): { sse: number; ws: number };
  instances(): number;
  log(): { transactions: number; bytes: number };
  capture(): { connected: boolean; skipped: number; owner: boolean };
  faults(): Record<string, number>;
  rlsQueries(): number;
  /** Several nodes: Redis errors, how far this node's reader is behind the shared log, capture takeovers. */
  cluster?(): { redisErrors: number; acquisitions: number; behindBytes(): Promise<number> };
  /** Read at scrape time; NaN when unknown. */
  replication(): Promise<{ lagBytes: number; retainedBytes: number; lagSeconds: number }>;
}

const SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class Metrics {
  readonly registry = new Registry();
  readonly events: ConnectionEvents;
  private readonly commitToSend: Histogram<string>;
  private readonly snapshot: Histogram<string>;
  private readonly mutate: Histogram<'outcome'>;
  private readonly mutations: Counter<'outcome'>;

  constructor(sources: MetricSources, version: string) {
    const r = this.registry;
    new Gauge({
      name: 'syncline_build_info',
      help: 'Always 1; labels say what runs.',
      labelNames: ['version', 'node'],
      registers: [r],
    })
      .labels(version, process.version)
      .set(1);
    // Written once per message per connection (the fan-out's hot path): plain counts here, turned
    // into samples only when scraped.
    const sentBy = new Map<string, number>();
    let sentBytes = 0;
    new Counter({
      name: 'syncline_messages_sent_total',
      help: 'Messages written to client streams.',
      labelNames: ['event'] as const,
      registers: [r],
      collect() {
        this.reset();
        for (const [event, n] of sentBy) this.labels(event).inc(n);
      },
    });
    new Counter({
      name: 'syncline_bytes_sent_total',
      help: 'Bytes written to client streams.',
      registers: [r],
      collect() {
        this.reset();
        this.inc(sentBytes);
      },
    });
    const resyncs = new Counter({
      name: 'syncline_resyncs_total',
      help: 'resync messages sent, by reason.',
      labelNames: ['reason'] as const,
      registers: [r],
    });
    const errors = new Counter({
      name: 'syncline_stream_errors_total',
      help: 'error messages sent on streams, by code.',
      labelNames: ['code'] as const,
      registers: [r],
    });
    const dropped = new Counter({
      name: 'syncline_slow_consumers_dropped_total',
      help: 'Connections closed at their send-buffer bound.',
      registers: [r],
    });
    this.events = {
      sent: (event, n) => {
        sentBy.set(event, (sentBy.get(event) ?? 0) + 1);
        sentBytes += n;
      },
      resync: (reason) => resyncs.labels(reason).inc(),
      error: (code) => errors.labels(code).inc(),
      dropped: () => dropped.inc(),
    };
    this.commitToSend = new Histogram({
      name: 'syncline_commit_to_send_seconds',
      help: 'From a transaction commit (PostgreSQL clock) to its messages being written.',
      buckets: SECONDS,
      registers: [r],
    });
    this.snapshot = new Histogram({
      name: 'syncline_snapshot_duration_seconds',
      help: 'Snapshot queries, from start to rows in hand.',
      buckets: SECONDS,
      registers: [r],
    });
    this.mutate = new Histogram({
      name: 'syncline_mutate_duration_seconds',
      help: 'POST /v1/mutate, by outcome.',
      labelNames: ['outcome'] as const,
      buckets: SECONDS,
      registers: [r],
    });
    this.mutations = new Counter({
      name: 'syncline_mutations_total',
      help: 'POST /v1/mutate answers, by outcome (HTTP status class).',
      labelNames: ['outcome'] as const,
      registers: [r],
    });

    // Read at scrape time: values other parts already keep.
    const fromRouter = (name: string, key: string, help: string) =>
      new Counter({
        name,
        help,
        registers: [r],
        collect() {
          this.reset();
          this.inc(sources.router()[key] ?? 0);
        },
      });
    fromRouter('syncline_transactions_routed_total', 'transactions', 'Captured transactions routed.');
    fromRouter('syncline_changes_routed_total', 'changes', 'Row changes routed.');
    fromRouter('syncline_snapshot_queries_total', 'snapshotQueries', 'Snapshot queries run.');
    fromRouter(
      'syncline_snapshots_coalesced_total',
      'snapshotsCoalesced',
      'Subscriptions that joined a snapshot in flight.',
    );
    fromRouter(
      'syncline_replayed_transactions_total',
      'replayedTransactions',
      'Transactions replayed to resuming subscriptions.',
    );
    fromRouter('syncline_revocations_total', 'revocations', 'Subscriptions revoked live.');
    new Counter({
      name: 'syncline_rls_queries_total',
      help: 'Row-level security checks run by PostgreSQL (policies outside the compiled subset).',
      registers: [r],
      collect() {
        this.reset();
        this.inc(sources.rlsQueries());
      },
    });
    new Counter({
      name: 'syncline_skipped_transactions_total',
      help: 'Transactions with nothing for Syncline, decoded and skipped.',
      registers: [r],
      collect() {
        this.reset();
        this.inc(sources.capture().skipped);
      },
    });
    new Counter({
      name: 'syncline_faults_total',
      help: 'Unexpected exceptions contained to one request or connection, by where.',
      labelNames: ['site'] as const,
      registers: [r],
      collect() {
        this.reset();
        for (const [site, n] of Object.entries(sources.faults())) this.labels(site).inc(n);
      },
    });
    new Gauge({
      name: 'syncline_connections',
      help: 'Open client streams, by transport.',
      labelNames: ['transport'] as const,
      registers: [r],
      collect() {
        const c = sources.connections();
        this.labels('sse').set(c.sse);
        this.labels('ws').set(c.ws);
      },
    });
    new Gauge({
      name: 'syncline_instances',
      help: 'Collection instances live on this node.',
      registers: [r],
      collect() {
        this.set(sources.instances());
      },
    });
    new Gauge({
      name: 'syncline_log_transactions',
      help: 'Transactions held in the resume log.',
      registers: [r],
      collect() {
        this.set(sources.log().transactions);
      },
    });
    new Gauge({
      name: 'syncline_log_bytes',
      help: 'Bytes held in the resume log (estimate).',
      registers: [r],
      collect() {
        this.set(sources.log().bytes);
      },
    });
    new Gauge({
      name: 'syncline_capture_connected',
      help: '1 while the replication stream is connected.',
      registers: [r],
      collect() {
        this.set(sources.capture().connected ? 1 : 0);
      },
    });
    // One catalog query per scrape feeds the three replication gauges.
    let pending: ReturnType<MetricSources['replication']> | null = null;
    const replication = () => (pending ??= sources.replication().finally(() => (pending = null)));
    const fromReplication = (name: string, help: string, key: 'lagBytes' | 'retainedBytes' | 'lagSeconds') =>
      new Gauge({
        name,
        help,
        registers: [r],
        async collect() {
          const v = (await replication())[key];
          if (Number.isFinite(v)) this.set(v);
        },
      });
    fromReplication(
      'syncline_replication_lag_bytes',
      'WAL between the server and the slot position this node confirmed.',
      'lagBytes',
    );
    fromReplication(
      'syncline_replication_lag_seconds',
      "PostgreSQL's flush lag of this node's replication stream (0 when caught up).",
      'lagSeconds',
    );
    fromReplication(
      'syncline_retained_wal_bytes',
      'WAL the slot keeps on the server (from its restart position).',
      'retainedBytes',
    );
    const cluster = sources.cluster;
    if (cluster) {
      new Counter({
        name: 'syncline_redis_errors_total',
        help: 'Redis connection and command errors.',
        registers: [r],
        collect() {
          this.reset();
          this.inc(cluster().redisErrors);
        },
      });
      new Counter({
        name: 'syncline_capture_acquisitions_total',
        help: 'Times this node took capture over.',
        registers: [r],
        collect() {
          this.reset();
          this.inc(cluster().acquisitions);
        },
      });
      new Gauge({
        name: 'syncline_shared_log_behind_bytes',
        help: "WAL bytes between the shared log's newest entry and the last one this node read.",
        registers: [r],
        async collect() {
          const v = await cluster()
            .behindBytes()
            .catch(() => NaN);
          if (Number.isFinite(v)) this.set(v);
        },
      });
    }
    new Gauge({
      name: 'syncline_capture_owner',
      help: '1 when this node runs capture (a single node always does).',
      registers: [r],
      collect() {
        this.set(sources.capture().owner ? 1 : 0);
      },
    });
  }

  /** A transaction's messages were written; `commitTime` in ms since the epoch. */
  routed(commitTime: number): void {
    this.commitToSend.observe(Math.max(0, (Date.now() - commitTime) / 1000));
  }

  snapshotDone(ms: number): void {
    this.snapshot.observe(ms / 1000);
  }

  mutated(status: number, ms: number): void {
    const outcome = status < 300 ? 'ok' : status < 500 ? 'refused' : status === 503 ? 'retry' : 'error';
    this.mutations.labels(outcome).inc();
    this.mutate.labels(outcome).observe(ms / 1000);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
