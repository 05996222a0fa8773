/**
 * `draft(key, initial)`: unsaved form state that survives a remount and a
 * reload, bindable to an input: `<input bind:value={d.value} />`.
 *
 *   created ──▶ load from the store ──▶ loaded (value from the store, or initial)
 *   set value ──▶ shown at once ──▶ written through (drafts.set) ──▶ error if the store refused
 *
 * A value typed before the load finished wins over the stored one. Needs a
 * client with a store (`SyncClient.open`); without one the value lives in memory.
 */
import type { JsonValue } from '@syncline/protocol';
import { SyncError, type Drafts, type SyncClient } from '@syncline/client';
import { createSubscriber } from 'svelte/reactivity';
import { getSynclineClient } from './context.ts';

export class Draft<T extends JsonValue = JsonValue> {
  private current: T;
  private isLoaded = false;
  private edits = 0;
  private loads = 0;
  private writing = 0;
  private failure: SyncError | undefined;
  private notify: (() => void) | undefined;
  private readonly drafts: Drafts | undefined;
  private readonly track = createSubscriber((update) => {
    this.notify = update;
    // Another binding of the same key in this client set or cleared it: read it again.
    const off = this.drafts?.on('change', (key) => {
      if (key === this.key && this.writing === 0) this.reload();
    });
    return () => {
      this.notify = undefined;
      off?.();
    };
  });

  constructor(
    client: SyncClient,
    readonly key: string,
    private readonly initial: T,
  ) {
    this.current = initial;
    this.drafts = client.drafts;
    if (this.drafts === undefined) this.isLoaded = true;
    else this.reload();
  }

  get value(): T {
    this.track();
    return this.current;
  }

  set value(value: T) {
    this.edits++;
    this.current = value;
    this.notify?.();
    if (this.drafts === undefined) return;
    this.writing++;
    this.drafts
      .set(this.key, value)
      .then(() => (this.failure = undefined))
      .catch((error: unknown) => {
        this.failure = SyncError.from(error);
        this.notify?.();
      })
      .finally(() => {
        this.writing--;
        this.notify?.();
      });
  }

  /** A write of this draft is on its way to the store (a reload now could lose it). */
  get saving(): boolean {
    this.track();
    return this.writing > 0;
  }

  /** Whether the stored value has been read (until then `value` is the initial one). */
  get loaded(): boolean {
    this.track();
    return this.isLoaded;
  }

  /** Why the last write failed (DRAFTS_FULL, DRAFT_TOO_LARGE…). */
  get error(): SyncError | undefined {
    this.track();
    return this.failure;
  }

  /** Deletes the stored draft (after a submit) and shows the initial value again. */
  async clear(): Promise<void> {
    this.current = this.initial;
    this.edits++;
    this.notify?.();
    this.writing++;
    try {
      await this.drafts?.clear(this.key);
    } finally {
      this.writing--;
    }
  }

  /** Reads the stored value; an edit made meanwhile wins over it. */
  private reload(): void {
    const load = ++this.loads;
    const edits = this.edits;
    this.drafts
      ?.get<T>(this.key)
      .then((stored) => {
        if (load !== this.loads) return; // a later read is on its way
        if (this.edits === edits && this.writing === 0) this.current = stored ?? this.initial;
        this.isLoaded = true;
        this.notify?.();
      })
      .catch((error: unknown) => {
        this.failure = SyncError.from(error);
        this.isLoaded = true;
        this.notify?.();
      });
  }
}

/** A draft for `key`, `initial` until one is stored. Call during component initialisation. */
export function draft<T extends JsonValue>(key: string, initial: T): Draft<T> {
  return new Draft<T>(getSynclineClient(), key, initial);
}
