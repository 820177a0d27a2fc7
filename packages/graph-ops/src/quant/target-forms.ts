/**
 * Which quantized forms each target runs. Checked against onnxruntime 1.30 (see quant/README.md):
 * - CPU (onnxruntime-node) and wasm (onnxruntime-web) share the CPU kernels: MatMulInteger and
 *   ConvInteger take uint8 or int8 on both sides, but ConvInteger rejects a per-channel weight zero
 *   point at run time ("Non per-tensor quantization is not supported now"), so per-channel Conv
 *   weights need a single zero point. onnxruntime-web builds before 1.17 had no int8 ConvInteger,
 *   which is why transformers.js ships uint8 Conv weights; wasm keeps that choice.
 * - CUDA has no ConvInteger (microsoft/onnxruntime#5127, #3130), and its MatMulInteger takes int8
 *   activations only while DynamicQuantizeLinear produces uint8: both would run on the CPU with
 *   copies. Weight-only forms (int8 weights, DequantizeLinear, float op) run on CUDA kernels.
 * - WebGPU registers DequantizeLinear (int8, uint8, int32) but no MatMulInteger, ConvInteger,
 *   DynamicQuantizeLinear or QuantizeLinear, and rejects an int32 DequantizeLinear with a zero
 *   point (the ONNX spec gives int32 none): weight-only forms, and never an int32 zero point.
 *   Run in Chromium (webgpu-targets.browser.test.ts), onnxruntime-web 1.30's default build, whose
 *   webgpu provider is JSEP (kernels written in TypeScript; `onnxruntime-web/webgpu` is the C++ one),
 *   computes three of these forms wrong while wasm and the C++ provider compute them right:
 *   DequantizeLinear with one scale for the whole tensor (its vectorized shader reads the codes of
 *   the wrong word; a per-axis one over an axis of one index, as a Gemm with one output, too, and
 *   once run it leaves its program to every later one alike in the page), uint8 DequantizeLinear with a zero point (it subtracts in unsigned integers), and
 *   int8 tables gathered on the CPU (neither WebGPU provider has an int8 Gather or Cast: the rows are
 *   gathered on the CPU, and JSEP's copies of two such results to the GPU in one run gave the second
 *   the first one's values). Hence per-axis int8 DequantizeLinear only, float embedding tables, and
 *   float activations in int8-static (its QDQ pairs are per-tensor uint8 or int8 DequantizeLinear
 *   of values quantized on the CPU).
 */

export type QuantTarget = 'any' | 'cpu' | 'wasm' | 'webgpu' | 'cuda';
export const QUANT_TARGETS: readonly QuantTarget[] = ['any', 'cpu', 'wasm', 'webgpu', 'cuda'];

export interface TargetForms {
  /** MatMul/Gemm with a constant weight in dynamic mode: integer product, or int8 weights dequantized for a float op. */
  matmul: 'integer' | 'weight-only';
  conv: 'integer' | 'weight-only';
  /**
   * ConvInteger weights take this type on the target, whatever `weightType` asks; so do the weights
   * of a static (QDQ) Conv, unless staticConvWeights says otherwise.
   */
  convWeightType?: 'uint8';
  /** Ops the target's provider has no kernel for (onnxruntime falls back to the CPU for them). */
  cpuFallback: readonly string[];
  /**
   * Weight-only forms store their codes as this type whatever `weightType` asks, for the reason
   * given (set where the other type is computed wrong).
   */
  weightOnlyType?: { readonly type: 'int8'; readonly why: string };
  /**
   * Set (to why) where a DequantizeLinear with one scale for the whole tensor is computed wrong: a
   * per-tensor weight then carries its one scale and zero point once per index of its last axis, so
   * that the target runs a per-axis DequantizeLinear with the same values.
   */
  perAxisDequantizeOnly?: string;
  /** Set (to why) where 8-bit embedding tables (Gather over int8 codes) must stay float. */
  floatGatherTables?: string;
  /** Set (to why) where int8-static must keep activations float (weight-only forms for every node). */
  floatActivations?: string;
  note: string;
}

const CPU_FORMS: TargetForms = {
  matmul: 'integer',
  conv: 'integer',
  // Measured by `npm run bench -- int8-forms`: onnxruntime-node 1.30's ConvInteger with int8 weights
  // runs several times slower than with uint8 weights (and slower than float Conv), and u8 x u8
  // products never saturate on x86 CPUs without VNNI.
  convWeightType: 'uint8',
  cpuFallback: [],
  note: 'onnxruntime CPU kernels: DynamicQuantizeLinear + MatMulInteger/ConvInteger (fused into DynamicQuantizeMatMul), uint8 ConvInteger weights',
};

export const TARGET_FORMS: Readonly<Record<QuantTarget, TargetForms>> = {
  cpu: CPU_FORMS,
  wasm: {
    ...CPU_FORMS,
    note: 'onnxruntime-web wasm: CPU kernels; uint8 ConvInteger weights, which every onnxruntime-web build runs',
  },
  // The default: forms that both onnxruntime-node and onnxruntime-web load and run with their own kernels.
  any: {
    ...CPU_FORMS,
    note: 'integer forms that onnxruntime CPU and wasm both run (uint8 ConvInteger weights); choose cuda or webgpu for GPU forms',
  },
  cuda: {
    matmul: 'weight-only',
    conv: 'weight-only',
    cpuFallback: [],
    note: 'CUDA: no ConvInteger kernel and MatMulInteger only for int8 activations; int8 weights with DequantizeLinear and float MatMul/Conv',
  },
  webgpu: {
    matmul: 'weight-only',
    conv: 'weight-only',
    cpuFallback: ['QuantizeLinear', 'DynamicQuantizeLinear', 'MatMulInteger', 'ConvInteger', 'Gather (int8 data)', 'Cast (from int8)'],
    weightOnlyType: { type: 'int8', why: "onnxruntime-web's WebGPU (JSEP) DequantizeLinear subtracts a uint8 zero point in unsigned integers, so codes below it come out near 2^32" },
    perAxisDequantizeOnly: "onnxruntime-web's WebGPU (JSEP) DequantizeLinear computes a per-tensor int8 or uint8 tensor (or a per-axis one over one channel) wrong (its shader reads the codes of the wrong word)",
    floatGatherTables: "WebGPU has no int8 Gather or Cast kernel: the table would be gathered on the CPU, and onnxruntime-web's WebGPU (JSEP) copies of such CPU results to the GPU gave wrong rows",
    floatActivations: "onnxruntime-web's WebGPU has no QuantizeLinear kernel, and its JSEP DequantizeLinear computes per-tensor and uint8 activations wrong",
    note: 'WebGPU: int8 weights with a per-axis DequantizeLinear feeding float MatMul/Gemm/Conv; embedding tables and activations stay float',
  },
};

/**
 * The weight type of a Conv in int8-static, which onnxruntime's CPU provider fuses into QLinearConv,
 * and why when it is not `weightType`. On CPU targets QLinearConv runs int8 weights much faster than
 * uint8, on x86 CPUs with VNNI and without (`npm run bench -- int8-forms`), so int8 where the model
 * asks for them knowingly: isa vnni (full range, exact there) or reduceRange (7-bit, exact on every
 * CPU, a little less accurate than 8 bits). Otherwise the target's convWeightType: uint8, exact on
 * every x86 CPU at full 8 bits. ConvInteger (int8-dynamic) is not so: its int8 weights run slower, so
 * it keeps convWeightType.
 */
export function staticConvWeights(
  forms: TargetForms,
  o: { target: QuantTarget; isa: string; weightType: 'int8' | 'uint8'; reduceRange: boolean | 'auto' },
): { type: 'int8' | 'uint8'; why?: string } {
  if (!forms.convWeightType || forms.convWeightType === o.weightType) return { type: o.weightType };
  if ((o.isa === 'vnni' || o.reduceRange === true) && (o.target === 'cpu' || o.target === 'any')) return { type: o.weightType };
  return {
    type: forms.convWeightType,
    why: `${forms.convWeightType} weights (QLinearConv u8 x u8, exact on every x86 CPU; int8 weights run faster: reduceRange=true for 7-bit ones, exact on every CPU, or isa vnni for full-range ones, exact with AVX-512 VNNI only)`,
  };
}
