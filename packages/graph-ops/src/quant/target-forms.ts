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
 */

export type QuantTarget = 'any' | 'cpu' | 'wasm' | 'webgpu' | 'cuda';
export const QUANT_TARGETS: readonly QuantTarget[] = ['any', 'cpu', 'wasm', 'webgpu', 'cuda'];

export interface TargetForms {
  /** MatMul/Gemm with a constant weight in dynamic mode: integer product, or int8 weights dequantized for a float op. */
  matmul: 'integer' | 'weight-only';
  conv: 'integer' | 'weight-only';
  /** ConvInteger weights take this type on the target, whatever `weightType` asks. */
  convWeightType?: 'uint8';
  /** Ops the target's provider has no kernel for (onnxruntime falls back to the CPU for them). */
  cpuFallback: readonly string[];
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
    cpuFallback: ['QuantizeLinear', 'DynamicQuantizeLinear', 'MatMulInteger', 'ConvInteger'],
    note: 'WebGPU: DequantizeLinear only, no int32 zero point; int8 weights with DequantizeLinear and float MatMul/Conv',
  },
};
