/**
 * The latency tables.
 *
 * 1. COMMIT → receipt: per Syncline case (subscribers × transport), the pgoutput
 *    floor and Syncline's receipts of the same commits, with ratios to that floor.
 * 2. Fan-out: Syncline's fan-out cases next to the bare broadcast floor of the
 *    same transport, subscriber count and frame size.
 */
import type { PhaseResult } from './latency-phase.ts';
import { transportName } from './latency-phase.ts';
import { ratio, summarize } from './stats.ts';
import { type Cell, formatMarkdownTable, formatTable } from './table.ts';

const HEADER = ['case', 'n', 'p50', 'p90', 'p99', 'max', 'p50×floor', 'p99×floor'];
const FANOUT_HEADER = ['fan-out case', 'n', 'p50', 'p90', 'p99', 'max', 'p50×bcast', 'p99×bcast'];

function subs(n: number): string {
  return `${n} subscriber${n === 1 ? '' : 's'}`;
}

/** A row of n, p50, p90, p99, max and, against `base`, the p50 and p99 ratios. */
function row(label: string, values: readonly number[], base: readonly number[] | null): Cell[] {
  const s = summarize(values);
  const b = base ? summarize(base) : null;
  return [label, s.count, s.p50, s.p90, s.p99, s.max, ...(b ? [ratio(s.p50, b.p50), ratio(s.p99, b.p99)] : [])];
}

export function latencyRows(results: readonly PhaseResult[]): Cell[][] {
  const rows: Cell[][] = [];
  for (const r of results.filter((x) => x.kind === 'syncline')) {
    const t = transportName(r.transport);
    const many = r.subscribers > 1;
    const floor = r.latencies.floor;
    rows.push([`${subs(r.subscribers)}, ${t}, ${r.commits} commits`]);
    rows.push(row('  floor (bare pgoutput)', floor, null));
    rows.push(row(`  syncline ${t}, ${r.subscribers} sub${many ? 's' : ''}`, r.latencies.all, floor));
    if (many) rows.push(row(`    last of ${r.subscribers} per commit`, r.latencies.last, floor));
  }
  return rows;
}

export function fanoutRows(results: readonly PhaseResult[]): Cell[][] {
  const rows: Cell[][] = [];
  for (const bc of results.filter((x) => x.kind === 'broadcast')) {
    const sy = results.find(
      (x) => x.kind === 'syncline' && x.transport === bc.transport && x.subscribers === bc.subscribers,
    );
    if (!sy) continue;
    const t = transportName(bc.transport);
    const bare = bc.transport === 'ws' ? 'bare ws' : 'bare node:http SSE';
    const size = bc.frameBytes === null ? '' : `, ${bc.frameBytes} B`;
    rows.push([`${t}, ${subs(bc.subscribers)}, every receipt`]);
    rows.push(row(`  broadcast floor (${bare}${size})`, bc.latencies.all, null));
    rows.push(row(`  syncline ${t}, COMMIT → receipt`, sy.latencies.all, bc.latencies.all));
    rows.push(row(`  syncline ${t}, floor's receipt → receipt`, sy.latencies.allAfterFloor, bc.latencies.all));
    rows.push([`${t}, ${subs(bc.subscribers)}, last of ${bc.subscribers} per commit`]);
    rows.push(row(`  broadcast floor (${bare}${size})`, bc.latencies.last, null));
    rows.push(row(`  syncline ${t}, COMMIT → receipt`, sy.latencies.last, bc.latencies.last));
    rows.push(row(`  syncline ${t}, floor's receipt → receipt`, sy.latencies.lastAfterFloor, bc.latencies.last));
  }
  return rows;
}

function render(header: string[], rows: Cell[][], format: 'text' | 'markdown'): string {
  if (format === 'text') return formatTable(header, rows);
  // Section rows (the case) in bold, the rest without the text table's indentation.
  const md = rows.map((r) => (r.length === 1 ? [`**${String(r[0])}**`] : [String(r[0]).trim(), ...r.slice(1)]));
  return formatMarkdownTable(header, md);
}

export function formatLatencyTable(results: readonly PhaseResult[], format: 'text' | 'markdown'): string {
  const table = render(HEADER, latencyRows(results), format);
  return format === 'text' ? `latency: COMMIT → receipt (ms)\n${table}` : table;
}

/** Empty when no broadcast floor ran. */
export function formatFanoutTable(results: readonly PhaseResult[], format: 'text' | 'markdown'): string {
  const rows = fanoutRows(results);
  if (rows.length === 0) return '';
  const table = render(FANOUT_HEADER, rows, format);
  return format === 'text'
    ? `fan-out: receipt latency (ms) against a bare broadcast of the same bytes (timed from its trigger)\n${table}`
    : table;
}
