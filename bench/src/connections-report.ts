/** The connections table: per transport and step, streams held, time to open them, server memory. */
import { type Cell, formatMarkdownTable, formatTable } from './table.ts';

export interface ConnectionsRow {
  transport: string;
  /** `idle`, the step's target, `held N s` or `all closed`. */
  step: string;
  target: number;
  held: number;
  failed: number;
  /** Time to open this step's new streams (each with its snapshot). */
  openMs: number;
  /** Server CPU per stream opened in this step. */
  cpuPerOpenMs: number;
  /** Server memory after a full GC. */
  rssMiB: number;
  heapMiB: number;
  /** Memory outside the JS heap that V8 knows of (buffers). */
  externalMiB: number;
  fds: number;
  /** Δ RSS / Δ streams and Δ heap / Δ streams since the previous step. */
  perConnRssKiB?: number;
  perConnHeapKiB?: number;
}

const HEADER = [
  'step',
  'held',
  'failed',
  'open s',
  'opens/s',
  'CPU/open ms',
  'RSS MiB',
  'heap MiB',
  'ext MiB',
  'fds',
  'ΔRSS/conn KiB',
  'Δheap/conn KiB',
];

export function connectionsRows(rows: readonly ConnectionsRow[]): Cell[][] {
  const out: Cell[][] = [];
  let transport = '';
  for (const r of rows) {
    if (r.transport !== transport) {
      transport = r.transport;
      out.push([transport]);
    }
    const opened = Number.isFinite(r.openMs);
    const newStreams = r.held - (prevHeld(rows, r) ?? 0);
    out.push([
      `  ${r.step}`,
      r.held,
      opened ? r.failed : '',
      opened ? round(r.openMs / 1000, 1) : '',
      opened && r.openMs > 0 ? Math.round((newStreams / r.openMs) * 1000) : '',
      opened ? round(r.cpuPerOpenMs, 2) : '',
      Math.round(r.rssMiB),
      round(r.heapMiB, 1),
      round(r.externalMiB, 1),
      r.fds,
      r.perConnRssKiB === undefined ? '' : round(r.perConnRssKiB, 1),
      r.perConnHeapKiB === undefined ? '' : round(r.perConnHeapKiB, 1),
    ]);
  }
  return out;
}

function prevHeld(rows: readonly ConnectionsRow[], r: ConnectionsRow): number | undefined {
  const p = rows[rows.indexOf(r) - 1];
  return p && p.transport === r.transport ? p.held : undefined;
}

/** A number with `d` decimals as a string, so integers keep them too ('4.0', not 4). */
function round(v: number, d: number): string {
  return Number.isFinite(v) ? v.toFixed(d) : '–';
}

export function formatConnectionsTable(rows: readonly ConnectionsRow[], format: 'text' | 'markdown'): string {
  const cells = connectionsRows(rows);
  if (format === 'markdown') {
    const md = cells.map((r) => (r.length === 1 ? [`**${String(r[0])}**`] : [String(r[0]).trim(), ...r.slice(1)]));
    return formatMarkdownTable(HEADER, md);
  }
  return `connections: idle authenticated streams held by one server (memory after a full GC)\n${formatTable(HEADER, cells)}`;
}
