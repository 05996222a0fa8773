/**
 * The one reactive primitive of this package: a value held only while a
 * Svelte effect reads it.
 *
 *   getter ──▶ read(key) ──▶ createSubscriber: first reader ──▶ acquire(key), wire(update)
 *                             key changed (a params getter) ──▶ acquire the new, release the old
 *                             last reader gone (a microtask later) ──▶ unwire, release
 *
 * Outside an effect nothing is acquired: read() returns the held value if an
 * effect elsewhere holds it, else undefined (callers fall back to a peek).
 */
import { createSubscriber } from 'svelte/reactivity';
import type { Lease } from './shared-pool.ts';

export class Held<V> {
  private update: (() => void) | undefined;
  private lease: Lease<V> | undefined;
  private unwire: (() => void) | undefined;
  private readonly subscribe = createSubscriber((update) => {
    this.update = update;
    return () => {
      this.update = undefined;
      this.drop();
    };
  });

  constructor(
    private readonly acquire: (key: string) => Lease<V>,
    /** Calls `update` whenever what readers see changed; returns how to stop. */
    private readonly wire: (value: V, update: () => void) => () => void,
  ) {}

  read(key: string): V | undefined {
    this.subscribe();
    const update = this.update;
    if (update === undefined) return undefined;
    if (this.lease?.key !== key) {
      const previous = this.lease;
      const unwire = this.unwire;
      this.lease = this.acquire(key);
      this.unwire = this.wire(this.lease.value, update);
      unwire?.();
      previous?.release();
    }
    return this.lease.value;
  }

  /** Tells current readers to read again (for changes made here, not by the wired source). */
  changed(): void {
    this.update?.();
  }

  private drop(): void {
    this.unwire?.();
    this.lease?.release();
    this.unwire = undefined;
    this.lease = undefined;
  }
}

/** A lease on nothing: for values the reader owns itself. */
export function ownLease<V>(key: string, value: V, release: () => void = () => {}): Lease<V> {
  return { key, value, release };
}
