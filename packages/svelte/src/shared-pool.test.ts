import { describe, expect, it, vi } from 'vitest';
import { SharedPool } from './shared-pool.ts';

describe('SharedPool', () => {
  it('shares one value per key and ends it a linger after the last release', () => {
    vi.useFakeTimers();
    try {
      const ended: string[] = [];
      let made = 0;
      const pool = new SharedPool<number>((_, key) => ended.push(key), { lingerMs: 1_000 });
      const a = pool.acquire('k', () => ++made);
      const b = pool.acquire('k', () => ++made);
      expect([a.value, b.value, made]).toEqual([1, 1, 1]);
      a.release();
      a.release(); // counts once
      vi.advanceTimersByTime(5_000);
      expect(ended).toEqual([]); // b still holds it
      b.release();
      vi.advanceTimersByTime(999);
      const c = pool.acquire('k', () => ++made); // back within the linger: the same value, kept
      vi.advanceTimersByTime(5_000);
      expect([c.value, made, ended]).toEqual([1, 1, []]);
      c.release();
      vi.advanceTimersByTime(1_000);
      expect(ended).toEqual(['k']);
      expect(pool.size).toBe(0);
      expect(pool.acquire('k', () => ++made).value).toBe(2);
    } finally {
      vi.useRealTimers();
    }
  });
});
