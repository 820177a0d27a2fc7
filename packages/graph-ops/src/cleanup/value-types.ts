import {
  DataType, attrInt, getAttribute, inferElemTypes, isDefaultDomain, nodeLabel, toNumber,
  type Graph, type GraphProto, type FunctionProto, type Model, type NodeProto, type TypeProto,
} from '@onnx-forge/core';
import { CONTROL_FLOW_OPS, NON_TENSOR_OPS, inputSlot, opSignature, outputSlot } from '../tables/op-signatures.js';

/** Marks a value that is a sequence, map or optional rather than a tensor. */
export const NON_TENSOR = -1;

export interface UnknownValueType {
  graph: string;
  value: string;
  node?: string;
  opType?: string;
  reason: string;
}

/** Element types of every value of a model, as precision passes need them. */
export interface ValueTypes {
  /** Element type of `name` as seen from `graph` (enclosing scopes included); NON_TENSOR for non-tensors. */
  get(graph: Graph, name: string): number | undefined;
  /**
   * Element types of a model-local function's inputs, agreed by all its call sites; undefined when a
   * call site is untyped or two call sites disagree (the body then cannot be typed).
   */
  functionInputs(fn: Graph): readonly (number | undefined)[] | undefined;
  /** Values whose type could not be found, with the reason (never dropped silently). */
  readonly unknown: readonly UnknownValueType[];
}

type Scope = GraphProto | FunctionProto;

function typeProtoElem(t: TypeProto | null | undefined): number | undefined {
  if (!t) return undefined;
  if (t.tensorType) return t.tensorType.elemType || undefined;
  if (t.sparseTensorType) return t.sparseTensorType.elemType || undefined;
  if (t.sequenceType || t.mapType || t.optionalType) return NON_TENSOR;
  return undefined;
}

function constantType(node: NodeProto): number | undefined {
  for (const a of node.attribute) {
    switch (a.name) {
      case 'value': return a.t?.dataType;
      case 'sparse_value': return a.sparseTensor?.values?.dataType;
      case 'value_float': case 'value_floats': return DataType.FLOAT;
      case 'value_int': case 'value_ints': return DataType.INT64;
      case 'value_string': case 'value_strings': return DataType.STRING;
    }
  }
  return undefined;
}

/** Output type of ops whose type comes from an attribute or a rule (the `@` slots of the table). */
export function ruleOutputType(node: NodeProto, inputType: (i: number) => number | undefined): number | undefined {
  const op = node.opType;
  const attrType = (name: string): number | undefined => {
    const a = getAttribute(node, name);
    if (!a || a.refAttrName) return undefined;
    return attrInt(node, name);
  };
  switch (op) {
    case 'Cast': return attrType('to');
    case 'Constant': return constantType(node);
    case 'ConstantOfShape': return getAttribute(node, 'value')?.t?.dataType ?? DataType.FLOAT;
    case 'EyeLike': case 'RandomNormalLike': case 'RandomUniformLike': case 'Bernoulli':
      return attrType('dtype') ?? inputType(0);
    case 'RandomNormal': case 'RandomUniform': return attrType('dtype') ?? DataType.FLOAT;
    case 'Multinomial': return attrType('dtype') ?? DataType.INT32;
    case 'HannWindow': case 'HammingWindow': case 'BlackmanWindow': case 'MelWeightMatrix':
      return attrType('output_datatype') ?? DataType.FLOAT;
    case 'QuantizeLinear': return (node.input[2] ? inputType(2) : undefined) ?? attrType('output_dtype') ?? DataType.UINT8;
    case 'QLinearMatMul': case 'QLinearConv': return inputType(7);
    default: return undefined;
  }
}

/**
 * Infers element types over a model: core's `inferElemTypes` (inferred, else declared) first, then
 * a forward walk over the op signatures through subgraphs (If, Loop, Scan) and model-local functions
 * (typed from their call sites) for whatever core leaves open; it also records whether a function's
 * call sites agree on its input types.
 */
export function inferValueTypes(model: Model): ValueTypes {
  const core = inferElemTypes(model);
  // Core's inference (schema type variables, attributes, subgraphs, functions) first; then declared
  // types; the local walk below only fills what both leave open.
  const known = (g: Graph, name: string): number | undefined => {
    const t = core.type(g, name);
    if (t) return t.kind === 'tensor' || t.kind === 'sparse_tensor' ? t.elemType || undefined : NON_TENSOR;
    return typeProtoElem(g.valueInfo(name)?.type);
  };
  const maps = new Map<Scope, Map<string, number>>();
  const unknown: UnknownValueType[] = [];
  const fnInputs = new Map<FunctionProto, (number | undefined)[] | null>();
  const fnByKey = new Map<string, Graph>();
  for (const f of model.functions()) {
    const p = f.proto as FunctionProto;
    fnByKey.set(`${p.domain}\u0000${p.name}`, f);
  }
  const fnDone = new Set<FunctionProto>();

  const mapOf = (g: Graph): Map<string, number> => {
    let m = maps.get(g.proto);
    if (!m) maps.set(g.proto, (m = new Map()));
    return m;
  };

  const lookup = (graph: Graph, name: string): number | undefined => {
    for (let g: Graph | undefined = graph; g; g = g.parent) {
      const t = maps.get(g.proto)?.get(name);
      if (t !== undefined) return t;
      if (g.definesLocally(name)) return undefined;
    }
    return undefined;
  };

  const opsetOf = (graph: Graph, domain: string): number => {
    const d = isDefaultDomain(domain) ? '' : domain;
    if (graph.isFunction) {
      const imp = (graph.proto as FunctionProto).opsetImport.find((o) => (isDefaultDomain(o.domain) ? '' : o.domain) === d);
      if (imp) return toNumber(imp.version);
    }
    return model.opset(d) ?? 1;
  };

  const visitGraph = (g: Graph, formalInputTypes?: readonly (number | undefined)[]): void => {
    const m = mapOf(g);
    const names = g.inputNames();
    names.forEach((name, i) => {
      const t = known(g, name) ?? formalInputTypes?.[i];
      if (t !== undefined) m.set(name, t);
    });
    for (const t of g.initializers) m.set(t.name, t.dataType);
    if (!g.isFunction) for (const s of (g.proto as GraphProto).sparseInitializer) if (s.values) m.set(s.values.name, s.values.dataType);
    for (const node of g.nodes) visitNode(g, node);
  };

  const visitNode = (g: Graph, node: NodeProto): void => {
    const m = mapOf(g);
    const inType = (i: number): number | undefined => {
      const name = node.input[i];
      return name ? lookup(g, name) : undefined;
    };
    const outTypes: (number | undefined)[] = node.output.map(() => undefined);
    const domain = isDefaultDomain(node.domain) ? '' : node.domain;
    const fn = fnByKey.get(`${node.domain}\u0000${node.opType}`);

    if (fn && !(isDefaultDomain(domain) && opSignature(node.opType, '', opsetOf(g, '')))) {
      const fp = fn.proto as FunctionProto;
      const args = fp.input.map((_, i) => inType(i));
      const prev = fnInputs.get(fp);
      if (prev === undefined) fnInputs.set(fp, args);
      else if (prev && (prev.length !== args.length || prev.some((t, i) => t !== args[i]))) fnInputs.set(fp, null);
      if (!fnDone.has(fp)) {
        fnDone.add(fp);
        visitGraph(fn, args);
      }
      const fm = maps.get(fp);
      fp.output.forEach((o, i) => {
        if (i < outTypes.length) outTypes[i] = fm?.get(o);
      });
    } else if (isDefaultDomain(domain) && CONTROL_FLOW_OPS.has(node.opType)) {
      const subs = g.subgraphs(node);
      if (node.opType === 'If') {
        for (const s of subs) visitGraph(s);
        for (let j = 0; j < outTypes.length; j++) {
          for (const s of subs) {
            const name = s.outputNames()[j];
            const t = typeProtoElem(s.outputs[j]?.type) ?? (name ? lookup(s, name) : undefined);
            if (t !== undefined) {
              outTypes[j] = t;
              break;
            }
          }
        }
      } else if (node.opType === 'Loop') {
        const body = subs[0];
        if (body) {
          const formal = [DataType.INT64, DataType.BOOL, ...node.input.slice(2).map((_, i) => inType(i + 2))];
          visitGraph(body, formal);
          const outs = body.outputNames();
          for (let j = 0; j < outTypes.length; j++) {
            const name = outs[j + 1];
            outTypes[j] = typeProtoElem(body.outputs[j + 1]?.type) ?? (name ? lookup(body, name) : undefined);
          }
        }
      } else {
        const body = subs[0];
        if (body) {
          // Scan-8 has a leading sequence_lens input; from 9 on the inputs are states then scan inputs.
          const skip = opsetOf(g, '') < 9 ? 1 : 0;
          visitGraph(body, node.input.slice(skip).map((_, i) => inType(i + skip)));
          const outs = body.outputNames();
          for (let j = 0; j < outTypes.length; j++) {
            const name = outs[j];
            outTypes[j] = typeProtoElem(body.outputs[j]?.type) ?? (name ? lookup(body, name) : undefined);
          }
        }
      }
    } else {
      for (const s of g.subgraphs(node)) visitGraph(s);
      const sig = opSignature(node.opType, domain, opsetOf(g, domain));
      if (sig) {
        const binding = new Map<string, number>();
        node.input.forEach((name, i) => {
          const slot = inputSlot(sig, i);
          if (!name || slot?.kind !== 'var' || binding.has(slot.name)) return;
          const t = lookup(g, name);
          if (t !== undefined && t !== NON_TENSOR) binding.set(slot.name, t);
        });
        for (let j = 0; j < outTypes.length; j++) {
          const slot = outputSlot(sig, j);
          if (!slot) continue;
          if (slot.kind === 'var') outTypes[j] = binding.get(slot.name);
          else if (slot.kind === 'fixed') outTypes[j] = slot.type;
          else if (slot.kind === 'rule') outTypes[j] = ruleOutputType(node, inType);
        }
      } else if (isDefaultDomain(domain) && NON_TENSOR_OPS.has(node.opType)) {
        for (let j = 0; j < outTypes.length; j++) outTypes[j] = node.opType === 'SequenceLength' ? DataType.INT64 : node.opType === 'OptionalHasElement' ? DataType.BOOL : undefined;
      }
    }

    node.output.forEach((name, j) => {
      if (!name) return;
      const t = known(g, name) ?? outTypes[j];
      if (t !== undefined) m.set(name, t);
      else {
        unknown.push({
          graph: g.path, value: name, node: nodeLabel(node), opType: node.opType,
          reason: NON_TENSOR_OPS.has(node.opType) ? 'element type of a sequence/optional item is not tracked' : opSignature(node.opType, domain, opsetOf(g, domain)) ? 'no input fixes its type variable' : `no signature known for ${domain || 'ai.onnx'}.${node.opType}`,
        });
      }
    });
  };

  visitGraph(model.graph);
  for (const f of model.functions()) {
    const fp = f.proto as FunctionProto;
    if (!fnDone.has(fp)) {
      // A function nobody calls: type what its own constants and casts tell.
      fnDone.add(fp);
      visitGraph(f);
    }
  }

  return {
    get: (graph, name) => lookup(graph, name),
    functionInputs: (fn) => {
      const v = fnInputs.get(fn.proto as FunctionProto);
      return v ?? undefined;
    },
    unknown,
  };
}
