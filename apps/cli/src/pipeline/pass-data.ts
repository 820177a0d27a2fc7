import { ForgeError, ForgeErrorCode, type PipelineReport } from '@onnx-forge/core';

/**
 * A structured result the last pass of a run recorded under `key` (fp16-auto's nodes kept float32,
 * int8-auto's excluded nodes and cosines), checked by `is`.
 */
export function passData<T>(report: PipelineReport, key: string, is: (value: unknown) => value is T): T {
  const last = report.passes.at(-1);
  const value = last?.data[key];
  if (!is(value)) throw new ForgeError(ForgeErrorCode.INTERNAL, `the ${last?.name ?? 'last'} pass recorded no "${key}" result (an onnx-forge bug, please report it)`);
  return value;
}
