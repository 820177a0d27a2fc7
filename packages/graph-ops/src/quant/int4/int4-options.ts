import type { OptionSpecs } from '@onnx-forge/core';
import { type NodeSelectionOptions, checkQuantOptions, nodeSelectionSpecs } from '../quant-options.js';
import { QUANT_TARGETS, type QuantTarget } from '../target-forms.js';
import type { Int4Method } from './block-quantize.js';
import { INT4_TARGET_FORMS } from './int4-forms.js';

/** Op types the int4 pass rewrites: MatMul into MatMulNBits, Gather over a table into GatherBlockQuantized. */
export const INT4_OPS = ['MatMul', 'Gather'] as const;
export type Int4Op = (typeof INT4_OPS)[number];

/** onnxruntime's accuracy_level values: 0 unset (the most accurate the kernel has), 1 fp32, 2 fp16, 3 bf16, 4 int8. */
export const ACCURACY_LEVELS = [0, 1, 2, 3, 4] as const;

export interface Int4Options extends NodeSelectionOptions {
  /** Values per block along K (MatMul) or along a table row (Gather), each block with its own scale. */
  blockSize: number;
  /** No zero points (onnxruntime's default code 8), or one 4-bit zero point per block. */
  symmetric: boolean;
  /**
   * MatMulNBits `accuracy_level`: how onnxruntime may compute with A. 4 lets the CPU kernel quantize
   * A to int8 per block (faster, less accurate); 0 leaves the attribute out.
   */
  accuracyLevel: number;
  /** `rtn` round to nearest, or `search`: a per-block search for the scale with the least squared error. */
  method: Int4Method;
  /** Where the model will run: cpu and wasm measured here, webgpu in Chromium (webgpu-targets.browser.test.ts), cuda from onnxruntime's kernel registrations. */
  target: QuantTarget;
}

export const INT4_OPTION_SPECS: OptionSpecs<Int4Options> = {
  // 32 and symmetric: 4 bits and a float32 scale per 32 values; asymmetric blocks add a 4-bit zero
  // point each (sizes of every form: `npm run bench -- int4`, README § 4-bit weights).
  blockSize: {
    type: 'integer',
    default: 32,
    description: 'values per block (each block has its own scale): 16, 32, 64, 128 or 256',
    validate: (v) => ([16, 32, 64, 128, 256].includes(v) ? undefined : 'must be 16, 32, 64, 128 or 256 (a power of two >= 16, as MatMulNBits requires)'),
  },
  symmetric: { type: 'boolean', default: true, description: 'symmetric blocks (no zero points); false stores a 4-bit zero point per block' },
  accuracyLevel: {
    type: 'integer',
    default: 0,
    description: 'MatMulNBits accuracy_level: 0 unset (most accurate), 1 fp32, 2 fp16, 3 bf16, 4 int8 compute (faster on CPU)',
    validate: (v) => ((ACCURACY_LEVELS as readonly number[]).includes(v) ? undefined : 'must be 0, 1, 2, 3 or 4'),
  },
  method: {
    type: { enum: ['rtn', 'search'] },
    // rtn by default, as onnxruntime's quantizer: search lowers the weights' squared error at several
    // times the time, and did not raise greedy-token agreement on the builder's decoder (both measured
    // by `npm run bench -- int4`, README § 4-bit weights).
    default: 'rtn',
    description: 'rtn: round to nearest on each block\'s range; search: per-block scale search for the least squared error (slower)',
  },
  // MatMul only by default, as onnxruntime's matmul_nbits_quantizer: a Gather table may be a rotary
  // cos/sin cache, which 4 bits would blur; embeddings are opted in with ops=[MatMul,Gather].
  ...nodeSelectionSpecs('int4', INT4_OPS, ['MatMul'], '; Gather tables are opt-in'),
  target: {
    type: { enum: QUANT_TARGETS },
    default: 'any',
    description: 'where the model runs: any (cpu, wasm and webgpu), cpu, wasm, webgpu, cuda',
  },
};

/**
 * The int4 options' lists checked together (as the INT8 passes' are), and the block size against a
 * target that computes only smaller ones right.
 */
export function checkInt4Options(o: Readonly<Int4Options>): string | undefined {
  const limit = INT4_TARGET_FORMS[o.target].maxBlockSize;
  if (limit?.refuse && o.blockSize > limit.size) {
    return `blockSize ${o.blockSize} with target ${o.target}: ${limit.why}; use blockSize 16 or 32 there`;
  }
  return checkQuantOptions(o);
}
