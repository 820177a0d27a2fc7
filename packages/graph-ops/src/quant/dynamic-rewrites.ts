import { DataType, attrFloat, attrInt, dtypeName, nullThrows, tensorDims, tensorElementCount, type Graph, type NodeProto } from '@onnx-forge/core';
import { constantFloats, type ConstantRef } from './quant-graph.js';
import type { ActivationQ, QuantSession, StoredWeight } from './quant-session.js';
import { feedsLog } from './log-sensitivity.js';
import { weightOnly } from './weight-forms.js';

/**
 * Dynamic INT8 rewrites: weights quantized now, activations at run time by DynamicQuantizeLinear
 * (uint8, asymmetric), integer products scaled back to float. The MatMul pattern
 * DynamicQuantizeLinear -> MatMulInteger -> Cast -> Mul(Mul(a_scale, b_scale)) is the one onnxruntime
 * fuses into MatMulIntegerToFloat / DynamicQuantizeMatMul.
 */

/** DynamicQuantizeLinear of an activation, shared by every quantized reader in the same graph. */
function dynamicQuantize(s: QuantSession, graph: Graph, name: string, pending: NodeProto[]): ActivationQ {
  let cache = s.activations.get(graph);
  if (!cache) s.activations.set(graph, (cache = new Map()));
  const hit = cache.get(name);
  if (hit) return hit;
  const e = s.editor;
  const a: ActivationQ = { q: e.name(`${name}_quantized`), scale: e.name(`${name}_scale`), zeroPoint: e.name(`${name}_zero_point`) };
  pending.push(e.node('DynamicQuantizeLinear', [name], [a.q, a.scale, a.zeroPoint], {}, `${name}_DynamicQuantizeLinear`));
  cache.set(name, a);
  return a;
}

function layout(w: StoredWeight): string {
  return w.axis === undefined ? 'per-tensor' : `per-channel (${w.weight.scale.length} channel${w.weight.scale.length === 1 ? '' : 's'})`;
}

/** Common checks on a weight input: a float32 constant. Returns the ref or records a skip. */
function floatWeight(s: QuantSession, graph: Graph, node: NodeProto, index: number, what: string): ConstantRef | undefined {
  const name = node.input[index] ?? '';
  const ref = s.constant(graph, name);
  if (!ref) {
    const other = s.constant(graph, node.input[index === 1 ? 0 : 1] ?? '');
    s.rec.skipped(
      graph,
      node,
      other
        ? `${what} "${name}" is computed at run time and the other input is constant; dynamic mode quantizes constant weights in the ${what} position only`
        : `${what} "${name}" is computed at run time (both inputs are activations); dynamic mode quantizes constant weights only, use int8-static`,
    );
    return undefined;
  }
  if (ref.tensor.dataType !== DataType.FLOAT) {
    s.rec.skipped(graph, node, `${what} "${name}" is ${dtypeName(ref.tensor.dataType)}; only float32 weights are quantized`);
    return undefined;
  }
  return ref;
}

/**
 * The float32 constant weight (input 1) of a MatMul, Gemm or Conv, counted for the coverage report,
 * with the activation (input 0) checked; undefined, with the reason recorded, when the node stays float.
 */
function quantizableWeight(s: QuantSession, graph: Graph, node: NodeProto, what: string): { ref: ConstantRef; key: string; dims: number[] } | undefined {
  const ref = floatWeight(s, graph, node, 1, what);
  if (!ref) return undefined;
  const key = s.coverageKey(ref);
  s.rec.weight(key, tensorElementCount(ref.tensor));
  const problem = s.activationProblem(graph, node, 0);
  if (problem) {
    s.rec.skipped(graph, node, problem);
    return undefined;
  }
  return { ref, key, dims: tensorDims(ref.tensor) };
}

/** Why a node takes the weight-only form (float activations), or undefined for the integer form. */
function weightOnlyReason(s: QuantSession, graph: Graph, node: NodeProto, form: 'integer' | 'weight-only'): string | undefined {
  if (form === 'weight-only') return `target ${s.options.target}: ${s.forms.note}`;
  const log = feedsLog(graph, node);
  return log ? `activations stay float: the output reaches ${log}, which magnifies 8-bit activation error on small values` : undefined;
}

/** Output of the integer product scaled back to float: Cast -> Mul(x, Mul(a_scale, w_scale)). */
function scaleBack(s: QuantSession, int32: string, aScale: string, wScale: string, out: string, base: string): NodeProto[] {
  const e = s.editor;
  const asFloat = e.name(`${base}_float`);
  const scale = e.name(`${base}_scale`);
  return [
    e.node('Cast', [int32], [asFloat], { to: DataType.FLOAT }, `${base}_Cast`),
    e.node('Mul', [aScale, wScale], [scale], {}, `${base}_scale_Mul`),
    e.node('Mul', [asFloat, scale], [out], {}, `${base}_Mul`),
  ];
}

export function dynamicMatMul(s: QuantSession, graph: Graph, node: NodeProto): void {
  const [a = '', b = ''] = node.input;
  const weight = quantizableWeight(s, graph, node, 'B');
  if (!weight) return;
  const { ref, key, dims } = weight;
  let note = '';
  let axis: number | undefined;
  if (s.options.perChannel) {
    if (dims.length === 2) axis = 1;
    else note = `; per-tensor: per-channel needs a 2-D B (B is ${dims.length}-D)`;
  }
  const floatWhy = weightOnlyReason(s, graph, node, s.forms.matmul);
  if (floatWhy) {
    const r = weightOnly(s, graph, node, 1, ref, dims.length >= 2 && s.options.perChannel ? dims.length - 1 : undefined);
    if (!r.ok) return s.rec.skipped(graph, node, r.reason);
    s.rec.weightQuantized(key);
    return s.rec.quantized(graph, node, `${r.how} (${floatWhy})`);
  }
  const type = s.weightType('integer');
  const r = s.storeWeight(ref, axis === undefined ? { type } : { type, axis });
  if (!r.ok) return s.rec.skipped(graph, node, r.reason);
  const w = r.w;
  const base = node.name || `MatMul_${b}`;
  const nodes: NodeProto[] = [];
  const aq = dynamicQuantize(s, graph, a, nodes);
  const int32 = s.editor.name(`${node.output[0]}_int32`);
  nodes.push(s.editor.node('MatMulInteger', [aq.q, w.q, aq.zeroPoint, w.zeroPoint], [int32], {}, `${base}_MatMulInteger`));
  nodes.push(...scaleBack(s, int32, aq.scale, w.scale, node.output[0] as string, base));
  graph.replaceNode(node, nodes);
  s.touched.push(ref);
  s.rec.weightQuantized(key);
  s.rec.quantized(graph, node, `DynamicQuantizeLinear + MatMulInteger, ${type.name} weights ${layout(w)}${note}`);
}

export function dynamicGemm(s: QuantSession, graph: Graph, node: NodeProto): void {
  const [a = '', , c = ''] = node.input;
  const weight = quantizableWeight(s, graph, node, 'B');
  if (!weight) return;
  const { ref, key, dims } = weight;
  if (dims.length !== 2) return s.rec.skipped(graph, node, `B is ${dims.length}-D; Gemm takes a 2-D B`);
  const alpha = attrFloat(node, 'alpha', 1);
  const beta = attrFloat(node, 'beta', 1);
  const transA = attrInt(node, 'transA', 0);
  const transB = attrInt(node, 'transB', 0);
  const outAxis = transB ? 0 : 1;
  const floatWhy = weightOnlyReason(s, graph, node, s.forms.matmul);
  if (floatWhy) {
    const r = weightOnly(s, graph, node, 1, ref, s.options.perChannel ? outAxis : undefined);
    if (!r.ok) return s.rec.skipped(graph, node, r.reason);
    s.rec.weightQuantized(key);
    return s.rec.quantized(graph, node, `${r.how} (${floatWhy})`);
  }
  if (!(alpha > 0)) return s.rec.skipped(graph, node, `alpha is ${alpha}; only a positive alpha folds into the weight scale`);
  const type = s.weightType('integer');
  const req = s.options.perChannel ? { type, axis: outAxis, transpose: transB === 1 } : { type, transpose: transB === 1 };
  const r = s.storeWeight(ref, req);
  if (!r.ok) return s.rec.skipped(graph, node, r.reason);
  const w = r.w;
  const e = s.editor;
  const base = node.name || `Gemm_${node.output[0]}`;
  const out = node.output[0] as string;
  const nodes: NodeProto[] = [];
  let input = a;
  if (transA) {
    input = e.name(`${a}_transposed`);
    nodes.push(e.node('Transpose', [a], [input], { perm: [1, 0] }, `${base}_transA`));
  }
  const aq = dynamicQuantize(s, graph, input, nodes);
  let wScale = w.scale;
  if (alpha !== 1) {
    // Gemm's alpha scales A*B: fold it into the weight scale rather than adding a Mul.
    wScale = e.tensor(ref.owner, `${w.scale}_alpha`, DataType.FLOAT, w.axis === undefined ? [] : [w.weight.scale.length], w.weight.scale.map((v) => Math.fround(v * alpha)));
  }
  const int32 = e.name(`${out}_int32`);
  nodes.push(e.node('MatMulInteger', [aq.q, w.q, aq.zeroPoint, w.zeroPoint], [int32], {}, `${base}_MatMulInteger`));
  const hasBias = c !== '' && beta !== 0;
  const product = hasBias ? e.name(`${out}_product`) : out;
  nodes.push(...scaleBack(s, int32, aq.scale, wScale, product, base));
  if (hasBias) {
    let bias = c;
    if (beta !== 1) {
      const cRef = s.constant(graph, c);
      if (cRef && cRef.tensor.dataType === DataType.FLOAT) {
        bias = e.tensor(cRef.owner, `${c}_beta`, DataType.FLOAT, tensorDims(cRef.tensor), constantFloats(cRef).map((v) => Math.fround(v * beta)));
        s.touched.push(cRef);
      } else {
        bias = e.name(`${c}_beta`);
        nodes.push(e.node('Mul', [c, e.scalarF32(graph, `${base}_beta`, beta)], [bias], {}, `${base}_beta_Mul`));
      }
    }
    nodes.push(e.node('Add', [product, bias], [out], {}, `${base}_bias_Add`));
  }
  graph.replaceNode(node, nodes);
  s.touched.push(ref);
  s.rec.weightQuantized(key);
  const extras = [transA ? 'A transposed by a Transpose node' : '', transB ? 'B stored transposed' : '', alpha !== 1 ? `alpha ${alpha} folded into the scale` : '', hasBias ? 'C added in float' : '']
    .filter(Boolean)
    .join(', ');
  s.rec.quantized(graph, node, `Gemm rewritten as DynamicQuantizeLinear + MatMulInteger, ${type.name} weights ${layout(w)}${extras ? `; ${extras}` : ''}`);
}

export function dynamicConv(s: QuantSession, graph: Graph, node: NodeProto): void {
  const [x = '', , bias = ''] = node.input;
  const weight = quantizableWeight(s, graph, node, 'W');
  if (!weight) return;
  const { ref, key, dims } = weight;
  if (dims.length < 3) return s.rec.skipped(graph, node, `W is ${dims.length}-D; Conv weights are [M, C/group, k...]`);
  const floatWhy = weightOnlyReason(s, graph, node, s.forms.conv);
  if (floatWhy) {
    const r = weightOnly(s, graph, node, 1, ref, s.options.perChannel ? 0 : undefined);
    if (!r.ok) return s.rec.skipped(graph, node, r.reason);
    s.rec.weightQuantized(key);
    return s.rec.quantized(graph, node, `${r.how} (${floatWhy})`);
  }
  const biasRef = bias ? s.constant(graph, bias) : undefined;
  if (bias && (!biasRef || biasRef.tensor.dataType !== DataType.FLOAT)) return s.rec.skipped(graph, node, `bias "${bias}" is not a float32 constant`);
  const notes: string[] = [];
  let typeName = s.options.weightType;
  if (s.forms.convWeightType && s.forms.convWeightType !== typeName) {
    typeName = s.forms.convWeightType;
    notes.push(`uint8 weights: onnxruntime's ConvInteger runs uint8 weights several times faster than int8 on CPU, u8 x u8 products never saturate, and onnxruntime-web builds before 1.17 have no int8 ConvInteger`);
  }
  const type = s.weightType('integer', typeName);
  // ConvInteger fails at run time with a per-channel weight zero point (onnxruntime 1.30, CPU and
  // wasm: "Non per-tensor quantization is not supported now"); symmetric weights share one.
  const perChannel = s.options.perChannel && s.options.symmetric;
  if (s.options.perChannel && !perChannel) notes.push('per-tensor: asymmetric per-channel weights need one zero point per channel, which ConvInteger rejects');
  const r = s.storeWeight(ref, perChannel ? { type, axis: 0 } : { type });
  if (!r.ok) return s.rec.skipped(graph, node, r.reason);
  const w = r.w;
  const zp = nullThrows(s.scalarZeroPoint(w, ref.owner), 'symmetric per-channel weights share one zero point');
  const e = s.editor;
  const M = dims[0] as number;
  const spatial = dims.length - 2;
  const out = node.output[0] as string;
  const base = node.name || `Conv_${out}`;
  const nodes: NodeProto[] = [];
  const xq = dynamicQuantize(s, graph, x, nodes);
  const int32 = e.name(`${out}_int32`);
  nodes.push(e.node('ConvInteger', [xq.q, w.q, xq.zeroPoint, zp], [int32], {}, `${base}_ConvInteger`));
  // ConvInteger takes Conv's attributes unchanged (same names and meaning).
  (nodes[nodes.length - 1] as NodeProto).attribute.push(...node.attribute);
  // Per-channel scales and the bias broadcast over [N, M, spatial...] as [M, 1, ...].
  const chanDims = [M, ...Array.from({ length: spatial }, () => 1)];
  let wScale = w.scale;
  if (w.axis !== undefined) wScale = e.tensor(ref.owner, `${w.scale}_broadcast`, DataType.FLOAT, chanDims, w.weight.scale);
  const product = biasRef ? e.name(`${out}_product`) : out;
  nodes.push(...scaleBack(s, int32, xq.scale, wScale, product, base));
  if (biasRef) {
    const b = e.tensor(biasRef.owner, `${bias}_broadcast`, DataType.FLOAT, chanDims, Float32Array.from(constantFloats(biasRef)));
    nodes.push(e.node('Add', [product, b], [out], {}, `${base}_bias_Add`));
    s.touched.push(biasRef);
  }
  graph.replaceNode(node, nodes);
  s.touched.push(ref);
  s.rec.weightQuantized(key);
  s.rec.quantized(graph, node, `DynamicQuantizeLinear + ConvInteger, ${type.name} weights ${layout(w)}${notes.length ? `; ${notes.join('; ')}` : ''}`);
}
