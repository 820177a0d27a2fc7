import { DataType, isDefaultDomain, nodeLabel, tensorToArray, type Model } from '@onnx-forge/core';
import { findConstant } from './quant-graph.js';
import { SATURATION_SAFE_CODE } from './isa-forms.js';

/**
 * The two ways onnxruntime's x86 kernels add up u8 x s8 products (see isa-forms.ts), as plain
 * functions, and a check of a model's int8 weights against the non-VNNI one.
 */

const INT16_MAX = 32767;
const INT16_MIN = -32768;

/** Σ a[k]·b[k] in exact integer arithmetic (what VNNI's vpdpbusd computes). */
export function exactDot(a: ArrayLike<number>, b: ArrayLike<number>, aOffset = 0, aStride = 1, bOffset = 0, bStride = 1, k = a.length): number {
  let sum = 0;
  for (let i = 0; i < k; i++) sum += (a[aOffset + i * aStride] as number) * (b[bOffset + i * bStride] as number);
  return sum;
}

/**
 * Σ a[k]·b[k] as AVX2's `vpmaddubsw` + `vpmaddwd` compute it: products of adjacent elements (k = 2i,
 * 2i + 1) are summed into an int16 that saturates at [-32768, 32767], then the pair sums are added in
 * int32. `a` holds u8 codes, `b` s8 codes; an odd last element pairs with a zero (MLAS pads K).
 */
export function saturatingPairDot(a: ArrayLike<number>, b: ArrayLike<number>, aOffset = 0, aStride = 1, bOffset = 0, bStride = 1, k = a.length): number {
  let sum = 0;
  for (let i = 0; i < k; i += 2) {
    let pair = (a[aOffset + i * aStride] as number) * (b[bOffset + i * bStride] as number);
    if (i + 1 < k) pair += (a[aOffset + (i + 1) * aStride] as number) * (b[bOffset + (i + 1) * bStride] as number);
    sum += Math.max(INT16_MIN, Math.min(INT16_MAX, pair));
  }
  return sum;
}

/** An int8 weight that an integer kernel multiplies with u8 activations, and how large its codes get. */
export interface Int8WeightRisk {
  graph: string;
  node: string;
  opType: string;
  weight: string;
  /** Largest |code| of the weight. */
  maxCode: number;
  /**
   * True when no pair of products can leave int16 for any u8 activations: 2 x 255 x maxCode <= 32767
   * (|code| <= 64), whichever elements a kernel pairs.
   */
  safe: boolean;
}

/** Ops whose int8 weight input is multiplied by u8 activations in onnxruntime's CPU kernels, by input index. */
const INTEGER_WEIGHT_INPUT: Readonly<Record<string, number>> = { MatMulInteger: 1, ConvInteger: 1, QLinearMatMul: 3, QLinearConv: 3 };
/** Float ops onnxruntime's CPU provider fuses with a DequantizeLinear of their weight into integer kernels (QDQ). */
const QDQ_FUSED = new Set(['MatMul', 'Conv', 'Gemm']);

/**
 * Every int8 weight of `model` that onnxruntime's CPU kernels multiply with u8 activations (integer
 * ops, and DequantizeLinear weights feeding MatMul/Conv/Gemm, which the CPU provider fuses), with
 * whether it stays within int16 pairs on x86 CPUs without VNNI.
 */
export function int8WeightRisks(model: Model): Int8WeightRisk[] {
  const out: Int8WeightRisk[] = [];
  const seen = new Set<string>();
  for (const { graph, node } of model.allNodes()) {
    if (!isDefaultDomain(node.domain)) continue;
    let weight: string | undefined;
    let reader = node;
    const index = INTEGER_WEIGHT_INPUT[node.opType];
    if (index !== undefined) {
      weight = node.input[index];
    } else if (node.opType === 'DequantizeLinear') {
      const readers = graph.consumers(node.output[0] ?? '');
      const fused = readers.find((r) => QDQ_FUSED.has(r.opType) && isDefaultDomain(r.domain) && r.input[1] === node.output[0]);
      if (!fused) continue;
      weight = node.input[0];
      reader = fused;
    }
    if (!weight) continue;
    const ref = findConstant(graph, weight);
    if (!ref || ref.tensor.dataType !== DataType.INT8) continue;
    const key = `${graph.path}::${nodeLabel(reader)}::${weight}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const codes = tensorToArray(ref.tensor) as Int8Array;
    let maxCode = 0;
    for (let i = 0; i < codes.length; i++) {
      const v = Math.abs(codes[i] as number);
      if (v > maxCode) maxCode = v;
    }
    out.push({ graph: graph.path, node: nodeLabel(reader), opType: reader.opType, weight, maxCode, safe: maxCode <= SATURATION_SAFE_CODE });
  }
  return out;
}
