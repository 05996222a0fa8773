/** Counters for tests, dashboards and debugging; they only ever go up. */
export interface SyncClientStats {
  /** `hello`s received, i.e. connections that came up. */
  connects: number;
  /** Connection attempts after the first (each one followed a backoff). */
  reconnects: number;
  /** Streams aborted for silence: no `hello` within connectTimeoutMs, or nothing within 2.5 × heartbeatMs. */
  livenessTimeouts: number;
  eventsReceived: number;
  /** Known event names whose data failed to parse or validate; they are skipped. */
  malformedEvents: number;
  snapshotsCompleted: number;
  /** Resyncs answered by differential sync (rows kept, only the difference transferred). */
  diffSyncs: number;
  /** `changes` messages that changed at least one subscription. */
  messagesApplied: number;
  changesApplied: number;
  /** (message, subscription) pairs skipped because the subscription's cursor was already at or past it. */
  duplicatesIgnored: number;
  /** Changes dropped for a subscription with no complete snapshot (or in error); the server should never cause this. */
  changesBeforeSnapshot: number;
  /** Changes for subscription ids we do not hold (e.g. in flight while unsubscribing). */
  changesForUnknownSubscription: number;
  resyncs: number;
  /** `error` events received. */
  errors: number;
}

export function createStats(): SyncClientStats {
  return {
    connects: 0,
    reconnects: 0,
    livenessTimeouts: 0,
    eventsReceived: 0,
    malformedEvents: 0,
    snapshotsCompleted: 0,
    diffSyncs: 0,
    messagesApplied: 0,
    changesApplied: 0,
    duplicatesIgnored: 0,
    changesBeforeSnapshot: 0,
    changesForUnknownSubscription: 0,
    resyncs: 0,
    errors: 0,
  };
}
