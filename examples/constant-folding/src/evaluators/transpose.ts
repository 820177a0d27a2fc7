import { DataType, attrInts, createTensor, dtypeBits, elementCount, tensorDims, tensorRawBytes } from '@onnx-forge/core';
import { type Evaluator, outputName, refuse } from './evaluator.js';

/** Transpose of any fixed-width type: the input's elements moved, byte for byte, to their new places. */
export const transposeEvaluator: Evaluator = {
  opType: 'Transpose',
  how: 'elements moved byte for byte',
  evaluate(node, [input]) {
    if (!input) return refuse('Transpose without an input');
    if (input.dataType === DataType.STRING || dtypeBits(input.dataType) < 8) return refuse('Transpose of a string or sub-byte tensor is not folded');
    const dims = tensorDims(input);
    const rank = dims.length;
    const perm = attrInts(node, 'perm') ?? dims.map((_, i) => rank - 1 - i);
    if (perm.length !== rank || new Set(perm).size !== rank || perm.some((p) => p < 0 || p >= rank)) return refuse(`Transpose with perm [${perm.join(', ')}] on a tensor of rank ${rank}`);
    const width = dtypeBits(input.dataType) / 8;
    const src = tensorRawBytes(input);
    const out = new Uint8Array(src.length);
    const outDims = perm.map((p) => dims[p] ?? 1);
    // Strides of the input, in elements, taken in the output's order of axes.
    const inStrides = dims.map((_, i) => elementCount(dims.slice(i + 1)));
    const strides = perm.map((p) => inStrides[p] ?? 0);
    const index = new Array<number>(rank).fill(0);
    const total = elementCount(dims);
    for (let o = 0, from = 0; o < total; o++) {
      out.set(src.subarray(from * width, from * width + width), o * width);
      // Next output position: increment the last axis, carrying into earlier ones.
      for (let axis = rank - 1; axis >= 0; axis--) {
        const i = (index[axis] ?? 0) + 1;
        if (i < (outDims[axis] ?? 1)) {
          index[axis] = i;
          from += strides[axis] ?? 0;
          break;
        }
        index[axis] = 0;
        from -= (i - 1) * (strides[axis] ?? 0);
      }
    }
    return [createTensor(outputName(node), input.dataType, outDims, out)];
  },
};
