import {
  DataType, ForgeError, ForgeErrorCode, dtypeName, getOpSchema, ELEM_TYPES, isLazy, lentView, nodeLabel, withScratch, withTensorFloat32,
  type ElemTypes, type Graph, type Model, type NodeProto, type PassContext, type TensorProto,
} from '@onnx-forge/core';
import { upgradeOpset } from '../opset/upgrade-opset.js';
import { transpose2d } from './numeric.js';
import { GraphEditor, constantDims, findConstant, zeroPointArray, type ConstantRef } from './quant-graph.js';
import { weightRange } from './isa-forms.js';
import { quantType, type QuantType, type QuantTypeName } from './quant-params.js';
import type { QuantOptions } from './quant-options.js';
import { QuantRecorder } from './quant-report.js';
import { TARGET_FORMS, type QuantTarget, type TargetForms } from './target-forms.js';
import { quantizeWeight, uniformZeroPoint, type QuantizedWeight } from './weight-quantizer.js';

/** The oldest ai.onnx opset with every INT8 form (DynamicQuantizeLinear, int8 QuantizeLinear). */
const MIN_QUANT_OPSET = 11;
/** What older models are upgraded to: 13 adds per-axis DequantizeLinear (per-channel weight-only forms). */
const UPGRADE_OPSET = 13;

/**
 * The model's ai.onnx opset, after upgrading it in place when it is older than INT8 forms need:
 * DynamicQuantizeLinear and QuantizeLinear's int8 need opset 11, per-axis DequantizeLinear 13, so
 * older models go to 13 first, as onnxruntime's quantizer upgrades them (it stops at 11 and loses
 * per-axis forms); a target that computes only per-axis DequantizeLinear right (webgpu) needs 13.
 * int8-auto calls it before its search, so that its float32 reference is the model onnxruntime will
 * run (it may not load the old one: Gemm-6 has no kernel).
 */
export function upgradeForQuantization(model: Model, ctx: PassContext, target: QuantTarget): number {
  const opset = model.opset('');
  if (opset === undefined) throw new ForgeError(ForgeErrorCode.INVALID_MODEL, 'the model imports no default-domain (ai.onnx) opset');
  const perAxisOnly = TARGET_FORMS[target].perAxisDequantizeOnly;
  if (opset >= (perAxisOnly ? UPGRADE_OPSET : MIN_QUANT_OPSET)) return opset;
  const up = upgradeOpset(model, UPGRADE_OPSET, ctx, { statPrefix: 'opset ' });
  const need = opset < MIN_QUANT_OPSET ? `INT8 forms need ${MIN_QUANT_OPSET} or later` : `target ${target} needs per-axis DequantizeLinear (opset 13): ${perAxisOnly}`;
  ctx.warn(`the model imported ai.onnx opset ${opset}; ${need}, so it was upgraded to ${UPGRADE_OPSET} first (${up.nodesUpgraded} node${up.nodesUpgraded === 1 ? '' : 's'} rewritten)`);
  return UPGRADE_OPSET;
}

/** A quantized weight as initializers: data, scale and zero point (shaped like the scale). */
export interface StoredWeight {
  key: string;
  q: string;
  scale: string;
  zeroPoint: string;
  /** Scales and zero points (the codes are the `q` initializer's data, in memory or made when written). */
  weight: Omit<QuantizedWeight, 'data'>;
  /** Dims of the stored data (transposed when asked). */
  dims: number[];
  /** Channel axis of the stored data, when per channel. */
  axis?: number;
}

/** An activation quantized at run time (DynamicQuantizeLinear) or by a QuantizeLinear node. */
export interface ActivationQ {
  q: string;
  scale: string;
  zeroPoint: string;
}

export interface WeightRequest {
  type: QuantType;
  /** Per-channel axis in the original layout. */
  axis?: number;
  /** Store a 2-D weight transposed (Gemm transB=1 turned into MatMulInteger's [K, N]). */
  transpose?: boolean;
  /**
   * Per-tensor quantization (no `axis`) written per axis: the one scale and zero point repeated for
   * each index of this axis, for targets that compute only per-axis DequantizeLinear right.
   */
  repeatAlong?: number;
}

/**
 * State of one quantization run over a model: the editor, the recorder, dtype inference, the target's
 * forms, and caches so a weight or activation shared by several nodes is quantized once.
 */
export class QuantSession {
  readonly editor: GraphEditor;
  readonly rec: QuantRecorder;
  readonly forms: TargetForms;
  readonly opset: number;
  private typesCache: ElemTypes | undefined;
  private readonly constants = new Map<Graph, Map<string, ConstantRef | null>>();
  private readonly owners = new Map<string, Graph>();
  private readonly stored = new Map<string, StoredWeight>();
  private readonly scalarZp = new Map<string, string>();
  private readonly dequantized = new Map<Graph, Map<string, string>>();
  /** Quantized activations per graph, so several readers share one quantization. */
  readonly activations = new Map<Graph, Map<string, ActivationQ>>();
  /** Float constants some node stopped reading; removed at the end when nothing reads them. */
  readonly touched: ConstantRef[] = [];
  /** Why weights got the range they have (distinct reasons, in the order first met). */
  readonly rangeReasons = new Set<string>();
  /** Whether some int8 weight of an integer form uses full-range codes (inaccurate on x86 without VNNI). */
  fullRangeIntegerInt8 = false;

  constructor(readonly model: Model, readonly options: QuantOptions, readonly ctx: PassContext) {
    this.editor = new GraphEditor(model);
    this.rec = new QuantRecorder(ctx);
    this.forms = TARGET_FORMS[options.target];
    this.opset = upgradeForQuantization(model, ctx, options.target);
  }

  get types(): ElemTypes {
    if (!this.typesCache) this.typesCache = this.model.analysis(ELEM_TYPES);
    return this.typesCache;
  }

  /**
   * The constant `name` resolves to from `graph`, memoized: looking it up through the graph index
   * after every rewrite would rebuild the index each time. Safe because the pass only adds fresh
   * names and removes the float originals at the very end.
   */
  constant(graph: Graph, name: string): ConstantRef | undefined {
    let byGraph = this.constants.get(graph);
    if (!byGraph) this.constants.set(graph, (byGraph = new Map()));
    if (!byGraph.has(name)) byGraph.set(name, findConstant(graph, name) ?? null);
    return byGraph.get(name) ?? undefined;
  }

  /** Input `index` of `node` as a float32 constant, or why it is not one. */
  constantWeight(graph: Graph, node: NodeProto, index: number): { ok: true; ref: ConstantRef; dims: number[] } | { ok: false; reason: string } {
    const name = node.input[index] ?? '';
    const ref = this.constant(graph, name);
    if (!ref) return { ok: false, reason: `the weight "${name}" is computed at run time; only constant weights are quantized` };
    if (ref.tensor.dataType !== DataType.FLOAT) return { ok: false, reason: `the weight "${name}" is ${dtypeName(ref.tensor.dataType)}; only float32 weights are quantized` };
    return { ok: true, ref, dims: constantDims(ref) };
  }

  /** Per-axis DequantizeLinear exists from opset 13. */
  get perAxisDequantize(): boolean {
    return this.opset >= 13;
  }

  /**
   * The quantized type of a weight used in `form` (`integer`: read by an integer kernel; `weight-only`:
   * dequantized to float first): its range depends on the CPUs the model must stay accurate on.
   */
  weightType(form: 'integer' | 'weight-only', name: QuantTypeName = this.options.weightType): QuantType {
    const choice = weightRange(this.options, form, name);
    this.rangeReasons.add(choice.reason);
    if (form === 'integer' && name === 'int8' && !choice.reduceRange) this.fullRangeIntegerInt8 = true;
    return quantType(name, this.options.symmetric, choice.reduceRange);
  }

  /**
   * The element type the op schema gives input `index`: that of another input bound to the same type
   * variable (MatMul's A and B are both T, so a float weight types the activation).
   */
  typeFromSchema(graph: Graph, node: NodeProto, index: number): number | undefined {
    const schema = getOpSchema(node.opType, node.domain, this.model.opset(node.domain) ?? this.opset);
    const typeVar = schema?.inputs[Math.min(index, schema.inputs.length - 1)]?.typeVar;
    if (!schema || typeVar === undefined) return undefined;
    for (let i = 0; i < node.input.length; i++) {
      const name = node.input[i];
      if (i === index || !name || schema.inputs[Math.min(i, schema.inputs.length - 1)]?.typeVar !== typeVar) continue;
      const t = this.constant(graph, name)?.tensor.dataType ?? this.types.get(graph, name);
      if (t !== undefined) return t;
    }
    return undefined;
  }

  /**
   * Checks that input `index` of a node, an activation, is float32. Its type comes from dtype
   * inference, or else from the op schema; a value whose type neither gives is reported, never
   * skipped silently.
   */
  activationProblem(graph: Graph, node: NodeProto, index: number): string | undefined {
    const name = node.input[index] ?? '';
    const t = this.types.get(graph, name) ?? this.typeFromSchema(graph, node, index);
    if (t === undefined) {
      const why = this.types.unknown.find((u) => u.value === name)?.reason ?? 'dtype inference could not type it';
      this.rec.unknownType(graph, node, name, why);
      return `element type of "${name}" is unknown (${why})`;
    }
    if (t !== DataType.FLOAT) return `input "${name}" is ${dtypeName(t)}; INT8 quantization takes float32`;
    return undefined;
  }

  coverageKey(ref: ConstantRef): string {
    return `${ref.owner.path}::${ref.name}`;
  }

  /** Quantizes a float constant (once per layout) and adds its initializers next to the original. */
  storeWeight(ref: ConstantRef, req: WeightRequest): { ok: true; w: StoredWeight } | { ok: false; reason: string } {
    const key = `${this.coverageKey(ref)}|${req.type.name}|${req.type.qmin}|${req.type.qmax}|${req.axis ?? '-'}|${req.transpose ? 'T' : ''}|${req.repeatAlong ?? '-'}`;
    const hit = this.stored.get(key);
    if (hit) return { ok: true, w: hit };
    const dims = constantDims(ref);
    // The values are lent for this call (a weight in its file is read into reused memory). The codes
    // of a weight in its file are only looked at here (the writer makes them again), so they go to
    // lent memory too; `data` below is then never read after this call.
    const lazy = isLazy(ref.tensor);
    const r = withTensorFloat32(ref.tensor, (values) =>
      lazy ? withScratch(values.length, (into) => quantizeWeight(values, dims, req.type, req.axis, into)) : quantizeWeight(values, dims, req.type, req.axis),
    );
    if (!r.ok) return r;
    const layout = (data: Int8Array | Uint8Array, into?: Uint8Array): Int8Array | Uint8Array => {
      if (!req.transpose) return data;
      const [rows, cols] = dims as [number, number];
      const n = data.length;
      return transpose2d(data, rows, cols, data instanceof Int8Array ? (lentView(into, Int8Array, n) ?? new Int8Array(n)) : (lentView(into, Uint8Array, n) ?? new Uint8Array(n)));
    };
    // The codes again from the same float weight, when it is streamed from its file: the scales above
    // came from it, and quantizing is deterministic, so the bytes are those of the first run. They go
    // to the writer's lent memory (`into`), through lent memory of their own when transposed.
    const again = (values: Float32Array, codes?: Uint8Array) => {
      const q = quantizeWeight(values, dims, req.type, req.axis, codes);
      if (!q.ok) throw new ForgeError(ForgeErrorCode.INTERNAL, `weight "${ref.name}" no longer quantizes when written: ${q.reason}`);
      return q.weight.data;
    };
    const derive = (src: TensorProto, into?: Uint8Array) =>
      withTensorFloat32(src, (values) => (req.transpose ? withScratch(values.length, (codes) => layout(again(values, codes), into)) : again(values, into)));
    let outDims = dims;
    let axis = req.axis;
    if (req.transpose) {
      const [rows, cols] = dims as [number, number];
      outDims = [cols, rows];
      if (axis !== undefined) axis = 1 - axis;
    }
    const base = ref.name.replace(/[^A-Za-z0-9_.:/-]/g, '_');
    const g = ref.owner;
    const dt = req.type.dataType;
    if (req.axis === undefined && req.repeatAlong !== undefined) {
      const n = dims[req.repeatAlong] as number;
      r.weight.scale = new Float32Array(n).fill(r.weight.scale[0] as number);
      r.weight.zeroPoint = new Int32Array(n).fill(r.weight.zeroPoint[0] as number);
      axis = req.transpose ? 1 - req.repeatAlong : req.repeatAlong;
    }
    const perChannel = r.weight.scale.length > 1 || axis !== undefined;
    const sDims = perChannel ? [r.weight.scale.length] : [];
    const { data, ...params } = r.weight;
    const w: StoredWeight = {
      key,
      q: this.editor.derivedTensor(g, `${base}_quantized`, dt, outDims, ref.tensor, derive, () => layout(data)),
      scale: this.editor.tensor(g, `${base}_scale`, DataType.FLOAT, sDims, r.weight.scale),
      zeroPoint: this.editor.tensor(g, `${base}_zero_point`, dt, sDims, zeroPointArray(dt, r.weight.zeroPoint)),
      weight: params,
      dims: outDims,
    };
    if (axis !== undefined) w.axis = axis;
    this.stored.set(key, w);
    this.owners.set(key, g);
    return { ok: true, w };
  }

  /** A scalar zero point for a weight whose channels share one (ConvInteger needs a scalar). */
  scalarZeroPoint(w: StoredWeight, owner: Graph): string | undefined {
    if (w.weight.zeroPoint.length === 1) return w.zeroPoint;
    if (!uniformZeroPoint(w.weight)) return undefined;
    let name = this.scalarZp.get(w.key);
    if (!name) {
      const dt = w.weight.type.dataType;
      name = this.editor.tensor(owner, `${w.zeroPoint}_scalar`, dt, [], zeroPointArray(dt, [w.weight.zeroPoint[0] as number]));
      this.scalarZp.set(w.key, name);
    }
    return name;
  }

  /**
   * The dequantized form of a stored weight: one DequantizeLinear at the top of the graph holding the
   * weight, shared by every reader there and in its subgraphs. Subgraph readers must not get their
   * own: onnxruntime 1.30's DQ -> MatMul rewrite (TransposeDQWeightsForMatMulNBits) looks for the
   * DQ's initializer in the subgraph only and refuses the model ("Missing required weight").
   */
  dequantizedWeight(graph: Graph, w: StoredWeight, reader: NodeProto): string {
    const owner = this.owners.get(w.key) ?? graph;
    let byGraph = this.dequantized.get(owner);
    if (!byGraph) this.dequantized.set(owner, (byGraph = new Map()));
    const hit = byGraph.get(w.key);
    if (hit) return hit;
    const out = this.editor.name(`${w.q}_dequantized`);
    const attrs = w.axis !== undefined ? { axis: w.axis } : {};
    const dq = this.editor.node('DequantizeLinear', [w.q, w.scale, w.zeroPoint], [out], attrs, `${nodeLabel(reader)}_weight_DequantizeLinear`);
    owner.addNode(dq, owner.nodes.length ? { before: owner.nodes[0] as NodeProto } : {});
    byGraph.set(w.key, out);
    return out;
  }

  /** Removes the float constants that no node reads any more (decided first, then removed at once). */
  releaseTouched(): void {
    const seen = new Set<string>();
    const unused: ConstantRef[] = [];
    for (const ref of this.touched) {
      const k = this.coverageKey(ref);
      if (seen.has(k)) continue;
      seen.add(k);
      if (this.editor.isUnused(ref)) unused.push(ref);
    }
    // Tensors this run created that no form ended up reading (a per-row Gather reads its scales as
    // a [rows, 1] table, not the stored [rows] scale and zero point).
    const created: { owner: Graph; name: string }[] = [];
    for (const w of this.stored.values()) {
      const owner = this.owners.get(w.key);
      if (!owner) continue;
      for (const name of [w.q, w.scale, w.zeroPoint]) if (owner.consumers(name).length === 0) created.push({ owner, name });
    }
    for (const ref of unused) this.editor.remove(ref);
    for (const { owner, name } of created) owner.removeInitializer(name);
  }
}
