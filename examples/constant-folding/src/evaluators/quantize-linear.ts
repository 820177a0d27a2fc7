import { DataType, attrInt, createTensor, dtypeName, quantizeLinear, tensorDims, tensorToArray } from '@onnx-forge/core';
import { type Evaluator, outputName, refuse } from './evaluator.js';
import { quantArgs } from './quant-params.js';

/** QuantizeLinear of float32 data to int8/uint8, with core's kernel (round half to even, saturate). */
export const quantizeLinearEvaluator: Evaluator = {
  opType: 'QuantizeLinear',
  how: "core's quantizeLinear kernel",
  evaluate(node, [x, scale, zeroPoint]) {
    if (!x) return refuse('QuantizeLinear without an input');
    if (x.dataType !== DataType.FLOAT) return refuse(`QuantizeLinear of ${dtypeName(x.dataType)}: core's kernel quantizes float32`);
    const dims = tensorDims(x);
    // Without a zero point the output is uint8, or output_dtype (opset 21).
    const outputType = attrInt(node, 'output_dtype') ?? 0;
    const args = quantArgs(node, dims, scale, zeroPoint, outputType === 0 ? DataType.UINT8 : outputType);
    if (typeof args === 'string') return refuse(args);
    if (outputType !== 0 && outputType !== args.quantType) return refuse('QuantizeLinear whose output_dtype differs from its zero point type');
    const src = tensorToArray(x) as Float32Array;
    const out = args.quantType === DataType.INT8 ? new Int8Array(src.length) : new Uint8Array(src.length);
    quantizeLinear(src, args.scale, args.zeroPoint, out, args.layout);
    return [createTensor(outputName(node), args.quantType, dims, out)];
  },
};
