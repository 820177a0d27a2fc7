import { DataType, ForgeError, ForgeErrorCode, inferElemTypes, loadForRun, onnx, tensorElemType, tensorType, type Model, type NodeProto } from '@onnx-forge/core';
import type { LoadedModel, ModelRunner, OptionSpec, PassContext, RunnerFeeds, RunnerTensor } from '@onnx-forge/core';
import { runnerValues } from '../fp16/runner-values.js';
import { largestFinite, outputDifference, sampleDifference, type DifferenceMetric } from './output-difference.js';
import { singleValueDistance } from './single-value.js';

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
 * Every candidate is judged on all search samples, not one.
 *
 * A choice that passes on the samples it was searched on can still fail on others (a segmentation
 * map's worst pixel moves with the input). With three samples or more, every third is held out: the
 * search runs on the rest, and the choice must also pass on the held-out ones. When it does not, the
 * search runs again with a tolerance tightened by the held-out shortfall (twice at most), and last on
 * every sample, while `maxEvaluations` leaves room; `validation` reports the held-out result either
 * way. Inputs neither set holds can still land in a tail the samples missed, so the search aims below
 * the tolerance by `headroom`.
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
  /**
   * Share of the tolerance kept in reserve for inputs the search does not see (0 to 0.9): the search
   * aims at `tolerance × (1 − headroom)`, the held-out samples are held to `tolerance` itself.
   */
  headroom?: number;
  /**
   * Most candidate models built and run in all: the search's, the held-out checks and the searches
   * run again (at least 2: the full conversion, then every candidate kept).
   */
  maxEvaluations: number;
  progress?(done: number, total: number, label?: string): void;
  /** Stops the search before its next candidate (FORGE_CANCELLED) once aborted: Ctrl-C in the CLI. */
  signal?: AbortSignal | undefined;
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
  /** How many nodes the full conversion changes (what the search could keep), when searchNodesToKeep ran it. */
  candidates?: number;
  /**
   * The final choice on samples the search did not see (absent with fewer than three samples).
   * `independent` is false when the last search had to use them too.
   */
  validation?: { samples: number; worst: number; perOutput: Record<string, number>; ok: boolean; independent: boolean; searchTolerance: number };
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

/** The `headroom` option of the passes that search (fp16-auto, int8-auto). */
export const HEADROOM_OPTION: OptionSpec<number> = {
  type: 'number',
  default: 0.5,
  description: 'share of the tolerance the search keeps in reserve for inputs it did not see (0 to 0.9): it aims at the tolerance tightened by this share; samples it holds out must meet the tolerance itself',
  validate: (v) => (v >= 0 && v <= 0.9 ? undefined : 'must be between 0 and 0.9'),
};

/** Warns when the search's choice fails on the samples it held out (the tolerance holds only where it searched). */
export function heldOutWarning(ctx: PassContext, pass: string, v: PrecisionSearchResult['validation'], tolerance: string, show: (difference: number) => string): void {
  if (!v || v.ok) return;
  const worst = Object.entries(v.perOutput).map(([k, d]) => `${k} ${show(d)}`).join(', ');
  ctx.warn(`${pass}: on the ${v.samples} sample${v.samples === 1 ? '' : 's'} held out from the search the result misses ${tolerance} (${worst}) even after tightening the search${v.independent ? '' : ' and searching on every sample'}; give more samples that cover the inputs the model will see, or a stricter tolerance`);
}

/** Gives every unnamed node a unique name, so candidates can name the nodes they keep float32. */
export function nameNodes(model: Model, suffix: string): void {
  for (const { node } of model.allNodes()) if (!node.name) node.name = model.uniqueName(`${node.opType}_${suffix}`);
}

/** Loads `model` and runs every sample (optionally fetching only `outputs`; `onSample` after each). */
export async function runSamples(
  pass: string, runner: ModelRunner, model: Model, samples: readonly RunnerFeeds[], what: string, outputs?: readonly string[], onSample?: (done: number) => void,
): Promise<RunnerFeeds[]> {
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
        onSample?.(out.length);
      } catch (e) {
        throw new ForgeError(ForgeErrorCode.BAD_SAMPLES, `${pass}: running ${what} on a sample failed: ${(e as Error).message}`, { cause: e });
      }
    }
    return out;
  } finally {
    await loaded.release();
  }
}

/**
 * Worst difference per output between reference and candidate outputs over all samples. An output of
 * one value per sample (a wake-word score, a voice-activity probability) is compared over the samples
 * at once, as one vector: per sample, cosine is 1 whatever the error and rel-l2 turns a score near
 * zero into a huge relative error, so neither says anything about one value (single-value.ts).
 */
export function compareOutputs(metric: DifferenceMetric, outputNames: readonly string[], reference: readonly RunnerFeeds[], got: readonly RunnerFeeds[]): Record<string, number> {
  const per: Record<string, number> = {};
  for (const name of outputNames) {
    // An output the reference never returns (a sequence or map: onnxruntime's JavaScript builds fetch tensors only) has nothing to compare.
    if (reference.length && reference.every((r) => !r[name])) continue;
    const pairs = reference.map((r, s) => {
      const g = got[s]?.[name];
      return r[name] && g ? [runnerValues(r[name]) as ArrayLike<number>, runnerValues(g) as ArrayLike<number>] as const : undefined;
    });
    if (pairs.some((p) => !p)) {
      per[name] = Infinity;
      continue;
    }
    const both = pairs as (readonly [ArrayLike<number>, ArrayLike<number>])[];
    if (both.every(([r, g]) => r.length === 1 && g.length === 1)) {
      const ref = both.map(([r]) => r[0] as number);
      const cand = both.map(([, g]) => g[0] as number);
      // One sample's cosine of one value says nothing: only the scale-relative error below judges it.
      const over = both.length === 1 && metric === 'cosine' ? 0 : outputDifference(metric, ref, cand);
      // Cosine over the samples still misses an error common to them all (every score too high by the
      // same share), which the final check catches (singleValueProblem): judge the scale-relative error
      // as that check does, as the cosine distance it stands for, so the search and the check agree.
      per[name] = metric === 'cosine' ? Math.max(over, singleValueDistance(scaleError(ref, cand))) : over;
      continue;
    }
    // A sample whose reference is negligible next to the output's scale is judged by its error at that scale (sampleDifference).
    const scale = Math.max(0, ...both.map(([r]) => largestFinite(r)));
    per[name] = Math.max(0, ...both.map(([r, g]) => sampleDifference(metric, r, g, scale)));
  }
  return per;
}

/** max |got - ref| / max |ref| over finite reference values; infinite for NaN/Inf where the reference is finite. */
function scaleError(ref: readonly number[], got: readonly number[]): number {
  const maxAbs = outputDifference('max-abs', ref, got);
  if (maxAbs === 0) return 0;
  const scale = Math.max(0, ...ref.filter(Number.isFinite).map(Math.abs));
  return scale > 0 ? maxAbs / scale : Infinity;
}

/** Every third sample, held out from the search to validate its choice (none below three samples). */
function splitSamples(samples: readonly RunnerFeeds[]): { search: RunnerFeeds[]; holdout: RunnerFeeds[] } {
  if (samples.length < 3) return { search: [...samples], holdout: [] };
  return { search: samples.filter((_, i) => i % 3 !== 2), holdout: samples.filter((_, i) => i % 3 === 2) };
}

/**
 * The search of a pass that converts nodes (fp16-auto, int8-auto) on `model`: names its nodes, takes
 * the nodes a full conversion changes as the candidates, and builds each candidate by converting a
 * copy of the original with the kept nodes left alone. `convert` converts a model in place, leaving
 * `kept` float32, and returns the names of the nodes it changed.
 */
export async function searchNodesToKeep(
  model: Model,
  ctx: PassContext,
  spec: Omit<PrecisionSearchSpec, 'original' | 'candidates' | 'build' | 'progress'> & { convert(m: Model, kept: Iterable<string>): Promise<string[]> },
): Promise<PrecisionSearchResult> {
  nameNodes(model, spec.pass.replace(/-/g, ''));
  const original = model.clone();
  const { convert, ...rest } = spec;
  const candidates = await convert(original.clone(), []);
  const result = await searchMixedPrecision({
    ...rest,
    original,
    candidates,
    build: async (kept) => {
      const c = original.clone();
      await convert(c, kept);
      return c;
    },
    progress: (d, t, l) => ctx.progress(d, t, l),
    signal: ctx.signal,
  });
  return { ...result, candidates: candidates.length };
}

export async function searchMixedPrecision(spec: PrecisionSearchSpec): Promise<PrecisionSearchResult> {
  if (!spec.samples.length) throw new ForgeError(ForgeErrorCode.BAD_SAMPLES, `${spec.pass} needs at least one sample input`);
  const aim = spec.tolerance * (1 - Math.min(0.9, Math.max(0, spec.headroom ?? 0)));
  const { search: searchSamples, holdout } = splitSamples(spec.samples);
  // A held-out check costs one evaluation beyond a search's two at the least.
  if (!holdout.length || spec.maxEvaluations < 3) return searchOnce({ ...spec, tolerance: aim, allowed: spec.tolerance });
  const feedsFor = spec.feedsFor ?? ((_m: Model, f: RunnerFeeds) => f);
  const reference = await runSamples(spec.pass, spec.runner, spec.original, holdout, 'the float32 model');
  let tolerance = aim;
  let evaluations = 0;
  let previous: PrecisionSearchResult | undefined;
  for (let attempt = 0; ; attempt++) {
    const last = attempt === 3;
    // What the evaluations so far leave, less one for this round's held-out check.
    const budget = spec.maxEvaluations - evaluations - 1;
    if (previous && budget < 2) return previous;
    let result: PrecisionSearchResult;
    try {
      result = await searchOnce({ ...spec, samples: last ? spec.samples : searchSamples, tolerance, allowed: spec.tolerance, maxEvaluations: budget, spent: evaluations, total: spec.maxEvaluations });
    } catch (e) {
      // A tightened tolerance no choice can meet: keep the last choice, whose held-out result says it all.
      if (previous && e instanceof ForgeError && e.code === ForgeErrorCode.PASS_FAILED) return { ...previous, evaluations };
      throw e;
    }
    evaluations += result.evaluations + 1;
    const candidate = await spec.build(new Set(result.kept.map((k) => k.node)));
    const outs = await runSamples(spec.pass, spec.runner, candidate, holdout.map((h) => feedsFor(candidate, h)), 'the chosen model');
    const perOutput = compareOutputs(spec.metric, spec.original.graph.outputNames(), reference, outs);
    const worst = Math.max(0, ...Object.values(perOutput));
    previous = { ...result, evaluations, validation: { samples: holdout.length, worst, perOutput, ok: worst <= spec.tolerance, independent: !last, searchTolerance: tolerance } };
    if (worst <= spec.tolerance || last) return previous;
    // Aim below the held-out error by the factor it overshot, and at least halve the tolerance.
    tolerance *= Math.min(0.5, Number.isFinite(worst) && worst > 0 ? aim / worst : 0.5);
  }
}

/** What a difference under `metric` is, for messages. */
function metricWords(metric: DifferenceMetric): string {
  return metric === 'cosine' ? '1 - cosine' : metric;
}

/**
 * One search on `spec.samples` within `spec.tolerance` (`allowed`: the tolerance before headroom, for
 * messages), building at most `spec.maxEvaluations` candidates; progress counts on from `spent`, of
 * the whole search's budget (`total`).
 */
async function searchOnce(spec: PrecisionSearchSpec & { allowed?: number; spent?: number; total?: number }): Promise<PrecisionSearchResult> {
  const { original, runner, samples, metric, tolerance } = spec;
  const reference = await runSamples(spec.pass, runner, original, samples, 'the float32 model');
  const outputNames = original.graph.outputNames();
  const feedsFor = spec.feedsFor ?? ((_m: Model, f: RunnerFeeds) => f);

  const spent = spec.spent ?? 0;
  let evaluations = 0;
  // The set last evaluated, so the final check is not run again on the same set.
  let lastKept: ReadonlySet<string> | undefined;
  const evaluate = async (kept: ReadonlySet<string>): Promise<Evaluation> => {
    if (spec.signal?.aborted) throw new ForgeError(ForgeErrorCode.CANCELLED, `${spec.pass}: search cancelled after ${evaluations} candidate${evaluations === 1 ? '' : 's'}`);
    evaluations++;
    lastKept = new Set(kept);
    spec.progress?.(spent + evaluations, spec.total ?? spec.maxEvaluations, `${spec.pass} search`);
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
      const aimed = spec.allowed !== undefined && spec.allowed !== tolerance ? `, the search's aim (headroom below the allowed ${spec.allowed})` : '';
      const by = Number.isFinite(all.worst) ? `differ from float32 by ${all.worst.toExponential(2)} (${metricWords(metric)}), above ${tolerance}${aimed}` : 'turn NaN/Inf where float32 stays finite';
      throw new ForgeError(ForgeErrorCode.PASS_FAILED, `${spec.pass}: even with every candidate node float32 the outputs ${by}; the model's inputs or outputs alone lose that much, or the tolerance is too tight`, {
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
      // One evaluation stays for the final check.
      if (!segment.length || evaluations >= spec.maxEvaluations - 1) return;
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
    const same = lastKept?.size === keptSet.size && [...keptSet].every((n) => lastKept?.has(n));
    if (!same) final = await evaluate(keptSet);
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
