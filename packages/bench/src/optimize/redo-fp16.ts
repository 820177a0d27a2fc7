import { ForgeErrorCode, type Model } from '@onnx-forge/core';
import { autoMixedPrecision } from '@onnx-forge/graph-ops';
import type { Outputs } from '@onnx-forge/runtime';
import { measureAccuracy } from '../accuracy/measure-accuracy.js';
import { modelInputs, type ModelInputs } from '../measure/model-inputs.js';
import { stageError } from '../measure/stage-error.js';
import type { LiveVariant, OptimizeRun } from './optimize-run.js';
import { writeVariantFile } from './variant-file.js';

/** fp16-auto searches on seeds this far past the measurement's, so the accuracy reported is on inputs it never saw. */
const SEARCH_SEED_OFFSET = 100;

/**
 * FP16 computed in float16 that misses the tolerance, redone as the CLI's fp16 does: fp16-auto keeps
 * float32 the nodes responsible, searching on seeded inputs the measurement never uses. The variant's
 * file, size, hash, session and accuracy become the redone one's, and a note names the nodes kept
 * float32; when fp16-auto fails too, a note says so. Cancelling stops the search and reaches the caller.
 */
export async function redoFp16(run: OptimizeRun, fp32: Model, fp16: LiveVariant, refOutputs: Outputs[], inputs: ModelInputs, fp32Bytes: number | undefined): Promise<void> {
  const { options, tolerance, target } = run;
  run.progress({ phase: 'convert', variant: 'fp16', done: 0, total: 1, message: 'fp16 misses the tolerance: redoing it with fp16-auto' });
  const seededSearch = { seed: run.seed + SEARCH_SEED_OFFSET, count: 6, dims: inputs.dims ?? {}, ...(options.inputScale === undefined ? {} : { inputScale: options.inputScale }) };
  const search = inputs.source === 'seeded' ? (await modelInputs(fp32, seededSearch)).feeds : inputs.feeds;
  try {
    const redone = fp32.clone();
    const auto = await autoMixedPrecision(redone, await run.runner(), search, { target, keepIoTypes: true, metric: 'cosine', tolerance: Number((1 - tolerance).toPrecision(12)) }, {
      // The search runs the model many times: a cancel stops it, not the step after it.
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const { bytes, sha256 } = await writeVariantFile(redone, fp16.path);
    await fp16.m.close();
    fp16.m = await run.open(fp16.path, 'fp16');
    Object.assign(fp16.v, { bytes, sha256, createMs: fp16.m.createMs });
    if (fp32Bytes) fp16.v.sizeRatio = bytes / fp32Bytes;
    fp16.v.accuracy = await measureAccuracy(refOutputs, fp16.m.run, inputs.feeds);
    const kept = auto.keptFloat32.map((k) => k.node);
    fp16.v.notes.push(`redone with fp16-auto: the plain conversion missed the tolerance; ${kept.length} node${kept.length === 1 ? '' : 's'} kept float32 (${kept.slice(0, 6).join(', ')}${kept.length > 6 ? ', …' : ''})`);
  } catch (e) {
    if ((e as { code?: string }).code === ForgeErrorCode.CANCELLED) throw e;
    fp16.v.notes.push(`fp16-auto could not bring FP16 within the tolerance either: ${stageError('convert', e).message}`);
  }
}
