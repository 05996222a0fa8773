/**
 * The only clock the client uses. Injected so unit tests can drive backoff and
 * liveness deterministically without patching globals.
 */
export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

type TimerHandle = Parameters<typeof globalThis.clearTimeout>[0];

export const realTimers: Timers = {
  // Wrapped rather than passed by reference: browsers throw "Illegal invocation"
  // when setTimeout is called detached from `window`.
  setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as TimerHandle),
};

/** `fetch` as the client calls it; a subset so test doubles stay small. */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

export const globalFetch: FetchLike = (url, init) => globalThis.fetch(url, init);
