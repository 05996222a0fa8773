/**
 * Token buckets: `rate` per second, bursts up to `burst`. One per connection
 * (inbound frames) and one per user (HTTP requests), kept in a bounded map.
 */
export interface RateLimit {
  rate: number;
  burst: number;
}

export class TokenBucket {
  private tokens: number;
  private last: number;
  constructor(
    private readonly limit: RateLimit,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = limit.burst;
    this.last = now();
  }

  take(): boolean {
    const t = this.now();
    this.tokens = Math.min(this.limit.burst, this.tokens + ((t - this.last) / 1000) * this.limit.rate);
    this.last = t;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** Buckets by key; at `maxKeys` the oldest key is forgotten (it starts full again: generous, never unbounded). */
export class KeyedRateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();
  constructor(
    private readonly limit: RateLimit,
    private readonly maxKeys = 100_000,
    private readonly now: () => number = Date.now,
  ) {}

  take(key: string): boolean {
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= this.maxKeys) this.buckets.delete(this.buckets.keys().next().value as string);
      b = new TokenBucket(this.limit, this.now);
      this.buckets.set(key, b);
    }
    return b.take();
  }
}
