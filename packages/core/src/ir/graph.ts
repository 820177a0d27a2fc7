import { ForgeError, ForgeErrorCode } from '../errors.js';
import { onnx } from '../proto/onnx.generated.js';
import type { FunctionProto, GraphProto, NodeProto, TensorProto, TypeProto, ValueInfoProto } from '../proto/types.js';
import { nodeSubgraphs } from './attributes.js';
import type { Model } from './model.js';

export type GraphKind = 'main' | 'subgraph' | 'function';

/** A direct use of a value: `node.input[index]`. */
export interface Use {
  node: NodeProto;
  index: number;
}

interface GraphIndex {
  producers: Map<string, NodeProto>;
  /** Direct uses by nodes of this graph. */
  uses: Map<string, Use[]>;
  /** Nodes of this graph that read a name only inside one of their subgraphs. */
  implicitUsers: Map<string, NodeProto[]>;
  initializers: Map<string, TensorProto>;
  valueInfo: Map<string, ValueInfoProto>;
  /** Names this graph reads from enclosing scopes (its implicit inputs). */
  outerNames: Set<string>;
  position: Map<NodeProto, number>;
}

/**
 * A mutable view over a GraphProto (main graph or subgraph) or a FunctionProto body. The node,
 * initializer and value-info arrays are the proto's own, so edits through this class are the model.
 * Use/def maps are built lazily and dropped by every mutation made here; after editing protos
 * directly, call `invalidate()`.
 */
export class Graph {
  private index: GraphIndex | undefined;
  private readonly children = new WeakMap<GraphProto, Graph>();

  constructor(
    readonly model: Model,
    readonly proto: GraphProto | FunctionProto,
    readonly kind: GraphKind,
    readonly parent?: Graph,
    /** The node whose attribute holds this subgraph. */
    readonly owner?: NodeProto,
  ) {}

  get isFunction(): boolean {
    return this.kind === 'function';
  }

  get name(): string {
    return this.proto.name;
  }

  /** A readable path such as `main/If_0.then_branch`. */
  get path(): string {
    if (this.kind === 'main') return 'main';
    if (this.kind === 'function') return `function:${(this.proto as FunctionProto).domain}.${this.proto.name}`;
    const owner = this.owner;
    const label = owner ? owner.name || owner.opType : '?';
    return `${this.parent?.path ?? '?'}/${label}.${this.proto.name || 'subgraph'}`;
  }

  get nodes(): NodeProto[] {
    return this.proto.node;
  }

  get inputs(): ValueInfoProto[] {
    return this.isFunction ? [] : (this.proto as GraphProto).input;
  }

  get outputs(): ValueInfoProto[] {
    return this.isFunction ? [] : (this.proto as GraphProto).output;
  }

  get initializers(): TensorProto[] {
    return this.isFunction ? [] : (this.proto as GraphProto).initializer;
  }

  get valueInfos(): ValueInfoProto[] {
    return this.proto.valueInfo;
  }

  inputNames(): string[] {
    return this.isFunction ? (this.proto as FunctionProto).input : (this.proto as GraphProto).input.map((v) => v.name);
  }

  outputNames(): string[] {
    return this.isFunction ? (this.proto as FunctionProto).output : (this.proto as GraphProto).output.map((v) => v.name);
  }

  /** Inputs that are not also initializers (IR < 4 lists initializers as inputs too). */
  realInputNames(): string[] {
    const idx = this.idx();
    return this.inputNames().filter((n) => !idx.initializers.has(n));
  }

  private idx(): GraphIndex {
    if (this.index) return this.index;
    const producers = new Map<string, NodeProto>();
    const uses = new Map<string, Use[]>();
    const implicitUsers = new Map<string, NodeProto[]>();
    const position = new Map<NodeProto, number>();
    const defined = new Set<string>(this.inputNames());
    const initializers = new Map<string, TensorProto>();
    for (const t of this.initializers) {
      initializers.set(t.name, t);
      defined.add(t.name);
    }
    if (!this.isFunction) for (const t of (this.proto as GraphProto).sparseInitializer) if (t.values) defined.add(t.values.name);
    const nodes = this.nodes;
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[i] as NodeProto;
      position.set(n, i);
      for (const o of n.output) if (o) {
        producers.set(o, n);
        defined.add(o);
      }
    }
    const outerNames = new Set<string>();
    for (const n of nodes) {
      n.input.forEach((name, index) => {
        if (!name) return;
        let list = uses.get(name);
        if (!list) uses.set(name, (list = []));
        list.push({ node: n, index });
        if (!defined.has(name)) outerNames.add(name);
      });
      for (const g of this.subgraphs(n)) {
        for (const name of g.idx().outerNames) {
          let list = implicitUsers.get(name);
          if (!list) implicitUsers.set(name, (list = []));
          if (!list.includes(n)) list.push(n);
          if (!defined.has(name)) outerNames.add(name);
        }
      }
    }
    for (const o of this.outputNames()) if (o && !defined.has(o)) outerNames.add(o);
    const valueInfo = new Map<string, ValueInfoProto>();
    for (const v of this.proto.valueInfo) valueInfo.set(v.name, v);
    for (const v of this.inputs) valueInfo.set(v.name, v);
    for (const v of this.outputs) valueInfo.set(v.name, v);
    this.index = { producers, uses, implicitUsers, initializers, valueInfo, outerNames, position };
    return this.index;
  }

  /** Drops cached maps of this graph and every enclosing graph (their implicit inputs may change). */
  invalidate(): void {
    this.index = undefined;
    if (this.parent) this.parent.invalidate();
    else this.model.changed();
  }

  /** Drops cached maps of this graph and all its subgraphs. */
  invalidateDeep(): void {
    this.index = undefined;
    for (const n of this.nodes) for (const g of this.subgraphs(n)) g.invalidateDeep();
  }

  /** The node producing `name` in this graph. */
  producer(name: string): NodeProto | undefined {
    return this.idx().producers.get(name);
  }

  /** Direct uses of `name` by nodes of this graph. */
  uses(name: string): Use[] {
    return this.idx().uses.get(name) ?? [];
  }

  /** Nodes of this graph that read `name`, directly or inside their subgraphs. */
  consumers(name: string): NodeProto[] {
    const idx = this.idx();
    const out: NodeProto[] = [];
    for (const u of idx.uses.get(name) ?? []) if (!out.includes(u.node)) out.push(u.node);
    for (const n of idx.implicitUsers.get(name) ?? []) if (!out.includes(n)) out.push(n);
    return out;
  }

  /** Nodes of this graph that read `name` only through a subgraph. */
  implicitConsumers(name: string): NodeProto[] {
    return this.idx().implicitUsers.get(name) ?? [];
  }

  /** Names this graph reads from enclosing scopes. */
  outerNames(): ReadonlySet<string> {
    return this.idx().outerNames;
  }

  isGraphOutput(name: string): boolean {
    return this.outputNames().includes(name);
  }

  isGraphInput(name: string): boolean {
    return this.inputNames().includes(name);
  }

  /** Index of a node in this graph's node list (-1 if absent). */
  positionOf(node: NodeProto): number {
    return this.idx().position.get(node) ?? -1;
  }

  /** The initializer of this graph named `name`. */
  initializer(name: string): TensorProto | undefined {
    return this.idx().initializers.get(name);
  }

  /** Whether `name` is defined in this graph (input, initializer or node output). */
  definesLocally(name: string): boolean {
    const idx = this.idx();
    return idx.producers.has(name) || idx.initializers.has(name) || this.inputNames().includes(name);
  }

  /**
   * The initializer `name` resolves to from this graph, looking through enclosing scopes; undefined
   * when a closer definition (an input or a node output) shadows it.
   */
  resolveInitializer(name: string): { tensor: TensorProto; graph: Graph } | undefined {
    for (let g: Graph | undefined = this; g; g = g.parent) {
      const t = g.initializer(name);
      if (t) {
        // A graph input of the same name overrides a default initializer (IR >= 4 semantics).
        if (g.kind === 'main' && g.inputNames().includes(name) && g.model.irVersion >= 4) return undefined;
        return { tensor: t, graph: g };
      }
      if (g.definesLocally(name)) return undefined;
    }
    return undefined;
  }

  /** The constant value of `name`: an initializer in scope or the tensor of a Constant node. */
  constantValue(name: string): TensorProto | undefined {
    const init = this.resolveInitializer(name);
    if (init) return init.tensor;
    for (let g: Graph | undefined = this; g; g = g.parent) {
      const p = g.producer(name);
      if (p) {
        if (p.opType === 'Constant' && (p.domain === '' || p.domain === 'ai.onnx')) {
          const a = p.attribute.find((x) => x.name === 'value');
          return a?.t ?? undefined;
        }
        return undefined;
      }
      if (g.definesLocally(name)) return undefined;
    }
    return undefined;
  }

  /** Value info (input, output or value_info entry) of `name` in this graph. */
  valueInfo(name: string): ValueInfoProto | undefined {
    return this.idx().valueInfo.get(name);
  }

  /** Declared element type of `name` from value infos in this graph or enclosing ones, or initializers. */
  declaredElemType(name: string): number | undefined {
    for (let g: Graph | undefined = this; g; g = g.parent) {
      const v = g.valueInfo(name);
      const t = v?.type?.tensorType?.elemType;
      if (t) return t;
      const init = g.initializer(name);
      if (init) return init.dataType;
      if (g.definesLocally(name)) return undefined;
    }
    return undefined;
  }

  /** Wrappers of the node's graph attributes, cached per GraphProto. */
  subgraphs(node: NodeProto): Graph[] {
    const out: Graph[] = [];
    for (const g of nodeSubgraphs(node)) {
      let w = this.children.get(g);
      if (!w || w.owner !== node) {
        w = new Graph(this.model, g, 'subgraph', this, node);
        this.children.set(g, w);
      }
      out.push(w);
    }
    return out;
  }

  /** This graph and every nested subgraph, outermost first. */
  *walk(): Generator<Graph> {
    yield this;
    for (const n of [...this.nodes]) for (const g of this.subgraphs(n)) yield* g.walk();
  }

  // ---- mutations ----

  /** Inserts a node (at the end, or before/after another node of this graph). */
  addNode(node: NodeProto, where: { before?: NodeProto; after?: NodeProto } = {}): NodeProto {
    const nodes = this.nodes;
    if (where.before) {
      const i = nodes.indexOf(where.before);
      nodes.splice(i < 0 ? nodes.length : i, 0, node);
    } else if (where.after) {
      const i = nodes.indexOf(where.after);
      nodes.splice(i < 0 ? nodes.length : i + 1, 0, node);
    } else {
      nodes.push(node);
    }
    this.invalidate();
    return node;
  }

  removeNode(node: NodeProto): void {
    const i = this.nodes.indexOf(node);
    if (i < 0) throw new ForgeError(ForgeErrorCode.INVALID_GRAPH, `node "${node.name || node.opType}" is not in graph ${this.path}`);
    this.nodes.splice(i, 1);
    this.invalidate();
  }

  removeNodes(nodes: Iterable<NodeProto>): void {
    const drop = new Set(nodes);
    const kept = this.nodes.filter((n) => !drop.has(n));
    this.nodes.length = 0;
    this.nodes.push(...kept);
    this.invalidate();
  }

  /** Replaces one node by several, in place. */
  replaceNode(node: NodeProto, replacement: NodeProto[]): void {
    const i = this.nodes.indexOf(node);
    if (i < 0) throw new ForgeError(ForgeErrorCode.INVALID_GRAPH, `node "${node.name || node.opType}" is not in graph ${this.path}`);
    this.nodes.splice(i, 1, ...replacement);
    this.invalidate();
  }

  setInput(node: NodeProto, index: number, name: string): void {
    node.input[index] = name;
    this.invalidate();
  }

  /**
   * Makes every reader of `from` read `to` instead: nodes of this graph, subgraphs that see `from`
   * from this scope, and (unless `graphOutputs: false`) this graph's outputs.
   */
  replaceAllUses(from: string, to: string, options: { except?: ReadonlySet<NodeProto>; graphOutputs?: boolean } = {}): number {
    let count = 0;
    const visit = (g: Graph): void => {
      for (const n of g.nodes) {
        if (options.except?.has(n)) continue;
        for (let i = 0; i < n.input.length; i++) {
          if (n.input[i] === from) {
            n.input[i] = to;
            count++;
          }
        }
        for (const sub of g.subgraphs(n)) if (!sub.definesLocally(from)) visit(sub);
      }
      g.index = undefined;
    };
    visit(this);
    if (options.graphOutputs !== false) {
      if (this.isFunction) {
        const outs = (this.proto as FunctionProto).output;
        for (let i = 0; i < outs.length; i++) if (outs[i] === from) outs[i] = to;
      } else {
        for (const o of this.outputs) if (o.name === from) o.name = to;
      }
    }
    this.invalidate();
    return count;
  }

  addInitializer(tensor: TensorProto): TensorProto {
    if (this.isFunction) throw new ForgeError(ForgeErrorCode.INVALID_GRAPH, `function ${this.path} cannot hold initializers; use a Constant node`);
    (this.proto as GraphProto).initializer.push(tensor);
    this.invalidate();
    return tensor;
  }

  /** Removes an initializer (and its entry in the graph inputs, as IR < 4 models list them). */
  removeInitializer(name: string): boolean {
    if (this.isFunction) return false;
    const g = this.proto as GraphProto;
    const i = g.initializer.findIndex((t) => t.name === name);
    if (i < 0) return false;
    g.initializer.splice(i, 1);
    const j = g.input.findIndex((v) => v.name === name);
    if (j >= 0) g.input.splice(j, 1);
    this.invalidate();
    return true;
  }

  /** Records (or replaces) the tensor type of `name` in value_info (or in the input/output entry). */
  setTensorType(name: string, elemType: number, shape?: readonly (number | string | null)[] | null): void {
    const type = tensorType(elemType, shape);
    const existing = this.valueInfo(name);
    if (existing) {
      if (existing.type?.tensorType && shape === undefined) existing.type.tensorType.elemType = elemType;
      else existing.type = type;
      return;
    }
    this.proto.valueInfo.push(new onnx.ValueInfoProto({ name, type }));
    this.invalidate();
  }

  /** Sets the element type of `name` wherever it is declared, keeping the declared shape. */
  setElemType(name: string, elemType: number): void {
    const v = this.valueInfo(name);
    if (v?.type?.tensorType) v.type.tensorType.elemType = elemType;
  }

  removeValueInfo(name: string): void {
    const list = this.proto.valueInfo;
    const i = list.findIndex((v) => v.name === name);
    if (i >= 0) {
      list.splice(i, 1);
      this.invalidate();
    }
  }

  /**
   * Sorts nodes topologically, keeping the existing order where it is already valid. Subgraph reads
   * of outer values count as dependencies of the node holding the subgraph. Throws on a cycle.
   */
  toposort(): void {
    const nodes = this.nodes;
    const idx = this.idx();
    const deps = new Map<NodeProto, Set<NodeProto>>();
    const dependents = new Map<NodeProto, NodeProto[]>();
    for (const n of nodes) {
      const d = new Set<NodeProto>();
      const names = new Set(n.input.filter(Boolean));
      for (const g of this.subgraphs(n)) for (const name of g.outerNames()) names.add(name);
      for (const name of names) {
        const p = idx.producers.get(name);
        if (p && p !== n) d.add(p);
      }
      deps.set(n, d);
      for (const p of d) {
        let l = dependents.get(p);
        if (!l) dependents.set(p, (l = []));
        l.push(n);
      }
    }
    const remaining = new Map<NodeProto, number>();
    for (const [n, d] of deps) remaining.set(n, d.size);
    // Kahn's algorithm with a priority on original position, so an already sorted graph is unchanged.
    const ready: number[] = [];
    const pos = (n: NodeProto) => idx.position.get(n) as number;
    const push = (i: number) => {
      let lo = 0, hi = ready.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if ((ready[mid] as number) > i) lo = mid + 1;
        else hi = mid;
      }
      ready.splice(lo, 0, i);
    };
    for (const n of nodes) if ((remaining.get(n) as number) === 0) push(pos(n));
    const order: NodeProto[] = [];
    while (ready.length) {
      const n = nodes[ready.pop() as number] as NodeProto;
      order.push(n);
      for (const m of dependents.get(n) ?? []) {
        const r = (remaining.get(m) as number) - 1;
        remaining.set(m, r);
        if (r === 0) push(pos(m));
      }
    }
    if (order.length !== nodes.length) {
      const stuck = nodes.filter((n) => (remaining.get(n) as number) > 0).slice(0, 5);
      throw new ForgeError(ForgeErrorCode.INVALID_GRAPH, `graph ${this.path} has a cycle through ${stuck.map((n) => `"${n.name || n.opType}"`).join(', ')}`, {
        details: { graph: this.path, nodes: stuck.map((n) => n.name || n.opType) },
      });
    }
    nodes.length = 0;
    nodes.push(...order);
    this.invalidate();
  }
}

/** A TypeProto for a tensor; shape entries are numbers (fixed), strings (symbolic) or null (unknown). */
export function tensorType(elemType: number, shape?: readonly (number | string | null)[] | null): TypeProto {
  const t = new onnx.TypeProto.Tensor({ elemType });
  if (shape) {
    t.shape = new onnx.TensorShapeProto({
      dim: shape.map((d) =>
        typeof d === 'number'
          ? new onnx.TensorShapeProto.Dimension({ dimValue: d })
          : typeof d === 'string'
            ? new onnx.TensorShapeProto.Dimension({ dimParam: d })
            : new onnx.TensorShapeProto.Dimension(),
      ),
    });
  }
  return new onnx.TypeProto({ tensorType: t });
}
