/**
 * The server cannot resume a subscription. With rows in hand, ask what changed
 * (differential sync) and keep showing them meanwhile; with none, when
 * versions cannot tell (a schema change, other claims), or if that fails,
 * start over from a snapshot.
 */
import { requestDiffSync } from '../connection/diff-sync.ts';
import type { ClientParts } from '../client-parts.ts';
import type { Subscription } from '../store/subscription.ts';

export class Resyncer {
  constructor(
    private readonly parts: ClientParts,
    private readonly http: Parameters<typeof requestDiffSync>[0],
    /** Puts the subscription on the connection again (with the cursor it now has, if any). */
    private readonly resubscribe: (sub: Subscription) => void,
  ) {}

  resync(id: string, reason?: string): void {
    const { registry, stats } = this.parts;
    const sub = registry.get(id);
    if (!sub) return;
    stats.resyncs++;
    const versions: Record<string, number> = {};
    for (const [key, r] of sub.rowsByKey()) versions[key] = r.version;
    // Versions cannot tell what these change: a new column's default (no row's version moves),
    // or a token that binds other rows. Only a snapshot can.
    const versionsBlind = reason === 'schema-changed' || reason === 'claims-changed';
    if (Object.keys(versions).length === 0 || sub.status === 'resyncing' || versionsBlind) {
      sub.resync();
      this.resubscribe(sub);
      return;
    }
    sub.startDiffSync();
    requestDiffSync(this.http, sub.toWire(), versions).then(
      (diff) => {
        if (registry.get(id) !== sub) return; // unsubscribed meanwhile
        stats.diffSyncs++;
        sub.applyDiff(diff);
        this.resubscribe(sub); // carries the answer's cursor: resumes live from there
      },
      () => {
        if (registry.get(id) !== sub) return;
        sub.resync();
        this.resubscribe(sub);
      },
    );
  }
}
