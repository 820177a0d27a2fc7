// Bulk numeric kernels for the fp16 pass, INT8 quantization and the runtime's tensor helpers:
// WebAssembly SIMD compiled from AssemblyScript (../../assembly, embedded in wasm-bytes.generated.ts), with plain
// JavaScript fallbacks that give identical results where wasm SIMD is unavailable (the int4 column kernels
// answer null there instead: graph-ops' int4 quantizer is their JavaScript form).
export { initKernels, kernelBackend } from './kernel-instance.js';
export type { KernelBackend } from './kernel-instance.js';
export { float32ToFloat16, float32ToFloat16WithStats } from './float32-to-float16.js';
export type { Float16ConvertOptions, Float16ConvertResult } from './float32-to-float16.js';
export { float16ToFloat32 } from './float16-to-float32.js';
export { minMax } from './min-max.js';
export type { MinMax } from './min-max.js';
export { rangePerAxis } from './range-per-axis.js';
export type { AxisRange } from './range-per-axis.js';
export { quantizeLinear } from './quantize-linear.js';
export { dequantizeLinear } from './dequantize-linear.js';
export type { QuantizeOptions, QuantLayoutOptions } from './quant-params.js';
export { histogram } from './histogram.js';
export type { HistogramOptions } from './histogram.js';
export { int4ColumnPack, int4ColumnParams } from './int4-columns.js';
export type { Int4ColumnParams, Int4Columns } from './int4-columns.js';
