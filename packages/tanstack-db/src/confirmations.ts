/**
 * When a mutation sent through the collection is confirmed: its rows from the
 * server are in the collection (or the server said none of them belong to this
 * subscription). Until then TanStack DB shows its optimistic state; resolving
 * earlier would drop it before the synced row is there, and the row would blink.
 *
 *   client 'committed' naming it ─▶ the keys it `covered` for our subscription (rows left
 *        out of the stream, which the client places from the write's answer); the rows
 *        the message brought itself are already written by then (its 'transaction')
 *   each commit of CollectionSync ─▶ those keys written (or a snapshot) ─▶ resolve
 *   client 'rejected' ────────────────▶ reject with a SyncError: TanStack DB rolls back
 */
import { SyncError, type SyncClient } from '@syncline/client';
import type { MutationRef } from '@syncline/protocol';
import type { Committed } from './collection-sync.ts';

/** What a stream message said of a mutation: the keys it covered for our subscription. */
type Expected = ReadonlySet<string>;

interface Waiting {
  /** Known once the stream named the mutation: keys still to be written into the collection. */
  keys: Set<string> | undefined;
  resolve(): void;
  reject(error: unknown): void;
}

/** Stream messages that named a mutation before anyone waited for it (bounded). */
const KEEP_SEEN = 200;

export class Confirmations {
  private readonly waiting = new Map<number, Waiting>();
  private readonly seen = new Map<number, Expected>();
  private readonly rejected = new Map<number, SyncError>();
  private readonly stops: Array<() => void> = [];

  constructor(
    private readonly client: SyncClient,
    private readonly subscriptionId: string,
  ) {
    this.stops.push(
      client.on('committed', (m) => {
        const covered = m.covered.filter((c) => c.subscription === this.subscriptionId);
        this.streamed(m.mutations, new Set(covered.map((c) => c.key)));
      }),
      client.on('rejected', (e) => {
        const error = new SyncError(e.error.code, e.error.message, undefined, { cause: e });
        const w = this.waiting.get(e.mutationId);
        if (w === undefined) return void this.remember(this.rejected, e.mutationId, error);
        this.waiting.delete(e.mutationId);
        w.reject(error);
      }),
    );
  }

  /** Resolves once the mutation's rows are in the collection; rejects when the server refused it. */
  wait(mutationId: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const refused = this.rejected.get(mutationId);
      if (refused !== undefined) return reject(refused);
      const w: Waiting = { keys: undefined, resolve, reject };
      this.waiting.set(mutationId, w);
      const seen = this.seen.get(mutationId);
      if (seen !== undefined) this.expect(mutationId, w, seen);
    });
  }

  /** After each commit into the collection. */
  committed({ keys, replaced }: Committed): void {
    for (const [id, w] of this.waiting) {
      if (w.keys === undefined) continue;
      if (replaced) w.keys.clear();
      for (const key of keys) w.keys.delete(key);
      if (w.keys.size === 0) this.settle(id, w);
    }
  }

  /** The collection stopped syncing: nothing will confirm what is still waiting. */
  stop(reason: SyncError): void {
    for (const stop of this.stops.splice(0)) stop();
    for (const w of this.waiting.values()) w.reject(reason);
    this.waiting.clear();
  }

  private streamed(mutations: readonly MutationRef[], keys: Expected): void {
    for (const m of mutations) {
      if (m.clientId !== this.client.clientId) continue;
      const w = this.waiting.get(m.mutationId);
      if (w === undefined) this.remember(this.seen, m.mutationId, keys);
      else this.expect(m.mutationId, w, keys);
    }
  }

  private expect(id: number, w: Waiting, expected: Expected): void {
    w.keys = new Set(expected);
    if (w.keys.size === 0) this.settle(id, w);
  }

  private settle(id: number, w: Waiting): void {
    this.waiting.delete(id);
    this.seen.delete(id);
    w.resolve();
  }

  private remember<V>(map: Map<number, V>, id: number, value: V): void {
    map.set(id, value);
    if (map.size > KEEP_SEEN) map.delete(map.keys().next().value as number);
  }
}
