import { DataType, createTensor, dequantizeLinear, tensorDims, tensorToArray } from '@onnx-forge/core';
import { type Evaluator, outputName, refuse } from './evaluator.js';
import { quantArgs } from './quant-params.js';

/** DequantizeLinear of int8/uint8 data, per tensor or per axis, with core's kernel: float32(x - zeroPoint) * scale. */
export const dequantizeLinearEvaluator: Evaluator = {
  opType: 'DequantizeLinear',
  how: "core's dequantizeLinear kernel",
  evaluate(node, [x, scale, zeroPoint]) {
    if (!x) return refuse('DequantizeLinear without an input');
    const dims = tensorDims(x);
    const args = quantArgs(node, dims, scale, zeroPoint, x.dataType);
    if (typeof args === 'string') return refuse(args);
    if (args.quantType !== x.dataType) return refuse('DequantizeLinear whose zero point type differs from its input type');
    const out = new Float32Array(tensorToArray(x).length);
    dequantizeLinear(tensorToArray(x) as Int8Array | Uint8Array, args.scale, args.zeroPoint, out, args.layout);
    return [createTensor(outputName(node), DataType.FLOAT, dims, out)];
  },
};
