import { distributionSvg } from '../charts.js';
import { MIN_RUNS_FOR_MEDIAN_CI } from '../stats.js';
import type { OptimizeResult, VariantResult } from '../optimize/optimize-result.js';
import { formatMs } from './format-latency.js';
import { reportSummary, reportTables } from './report-tables.js';
import { barChartSvg, lineChartSvg } from './variant-charts.js';

/** Largest 1 − cosine there is (opposite directions); a broken output (NaN/Inf, missing) is drawn there. */
const WORST_DISTANCE = 2;
/** Lowest the axis goes: float32 outputs agree no closer than this without being identical. */
const FLOOR = 1e-12;

/**
 * Accuracy as 1 − cosine similarity to FP32 on a log axis, the tolerance marked at 1 − tolerance. Cosine
 * itself sits near 1 for every usable variant, so a linear axis either shows no difference or, cut
 * short to show one, makes 0.9990 against 0.9999 look like a collapse; 1 − cosine puts those a decade
 * apart, which is what they are. A variant identical to FP32 (1 − cosine of 0) sits on the axis's low
 * end, labelled so; one whose output broke sits at 2, the largest 1 − cosine there is.
 */
function accuracyChart(r: OptimizeResult, accurate: readonly VariantResult[]): string {
  const tolerance = Number((1 - r.tolerance.min).toPrecision(12));
  const distances = accurate.map((v) => {
    const c = v.accuracy?.minCosine as number;
    return Number.isFinite(c) ? Math.min(WORST_DISTANCE, Math.max(0, 1 - c)) : WORST_DISTANCE;
  });
  const positive = [...distances, tolerance].filter((d) => d > 0);
  // One decade below the smallest difference, so a variant identical to FP32 stands apart from the closest one that is not.
  const floor = Math.max(FLOOR, 10 ** (Math.floor(Math.log10(Math.min(...positive))) - 1));
  const top = 10 ** Math.ceil(Math.log10(Math.max(...positive)));
  return barChartSvg({
    id: 'accuracy', title: 'Accuracy: 1 − smallest cosine similarity to FP32 (lower is closer)', unit: '1 − cosine', log: true, min: floor, max: Math.max(top, floor * 10),
    format: (d) => (d === 0 ? '0' : d.toExponential(1)),
    bars: accurate.map((v, i) => {
      const d = distances[i] as number;
      const c = v.accuracy?.minCosine as number;
      // Enough decimals that a cosine short of 1 does not print as 1.000000.
      const what = Number.isNaN(c) ? 'nothing compared: FP32 gave no finite value' : !Number.isFinite(c) ? 'output broke (NaN/Inf or missing)' : d === 0 ? 'identical to FP32' : `cosine ${c.toFixed(Math.min(15, Math.max(6, Math.ceil(-Math.log10(d)) + 1)))}`;
      return { label: v.name, value: d, note: `(${what})${v.status === 'rejected' ? ', rejected' : ''}` };
    }),
    reference: { value: tolerance, label: `tolerance: cosine ≥ ${r.tolerance.min}` },
  });
}

const esc = (s: string) => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The charts of a report, each an inline SVG element (none when nothing was measured). */
export function reportCharts(r: OptimizeResult): string[] {
  const timed = r.variants.filter((v) => v.latency && v.samplesMs?.length);
  const sized = r.variants.filter((v) => v.bytes !== undefined);
  const accurate = r.variants.filter((v) => v.accuracy);
  const charts: string[] = [];
  if (timed.length) {
    charts.push(distributionSvg({
      title: `Latency of each variant: ${r.settings.runs} interleaved runs (${r.backend}/${r.providers.join(',')})`,
      unit: 'ms',
      series: timed.map((v) => ({ label: v.name, samples: v.samplesMs ?? [] })),
    }).replace('<svg ', '<svg data-chart="latency-distribution" '));
    charts.push(barChartSvg({
      id: 'latency', title: 'Median latency with its 95 % interval', unit: 'ms', format: formatMs,
      // From fewer than 6 runs the whisker is only their range (it holds the median 75 % of the time at 3), and says so.
      bars: timed.map((v) => ({
        label: v.name, value: v.latency?.p50 ?? 0, low: v.latency?.p50Ci95[0] ?? 0, high: v.latency?.p50Ci95[1] ?? 0,
        ...((v.latency?.n ?? 0) < MIN_RUNS_FOR_MEDIAN_CI ? { note: `(range of ${v.latency?.n} runs, not a 95 % interval)` } : {}),
      })),
    }));
  }
  if (sized.length) {
    charts.push(barChartSvg({
      id: 'size', title: 'Size on disk', unit: 'MB',
      bars: sized.map((v) => ({ label: v.name, value: (v.bytes ?? 0) / 1e6, ...(v.sizeRatio !== undefined ? { note: `(${v.sizeRatio.toFixed(3)}× fp32)` } : {}) })),
    }));
  }
  if (accurate.length) charts.push(accuracyChart(r, accurate));
  const batch = r.batch && Object.entries(r.batch.points).filter(([, pts]) => pts.length);
  if (batch && batch.length) {
    charts.push(lineChartSvg({
      id: 'batch', title: `Per-sample latency against batch size (p50 / batch, ${r.batch?.dim})`, xLabel: 'batch size', yUnit: 'ms per sample', logX: true,
      series: batch.map(([name, pts]) => ({ label: name, points: pts.map((p) => ({ x: p.batch, y: p.perSampleMs, low: p.perSampleCi95[0], high: p.perSampleCi95[1] })) })),
    }));
  }
  return charts;
}

const STYLE = `
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; padding: 0 1rem; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.2rem; margin-top: 2rem; }
.headline { font-size: 1.25rem; font-weight: bold; padding: .6rem .9rem; border-radius: 6px; background: #e7f5e9; }
.headline.none { background: #fdecea; }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-size: .85rem; }
th, td { border: 1px solid #ccc; padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
tr.chosen td { background: #e7f5e9; font-weight: bold; }
tr.rejected td, tr.failed td { color: #8a1c1c; }
.note { color: #555; font-size: .85rem; }
.charts svg { display: block; margin: 1rem 0; max-width: 100%; height: auto; border: 1px solid #eee; }
`;

/** The optimize report as one self-contained HTML page: inline CSS and SVG, no scripts, nothing fetched. */
export function reportHtml(r: OptimizeResult): string {
  const { headline, lines } = reportSummary(r);
  const tables = reportTables(r).map((t) => {
    const rowClass = (row: string[]) => (t.title === 'Variants' && (row[1] === 'chosen' || row[1] === 'rejected' || row[1] === 'failed') ? ` class="${row[1]}"` : '');
    return [
      `<h2>${esc(t.title)}</h2>`,
      t.note ? `<p class="note">${esc(t.note)}</p>` : '',
      `<table data-table="${esc(t.title)}"><thead><tr>${t.head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>`,
      ...t.rows.map((row) => `<tr${rowClass(row)}>${row.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`),
      '</tbody></table>',
    ].join('\n');
  });
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>onnx-forge optimize: ${esc(r.model)}</title>`,
    `<style>${STYLE}</style></head><body>`,
    `<h1>onnx-forge optimize: ${esc(r.model)}</h1>`,
    `<p class="headline${r.best ? '' : ' none'}" data-best="${esc(r.best ?? '')}">${esc(headline)}</p>`,
    `<ul>${lines.map((l) => `<li>${esc(l)}</li>`).join('')}</ul>`,
    `<section class="charts">${reportCharts(r).join('\n')}</section>`,
    ...tables,
    '</body></html>',
    '',
  ].join('\n');
}
