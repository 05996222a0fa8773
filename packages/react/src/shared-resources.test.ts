import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SharedResources } from './shared-resources.ts';
import { defaultSubscriptionId, subscriptionKey } from './stable-key.ts';

beforeEach(() => void vi.useFakeTimers());
afterEach(() => void vi.useRealTimers());

const resource = () => ({ dispose: vi.fn() });

describe('SharedResources', () => {
  it('one entry per key, ended a linger after the last release; a re-acquire within it keeps it', () => {
    const shared = new SharedResources<ReturnType<typeof resource>>(1_000);
    const a = shared.acquire('k', resource);
    expect(shared.acquire('k', resource)).toBe(a);
    shared.release('k');
    shared.release('k');
    vi.advanceTimersByTime(900);
    expect(shared.acquire('k', resource)).toBe(a);
    shared.release('k');
    vi.advanceTimersByTime(999);
    expect(a.dispose).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(a.dispose).toHaveBeenCalledTimes(1);
    expect(shared.size).toBe(0);
    expect(shared.acquire('k', resource)).not.toBe(a);
  });

  it('an entry read while rendering but never held lingers out', () => {
    const shared = new SharedResources<ReturnType<typeof resource>>(100);
    const a = shared.get('k', resource);
    vi.advanceTimersByTime(100);
    expect(a.dispose).toHaveBeenCalledTimes(1);
    expect(shared.peek('k')).toBeUndefined();
  });
});

describe('keys', () => {
  it('params in any order are one subscription, with one id on every load', () => {
    expect(subscriptionKey('c', { a: 1, b: 'x' })).toBe(subscriptionKey('c', { b: 'x', a: 1 }));
    expect(subscriptionKey('c', { a: 1 })).not.toBe(subscriptionKey('c', { a: '1' }));
    expect(defaultSubscriptionId('orders', undefined)).toBe('r:orders');
    expect(defaultSubscriptionId('orders', { b: 2, a: 1 })).toBe(defaultSubscriptionId('orders', { a: 1, b: 2 }));
    expect(defaultSubscriptionId('orders', { a: 1 })).toMatch(/^r:orders:[0-9a-f]{16}$/);
    expect(defaultSubscriptionId('orders', { a: 1 })).not.toBe(defaultSubscriptionId('orders', { a: 2 }));
    expect(defaultSubscriptionId('weird name!', undefined)).toMatch(/^r:h[0-9a-f]{8}$/);
  });
});
