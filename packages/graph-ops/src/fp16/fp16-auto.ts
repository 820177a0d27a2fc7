import { ForgeError, ForgeErrorCode, Model, initKernels, mapDecisions, nullThrows, type RunPassOptions, type OptionSpecs, type PassContext, type PassReport } from '@onnx-forge/core';
import type { ModelRunner, RunnerFeeds } from '@onnx-forge/core';
import { DIFFERENCE_METRICS, type DifferenceMetric } from '../precision/output-difference.js';
import { HEADROOM_OPTION, heldOutWarning, searchNodesToKeep, type PrecisionSearchResult } from '../precision/precision-search.js';
import { collectSamples, defineSampledPass, runWithSamples } from '../precision/samples-service.js';
import { runFp16 } from './convert-to-fp16.js';
import { float16Feeds } from './float16-feeds.js';
import { convertToFp16, fp16Report, type Fp16Report } from './fp16-pass.js';
import { FP16_OPTION_SPECS, checkFp16Options, type Fp16Options } from './fp16-options.js';

/** How output differences are measured (per output, per sample; the worst counts). */
export const FP16_AUTO_METRICS = DIFFERENCE_METRICS;
export type Fp16AutoMetric = DifferenceMetric;

export interface Fp16AutoOptions extends Fp16Options {
  /** Largest allowed difference from float32 under `metric`, on every output of every sample. */
  tolerance: number;
  /** rel-l2: ||y16 - y32|| / ||y32||; max-abs: max |y16 - y32|; cosine: 1 - cos(y16, y32). */
  metric: Fp16AutoMetric;
  /** Share of the tolerance the search keeps in reserve for inputs it did not see. */
  headroom: number;
  /** Most candidate models the search may build and run. */
  maxEvaluations: number;
}

export const FP16_AUTO_OPTION_SPECS: OptionSpecs<Fp16AutoOptions> = {
  ...FP16_OPTION_SPECS,
  keepIoTypes: { ...FP16_OPTION_SPECS.keepIoTypes, default: true, description: 'keep float32 model inputs/outputs, as in fp16 (default true here)' },
  tolerance: {
    type: 'number',
    default: 1e-2,
    description: 'largest allowed difference from float32 (under metric) on every output of every sample',
    validate: (v) => (v > 0 && Number.isFinite(v) ? undefined : 'must be a positive number'),
  },
  metric: { type: { enum: FP16_AUTO_METRICS }, default: 'rel-l2', description: 'rel-l2, max-abs or cosine (1 - cosine similarity)' },
  headroom: HEADROOM_OPTION,
  maxEvaluations: {
    type: 'integer',
    default: 64,
    description: 'most candidate models the search builds and runs',
    validate: (v) => (v >= 2 ? undefined : 'must be at least 2'),
  },
};

/** The fp16-auto search's outcome from its pass report (a pipeline's `report.passes[i]`). */
export function fp16AutoOutcome(report: PassReport): Fp16AutoOutcome {
  return nullThrows(report.data.fp16Auto as Fp16AutoOutcome | undefined, `the ${report.name} pass recorded no fp16-auto outcome`);
}

export interface Fp16AutoResult extends Fp16AutoOutcome {
  report: Fp16Report;
}

function fp16Options(o: Fp16AutoOptions, extraBlocked: Iterable<string> = []): Fp16Options {
  const { tolerance: _t, metric: _m, headroom: _h, maxEvaluations: _e, ...rest } = o;
  return { ...rest, blockNodes: [...o.blockNodes, ...extraBlocked] };
}


/** A number for a message, without float noise (1 - 0.003 is 0.997, not 0.9970000000000001). */
const num = (x: number) => Number(x.toPrecision(12));

/**
 * The bound the search holds every output to, in the metric's own terms: cosine's tolerance t is
 * 1 - cos, so the bound is a cosine of at least 1 - t; the search aims at the tolerance less its
 * headroom (samples it held out are held to the tolerance itself).
 */
function aimWords(o: Pick<Fp16AutoOptions, 'metric' | 'tolerance' | 'headroom'>): string {
  const h = Math.min(0.9, Math.max(0, o.headroom));
  const bound = (t: number) =>
    o.metric === 'cosine' ? `cosine to float32 at least ${num(1 - t)}` : o.metric === 'rel-l2' ? `relative L2 error at most ${num(t)}` : `largest absolute difference at most ${num(t)}`;
  if (h === 0) return bound(o.tolerance);
  const allowed = o.metric === 'cosine' ? num(1 - o.tolerance) : num(o.tolerance);
  return `${bound(o.tolerance * (1 - h))}; allowed ${allowed}, headroom ${h}`;
}

/**
 * A kept node's measured sensitivity: the error it adds to its own output in the fully converted
 * model, always measured as relative L2 error whatever the search's metric (precision-search.ts).
 */
function sensitivityWords(s: number | undefined): string {
  if (s === Infinity) return '; in float16 its output turns NaN or infinite';
  if (s === undefined || !(s > 0)) return '';
  return `; in float16 it adds ${s.toExponential(2)} relative L2 error to its own output`;
}

/** The search's outcome, recorded by the pass under `fp16Auto` in its report data (fp16AutoOutcome reads it). */
export interface Fp16AutoOutcome {
  /** Nodes the search kept in float32, most sensitive first, with their measured sensitivity. */
  keptFloat32: { node: string; sensitivity: number }[];
  /** Worst difference of the final model over all samples and outputs, and per output. */
  worstError: number;
  perOutput: Record<string, number>;
  /** Worst difference with every candidate node converted (the plain fp16 result). */
  fullConversionError: number;
  /** Worst difference per output on the samples the search held out (every third, with three samples or more). */
  heldOut?: { samples: number; perOutput: Record<string, number>; ok: boolean; independent: boolean };
  evaluations: number;
  samples: number;
}

/**
 * The fp16-auto pass's work: mixed precision by search (see precision/precision-search.ts), the
 * largest set of nodes that runs in float16 with every output of every sample within `tolerance` of
 * float32. An output that turns NaN or infinite where float32 has a finite value is an infinite
 * difference, so nodes that overflow float16 are always kept. Takes every option of the fp16 pass.
 */
async function searchFp16(model: Model, o: Fp16AutoOptions, ctx: PassContext, runner: ModelRunner, samples: readonly RunnerFeeds[]): Promise<void> {
  if (!samples.length) throw new ForgeError(ForgeErrorCode.BAD_SAMPLES, 'fp16-auto needs sample inputs to judge candidates, and the samples service gave none');
  const search: PrecisionSearchResult = await searchNodesToKeep(model, ctx, {
    pass: 'fp16-auto',
    runner,
    samples,
    convert: async (m, kept) => (await convertToFp16(m, fp16Options(o, kept), { check: false })).decisions.filter((d) => d.action === 'converted').map((d) => d.node),
    feedsFor: float16Feeds,
    metric: o.metric,
    tolerance: o.tolerance,
    headroom: o.headroom,
    maxEvaluations: o.maxEvaluations,
  });
  if (!search.ok) {
    throw new ForgeError(ForgeErrorCode.PASS_FAILED, `fp16-auto: the float16 model differs from float32 by ${search.worst.toExponential(2)} (${o.metric}) with no node left to keep float32; weights stored as float16 lose that much: set weightStorage=fp32 or raise the tolerance`, {
      details: { worst: search.worst, perOutput: search.perOutput },
    });
  }
  const kept = search.kept.map((k) => k.node);
  const keptSet = new Set(kept);
  const sensitivity = new Map(search.kept.map((k) => [k.node, k.sensitivity]));
  const explained = mapDecisions(ctx, ({ node, action, reason }) => ({
    action,
    reason: keptSet.has(node.name) && action === 'kept'
      ? `kept float32 by fp16-auto: converting it too takes an output past the search's aim (${aimWords(o)})${sensitivityWords(sensitivity.get(node.name))}`
      : reason,
  }));
  await initKernels();
  runFp16(model, fp16Options(o, kept), explained);
  ctx.set('tolerance', o.tolerance);
  ctx.set('metric', o.metric);
  ctx.set('worstError', search.worst);
  ctx.set('fullConversionError', search.full);
  ctx.set('evaluations', search.evaluations);
  ctx.set('samples', samples.length);
  ctx.set('keptBySearch', kept.length);
  for (const [name, d] of Object.entries(search.perOutput)) ctx.set(`error ${name}`, d);
  const outcome: Fp16AutoOutcome = {
    keptFloat32: search.kept, worstError: search.worst, perOutput: search.perOutput, fullConversionError: search.full,
    evaluations: search.evaluations, samples: samples.length,
    ...(search.validation ? { heldOut: { samples: search.validation.samples, perOutput: search.validation.perOutput, ok: search.validation.ok, independent: search.validation.independent } } : {}),
  };
  heldOutWarning(ctx, 'fp16-auto', search.validation, `${o.tolerance} (${o.metric})`, (d) => `${d.toExponential(2)}`);
  ctx.detail('fp16Auto', outcome);
}

export const fp16AutoPass = defineSampledPass<Fp16AutoOptions>({
  name: 'fp16-auto',
  description: 'mixed precision by search: the most nodes in float16 with outputs within tolerance of float32 on every sample',
  options: FP16_AUTO_OPTION_SPECS,
  check: checkFp16Options,
  run: async (model, options, ctx, runner, samples) => searchFp16(model, options, ctx, runner, await collectSamples(samples)),
});

/** fp16-auto on `model` in place, outside a pipeline (the pass run alone with these services). */
export async function autoMixedPrecision(model: Model, runner: ModelRunner, samples: readonly RunnerFeeds[], options: Partial<Fp16AutoOptions> = {}, run: Omit<RunPassOptions, 'services'> = {}): Promise<Fp16AutoResult> {
  const r = await runWithSamples(fp16AutoPass(options), model, runner, samples, run);
  return { ...fp16AutoOutcome(r), report: fp16Report(r) };
}
