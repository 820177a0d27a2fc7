import { DataType, type DTypeName, type TypedArray, dataTypeFromName } from '../dtype.js';
import { ForgeError, ForgeErrorCode } from '../errors.js';
import { type AttrValue } from '../ir/attributes.js';
import { tensorType } from '../ir/graph.js';
import { Model, createNode } from '../ir/model.js';
import { createTensor, scalarTensor, type TensorData } from '../ir/tensor.js';
import { deferTensorData } from '../ir/tensor-data.js';
import { onnx } from '../proto/onnx.generated.js';
import type { GraphProto, ModelProto, NodeProto } from '../proto/types.js';

export type Dim = number | string | null;
export type DTypeLike = DTypeName | number;

function toType(d: DTypeLike): number {
  return typeof d === 'number' ? d : dataTypeFromName(d);
}

function dtypeOfArray(data: TensorData): number {
  if (data instanceof Float32Array) return DataType.FLOAT;
  if (data instanceof Float64Array) return DataType.DOUBLE;
  if (data instanceof Int32Array) return DataType.INT32;
  if (data instanceof BigInt64Array) return DataType.INT64;
  if (data instanceof Int8Array) return DataType.INT8;
  if (data instanceof Uint8Array) return DataType.UINT8;
  if (data instanceof Int16Array) return DataType.INT16;
  if (data instanceof Uint32Array) return DataType.UINT32;
  if (data instanceof BigUint64Array) return DataType.UINT64;
  if (Array.isArray(data)) return DataType.STRING;
  throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, 'give the dtype explicitly for Uint16Array data (uint16, float16 or bfloat16)');
}

export interface OpOptions {
  /** Number of outputs, or their names. */
  outputs?: number | string[];
  name?: string;
  domain?: string;
}

/** Shared name counter, so subgraphs built inside a model never clash with the outer graph. */
class Names {
  private used = new Set<string>();
  private n = 0;
  fresh(base: string): string {
    let name = `${base}_${this.n++}`;
    while (this.used.has(name)) name = `${base}_${this.n++}`;
    this.used.add(name);
    return name;
  }
  claim(name: string): string {
    if (this.used.has(name)) throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `builder: the name "${name}" is already used`);
    this.used.add(name);
    return name;
  }
}

/**
 * Builds graphs in code, for tests and synthetic benchmark models:
 * ```ts
 * const b = new ModelBuilder({ opset: 17 });
 * const x = b.input('x', 'float32', ['batch', 4]);
 * const w = b.initializer('w', new Float32Array(8), [4, 2]);
 * b.output(b.op('MatMul', [x, w]), 'float32', ['batch', 2]);
 * const model = b.build();
 * ```
 */
export class GraphBuilder {
  protected readonly graph: GraphProto;

  constructor(protected readonly names: Names, name: string) {
    this.graph = new onnx.GraphProto({ name });
  }

  input(name: string, dtype: DTypeLike, shape?: readonly Dim[] | null): string {
    this.graph.input.push(new onnx.ValueInfoProto({ name: this.names.claim(name), type: tensorType(toType(dtype), shape ?? null) }));
    return name;
  }

  /** Adds an initializer; the dtype follows the array type unless given. */
  initializer(name: string, data: TensorData, dims: readonly number[], dtype?: DTypeLike): string {
    const type = dtype === undefined ? dtypeOfArray(data) : toType(dtype);
    this.graph.initializer.push(createTensor(this.names.claim(name), type, dims, data));
    return name;
  }

  /**
   * Adds an initializer whose data `produce` makes when something reads it or the writer reaches it
   * (core's `deferTensorData`), so a model larger than memory is built and written a tensor at a time.
   * `produce` must give the same values on every call.
   */
  deferredInitializer(name: string, dtype: DTypeLike, dims: readonly number[], produce: () => TensorData): string {
    const t = new onnx.TensorProto({ name: this.names.claim(name), dims: [...dims] });
    deferTensorData(t, toType(dtype), () => produce() as TypedArray);
    this.graph.initializer.push(t);
    return name;
  }

  /** An initializer from plain numbers (scalar when `value` is a number). */
  constant(value: number | readonly number[], dtype: DTypeLike = 'float32', dims?: readonly number[], name?: string): string {
    const n = name ? this.names.claim(name) : this.names.fresh('const');
    this.graph.initializer.push(scalarTensor(n, toType(dtype), value, dims));
    return n;
  }

  /** Adds a node; returns its first output name. */
  op(opType: string, inputs: readonly string[], attributes: Record<string, AttrValue | undefined> = {}, options: OpOptions = {}): string {
    return this.opN(opType, inputs, attributes, options)[0] as string;
  }

  /** Adds a node; returns all its output names. */
  opN(opType: string, inputs: readonly string[], attributes: Record<string, AttrValue | undefined> = {}, options: OpOptions = {}): string[] {
    const name = options.name ? this.names.claim(options.name) : this.names.fresh(opType);
    const outputs = Array.isArray(options.outputs)
      ? options.outputs.map((o) => (o ? this.names.claim(o) : ''))
      : Array.from({ length: options.outputs ?? 1 }, (_, i) => `${name}_out${i}`);
    const nodeOptions: Parameters<typeof createNode>[3] = { name, attributes };
    if (options.domain) nodeOptions.domain = options.domain;
    this.graph.node.push(createNode(opType, inputs, outputs, nodeOptions));
    return outputs;
  }

  /** Adds a ready-made node. */
  addNode(node: NodeProto): NodeProto {
    this.graph.node.push(node);
    return node;
  }

  /** Marks a value as a graph output. */
  output(name: string, dtype: DTypeLike, shape?: readonly Dim[] | null): string {
    this.graph.output.push(new onnx.ValueInfoProto({ name, type: tensorType(toType(dtype), shape ?? null) }));
    return name;
  }

  /** Declares the type of an intermediate value (value_info). */
  valueInfo(name: string, dtype: DTypeLike, shape?: readonly Dim[] | null): void {
    this.graph.valueInfo.push(new onnx.ValueInfoProto({ name, type: tensorType(toType(dtype), shape ?? null) }));
  }

  /** Builds a subgraph (If branch, Loop body) sharing this builder's names. */
  subgraph(name: string, build: (g: GraphBuilder) => void): GraphProto {
    const g = new GraphBuilder(this.names, name);
    build(g);
    return g.graph;
  }

  toGraphProto(): GraphProto {
    return this.graph;
  }
}

export interface ModelBuilderOptions {
  /** Default-domain opset (default 17). */
  opset?: number;
  /** Other operator sets, e.g. { 'com.microsoft': 1 }. */
  opsets?: Record<string, number>;
  /** IR version (default: the one onnxruntime expects for the opset). */
  irVersion?: number;
  graphName?: string;
  producerName?: string;
}

/** IR version matching an opset, as the ONNX release that introduced the opset set it. */
export function irVersionForOpset(opset: number): number {
  if (opset <= 8) return 3;
  if (opset <= 10) return 5;
  if (opset <= 11) return 6;
  if (opset <= 14) return 7;
  if (opset <= 18) return 8;
  if (opset <= 20) return 9;
  return 10;
}

export class ModelBuilder extends GraphBuilder {
  private readonly options: ModelBuilderOptions;

  constructor(options: ModelBuilderOptions = {}) {
    super(new Names(), options.graphName ?? 'main');
    this.options = options;
  }

  buildProto(): ModelProto {
    const opset = this.options.opset ?? 17;
    const imports = [new onnx.OperatorSetIdProto({ domain: '', version: opset })];
    for (const [domain, version] of Object.entries(this.options.opsets ?? {})) imports.push(new onnx.OperatorSetIdProto({ domain, version }));
    return new onnx.ModelProto({
      irVersion: this.options.irVersion ?? irVersionForOpset(opset),
      opsetImport: imports,
      producerName: this.options.producerName ?? 'onnx-forge',
      graph: this.graph,
    });
  }

  build(): Model {
    return new Model(this.buildProto());
  }
}
