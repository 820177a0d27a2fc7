import { DataType, attrInt, createTensor, dtypeName, float16ToFloat32, float32ToFloat16, tensorDims, tensorToArray } from '@onnx-forge/core';
import { type Evaluator, outputName, refuse } from './evaluator.js';

/**
 * Cast between float32 and float16, with core's WebAssembly kernels. float16 → float32 is exact;
 * float32 → float16 rounds to nearest even and lets out-of-range values overflow to ±Inf, as ONNX
 * Cast does (core's fp16 pass clamps by default; a Cast must not). A cast to the same type is a copy.
 */
export const castEvaluator: Evaluator = {
  opType: 'Cast',
  how: "core's float16ToFloat32 / float32ToFloat16 kernels",
  evaluate(node, [input]) {
    if (!input) return refuse('Cast without an input');
    const to = attrInt(node, 'to');
    const from = input.dataType;
    const dims = tensorDims(input);
    const name = outputName(node);
    if (to === from) return [createTensor(name, to, dims, tensorToArray(input))];
    if (from === DataType.FLOAT16 && to === DataType.FLOAT) return [createTensor(name, to, dims, float16ToFloat32(tensorToArray(input) as Uint16Array))];
    if (from === DataType.FLOAT && to === DataType.FLOAT16) {
      return [createTensor(name, to, dims, float32ToFloat16(tensorToArray(input) as Float32Array, undefined, { clamp: false }))];
    }
    return refuse(`Cast from ${dtypeName(from)} to ${to === undefined ? '?' : dtypeName(to)}: core evaluates casts between float32 and float16 only`);
  },
};
