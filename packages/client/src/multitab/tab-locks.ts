/**
 * The part of the Web Locks API (`navigator.locks`) the tabs use: exclusive
 * locks, `ifAvailable` to learn at once whether another tab leads, and an
 * AbortSignal to give up a queued request. A lock is held until the callback's
 * promise settles; the browser releases it when its tab closes or crashes.
 */
export interface TabLocks {
  request<T>(
    name: string,
    options: { ifAvailable?: boolean; signal?: AbortSignal },
    callback: (lock: unknown) => Promise<T> | T,
  ): Promise<T>;
}

/** The browser's Web Locks, when there are any. */
export function browserLocks(): TabLocks | undefined {
  const nav = (globalThis as { navigator?: { locks?: TabLocks } }).navigator;
  return nav?.locks;
}

interface Waiter {
  grant: () => void;
}

/**
 * Web Locks semantics inside one JavaScript realm: for several clients in one
 * process (Node, tests, a worker hosting several stores). Exclusive mode only,
 * granted in request order.
 */
export class MemoryTabLocks implements TabLocks {
  private readonly held = new Set<string>();
  private readonly queues = new Map<string, Waiter[]>();

  request<T>(
    name: string,
    options: { ifAvailable?: boolean; signal?: AbortSignal },
    callback: (lock: unknown) => Promise<T> | T,
  ): Promise<T> {
    const { signal } = options;
    if (signal && options.ifAvailable) return Promise.reject(notSupported('signal with ifAvailable'));
    if (signal?.aborted) return Promise.reject(abortError());
    if (this.held.has(name) && options.ifAvailable) return Promise.resolve().then(() => callback(null));
    return new Promise<T>((resolve, reject) => {
      const run = () => {
        signal?.removeEventListener('abort', onAbort);
        this.held.add(name);
        Promise.resolve()
          .then(() => callback({ name }))
          .then(resolve, reject)
          .finally(() => this.release(name));
      };
      const waiter: Waiter = { grant: run };
      const onAbort = () => {
        const queue = this.queues.get(name) ?? [];
        const at = queue.indexOf(waiter);
        if (at < 0) return; // already granted: the callback decides when to let go
        queue.splice(at, 1);
        reject(abortError());
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      if (!this.held.has(name)) return run();
      const queue = this.queues.get(name) ?? [];
      queue.push(waiter);
      this.queues.set(name, queue);
    });
  }

  private release(name: string): void {
    this.held.delete(name);
    const queue = this.queues.get(name);
    const next = queue?.shift();
    if (queue && queue.length === 0) this.queues.delete(name);
    next?.grant();
  }
}

function abortError(): Error {
  const e = new Error('the lock request was aborted');
  e.name = 'AbortError';
  return e;
}

/** As the Web Locks API rejects option combinations it does not support. */
function notSupported(what: string): Error {
  const e = new Error(`Web Locks do not support ${what}`);
  e.name = 'NotSupportedError';
  return e;
}
