import { dtypeName } from '../dtype.js';
import type { Graph } from '../ir/graph.js';
import { toClampedNumber } from '../ir/int64.js';
import { isDefaultDomain, type Model } from '../ir/model.js';
import { getOpSchema } from '../ops/get-op-schema.js';
import { canonicalDomain, paramAt, type OpSchema } from '../ops/op-schema.js';
import { nodeLabel } from '../ir/node-label.js';
import type { AttributeProto, FunctionProto, GraphProto, NodeProto } from '../proto/types.js';
import { OUTPUT_RULES, type RuleContext } from './op-rules.js';
import { type ValueType, formatValueType, sameValueType, tensorOf, valueTypeOf } from './value-type.js';

/** A value whose element type could not be inferred, and why (never skipped silently). */
export interface UnknownType {
  graph: string;
  value: string;
  node?: string;
  opType?: string;
  reason: string;
}

/** Element types (ONNX DataType numbers) of every value of every graph of a model. */
export interface ElemTypes {
  /**
   * The tensor element type of `name` as seen from `graph` (looks through enclosing scopes):
   * inferred from the operators where possible, else the declared type. Undefined when unknown
   * (then listed in `unknown`) and for values that are not tensors (see `type`).
   */
  get(graph: Graph, name: string): number | undefined;
  /** The full type of `name` (tensor, sequence, optional, map…), inferred else declared. */
  type(graph: Graph, name: string): ValueType | undefined;
  /** The type inferred from the operators alone, ignoring declarations (what the checker compares). */
  inferred(graph: Graph, name: string): ValueType | undefined;
  /**
   * The types a model-local function's inputs get from its call sites, when every call agrees (a
   * call that leaves an input untyped agrees only with calls that do too). Undefined for a function
   * nobody calls and for one whose calls disagree: a pass that rewrites types cannot rewrite such a
   * body once for all of them.
   */
  functionInputs(fn: Graph): readonly (ValueType | undefined)[] | undefined;
  /** Values whose type is unknown, with the reason. */
  readonly unknown: readonly UnknownType[];
}

interface Entry {
  inferred?: ValueType;
  declared?: ValueType;
}

/** The types of one graph's names, for one evaluation (a function body has one per call signature). */
interface Scope {
  graph: Graph;
  parent: Scope | undefined;
  entries: Map<string, Entry>;
  /** The calling node's attributes, for `ref_attr_name` inside a function body. */
  callAttrs?: Map<string, AttributeProto>;
  /** Opset imports that apply (a function's own, else the model's). */
  opsets: Map<string, number>;
  /** Why an output stayed untyped, by value name. */
  reasons: Map<string, string>;
}

const MAX_FUNCTION_DEPTH = 16;

/**
 * Infers element types over the ai.onnx, ai.onnx.ml and common com.microsoft operators: from the
 * type variables of each operator's schema bound by its inputs, from attributes (Cast `to`,
 * `dtype`, Constant values…), through If/Loop/Scan/SequenceMap subgraphs (body inputs typed from
 * the node) and model-local functions (the body typed from each call). Declared types fill in
 * where inference cannot decide; every value still untyped is listed in `unknown` with the reason.
 */
export function inferElemTypes(model: Model): ElemTypes {
  return new Inference(model).run();
}

class Inference {
  private readonly scopes = new Map<GraphProto | FunctionProto, Scope>();
  private readonly functionScopes = new Map<FunctionProto, Scope[]>();
  private readonly functions = new Map<string, Graph>();
  private readonly memo = new Map<string, (ValueType | undefined)[]>();
  /** Input types per function, from its calls so far; null once two calls disagree. */
  private readonly callInputs = new Map<FunctionProto, (ValueType | undefined)[] | null>();
  private readonly unknown: UnknownType[] = [];
  private readonly modelOpsets = new Map<string, number>();
  private depth = 0;

  constructor(private readonly model: Model) {
    for (const o of model.proto.opsetImport) this.modelOpsets.set(canonicalDomain(o.domain), toClampedNumber(o.version));
    for (const f of model.functions()) {
      const p = f.proto as FunctionProto;
      this.functions.set(functionKey(p.domain, p.name, p.overload), f);
    }
  }

  run(): ElemTypes {
    const main = this.newScope(this.model.graph, undefined, this.modelOpsets);
    this.scopes.set(this.model.graph.proto, main);
    this.inferGraph(main, undefined);
    this.collectUnknown(main, true);
    // Function bodies: typed by their calls; merged over calls, and typed from declarations alone when never called.
    for (const f of this.model.functions()) {
      const proto = f.proto as FunctionProto;
      const evaluations = this.functionScopes.get(proto) ?? [];
      if (evaluations.length === 0) {
        const scope = this.newScope(f, undefined, this.functionOpsets(proto));
        this.inferGraph(scope, undefined);
        evaluations.push(scope);
        for (const name of f.inputNames()) if (!scope.entries.get(name)) scope.reasons.set(name, 'function input, and the function is never called');
      }
      const merged = this.mergeScopes(f, evaluations);
      this.scopes.set(proto, merged);
      this.collectUnknown(merged, true);
    }
    const lookup = (graph: Graph, name: string): Entry | undefined => {
      let scope = this.scopeOf(graph);
      let g: Graph | undefined = graph;
      while (scope && g) {
        const e = scope.entries.get(name);
        if (e) return e;
        if (g.definesLocally(name)) return undefined;
        g = g.parent;
        scope = g ? this.scopeOf(g) : undefined;
      }
      return undefined;
    };
    return {
      get: (graph, name) => {
        const e = lookup(graph, name);
        const t = e?.inferred ?? e?.declared;
        return t && t.kind === 'tensor' && t.elemType ? t.elemType : undefined;
      },
      type: (graph, name) => {
        const e = lookup(graph, name);
        return e?.inferred ?? e?.declared;
      },
      inferred: (graph, name) => lookup(graph, name)?.inferred,
      functionInputs: (fn) => this.callInputs.get(fn.proto as FunctionProto) ?? undefined,
      unknown: this.unknown,
    };
  }

  private scopeOf(graph: Graph): Scope | undefined {
    return this.scopes.get(graph.proto);
  }

  private newScope(graph: Graph, parent: Scope | undefined, opsets: Map<string, number>, callAttrs?: Map<string, AttributeProto>): Scope {
    const scope: Scope = { graph, parent, entries: new Map(), opsets, reasons: new Map() };
    if (callAttrs) scope.callAttrs = callAttrs;
    return scope;
  }

  private functionOpsets(f: FunctionProto): Map<string, number> {
    const m = new Map(this.modelOpsets);
    for (const o of f.opsetImport) m.set(canonicalDomain(o.domain), toClampedNumber(o.version));
    return m;
  }

  private lookupType(scope: Scope, name: string): ValueType | undefined {
    for (let s: Scope | undefined = scope; s; s = s.parent) {
      const e = s.entries.get(name);
      if (e) return e.inferred ?? e.declared;
      if (s.graph.definesLocally(name)) return undefined;
    }
    return undefined;
  }

  /**
   * Types every name of `scope.graph`. `inputTypes` (subgraph bodies and function calls) types the
   * formal inputs from the node; undefined entries keep the declared type.
   */
  private inferGraph(scope: Scope, inputTypes: readonly (ValueType | undefined)[] | undefined): void {
    const graph = scope.graph;
    const set = (name: string, e: Entry) => {
      if (!name) return;
      const prev = scope.entries.get(name);
      scope.entries.set(name, prev ? { ...prev, ...e } : e);
    };
    for (const v of graph.valueInfos) {
      const d = valueTypeOf(v.type);
      if (d) set(v.name, { declared: d });
    }
    graph.inputNames().forEach((name, i) => {
      const declared = valueTypeOf(graph.valueInfo(name)?.type);
      const given = inputTypes?.[i];
      const e: Entry = {};
      if (declared) e.declared = declared;
      if (given) e.inferred = given;
      if (declared || given) set(name, e);
      else scope.reasons.set(name, graph.isFunction ? 'function input not typed by its call' : 'graph input with no declared type');
    });
    for (const t of graph.initializers) {
      // A graph input of the same name keeps its declared type; the initializer is only its default.
      if (!scope.entries.get(t.name)?.inferred) set(t.name, { inferred: tensorOf(t.dataType) });
    }
    if (!graph.isFunction) {
      for (const s of (graph.proto as GraphProto).sparseInitializer) {
        if (s.values) set(s.values.name, { inferred: { kind: 'sparse_tensor', elemType: s.values.dataType } });
      }
    }
    for (const v of graph.outputs) {
      const d = valueTypeOf(v.type);
      if (d) set(v.name, { declared: d });
    }
    for (const node of topologicalOrder(graph)) this.inferNode(scope, node);
  }

  private inferNode(scope: Scope, node: NodeProto): void {
    const graph = scope.graph;
    const domain = canonicalDomain(node.domain);
    const attrOf = (name: string): AttributeProto | undefined => {
      const a = node.attribute.find((x) => x.name === name);
      if (a?.refAttrName) return scope.callAttrs?.get(a.refAttrName);
      return a;
    };
    const inputs = node.input.map((n) => (n ? this.lookupType(scope, n) : undefined));
    let outputs: (ValueType | undefined)[] = [];
    const reasons: (string | undefined)[] = [];

    const fn = this.functions.get(functionKey(node.domain, node.opType, node.overload));
    const opset = scope.opsets.get(domain);
    const schema = fn ? undefined : getOpSchema(node.opType, domain, opset ?? Number.MAX_SAFE_INTEGER);
    const subgraphOutputs = (name: string, types: readonly (ValueType | undefined)[]): (ValueType | undefined)[] => {
      const a = node.attribute.find((x) => x.name === name);
      const sub = a?.g ? graph.subgraphs(node).find((g) => g.proto === a.g) : undefined;
      if (!sub) return [];
      const s = this.subgraphScope(sub, scope);
      this.inferGraph(s, types);
      return sub.outputNames().map((o) => this.lookupType(s, o));
    };

    if (fn) {
      outputs = this.callFunction(fn, node, inputs, scope);
      if (outputs.every((t) => !t)) reasons.push(...node.output.map(() => `the body of function ${node.domain}.${node.opType} gives it no type`));
    } else {
      const rule = OUTPUT_RULES[`${domain}|${node.opType}`];
      if (rule) {
        const ctx: RuleContext = {
          node, schema,
          input: (i) => inputs[i],
          has: (i) => !!node.input[i],
          attr: attrOf,
          subgraph: subgraphOutputs,
        };
        outputs = rule(ctx);
      }
      if (schema) {
        const bound = bindOutputs(schema, node, inputs);
        node.output.forEach((_, i) => {
          if (!outputs[i]) {
            outputs[i] = bound.types[i];
            reasons[i] = bound.reasons[i];
          }
        });
      } else if (!rule) {
        const why = opset === undefined && !isDefaultDomain(domain)
          ? `operator ${domain}.${node.opType}: domain "${domain}" is not imported`
          : `no schema for operator ${domain || 'ai.onnx'}.${node.opType}${opset === undefined ? '' : ` at opset ${opset}`}`;
        node.output.forEach((_, i) => (reasons[i] = why));
      }
    }
    // Graph attributes no rule looked into (unknown ops, BeamSearch…) are still typed from their declarations.
    for (const sub of graph.subgraphs(node)) {
      if (!this.scopes.has(sub.proto)) this.inferGraph(this.subgraphScope(sub, scope), undefined);
    }
    node.output.forEach((name, i) => {
      if (!name) return;
      const t = outputs[i];
      if (t && (t.elemType || t.kind !== 'tensor')) {
        const prev = scope.entries.get(name);
        scope.entries.set(name, { ...prev, inferred: t });
      } else if (!scope.entries.get(name)?.declared) {
        scope.reasons.set(name, reasons[i] ?? `${nodeLabel(node)} gives output ${i} no type`);
      }
    });
  }

  private subgraphScope(sub: Graph, parent: Scope): Scope {
    const s = this.newScope(sub, parent, parent.opsets, parent.callAttrs);
    this.scopes.set(sub.proto, s);
    return s;
  }

  private callFunction(fn: Graph, node: NodeProto, inputs: readonly (ValueType | undefined)[], caller: Scope): (ValueType | undefined)[] {
    const proto = fn.proto as FunctionProto;
    this.recordCall(proto, inputs);
    const callAttrs = new Map<string, AttributeProto>();
    for (const a of proto.attributeProto) callAttrs.set(a.name, a);
    for (const a of node.attribute) {
      const resolved = a.refAttrName ? caller.callAttrs?.get(a.refAttrName) : a;
      if (resolved) callAttrs.set(a.name, resolved);
    }
    const key = `${functionKey(proto.domain, proto.name, proto.overload)}(${inputs.map(formatValueType).join(',')})${[...callAttrs.values()].map(attrKey).join(';')}`;
    const cached = this.memo.get(key);
    if (cached) return cached;
    if (this.depth >= MAX_FUNCTION_DEPTH) return [];
    this.depth++;
    try {
      const scope = this.newScope(fn, undefined, this.functionOpsets(proto), callAttrs);
      this.inferGraph(scope, inputs);
      let list = this.functionScopes.get(proto);
      if (!list) this.functionScopes.set(proto, (list = []));
      list.push(scope);
      const out = fn.outputNames().map((o) => this.lookupType(scope, o));
      this.memo.set(key, out);
      return out;
    } finally {
      this.depth--;
    }
  }

  private recordCall(proto: FunctionProto, inputs: readonly (ValueType | undefined)[]): void {
    const args = proto.input.map((_, i) => inputs[i]);
    const prev = this.callInputs.get(proto);
    if (prev === undefined) this.callInputs.set(proto, args);
    else if (prev && prev.some((t, i) => (t || args[i] ? !sameValueType(t, args[i]) : false))) this.callInputs.set(proto, null);
  }

  /** One scope for a function body: a name keeps a type when every call agrees on it. */
  private mergeScopes(f: Graph, evaluations: Scope[]): Scope {
    const first = evaluations[0] as Scope;
    if (evaluations.length === 1) return first;
    const merged = this.newScope(f, undefined, first.opsets);
    const names = new Set<string>();
    for (const s of evaluations) for (const n of s.entries.keys()) names.add(n);
    for (const name of names) {
      const types = evaluations.map((s) => s.entries.get(name));
      const inferred = types.map((e) => e?.inferred);
      const e: Entry = {};
      const d = types.find((x) => x?.declared)?.declared;
      if (d) e.declared = d;
      if (inferred.every((t) => sameValueType(t, inferred[0]))) {
        if (inferred[0]) e.inferred = inferred[0];
      } else {
        merged.reasons.set(name, `calls give it different types (${[...new Set(inferred.map(formatValueType))].join(', ')})`);
      }
      if (e.inferred || e.declared) merged.entries.set(name, e);
    }
    for (const s of evaluations) for (const [n, r] of s.reasons) if (!merged.entries.has(n) && !merged.reasons.has(n)) merged.reasons.set(n, r);
    return merged;
  }

  /** Lists every name of the scope (and its subgraphs) that has no type. */
  private collectUnknown(scope: Scope, deep: boolean): void {
    const graph = scope.graph;
    const seen = new Set<string>();
    const add = (name: string, node?: NodeProto) => {
      if (!name || seen.has(name)) return;
      seen.add(name);
      const e = scope.entries.get(name);
      if (e?.inferred || e?.declared) return;
      const u: UnknownType = { graph: graph.path, value: name, reason: scope.reasons.get(name) ?? 'no rule types it' };
      if (node) {
        u.node = nodeLabel(node);
        u.opType = node.opType;
      }
      this.unknown.push(u);
    };
    for (const name of graph.inputNames()) add(name);
    for (const node of graph.nodes) for (const o of node.output) add(o, node);
    if (!deep) return;
    for (const node of graph.nodes) {
      for (const sub of graph.subgraphs(node)) {
        const s = this.scopes.get(sub.proto);
        if (s) this.collectUnknown(s, true);
      }
    }
  }
}

function functionKey(domain: string, name: string, overload: string | undefined): string {
  return `${canonicalDomain(domain)}|${name}|${overload ?? ''}`;
}

function attrKey(a: AttributeProto): string {
  return `${a.name}=${a.type}:${String(a.i)}:${a.f}:${a.s.length ? new TextDecoder().decode(a.s) : ''}:${a.ints.join(',')}`;
}

/**
 * Output types from the schema's type variables: a variable takes the type of the first input bound
 * to it, or its only allowed type.
 */
function bindOutputs(schema: OpSchema, node: NodeProto, inputs: readonly (ValueType | undefined)[]): { types: (ValueType | undefined)[]; reasons: (string | undefined)[] } {
  const bound = new Map<string, ValueType>();
  const untyped: string[] = [];
  for (let i = 0; i < node.input.length; i++) {
    if (!node.input[i]) continue;
    const p = paramAt(schema.inputs, i);
    if (!p || p.heterogeneous) continue;
    const t = inputs[i];
    if (t) {
      if (!bound.has(p.typeVar)) bound.set(p.typeVar, t);
    } else {
      untyped.push(node.input[i] as string);
    }
  }
  for (const [v, allowed] of Object.entries(schema.typeConstraints)) {
    if (!bound.has(v) && allowed.length === 1 && !schema.containers?.[v]) bound.set(v, tensorOf(allowed[0] as number));
  }
  const types: (ValueType | undefined)[] = [];
  const reasons: (string | undefined)[] = [];
  node.output.forEach((_, i) => {
    const p = paramAt(schema.outputs, i);
    if (!p) {
      reasons[i] = `${schema.opType} has no output ${i}`;
      return;
    }
    if (p.heterogeneous) {
      reasons[i] = `${schema.opType} output ${i} (${p.name}) takes its type from a subgraph or call that gave none`;
      return;
    }
    const t = bound.get(p.typeVar);
    if (t) {
      // A tensor-only variable bound from a tensor keeps kind; a container variable copies the input's kind.
      types[i] = schema.containers?.[p.typeVar] ? t : { kind: 'tensor', elemType: t.elemType };
      return;
    }
    const allowed = schema.typeConstraints[p.typeVar] ?? [];
    reasons[i] = untyped.length
      ? `type variable ${p.typeVar} of ${schema.opType} would come from input(s) of unknown type: ${untyped.join(', ')}`
      : `no input binds type variable ${p.typeVar} of ${schema.opType} (allowed: ${allowed.map(dtypeName).join(', ')})`;
  });
  return { types, reasons };
}

/** Nodes in a dependency order (the stored order when already sorted; a cycle keeps the rest in place). */
function topologicalOrder(graph: Graph): NodeProto[] {
  const nodes = graph.nodes;
  const produced = new Map<string, number>();
  nodes.forEach((n, i) => n.output.forEach((o) => o && !produced.has(o) && produced.set(o, i)));
  let sorted = true;
  for (let i = 0; i < nodes.length && sorted; i++) {
    for (const name of dependencies(graph, nodes[i] as NodeProto)) {
      const p = produced.get(name);
      if (p !== undefined && p > i) {
        sorted = false;
        break;
      }
    }
  }
  if (sorted) return nodes;
  const state = new Uint8Array(nodes.length);
  const order: NodeProto[] = [];
  const visit = (i: number) => {
    // Iterative depth-first search: 1 = on the stack, 2 = done.
    const stack: [number, string[], number][] = [[i, dependencies(graph, nodes[i] as NodeProto), 0]];
    state[i] = 1;
    while (stack.length) {
      const top = stack[stack.length - 1] as [number, string[], number];
      const deps = top[1];
      if (top[2] < deps.length) {
        const p = produced.get(deps[top[2]++] as string);
        if (p !== undefined && state[p] === 0) {
          state[p] = 1;
          stack.push([p, dependencies(graph, nodes[p] as NodeProto), 0]);
        }
      } else {
        stack.pop();
        state[top[0]] = 2;
        order.push(nodes[top[0]] as NodeProto);
      }
    }
  };
  for (let i = 0; i < nodes.length; i++) if (state[i] === 0) visit(i);
  return order;
}

function dependencies(graph: Graph, node: NodeProto): string[] {
  const names = node.input.filter(Boolean);
  for (const g of graph.subgraphs(node)) for (const n of g.outerNames()) names.push(n);
  return names;
}
