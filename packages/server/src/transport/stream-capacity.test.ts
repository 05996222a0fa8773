import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { defaultMaxStreams } from './stream-capacity.ts';

describe('default stream cap', () => {
  it('leaves a reserve below the open-file limit', () => {
    const cap = defaultMaxStreams();
    if (!existsSync('/proc/self/limits')) return expect(cap).toBe(10_000);
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (m?.[1] === 'unlimited') return expect(cap).toBe(10_000);
    expect(cap).toBe(Math.max(64, Number(m?.[1]) - 256));
  });
});
