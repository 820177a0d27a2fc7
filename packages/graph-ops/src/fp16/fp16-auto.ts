import { DataType, ForgeError, ForgeErrorCode, Model, RUNNER, SAMPLES, definePass, float32ArrayToFloat16, type OptionSpecs, type PassContext } from '@onnx-forge/core';
import type { ModelRunner, RunnerFeeds } from '@onnx-forge/core';
import { DIFFERENCE_METRICS, type DifferenceMetric } from '../precision/output-difference.js';
import { addedError, nameNodes, searchMixedPrecision, type PrecisionSearchResult } from '../precision/precision-search.js';
import { collectSamples } from '../precision/samples-service.js';
import { convertToFp16, type Fp16Report, type Fp16Sink } from './convert-to-fp16.js';
import { FP16_OPTION_SPECS, checkFp16Options, type Fp16Options } from './fp16-options.js';

/** How output differences are measured (per output, per sample; the worst counts). */
export const FP16_AUTO_METRICS = DIFFERENCE_METRICS;
export type Fp16AutoMetric = DifferenceMetric;

export interface Fp16AutoOptions extends Fp16Options {
  /** Largest allowed difference from float32 under `metric`, on every output of every sample. */
  tolerance: number;
  /** rel-l2: ||y16 - y32|| / ||y32||; max-abs: max |y16 - y32|; cosine: 1 - cos(y16, y32). */
  metric: Fp16AutoMetric;
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
  maxEvaluations: {
    type: 'integer',
    default: 64,
    description: 'most candidate models the search builds and runs',
    validate: (v) => (v >= 2 ? undefined : 'must be at least 2'),
  },
};

export interface Fp16AutoResult {
  /** Nodes the search kept in float32, most sensitive first, with their measured sensitivity. */
  keptFloat32: { node: string; sensitivity: number }[];
  /** Worst difference of the final model over all samples and outputs, and per output. */
  worstError: number;
  perOutput: Record<string, number>;
  /** Worst difference with every candidate node converted (the plain fp16 result). */
  fullConversionError: number;
  evaluations: number;
  samples: number;
  report: Fp16Report;
}

function fp16Options(o: Fp16AutoOptions, extraBlocked: Iterable<string> = []): Fp16Options {
  const { tolerance: _t, metric: _m, maxEvaluations: _e, ...rest } = o;
  return { ...rest, blockNodes: [...o.blockNodes, ...extraBlocked] };
}

/** Float feeds rounded to float16 where the candidate model takes float16 inputs. */
function feedsFor(model: Model, feeds: RunnerFeeds): RunnerFeeds {
  const out: RunnerFeeds = { ...feeds };
  for (const v of model.graph.inputs) {
    const f = feeds[v.name];
    if (f && f.type === 'float32' && v.type?.tensorType?.elemType === DataType.FLOAT16) {
      out[v.name] = { type: 'float16', dims: f.dims, data: float32ArrayToFloat16(f.data as Float32Array) };
    }
  }
  return out;
}

/**
 * Mixed precision by search (see precision/precision-search.ts): the largest set of nodes that runs
 * in float16 with every output of every sample within `tolerance` of float32. An output that turns
 * NaN or infinite where float32 has a finite value is an infinite difference, so nodes that overflow
 * float16 are always kept. Takes every option of the fp16 pass.
 */
export async function autoMixedPrecision(model: Model, runner: ModelRunner, samples: readonly RunnerFeeds[], options: Partial<Fp16AutoOptions> = {}, ctx?: Partial<PassContext>): Promise<Fp16AutoResult> {
  const o = fp16AutoPass(options).options as Fp16AutoOptions;
  if (!samples.length) throw new ForgeError(ForgeErrorCode.BAD_SAMPLES, 'fp16-auto needs at least one sample: pass services: { samples: [feeds, ...] }');
  nameNodes(model, 'fp16auto');
  const original = model.clone();
  const probe = original.clone();
  const candidates = convertToFp16(probe, fp16Options(o)).decisions.filter((d) => d.action === 'converted').map((d) => d.node);
  const search: PrecisionSearchResult = await searchMixedPrecision({
    pass: 'fp16-auto',
    runner,
    samples,
    original,
    candidates,
    build: (kept) => {
      const c = original.clone();
      convertToFp16(c, fp16Options(o, kept));
      return c;
    },
    feedsFor,
    metric: o.metric,
    tolerance: o.tolerance,
    maxEvaluations: o.maxEvaluations,
    ...(ctx?.progress ? { progress: ctx.progress.bind(ctx) } : {}),
  });
  if (!search.ok) {
    throw new ForgeError(ForgeErrorCode.PASS_FAILED, `fp16-auto: the float16 model differs from float32 by ${search.worst.toExponential(2)} (${o.metric}) with no node left to keep float32; weights stored as float16 lose that much: set weightStorage=fp32 or raise the tolerance`, {
      details: { worst: search.worst, perOutput: search.perOutput },
    });
  }
  const kept = search.kept.map((k) => k.node);
  const keptSet = new Set(kept);
  const sensitivity = new Map(search.kept.map((k) => [k.node, k.sensitivity]));
  const why = (node: string, action: string, reason: string) => {
    if (!keptSet.has(node) || action !== 'kept') return reason;
    return `kept float32 by fp16-auto: with it in float16 the outputs went beyond ${o.metric} ${o.tolerance}${addedError(sensitivity.get(node))}`;
  };
  const sink: Partial<Fp16Sink> = {
    decide: (graph, node, action, reason) => ctx?.decide?.(graph, node, action, why(node.name, action, reason)),
    count: ctx?.count?.bind(ctx),
    set: ctx?.set?.bind(ctx),
    warn: ctx?.warn?.bind(ctx),
    progress: ctx?.progress?.bind(ctx),
  };
  const report = convertToFp16(model, fp16Options(o, kept), sink);
  for (const d of report.decisions) d.reason = why(d.node, d.action, d.reason);
  ctx?.set?.('tolerance', o.tolerance);
  ctx?.set?.('metric', o.metric);
  ctx?.set?.('worstError', search.worst);
  ctx?.set?.('fullConversionError', search.full);
  ctx?.set?.('evaluations', search.evaluations);
  ctx?.set?.('samples', samples.length);
  ctx?.set?.('keptBySearch', kept.length);
  for (const [name, d] of Object.entries(search.perOutput)) ctx?.set?.(`error ${name}`, d);
  return {
    keptFloat32: search.kept, worstError: search.worst, perOutput: search.perOutput, fullConversionError: search.full,
    evaluations: search.evaluations, samples: samples.length, report,
  };
}

export const fp16AutoPass = definePass<Fp16AutoOptions>({
  name: 'fp16-auto',
  description: 'mixed precision by search: the most nodes in float16 with outputs within tolerance of float32 on every sample',
  options: FP16_AUTO_OPTION_SPECS,
  check: checkFp16Options,
  services: [RUNNER, SAMPLES],
  async run(model, options, ctx) {
    const samples = await collectSamples(ctx.service(SAMPLES));
    if (!samples.length) {
      throw new ForgeError(ForgeErrorCode.BAD_SAMPLES, 'fp16-auto needs sample inputs to judge candidates, and the samples service gave none');
    }
    await autoMixedPrecision(model, ctx.service(RUNNER), samples, options, ctx);
  },
});
