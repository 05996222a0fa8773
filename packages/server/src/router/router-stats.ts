/** Counters the router keeps for /v1/sync/stats and /metrics. */
export class RouterStats {
  transactions = 0;
  changes = 0;
  messagesQueued = 0;
  framesSerialised = 0;
  snapshotQueries = 0;
  snapshotsCoalesced = 0;
  replayedTransactions = 0;
  /** Instance predicate evaluations: with the routing index, proportional to matches, not to instances. */
  instancesEvaluated = 0;
  /** Subscriptions taken away live (access rule stopped matching, or a refreshed token narrowed it). */
  revocations = 0;
  routingMsTotal = 0;

  transaction(changes: number, connections: number, frames: number, ms: number): void {
    this.transactions++;
    this.changes += changes;
    this.messagesQueued += connections;
    this.framesSerialised += frames;
    this.routingMsTotal += ms;
  }

  toJSON(): Record<string, number> {
    return { ...this } as unknown as Record<string, number>;
  }
}
