import { FLOAT16_MAX, FLOAT16_MIN_SUBNORMAL, type OptionSpecs } from '@onnx-forge/core';
import { contradiction } from '../options/model-lists.js';
import { FP16_TARGETS, type Fp16Target } from '../tables/fp16-support.js';

export interface Fp16Options {
  /**
   * Keep float32 model inputs and outputs (true), or those named. The others turn float16 only where a
   * node reading (an input) or making (an output) them computes in float16; the rest stay float32.
   */
  keepIoTypes: boolean | readonly string[];
  /** Op types kept in float32 (`Resize`, or `com.microsoft:Gelu` for another domain). */
  blockOps: readonly string[];
  /** Node names kept in float32. */
  blockNodes: readonly string[];
  /** When not empty, only these op types are converted (the target table still applies). */
  includeOps: readonly string[];
  /** Node names converted even where the target table or includeOps would keep them. */
  includeNodes: readonly string[];
  /** Clamp constants into the float16 range, keeping sign, zero, NaN and infinities (default true). */
  clamp: boolean;
  /** Largest finite magnitude kept (default 65504, the float16 maximum). */
  maxFinite: number;
  /** Smallest non-zero magnitude kept (default 2^-24, the smallest float16 subnormal). */
  minPositive: number;
  /** Which runtime the model is for: ops without a float16 kernel there stay float32. */
  target: Fp16Target;
  /**
   * How weights that only float32 nodes read are stored: 'fp16' (cast back to float32 at load, so the
   * file halves and the compute stays float32), 'fp32', or 'auto' (fp16 for cpu and wasm, whose
   * runtimes have almost no float16 kernels, fp32 elsewhere).
   */
  weightStorage: 'auto' | 'fp16' | 'fp32';
}

export const FP16_OPTION_SPECS: OptionSpecs<Fp16Options> = {
  keepIoTypes: {
    type: ['boolean', 'string[]'],
    default: false,
    description: 'keep float32 model inputs/outputs: true for all, or a list of input/output names',
  },
  blockOps: { type: 'string[]', default: [], description: 'op types to keep in float32 (domain:Op for other domains)' },
  blockNodes: { type: 'string[]', default: [], description: 'node names to keep in float32' },
  includeOps: { type: 'string[]', default: [], description: 'when set, convert only these op types' },
  includeNodes: { type: 'string[]', default: [], description: 'node names to convert even when the target table would keep them' },
  clamp: { type: 'boolean', default: true, description: 'clamp constants to the float16 range (sign, zero, NaN and Inf kept)' },
  maxFinite: {
    type: 'number',
    default: FLOAT16_MAX,
    description: 'largest finite magnitude after clamping',
    validate: (v) => (v > 0 && v <= FLOAT16_MAX ? undefined : `must be in (0, ${FLOAT16_MAX}]`),
  },
  minPositive: {
    type: 'number',
    default: FLOAT16_MIN_SUBNORMAL,
    description: 'smallest non-zero magnitude after clamping',
    validate: (v) => (v >= FLOAT16_MIN_SUBNORMAL && v < FLOAT16_MAX ? undefined : `must be in [2^-24, ${FLOAT16_MAX})`),
  },
  target: {
    type: { enum: FP16_TARGETS },
    default: 'any',
    description: 'runtime the model is for (any, cpu, wasm, webgpu, cuda): ops without a float16 kernel there stay float32',
  },
  weightStorage: {
    type: { enum: ['auto', 'fp16', 'fp32'] },
    default: 'auto',
    description: 'weights only float32 ops read: fp16 (cast to float32 at load: half the file, float32 compute), fp32, or auto (fp16 for cpu and wasm)',
  },
};

/** Lists that cannot both name an entry (checked when the options are made). */
export function checkFp16Options(o: Readonly<Fp16Options>): string | undefined {
  if (o.minPositive >= o.maxFinite) return `minPositive (${o.minPositive}) must be below maxFinite (${o.maxFinite})`;
  return contradiction('blockOps', o.blockOps, 'includeOps', o.includeOps) ?? contradiction('blockNodes', o.blockNodes, 'includeNodes', o.includeNodes);
}
