import { ForgeError, ForgeErrorCode } from '@onnx-forge/core';
import { quantile, quantileResolved } from './stats.js';

/** One distribution to draw: a label and its raw samples (latencies, lags, …). */
export interface Series {
  label: string;
  samples: readonly number[];
}

export interface DistributionChart {
  title: string;
  /** Unit of the samples, shown on the axis and the markers ("ms"). */
  unit: string;
  series: readonly Series[];
  /** Bins per row (default 40). */
  bins?: number;
  /** Logarithmic x axis, for series that differ by orders of magnitude (samples must be > 0). */
  log?: boolean;
}

const WIDTH = 760;
const LEFT = 150;
const RIGHT = 30;
const TOP = 64;
const ROW = 86;
/** Approximate width of a character of the 12 px labels, to keep labels apart. */
const LABEL_CHAR_PX = 6.6;
const BOTTOM = 46;
const PALETTE = ['#3366cc', '#dc6d1f', '#2f9e44', '#9c36b5', '#c92a2a', '#1098ad'];

function invalid(message: string): ForgeError {
  return new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `distribution chart: ${message}`);
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A short label for an axis value: 3 significant digits, no exponent for everyday magnitudes. */
export function formatValue(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1000) return v.toFixed(0);
  if (a >= 0.01) return String(Number(v.toPrecision(3)));
  return v.toExponential(1);
}

/** Round tick values covering [lo, hi]: 1-2-5 steps on a linear axis, 1-2-5 per decade on a log one. */
export function ticks(lo: number, hi: number, log: boolean): number[] {
  if (log) {
    const out: number[] = [];
    for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
      for (const m of [1, 2, 5]) {
        const v = m * 10 ** e;
        if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) out.push(v);
      }
    }
    return out;
  }
  const raw = (hi - lo) / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * mag >= raw) ?? 10) * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/**
 * One row per series on a shared x axis: a histogram of the samples, with the median (solid) and the
 * 99th percentile (dashed; the slowest sample, `max`, below 100 samples) marked and labelled. A table gives percentiles; this shows the shape: a
 * second mode, a long tail, two distributions that overlap. Returns a standalone SVG document.
 */
export function distributionSvg(chart: DistributionChart): string {
  const bins = chart.bins ?? 40;
  if (!Number.isInteger(bins) || bins < 1) throw invalid(`bins must be a positive integer, got ${chart.bins}`);
  if (chart.series.length === 0) throw invalid('no series to draw');
  const all = chart.series.flatMap((s) => {
    if (s.samples.length === 0) throw invalid(`series "${s.label}" has no samples`);
    return s.samples as number[];
  });
  if (all.some((v) => !Number.isFinite(v))) throw invalid('samples must be finite numbers');
  const log = chart.log ?? false;
  if (log && all.some((v) => v <= 0)) throw invalid('a logarithmic axis needs samples above 0');
  // A loop, not Math.min(...all): spreading 200 000 samples as arguments overflows the call stack.
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of all) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (hi === lo) {
    lo = log ? lo / 2 : lo - 1;
    hi = log ? hi * 2 : hi + 1;
  }
  const fwd = (v: number) => (log ? Math.log10(v) : v);
  const flo = fwd(lo);
  const fhi = fwd(hi);
  const plotW = WIDTH - LEFT - RIGHT;
  const x = (v: number) => LEFT + ((fwd(v) - flo) / (fhi - flo)) * plotW;
  const height = TOP + ROW * chart.series.length + BOTTOM;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="${WIDTH / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(chart.title)}</text>`,
  ];
  chart.series.forEach((s, r) => {
    const color = PALETTE[r % PALETTE.length] as string;
    const base = TOP + ROW * (r + 1) - 14;
    const counts = new Array<number>(bins).fill(0);
    for (const v of s.samples) {
      const b = Math.min(bins - 1, Math.floor(((fwd(v) - flo) / (fhi - flo)) * bins));
      counts[b] = (counts[b] ?? 0) + 1;
    }
    const peak = Math.max(...counts);
    const barW = plotW / bins;
    out.push(`<g data-series="${escapeXml(s.label)}" data-samples="${s.samples.length}">`);
    out.push(`<text x="${LEFT - 10}" y="${base - 24}" text-anchor="end" font-weight="bold">${escapeXml(s.label)}</text>`);
    out.push(`<text x="${LEFT - 10}" y="${base - 8}" text-anchor="end" fill="#555">n = ${s.samples.length}</text>`);
    out.push(`<line x1="${LEFT}" y1="${base}" x2="${LEFT + plotW}" y2="${base}" stroke="#999"/>`);
    counts.forEach((c, i) => {
      if (c === 0) return;
      const h = (c / peak) * (ROW - 30);
      out.push(`<rect x="${(LEFT + i * barW).toFixed(2)}" y="${(base - h).toFixed(2)}" width="${Math.max(1, barW - 1).toFixed(2)}" height="${h.toFixed(2)}" fill="${color}" fill-opacity="0.75" data-count="${c}"/>`);
    });
    const sorted = Float64Array.from(s.samples).sort();
    // p50's label ends at its line and p99's starts at its own, on one baseline: p99 is never left of
    // p50, so the two never overlap. A label that would leave the plot flips to the inner side; if
    // the two then meet, p99's goes one line up. With fewer than 100 samples no sample lies beyond the
    // 99th percentile: the tail marker is then the slowest one, named `max`, as the tables write it.
    const top = base - (ROW - 26);
    const tail = quantileResolved(sorted.length, 0.99) ? 'p99' : 'max';
    const labels = ([[0.5, 'p50', '', 'end'], [0.99, tail, ' stroke-dasharray="4 3"', 'start']] as const).map(([q, name, dash, side]) => {
      const v = name === 'max' ? (sorted[sorted.length - 1] as number) : quantile(sorted, q);
      const at = x(v);
      const text = `${name} ${formatValue(v)} ${chart.unit}`;
      const width = text.length * LABEL_CHAR_PX;
      const anchor = side === 'end' ? (at - width < LEFT ? 'start' : 'end') : at + width > LEFT + plotW ? 'end' : 'start';
      const span: [number, number] = anchor === 'end' ? [at - width - 3, at - 3] : [at + 3, at + width + 3];
      return { v, at, name, dash, text, anchor, span };
    });
    const [p50, p99] = labels as [(typeof labels)[number], (typeof labels)[number]];
    // A gap of at least a few pixels, as the widths are estimates.
    const clash = p99.span[0] < p50.span[1] + 8 && p50.span[0] < p99.span[1] + 8;
    for (const l of labels) {
      const px = l.at.toFixed(2);
      const y = top - 2 - (l === p99 && clash ? 13 : 0);
      out.push(`<line x1="${px}" y1="${top}" x2="${px}" y2="${base}" stroke="#222"${l.dash} data-quantile="${l.name}" data-value="${l.v}"/>`);
      out.push(`<text x="${(l.anchor === 'end' ? l.at - 3 : l.at + 3).toFixed(2)}" y="${y}" text-anchor="${l.anchor}" fill="#222">${escapeXml(l.text)}</text>`);
    }
    out.push('</g>');
  });
  const axisY = TOP + ROW * chart.series.length;
  out.push(`<line x1="${LEFT}" y1="${axisY}" x2="${LEFT + plotW}" y2="${axisY}" stroke="#333"/>`);
  for (const t of ticks(lo, hi, log)) {
    const px = x(t).toFixed(2);
    out.push(`<line x1="${px}" y1="${axisY}" x2="${px}" y2="${axisY + 5}" stroke="#333"/>`);
    out.push(`<text x="${px}" y="${axisY + 18}" text-anchor="middle">${formatValue(t)}</text>`);
  }
  out.push(`<text x="${LEFT + plotW / 2}" y="${axisY + 38}" text-anchor="middle">${escapeXml(chart.unit)}${log ? ' (log scale)' : ''}</text>`);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
