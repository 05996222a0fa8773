/**
 * The shared log's bounds, against a real redis-server: the stream keeps at
 * most `maxEntries` transactions and at most `maxBytes` of them (the newest is
 * always kept), its byte total matches the entries kept, and a node that
 * starts reading a trimmed log learns its floor from the oldest entry left, so
 * older cursors resync rather than resume across what was trimmed.
 */
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamEpoch } from '../src/bus/bus.ts';
import { RedisBus } from '../src/bus/redis-bus.ts';
import type { CapturedTransaction } from '../src/capture/captured-transaction.ts';
import { redisMissing, startRedis, type RunningRedis } from './redis-server.ts';

const skip = redisMissing();
const logger = pino({ level: 'silent' });

function tx(lsn: number, note: string): CapturedTransaction {
  return {
    xid: lsn,
    lsn: BigInt(lsn),
    commitTime: 0,
    changes: [{ kind: 'insert', table: 'public.t', row: { id: String(lsn), note }, old: null }],
    truncated: [],
    origins: [],
    oversizedTables: null,
  } as unknown as CapturedTransaction;
}

describe.skipIf(skip !== null)('the shared log in Redis is bounded by count and bytes', () => {
  let redis: RunningRedis;
  let probe: Redis;
  beforeAll(async () => {
    redis = await startRedis();
    probe = new Redis(redis.url);
  });
  afterAll(async () => {
    await probe?.quit();
    await redis?.remove();
  });

  /** A bus once both its connections are up (the server's capture retries until then). */
  const connected = async (bus: RedisBus) => {
    while (!bus.connected) await new Promise((r) => setTimeout(r, 10));
    return bus;
  };
  const entries = async (slot: string) => probe.xrange(`{syncline:${slot}}:log`, '-', '+');
  const sizes = (list: Array<[string, string[]]>) =>
    list.filter(([, f]) => f[1] === 'tx').reduce((sum, [, f]) => sum + Buffer.byteLength(f[3] as string), 0);
  const floorSeenBy = async (slot: string, options: { maxEntries?: number; maxBytes?: number }) => {
    const reader = new RedisBus({ url: redis.url, slot, logger, ...options });
    const epoch = await new Promise<StreamEpoch>((resolve) =>
      reader.subscribe({ onEpoch: resolve, onTransaction: () => {} }),
    );
    await reader.stop();
    return epoch.floor;
  };

  it('by count: the oldest entries leave, and a new reader starts at the oldest one kept', async () => {
    const bus = await connected(new RedisBus({ url: redis.url, slot: 'count', logger, maxEntries: 5 }));
    await bus.announceEpoch({ epoch: 'e1', floor: 100n, reason: 'start' });
    expect(await floorSeenBy('count', { maxEntries: 5 })).toBe(100n);
    for (let i = 1; i <= 12; i++) await bus.publish(tx(100 + i, 'x'));
    const kept = await entries('count');
    expect(kept.map(([id]) => id)).toEqual(['108-0', '109-0', '110-0', '111-0', '112-0']);
    expect(Number(await probe.get('{syncline:count}:log-bytes'))).toBe(sizes(kept));
    expect(await floorSeenBy('count', { maxEntries: 5 })).toBe(108n);
    await bus.stop();
  });

  it('by bytes: the log stays under maxBytes; one transaction over the bound alone is still kept', async () => {
    const note = 'y'.repeat(1_000);
    const one = Buffer.byteLength(
      JSON.stringify(tx(1, note), (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)),
    );
    const maxBytes = one * 4 + one / 2;
    const bus = await connected(new RedisBus({ url: redis.url, slot: 'bytes', logger, maxBytes }));
    await bus.announceEpoch({ epoch: 'e1', floor: 0n, reason: 'start' });
    for (let i = 1; i <= 40; i++) await bus.publish(tx(i, note));
    let kept = await entries('bytes');
    expect(kept.map(([id]) => id)).toEqual(['37-0', '38-0', '39-0', '40-0']);
    expect(Number(await probe.get('{syncline:bytes}:log-bytes'))).toBe(sizes(kept));
    expect(sizes(kept)).toBeLessThanOrEqual(maxBytes);
    expect(await floorSeenBy('bytes', { maxBytes })).toBe(37n);

    await bus.publish(tx(41, 'z'.repeat(one * 10)));
    kept = await entries('bytes');
    expect(kept.map(([id]) => id)).toEqual(['41-0']);
    expect(Number(await probe.get('{syncline:bytes}:log-bytes'))).toBe(sizes(kept));
    // A resend (failover) of what is already there is accepted without a second entry or byte drift.
    await bus.publish(tx(41, 'z'.repeat(one * 10)));
    expect((await entries('bytes')).length).toBe(1);
    expect(Number(await probe.get('{syncline:bytes}:log-bytes'))).toBe(sizes(kept));
    await bus.stop();
  });

  it('a new epoch starts the byte total over with the log', async () => {
    const bus = await connected(new RedisBus({ url: redis.url, slot: 'epoch', logger }));
    await bus.announceEpoch({ epoch: 'e1', floor: 0n, reason: 'start' });
    for (let i = 1; i <= 3; i++) await bus.publish(tx(i, 'abc'));
    await bus.announceEpoch({ epoch: 'e2', floor: 10n, reason: 'log-lost' });
    expect((await entries('epoch')).map(([, f]) => f[1])).toEqual(['epoch']);
    expect(await probe.get('{syncline:epoch}:log-bytes')).toBe(null);
    await bus.publish(tx(11, 'abc'));
    expect(Number(await probe.get('{syncline:epoch}:log-bytes'))).toBe(sizes(await entries('epoch')));
    await bus.stop();
  });
});
