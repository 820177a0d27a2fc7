import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ForgeErrorCode, type Model, type RunnerFeeds } from '@onnx-forge/core';
import { throwIfAborted } from '../measure/measure-runs.js';
import { writeReports } from '../report/write-reports.js';
import { staleStagingWarnings } from '../repository/stale-staging.js';
import { VersionStager } from '../repository/version-stager.js';
import { accuracyAgainstFp32 } from './accuracy-against-fp32.js';
import { batchSweep } from './batch-sweep.js';
import { chooseBest } from './choose-best.js';
import { commitVersion } from './commit-version.js';
import { earlierReports } from './earlier-reports.js';
import { evaluationInputs } from './evaluation-inputs.js';
import { givenPrecision } from './given-precision.js';
import { graphTensors } from './graph-tensors.js';
import { isolatedMemory } from './isolated-memory.js';
import { loadCalibration } from './load-calibration.js';
import { makeFolder } from './make-folder.js';
import type { VariantContext } from './make-variant.js';
import { makeVariants } from './make-variants.js';
import { checkOptions, invalidOption, type OptimizeOptions } from './optimize-options.js';
import type { OptimizeResult } from './optimize-result.js';
import { startRun, type LiveVariant } from './optimize-run.js';
import { previousVersion } from './previous-version.js';
import { readSource } from './read-source.js';
import { timeVariants } from './time-variants.js';

export type { OptimizeOptions, OptimizeProgress } from './optimize-options.js';

/**
 * From one FP32 model, makes the FP16, INT8-dynamic and (with calibration data) INT8-static variants,
 * checks each (core's checker, then a load and a first run in onnxruntime on the chosen provider),
 * measures accuracy against FP32 on the same inputs, times all of them side by side (interleaved),
 * optionally at several batch sizes and in isolated processes for memory, picks the best under the
 * preference and the accuracy tolerance, and writes a new version of the model into the repository
 * (`<out>/repository/<model>/<n>/`, every usable variant and manifest.json) and the reports.
 *
 * Bad input does not stop the work: a model that cannot be read, a variant that fails its check or
 * does not load, inputs or calibration data that do not fit the model are each recorded with stage
 * and error code (in `errors`, on the variant, in the manifest and the reports), and the other
 * variants still complete. `best` is null when nothing could be chosen. Options that make no sense
 * throw FORGE_INVALID_OPTIONS before anything is done.
 */
export async function optimizeModel(source: string | Model, options: OptimizeOptions): Promise<OptimizeResult> {
  checkOptions(options);
  const run = await startRun(source, options);
  const { result, out, clock, t0 } = run;
  // The folder this call made, if any: made once the model is read (a model that cannot be read
  // leaves `out` as it was, and earlier reports there in place), and removed again when the call turns
  // out to be a mistake (a dimension the model does not have) or is cancelled, so neither leaves
  // anything behind.
  let madeOut: string | undefined;
  const unmakeOut = async () => {
    if (madeOut) await rm(madeOut, { recursive: true, force: true });
  };

  const finish = async (reports = true): Promise<OptimizeResult> => {
    result.durationMs = clock.now() - t0;
    if (options.reports !== false && reports) {
      const earlier = await earlierReports(out);
      if (earlier) result.warnings.push(earlier);
      run.progress({ phase: 'write', done: 0, total: 1, message: 'writing the reports' });
      result.reports = await writeReports(result, out);
      result.durationMs = clock.now() - t0;
    }
    return result;
  };

  // 1. The FP32 model.
  const fp32 = await readSource(run, source);
  if (!fp32) return finish(false);
  // A model float16 or INT8 already is named fp32 (the reference) all the same: say so.
  const given = givenPrecision(fp32);
  if (given) {
    result.warnings.push(`the model given is ${given.detail}: the variant named fp32 is that model as given, and the others are made from it and compared with it, not with a float32 original; ` +
      'optimize the float32 model it came from to measure what float16 and INT8 cost');
  }
  madeOut = await makeFolder(out);
  result.graph = graphTensors(fp32);
  const repository = join(out, 'repository');
  const previous = await previousVersion(repository, run.name, result);
  if (previous.refuse && !options.force) {
    await unmakeOut();
    throw invalidOption(previous.refuse, 'name');
  }
  if (previous.warning) result.warnings.push(previous.warning);

  // 2. Evaluation inputs (a folder that does not fit is reported, and seeded inputs take its place).
  const inputs = await evaluationInputs(run, fp32).catch(async (e: unknown) => {
    // Dimension names the model does not have are a mistake in the call, not in the data.
    if ((e as { code?: string }).code === ForgeErrorCode.INVALID_OPTIONS) await unmakeOut();
    throw e;
  });
  if (!inputs) {
    // A cancel that came meanwhile leaves nothing behind here too: no reports, and no folder this call made.
    if (options.signal?.aborted) await unmakeOut();
    throwIfAborted(options.signal, 'optimize');
    return finish();
  }
  const timingFeeds = inputs.feeds[0] as RunnerFeeds;

  // 3. Calibration data for int8-static.
  const calibration = await loadCalibration(run, fp32);

  // 4. Make, check, write and load every variant.
  const context: VariantContext = { target: run.target, isa: run.isa, calibration, runner: run.runner, ...(options.signal ? { signal: options.signal } : {}) };
  const stager = await VersionStager.begin(repository, run.name);
  // Versions staged by earlier runs that ended before finishing (a second Ctrl-C exits at once), removed now.
  result.warnings.push(...staleStagingWarnings(stager.stale));
  const live: LiveVariant[] = [];
  let committed = false;
  try {
    const fp32Bytes = await makeVariants(run, { fp32, stager, context, given, firstFeeds: timingFeeds, live });

    // 5. Accuracy against FP32 on the same inputs.
    throwIfAborted(options.signal, 'optimize');
    await accuracyAgainstFp32(run, fp32, live, inputs, fp32Bytes);

    // 6. Latency, every variant side by side.
    throwIfAborted(options.signal, 'optimize');
    await timeVariants(run, live, timingFeeds);

    // 7. Memory, each variant in a process of its own.
    if (options.isolate) await isolatedMemory(run, live, inputs);

    // 8. Batch sizes.
    if (options.batchSizes?.length) {
      const withLatency = live.filter((l) => l.v.latency);
      result.batch = await batchSweep(fp32, withLatency.map((l) => ({ name: l.v.name, run: (f: RunnerFeeds) => l.m.run(f) })), {
        sizes: options.batchSizes, dims: { ...options.dims }, feeds: timingFeeds, seed: run.seed, runs: Math.max(3, Math.ceil(run.runs / 2)), warmup: Math.min(run.warmup, 2), clock,
        ...(options.signal ? { signal: options.signal } : {}),
        onProgress: (done, total, batch) => run.progress({ phase: 'batch', done, total, message: `batch size ${batch}` }),
      });
      if (result.batch.error) result.errors.push(result.batch.error);
    }
    throwIfAborted(options.signal, 'optimize');

    // 9. The choice.
    chooseBest(run);
  } finally {
    // 10. The repository version, unless the work was cancelled: then the staged files are removed, and
    // what this call made goes too (the folders above the staged version are gone already), and the
    // cancellation reaches the caller.
    committed = await commitVersion(run, stager, live);
    if (!committed && options.signal?.aborted) await unmakeOut();
  }
  // Once the version is committed the work is done: a cancel that came during the commit is too late,
  // as one that comes while the reports are written is. Rejecting then would say that nothing was added
  // while the version stays (or remove it with a folder the call made).
  if (!committed) throwIfAborted(options.signal, 'optimize');
  return finish();
}
