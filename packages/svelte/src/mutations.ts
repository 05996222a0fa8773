/**
 * `mutate()` / `mutator(name)`: writes with their state for the UI.
 *
 *   run() ──▶ pending ──▶ queued (shown at once) ──▶ confirmed ──▶ not pending
 *                    │                         └──▶ rejected (409…) ──▶ error, rolled back
 *                    └──▶ mutate() rejected (OUTBOX_FULL…) ──▶ error, nothing shown
 *
 * Each mutation ends in exactly one of the client's 'confirmed' or 'rejected'
 * events; one that ends while its run() is still being queued is remembered
 * until run() knows its id.
 */
import type { WriteOp } from '@syncline/protocol';
import { SyncError, type RejectedEvent, type SyncClient } from '@syncline/client';
import { createSubscriber } from 'svelte/reactivity';
import { getSynclineClient } from './context.ts';

export class Mutation<A = WriteOp[]> {
  private readonly mine = new Set<number>();
  /** Ended (confirmed or rejected) while a run() was still queuing: not pending once its id is known. */
  private readonly endedEarly = new Map<number, RejectedEvent | undefined>();
  private starting = 0;
  private lastError: SyncError | undefined;
  private lastRejection: RejectedEvent | undefined;
  private off: (() => void) | undefined;
  private notify: (() => void) | undefined;
  private readonly track = createSubscriber((update) => {
    this.notify = update;
    return () => (this.notify = undefined);
  });

  constructor(
    private readonly client: SyncClient,
    private readonly send: (client: SyncClient, args: A) => Promise<number>,
  ) {}

  /** Queues the write (shown at once); resolves with its mutation id, rejects if it could not be queued. */
  async run(args: A): Promise<number> {
    this.starting++;
    this.listen();
    this.changed();
    try {
      const id = await this.send(this.client, args);
      if (!this.endedEarly.has(id)) this.mine.add(id);
      else if (this.endedEarly.get(id)) this.failed(this.endedEarly.get(id) as RejectedEvent);
      this.endedEarly.delete(id);
      return id;
    } catch (error) {
      this.lastError = SyncError.from(error);
      this.lastRejection = undefined;
      throw this.lastError;
    } finally {
      this.starting--;
      this.settle();
    }
  }

  /** True from `run()` until the server has answered every write started here. */
  get pending(): boolean {
    this.track();
    return this.starting > 0 || this.mine.size > 0;
  }

  /** The last failure of a write started here: the server's rejection (`CONFLICT` for 409…), or why it was not queued. */
  get error(): SyncError | undefined {
    this.track();
    return this.lastError;
  }

  /** The last rejection in full: the ops' `body`, and for a 409 `current`, the row as the server has it. */
  get rejected(): RejectedEvent | undefined {
    this.track();
    return this.lastRejection;
  }

  /** Forgets the last error. */
  reset(): void {
    this.lastError = undefined;
    this.lastRejection = undefined;
    this.changed();
  }

  private listen(): void {
    if (this.off !== undefined) return;
    const offRejected = this.client.on('rejected', (e) => this.ended(e.mutationId, e));
    const offConfirmed = this.client.on('confirmed', (e) => this.ended(e.mutationId, undefined));
    this.off = () => {
      offRejected();
      offConfirmed();
    };
  }

  private ended(mutationId: number, rejection: RejectedEvent | undefined): void {
    if (this.mine.delete(mutationId)) {
      if (rejection) this.failed(rejection);
    } else if (this.starting > 0) this.endedEarly.set(mutationId, rejection);
    this.settle();
  }

  private failed(rejection: RejectedEvent): void {
    this.lastError = new SyncError(rejection.error.code, rejection.error.message);
    this.lastRejection = rejection;
  }

  private settle(): void {
    if (this.starting === 0) this.endedEarly.clear();
    if (this.starting === 0 && this.mine.size === 0) {
      this.off?.();
      this.off = undefined;
    }
    this.changed();
  }

  private changed(): void {
    this.notify?.();
  }
}

/** Writes ops: `const save = mutate(); save.run([{ type: 'set', table, id, key, value }])`. */
export function mutate(): Mutation<WriteOp[]> {
  return new Mutation<WriteOp[]>(getSynclineClient(), (client, ops) => client.mutate(ops));
}

/** A named server mutator: `const accept = mutator('orders.accept'); accept.run({ orderId })`. */
export function mutator<A = unknown>(name: string): Mutation<A> {
  return new Mutation<A>(getSynclineClient(), (client, args) => client.mutator(name, args));
}
