import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DelayedConfirm } from './delayed-confirm.ts';

describe('DelayedConfirm', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  const recorder = () => {
    const confirmed: bigint[] = [];
    return { confirmed, stream: { confirm: (l: bigint) => void confirmed.push(l) } };
  };

  it('confirms at once without a delay', () => {
    const r = recorder();
    new DelayedConfirm(r.stream, 0).confirm(5n);
    expect(r.confirmed).toEqual([5n]);
  });

  it('confirms a position only once it is delayMs old, the highest due one at a time', () => {
    const r = recorder();
    const d = new DelayedConfirm(r.stream, 2_000);
    d.confirm(10n);
    vi.advanceTimersByTime(30);
    d.confirm(20n); // within 50 ms: shares the first slot
    vi.advanceTimersByTime(500);
    d.confirm(30n);
    vi.advanceTimersByTime(1_400);
    expect(r.confirmed).toEqual([]);
    vi.advanceTimersByTime(200);
    expect(r.confirmed).toEqual([20n]);
    vi.advanceTimersByTime(500);
    expect(r.confirmed).toEqual([20n, 30n]);
  });

  it('now() confirms at once and drops what it covers; stop() drops the rest', () => {
    const r = recorder();
    const d = new DelayedConfirm(r.stream, 2_000);
    d.confirm(10n);
    vi.advanceTimersByTime(100);
    d.confirm(20n);
    d.now(15n);
    expect(r.confirmed).toEqual([15n]);
    d.stop();
    vi.advanceTimersByTime(5_000);
    expect(r.confirmed).toEqual([15n]);
  });
});
