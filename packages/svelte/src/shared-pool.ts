/**
 * One value per key, shared by everyone holding it, ended a little after the
 * last holder lets go: two components asking for the same subscription get
 * one, and a remount within the linger (a route change, an `{#if}` flipping)
 * picks it up again instead of ending and starting it anew.
 *
 *   acquire(k) ──▶ create(k) ─┐   refs 1, 2, …
 *   acquire(k) ───────────────┤
 *   release ×n ──▶ refs 0 ──▶ linger ──▶ end(value)      (acquire meanwhile: kept)
 */
export interface Lease<V> {
  readonly key: string;
  readonly value: V;
  /** Idempotent: a lease counts once. */
  release(): void;
}

export interface SharedPoolOptions {
  /** How long a value nobody holds is kept before it is ended (default 1 s). */
  lingerMs?: number;
  setTimeout?: (fn: () => void, ms: number) => unknown;
  clearTimeout?: (timer: unknown) => void;
}

interface Entry<V> {
  value: V;
  refs: number;
  timer: unknown;
}

export class SharedPool<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private readonly lingerMs: number;
  private readonly setTimer: (fn: () => void, ms: number) => unknown;
  private readonly clearTimer: (timer: unknown) => void;

  constructor(
    private readonly end: (value: V, key: string) => void,
    options: SharedPoolOptions = {},
  ) {
    this.lingerMs = options.lingerMs ?? 1_000;
    this.setTimer = options.setTimeout ?? ((fn, ms) => setTimeout(fn, ms));
    this.clearTimer = options.clearTimeout ?? ((t) => clearTimeout(t as ReturnType<typeof setTimeout>));
  }

  acquire(key: string, create: () => V): Lease<V> {
    let entry = this.entries.get(key);
    if (entry === undefined) {
      entry = { value: create(), refs: 0, timer: undefined };
      this.entries.set(key, entry);
    }
    if (entry.timer !== undefined) {
      this.clearTimer(entry.timer);
      entry.timer = undefined;
    }
    entry.refs++;
    const held = entry;
    let released = false;
    return {
      key,
      value: held.value,
      release: () => {
        if (released) return;
        released = true;
        if (--held.refs > 0 || this.entries.get(key) !== held) return;
        held.timer = this.setTimer(() => {
          if (held.refs > 0 || this.entries.get(key) !== held) return;
          this.entries.delete(key);
          this.end(held.value, key);
        }, this.lingerMs);
      },
    };
  }

  /** The value under `key` if someone holds it or it lingers. */
  peek(key: string): V | undefined {
    return this.entries.get(key)?.value;
  }

  get size(): number {
    return this.entries.size;
  }
}
