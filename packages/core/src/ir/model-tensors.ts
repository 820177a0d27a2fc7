import type { AttributeProto, GraphProto, ModelProto, TensorProto } from '../proto/types.js';
import type { Model } from './model.js';
import { tensorByteSize } from './tensor.js';

/** Every TensorProto in the model that may carry data: initializers, Constant values, sparse parts. */
export function* modelTensors(proto: ModelProto): Generator<{ tensor: TensorProto; initializer: boolean }> {
  function* inGraph(g: GraphProto): Generator<{ tensor: TensorProto; initializer: boolean }> {
    for (const t of g.initializer) yield { tensor: t, initializer: true };
    for (const s of g.sparseInitializer) {
      if (s.values) yield { tensor: s.values, initializer: false };
      if (s.indices) yield { tensor: s.indices, initializer: false };
    }
    for (const n of g.node) yield* inNodes(n.attribute);
  }
  function* inNodes(attrs: AttributeProto[]): Generator<{ tensor: TensorProto; initializer: boolean }> {
    for (const a of attrs) {
      if (a.t) yield { tensor: a.t, initializer: false };
      for (const t of a.tensors) yield { tensor: t, initializer: false };
      if (a.sparseTensor?.values) yield { tensor: a.sparseTensor.values, initializer: false };
      if (a.g) yield* inGraph(a.g);
      for (const g of a.graphs) yield* inGraph(g);
    }
  }
  if (proto.graph) yield* inGraph(proto.graph);
  for (const f of proto.functions) for (const n of f.node) yield* inNodes(n.attribute);
  for (const ti of proto.trainingInfo) {
    if (ti.initialization) yield* inGraph(ti.initialization);
    if (ti.algorithm) yield* inGraph(ti.algorithm);
  }
}

/** Bytes of every tensor a model holds (initializers, Constant values, sparse parts). */
export function modelWeightBytes(model: Model): number {
  let n = 0;
  for (const { tensor } of modelTensors(model.proto)) n += tensorByteSize(tensor);
  return n;
}
