import { singleValueProblem } from '@onnx-forge/graph-ops';
import { compareLatency } from '../measure/compare-latency.js';
import { chooseVariant } from './choose-variant.js';
import type { OptimizeRun } from './optimize-run.js';
import type { VariantResult } from './optimize-result.js';

/** The first output of one value per sample whose error passes what the tolerance allows (cosine cannot judge it). */
function singleValue(v: VariantResult, tolerance: number): { accuracyProblem?: string } {
  for (const o of v.accuracy?.outputs ?? []) {
    const problem = singleValueProblem(o, tolerance);
    if (problem) return { accuracyProblem: `output "${o.output}": ${problem}` };
  }
  return {};
}

/**
 * A warning for the reason when timings are too noisy to rank variants with confidence: a median whose
 * 95 % interval is as wide as the median itself (a shared machine, too few runs), else "".
 */
export function noiseNote(variants: readonly Pick<VariantResult, 'name' | 'latency'>[]): string {
  const noisy = variants.filter((v) => v.latency && v.latency.p50Ci95[1] - v.latency.p50Ci95[0] >= v.latency.p50).map((v) => v.name);
  return noisy.length
    ? `; the timings are noisy (the 95 % interval of the median is as wide as the median for ${noisy.join(', ')}): rerun with more --runs or on a quieter machine before trusting the ranking`
    : '';
}

/**
 * The choice among the measured variants (chooseVariant under the run's preference and tolerance):
 * a variant ok but not timed fails, the rejected ones get their reason, the result its best and
 * reason, and every timed variant is compared with FP32.
 */
export function chooseBest(run: OptimizeRun): void {
  const { result, tolerance } = run;
  for (const v of result.variants) if (v.status === 'ok' && !v.latency && !v.error) run.fail(v, { stage: 'benchmark', code: 'FORGE_RUNTIME', message: 'not timed' });
  const worst = (v: VariantResult) => v.accuracy?.outputs.reduce((a, o) => (o.cosine < a.cosine ? o : a))?.output;
  const choice = chooseVariant(result.variants.map((v) => ({
    name: v.name, status: v.status, ...(v.bytes !== undefined ? { bytes: v.bytes } : {}), ...(v.latency ? { latency: v.latency } : {}),
    ...(v.accuracy ? { minCosine: v.accuracy.minCosine } : {}), ...(worst(v) ? { worstOutput: worst(v) as string } : {}),
    ...singleValue(v, tolerance),
  })), run.prefer, tolerance);
  for (const r of choice.rejected) Object.assign(run.variant(r.name), { status: 'rejected', reason: r.reason });
  result.best = choice.best;
  result.reason = choice.reason + noiseNote(result.variants);
  const base = run.variant('fp32');
  if (base.latency) {
    for (const v of result.variants) {
      if (v.name !== 'fp32' && v.latency) result.comparisons.push(compareLatency({ name: 'fp32', latency: base.latency }, { name: v.name, latency: v.latency }));
    }
  }
}
