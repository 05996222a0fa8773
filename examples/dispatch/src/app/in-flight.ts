/**
 * Which orders have a write of ours on its way. A write based on a row we are
 * still changing cannot name the version it expects (ours is not known until
 * the answer), so it goes without `expectedVersion` — as the client's undo does.
 */
import type { SyncClient } from '@syncline/client';

export class InFlight {
  private readonly byMutation = new Map<number, string>();
  private readonly ended = new Set<number>();
  private readonly off: Array<() => void>;

  constructor(client: SyncClient) {
    const end = (id: number) => {
      if (!this.byMutation.delete(id)) this.ended.add(id);
    };
    this.off = [client.on('confirmed', (e) => end(e.mutationId)), client.on('rejected', (e) => end(e.mutationId))];
  }

  has(orderId: string): boolean {
    for (const id of this.byMutation.values()) if (id === orderId) return true;
    return false;
  }

  add(mutationId: number, orderId: string): void {
    if (!this.ended.delete(mutationId)) this.byMutation.set(mutationId, orderId);
  }

  stop(): void {
    for (const off of this.off) off();
  }
}
