import { DataType, ForgeError, ForgeErrorCode, inferElemTypes, loadForRun, onnx, tensorElemType, tensorType, type Model, type NodeProto } from '@onnx-forge/core';
import type { LoadedModel, ModelRunner, RunnerFeeds, RunnerTensor } from '@onnx-forge/core';
import { runnerValues } from '../fp16/runner-values.js';
import { outputDifference, type DifferenceMetric } from './output-difference.js';

/**
 * Mixed precision by search, shared by fp16-auto and int8-auto: the fewest nodes to leave float32 so
 * every output of every sample stays within a tolerance of the float32 model.
 *
 * 1. Convert every candidate; if that is within tolerance on all samples, done.
 * 2. Measure each main-graph node's sensitivity in one run: the error of its output in the fully
 *    converted model minus the largest error of its inputs (the error it adds). Subgraph nodes take
 *    the value of the node holding their graph.
 * 3. Binary search for the fewest most-sensitive nodes to keep float32 so the model passes.
 * 4. Bisect the kept set in topological segments, converting back every segment that still passes.
 * Every candidate is judged on all samples, not one.
 */

export interface PrecisionSearchSpec {
  /** Who searches, for messages (`fp16-auto`, `int8-auto`). */
  pass: string;
  runner: ModelRunner;
  samples: readonly RunnerFeeds[];
  /** The float32 model; never modified. Its nodes must carry unique names (see nameNodes). */
  original: Model;
  /** Names of the nodes the full conversion changes: the ones the search may keep float32. */
  candidates: readonly string[];
  /** A new model: the original converted with the nodes of `kept` left float32. */
  build(kept: ReadonlySet<string>): Promise<Model>;
  /** Feeds for a candidate (float32 inputs rounded to float16 where it takes float16). */
  feedsFor?(candidate: Model, feeds: RunnerFeeds): RunnerFeeds;
  metric: DifferenceMetric;
  tolerance: number;
  maxEvaluations: number;
  progress?(done: number, total: number, label?: string): void;
}

export interface PrecisionSearchResult {
  /** Whether the final choice is within tolerance (false only when no candidate is left to keep). */
  ok: boolean;
  /** Nodes kept float32, most sensitive first, with the error each adds when converted. */
  kept: { node: string; sensitivity: number }[];
  /** Worst difference of the final choice, and per output. */
  worst: number;
  perOutput: Record<string, number>;
  /** The same for the plain conversion (every candidate converted). */
  full: number;
  fullPerOutput: Record<string, number>;
  evaluations: number;
}

interface Evaluation {
  worst: number;
  perOutput: Record<string, number>;
  ok: boolean;
}

/** What a kept node's measured sensitivity says, for its decision (nothing when it was not measurable). */
export function addedError(s: number | undefined): string {
  if (s === Infinity) return ' (its output turns NaN or infinite)';
  if (s === undefined || !(s > 0)) return '';
  return ` (it adds ${s.toExponential(2)} error, rel-l2)`;
}

/** Gives every unnamed node a unique name, so candidates can name the nodes they keep float32. */
export function nameNodes(model: Model, suffix: string): void {
  for (const { node } of model.allNodes()) if (!node.name) node.name = model.uniqueName(`${node.opType}_${suffix}`);
}

/** Loads `model` and runs every sample (optionally fetching only `outputs`). */
export async function runSamples(pass: string, runner: ModelRunner, model: Model, samples: readonly RunnerFeeds[], what: string, outputs?: readonly string[]): Promise<RunnerFeeds[]> {
  let loaded: LoadedModel;
  try {
    // As bytes, or from a temporary file past 2 GiB or when the model is read lazily.
    loaded = await loadForRun(runner, model);
  } catch (e) {
    throw new ForgeError(ForgeErrorCode.RUNTIME, `${pass}: the runner cannot load ${what}: ${(e as Error).message}`, { cause: e });
  }
  try {
    const out: RunnerFeeds[] = [];
    for (const s of samples) {
      try {
        out.push(await loaded.run(s, outputs));
      } catch (e) {
        throw new ForgeError(ForgeErrorCode.BAD_SAMPLES, `${pass}: running ${what} on a sample failed: ${(e as Error).message}`, { cause: e });
      }
    }
    return out;
  } finally {
    await loaded.release();
  }
}

/** Worst difference per output between reference and candidate outputs over all samples. */
export function compareOutputs(metric: DifferenceMetric, outputNames: readonly string[], reference: readonly RunnerFeeds[], got: readonly RunnerFeeds[]): Record<string, number> {
  const per: Record<string, number> = {};
  for (const name of outputNames) {
    let worst = 0;
    for (let s = 0; s < reference.length; s++) {
      const r = reference[s]?.[name];
      const g = got[s]?.[name];
      const d = r && g ? outputDifference(metric, runnerValues(r) as number[], runnerValues(g) as number[]) : Infinity;
      worst = Math.max(worst, d);
    }
    per[name] = worst;
  }
  return per;
}

export async function searchMixedPrecision(spec: PrecisionSearchSpec): Promise<PrecisionSearchResult> {
  if (!spec.samples.length) throw new ForgeError(ForgeErrorCode.BAD_SAMPLES, `${spec.pass} needs at least one sample input`);
  const { original, runner, samples, metric, tolerance } = spec;
  const reference = await runSamples(spec.pass, runner, original, samples, 'the float32 model');
  const outputNames = original.graph.outputNames();
  const feedsFor = spec.feedsFor ?? ((_m: Model, f: RunnerFeeds) => f);

  let evaluations = 0;
  const evaluate = async (kept: ReadonlySet<string>): Promise<Evaluation> => {
    evaluations++;
    spec.progress?.(evaluations, spec.maxEvaluations, `${spec.pass} search`);
    const candidate = await spec.build(kept);
    const outs = await runSamples(spec.pass, runner, candidate, samples.map((s) => feedsFor(candidate, s)), 'a candidate model');
    const perOutput = compareOutputs(metric, outputNames, reference, outs);
    const worst = Math.max(0, ...Object.values(perOutput));
    return { worst, perOutput, ok: worst <= tolerance };
  };

  const full = await evaluate(new Set());
  let final = full;
  let kept: string[] = [];
  let sensitivity = new Map<string, number>();
  if (!full.ok && spec.candidates.length) {
    sensitivity = await measureSensitivity(spec, reference);
    const ordered = [...spec.candidates].sort((a, b) => (sensitivity.get(b) ?? 0) - (sensitivity.get(a) ?? 0));
    const all = await evaluate(new Set(ordered));
    if (!all.ok) {
      throw new ForgeError(ForgeErrorCode.PASS_FAILED, `${spec.pass}: even with every candidate node float32 the outputs differ from float32 by ${all.worst.toExponential(2)} (${metric}), above the tolerance ${tolerance}; the model's inputs or outputs alone lose that much, or the tolerance is too tight`, {
        details: { worst: all.worst, tolerance, metric },
      });
    }
    // Fewest most-sensitive nodes to keep: the smallest k such that keeping ordered[0..k) passes.
    let lo = 0;
    let hi = ordered.length;
    let best = all;
    while (hi - lo > 1 && evaluations < spec.maxEvaluations - 1) {
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
      if (!segment.length || evaluations >= spec.maxEvaluations) return;
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
      throw new ForgeError(ForgeErrorCode.PASS_FAILED, `${spec.pass}: the chosen mixed-precision model no longer meets the tolerance (${final.worst.toExponential(2)}); the runner may be non-deterministic`);
    }
  }
  return {
    ok: final.ok,
    kept: kept.map((node) => ({ node, sensitivity: sensitivity.get(node) ?? Number.NaN })),
    worst: final.worst,
    perOutput: final.perOutput,
    full: full.worst,
    fullPerOutput: full.perOutput,
    evaluations,
  };
}

/**
 * Error each candidate node adds in the fully converted model: every float main-graph value becomes
 * an extra output of both models, and a node's sensitivity is the error of its outputs minus the
 * largest error among its inputs (averaged over samples under rel-l2, whatever the search metric).
 */
async function measureSensitivity(spec: PrecisionSearchSpec, _reference: readonly RunnerFeeds[]): Promise<Map<string, number>> {
  const { original, samples } = spec;
  const ref = original.clone();
  const outputs = new Set(ref.graph.outputNames());
  const values: string[] = [];
  for (const node of ref.graph.nodes) for (const out of node.output) if (out && !outputs.has(out)) values.push(out);
  // The float32 model tells each value's type; values that are not float tensors are not measured.
  const types = inferElemTypes(ref);
  const converted = await spec.build(new Set());
  const convertedTypes = inferElemTypes(converted);
  const present = new Set<string>();
  for (const node of converted.graph.nodes) for (const out of node.output) present.add(out);
  const floats = values
    .filter((v) => tensorElemType(types.type(ref.graph, v)) === DataType.FLOAT && present.has(v))
    .slice(0, 4000);
  const addOutputs = (m: Model, type: (name: string) => number) => {
    for (const v of floats) m.graph.outputs.push(new onnx.ValueInfoProto({ name: v, type: tensorType(type(v)) }));
    m.graph.invalidate();
  };
  addOutputs(ref, () => DataType.FLOAT);
  addOutputs(converted, (v) => tensorElemType(convertedTypes.type(converted.graph, v)) ?? DataType.FLOAT);
  const feedsFor = spec.feedsFor ?? ((_m: Model, f: RunnerFeeds) => f);
  const a = await runSamples(spec.pass, spec.runner, ref, samples, 'the float32 model with intermediate outputs');
  const b = await runSamples(spec.pass, spec.runner, converted, samples.map((s) => feedsFor(converted, s)), 'the converted model with intermediate outputs');
  const err = new Map<string, number>();
  for (const v of floats) {
    let sum = 0;
    for (let s = 0; s < samples.length; s++) {
      const x = a[s]?.[v];
      const y = b[s]?.[v];
      sum += x && y ? outputDifference('rel-l2', runnerValues(x as RunnerTensor) as number[], runnerValues(y as RunnerTensor) as number[]) : 0;
    }
    err.set(v, sum / samples.length);
  }
  const sens = new Map<string, number>();
  const main = original.graph;
  for (const node of main.nodes) {
    const outErr = Math.max(0, ...node.output.map((v) => err.get(v) ?? 0));
    const inErr = Math.max(0, ...node.input.map((v) => err.get(v) ?? 0));
    // An infinite error (NaN/Inf appearing) minus a finite one stays infinite: the node that first
    // overflows ranks first.
    sens.set(node.name, Number.isFinite(outErr) && Number.isFinite(inErr) ? Math.max(0, outErr - inErr) : outErr === Infinity && inErr !== Infinity ? Infinity : 0);
    for (const sub of main.subgraphs(node)) for (const inner of sub.walk()) for (const n of inner.nodes as NodeProto[]) sens.set(n.name, outErr);
  }
  for (const c of spec.candidates) if (!sens.has(c)) sens.set(c, 0);
  return sens;
}
