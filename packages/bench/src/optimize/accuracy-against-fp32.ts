import type { Model } from '@onnx-forge/core';
import { toleranceProblem } from '@onnx-forge/graph-ops';
import type { Outputs } from '@onnx-forge/runtime';
import { measureAccuracy } from '../accuracy/measure-accuracy.js';
import { throwIfAborted } from '../measure/measure-runs.js';
import type { ModelInputs } from '../measure/model-inputs.js';
import { stageError } from '../measure/stage-error.js';
import type { Target } from '../repository/manifest.js';
import type { LiveVariant, OptimizeRun } from './optimize-run.js';
import type { VariantResult } from './optimize-result.js';
import { headroomNote, probeHeadroom } from './probe-headroom.js';
import { redoFp16 } from './redo-fp16.js';

/** Targets whose FP16 variant computes in float16 (cpu and wasm store weights as float16 and compute in float32). */
const FLOAT16_COMPUTE: ReadonlySet<Target> = new Set(['webgpu', 'cuda']);

/** Whether a measured variant misses the tolerance (NaN/Inf, a cosine below it, or a one-value output past its bound). */
function missesTolerance(v: VariantResult, tolerance: number): boolean {
  return !v.accuracy || v.accuracy.outputs.some((o) => toleranceProblem(o, tolerance) !== undefined);
}

/**
 * Every loaded variant's accuracy against FP32 on the same inputs, FP32's own included (where the
 * reference has nothing to compare with). A variant not compared (FP32 did not load, or failed on the
 * inputs) fails at the accuracy stage. Then FP16: redone with fp16-auto where it computes in float16
 * and misses the tolerance, and probed at larger input spreads where it was measured on seeded ones.
 */
export async function accuracyAgainstFp32(run: OptimizeRun, fp32: Model, live: LiveVariant[], inputs: ModelInputs, fp32Bytes: number | undefined): Promise<void> {
  const { options, result, tolerance, progress } = run;
  const evalFeeds = inputs.feeds;
  const ref = live.find((l) => l.v.name === 'fp32');
  if (!ref) {
    for (const l of live) run.fail(l.v, { stage: 'accuracy', code: run.variant('fp32').error?.code ?? 'FORGE_RUNTIME', message: 'not compared: FP32, the reference, did not load and run' });
    return;
  }
  let refOutputs: Outputs[] | undefined;
  try {
    refOutputs = [];
    for (const f of evalFeeds) refOutputs.push(await ref.m.run(f));
  } catch (e) {
    refOutputs = undefined;
    run.record('accuracy', e);
  }
  for (const [i, l] of live.entries()) {
    throwIfAborted(options.signal, 'optimize');
    progress({ phase: 'accuracy', variant: l.v.name, done: i, total: live.length, message: `comparing ${l.v.name} with fp32 on ${evalFeeds.length} sample(s)` });
    if (!refOutputs) {
      run.fail(l.v, { stage: 'accuracy', code: 'FORGE_RUNTIME', message: 'not compared: the FP32 reference failed on the inputs' });
      continue;
    }
    try {
      l.v.accuracy = await measureAccuracy(refOutputs, l.m.run, evalFeeds);
    } catch (e) {
      run.fail(l.v, stageError('accuracy', e));
    }
  }
  // Sequence and map outputs (a classifier's ZipMap) do not come back from onnxruntime-node: no accuracy
  // covers them, which compare says and so must optimize.
  for (const o of ref.m.session.outputMetadata.filter((md) => md.type === undefined)) {
    result.warnings.push(`output "${o.name}" is a sequence or map, which onnxruntime-node cannot return: no variant's accuracy covers it`);
  }
  // FP32 compared with itself shows where the reference has nothing to compare with: inputs outside
  // the model's domain (log of a negative sum), left out of every variant's accuracy. Said, as a
  // variant measured on fewer samples than asked is.
  for (const o of ref.v.accuracy?.outputs ?? []) {
    if (o.refEmptySamples) {
      result.warnings.push(`fp32 gives NaN/Inf for every value of output "${o.output}" on ${o.refEmptySamples} of ${o.samples} samples: they are left out of every variant's accuracy; ` +
        'if the model\'s real inputs never give NaN, measure on them (inputs, --inputs)');
    }
  }
  const fp16 = live.find((l) => l.v.name === 'fp16' && l.v.status === 'ok' && l.v.accuracy);
  if (!fp16 || !refOutputs) return;
  if (FLOAT16_COMPUTE.has(run.target) && !options.builders?.fp16 && missesTolerance(fp16.v, tolerance)) await redoFp16(run, fp32, fp16, refOutputs, inputs, fp32Bytes);
  // A variant that already misses the tolerance near ±1 has nothing to learn from larger inputs.
  if (inputs.source === 'seeded' && options.inputScale === undefined && !missesTolerance(fp16.v, tolerance)) {
    progress({ phase: 'accuracy', variant: 'fp16', done: live.length - 1, total: live.length, message: 'probing float16 headroom at larger inputs' });
    const headroom = await probeHeadroom(fp32, ref.m, fp16.m, { seed: run.seed, dims: inputs.dims ?? {} }, tolerance);
    if (headroom) {
      fp16.v.headroom = headroom;
      fp16.v.notes.push(headroomNote(headroom));
    }
  }
}
