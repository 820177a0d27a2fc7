import { median } from './stats.js';

/** Columns padded to their widest cell under a dashed rule, as the benchmark scripts print results. */
export function formatTable(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i] as number)).join('  ').trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** A measured figure: its samples over the repetitions and, when it has one, the bound its median must stay under. */
export interface Metric {
  label: string;
  unit: 's' | 'MB' | '×';
  samples: number[];
  target?: number;
}

/** Whether a metric with a target met it (undefined when it has none). */
export function metTarget(m: Metric): boolean | undefined {
  return m.target === undefined ? undefined : median(m.samples) < m.target;
}

/** Metrics as table cells: median, range over the repetitions, target and whether the median met it. */
export function metricRows(metrics: readonly Metric[]): { head: string[]; rows: string[][] } {
  const rows = metrics.map((m) => {
    const fmt = (v: number) => v.toFixed(m.unit === 'MB' ? 0 : 3);
    const met = metTarget(m);
    return [
      m.label, `${fmt(median(m.samples))} ${m.unit}`, `${fmt(Math.min(...m.samples))}–${fmt(Math.max(...m.samples))}`,
      m.target === undefined ? '' : `< ${m.target} ${m.unit}`, met === undefined ? '' : met ? 'ok' : 'MISSED',
    ];
  });
  return { head: ['metric', `median of ${Math.max(0, ...metrics.map((m) => m.samples.length))}`, 'range', 'target', ''], rows };
}

/** Metrics as a text table (what the benchmark scripts print). */
export function metricTable(metrics: readonly Metric[]): string {
  const { head, rows } = metricRows(metrics);
  return formatTable(head, rows);
}
