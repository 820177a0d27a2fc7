import { DataType, float32ArrayToFloat16, type Model, type RunnerFeeds } from '@onnx-forge/core';

/**
 * Float32 feeds rounded to float16 for the inputs `model` declares float16 (fp16 without keepIoTypes),
 * so the same samples feed a float32 model and its conversion.
 */
export function float16Feeds(model: Model, feeds: RunnerFeeds): RunnerFeeds {
  const out: RunnerFeeds = { ...feeds };
  for (const v of model.graph.inputs) {
    const f = feeds[v.name];
    if (f && f.type === 'float32' && v.type?.tensorType?.elemType === DataType.FLOAT16) {
      out[v.name] = { type: 'float16', dims: f.dims, data: float32ArrayToFloat16(f.data as Float32Array) };
    }
  }
  return out;
}
