import { arch, availableParallelism, cpus, platform } from 'node:os';

/** One measured figure per variant, e.g. requests per second. */
export interface Metric {
  /** Column heading, unit included, e.g. `req/s` or `p99 ms`. */
  readonly name: string;
  /** Whether a larger figure is the better one; said under the table. */
  readonly higherIsBetter: boolean;
  /** Decimals to print; defaults to 0. */
  readonly decimals?: number;
}

/** One measured variant and its figures, in the order of the table's metrics. */
export interface VariantResult {
  readonly variant: string;
  readonly values: readonly number[];
}

/** The figures of one comparison; the first row is the baseline every ratio refers to. */
export interface ResultTable {
  readonly title: string;
  /** Lines saying what was measured and how, printed under the title. */
  readonly notes?: readonly string[];
  readonly metrics: readonly Metric[];
  readonly rows: readonly [VariantResult, ...VariantResult[]];
}

/** Prints what the figures depend on besides the code: Node version, cores, platform. */
export function printEnvironment(): void {
  const model = cpus()[0]?.model.trim() ?? 'unknown CPU';
  console.log(`Node ${process.version} on ${platform()} ${arch()}, ${availableParallelism()} cores (${model})`);
}

/**
 * Prints a table as Markdown, so it reads in a terminal and pastes into bench/README.md, with each
 * figure followed by its ratio to the baseline row of the same run.
 */
export function printTable(table: ResultTable): void {
  const [baseline] = table.rows;
  const header = ['variant'];
  for (const metric of table.metrics) header.push(metric.name, '× baseline');
  const lines = table.rows.map((row, index) => {
    const cells = [index === 0 ? `${row.variant} (baseline)` : row.variant];
    table.metrics.forEach((metric, column) => {
      const value = valueAt(row, column);
      const base = valueAt(baseline, column);
      // A zero baseline (a latency under the timer's resolution) has no meaningful ratio.
      cells.push(format(value, metric.decimals ?? 0), base === 0 ? '–' : `${format(value / base, 2)}×`);
    });
    return cells;
  });
  const widths = header.map((cell, column) => Math.max(cell.length, ...lines.map((line) => line[column]?.length ?? 0)));
  // Text left-aligned, figures right-aligned, as Markdown's `---:` says.
  const render = (cells: readonly string[]): string =>
    `| ${cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0))).join(' | ')} |`;
  const rule = `|${widths.map((width, column) => (column === 0 ? '-'.repeat(width + 2) : `${'-'.repeat(width + 1)}:`)).join('|')}|`;

  console.log(`\n### ${table.title}\n`);
  for (const note of table.notes ?? []) console.log(note);
  if (table.notes?.length) console.log();
  console.log([render(header), rule, ...lines.map(render)].join('\n'));
  const direction = (higher: boolean): string | undefined => {
    const names = table.metrics.filter((metric) => metric.higherIsBetter === higher).map((metric) => metric.name);
    return names.length > 0 ? `${higher ? 'higher' : 'lower'} is better for ${names.join(', ')}` : undefined;
  };
  const directions = [direction(true), direction(false)].filter((text) => text !== undefined);
  console.log(`\n× baseline = the variant's figure / the baseline's; ${directions.join('; ')}.`);
}

function valueAt(row: VariantResult, column: number): number {
  const value = row.values[column];
  if (value === undefined) throw new Error(`variant "${row.variant}" has no figure in column ${column + 1}`);
  return value;
}

function format(value: number, decimals: number): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}
