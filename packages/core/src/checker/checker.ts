import { pendingData } from '../ir/tensor-data.js';
import { DataType, isKnownDataType, rawByteLength } from '../dtype.js';
import { AttributeType } from '../ir/attributes.js';
import type { Graph } from '../ir/graph.js';
import { isDefaultDomain, type Model } from '../ir/model.js';
import { toClampedNumber } from '../ir/int64.js';
import { nodeLabel } from '../ir/node-label.js';
import type { AttributeProto, NodeProto, TensorProto, TypeProto } from '../proto/types.js';
import { CheckCode, type CheckProblem, type CheckResult } from './problem.js';
import { checkTypes } from './type-check.js';
import { checkNodeNames } from './check-node-names.js';

export interface CheckOptions {
  /**
   * Check every node against its operator schema (arity, attributes, type constraints) and declared
   * types against inferred ones (default true).
   */
  types?: boolean;
}

/**
 * Checks the rules a model must follow to load: every graph in topological order, every input
 * defined in scope, each value assigned once, opsets imported for every domain used, attribute
 * payloads matching their declared types, tensor data matching dims, and (with `types`) declared
 * types agreeing with inferred ones. Never throws on a bad model: every problem is listed.
 */
/** The newest IR version onnxruntime 1.30 loads (checker.test.ts holds it to onnxruntime-node). */
export const ORT_MAX_IR_VERSION = 13;

export function checkModel(model: Model, options: CheckOptions = {}): CheckResult {
  const problems: CheckProblem[] = [];
  const proto = model.proto;
  if (!proto.graph) {
    problems.push({ code: CheckCode.NO_GRAPH, severity: 'error', message: 'the model has no graph', graph: '' });
    return { ok: false, problems };
  }
  if (!toClampedNumber(proto.irVersion)) {
    problems.push({ code: CheckCode.IR_VERSION, severity: 'error', message: 'ir_version is not set', graph: 'main' });
  } else if (toClampedNumber(proto.irVersion) > ORT_MAX_IR_VERSION) {
    // A warning, not an error: a newer runtime may load it; the onnxruntime this project runs on will not.
    problems.push({
      code: CheckCode.IR_VERSION, severity: 'warning', graph: 'main',
      message: `ir_version ${toClampedNumber(proto.irVersion)} is newer than onnxruntime 1.30 loads (${ORT_MAX_IR_VERSION} at most): it will refuse the model`,
    });
  }
  const imported = new Set(proto.opsetImport.map((o) => (isDefaultDomain(o.domain) ? '' : o.domain)));
  const irVersion = toClampedNumber(proto.irVersion);
  checkGraph(model.graph, undefined, { imported, irVersion }, problems);
  for (const f of model.functions()) {
    const fImported = new Set((f.proto as { opsetImport: { domain: string }[] }).opsetImport.map((o) => (isDefaultDomain(o.domain) ? '' : o.domain)));
    for (const d of imported) fImported.add(d);
    checkGraph(f, undefined, { imported: fImported, irVersion }, problems);
  }
  if (options.types !== false && !problems.some((p) => p.severity === 'error')) checkTypes(model, problems);
  // After the type check, which runs only on an otherwise valid graph: node names do not affect types.
  checkNodeNames(model, problems);
  return { ok: !problems.some((p) => p.severity === 'error'), problems };
}

/**
 * The enclosing graphs of a subgraph: each level's names with where they are defined (-1 for inputs
 * and initializers, else the producing node's index) and the index of the node holding the subgraph.
 */
interface Scope {
  parent: Scope | undefined;
  positions: ReadonlyMap<string, number>;
  at: number;
}

/** Whether an enclosing graph defines `name` before the node holding the subgraph, after it, or not at all. */
function outerDefinition(scope: Scope | undefined, name: string): 'before' | 'after' | undefined {
  for (let s = scope; s; s = s.parent) {
    const p = s.positions.get(name);
    if (p !== undefined) return p < s.at ? 'before' : 'after';
  }
  return undefined;
}

interface Context {
  imported: ReadonlySet<string>;
  irVersion: number;
}

function problem(graph: Graph, code: CheckCode, message: string, node?: NodeProto, value?: string, severity: CheckProblem['severity'] = 'error'): CheckProblem {
  const p: CheckProblem = { code, severity, message, graph: graph.path };
  if (node) {
    p.node = nodeLabel(node);
    p.opType = node.opType;
  }
  if (value !== undefined) p.value = value;
  return p;
}

/**
 * Checks one graph and its subgraphs. Returns whether it (or a subgraph) reads a value that an
 * enclosing graph produces only after the node holding it, which sorting the enclosing graph fixes.
 */
function checkGraph(graph: Graph, scope: Scope | undefined, ctx: Context, problems: CheckProblem[]): boolean {
  const defined = new Set<string>();
  const define = (name: string, what: string, node?: NodeProto) => {
    if (!name) return;
    if (defined.has(name)) {
      problems.push(problem(graph, CheckCode.DUPLICATE_DEFINITION, `"${name}" is assigned more than once (${what})`, node, name));
    } else if (outerDefinition(scope, name)) {
      // The ONNX checker wants names unique across scopes; onnxruntime resolves the inner one.
      problems.push(problem(graph, CheckCode.DUPLICATE_DEFINITION, `"${name}" (${what}) shadows a value of an enclosing graph`, node, name, 'warning'));
    }
    defined.add(name);
  };
  let readsLater = false;
  const initNames = new Set<string>();
  for (const t of graph.initializers) {
    if (initNames.has(t.name)) problems.push(problem(graph, CheckCode.DUPLICATE_INITIALIZER, `initializer "${t.name}" appears twice`, undefined, t.name));
    initNames.add(t.name);
    checkTensor(graph, t, problems);
  }
  for (const name of graph.inputNames()) define(name, 'graph input');
  for (const name of initNames) if (!defined.has(name)) defined.add(name);
  if (!graph.isFunction) {
    for (const v of [...graph.inputs, ...graph.outputs, ...graph.valueInfos]) checkTypeProto(graph, v.type, v.name, problems);
    for (const s of (graph.proto as { sparseInitializer: { values?: TensorProto | null }[] }).sparseInitializer) {
      if (s.values) define(s.values.name, 'sparse initializer');
    }
  }

  // Which names the graph defines at all, to tell "used before defined" from "never defined".
  const producedLater = new Map<string, number>();
  graph.nodes.forEach((n, i) => n.output.forEach((o) => o && !producedLater.has(o) && producedLater.set(o, i)));
  // Where each name is defined, for subgraphs (built once per graph, not per subgraph).
  let positions: Map<string, number> | undefined;
  const positionsOf = () => {
    if (!positions) {
      positions = new Map(producedLater);
      for (const name of defined) positions.set(name, -1);
    }
    return positions;
  };
  let outOfOrder = false;
  const notTopological = (name: string, node?: NodeProto) => {
    outOfOrder = true;
    problems.push(problem(graph, CheckCode.NOT_TOPOLOGICAL,
      `"${name}" is produced in an enclosing graph after the node holding this subgraph; nodes are not in topological order`, node, name));
  };

  graph.nodes.forEach((node, i) => {
    if (!node.opType) problems.push(problem(graph, CheckCode.EMPTY_OP_TYPE, 'node has no op_type', node));
    const domain = isDefaultDomain(node.domain) ? '' : node.domain;
    if (!ctx.imported.has(domain)) {
      problems.push(problem(graph, CheckCode.MISSING_OPSET, `domain "${domain || 'ai.onnx'}" of ${node.opType} is not in opset_import`, node));
    }
    for (const name of node.input) {
      if (!name || defined.has(name)) continue;
      const outer = outerDefinition(scope, name);
      if (outer === 'before') continue;
      const later = producedLater.get(name);
      if (later !== undefined && later >= i) {
        outOfOrder = true;
        problems.push(problem(graph, CheckCode.NOT_TOPOLOGICAL, `input "${name}" is produced by a later node (#${later}); nodes are not in topological order`, node, name));
      } else if (outer === 'after') {
        readsLater = true;
        notTopological(name, node);
      } else {
        problems.push(problem(graph, CheckCode.UNDEFINED_INPUT, `input "${name}" is not defined in this graph or an enclosing one`, node, name));
      }
    }
    for (const a of node.attribute) checkAttribute(graph, node, a, ctx, problems);
    // Subgraphs see everything defined so far here and in enclosing scopes; what comes later is
    // known too, to tell an unsorted graph from an undefined name.
    const subgraphs = graph.subgraphs(node);
    for (const sub of subgraphs) {
      // A late read resolved in this graph makes this graph unsorted; one from further out, the enclosing one too.
      if (checkGraph(sub, { parent: scope, positions: positionsOf(), at: i }, ctx, problems)) outOfOrder = readsLater = true;
    }
    for (const o of node.output) define(o, `output of ${nodeLabel(node)}`, node);
  });

  for (const name of graph.outputNames()) {
    if (!name || defined.has(name)) continue;
    const outer = outerDefinition(scope, name);
    if (outer === 'before') continue;
    if (outer === 'after') {
      readsLater = true;
      notTopological(name);
    } else {
      problems.push(problem(graph, CheckCode.UNDEFINED_OUTPUT, `graph output "${name}" is never produced`, undefined, name));
    }
  }
  if (outOfOrder) {
    // A graph whose nodes cannot be ordered at all has a cycle; report it once, naming nodes on it.
    const cycle = findCycle(graph);
    if (cycle.length) {
      problems.push(problem(graph, CheckCode.CYCLE, `graph ${graph.path} has a cycle through ${cycle.slice(0, 5).map((n) => `"${nodeLabel(n)}"`).join(', ')}`, cycle[0]));
    }
  }
  return readsLater;
}

/**
 * Nodes that Kahn's algorithm cannot order (on a cycle or behind one), without touching the graph.
 * A read inside a subgraph counts as a dependency of the node that holds it.
 */
function findCycle(graph: Graph): NodeProto[] {
  const nodes = graph.nodes;
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => n.output.forEach((o) => o && !producer.has(o) && producer.set(o, i)));
  const dependents: number[][] = nodes.map(() => []);
  const pending = new Array<number>(nodes.length).fill(0);
  nodes.forEach((n, i) => {
    const names = new Set(n.input.filter(Boolean));
    for (const g of graph.subgraphs(n)) for (const name of g.outerNames()) names.add(name);
    const deps = new Set<number>();
    for (const name of names) {
      const p = producer.get(name);
      if (p !== undefined) deps.add(p);
    }
    pending[i] = deps.size;
    for (const p of deps) (dependents[p] as number[]).push(i);
  });
  const ready = pending.flatMap((c, i) => (c === 0 ? [i] : []));
  let done = 0;
  while (ready.length) {
    const i = ready.pop() as number;
    done++;
    for (const j of dependents[i] as number[]) {
      pending[j] = (pending[j] as number) - 1;
      if (pending[j] === 0) ready.push(j);
    }
  }
  if (done === nodes.length) return [];
  return nodes.filter((_, i) => (pending[i] as number) > 0);
}

const PAYLOAD: Record<number, (a: AttributeProto) => boolean> = {
  [AttributeType.FLOAT]: () => true,
  [AttributeType.INT]: () => true,
  [AttributeType.STRING]: () => true,
  [AttributeType.TENSOR]: (a) => !!a.t,
  [AttributeType.GRAPH]: (a) => !!a.g,
  [AttributeType.SPARSE_TENSOR]: (a) => !!a.sparseTensor,
  [AttributeType.TYPE_PROTO]: (a) => !!a.tp,
  [AttributeType.FLOATS]: (a) => a.ints.length === 0 && a.strings.length === 0,
  [AttributeType.INTS]: (a) => a.floats.length === 0 && a.strings.length === 0,
  [AttributeType.STRINGS]: (a) => a.ints.length === 0 && a.floats.length === 0,
  [AttributeType.TENSORS]: () => true,
  [AttributeType.GRAPHS]: () => true,
  [AttributeType.SPARSE_TENSORS]: () => true,
  [AttributeType.TYPE_PROTOS]: () => true,
};

function checkAttribute(graph: Graph, node: NodeProto, a: AttributeProto, ctx: Context, problems: CheckProblem[]): void {
  if (a.refAttrName) return; // a reference to a function attribute carries no payload
  const ok = PAYLOAD[a.type];
  if (a.type === AttributeType.UNDEFINED && ctx.irVersion < 2) {
    // IR version 1 had no attribute type field; loaders infer it from the payload.
  } else if (!ok) {
    problems.push(problem(graph, CheckCode.ATTRIBUTE_TYPE, `attribute "${a.name}" has no valid type (${a.type})`, node));
  } else if (!ok(a)) {
    problems.push(problem(graph, CheckCode.ATTRIBUTE_TYPE, `attribute "${a.name}" is declared ${typeName(a.type)} but carries a different payload`, node));
  }
  if (a.t) checkTensor(graph, a.t, problems, node);
  for (const t of a.tensors) checkTensor(graph, t, problems, node);
}

function typeName(t: number): string {
  return Object.entries(AttributeType).find(([, v]) => v === t)?.[0] ?? String(t);
}

function checkTensor(graph: Graph, t: TensorProto, problems: CheckProblem[], node?: NodeProto): void {
  if (!isKnownDataType(t.dataType) || t.dataType === 0) {
    problems.push(problem(graph, CheckCode.UNKNOWN_DTYPE, `tensor "${t.name}" has unknown data type ${t.dataType}`, node, t.name));
    return;
  }
  if (t.dataLocation === 1 || t.segment) return;
  let count = 1;
  for (const d of t.dims) {
    const n = dimValue(d);
    if (n < 0) {
      problems.push(problem(graph, CheckCode.TENSOR_DATA, `tensor "${t.name}" has a negative dimension`, node, t.name));
      return;
    }
    count *= n;
  }
  const pending = pendingData(t);
  if (pending && t.dataType !== DataType.STRING) {
    // A lazy tensor (still in its file, or made when written): its region must fit its dims and type.
    const want = rawByteLength(t.dataType, count);
    if (pending.length !== want) {
      problems.push(problem(graph, CheckCode.TENSOR_DATA, `tensor "${t.name}" has ${pending.length} bytes of data in its file; its dims and type need ${want}`, node, t.name));
    }
    return;
  }
  if (Object.prototype.hasOwnProperty.call(t, 'rawData') && t.dataType !== DataType.STRING) {
    const want = rawByteLength(t.dataType, count);
    if (t.rawData.length !== want) {
      problems.push(problem(graph, CheckCode.TENSOR_DATA, `tensor "${t.name}" has ${t.rawData.length} bytes of raw data; its dims and type need ${want}`, node, t.name));
    }
    return;
  }
  const field = typedField(t);
  if (!field) return;
  const [fieldName, have, want] = field;
  if (have !== want && !(have === 0 && count === 0)) {
    const what = have === 0 ? 'no data' : `${have} values in ${fieldName}`;
    problems.push(problem(graph, CheckCode.TENSOR_DATA, `tensor "${t.name}" has ${what}; its dims and type need ${want}`, node, t.name));
  }
}

/** A dimension as a number, never throwing: a corrupt huge value just makes every size check fail. */
function dimValue(d: TensorProto['dims'][number]): number {
  return typeof d === 'number' ? d : d.toNumber();
}

/** The typed field that holds a tensor's values without raw_data: [name, values present, values needed]. */
function typedField(t: TensorProto): [string, number, number] | undefined {
  const n = t.dims.reduce<number>((a, d) => a * dimValue(d), 1);
  switch (t.dataType) {
    case DataType.FLOAT: return ['float_data', t.floatData.length, n];
    case DataType.COMPLEX64: return ['float_data', t.floatData.length, 2 * n];
    case DataType.DOUBLE: return ['double_data', t.doubleData.length, n];
    case DataType.COMPLEX128: return ['double_data', t.doubleData.length, 2 * n];
    case DataType.INT64: return ['int64_data', t.int64Data.length, n];
    case DataType.UINT32: case DataType.UINT64: return ['uint64_data', t.uint64Data.length, n];
    case DataType.STRING: return ['string_data', t.stringData.length, n];
    // Packed 4-bit types hold two values per int32_data entry.
    case DataType.INT4: case DataType.UINT4: case DataType.FLOAT4E2M1: return ['int32_data', t.int32Data.length, Math.ceil(n / 2)];
    default: return ['int32_data', t.int32Data.length, n];
  }
}

function checkTypeProto(graph: Graph, type: TypeProto | null | undefined, name: string, problems: CheckProblem[]): void {
  if (!type) return;
  const elem = type.tensorType?.elemType ?? type.sparseTensorType?.elemType;
  if (elem !== undefined && elem !== 0 && !isKnownDataType(elem)) {
    problems.push(problem(graph, CheckCode.UNKNOWN_DTYPE, `value "${name}" is declared with unknown element type ${elem}`, undefined, name));
  }
  if (type.sequenceType?.elemType) checkTypeProto(graph, type.sequenceType.elemType, name, problems);
  if (type.optionalType?.elemType) checkTypeProto(graph, type.optionalType.elemType, name, problems);
  if (type.mapType?.valueType) checkTypeProto(graph, type.mapType.valueType, name, problems);
}
