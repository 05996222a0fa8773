import { describe, expect, it } from 'vitest';
import { SnapshotJob } from './snapshot-job.ts';
import { isVisible, parseXidSnapshot } from './xid-snapshot.ts';

describe('xid snapshot', () => {
  const snap = parseXidSnapshot('100:110:102,105');
  it('sees what finished before it, not what was running or started after', () => {
    expect(isVisible(snap, 99)).toBe(true);
    expect(isVisible(snap, 101)).toBe(true);
    expect(isVisible(snap, 102)).toBe(false);
    expect(isVisible(snap, 105)).toBe(false);
    expect(isVisible(snap, 110)).toBe(false);
    expect(isVisible(snap, 200)).toBe(false);
  });
  it('compares across 32-bit wraparound using the low bits of xid8', () => {
    const wrap = parseXidSnapshot(`${(1n << 32n) + 5n}:${(1n << 32n) + 10n}:`); // epoch 1, xmin 5
    expect(isVisible(wrap, 0xfffffff0)).toBe(true); // just before the wrap: older
    expect(isVisible(wrap, 7)).toBe(true);
    expect(isVisible(wrap, 12)).toBe(false);
  });
});

describe('snapshot job merge', () => {
  it('applies only buffered transactions the snapshot did not see, in order', () => {
    const job = new SnapshotJob(1000);
    const xids = parseXidSnapshot('100:110:105');
    job.record(101, [{ op: 'insert', key: 'seen', row: { id: 'seen' }, version: 1 }]); // visible: already in rows
    job.record(105, [{ op: 'update', key: 'a', row: { id: 'a', v: 2 }, version: 2 }]); // in progress at snapshot
    job.record(111, [{ op: 'delete', key: 'b', row: null, version: 1 }]);
    job.record(112, [{ op: 'insert', key: 'c', row: { id: 'c' }, version: 1 }]);
    const rows = job.merge(
      [
        { key: 'a', row: { id: 'a', v: 1 }, version: 1 },
        { key: 'b', row: { id: 'b' }, version: 1 },
      ],
      xids,
    );
    expect(rows).toEqual([
      { key: 'a', row: { id: 'a', v: 2 }, version: 2 },
      { key: 'c', row: { id: 'c' }, version: 1 },
    ]);
  });
  it('invalidates itself past the buffer bound instead of growing', () => {
    const job = new SnapshotJob(2);
    for (let i = 0; i < 5; i++) job.record(200 + i, [{ op: 'insert', key: `k${i}`, row: {}, version: 1 }]);
    expect(job.invalid).toBe(true);
  });
});
