import { describe, expect, it } from 'vitest';
import { KeyedRateLimiter, TokenBucket } from './rate-limiter.ts';

describe('rate limiter', () => {
  it('allows a burst, then the sustained rate', () => {
    let t = 0;
    const b = new TokenBucket({ rate: 10, burst: 3 }, () => t);
    expect([b.take(), b.take(), b.take(), b.take()]).toEqual([true, true, true, false]);
    t += 100; // one token back
    expect([b.take(), b.take()]).toEqual([true, false]);
  });
  it('keys are independent and the map stays bounded', () => {
    const l = new KeyedRateLimiter({ rate: 1, burst: 1 }, 2, () => 0);
    expect([l.take('a'), l.take('a'), l.take('b')]).toEqual([true, false, true]);
    l.take('c'); // evicts a
    expect(l.take('a')).toBe(true);
  });
});
