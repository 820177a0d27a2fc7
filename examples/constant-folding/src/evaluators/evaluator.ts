import type { Graph, NodeProto, TensorProto } from '@onnx-forge/core';

/**
 * Computes the outputs of one node whose inputs are all constants. `inputs` holds the tensor of each
 * input in order (undefined for an optional input left empty). Returns a tensor per output, named as
 * the node's outputs, or the reason the node cannot be folded (a type or form it does not evaluate).
 */
export type Evaluate = (node: NodeProto, inputs: readonly (TensorProto | undefined)[], graph: Graph) => TensorProto[] | { refused: string };

export interface Evaluator {
  /** The ai.onnx op type. */
  readonly opType: string;
  /** What computes it, for the node's decision ("core's float16ToFloat32"). */
  readonly how: string;
  readonly evaluate: Evaluate;
}

export function refuse(reason: string): { refused: string } {
  return { refused: reason };
}

/** The output name at `index`, which the graph validated exists. */
export function outputName(node: NodeProto, index = 0): string {
  const name = node.output[index];
  if (name === undefined || name === '') throw new Error(`${node.opType} "${node.name}" has no output ${index}`);
  return name;
}
