import {
  DataType, ForgeError, ForgeErrorCode, createNode, createTensor, derivedTensor, isDefaultDomain, tensorDims, tensorToArray,
  type Computed, type Derive, type Graph, type Model, type NodeOptions, type NodeProto, type TensorData, type TensorProto,
} from '@onnx-forge/core';

/** A constant input: an initializer in scope or the value of a Constant node, and where it lives. */
export interface ConstantRef {
  name: string;
  tensor: TensorProto;
  /** The graph holding the initializer or the Constant node. */
  owner: Graph;
  constantNode?: NodeProto;
}

/** The constant `name` resolves to from `graph` (looking through enclosing scopes), if any. */
export function findConstant(graph: Graph, name: string): ConstantRef | undefined {
  if (!name) return undefined;
  const init = graph.resolveInitializer(name);
  if (init) return { name, tensor: init.tensor, owner: init.graph };
  for (let g: Graph | undefined = graph; g; g = g.parent) {
    const p = g.producer(name);
    if (p) {
      if (p.opType !== 'Constant' || !isDefaultDomain(p.domain)) return undefined;
      const t = p.attribute.find((a) => a.name === 'value')?.t;
      return t ? { name, tensor: t, owner: g, constantNode: p } : undefined;
    }
    if (g.definesLocally(name)) return undefined;
  }
  return undefined;
}

/** Float32 values of a constant, or why they cannot be read. */
export function constantFloats(ref: ConstantRef): Float32Array {
  if (ref.tensor.dataType !== DataType.FLOAT) {
    throw new ForgeError(ForgeErrorCode.UNSUPPORTED_TYPE, `constant "${ref.name}" is not float32`);
  }
  return tensorToArray(ref.tensor) as Float32Array;
}

export function constantDims(ref: ConstantRef): number[] {
  return tensorDims(ref.tensor);
}

/**
 * Small helpers to add nodes and tensors with fresh names. Tensors go into the graph that owns the
 * weight they derive from, so subgraphs reading an outer weight see its quantized form too.
 */
export class GraphEditor {
  constructor(readonly model: Model) {}

  name(base: string): string {
    return this.model.uniqueName(base);
  }

  /** Adds an initializer (to `owner`, or to the nearest enclosing graph that can hold one). */
  tensor(owner: Graph, base: string, dataType: number, dims: readonly number[], data: TensorData): string {
    const g = this.holder(owner, base);
    const name = this.name(base);
    g.addInitializer(createTensor(name, dataType, dims, data));
    return name;
  }

  /**
   * Adds an initializer whose data is `derive(from)` (`computed` when the pass has it already): held
   * now for a weight in memory, made again when written for a weight streamed from its file (core's
   * `derivedTensor`), so the pass holds one weight at a time on a model larger than memory.
   */
  derivedTensor(owner: Graph, base: string, dataType: number, dims: readonly number[], from: TensorProto, derive: Derive, computed: Computed): string {
    const g = this.holder(owner, base);
    const name = this.name(base);
    g.addInitializer(derivedTensor(name, dataType, dims, from, derive, computed));
    return name;
  }

  private holder(owner: Graph, base: string): Graph {
    let g: Graph | undefined = owner;
    while (g && g.isFunction) g = g.parent;
    if (!g) throw new ForgeError(ForgeErrorCode.UNSUPPORTED_OP, `cannot add tensor "${base}" inside a function body`);
    return g;
  }

  scalarF32(owner: Graph, base: string, value: number): string {
    return this.tensor(owner, base, DataType.FLOAT, [], Float32Array.of(value));
  }

  node(opType: string, inputs: readonly string[], outputs: readonly string[], attributes: NodeOptions['attributes'] = {}, nameBase?: string): NodeProto {
    return createNode(opType, inputs, outputs, { name: this.name(nameBase ?? opType), attributes });
  }

  /** Whether nothing reads a constant any more (nodes, subgraphs, graph outputs). */
  isUnused(ref: ConstantRef): boolean {
    return ref.owner.consumers(ref.name).length === 0 && !ref.owner.isGraphOutput(ref.name);
  }

  /** Removes a constant (its initializer, or its Constant node). */
  remove(ref: ConstantRef): void {
    const g = ref.owner;
    if (ref.constantNode) {
      if (g.nodes.includes(ref.constantNode)) g.removeNode(ref.constantNode);
    } else {
      g.removeInitializer(ref.name);
    }
  }
}

/** Typed array for quantized data of an ONNX 8-bit/32-bit integer type. */
export function zeroPointArray(dataType: number, values: ArrayLike<number>): Int8Array | Uint8Array | Int32Array {
  if (dataType === DataType.INT8) return Int8Array.from(values as ArrayLike<number>);
  if (dataType === DataType.UINT8) return Uint8Array.from(values as ArrayLike<number>);
  return Int32Array.from(values as ArrayLike<number>);
}
