import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { checkModel, readModel, repairInput, type Model } from '@onnx-forge/core';
import { stageError } from '../measure/stage-error.js';
import type { OptimizeRun } from './optimize-run.js';
import { sha256File } from './variant-file.js';

/**
 * The FP32 model every variant is made from, read from its file (or as given), with its size and hash
 * in the result. A model that cannot be read is undefined: FP32 fails at read, the other variants are
 * not made, and the result's reason says so.
 */
export async function readSource(run: OptimizeRun, source: string | Model): Promise<Model | undefined> {
  const { result, file } = run;
  run.progress({ phase: 'read', done: 0, total: 1, message: `reading ${file ?? run.name}` });
  try {
    const fp32 = typeof source === 'string' ? await readModel(source) : source;
    // What onnxruntime accepts although the spec does not (nodes out of order, repeated node names) is
    // repaired as fp16 and quantize repair it, and said; every variant starts from the repaired model.
    for (const r of repairInput(fp32, checkModel(fp32), {}).repairs) result.warnings.push(`the model as read: ${r}`);
    if (file) result.source = { file, bytes: (await stat(file)).size, sha256: await sha256File(file) };
    else {
      const bytes = fp32.encode();
      result.source = { file: null, bytes: bytes.byteLength, sha256: createHash('sha256').update(bytes).digest('hex') };
    }
    return fp32;
  } catch (e) {
    const err = stageError('read', e);
    // A file that exists but is not a model: the report still gives its size and hash.
    if (file) {
      const size = await stat(file).then((st) => (st.isFile() ? st.size : undefined), () => undefined);
      if (size !== undefined) result.source = { file, bytes: size, sha256: await sha256File(file).catch(() => '') };
    }
    run.fail(run.variant('fp32'), err);
    for (const v of result.variants) {
      if (v.name !== 'fp32' && v.status === 'failed') {
        v.error = { stage: 'read', code: err.code, message: `not made: the FP32 model could not be read (${err.code})` };
        v.reason = v.error.message;
      }
    }
    result.reason = `nothing to choose: the model could not be read: ${err.code}: ${err.message}`;
    return undefined;
  }
}
