/**
 * Exponential backoff with "full jitter": each delay is uniform in
 * [0, min(cap, base · factor^attempt)). Full jitter spreads a crowd of clients
 * that lost the same server apart, so they do not all come back in one wave.
 */
export interface BackoffOptions {
  baseMs: number;
  factor: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 250, factor: 2, maxMs: 10_000 };

// Past this the ceiling is long pinned at the cap; stops factor ** attempt growing to Infinity.
const MAX_EXPONENT = 64;

export class Backoff {
  private attempt = 0;

  constructor(
    private readonly options: BackoffOptions = DEFAULT_BACKOFF,
    /** Injectable so tests can pin the jitter. Must return a number in [0, 1). */
    private readonly random: () => number = Math.random,
  ) {}

  /** How many delays were handed out since the last reset. */
  get attempts(): number {
    return this.attempt;
  }

  /** The upper bound for the next delay, before jitter. */
  ceiling(): number {
    const { baseMs, factor, maxMs } = this.options;
    return Math.min(maxMs, baseMs * factor ** Math.min(this.attempt, MAX_EXPONENT));
  }

  next(): number {
    const delay = Math.floor(this.random() * this.ceiling());
    this.attempt++;
    return delay;
  }

  /** Called once a connection is truly up (after `hello`), not merely when TCP connects. */
  reset(): void {
    this.attempt = 0;
  }
}
