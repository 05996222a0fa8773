/**
 * Which of one hook's mutations are still unsettled: each mutation ends in exactly
 * one of the client's 'confirmed' or 'rejected' events. One that ends while it is
 * still being queued (its id not known yet) is remembered until it is.
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
  /** Ended (with the rejection's error, if rejected) while a mutation of this hook was still queuing. */
  private readonly endedEarly = new Map<number, SyncError | undefined>();
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
        this.ended(e.mutationId, SyncError.from(e.error));
      }),
      client.on('confirmed', (e) => this.ended(e.mutationId, undefined)),
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
      if (!this.endedEarly.has(id)) this.ids.add(id);
      else if (this.endedEarly.get(id)) this.update(this.endedEarly.get(id));
      this.endedEarly.delete(id);
      return id;
    } catch (error) {
      this.update(SyncError.from(error));
      throw error;
    } finally {
      if (--this.queuing === 0) this.endedEarly.clear();
      this.update(this.state.error);
    }
  }

  private ended(mutationId: number, error: SyncError | undefined): void {
    if (this.ids.delete(mutationId)) this.update(error ?? this.state.error);
    else if (this.queuing > 0) this.endedEarly.set(mutationId, error);
  }

  private update(error: SyncError | undefined): void {
    const pending = this.queuing > 0 || this.ids.size > 0;
    if (pending === this.state.pending && error === this.state.error) return;
    this.state = { pending, error };
    for (const listener of [...this.listeners]) listener();
  }
}
