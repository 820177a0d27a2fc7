import { PROTOBUF_LIMIT, encodeModel } from '../codec/codec.js';
import { ForgeError, ForgeErrorCode, errorMessage } from '../errors.js';
import type { Model } from '../ir/model.js';
import { modelTensors } from '../ir/model-tensors.js';
import { pendingData } from '../ir/tensor-data.js';
import { writeModel } from '../io/model-io.js';
import type { LoadedModel, ModelRunner } from './model-runner.js';

/** Whether some tensor of the model is lazy (still in its file, or produced when written). */
export function hasLazyTensors(model: Model): boolean {
  for (const { tensor } of modelTensors(model.proto)) if (pendingData(tensor)) return true;
  return false;
}

/**
 * Loads `model` in `runner` the way its size allows: as bytes when it is in memory and under
 * protobuf's 2 GiB; otherwise (a lazy model, or one past 2 GiB) written with external data to a
 * temporary folder, loaded by path, and the folder removed once loaded, so passes that run models
 * (calibration, fp16-auto and int8-auto searches, accuracy checks) work past 2 GiB without the model's
 * bytes in memory. The temporary folder is under the OS's temporary directory, or `tempDir`.
 */
export async function loadForRun(runner: ModelRunner, model: Model, options: { tempDir?: string } = {}): Promise<LoadedModel> {
  let bytes: Uint8Array | undefined;
  if (!hasLazyTensors(model)) {
    try {
      bytes = encodeModel(model.proto);
    } catch (e) {
      if (!(e instanceof ForgeError && e.code === ForgeErrorCode.MODEL_TOO_LARGE)) throw e;
    }
  }
  if (bytes && bytes.length < PROTOBUF_LIMIT) return runner.load(bytes);
  if (typeof process === 'undefined' || !process.versions?.node) {
    throw new ForgeError(ForgeErrorCode.MODEL_TOO_LARGE, 'this model is read lazily or is past 2 GiB, so it can only be run from a file, which needs Node', {});
  }
  const [fs, os, path] = await Promise.all([import('node:fs'), import('node:os'), import('node:path')]);
  let dir: string;
  try {
    dir = fs.mkdtempSync(path.join(options.tempDir ?? os.tmpdir(), 'onnx-forge-run-'));
  } catch (e) {
    throw new ForgeError(ForgeErrorCode.IO, `cannot make a temporary folder to run the model from: ${errorMessage(e)}`, { cause: e });
  }
  try {
    const file = path.join(dir, 'model.onnx');
    await writeModel(model, file, { externalData: true });
    return await runner.load({ path: file });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
