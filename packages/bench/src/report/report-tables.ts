import type { LatencyComparison } from '../measure/compare-latency.js';
import type { LatencyStats } from '../measure/latency-stats.js';
import type { OptimizeResult, VariantResult } from '../optimize/optimize-result.js';
import { formatBytes } from '@onnx-forge/core';
import { formatMs, formatRatio, meanText, medianIntervalText, p50Text, percentileText } from './format-latency.js';

/** A table of a report: the same cells go to Markdown and HTML. */
export interface ReportTable {
  title: string;
  head: string[];
  rows: string[][];
  /** A sentence under the title. */
  note?: string;
}

const f = (v: number | undefined, digits = 2) => (v === undefined ? '' : Number.isFinite(v) ? v.toFixed(digits) : String(v));
// NaN: the reference gave no finite value on any sample, so nothing was compared (not a broken output).
const cos = (v: number | undefined) => (v === undefined ? '' : Number.isFinite(v) ? v.toFixed(6) : Number.isNaN(v) ? 'nothing compared' : String(v));
/** An error figure; none ("—") where nothing was compared (cosine NaN), whose 0 would read as exact. */
const err = (v: number, cosine: number) => (Number.isNaN(cosine) || Number.isNaN(v) ? '—' : Number.isFinite(v) ? v.toExponential(2) : String(v));
const pct = (v: number | null | undefined) => (v === null || v === undefined ? '' : `${(v * 100).toFixed(1)} %`);

/**
 * Why a comparison names no winner: its intervals overlap (the ratio's interval then holds 1), or,
 * apart, they come from fewer runs than a 95 % interval of the median needs.
 */
function noWinner(c: LatencyComparison): string {
  return c.ratioCi95[0] <= 1 && c.ratioCi95[1] >= 1 ? 'none (intervals overlap)' : 'none (too few runs)';
}

function statusCell(v: VariantResult, best: string | null): string {
  if (v.name === best) return 'chosen';
  return v.status;
}

/** The tables of an optimize report, in the order they are shown. */
export function reportTables(r: OptimizeResult): ReportTable[] {
  const tables: ReportTable[] = [];
  const l = (v: VariantResult) => v.latency;
  tables.push({
    title: 'Variants',
    note: `Latency from ${r.settings.runs} timed runs per variant after ${r.settings.warmup} warm-up runs, interleaved in a new seeded order every round; 95 % intervals (the mean's low end at least 0: latency is never negative; the mean's, Student t's, holds it less often when a few runs are far slower than the rest, so the choice and the comparisons use the medians'). p90 and p99 need at least 10 and 100 runs; with fewer, their cell gives the slowest run, marked max. Accuracy against FP32 on ${r.inputs ? `${r.inputs.samples} ${r.inputs.source} sample(s)` : 'no inputs'}.`,
    head: ['variant', 'status', 'size', 'size vs fp32', 'p50 ms [95 % CI]', 'mean ms [95 % CI]', 'p90 ms', 'p99 ms', 'runs/s', 'create ms', 'first run ms', 'min cosine', 'max abs err', 'top-1'],
    rows: r.variants.map((v) => [
      v.name, statusCell(v, r.best), v.bytes === undefined ? '' : formatBytes(v.bytes), v.sizeRatio === undefined ? '' : `${v.sizeRatio.toFixed(3)}×`,
      l(v) ? p50Text(l(v) as LatencyStats) : '', l(v) ? meanText(l(v) as LatencyStats) : '',
      l(v) ? percentileText(l(v) as LatencyStats, 0.9, (l(v) as LatencyStats).p90) : '', l(v) ? percentileText(l(v) as LatencyStats, 0.99, (l(v) as LatencyStats).p99) : '', f(l(v)?.runsPerSecond, 1), f(v.createMs, 1), f(v.firstRunMs, 1),
      cos(v.accuracy?.minCosine), v.accuracy ? err(v.accuracy.maxAbs, v.accuracy.minCosine) : '', pct(v.accuracy?.top1),
    ]),
  });
  if (r.comparisons.length) {
    tables.push({
      title: 'Against FP32',
      note: 'Speed-up = FP32 p50 / variant p50, with the interval from both medians\' 95 % intervals. No winner is named when they overlap.',
      head: ['variant', 'speed-up', '95 % interval', 'winner', 'verdict'],
      rows: r.comparisons.map((c) => [c.candidate, `${formatRatio(c.speedup)}×`, `[${formatRatio(c.speedupCi95[0])}, ${formatRatio(c.speedupCi95[1])}]`, c.winner ?? noWinner(c), c.verdict]),
    });
  }
  const outputs = r.variants.flatMap((v) => (v.accuracy?.outputs ?? []).map((o) => [v.name, o.output, cos(o.cosine), err(o.maxAbs, o.cosine), err(o.maxRel, o.cosine), pct(o.top1), o.nonFinite ? String(o.nonFinite) : '', o.problem ?? '']));
  if (outputs.length) {
    tables.push({
      title: 'Accuracy per output',
      note: 'Worst case over the samples. Relative error = max |error| / max |FP32 value|. Top-1 for classifier-shaped outputs ([classes] or [rows, classes]).',
      head: ['variant', 'output', 'cosine', 'max abs err', 'max rel err', 'top-1', 'non-finite', 'problem'],
      rows: outputs,
    });
  }
  if (r.batch) {
    const rows = Object.entries(r.batch.points).flatMap(([name, pts]) => pts.map((p) => [
      name, String(p.batch), p50Text(p.latency),
      `${formatMs(p.perSampleMs)} ${medianIntervalText(p.perSampleCi95, p.latency.n)}`, f(p.samplesPerSecond, 1), r.batch?.best[name] === p.batch ? 'lowest per sample' : '',
    ]));
    tables.push({ title: 'Batch sizes', note: r.batch.note, head: ['variant', 'batch', 'p50 ms [95 % CI]', 'per sample ms [95 % CI]', 'samples/s', ''], rows });
  }
  const mem = r.variants.filter((v) => v.memory);
  if (mem.length) {
    tables.push({
      title: 'Memory',
      note: r.settings.isolate ? 'Peak resident memory of a process that loaded and ran only that variant.' : 'All variants ran in one process, so its peak is shared; the growth is what creating each session added. Isolated runs give each variant its own peak.',
      // The baseline is measured only in a process of the variant's own (--isolate): no empty column otherwise.
      ...(mem.some((v) => v.memory?.baselineRssBytes !== undefined)
        ? {
          head: ['variant', 'scope', 'peak RSS', 'baseline RSS', 'session RSS growth'],
          rows: mem.map((v) => [v.name, v.memory?.scope ?? '', formatBytes(v.memory?.peakRssBytes ?? 0), v.memory?.baselineRssBytes === undefined ? '' : formatBytes(v.memory.baselineRssBytes), formatBytes(v.memory?.rssDeltaBytes ?? 0)]),
        }
        : {
          head: ['variant', 'scope', 'peak RSS', 'session RSS growth'],
          rows: mem.map((v) => [v.name, v.memory?.scope ?? '', formatBytes(v.memory?.peakRssBytes ?? 0), formatBytes(v.memory?.rssDeltaBytes ?? 0)]),
        }),
    });
  }
  const notes = r.variants.flatMap((v) => [...v.notes.map((n) => [v.name, n]), ...(v.reason && v.status !== 'failed' ? [[v.name, `${v.status}: ${v.reason}`]] : [])]);
  if (notes.length) tables.push({ title: 'What each variant is', head: ['variant', 'note'], rows: notes });
  if (r.errors.length) {
    tables.push({ title: 'Errors', note: 'Each failure with its stage and stable error code; the other variants completed.', head: ['variant', 'stage', 'code', 'message'], rows: r.errors.map((e) => [e.variant ?? '', e.stage, e.code, e.message]) });
  }
  return tables;
}

/** Why no version was written: no variant made a file that loaded, or writing the version failed. */
function repositoryMissing(r: OptimizeResult): string {
  const write = r.errors.find((e) => e.stage === 'write' && !e.variant);
  return write ? `writing the version failed, ${write.code}; no variant file was kept` : 'no usable variant';
}

/** The lines above the tables: the choice, the setting and the machine. */
export function reportSummary(r: OptimizeResult): { headline: string; lines: string[] } {
  const headline = r.best ? `Chosen: ${r.best}` : 'No variant chosen';
  const shapes = r.inputs ? Object.entries(r.inputs.shapes).map(([k, s]) => `${k} ${s.type} [${s.dims.join(', ')}]`).join(', ') : 'none';
  const m = r.machine;
  return {
    headline,
    lines: [
      r.reason,
      ...(r.warnings ?? []).map((w) => `Warning: ${w}.`),
      `Model ${r.model}${r.source.file ? ` (${r.source.file})` : ''}, ${formatBytes(r.source.bytes)}; target ${r.target}, measured on ${r.backend}/${r.providers.join(',')}; prefer ${r.prefer}; tolerance cosine ≥ ${r.tolerance.min}.`,
      `Inputs: ${r.inputs ? `${r.inputs.source} (${r.inputs.from}), ${shapes}` : 'none'}${r.calibration ? `; calibration: ${r.calibration.samples} sample(s) from ${r.calibration.from}` : ''}.`,
      `Machine: ${m.cpu} (${m.isa}), ${m.cores} cores, ${m.platform}-${m.arch}, Node ${m.node}, onnxruntime ${m.onnxruntime ?? 'unknown'}; ${r.startedAt}, ${(r.durationMs / 1000).toFixed(1)} s.`,
      r.repository ? `Repository: ${r.repository.path} (model ${r.repository.model}, version ${r.repository.version}).` : `Repository: nothing written (${repositoryMissing(r)}).`,
    ],
  };
}
