import type { QuantTarget } from '../target-forms.js';

/**
 * Which targets run the 4-bit forms, for onnxruntime 1.30:
 * - cpu (onnxruntime-node) and wasm (onnxruntime-web): measured by int4.test.ts, which runs
 *   MatMulNBits (block sizes 16-128, symmetric and asymmetric, K not a multiple of the block, scales
 *   and zero points 1-D or 2-D) and GatherBlockQuantized (uint8 data, bits=4) against a plain
 *   JavaScript dequantize + matmul on both.
 * - accuracy_level 4: the CPU kernel quantizes A to int8 per block (results move by about 1 % of the
 *   output range in that test); the wasm build of 1.30 accepts the attribute and gives the fp32
 *   result bit for bit (measured), so the level is a speed hint there, not a different form.
 * - webgpu: onnxruntime/contrib_ops/webgpu/quantization registers MatMulNBits (T1 float/float16,
 *   B, zero points uint8 only, no g_idx) and GatherBlockQuantized (uint8 data with bits 2/4/8).
 *   Its GatherBlockQuantized reads 4-bit zero points by the flat index of the scale, with no byte
 *   padding between rows, while the CPU kernel requires each row's zero points to start on a new
 *   byte ([rows, ceil(blocks / 2)]): the two agree only when a row has an even number of blocks.
 *   That is the C++ WebGPU provider, which onnxruntime-web ships as `onnxruntime-web/webgpu`. The
 *   package's default build (the one the runtime loads) has JSEP instead, run in Chromium by
 *   webgpu-targets.browser.test.ts: its MatMulNBits is right for blocks of 16 and 32 and wrong for 64
 *   and up (the shader indexes B's words by the word offset where it needs the vector offset), while
 *   the C++ provider and wasm compute every block size right on the same device; its
 *   GatherBlockQuantized takes int4/uint4 data only, so the uint8 form runs on the CPU there (right,
 *   with a copy to the GPU); it ignores accuracy_level, where the C++ provider computes in int8 at 4.
 * - cuda: contrib_ops/cuda/quantization registers both (not run here: no GPU).
 * - The WebAssembly provider of `onnxruntime-web/webgpu` (its asyncify binary) has no
 *   GatherBlockQuantized kernel for any data type (uint8, uint4: "Could not find an implementation",
 *   measured in Chromium by wasm-targets.browser.test.ts), while the default build's WebAssembly (the
 *   one the runtime loads) and onnxruntime-web's in Node run it. A session of that build on wasm alone
 *   (no WebGPU adapter, or wasm chosen) refuses a model with 4-bit tables; MatMulNBits loads there.
 */

/** Why 4-bit tables (GatherBlockQuantized) may not load in a WebAssembly session; said by the int4 pass for targets that include wasm. */
export const WEBGPU_BUILD_WASM_GATHER =
  "onnxruntime-web/webgpu's WebAssembly provider (that entry's build, used without a WebGPU adapter or with executionProviders ['wasm']) has no GatherBlockQuantized kernel and refuses the model (onnxruntime-web 1.30, measured in Chromium); onnxruntime-node and the default onnxruntime-web build, which @onnx-forge/runtime loads, run it";

export interface Int4TargetForms {
  matmulNBits: boolean;
  gatherBlockQuantized: boolean;
  /** Targets that read GatherBlockQuantized zero points without per-row byte padding. */
  flatGatherZeroPoints: boolean;
  /** What accuracy_level 4 does on the target. */
  int8Compute: string;
  /**
   * The largest block size the target computes right, and why: `refuse` makes a larger one an
   * options error (the target alone), else a warning (a target that includes it, as `any`).
   */
  maxBlockSize?: { readonly size: number; readonly why: string; readonly refuse: boolean };
  note: string;
}

const JSEP_BLOCKS = "onnxruntime-web 1.30's default WebGPU provider (JSEP) computes MatMulNBits wrong for blocks above 32 (measured in Chromium; wasm and onnxruntime-web/webgpu compute them right)";

const CPU: Int4TargetForms = {
  matmulNBits: true,
  gatherBlockQuantized: true,
  flatGatherZeroPoints: false,
  int8Compute: 'onnxruntime CPU quantizes A to int8 per block (faster, less accurate)',
  note: 'onnxruntime CPU: MatMulNBits and GatherBlockQuantized (measured, 1.30)',
};

export const INT4_TARGET_FORMS: Readonly<Record<QuantTarget, Int4TargetForms>> = {
  cpu: CPU,
  wasm: {
    ...CPU,
    int8Compute: 'onnxruntime-web wasm 1.30 accepts accuracy_level 4 but computes in float32 (measured: identical results)',
    note: 'onnxruntime-web wasm: MatMulNBits and GatherBlockQuantized (measured, 1.30)',
  },
  webgpu: {
    matmulNBits: true,
    gatherBlockQuantized: true,
    flatGatherZeroPoints: true,
    int8Compute: 'onnxruntime-web 1.30 JSEP ignores accuracy_level (measured: identical results); onnxruntime-web/webgpu computes in int8 at level 4 (measured: results move slightly)',
    maxBlockSize: { size: 32, why: JSEP_BLOCKS, refuse: true },
    note: 'WebGPU (onnxruntime-web 1.30, measured): MatMulNBits on the GPU (blocks of 16 or 32 in the default JSEP build); GatherBlockQuantized on the GPU in onnxruntime-web/webgpu, on the CPU in JSEP (its kernel takes int4/uint4 data only)',
  },
  cuda: {
    matmulNBits: true,
    gatherBlockQuantized: true,
    flatGatherZeroPoints: false,
    int8Compute: 'not checked here (no GPU)',
    note: 'CUDA: MatMulNBits and GatherBlockQuantized registered (onnxruntime sources; not run here)',
  },
  any: {
    matmulNBits: true,
    gatherBlockQuantized: true,
    flatGatherZeroPoints: true,
    int8Compute: 'CPU quantizes A to int8 per block; wasm and onnxruntime-web JSEP compute in float32; onnxruntime-web/webgpu in int8',
    maxBlockSize: { size: 32, why: JSEP_BLOCKS, refuse: false },
    note: 'forms onnxruntime CPU, wasm and WebGPU all run',
  },
};
