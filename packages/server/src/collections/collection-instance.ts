/**
 * A collection with its params (and later claims) bound. Every subscription
 * with the same instance key shares one instance: one routing entry, one
 * predicate evaluation per change, one snapshot query at a time.
 */
import type { Collection } from './collection.ts';
import type { BoundFilter } from './filter/compile-filter.ts';
import type { SnapshotJob } from './snapshot-job.ts';
import type { XidSnapshot } from './xid-snapshot.ts';
import type { SyncConnection } from '../transport/sync-connection.ts';
import type { Identity } from '../auth/token-verifier.ts';

export interface Subscriber {
  conn: SyncConnection;
  subId: string;
  /**
   * Set when the subscriber went live from a snapshot that may be ahead of the
   * stream: transactions up to `until` whose xid the snapshot already saw are
   * skipped for this subscriber (and only for it). Cleared once the stream passes `until`.
   */
  guard: SnapshotGuard | null;
}

export interface SnapshotGuard {
  until: bigint;
  xids: XidSnapshot;
}

let nextId = 1;

export class CollectionInstance {
  readonly id = nextId++;
  /** Live subscribers: they get every routed change. */
  readonly subscribers = new Set<Subscriber>();
  /** The snapshot in flight, shared by every subscriber that joins while it runs. */
  snapshot: SnapshotJob | null = null;

  constructor(
    readonly key: string,
    readonly collection: Collection,
    readonly bound: BoundFilter,
    /** Whose claims snapshot queries run under (RLS); any subscriber of a per-user instance will do. */
    public identity: Identity,
  ) {}

  get table() {
    return this.collection.table;
  }

  get idle(): boolean {
    return this.subscribers.size === 0 && this.snapshot === null;
  }
}
