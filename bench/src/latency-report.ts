/** The latency table: floor and Syncline rows per case, with ratios to the floor of the same commits. */
import type { PhaseResult } from './latency-phase.ts';
import { ratio, summarize } from './stats.ts';
import { type Cell, formatMarkdownTable, formatTable } from './table.ts';

const HEADER = ['case', 'n', 'p50', 'p90', 'p99', 'max', 'p50×floor', 'p99×floor'];

export function latencyRows(results: readonly PhaseResult[]): Cell[][] {
  const rows: Cell[][] = [];
  for (const r of results) {
    const many = r.subscribers > 1;
    const floor = summarize(r.latencies.floor);
    const row = (label: string, values: number[], compare: boolean): Cell[] => {
      const s = summarize(values);
      return [
        label,
        s.count,
        s.p50,
        s.p90,
        s.p99,
        s.max,
        ...(compare ? [ratio(s.p50, floor.p50), ratio(s.p99, floor.p99)] : []),
      ];
    };
    rows.push([`${r.subscribers} subscriber${many ? 's' : ''}, ${r.commits} commits`]);
    rows.push(row('  floor (bare pgoutput)', r.latencies.floor, false));
    rows.push(row(`  syncline SSE, ${r.subscribers} sub${many ? 's' : ''}`, r.latencies.sse, true));
    if (many) rows.push(row(`    last of ${r.subscribers} per commit`, r.latencies.last, true));
  }
  return rows;
}

export function formatLatencyTable(results: readonly PhaseResult[], format: 'text' | 'markdown'): string {
  const rows = latencyRows(results);
  if (format === 'markdown') {
    // Section rows (the case) in bold, the rest without the text table's indentation.
    const md = rows.map((r) => (r.length === 1 ? [`**${String(r[0])}**`] : [String(r[0]).trim(), ...r.slice(1)]));
    return formatMarkdownTable(HEADER, md);
  }
  const title = `latency: COMMIT → receipt (ms); ${results.map((r) => `${r.commits} commits, ${r.subscribers} subscriber${r.subscribers === 1 ? '' : 's'}`).join(' | ')}`;
  return `${title}\n${formatTable(HEADER, rows)}`;
}
