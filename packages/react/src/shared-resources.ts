/**
 * Ref-counted resources per key, ended a short while after the last user lets go:
 *
 *   get(key) ──▶ entry (created on first ask, refs 0, linger armed)
 *   acquire(key) ──▶ refs + 1, linger cancelled
 *   release(key) ──▶ refs − 1; at 0 the linger is armed ──(lingerMs)──▶ dispose(), forgotten
 *
 * `get` may be called while rendering (React can throw that render away): an entry
 * nobody acquires is ended by the same linger, so a discarded render leaks nothing.
 * A re-mount within the linger (StrictMode's double effects, a route coming back)
 * finds the entry still there.
 */
export interface Lingering {
  dispose(): void;
}

export class SharedResources<T extends Lingering> {
  private readonly entries = new Map<
    string,
    { value: T; refs: number; timer: ReturnType<typeof setTimeout> | undefined }
  >();

  constructor(private readonly lingerMs: number) {}

  /** The entry for `key`, created with `create` when absent. */
  get(key: string, create: () => T): T {
    const found = this.entries.get(key);
    if (found) return found.value;
    const entry = { value: create(), refs: 0, timer: undefined };
    this.entries.set(key, entry);
    this.arm(key);
    return entry.value;
  }

  /** The entry for `key` if there is one. */
  peek(key: string): T | undefined {
    return this.entries.get(key)?.value;
  }

  /** Holds the entry (created if absent) until the matching `release`. */
  acquire(key: string, create: () => T): T {
    const value = this.get(key, create);
    const entry = this.entries.get(key);
    if (entry) {
      entry.refs++;
      if (entry.timer !== undefined) clearTimeout(entry.timer);
      entry.timer = undefined;
    }
    return value;
  }

  release(key: string): void {
    const entry = this.entries.get(key);
    if (!entry || entry.refs === 0) return;
    if (--entry.refs === 0) this.arm(key);
  }

  /** Keys alive now (held or lingering). For tests. */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Lets go of every entry at once: ends each (`dispose`), or with `dispose: false` only
   * forgets them (the client is closing, and keeps its subscriptions stored for a reload).
   */
  clear(dispose: boolean): void {
    for (const entry of this.entries.values()) {
      if (entry.timer !== undefined) clearTimeout(entry.timer);
      if (dispose) entry.value.dispose();
    }
    this.entries.clear();
  }

  private arm(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    entry.timer = setTimeout(() => {
      if (this.entries.get(key) !== entry || entry.refs > 0) return;
      this.entries.delete(key);
      entry.value.dispose();
    }, this.lingerMs);
  }
}
