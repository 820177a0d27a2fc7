import {
  DataType, ForgeError, ForgeErrorCode, createNode, declaredDims, nodeLabel, createTensor, inferElemTypes, isExternal, scalarTensor, tensorDims, tensorRawBytes,
  tensorToInts, type ElemTypes, type Graph, type Model, type NodeOptions, type NodeProto, type TensorProto,
} from '@onnx-forge/core';

/** A dimension as declared: a size, a symbolic name, or unknown. */
export type Dim = number | string | null;

/** Thrown by an adapter that has no faithful rewrite for a node; the upgrade collects these and refuses. */
export class Refusal extends Error {
  override name = 'Refusal';
}

/**
 * What the steps of one upgrade share: the working copy of the model, element types (inferred once per
 * step that rewrites anything), where each rewritten node came from, and the main-graph initializers
 * the rewrites added.
 */
export class UpgradeState {
  private types: ElemTypes | undefined;
  private readonly origins = new WeakMap<NodeProto, NodeProto>();
  private readonly identities = new WeakMap<NodeProto, { label: string; opType: string }>();
  readonly addedInitializers: string[] = [];
  nodesAdded = 0;

  constructor(readonly model: Model) {}

  /**
   * Infers element types over the graph as it is before the step's first rewrite (a renamed operator
   * such as Upsample → Resize has no schema at the step's previous opset, which would leave its
   * readers untyped). Rewrites keep the names readers see, so values made during a step are read only
   * by the nodes made with them, which need no lookup.
   */
  beforeFirstRewrite(): void {
    this.types ??= inferElemTypes(this.model);
  }

  elemType(graph: Graph, name: string): number | undefined {
    this.types ??= inferElemTypes(this.model);
    return this.types.get(graph, name);
  }

  /** Called after each step: types are stale once the operator set changes (new schemas apply). */
  invalidateTypes(): void {
    this.types = undefined;
  }

  /** The node of the input model that `node` descends from (itself when it was never replaced). */
  originOf(node: NodeProto): NodeProto {
    return this.origins.get(node) ?? node;
  }

  /** Label and op type of the input-model node `node` descends from, as they were before any rewrite. */
  identityOf(node: NodeProto): { origin: NodeProto; label: string; opType: string } {
    const origin = this.originOf(node);
    let id = this.identities.get(origin);
    if (!id) this.identities.set(origin, (id = { label: nodeLabel(origin), opType: origin.opType }));
    return { origin, ...id };
  }

  inherit(next: NodeProto, from: NodeProto): void {
    this.origins.set(next, this.originOf(from));
  }
}

/**
 * The one node an adapter works on at one step (`version`: the opset the node must be valid at when the
 * adapter returns), with helpers that keep the graph valid: constants (initializers, or Constant nodes
 * in a function body), fresh names, nodes inserted around this one, and what is known of shapes and
 * element types.
 */
export class StepContext {
  private tail: NodeProto;

  constructor(
    readonly state: UpgradeState,
    readonly graph: Graph,
    public node: NodeProto,
    readonly version: number,
  ) {
    this.tail = node;
  }

  refuse(reason: string): never {
    throw new Refusal(reason);
  }

  fresh(base: string): string {
    return this.state.model.uniqueName(base);
  }

  /** A base for new names: the node's name, else its first output. */
  get base(): string {
    return this.node.name || this.node.output[0] || this.node.opType;
  }

  elemType(name: string): number | undefined {
    return name ? this.state.elemType(this.graph, name) : undefined;
  }

  /** Element type of input `i`, or a refusal naming what was needed. */
  requireElemType(i: number, what: string): number {
    const name = this.node.input[i] ?? '';
    const t = this.elemType(name);
    if (t === undefined) this.refuse(`the element type of ${name || `input ${i}`} is unknown, and ${what} needs it`);
    return t;
  }

  /** The declared shape of `name` (value_info, graph input/output, initializer or Constant), looking through enclosing scopes. */
  shape(name: string): Dim[] | undefined {
    if (!name) return undefined;
    const c = this.graph.constantValue(name);
    if (c) return tensorDims(c);
    for (let g: Graph | undefined = this.graph; g; g = g.parent) {
      const v = g.valueInfo(name);
      const shape = v?.type?.tensorType?.shape;
      if (shape) return declaredDims(shape) as Dim[];
      if (v || g.definesLocally(name)) return undefined;
    }
    return undefined;
  }

  rank(name: string): number | undefined {
    return this.shape(name)?.length;
  }

  /** The constant tensor `name` holds (initializer in scope or Constant node), if any. */
  constant(name: string | undefined): TensorProto | undefined {
    if (!name) return undefined;
    const t = this.graph.constantValue(name);
    return t && !isExternal(t) ? t : undefined;
  }

  constInts(name: string | undefined): number[] | undefined {
    const t = this.constant(name);
    return t ? tensorToInts(t) : undefined;
  }

  /**
   * Adds a constant and returns its name: an initializer of the main graph, or a Constant node before
   * this node in a subgraph or function body (functions have no initializers, and a subgraph
   * initializer of an IR 3 model would have to be listed as a subgraph input).
   */
  addConstant(base: string, tensor: TensorProto): string {
    const name = this.fresh(base);
    tensor.name = name;
    if (this.graph.kind !== 'main') {
      this.insertBefore(createNode('Constant', [], [name], { name: this.fresh(`${base}_const`), attributes: { value: tensor } }));
    } else {
      this.graph.addInitializer(tensor);
      this.state.addedInitializers.push(name);
    }
    return name;
  }

  int64s(base: string, values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.addConstant(base, scalarTensor(base, DataType.INT64, values, dims));
  }

  /** A constant of a numeric element type (float16 given as numbers is rounded). */
  typed(base: string, elemType: number, values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.addConstant(base, scalarTensor(base, elemType, values, dims));
  }

  /** The same bytes as `t` under other dimensions, as a new constant (the model's tensor is not touched). */
  reshapedConstant(base: string, t: TensorProto, dims: readonly number[]): string {
    const bytes = tensorRawBytes(t);
    return this.addConstant(base, createTensor(base, t.dataType, dims, bytes.slice()));
  }

  insertBefore(node: NodeProto): NodeProto {
    this.graph.addNode(node, { before: this.node });
    this.state.nodesAdded++;
    return node;
  }

  /** Inserts after this node (and after the nodes inserted after it so far, in call order). */
  insertAfter(node: NodeProto): NodeProto {
    this.graph.addNode(node, { after: this.tail });
    this.tail = node;
    this.state.nodesAdded++;
    return node;
  }

  /** A new node named after this one. */
  newNode(opType: string, inputs: readonly string[], outputs: readonly string[], attributes: NodeOptions['attributes'] = {}): NodeProto {
    return createNode(opType, inputs, outputs, { name: this.fresh(`${this.base}_${opType.toLowerCase()}`), attributes });
  }

  /**
   * Gives output `i` a fresh name and returns the old one, so a node inserted after this one can
   * produce it: readers, graph outputs and value_info keep the name they had.
   */
  detachOutput(i: number): { original: string; renamed: string } {
    const original = this.node.output[i];
    if (!original) throw new ForgeError(ForgeErrorCode.INVALID_GRAPH, `internal: output ${i} of ${this.base} is not set`);
    const renamed = this.fresh(`${original}_before_upgrade`);
    this.node.output[i] = renamed;
    this.graph.invalidate();
    return { original, renamed };
  }

  /** Replaces this node by `nodes`; `primary` carries the node's identity in the report. */
  replaceWith(nodes: NodeProto[], primary: NodeProto): void {
    this.graph.replaceNode(this.node, nodes);
    this.state.nodesAdded += nodes.length - 1;
    this.state.inherit(primary, this.node);
    this.node = primary;
    this.tail = nodes[nodes.length - 1] ?? primary;
  }

  /** Whether any node (here or in a nested or enclosing scope) or graph output reads `name`. */
  isRead(name: string | undefined): boolean {
    if (!name) return false;
    for (let g: Graph | undefined = this.graph; g; g = g.parent) {
      if (g.consumers(name).length > 0 || g.isGraphOutput(name)) return true;
      if (g.definesLocally(name)) return false;
    }
    return false;
  }
}
