// Entry of the numeric kernels module. Every kernel works on raw pointers into this module's own
// memory, which the TypeScript side (src/kernels/) fills chunk by chunk: nothing here allocates, so
// the stub runtime suffices and the module has no imports.

export { f32_to_f16, f16_to_f32 } from './float16';
export { min_max, range_runs, range_rows } from './range';
export { quantize_runs, quantize_rows, dequantize_runs, dequantize_rows } from './quantize';
export { histogram } from './histogram';
export { int4_params, int4_pack } from './int4';

/** First byte the host may use for its buffers: everything above the static data is free. */
export function heap_base(): usize {
  return (__heap_base + 15) & ~(15 as usize);
}
