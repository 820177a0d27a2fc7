import * as fs from 'node:fs';
import path from 'node:path';
import {
  declaredDims, dtypeName, firstFloat16Compute, firstJsepMiscompute, isDefaultDomain, isExternal, isKnownDataType, linkProblem, locationProblem, modelFolderRoots,
  modelTensors, nodeLabel, tensorByteSize, tensorElementCount, toNumber,
  type Float16Compute, type JsepMiscompute, type Model, type NodeProto, type TensorProto, type TensorShapeProto, type TypeProto, type ValueInfoProto,
} from '@onnx-forge/core';

export type Dim = number | string | null;

export interface ValueSummary {
  name: string;
  /** Readable type: `float32[batch,3,224,224]`, `sequence<tensor<int64>>`, `unknown`. */
  type: string;
  /** Element type of a tensor value. */
  dtype?: string;
  /** Tensor shape: numbers, symbolic names, null for an unknown dimension; null for an unknown rank. */
  shape?: Dim[] | null;
}

export interface TensorTally {
  tensors: number;
  elements: number;
  bytes: number;
}

export interface ExternalFileSummary extends TensorTally {
  /** Path relative to the model's folder, as written in the model. */
  location: string;
  /** Size of the side file, or null when it does not exist. */
  fileBytes: number | null;
  missing: boolean;
  /** Some tensor reaches past the end of the file. */
  truncated: boolean;
  /**
   * Why the location is refused (absolute, outside the model's folder by name or through a symbolic
   * link), as `check` and the conversions refuse it; absent for a usable location. A refused file is
   * not looked at: its fileBytes is null, and it is neither missing nor truncated.
   */
  problem?: string;
}

export interface SubgraphHolder {
  /** Path of the graph holding the node. */
  graph: string;
  node: string;
  opType: string;
  /** Graph attributes of the node (then_branch, else_branch, body...). */
  attributes: string[];
}

export interface ModelSummary {
  file: { path: string; bytes: number };
  irVersion: number;
  producer: { name: string; version: string };
  domain: string;
  modelVersion: number;
  docString: string;
  opsets: { domain: string; version: number }[];
  graph: { name: string; nodes: number; initializers: number };
  inputs: ValueSummary[];
  outputs: ValueSummary[];
  /** Every node of every graph (main, subgraphs, functions). */
  ops: { total: number; byDomain: Record<string, Record<string, number>> };
  /** Initializers of every graph: the model's weights. */
  parameters: TensorTally & { byDtype: Record<string, TensorTally> };
  /** Tensors held in node attributes (Constant values and the like). */
  constants: TensorTally;
  externalData: TensorTally & { files: ExternalFileSummary[] };
  subgraphs: { count: number; maxDepth: number; holders: SubgraphHolder[] };
  functions: { domain: string; name: string; nodes: number; inputs: string[]; outputs: string[] }[];
  metadata: Record<string, string>;
  /**
   * onnxruntime-web's WebGPU provider on this model: the first node that computes in float16 (it needs
   * an adapter with shader-f16; @onnx-forge/runtime refuses it on one without), and the first node it
   * computes wrong (core's firstJsepMiscompute; the runtime refuses the model on webgpu). Null when none.
   */
  webgpu: { float16Compute: Float16Compute | null; miscompute: JsepMiscompute | null };
}

function dims(shape: TensorShapeProto | null | undefined): Dim[] | null {
  return declaredDims(shape);
}

function formatDims(shape: Dim[] | null): string {
  return shape === null ? '[?]' : `[${shape.map((d) => (d === null ? '?' : String(d))).join(',')}]`;
}

/** A readable form of an ONNX type. */
export function formatType(t: TypeProto | null | undefined): string {
  if (!t) return 'unknown';
  if (t.tensorType) return `${dtypeName(t.tensorType.elemType)}${formatDims(dims(t.tensorType.shape))}`;
  if (t.sparseTensorType) return `sparse ${dtypeName(t.sparseTensorType.elemType)}${formatDims(dims(t.sparseTensorType.shape))}`;
  if (t.sequenceType) return `sequence<${formatType(t.sequenceType.elemType)}>`;
  if (t.mapType) return `map<${dtypeName(t.mapType.keyType)},${formatType(t.mapType.valueType)}>`;
  if (t.optionalType) return `optional<${formatType(t.optionalType.elemType)}>`;
  if (t.opaqueType) return `opaque ${t.opaqueType.domain}.${t.opaqueType.name}`;
  return 'unknown';
}

function valueSummary(v: ValueInfoProto): ValueSummary {
  const s: ValueSummary = { name: v.name, type: formatType(v.type) };
  const tt = v.type?.tensorType;
  if (tt) {
    s.dtype = dtypeName(tt.elemType);
    s.shape = dims(tt.shape);
  }
  return s;
}

function tally(): TensorTally {
  return { tensors: 0, elements: 0, bytes: 0 };
}

function add(t: TensorTally, elements: number, bytes: number): void {
  t.tensors++;
  t.elements += elements;
  t.bytes += bytes;
}

/** Elements and bytes of a tensor without touching its data (external tensors included). */
function measure(t: TensorProto): { elements: number; bytes: number } {
  const elements = tensorElementCount(t);
  if (!isKnownDataType(t.dataType)) return { elements, bytes: t.rawData?.length ?? 0 };
  return { elements, bytes: tensorByteSize(t) };
}

function entry(t: TensorProto, key: string): string | undefined {
  return t.externalData.find((e) => e.key === key)?.value;
}

/**
 * Everything `onnx-forge inspect` shows about a model. The model must have been read with
 * `externalData: false`, so external tensors are described from their references (location, offset,
 * length) without loading their bytes.
 */
export function summarizeModel(model: Model, file: string): ModelSummary {
  const proto = model.proto;
  const main = model.graph;

  const byDomain: Record<string, Record<string, number>> = {};
  let total = 0;
  for (const { node } of model.allNodes()) {
    const domain = isDefaultDomain(node.domain) ? 'ai.onnx' : node.domain;
    const ops = (byDomain[domain] ??= {});
    ops[node.opType] = (ops[node.opType] ?? 0) + 1;
    total++;
  }
  for (const [domain, ops] of Object.entries(byDomain)) {
    byDomain[domain] = Object.fromEntries(Object.entries(ops).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));
  }

  const parameters = { ...tally(), byDtype: {} as Record<string, TensorTally> };
  const constants = tally();
  const dir = path.dirname(path.resolve(file));
  // Where external data may really be once links are followed, as core's readers allow.
  let realRoots: string[] | undefined;
  const roots = (): string[] => (realRoots ??= modelFolderRoots(dir, fs, path, file));
  const external = new Map<string, ExternalFileSummary & { maxEnd: number }>();
  const externalTotal = tally();
  for (const { tensor, initializer } of modelTensors(proto)) {
    const { elements, bytes } = measure(tensor);
    if (initializer) {
      add(parameters, elements, bytes);
      add((parameters.byDtype[dtypeName(tensor.dataType)] ??= tally()), elements, bytes);
    } else {
      add(constants, elements, bytes);
    }
    if (isExternal(tensor)) {
      const location = entry(tensor, 'location') ?? '';
      let f = external.get(location);
      if (!f) {
        const full = path.resolve(dir, location);
        const problem = location === '' ? undefined : (locationProblem(location, dir, path) ?? linkProblem(location, full, roots(), fs, path));
        const exists = location !== '' && !problem && fs.existsSync(full);
        const fileBytes = exists ? fs.statSync(full).size : null;
        f = { location, ...tally(), fileBytes, missing: !exists && !problem, truncated: false, maxEnd: 0, ...(problem ? { problem } : {}) };
        external.set(location, f);
      }
      const offset = Number(entry(tensor, 'offset') ?? 0);
      add(f, elements, bytes);
      add(externalTotal, elements, bytes);
      f.maxEnd = Math.max(f.maxEnd, offset + bytes);
    }
  }
  const files = [...external.values()].map(({ maxEnd, ...f }) => ({ ...f, truncated: f.fileBytes !== null && maxEnd > f.fileBytes }));

  const holders = new Map<NodeProto, SubgraphHolder>();
  let subgraphCount = 0;
  let maxDepth = 0;
  for (const g of model.graphs()) {
    if (g.kind !== 'subgraph') continue;
    subgraphCount++;
    let depth = 0;
    for (let p = g.parent; p; p = p.parent) depth++;
    maxDepth = Math.max(maxDepth, depth);
    const owner = g.owner;
    if (owner && !holders.has(owner)) {
      holders.set(owner, {
        graph: g.parent?.path ?? '?',
        node: nodeLabel(owner),
        opType: owner.opType,
        attributes: owner.attribute.filter((a) => a.g || a.graphs.length > 0).map((a) => a.name),
      });
    }
  }

  return {
    file: { path: file, bytes: fs.statSync(file).size },
    irVersion: model.irVersion,
    producer: { name: proto.producerName, version: proto.producerVersion },
    domain: proto.domain,
    modelVersion: toNumber(proto.modelVersion),
    docString: proto.docString,
    opsets: proto.opsetImport.map((o) => ({ domain: isDefaultDomain(o.domain) ? 'ai.onnx' : o.domain, version: toNumber(o.version) })),
    graph: { name: main.name, nodes: main.nodes.length, initializers: main.initializers.length },
    inputs: main.inputs.filter((v) => !main.initializer(v.name)).map(valueSummary),
    outputs: main.outputs.map(valueSummary),
    ops: { total, byDomain },
    parameters,
    constants,
    externalData: { ...externalTotal, files },
    subgraphs: { count: subgraphCount, maxDepth, holders: [...holders.values()] },
    functions: proto.functions.map((f) => ({ domain: f.domain, name: f.name, nodes: f.node.length, inputs: [...f.input], outputs: [...f.output] })),
    metadata: Object.fromEntries(proto.metadataProps.map((p) => [p.key, p.value])),
    webgpu: { float16Compute: firstFloat16Compute(model, { foldsConstants: true }) ?? null, miscompute: firstJsepMiscompute(model) ?? null },
  };
}
