import type { AttributeProto, GraphProto, ModelProto, SparseTensorProto, TensorProto } from '../proto/types.js';
import type { Model } from './model.js';
import { tensorByteSize } from './tensor.js';

/** Every TensorProto in the model that may carry data: initializers, Constant values, sparse parts. */
export function* modelTensors(proto: ModelProto): Generator<{ tensor: TensorProto; initializer: boolean }> {
  function* inSparse(s: SparseTensorProto | null | undefined): Generator<{ tensor: TensorProto; initializer: boolean }> {
    if (s?.values) yield { tensor: s.values, initializer: false };
    if (s?.indices) yield { tensor: s.indices, initializer: false };
  }
  function* inGraph(g: GraphProto): Generator<{ tensor: TensorProto; initializer: boolean }> {
    for (const t of g.initializer) yield { tensor: t, initializer: true };
    for (const s of g.sparseInitializer) yield* inSparse(s);
    for (const n of g.node) yield* inNodes(n.attribute);
  }
  function* inNodes(attrs: AttributeProto[]): Generator<{ tensor: TensorProto; initializer: boolean }> {
    for (const a of attrs) {
      if (a.t) yield { tensor: a.t, initializer: false };
      for (const t of a.tensors) yield { tensor: t, initializer: false };
      // Both parts of a sparse attribute: the lazy decoder leaves any large payload in the file,
      // indices included, and resolves only the tensors listed here.
      yield* inSparse(a.sparseTensor);
      for (const s of a.sparseTensors) yield* inSparse(s);
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
