import type { QuantTarget } from './target-forms.js';

/**
 * Which integer range int8 weights may use, by the CPUs a model must stay accurate on.
 *
 * onnxruntime's x86 kernels multiply u8 activations by s8 weights in one of two ways (MLAS,
 * onnxruntime/core/mlas/lib/platform.cpp picks by CPUID): with VNNI (`vpdpbusd`, AVX-512 VNNI or
 * AVX-VNNI) the four products of a lane are summed straight into int32; without it (AVX2, and AVX-512
 * without VNNI) `vpmaddubsw` first sums each adjacent pair of products into a saturating int16. With
 * full-range weights a pair reaches 255 * 127 * 2 = 64770 and is cut at 32767: a model quantized on a
 * VNNI machine silently loses accuracy on an older one (onnxruntime's quantization docs advise
 * reduced range or U8U8 there). 7-bit weights keep every pair at 255 * 64 * 2 = 32640 or below.
 *
 * Kernels that never saturate: u8 x u8 (MLAS widens both to 16 bits), onnxruntime-web's WebAssembly
 * kernels (they widen before multiplying), ARM (sdot/udot or widening multiplies), and weight-only
 * forms (weights dequantized to float before a float op).
 */

export const INT8_ISAS = ['portable', 'avx2', 'avx512', 'vnni', 'arm64'] as const;
export type Int8Isa = (typeof INT8_ISAS)[number];

/** Largest |weight code| whose pairwise products with any u8 activation stay within int16. */
export const SATURATION_SAFE_CODE = 64;

export interface WeightRangeChoice {
  reduceRange: boolean;
  reason: string;
}

export interface WeightRangeOptions {
  isa: Int8Isa;
  reduceRange: boolean | 'auto';
  target: QuantTarget;
}

/**
 * Whether a weight of `type` used in `form` gets 7-bit codes, and why. `integer` forms feed
 * MatMulInteger / ConvInteger / QLinear kernels; `weight-only` forms dequantize to float first.
 */
export function weightRange(o: WeightRangeOptions, form: 'integer' | 'weight-only', type: 'int8' | 'uint8'): WeightRangeChoice {
  if (o.reduceRange === true) return { reduceRange: true, reason: 'reduceRange=true: 7-bit weights' };
  if (o.reduceRange === false) return { reduceRange: false, reason: 'reduceRange=false: full 8-bit weights' };
  if (form === 'weight-only') return { reduceRange: false, reason: 'full 8-bit weights: they are dequantized to float before the op, so no integer product can saturate' };
  if (type === 'uint8') return { reduceRange: false, reason: 'full 8-bit uint8 weights: onnxruntime widens u8 x u8 products to 16 bits on every x86 CPU, so nothing saturates' };
  if (o.target === 'cuda' || o.target === 'webgpu') return { reduceRange: false, reason: `full 8-bit weights: target ${o.target} runs no CPU integer kernels` };
  if (o.target === 'wasm') return { reduceRange: false, reason: "full 8-bit weights: onnxruntime-web's WebAssembly kernels widen to 16 bits before multiplying, so nothing saturates" };
  if (o.isa === 'vnni') return { reduceRange: false, reason: 'full 8-bit weights for isa vnni: vpdpbusd sums u8 x s8 products in 32 bits (not accurate on x86 CPUs without VNNI)' };
  if (o.isa === 'arm64') return { reduceRange: false, reason: "full 8-bit weights for isa arm64: ARM's integer dot products do not saturate (not accurate on x86 CPUs without VNNI)" };
  const who = o.isa === 'portable' ? 'isa portable: the model may run on x86 CPUs without VNNI' : `isa ${o.isa}: x86 without VNNI`;
  return {
    reduceRange: true,
    reason: `7-bit weights (${who}, where onnxruntime sums u8 x s8 products in pairs into saturating int16 with vpmaddubsw; 7-bit codes keep every pair below 32767)`,
  };
}

/** Metadata keys an INT8 pass writes, so a runtime can tell where the model is accurate. */
export const INT8_METADATA = {
  /** The `isa` option the model was quantized for. */
  isa: 'onnx-forge.int8.isa',
  /** 'yes' when every int8 weight of an integer form uses 7-bit codes (accurate on x86 without VNNI). */
  saturationSafe: 'onnx-forge.int8.saturation-safe',
} as const;
