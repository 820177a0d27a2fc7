import { ForgeErrorCode, checkModel, type Model, type RunnerFeeds } from '@onnx-forge/core';
import { throwIfAborted } from '../measure/measure-runs.js';
import type { OpenedModel } from '../measure/open-model.js';
import { stageError, type StageError } from '../measure/stage-error.js';
import type { VersionStager } from '../repository/version-stager.js';
import type { GivenPrecision } from './given-precision.js';
import { DEFAULT_BUILDERS, type VariantContext } from './make-variant.js';
import type { LiveVariant, OptimizeRun } from './optimize-run.js';
import type { VariantResult } from './optimize-result.js';
import { dropVariantFile, writeVariantFile } from './variant-file.js';
import { VARIANT_NAMES } from './variant-name.js';

interface Making {
  fp32: Model;
  stager: VersionStager;
  context: VariantContext;
  /** What the model given is when it is not float32 (the reason a conversion changed nothing). */
  given: GivenPrecision | undefined;
  /** The feeds each variant is run on once after loading (those it is timed on). */
  firstFeeds: RunnerFeeds;
  /** Where each variant that loaded and ran once is added, as soon as it is (the caller closes them). */
  live: LiveVariant[];
}

/**
 * Makes, checks (core's checker), writes into the staged version, loads and runs once every requested
 * variant not failed or skipped already, with a progress event at each step. A variant that fails a
 * step is recorded with that stage and its file removed, and the others go on. Returns FP32's size as
 * written, what every variant's size is compared with (kept if FP32 itself then fails to load).
 */
export async function makeVariants(run: OptimizeRun, { fp32, stager, context, given, firstFeeds, live }: Making): Promise<number | undefined> {
  const { options, result, clock, progress } = run;
  const { backend, providers } = run;
  // The variant's file goes with the failure: a half-written or unusable file is not left in the version.
  const discard = async (v: VariantResult, path: string, error: StageError) => {
    await dropVariantFile(v, path);
    run.fail(v, error);
  };
  let fp32Bytes: number | undefined;
  // What makes two variants the same model (writeVariantFile's identity: with external data, the data too).
  const identities = new Map<VariantResult, string>();
  const todo = VARIANT_NAMES.filter((n) => run.requested.has(n) && !run.variant(n).error && run.variant(n).status !== 'skipped');
  for (const [i, n] of todo.entries()) {
    throwIfAborted(options.signal, 'optimize');
    const v = run.variant(n);
    v.status = 'ok';
    progress({ phase: 'convert', variant: n, done: i, total: todo.length, message: `making ${n}` });
    const builder = options.builders?.[n] ?? DEFAULT_BUILDERS[n];
    const model = n === 'fp32' && !options.builders?.fp32 ? fp32 : fp32.clone();
    const tc = clock.now();
    try {
      v.notes = (await builder(model, context)) ?? [];
    } catch (e) {
      // A builder stopped by the signal (int8-static's calibration): the run is cancelled, not the variant failed.
      if ((e as { code?: string }).code === ForgeErrorCode.CANCELLED && options.signal?.aborted) throw e;
      run.fail(v, stageError(n === 'int8-static' && (e as { code?: string }).code === 'FORGE_BAD_SAMPLES' ? 'calibration' : 'convert', e));
      continue;
    }
    v.convertMs = clock.now() - tc;
    progress({ phase: 'check', variant: n, done: i, total: todo.length, message: `checking ${n}` });
    const check = checkModel(model);
    const errors = check.problems.filter((p) => p.severity === 'error');
    if (errors.length) {
      run.fail(v, {
        stage: 'check', code: ForgeErrorCode.INVALID_GRAPH,
        message: `the checker found ${errors.length} error(s): ${errors.slice(0, 3).map((p) => `${p.code} ${p.message}`).join('; ')}${errors.length > 3 ? '; …' : ''}`,
      });
      continue;
    }
    const fileName = `${n}.onnx`;
    const path = stager.path(fileName);
    try {
      const { bytes, sha256, identity } = await writeVariantFile(model, path);
      Object.assign(v, { file: fileName, bytes, sha256 });
      identities.set(v, identity);
      if (n === 'fp32') fp32Bytes = bytes;
    } catch (e) {
      await discard(v, path, stageError('write', e));
      continue;
    }
    // A conversion that changed nothing (a model already in float16 or INT8) is the same file as a
    // variant before it: a second copy to serve and to time would only tie with the first.
    const same = result.variants.find((o) => o !== v && identities.get(o) === identities.get(v) && o.file !== undefined && o.status === 'ok');
    if (same) {
      await dropVariantFile(v, path);
      v.status = 'skipped';
      // On a model float16 or INT8 already, that is why; the pass's first note would only count nodes "kept float32".
      const why = given ? `the model given is ${given.detail}` : v.notes[0];
      v.reason = `the same model as ${same.name} (the conversion changed nothing${why ? `: ${why}` : ''})`;
      continue;
    }
    progress({ phase: 'load', variant: n, done: i, total: todo.length, message: `loading ${n} on ${backend}/${providers.join(',')}` });
    let m: OpenedModel;
    try {
      m = await run.open(path, n);
    } catch (e) {
      await discard(v, path, stageError('load', e));
      continue;
    }
    Object.assign(v, { backend: m.backend, provider: m.provider, createMs: m.createMs });
    v.memory = { scope: 'process', rssBeforeBytes: m.rssBeforeBytes, rssDeltaBytes: m.rssDeltaBytes, peakRssBytes: 0 };
    const tf = clock.now();
    try {
      await m.run(firstFeeds);
    } catch (e) {
      await m.close();
      await discard(v, path, stageError('first-run', e));
      continue;
    }
    v.firstRunMs = clock.now() - tf;
    live.push({ v, m, path });
  }
  for (const v of result.variants) if (v.bytes !== undefined && fp32Bytes) v.sizeRatio = v.bytes / fp32Bytes;
  return fp32Bytes;
}
