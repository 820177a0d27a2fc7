import {
  DataType, ForgeError, ForgeErrorCode, Model, definePass, float32ArrayToFloat16, inferElemTypes, onnx, tensorElemType,
  tensorType, type NodeProto, type OptionSpecs, type PassContext,
} from '@onnx-forge/core';
import { RUNNER_SERVICE, type LoadedModel, type ModelRunner, type RunnerFeeds, type RunnerTensor } from '../runner.js';
import { FP16_TARGETS, type Fp16Target } from '../tables/fp16-support.js';
import { convertToFp16, type Fp16Report, type Fp16Sink } from './convert-to-fp16.js';
import { runnerValues } from './runner-values.js';

/** How output differences are measured (per output, per sample; the worst counts). */
export const FP16_AUTO_METRICS = ['rel-l2', 'max-abs', 'cosine'] as const;
export type Fp16AutoMetric = (typeof FP16_AUTO_METRICS)[number];

export interface Fp16AutoOptions {
  /** Largest allowed difference from float32 under `metric`, on every output of every sample. */
  tolerance: number;
  /**
   * rel-l2: ||y16 - y32|| / ||y32||; max-abs: max |y16 - y32|; cosine: 1 - cos(y16, y32).
   */
  metric: Fp16AutoMetric;
  target: Fp16Target;
  keepIoTypes: boolean | readonly string[];
  /** Most candidate models the search may build and run. */
  maxEvaluations: number;
}

export const FP16_AUTO_OPTION_SPECS: OptionSpecs<Fp16AutoOptions> = {
  tolerance: {
    type: 'number',
    default: 1e-2,
    description: 'largest allowed difference from float32 (under metric) on every output of every sample',
    validate: (v) => (v > 0 && Number.isFinite(v) ? undefined : 'must be a positive number'),
  },
  metric: { type: { enum: FP16_AUTO_METRICS }, default: 'rel-l2', description: 'rel-l2, max-abs or cosine (1 - cosine similarity)' },
  target: { type: { enum: FP16_TARGETS }, default: 'any', description: 'runtime the model is for, as in fp16' },
  keepIoTypes: { type: ['boolean', 'string[]'], default: true, description: 'keep float32 model inputs/outputs, as in fp16 (default true here)' },
  maxEvaluations: {
    type: 'integer',
    default: 64,
    description: 'most candidate models the search builds and runs',
    validate: (v) => (v >= 2 ? undefined : 'must be at least 2'),
  },
};

const SAMPLES = 'samples';

export interface Fp16AutoResult {
  /** Nodes the search kept in float32, most sensitive first, with their measured sensitivity. */
  keptFloat32: { node: string; sensitivity: number }[];
  /** Worst difference of the final model over all samples and outputs. */
  worstError: number;
  /** Worst difference with every candidate node converted (the plain fp16 result). */
  fullConversionError: number;
  evaluations: number;
  samples: number;
  report: Fp16Report;
}

interface Evaluation {
  worst: number;
  ok: boolean;
}

async function collectSamples(source: unknown): Promise<RunnerFeeds[]> {
  if (Array.isArray(source)) return source as RunnerFeeds[];
  if (source && typeof (source as AsyncIterable<RunnerFeeds>)[Symbol.asyncIterator] === 'function') {
    const out: RunnerFeeds[] = [];
    for await (const s of source as AsyncIterable<RunnerFeeds>) out.push(s);
    return out;
  }
  if (source && typeof (source as Iterable<RunnerFeeds>)[Symbol.iterator] === 'function') return [...(source as Iterable<RunnerFeeds>)];
  return [];
}

function difference(metric: Fp16AutoMetric, ref: number[], got: number[]): number {
  if (ref.length !== got.length) return Infinity;
  let dot = 0, nr = 0, ng = 0, d2 = 0, maxAbs = 0;
  for (let i = 0; i < ref.length; i++) {
    const r = ref[i] as number;
    const g = got[i] as number;
    if (Number.isNaN(r) !== Number.isNaN(g)) return Infinity;
    if (Number.isNaN(r)) continue;
    if (!Number.isFinite(r) || !Number.isFinite(g)) {
      if (r !== g) return Infinity;
      continue;
    }
    const d = g - r;
    dot += r * g;
    nr += r * r;
    ng += g * g;
    d2 += d * d;
    maxAbs = Math.max(maxAbs, Math.abs(d));
  }
  switch (metric) {
    case 'max-abs': return maxAbs;
    case 'cosine': return nr === 0 && ng === 0 ? 0 : nr === 0 || ng === 0 ? 1 : 1 - dot / Math.sqrt(nr * ng);
    default: return nr === 0 ? Math.sqrt(d2) : Math.sqrt(d2 / nr);
  }
}

/** Gives every unnamed node a unique name, so candidates can name the nodes they keep float32. */
function nameNodes(model: Model): void {
  for (const { node } of model.allNodes()) if (!node.name) node.name = model.uniqueName(`${node.opType}_fp16auto`);
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
 * Mixed precision by search: the largest set of nodes that runs in float16 with every output of every
 * sample within `tolerance` of float32.
 *
 * 1. Convert every candidate (the fp16 pass's choice for the target); if that is within tolerance on
 *    all samples, done.
 * 2. Measure each main-graph node's sensitivity in one run: the error of its output in the all-float16
 *    model minus the largest error of its inputs (the error it adds). Subgraph nodes take the value of
 *    the node holding their graph.
 * 3. Binary search for the fewest most-sensitive nodes to keep float32 so the model passes.
 * 4. Bisect the kept set in topological segments, converting back every segment that still passes.
 * Every candidate is judged on all samples, not one.
 */
export async function autoMixedPrecision(model: Model, runner: ModelRunner, samples: RunnerFeeds[], options: Partial<Fp16AutoOptions> = {}, ctx?: Partial<PassContext>): Promise<Fp16AutoResult> {
  const o: Fp16AutoOptions = {
    tolerance: options.tolerance ?? 1e-2, metric: options.metric ?? 'rel-l2', target: options.target ?? 'any',
    keepIoTypes: options.keepIoTypes ?? true, maxEvaluations: options.maxEvaluations ?? 64,
  };
  if (!samples.length) {
    throw new ForgeError(ForgeErrorCode.BAD_SAMPLES, 'fp16-auto needs at least one sample: pass services: { samples: [feeds, ...] }');
  }
  nameNodes(model);
  const original = model.clone();

  // float32 reference outputs, sample by sample.
  const reference = await runAll(runner, original, samples, 'the float32 model');
  const outputNames = original.graph.outputNames();

  let evaluations = 0;
  const evaluate = async (blocked: ReadonlySet<string>): Promise<Evaluation> => {
    evaluations++;
    ctx?.progress?.(evaluations, o.maxEvaluations, 'fp16-auto search');
    const candidate = original.clone();
    convertToFp16(candidate, { target: o.target, keepIoTypes: o.keepIoTypes, blockNodes: [...blocked] });
    const outs = await runAll(runner, candidate, samples.map((s) => feedsFor(candidate, s)), 'a float16 candidate');
    let worst = 0;
    for (let s = 0; s < samples.length; s++) {
      for (const name of outputNames) {
        const ref = reference[s]?.[name];
        const got = outs[s]?.[name];
        const d = ref && got ? difference(o.metric, runnerValues(ref) as number[], runnerValues(got) as number[]) : Infinity;
        worst = Math.max(worst, d);
      }
    }
    return { worst, ok: worst <= o.tolerance };
  };

  // The nodes the plain pass would convert are the candidates.
  const probe = original.clone();
  const plain = convertToFp16(probe, { target: o.target, keepIoTypes: o.keepIoTypes });
  const candidates = plain.decisions.filter((d) => d.action === 'converted').map((d) => d.node);
  const full = await evaluate(new Set());
  let kept: string[] = [];
  let sensitivity = new Map<string, number>();
  let final = full;
  if (!full.ok && candidates.length) {
    sensitivity = await measureSensitivity(runner, original, samples, o, candidates);
    const ordered = [...candidates].sort((a, b) => (sensitivity.get(b) ?? 0) - (sensitivity.get(a) ?? 0));
    const all = await evaluate(new Set(ordered));
    if (!all.ok) {
      throw new ForgeError(ForgeErrorCode.NOTHING_TO_DO, `fp16-auto: even with every node float32 the outputs differ from float32 by ${all.worst.toExponential(2)} (${o.metric}), above the tolerance ${o.tolerance}; the float16 model inputs or outputs alone lose that much (set keepIoTypes) or raise the tolerance`);
    }
    // Fewest most-sensitive nodes to keep: the smallest k such that blocking ordered[0..k) passes.
    let lo = 0;
    let hi = ordered.length;
    let best = all;
    while (hi - lo > 1 && evaluations < o.maxEvaluations - 1) {
      const mid = (lo + hi) >> 1;
      const e = await evaluate(new Set(ordered.slice(0, mid)));
      if (e.ok) {
        hi = mid;
        best = e;
      } else {
        lo = mid;
      }
    }
    kept = ordered.slice(0, hi);
    final = best;
    // Convert back whole segments of the kept set (in graph order) that the tolerance still allows.
    const position = new Map([...original.allNodes()].map(({ node }, i) => [node.name, i]));
    const keptSet = new Set(kept);
    const bisect = async (segment: string[]): Promise<void> => {
      if (!segment.length || evaluations >= o.maxEvaluations) return;
      const trial = new Set([...keptSet].filter((n) => !segment.includes(n)));
      const e = await evaluate(trial);
      if (e.ok) {
        for (const n of segment) keptSet.delete(n);
        final = e;
        return;
      }
      if (segment.length === 1) return;
      const half = segment.length >> 1;
      await bisect(segment.slice(0, half));
      await bisect(segment.slice(half));
    };
    const inOrder = [...kept].sort((a, b) => (position.get(a) ?? 0) - (position.get(b) ?? 0));
    // The whole kept set passed only as a whole; start one level down.
    if (inOrder.length > 1) {
      const half = inOrder.length >> 1;
      await bisect(inOrder.slice(0, half));
      await bisect(inOrder.slice(half));
    }
    kept = ordered.filter((n) => keptSet.has(n));
    // Validate the final set on all samples once more when the last evaluation was another set.
    final = await evaluate(keptSet);
    if (!final.ok) {
      throw new ForgeError(ForgeErrorCode.PASS_FAILED, `fp16-auto: the chosen mixed-precision model no longer meets the tolerance (${final.worst.toExponential(2)}); the runner may be non-deterministic`);
    }
  }

  const keptSet = new Set(kept);
  const why = (node: string, action: string, reason: string) => {
    if (!keptSet.has(node) || action !== 'kept') return reason;
    const s = sensitivity.get(node);
    return `kept float32 by fp16-auto: converting it took outputs beyond ${o.metric} ${o.tolerance} (it adds ${s === undefined ? 'an unmeasured' : s.toExponential(2)} error)`;
  };
  const sink: Partial<Fp16Sink> = {
    decide: (graph, node, action, reason) => ctx?.decide?.(graph, node, action, why(node.name, action, reason)),
    count: ctx?.count?.bind(ctx),
    set: ctx?.set?.bind(ctx),
    warn: ctx?.warn?.bind(ctx),
    progress: ctx?.progress?.bind(ctx),
  };
  const report = convertToFp16(model, { target: o.target, keepIoTypes: o.keepIoTypes, blockNodes: kept }, sink);
  for (const d of report.decisions) d.reason = why(d.node, d.action, d.reason);
  ctx?.set?.('tolerance', o.tolerance);
  ctx?.set?.('metric', o.metric);
  ctx?.set?.('worstError', final.worst);
  ctx?.set?.('fullConversionError', full.worst);
  ctx?.set?.('evaluations', evaluations);
  ctx?.set?.('samples', samples.length);
  ctx?.set?.('keptBySearch', kept.length);
  return {
    keptFloat32: kept.map((node) => ({ node, sensitivity: sensitivity.get(node) ?? NaN })),
    worstError: final.worst, fullConversionError: full.worst, evaluations, samples: samples.length, report,
  };
}

async function runAll(runner: ModelRunner, model: Model, samples: RunnerFeeds[], what: string, outputs?: readonly string[]): Promise<RunnerFeeds[]> {
  let loaded: LoadedModel;
  try {
    loaded = await runner.load(model.encode());
  } catch (e) {
    throw new ForgeError(ForgeErrorCode.RUNTIME, `fp16-auto: the runner cannot load ${what}: ${(e as Error).message}`, { cause: e });
  }
  try {
    const out: RunnerFeeds[] = [];
    for (const s of samples) {
      try {
        out.push(await loaded.run(s, outputs));
      } catch (e) {
        throw new ForgeError(ForgeErrorCode.BAD_SAMPLES, `fp16-auto: running ${what} on a sample failed: ${(e as Error).message}`, { cause: e });
      }
    }
    return out;
  } finally {
    await loaded.release();
  }
}

/**
 * Error each candidate node adds in the all-float16 model: every float main-graph value becomes an
 * extra output of both models, and a node's sensitivity is the error of its outputs minus the
 * largest error among its inputs (averaged over samples under rel-l2, whatever the search metric).
 */
async function measureSensitivity(runner: ModelRunner, original: Model, samples: RunnerFeeds[], o: Fp16AutoOptions, candidates: string[]): Promise<Map<string, number>> {
  const exposed = (m: Model): string[] => {
    const names: string[] = [];
    const g = m.graph;
    const outputs = new Set(g.outputNames());
    for (const node of g.nodes) {
      for (const out of node.output) {
        if (!out || outputs.has(out)) continue;
        names.push(out);
      }
    }
    return names;
  };
  const ref = original.clone();
  const values = exposed(ref);
  // The float32 model tells each value's type; values that are not float tensors are not measured.
  const types = inferElemTypes(ref);
  const floats = values.filter((v) => tensorElemType(types.type(ref.graph, v)) === DataType.FLOAT).slice(0, 4000);
  const addOutputs = (m: Model, type: (name: string) => number) => {
    for (const v of floats) m.graph.outputs.push(new onnx.ValueInfoProto({ name: v, type: tensorType(type(v)) }));
    m.graph.invalidate();
  };
  addOutputs(ref, () => DataType.FLOAT);
  const half = original.clone();
  convertToFp16(half, { target: o.target, keepIoTypes: o.keepIoTypes });
  const halfTypes = inferElemTypes(half);
  addOutputs(half, (v) => tensorElemType(halfTypes.type(half.graph, v)) ?? DataType.FLOAT);
  const a = await runAll(runner, ref, samples, 'the float32 model with intermediate outputs');
  const b = await runAll(runner, half, samples.map((s) => feedsFor(half, s)), 'the float16 model with intermediate outputs');
  const err = new Map<string, number>();
  for (const v of floats) {
    let sum = 0;
    for (let s = 0; s < samples.length; s++) {
      const x = a[s]?.[v];
      const y = b[s]?.[v];
      sum += x && y ? difference('rel-l2', runnerValues(x as RunnerTensor) as number[], runnerValues(y as RunnerTensor) as number[]) : 0;
    }
    err.set(v, sum / samples.length);
  }
  const sens = new Map<string, number>();
  const main = original.graph;
  const byName = new Map<string, NodeProto>();
  for (const node of main.nodes) byName.set(node.name, node);
  for (const node of main.nodes) {
    const outErr = Math.max(0, ...node.output.map((v) => err.get(v) ?? 0));
    const inErr = Math.max(0, ...node.input.map((v) => err.get(v) ?? 0));
    sens.set(node.name, Math.max(0, outErr - inErr));
    for (const sub of main.subgraphs(node)) for (const inner of sub.walk()) for (const n of inner.nodes) sens.set(n.name, outErr);
  }
  for (const c of candidates) if (!sens.has(c)) sens.set(c, 0);
  return sens;
}

export const fp16AutoPass = definePass<Fp16AutoOptions>({
  name: 'fp16-auto',
  description: 'mixed precision by search: the most nodes in float16 with outputs within tolerance of float32 on every sample',
  options: FP16_AUTO_OPTION_SPECS,
  async run(model, options, ctx) {
    const runner = ctx.service<ModelRunner>(RUNNER_SERVICE);
    if (!runner) {
      throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, 'fp16-auto needs a runner to try candidates: new PassManager({ services: { runner: new OrtRunner() } }) (OrtRunner from @onnx-forge/runtime)');
    }
    const samples = await collectSamples(ctx.service(SAMPLES));
    if (!samples.length) {
      throw new ForgeError(ForgeErrorCode.BAD_SAMPLES, 'fp16-auto needs sample inputs to judge candidates: pass services: { samples: [feeds, ...] } (an array or iterable of input feeds)');
    }
    await autoMixedPrecision(model, runner, samples, options, ctx);
  },
});
