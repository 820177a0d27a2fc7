import { DataType, attrInt, attrInts, createTensor, dtypeBits, elementCount, tensorDims, tensorRawBytes, tensorToInts, type NodeProto, type TensorProto } from '@onnx-forge/core';
import { type Evaluator, outputName, refuse } from './evaluator.js';

/**
 * Ops whose output holds the input's bytes unchanged under new dims: Identity, Reshape, Flatten,
 * Squeeze, Unsqueeze. Folding them is exact by construction.
 */

/** A copy of `input`'s bytes under `dims`, or the reason it cannot be made. */
function withDims(node: NodeProto, input: TensorProto, dims: readonly number[] | string): TensorProto[] | { refused: string } {
  if (typeof dims === 'string') return refuse(dims);
  if (input.dataType === DataType.STRING || dtypeBits(input.dataType) < 8) return refuse(`${node.opType} of a ${input.dataType === DataType.STRING ? 'string' : 'sub-byte'} tensor is not folded`);
  if (elementCount(dims) !== elementCount(tensorDims(input))) return refuse(`${node.opType}: [${dims.join(', ')}] does not hold the input's ${elementCount(tensorDims(input))} elements`);
  return [createTensor(outputName(node), input.dataType, dims, tensorRawBytes(input).slice())];
}

/** Axes from the second input (opset 13 and later) or the `axes` attribute (earlier), made non-negative. */
function axesOf(node: NodeProto, axesInput: TensorProto | undefined, rank: number): number[] | undefined {
  const raw = axesInput ? tensorToInts(axesInput) : attrInts(node, 'axes');
  return raw?.map((a) => (a < 0 ? a + rank : a));
}

function reshapeDims(node: NodeProto, input: TensorProto, shape: TensorProto | undefined): number[] | string {
  if (!shape) return 'Reshape without a shape';
  const from = tensorDims(input);
  const allowZero = attrInt(node, 'allowzero') === 1;
  const dims = tensorToInts(shape).map((d, i) => (d === 0 && !allowZero ? (from[i] ?? 0) : d));
  const unknown = dims.indexOf(-1);
  if (unknown >= 0) {
    const known = dims.reduce((p, d, i) => (i === unknown ? p : p * d), 1);
    if (known === 0) return 'Reshape with -1 next to a zero dimension';
    dims[unknown] = elementCount(from) / known;
  }
  return dims;
}

export const identityEvaluator: Evaluator = {
  opType: 'Identity',
  how: 'the same bytes',
  evaluate: (node, [input]) => (input ? withDims(node, input, tensorDims(input)) : refuse('Identity without an input')),
};

export const reshapeEvaluator: Evaluator = {
  opType: 'Reshape',
  how: 'the same bytes under the new shape',
  evaluate: (node, [input, shape]) => (input ? withDims(node, input, reshapeDims(node, input, shape)) : refuse('Reshape without an input')),
};

export const flattenEvaluator: Evaluator = {
  opType: 'Flatten',
  how: 'the same bytes in two dimensions',
  evaluate(node, [input]) {
    if (!input) return refuse('Flatten without an input');
    const dims = tensorDims(input);
    const given = attrInt(node, 'axis') ?? 1;
    const axis = given < 0 ? given + dims.length : given;
    return withDims(node, input, [elementCount(dims.slice(0, axis)), elementCount(dims.slice(axis))]);
  },
};

export const squeezeEvaluator: Evaluator = {
  opType: 'Squeeze',
  how: 'the same bytes without the given dimensions of 1',
  evaluate(node, [input, axesInput]) {
    if (!input) return refuse('Squeeze without an input');
    const dims = tensorDims(input);
    const axes = axesOf(node, axesInput, dims.length);
    const drop = new Set(axes ?? dims.flatMap((d, i) => (d === 1 ? [i] : [])));
    if ([...drop].some((a) => dims[a] !== 1)) return refuse('Squeeze of a dimension that is not 1');
    return withDims(node, input, dims.filter((_, i) => !drop.has(i)));
  },
};

export const unsqueezeEvaluator: Evaluator = {
  opType: 'Unsqueeze',
  how: 'the same bytes with dimensions of 1 inserted',
  evaluate(node, [input, axesInput]) {
    if (!input) return refuse('Unsqueeze without an input');
    const dims = tensorDims(input);
    const rank = dims.length + (axesInput ? tensorToInts(axesInput).length : (attrInts(node, 'axes')?.length ?? 0));
    const axes = new Set(axesOf(node, axesInput, rank) ?? []);
    if (axes.size === 0) return refuse('Unsqueeze without axes');
    const out: number[] = [];
    for (let i = 0, j = 0; i < rank; i++) out.push(axes.has(i) ? 1 : (dims[j++] ?? 1));
    return withDims(node, input, out);
  },
};
