import path from 'node:path';
import { writeModel, type Model, type WriteModelResult } from '@onnx-forge/core';
import { formatBytes } from '@onnx-forge/core';
import { cancellable } from '../framework/ctrl-c.js';
import type { Progress } from '../framework/progress.js';
import { outputTarget } from './output-path.js';
import { refuseWritingInputData } from './run-files.js';

/**
 * Writes the result as one progress phase (driven by writeModel's byte counts). writeModel writes to a
 * temporary file renamed into place, so a failure never leaves a partial output. An output that is a
 * symbolic link is written through: the file it leads to is replaced and the link stays. Files that
 * hold the weights of the input this run read are refused (`refuseWritingInputData`). Ctrl-C stops the
 * write before the rename: the temporary file goes, the output stays as it was (FORGE_CANCELLED).
 */
export async function writeOutput(model: Model, output: string, options: { externalData?: boolean }, progress: Progress): Promise<WriteModelResult> {
  const target = outputTarget(output, process.cwd(), undefined);
  refuseWritingInputData(progress, options.externalData === true ? [target, `${target}.data`] : [target]);
  // A failure names the output as given, unless it is a link (then the file it leads to failed).
  const result = await cancellable(progress, `cancelling: ${output} is not written`, (signal) => {
    // Said once Ctrl-C is watched: a signal sent on seeing this line is the write's to handle.
    progress.start(`writing ${output}`);
    return writeModel(model, target === path.resolve(output) ? output : target, {
      ...(options.externalData === undefined ? {} : { externalData: options.externalData }),
      onProgress: (written, total) => progress.update(written, total),
      signal,
    });
  });
  progress.end(formatBytes(result.bytes + (result.externalData?.bytes ?? 0)));
  // Reported as given (the link, when it was one), where the user looks for it.
  return { ...result, path: path.resolve(output) };
}
