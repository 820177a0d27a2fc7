import { Model, onnx, type AttributeProto, type FunctionProto, type GraphProto, type ModelProto, type NodeProto } from '@onnx-forge/core';

/*
 * A copy of a model's structure (graphs, nodes, attributes, lists, opset imports) that shares its
 * tensors. The upgrade rewrites the copy and moves it into the model only when every node upgraded,
 * so a refusal leaves the model as it was, without copying weights. Rewrites add tensors and lists
 * entries; they never edit a shared TensorProto or ValueInfoProto in place.
 */

function copyMessage<T extends object>(Ctor: new () => T, from: T): T {
  return Object.assign(new Ctor(), from);
}

function copyAttribute(a: AttributeProto): AttributeProto {
  const c = copyMessage(onnx.AttributeProto as unknown as new () => AttributeProto, a);
  c.ints = [...a.ints];
  c.floats = [...a.floats];
  c.strings = [...a.strings];
  if (a.g) c.g = copyGraph(a.g);
  c.graphs = a.graphs.map(copyGraph);
  return c;
}

function copyNode(n: NodeProto): NodeProto {
  const c = copyMessage(onnx.NodeProto as unknown as new () => NodeProto, n);
  c.input = [...n.input];
  c.output = [...n.output];
  c.attribute = n.attribute.map(copyAttribute);
  return c;
}

function copyGraph(g: GraphProto): GraphProto {
  const c = copyMessage(onnx.GraphProto as unknown as new () => GraphProto, g);
  c.node = g.node.map(copyNode);
  c.input = [...g.input];
  c.output = [...g.output];
  c.valueInfo = [...g.valueInfo];
  c.initializer = [...g.initializer];
  c.sparseInitializer = [...g.sparseInitializer];
  c.quantizationAnnotation = [...g.quantizationAnnotation];
  return c;
}

function copyOpsets(list: ModelProto['opsetImport']): ModelProto['opsetImport'] {
  return list.map((o) => new onnx.OperatorSetIdProto({ domain: o.domain, version: o.version }));
}

function copyFunction(f: FunctionProto): FunctionProto {
  const c = copyMessage(onnx.FunctionProto as unknown as new () => FunctionProto, f);
  c.node = f.node.map(copyNode);
  c.input = [...f.input];
  c.output = [...f.output];
  c.valueInfo = [...f.valueInfo];
  c.opsetImport = copyOpsets(f.opsetImport);
  return c;
}

/** A model over a structural copy of `model` (tensors shared). */
export function structuralCopy(model: Model): Model {
  const p = copyMessage(onnx.ModelProto as unknown as new () => ModelProto, model.proto);
  p.graph = copyGraph(model.proto.graph as GraphProto);
  p.functions = model.proto.functions.map(copyFunction);
  p.opsetImport = copyOpsets(model.proto.opsetImport);
  return new Model(p);
}

/** Moves the rewritten structure of `work` into `model` (the same proto object, so callers' references stay valid). */
export function adoptStructure(model: Model, work: Model): void {
  model.proto.graph = work.proto.graph;
  model.proto.functions = work.proto.functions;
  model.proto.opsetImport = work.proto.opsetImport;
  model.proto.irVersion = work.proto.irVersion;
  model.invalidate();
}
