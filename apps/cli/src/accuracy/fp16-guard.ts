import { DataType, ForgeError, ForgeErrorCode, RUNNER, SAMPLES, errorMessage, firstFloat16Compute, isForgeError, nullThrows, type Model, type PipelineReport, type RunnerFeeds } from '@onnx-forge/core';
import { firstOverflow, fp16AutoOutcome, headroomFailures, headroomFeeds, fp16AutoPass, type Fp16Headroom, type Fp16Options } from '@onnx-forge/graph-ops';
import type { Progress } from '../framework/progress.js';
import { runPasses } from '../pipeline/run-passes.js';
import { SEEDS, seededLike, type SampleSpec } from '../samples/cli-samples.js';
import { checkAccuracy, prepareBench, type AccuracyCheck, type CheckBench } from './accuracy-check.js';
import { measureAccuracy } from './measure-accuracy.js';

/** What the float16 accuracy check found, and did. */
export interface Fp16Check {
  /** The plain conversion against float32 (or why it could not be checked). */
  plain: AccuracyCheck;
  /**
   * When the check ran on seeded inputs at the default spread: the first of HEADROOM_SCALES at which the
   * written model overflows (absent when it holds at every one, or when the probe could not run).
   */
  headroom?: Fp16Headroom & {
    /** The model has float16 inputs or outputs, which values that large cannot pass: --keep-io-types first. */
    ioHint: boolean;
  };
  /** When the plain conversion failed: the fp16-auto conversion that replaced it. */
  redone?: {
    /** The fp16-auto result, written instead of the plain conversion. */
    model: Model;
    report: PipelineReport;
    /** Nodes fp16-auto kept float32, most sensitive first (sensitivity Infinity: the node's output overflows). */
    keptFloat32: { node: string; sensitivity: number }[];
    /** The result against float32. */
    check: AccuracyCheck;
  };
}

export interface Fp16CheckJob {
  /** The float32 model as read. */
  original: Model;
  /** The plain fp16 conversion (left as is; a redo converts a copy of the original). */
  converted: Model;
  /** The options the fp16 pass ran with (fp16-auto takes every one of them). */
  options: Readonly<Fp16Options>;
  tolerance: number;
  samples: SampleSpec;
  progress: Progress;
  command: string;
  file: string;
  /** Run the checker in the redo (as in the plain run). */
  check: boolean;
}

/**
 * The accuracy check of `fp16` (issue 8): the conversion runs against float32 on seeded inputs (or
 * --inputs samples) in onnxruntime-node. When an output turns NaN/Inf where float32 had none, or falls
 * below the cosine tolerance, the conversion is redone with graph-ops' fp16-auto pass, which keeps the
 * nodes responsible float32. When the check cannot run (onnxruntime-node missing, seeded inputs that
 * do not fit, a model onnxruntime refuses), it says why and the plain conversion stands.
 */
export async function checkFp16(job: Fp16CheckJob): Promise<Fp16Check> {
  const bench = await prepareBench(job.original, job.samples, job);
  if ('skipped' in bench) return { plain: { tolerance: job.tolerance, skipped: bench.skipped } };
  const plain = await checkAccuracy(bench, job.original, job.converted, job.tolerance, job.progress, 'float16');
  if (plain.skipped) plain.skipped += noCpuKernelHint(plain.skipped, job.options.target);
  const failed = plain.failed ?? [];
  if (!failed.length) return withHeadroom({ plain }, await probeHeadroom(bench, job, job.converted, plain), job.converted);

  const what = failed.map((f) => `${f.output}: ${f.problem}`).join('; ');
  const real = bench.samples.seeded ? '--inputs DIR with real samples (seeded ones may not resemble them), ' : '';
  if (!firstFloat16Compute(job.converted, { foldsConstants: true })) {
    // No node computes in float16 (a target such as cpu only stores weights as float16): fp16-auto, which
    // keeps nodes float32, has nothing to keep, and the loss is the stored weights' alone.
    throw new ForgeError(
      ForgeErrorCode.PASS_FAILED,
      `the float16 conversion fails the accuracy check (${what}); no node computes in float16 here, only weights are stored as float16, so fp16-auto has nothing to keep float32: ` +
        `--weight-storage fp32 keeps the weights float32 too (the file then keeps its size); or try ${real}a lower --tolerance, or --no-verify to write the plain conversion`,
      { details: { failed } },
    );
  }
  job.progress.note(`float16 fails the accuracy check (${what}): redoing it with fp16-auto`);
  const redo = job.original.clone();
  // fp16-auto's tolerance is a difference: 1 - cosine (rounded, so reports say 0.01, not 0.010000000000000009).
  const pass = fp16AutoPass({ ...job.options, metric: 'cosine', tolerance: Number((1 - job.tolerance).toPrecision(12)) });
  let report: PipelineReport;
  try {
    // Seeded checks search on other seeds, so the check after the redo is on inputs the search never
    // saw, but for the samples the plain conversion failed on: a failure on one input alone (a value
    // that overflows float16 on that input only) would otherwise be invisible to the search, which then
    // keeps nothing float32 and writes the same model.
    const search = bench.samples.seeded ? [...failingSamples(plain, bench.samples.feeds), ...seededLike(job.original, bench.samples, 'search').feeds] : bench.samples.feeds;
    report = await runPasses(redo, [pass], { services: { [RUNNER.name]: bench.runner, [SAMPLES.name]: search }, progress: job.progress, check: job.check });
  } catch (e) {
    if (!isForgeError(e, ForgeErrorCode.PASS_FAILED)) throw e;
    throw new ForgeError(
      ForgeErrorCode.PASS_FAILED,
      `the float16 conversion fails the accuracy check (${what}), and fp16-auto found no nodes to keep float32 that pass it (${errorMessage(e)}); ` +
        `try ${real}${ioHint(job.converted)}--weight-storage fp32, a lower --tolerance, or --no-verify to write the plain conversion`,
      { cause: e, details: { failed } },
    );
  }
  const outcome = fp16AutoOutcome(nullThrows(report.passes.at(-1), 'the fp16-auto run reports its pass'));
  const check = await checkAccuracy(bench, job.original, redo, job.tolerance, job.progress, 'the fp16-auto result');
  return withHeadroom({ plain, redone: { model: redo, report, keptFloat32: outcome.keptFloat32, check } }, await probeHeadroom(bench, job, redo, check), redo);
}

/**
 * When the check could not run because onnxruntime's CPU provider has no kernel for a node the
 * conversion made float16 (target any, webgpu or cuda convert by the op schema or those providers'
 * kernels: EyeLike, MeanVarianceNormalization...), what that means for the file written.
 */
function noCpuKernelHint(skipped: string, target: string): string {
  const op = /Could not find an implementation for (\w+)\(\d+\)/.exec(skipped)?.[1];
  if (!op || target === 'cpu') return '';
  return `. The file is written for --target ${target}: onnxruntime's CPU provider has no float16 ${op} kernel, so it cannot load it; if it is to run on CPU, convert with --target cpu, which keeps such nodes float32`;
}

/** The samples (of `feeds`, the check's) on which a failed output of `check` was judged worst. */
function failingSamples(check: AccuracyCheck, feeds: readonly RunnerFeeds[]): RunnerFeeds[] {
  const failed = new Set((check.failed ?? []).map((f) => f.output));
  const worst = new Set((check.outputs ?? []).filter((o) => failed.has(o.output)).map((o) => o.worstSample));
  return [...worst].flatMap((i) => (feeds[i] ? [feeds[i]] : []));
}

/**
 * With float16 model inputs and outputs no node fp16-auto keeps float32 helps what they lose (values
 * past 65504 are infinite there, others keep 11 bits), so --keep-io-types comes first in the advice;
 * a conversion whose inputs and outputs stayed float32 (cpu and wasm keep them where no float16
 * compute is next to them) needs no such advice.
 */
function ioHint(converted: Model): string {
  const g = converted.graph;
  const half = [...g.inputs, ...g.outputs].some((v) => v.type?.tensorType?.elemType === DataType.FLOAT16);
  return half ? '--keep-io-types (float16 inputs and outputs cannot hold values past 65504 or keep float32 precision), ' : '';
}

function withHeadroom(check: Fp16Check, headroom: Fp16Headroom | undefined, converted: Model): Fp16Check {
  return headroom ? { ...check, headroom: { ...headroom, ioHint: ioHint(converted) !== '' } } : check;
}

/**
 * After a check on seeded inputs near ±1 (no --inputs, no --input-scale), runs the written model and
 * float32 on one seeded input at each of HEADROOM_SCALES, and returns the first at which some output
 * turns NaN/Inf where float32's stays finite, or falls below the cosine tolerance. Models without float
 * inputs, and checks that did not run, are not probed; a probe onnxruntime cannot run says nothing.
 */
async function probeHeadroom(bench: CheckBench, job: Fp16CheckJob, written: Model, check: AccuracyCheck): Promise<Fp16Headroom | undefined> {
  if (!check.outputs || !bench.samples.seeded || bench.samples.scale !== undefined) return undefined;
  job.progress.start('probing float16 headroom at larger inputs', { transient: true });
  try {
    const feeds = headroomFeeds(job.original, nullThrows(SEEDS[0], 'a check seed'), bench.samples.dims ?? {});
    if (!feeds) return undefined;
    return await firstOverflow(async (upTo) => headroomFailures(await measureAccuracy(bench.runner, job.original, written, feeds.slice(0, upTo)), job.tolerance));
  } catch {
    return undefined;
  } finally {
    job.progress.end();
  }
}
