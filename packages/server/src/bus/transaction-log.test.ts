import { describe, expect, it } from 'vitest';
import type { CapturedTransaction } from '../capture/captured-transaction.ts';
import { decodeCursor, encodeCursor } from './cursor.ts';
import { TransactionLog } from './transaction-log.ts';

const tx = (lsn: bigint, rows = 1): CapturedTransaction => ({
  xid: Number(lsn),
  lsn,
  commitTime: 0,
  changes: Array.from({ length: rows }, () => ({
    table: 'public.t',
    op: 'insert' as const,
    row: { id: 'x'.repeat(100) },
    old: null,
  })),
  truncated: [],
  origins: [],
  oversizedTables: null,
  schemaChanged: [],
});

describe('transaction log', () => {
  it('replays exactly the transactions after a cursor', () => {
    const log = new TransactionLog({ maxTransactions: 100, maxBytes: 1 << 20 });
    log.reset(10n);
    for (const l of [20n, 30n, 40n]) log.append(tx(l));
    expect([...log.since(20n)].map((t) => t.lsn)).toEqual([30n, 40n]);
    expect([...log.since(10n)].map((t) => t.lsn)).toEqual([20n, 30n, 40n]);
    expect(log.covers(10n)).toBe(true);
    expect(log.covers(45n)).toBe(false); // ahead of the head
    expect(log.covers(5n)).toBe(false); // before the floor
  });

  it('is bounded by count: the floor rises and old cursors stop being covered', () => {
    const log = new TransactionLog({ maxTransactions: 3, maxBytes: 1 << 20 });
    log.reset(0n);
    for (let i = 1n; i <= 2000n; i++) log.append(tx(i));
    expect(log.size).toBe(3);
    expect(log.floor).toBe(1997n);
    expect(log.covers(1996n)).toBe(false);
    expect([...log.since(1997n)].map((t) => t.lsn)).toEqual([1998n, 1999n, 2000n]);
  });

  it('is bounded by bytes but always keeps the newest transaction', () => {
    const log = new TransactionLog({ maxTransactions: 1000, maxBytes: 2_000 });
    log.reset(0n);
    for (let i = 1n; i <= 50n; i++) log.append(tx(i, 5));
    expect(log.byteSize).toBeLessThanOrEqual(2_000);
    log.append(tx(51n, 500));
    expect(log.size).toBe(1);
    expect(log.head).toBe(51n);
  });
});

describe('cursor', () => {
  it('encodes fixed width so string order is LSN order', () => {
    const a = encodeCursor('abcd0123', 0xffn);
    const b = encodeCursor('abcd0123', 0x1000n);
    expect(a.length).toBe(24);
    expect(a < b).toBe(true);
    expect(decodeCursor(b)).toEqual({ epoch: 'abcd0123', lsn: 0x1000n });
  });
  it('refuses anything it could not have issued', () => {
    for (const bad of ['', 'zz', "0'; drop table x; --", 'ABCD01230000000000000001', 'abcd0123000000000000000'])
      expect(decodeCursor(bad)).toBeNull();
  });
});

describe('transaction log memory', () => {
  it('releases dropped transactions at once, not at the next compaction', () => {
    const log = new TransactionLog({ maxTransactions: 2, maxBytes: 1 << 30 });
    log.reset(0n);
    const first = tx(1n);
    log.append(first);
    for (let i = 2n; i <= 5n; i++) log.append(tx(i));
    expect([...log.since(0n)].map((t) => t.lsn)).toEqual([4n, 5n]);
    // Nothing in the log still points at a dropped transaction, so it can be collected.
    expect((log as unknown as { entries: unknown[] }).entries.includes(first)).toBe(false);
  });
});
