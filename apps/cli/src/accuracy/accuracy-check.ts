import { errorMessage, type Model, type ModelRunner } from '@onnx-forge/core';
import { oneLine } from '../framework/format.js';
import type { Progress } from '../framework/progress.js';
import { UsageError } from '../framework/usage-error.js';
import { createRunner } from '../runner/create-runner.js';
import { fitSeededSamples, loadCliSamples, type CliSamples, type SampleSpec } from '../samples/cli-samples.js';
import { toleranceProblem } from '@onnx-forge/graph-ops';
import { measureAccuracy, type OutputAccuracy } from './measure-accuracy.js';

/** A result checked against float32: each output's agreement, and those below the tolerance. */
export interface AccuracyCheck {
  /** Smallest cosine similarity each output should keep. */
  tolerance: number;
  /** Where the samples came from ("8 seeded inputs"). */
  samples?: string;
  /** Why the check could not run. */
  skipped?: string;
  outputs?: OutputAccuracy[];
  /** Outputs that turned NaN/Inf or fell below the tolerance, with why. */
  failed?: { output: string; problem: string }[];
}

/** What checks run with: the runner and the samples, made once per command. */
export interface CheckBench {
  runner: ModelRunner;
  samples: CliSamples;
}

export interface BenchOptions {
  progress: Progress;
  command: string;
  file: string;
  /** Samples already read for a pass (calibration), used when `spec` names the same folder (seeded ones never are: checks take other seeds). */
  loaded?: { spec: SampleSpec; samples: CliSamples };
}

/**
 * The runner and samples to check `original` against, or why there are none (onnxruntime-node does not
 * load, seeded inputs cannot be made for the model). Samples the user named that do not fit, and a bad
 * --dims, are errors: the user can fix those.
 */
export async function prepareBench(original: Model, spec: SampleSpec, o: BenchOptions): Promise<CheckBench | { skipped: string }> {
  try {
    const runner = await createRunner();
    if (o.loaded && spec.dir !== undefined && o.loaded.spec.dir === spec.dir) {
      // The pass calibrated (and int8-auto searched) on these very samples: the figures are not on
      // unseen inputs, so the report says so.
      const { samples } = o.loaded;
      return { runner, samples: { ...samples, source: `${samples.source}, the samples the pass ran on (--inputs DIR checks on others)` } };
    }
    return { runner, samples: await loadCliSamples(original, spec, o) };
  } catch (e) {
    if (e instanceof UsageError || spec.dir !== undefined) throw e;
    return { skipped: `accuracy not checked: ${oneLine(errorMessage(e))}` };
  }
}

/**
 * Runs `candidate` against `original` on the bench's samples; a model onnxruntime cannot run is said,
 * not thrown. Seeded inputs get their free dims sized first (fitSeededSamples: a representative size,
 * or one the original runs at), once: the bench keeps them for later checks and searches.
 */
export async function checkAccuracy(bench: CheckBench, original: Model, candidate: Model, tolerance: number, progress: Progress, label: string): Promise<AccuracyCheck> {
  const check: AccuracyCheck = { tolerance, samples: bench.samples.source };
  const notChecked = (e: unknown): AccuracyCheck => ({ ...check, skipped: `accuracy not checked: onnxruntime could not run the models on ${check.samples}: ${oneLine(errorMessage(e))}` });
  progress.start(`checking ${label} against float32 on ${bench.samples.source}`, { transient: true });
  try {
    bench.samples = await fitSeededSamples(bench.runner, original, bench.samples);
    check.samples = bench.samples.source;
    check.outputs = await measureAccuracy(bench.runner, original, candidate, bench.samples.feeds, (done, total) => progress.update(done, total, `${done}/${total} runs`));
  } catch (e) {
    return notChecked(e);
  } finally {
    progress.end();
  }
  check.failed = check.outputs.flatMap((a) => {
    const problem = toleranceProblem(a, tolerance);
    return problem ? [{ output: a.output, problem }] : [];
  });
  return check;
}
