import { cloneModelProto, decodeModel, encodeModel } from '../codec/codec.js';
import { ForgeError, ForgeErrorCode } from '../errors.js';
import { onnx } from '../proto/onnx.generated.js';
import type { FunctionProto, ModelProto, NodeProto } from '../proto/types.js';
import { type AttrValue, toAttribute } from './attributes.js';
import type { AnalysisKey } from './analysis.js';
import { Graph } from './graph.js';
import { toNumber } from './int64.js';

/** The default ONNX domain, which may be spelled '' or 'ai.onnx'. */
export function isDefaultDomain(domain: string | undefined | null): boolean {
  return !domain || domain === 'ai.onnx';
}

/**
 * A model being transformed: the ModelProto plus wrappers for its main graph, subgraphs and function
 * bodies, and a model-wide name table for generating fresh names.
 */
export class Model {
  private main: Graph | undefined;
  private fns = new WeakMap<FunctionProto, Graph>();
  private names: Set<string> | undefined;
  private counters = new Map<string, number>();
  /** Bumped by every change to a graph: cached analyses of an older version are stale. */
  private version = 0;
  private readonly analyses = new Map<AnalysisKey<unknown>, { value: unknown; version: number }>();

  constructor(readonly proto: ModelProto) {
    if (!proto.graph) {
      throw new ForgeError(ForgeErrorCode.INVALID_MODEL, 'the model has no main graph');
    }
  }

  static decode(bytes: Uint8Array, source?: string): Model {
    return new Model(decodeModel(bytes, source === undefined ? {} : { source }));
  }

  encode(): Uint8Array {
    return encodeModel(this.proto);
  }

  /** A deep copy (through the codec, so tensor payloads are copied too; lazy ones stay lazy, not read). */
  clone(): Model {
    return new Model(cloneModelProto(this.proto));
  }

  get graph(): Graph {
    if (!this.main || this.main.proto !== this.proto.graph) {
      this.main = new Graph(this, this.proto.graph as NonNullable<ModelProto['graph']>, 'main');
    }
    return this.main;
  }

  get irVersion(): number {
    return toNumber(this.proto.irVersion);
  }

  /** Wrappers of the model-local functions' bodies. */
  functions(): Graph[] {
    return this.proto.functions.map((f) => {
      let g = this.fns.get(f);
      if (!g) this.fns.set(f, (g = new Graph(this, f, 'function')));
      return g;
    });
  }

  /** Every graph: the main graph, its subgraphs, and function bodies with theirs. */
  *graphs(): Generator<Graph> {
    yield* this.graph.walk();
    for (const f of this.functions()) yield* f.walk();
  }

  /** Every node of every graph, with the graph holding it. */
  *allNodes(): Generator<{ node: NodeProto; graph: Graph }> {
    for (const graph of this.graphs()) for (const node of graph.nodes) yield { node, graph };
  }

  /** The imported version of an operator set ('' is the default ONNX domain). */
  opset(domain = ''): number | undefined {
    const want = isDefaultDomain(domain) ? '' : domain;
    for (const o of this.proto.opsetImport) {
      const d = isDefaultDomain(o.domain) ? '' : o.domain;
      if (d === want) return toNumber(o.version);
    }
    return undefined;
  }

  /** Imports `domain` at `version` unless it is already imported (at any version). */
  ensureOpset(domain: string, version: number): void {
    if (this.opset(domain) !== undefined) return;
    this.proto.opsetImport.push(new onnx.OperatorSetIdProto({ domain, version }));
    this.changed();
  }

  setOpset(domain: string, version: number): void {
    const want = isDefaultDomain(domain) ? '' : domain;
    const o = this.proto.opsetImport.find((x) => (isDefaultDomain(x.domain) ? '' : x.domain) === want);
    if (o) o.version = version;
    else this.proto.opsetImport.push(new onnx.OperatorSetIdProto({ domain, version }));
    // Operator schemas, and so inferred types, depend on the opset.
    this.changed();
  }

  /** A `metadata_props` entry of the model, or undefined. */
  metadata(key: string): string | undefined {
    return this.proto.metadataProps.find((p) => p.key === key)?.value ?? undefined;
  }

  /** Sets (or, with undefined, removes) a `metadata_props` entry. */
  setMetadata(key: string, value: string | undefined): void {
    const i = this.proto.metadataProps.findIndex((p) => p.key === key);
    if (value === undefined) {
      if (i >= 0) this.proto.metadataProps.splice(i, 1);
      return;
    }
    if (i >= 0) (this.proto.metadataProps[i] as { value: string }).value = value;
    else this.proto.metadataProps.push(new onnx.StringStringEntryProto({ key, value }));
  }

  /** Drops every cached map and analysis (after editing protos directly). */
  invalidate(): void {
    this.refreshCaches();
    this.changed();
  }

  /** Drops the graphs' cached maps and the name table, keeping analyses (nothing changed). */
  refreshCaches(): void {
    for (const g of this.graphs()) g.invalidateDeep();
    this.names = undefined;
  }

  /** Called by graphs on every change: cached analyses no longer describe the model. */
  changed(): void {
    this.version++;
  }

  /** The result of an analysis, computed once per version of the model. */
  analysis<T>(key: AnalysisKey<T>): T {
    const hit = this.analyses.get(key as AnalysisKey<unknown>);
    if (hit && hit.version === this.version) return hit.value as T;
    const value = key.compute(this);
    this.analyses.set(key as AnalysisKey<unknown>, { value, version: this.version });
    return value;
  }

  /** The model's version: every change to a graph moves it on. */
  get revision(): number {
    return this.version;
  }

  /**
   * Declares analyses still true after changes that did not affect them (a pass's `preserves`): those
   * cached at `since` or later (when the pass began) stay valid; older ones were stale already.
   */
  keepAnalyses(keys: readonly AnalysisKey<unknown>[], since: number): void {
    for (const k of keys) {
      const hit = this.analyses.get(k);
      if (hit && hit.version >= since) hit.version = this.version;
    }
  }

  private nameTable(): Set<string> {
    if (this.names) return this.names;
    const names = new Set<string>();
    for (const g of this.graphs()) {
      for (const n of g.inputNames()) names.add(n);
      for (const n of g.outputNames()) names.add(n);
      for (const t of g.initializers) names.add(t.name);
      for (const v of g.valueInfos) names.add(v.name);
      for (const n of g.nodes) {
        if (n.name) names.add(n.name);
        for (const o of n.output) names.add(o);
        for (const i of n.input) names.add(i);
      }
    }
    this.names = names;
    return names;
  }

  /**
   * A value or node name not used anywhere in the model, derived from `base`. The table is built once
   * and records every name handed out; after adding names by hand, call `invalidate()`.
   */
  uniqueName(base: string): string {
    const names = this.nameTable();
    if (!names.has(base)) {
      names.add(base);
      return base;
    }
    let i = this.counters.get(base) ?? 1;
    while (names.has(`${base}_${i}`)) i++;
    this.counters.set(base, i + 1);
    const name = `${base}_${i}`;
    names.add(name);
    return name;
  }
}

export interface NodeOptions {
  name?: string;
  domain?: string;
  attributes?: Record<string, AttrValue | undefined>;
}

/** A new NodeProto; attributes given as plain values are typed by `toAttribute`. */
export function createNode(opType: string, inputs: readonly string[], outputs: readonly string[], options: NodeOptions = {}): NodeProto {
  const node = new onnx.NodeProto({ opType, input: [...inputs], output: [...outputs] });
  if (options.name) node.name = options.name;
  if (options.domain) node.domain = options.domain;
  for (const [k, v] of Object.entries(options.attributes ?? {})) if (v !== undefined) node.attribute.push(toAttribute(k, v));
  return node;
}
