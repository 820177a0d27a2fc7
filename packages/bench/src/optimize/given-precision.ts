import { DataType, isDefaultDomain, modelTensors, tensorByteSize, type Model } from '@onnx-forge/core';

/** Ops only a model quantized to integers holds (ONNX and onnxruntime's com.microsoft forms). */
const QUANTIZED_OPS: ReadonlySet<string> = new Set([
  'DynamicQuantizeLinear', 'ConvInteger', 'MatMulInteger', 'DequantizeLinear', 'MatMulNBits', 'DynamicQuantizeMatMul',
  'QGemm', 'QAttention', 'GatherBlockQuantized',
]);

/** What a model given to optimize is when it is not float32: float16 or quantized already. */
export interface GivenPrecision {
  precision: 'fp16' | 'int8';
  /** "float16 already (float16 weights are 100.0 % of its float weight bytes)", "quantized already (it holds 2 MatMulInteger)". */
  detail: string;
}

/**
 * Whether a model is float16 or INT8 already: integer-quantized ops in any graph, or float16 weights
 * outweighing float32 ones. Optimize then names the model as given "fp32" (the reference) though it
 * is not, and every conversion changes little or nothing: the user must hear it.
 */
export function givenPrecision(model: Model): GivenPrecision | undefined {
  const ops = new Map<string, number>();
  for (const { node } of model.allNodes()) {
    const known = isDefaultDomain(node.domain) || node.domain === 'com.microsoft';
    if (known && (QUANTIZED_OPS.has(node.opType) || node.opType.startsWith('QLinear'))) ops.set(node.opType, (ops.get(node.opType) ?? 0) + 1);
  }
  if (ops.size) {
    const held = [...ops].sort(([a], [b]) => a.localeCompare(b)).map(([op, n]) => `${n} ${op}`).join(', ');
    return { precision: 'int8', detail: `quantized already (it holds ${held})` };
  }
  let f16 = 0;
  let f32 = 0;
  for (const { tensor } of modelTensors(model.proto)) {
    if (tensor.dataType === DataType.FLOAT16) f16 += tensorByteSize(tensor);
    else if (tensor.dataType === DataType.FLOAT) f32 += tensorByteSize(tensor);
  }
  if (f16 > 0 && f16 >= f32) return { precision: 'fp16', detail: `float16 already (float16 weights are ${((100 * f16) / (f16 + f32)).toFixed(1)} % of its float weight bytes)` };
  return undefined;
}
