import { describe, expect, it } from 'vitest';
import { MemoryTabLocks } from './tab-locks.ts';

const tick = () => new Promise<void>((r) => setImmediate(r));

describe('MemoryTabLocks', () => {
  it('grants in request order, holds until the callback settles, answers ifAvailable at once', async () => {
    const locks = new MemoryTabLocks();
    const order: string[] = [];
    let endFirst!: () => void;
    const first = locks.request('l', {}, () => {
      order.push('first');
      return new Promise<void>((r) => (endFirst = r));
    });
    const second = locks.request('l', {}, () => void order.push('second'));
    const probe = await locks.request('l', { ifAvailable: true }, (lock) => lock);
    expect(probe).toBeNull();
    await tick();
    expect(order).toEqual(['first']);
    endFirst();
    await Promise.all([first, second]);
    expect(order).toEqual(['first', 'second']);
    expect(await locks.request('l', { ifAvailable: true }, (lock) => lock !== null)).toBe(true);
  });

  it('an aborted queued request is rejected and never granted; signal with ifAvailable is refused like Web Locks', async () => {
    const locks = new MemoryTabLocks();
    let end!: () => void;
    void locks.request('l', {}, () => new Promise<void>((r) => (end = r)));
    const abort = new AbortController();
    let granted = false;
    const queued = locks.request('l', { signal: abort.signal }, () => void (granted = true));
    abort.abort();
    await expect(queued).rejects.toMatchObject({ name: 'AbortError' });
    end();
    await tick();
    expect(granted).toBe(false);
    await expect(
      locks.request('l', { ifAvailable: true, signal: new AbortController().signal }, () => 1),
    ).rejects.toMatchObject({ name: 'NotSupportedError' });
  });

  it('a callback that throws releases the lock and rejects its request', async () => {
    const locks = new MemoryTabLocks();
    await expect(
      locks.request('l', {}, () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await locks.request('l', { ifAvailable: true }, (lock) => lock !== null)).toBe(true);
  });
});
