/** Plain-text tables with aligned columns: the first column left-aligned, the rest right-aligned. */

export type Cell = string | number;

export interface TableOptions {
  /** Decimals for numbers (strings are printed as given). Default 2. */
  decimals?: number;
  /** Spaces between columns. Default 2. */
  gap?: number;
}

export function formatCell(cell: Cell, decimals = 2): string {
  if (typeof cell === 'string') return cell;
  if (!Number.isFinite(cell)) return '–';
  return Number.isInteger(cell) ? String(cell) : cell.toFixed(decimals);
}

/** Renders `header` and `rows` as lines; rows may be shorter than the header (missing cells are blank). */
export function formatTable(
  header: readonly string[],
  rows: readonly (readonly Cell[])[],
  options: TableOptions = {},
): string {
  const decimals = options.decimals ?? 2;
  const gap = ' '.repeat(options.gap ?? 2);
  const text = [header, ...rows].map((r) =>
    header.map((_, i) => (i < r.length ? formatCell(r[i] as Cell, decimals) : '')),
  );
  const widths = header.map((_, i) => Math.max(...text.map((r) => (r[i] as string).length)));
  return text
    .map((r) =>
      r
        .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] as number) : cell.padStart(widths[i] as number)))
        .join(gap)
        .trimEnd(),
    )
    .join('\n');
}

/** The same table as GitHub Markdown (numbers right-aligned). */
export function formatMarkdownTable(
  header: readonly string[],
  rows: readonly (readonly Cell[])[],
  options: TableOptions = {},
): string {
  const decimals = options.decimals ?? 2;
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  const out = [line(header), line(header.map((_, i) => (i === 0 ? ':---' : '---:')))];
  for (const r of rows) out.push(line(header.map((_, i) => (i < r.length ? formatCell(r[i] as Cell, decimals) : ''))));
  return out.join('\n');
}

/** Prints a titled table twice: aligned for reading, then as Markdown for BENCHMARKS.md. */
export function printTables(title: string, header: readonly string[], rows: readonly (readonly Cell[])[]): void {
  console.log(`\n${title}\n`);
  console.log(formatTable(header, rows));
  console.log(`\n${formatMarkdownTable(header, rows)}`);
}
