import { ForgeError, ForgeErrorCode } from '@onnx-forge/core';
import { formatValue, ticks } from '../charts.js';

const PALETTE = ['#3366cc', '#dc6d1f', '#2f9e44', '#9c36b5', '#c92a2a', '#1098ad'];

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function invalid(message: string): ForgeError {
  return new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `chart: ${message}`);
}

/** One bar: a value, optionally with an interval drawn as a whisker, and a note printed after it. */
export interface Bar {
  label: string;
  value: number;
  low?: number;
  high?: number;
  note?: string;
}

export interface BarChart {
  title: string;
  unit: string;
  bars: readonly Bar[];
  /** Axis range (default from 0 to the largest value; on a log axis, the decades around the values). */
  min?: number;
  max?: number;
  /**
   * Logarithmic axis, for values spanning decades (errors, 1 − cosine): each value is drawn as a dot,
   * not a bar, since a bar's length on a log axis depends only on where the axis happens to start.
   * Values at or below `min` (0: identical) sit on the axis's low end, with their note saying so.
   */
  log?: boolean;
  /** A vertical reference line (a tolerance, a baseline) with its label. */
  reference?: { value: number; label: string };
  /** Identifies the chart in the page (data-chart attribute). */
  id: string;
  /** How values are written at the bars' ends (default 3 significant digits). */
  format?: (value: number) => string;
}

const W = 760;
const LEFT = 150;
const RIGHT = 190;
const TOP = 48;
const ROW = 34;
const BOTTOM = 44;

/**
 * Horizontal bars on a shared axis, one row per label, values written at the bar's end, intervals as
 * whiskers: size, latency with its 95 % interval, accuracy with the tolerance marked. Returns an SVG
 * element for inlining in a page (or saving as a file).
 */
export function barChartSvg(chart: BarChart): string {
  if (chart.bars.length === 0) throw invalid(`"${chart.title}" has no bars`);
  for (const b of chart.bars) if (!Number.isFinite(b.value)) throw invalid(`bar "${b.label}" of "${chart.title}" is not a finite number`);
  const values = chart.bars.flatMap((b) => [b.value, b.low ?? b.value, b.high ?? b.value]).filter(Number.isFinite);
  if (chart.reference) values.push(chart.reference.value);
  const log = chart.log ?? false;
  let lo: number;
  let hi: number;
  let axis: number[];
  if (log) {
    const positive = values.filter((v) => v > 0);
    if (chart.min !== undefined && !(chart.min > 0)) throw invalid(`"${chart.title}": a logarithmic axis needs min above 0`);
    lo = chart.min ?? 10 ** Math.floor(Math.log10(positive.length ? Math.min(...positive) : 1e-6));
    hi = chart.max ?? 10 ** Math.ceil(Math.log10(positive.length ? Math.max(...positive) : 1));
    if (hi <= lo) hi = lo * 10;
    const decades = Math.log10(hi) - Math.log10(lo);
    axis = decades > 3
      ? Array.from({ length: Math.floor(decades) + 1 }, (_, k) => 10 ** (Math.ceil(Math.log10(lo) - 1e-9) + k)).filter((t) => t >= lo * (1 - 1e-9) && t <= hi * (1 + 1e-9))
      : ticks(lo, hi, true);
  } else {
    lo = chart.min ?? Math.min(0, ...values);
    hi = chart.max ?? Math.max(...values);
    if (hi <= lo) hi = lo + 1;
    axis = ticks(lo, hi, false);
    lo = Math.min(lo, axis[0] ?? lo);
    hi = Math.max(hi, axis[axis.length - 1] ?? hi);
  }
  const plotW = W - LEFT - RIGHT;
  const f = (v: number) => (log ? Math.log10(v) : v);
  const x = (v: number) => LEFT + ((f(Math.min(Math.max(v, lo), hi)) - f(lo)) / (f(hi) - f(lo))) * plotW;
  const height = TOP + ROW * chart.bars.length + BOTTOM;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" font-family="sans-serif" font-size="12" data-chart="${escapeXml(chart.id)}"${log ? ' data-scale="log"' : ''} role="img" aria-label="${escapeXml(chart.title)}">`,
    `<rect width="${W}" height="${height}" fill="#ffffff"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(chart.title)}</text>`,
  ];
  chart.bars.forEach((b, i) => {
    const y = TOP + ROW * i;
    const color = PALETTE[i % PALETTE.length] as string;
    const x0 = x(lo);
    const x1 = x(b.value);
    out.push(`<g data-bar="${escapeXml(b.label)}" data-value="${b.value}">`);
    out.push(`<text x="${LEFT - 10}" y="${y + 17}" text-anchor="end" font-weight="bold">${escapeXml(b.label)}</text>`);
    if (log) {
      out.push(`<line x1="${x0.toFixed(2)}" y1="${y + ROW / 2 - 1}" x2="${(LEFT + plotW).toFixed(2)}" y2="${y + ROW / 2 - 1}" stroke="#e5e5e5"/>`);
      out.push(`<circle cx="${x1.toFixed(2)}" cy="${y + ROW / 2 - 1}" r="6" fill="${color}" data-x="${b.value}"/>`);
    } else {
      out.push(`<rect x="${x0.toFixed(2)}" y="${y + 5}" width="${Math.max(1, x1 - x0).toFixed(2)}" height="${ROW - 12}" fill="${color}" fill-opacity="0.8"/>`);
    }
    if (b.low !== undefined && b.high !== undefined && Number.isFinite(b.low) && Number.isFinite(b.high)) {
      const a = x(b.low).toFixed(2);
      const c = x(b.high).toFixed(2);
      const mid = y + ROW / 2 - 1;
      out.push(`<path d="M${a} ${mid}H${c}M${a} ${mid - 6}V${mid + 6}M${c} ${mid - 6}V${mid + 6}" stroke="#222" stroke-width="1.5" fill="none" data-interval="${b.low},${b.high}"/>`);
    }
    const end = Math.max(x1 + (log ? 6 : 0), b.high !== undefined && Number.isFinite(b.high) ? x(b.high) : x1);
    const text = `${escapeXml((chart.format ?? formatValue)(b.value))}${log ? '' : ` ${escapeXml(chart.unit)}`}${b.note ? ` ${escapeXml(b.note)}` : ''}`;
    out.push(`<text x="${(end + 6).toFixed(2)}" y="${y + 17}" fill="#222">${text}</text>`);
    out.push('</g>');
  });
  const axisY = TOP + ROW * chart.bars.length + 4;
  out.push(`<line x1="${LEFT}" y1="${axisY}" x2="${LEFT + plotW}" y2="${axisY}" stroke="#333"/>`);
  for (const t of axis) {
    const px = x(t).toFixed(2);
    out.push(`<line x1="${px}" y1="${axisY}" x2="${px}" y2="${axisY + 5}" stroke="#333"/>`);
    out.push(`<text x="${px}" y="${axisY + 18}" text-anchor="middle">${formatValue(t)}</text>`);
  }
  out.push(`<text x="${LEFT + plotW / 2}" y="${axisY + 36}" text-anchor="middle">${escapeXml(chart.unit)}${log ? ' (log scale)' : ''}</text>`);
  if (chart.reference) {
    const px = x(chart.reference.value).toFixed(2);
    out.push(`<line x1="${px}" y1="${TOP - 4}" x2="${px}" y2="${axisY}" stroke="#c92a2a" stroke-dasharray="5 3" data-reference="${chart.reference.value}"/>`);
    out.push(`<text x="${px}" y="${TOP - 8}" text-anchor="middle" fill="#c92a2a">${escapeXml(chart.reference.label)}</text>`);
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

export interface LinePoint {
  x: number;
  y: number;
  low?: number;
  high?: number;
}

export interface LineChart {
  title: string;
  xLabel: string;
  yUnit: string;
  series: readonly { label: string; points: readonly LinePoint[] }[];
  /** Logarithmic x axis (batch sizes 1, 8, 32). */
  logX?: boolean;
  id: string;
}

/** Lines with markers (and interval whiskers) on shared axes, with a legend: per-sample latency against batch size. */
export function lineChartSvg(chart: LineChart): string {
  const pts = chart.series.flatMap((s) => s.points);
  if (pts.length === 0) throw invalid(`"${chart.title}" has no points`);
  if (pts.some((p) => !Number.isFinite(p.x) || !Number.isFinite(p.y))) throw invalid(`"${chart.title}" has a point that is not a finite number`);
  const logX = chart.logX ?? false;
  if (logX && pts.some((p) => p.x <= 0)) throw invalid('a logarithmic axis needs x above 0');
  const H = 380;
  const L = 70;
  const R = 160;
  const T = 44;
  const B = 50;
  let xlo = Math.min(...pts.map((p) => p.x));
  let xhi = Math.max(...pts.map((p) => p.x));
  if (xhi === xlo) {
    xlo = logX ? xlo / 2 : xlo - 1;
    xhi = logX ? xhi * 2 : xhi + 1;
  }
  const ylo = 0;
  let yhi = Math.max(...pts.map((p) => p.high ?? p.y));
  if (!(yhi > 0)) yhi = 1;
  const yt = ticks(ylo, yhi, false);
  yhi = Math.max(yhi, yt[yt.length - 1] ?? yhi);
  const fx = (v: number) => (logX ? Math.log10(v) : v);
  const plotW = W - L - R;
  const plotH = H - T - B;
  const pxAt = (v: number) => L + ((fx(v) - fx(xlo)) / (fx(xhi) - fx(xlo))) * plotW;
  const py = (v: number) => T + plotH - ((v - ylo) / (yhi - ylo)) * plotH;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12" data-chart="${escapeXml(chart.id)}" role="img" aria-label="${escapeXml(chart.title)}">`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(chart.title)}</text>`,
    `<line x1="${L}" y1="${T + plotH}" x2="${L + plotW}" y2="${T + plotH}" stroke="#333"/>`,
    `<line x1="${L}" y1="${T}" x2="${L}" y2="${T + plotH}" stroke="#333"/>`,
  ];
  const xs = [...new Set(pts.map((p) => p.x))].sort((a, b) => a - b);
  for (const t of xs) {
    const X = pxAt(t).toFixed(2);
    out.push(`<line x1="${X}" y1="${T + plotH}" x2="${X}" y2="${T + plotH + 5}" stroke="#333"/>`);
    out.push(`<text x="${X}" y="${T + plotH + 18}" text-anchor="middle">${formatValue(t)}</text>`);
  }
  for (const t of yt) {
    const Y = py(t).toFixed(2);
    out.push(`<line x1="${L - 5}" y1="${Y}" x2="${L + plotW}" y2="${Y}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${L - 8}" y="${(py(t) + 4).toFixed(2)}" text-anchor="end">${formatValue(t)}</text>`);
  }
  out.push(`<text x="${L + plotW / 2}" y="${H - 12}" text-anchor="middle">${escapeXml(chart.xLabel)}${logX ? ' (log scale)' : ''}</text>`);
  out.push(`<text x="16" y="${T + plotH / 2}" text-anchor="middle" transform="rotate(-90 16 ${T + plotH / 2})">${escapeXml(chart.yUnit)}</text>`);
  chart.series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length] as string;
    const sorted = [...s.points].sort((a, b) => a.x - b.x);
    // Series side by side at each x, so their markers and intervals do not hide one another.
    const dx = (i - (chart.series.length - 1) / 2) * 5;
    const px = (v: number) => pxAt(v) + dx;
    out.push(`<g data-series="${escapeXml(s.label)}" data-points="${sorted.length}">`);
    if (sorted.length > 1) out.push(`<polyline points="${sorted.map((p) => `${px(p.x).toFixed(2)},${py(p.y).toFixed(2)}`).join(' ')}" fill="none" stroke="${color}" stroke-width="2"/>`);
    for (const p of sorted) {
      if (p.low !== undefined && p.high !== undefined && Number.isFinite(p.low) && Number.isFinite(p.high)) {
        out.push(`<line x1="${px(p.x).toFixed(2)}" y1="${py(p.low).toFixed(2)}" x2="${px(p.x).toFixed(2)}" y2="${py(p.high).toFixed(2)}" stroke="${color}" stroke-width="1.5"/>`);
      }
      out.push(`<circle cx="${px(p.x).toFixed(2)}" cy="${py(p.y).toFixed(2)}" r="4" fill="${color}" data-x="${p.x}" data-y="${p.y}"/>`);
    }
    const ly = T + 8 + i * 20;
    out.push(`<line x1="${W - R + 14}" y1="${ly}" x2="${W - R + 36}" y2="${ly}" stroke="${color}" stroke-width="3"/>`);
    out.push(`<text x="${W - R + 42}" y="${ly + 4}">${escapeXml(s.label)}</text>`);
    out.push('</g>');
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
