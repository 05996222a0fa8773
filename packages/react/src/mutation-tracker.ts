/**
 * Which of one hook's mutations are still unsettled, from the client's public events.
 * The outbox answers mutations one at a time in id order, so a mutation is settled
 * once it, or any later one, is acknowledged by the stream or rejected, or once
 * nothing is pending at all (a confirmation the stream did not see: it was offline).
 */
import { SyncError, type SyncClient } from '@syncline/client';

export interface MutationState {
  /** A mutation of this hook is queued, in flight or not yet confirmed. */
  readonly pending: boolean;
  /** Why the last one failed: not queued (storage), or rejected by the server (its code; 409 → CONFLICT). */
  readonly error: SyncError | undefined;
}

export class MutationTracker {
  private readonly ids = new Set<number>();
  private queuing = 0;
  private state: MutationState = { pending: false, error: undefined };
  private readonly listeners = new Set<() => void>();

  constructor(readonly client: SyncClient) {}

  get current(): MutationState {
    return this.state;
  }

  readonly listen = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    const client = this.client;
    const offs = [
      client.on('rejected', (e) => {
        if (this.ids.has(e.mutationId)) this.update(SyncError.from(e.error));
        this.settleUpTo(e.mutationId);
      }),
      client.on('ack', (ack) => {
        for (const m of ack.mutations) if (m.clientId === client.clientId) this.settleUpTo(m.mutationId);
      }),
      client.on('view', () => {
        if (client.pendingMutations === 0) this.settleUpTo(Infinity);
      }),
    ];
    return () => {
      this.listeners.delete(listener);
      for (const off of offs) off();
    };
  };

  /** Tracks a mutation the client is queuing; resolves or rejects as `client.mutate` does. */
  async track(queue: () => Promise<number>): Promise<number> {
    this.queuing++;
    this.update(undefined);
    try {
      const id = await queue();
      // Settled already (answered before this resumed) when nothing is pending.
      if (this.client.pendingMutations > 0) this.ids.add(id);
      return id;
    } catch (error) {
      this.update(SyncError.from(error));
      throw error;
    } finally {
      this.queuing--;
      this.update(this.state.error);
    }
  }

  private settleUpTo(mutationId: number): void {
    let changed = false;
    for (const id of this.ids) if (id <= mutationId) changed = this.ids.delete(id) || changed;
    if (changed) this.update(this.state.error);
  }

  private update(error: SyncError | undefined): void {
    const pending = this.queuing > 0 || this.ids.size > 0;
    if (pending === this.state.pending && error === this.state.error) return;
    this.state = { pending, error };
    for (const listener of [...this.listeners]) listener();
  }
}
