/**
 * `pg_current_snapshot()` as text (`xmin:xmax:xip,…`) and the question the
 * handoff asks of it: was transaction `xid` already visible to the snapshot?
 *
 * pgoutput gives 32-bit xids, the snapshot 64-bit ones; we compare the low 32
 * bits with wraparound arithmetic (as Postgres's TransactionIdPrecedes does),
 * which is exact while the xids involved are within 2^31 of each other.
 */
export interface XidSnapshot {
  xmin: number;
  xmax: number;
  xip: Set<number>;
}

export function parseXidSnapshot(text: string): XidSnapshot {
  const [xmin, xmax, xip] = text.split(':');
  if (xmin === undefined || xmax === undefined) throw new Error(`bad snapshot ${text}`);
  return {
    xmin: low32(xmin),
    xmax: low32(xmax),
    xip: new Set(xip ? xip.split(',').filter(Boolean).map(low32) : []),
  };
}

export function isVisible(snap: XidSnapshot, xid: number): boolean {
  if (precedes(xid, snap.xmin)) return true;
  if (!precedes(xid, snap.xmax)) return false;
  return !snap.xip.has(xid);
}

function low32(text: string): number {
  return Number(BigInt(text) & 0xffffffffn);
}

function precedes(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}
