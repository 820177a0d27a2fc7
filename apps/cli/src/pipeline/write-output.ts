import { writeModel, type Model, type WriteModelResult } from '@onnx-forge/core';
import { formatBytes } from '@onnx-forge/core';
import type { Progress } from '../framework/progress.js';

/**
 * Writes the result as one progress phase (driven by writeModel's byte counts). writeModel writes to a
 * temporary file renamed into place, so a failure never leaves a partial output.
 */
export async function writeOutput(model: Model, output: string, options: { externalData?: boolean }, progress: Progress): Promise<WriteModelResult> {
  progress.start(`writing ${output}`);
  const result = await writeModel(model, output, {
    ...(options.externalData === undefined ? {} : { externalData: options.externalData }),
    onProgress: (written, total) => progress.update(written, total),
  });
  progress.end(formatBytes(result.bytes + (result.externalData?.bytes ?? 0)));
  return result;
}
