import { ForgeError, ForgeErrorCode } from '../errors.js';
import { releaseKernelMemory, wasmKernels } from './kernel-instance.js';
import type { KernelExports } from './kernel-instance.js';
import { CHUNK_ELEMENTS, reserve } from './kernel-memory.js';
import { lentView } from '../ir/scratch-pool.js';

/**
 * The shape of a 4-bit block quantization of the columns of a row-major float32 matrix [k, n] (a
 * MatMul weight), in onnxruntime's MatMulNBits layout: each column cut into `blockSize` values along k.
 */
export interface Int4Columns {
  k: number;
  n: number;
  blockSize: number;
}

/** Scales and zero points of every block: [n * blocks] each, block b of column c at c * blocks + b. */
export interface Int4ColumnParams {
  scales: Float32Array;
  /** One zero point per byte (symmetric: all 8). */
  zeroPoints: Uint8Array;
}

/** Blocks per column. */
function blocksOf(shape: Int4Columns): number {
  return Math.ceil(shape.k / shape.blockSize);
}

function check(what: string, src: Float32Array, shape: Int4Columns): void {
  const { k, n, blockSize } = shape;
  if (src.length !== k * n || !(blockSize >= 2 && blockSize % 2 === 0)) {
    throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `${what}: ${src.length} values for [${k}, ${n}] with block size ${blockSize}`, { details: { k, n, blockSize } });
  }
}

/**
 * Bands of whole blocks (rows [b0 * blockSize, ...) of the matrix): about CHUNK_ELEMENTS * 4 values each,
 * at least one block row, so a band stays in a core's L2 cache while every column reads it.
 */
function* bands(shape: Int4Columns): Generator<{ b0: number; k0: number; kb: number }> {
  const { k, n, blockSize } = shape;
  const perBand = Math.max(1, Math.floor((CHUNK_ELEMENTS * 4) / (blockSize * n)));
  for (let b0 = 0; b0 * blockSize < k; b0 += perBand) {
    const k0 = b0 * blockSize;
    yield { b0, k0, kb: Math.min(perBand * blockSize, k - k0) };
  }
}

function bandRows(shape: Int4Columns): number {
  const first = bands(shape).next();
  return first.done ? 0 : first.value.kb;
}

/**
 * Scales and zero points of the blocks of every column (WebAssembly SIMD), with the arithmetic of
 * graph-ops' int4 round-to-nearest quantizer (symmetric: the largest magnitude maps to code -8, zero
 * point 8; asymmetric: the range [min(0, min), max(0, max)] over 16 codes): see assembly/int4.ts.
 * `finite` is false when a value is NaN or infinite (no 4-bit scale represents them), found in the
 * same pass over the values. Null where the wasm kernels cannot run: graph-ops' JavaScript quantizer,
 * which gives the same numbers, serves then (this kernel has no fallback of its own).
 */
export function int4ColumnParams(src: Float32Array, shape: Int4Columns, symmetric: boolean): (Int4ColumnParams & { finite: boolean }) | null {
  check('int4ColumnParams', src, shape);
  const k = wasmKernels(src.length);
  if (!k) return null;
  const count = shape.n * blocksOf(shape);
  const [inPtr, scalePtr, zpPtr] = reserve(k, bandRows(shape) * shape.n * 4, count * 4, count) as [number, number, number];
  let finite = true;
  eachBand(k, src, shape, inPtr, (b) => {
    if (k.int4_params(inPtr, shape.n, b.kb, shape.blockSize, blocksOf(shape), b.b0, symmetric ? 1 : 0, scalePtr, zpPtr)) finite = false;
  });
  const params = { scales: new Float32Array(k.memory.buffer, scalePtr, count).slice(), zeroPoints: new Uint8Array(k.memory.buffer, zpPtr, count).slice(), finite };
  releaseKernelMemory(k);
  return params;
}

/**
 * The packed codes ([n, blocks, blockSize / 2], two per byte, first in the low nibble, a short last
 * block padded with its zero point) of every column for the given params (WebAssembly SIMD; null
 * where the wasm kernels cannot run, as int4ColumnParams), in `into` when it is given and long enough.
 */
export function int4ColumnPack(src: Float32Array, shape: Int4Columns, params: Int4ColumnParams, into?: Uint8Array): Uint8Array | null {
  check('int4ColumnPack', src, shape);
  const k = wasmKernels(src.length);
  if (!k) return null;
  const blocks = blocksOf(shape);
  const count = shape.n * blocks;
  const bytes = count * (shape.blockSize / 2);
  const [inPtr, scalePtr, zpPtr, outPtr] = reserve(k, bandRows(shape) * shape.n * 4, count * 4, count, bytes) as [number, number, number, number];
  new Float32Array(k.memory.buffer, scalePtr, count).set(params.scales);
  new Uint8Array(k.memory.buffer, zpPtr, count).set(params.zeroPoints);
  eachBand(k, src, shape, inPtr, (b) => k.int4_pack(inPtr, shape.n, b.kb, shape.blockSize, blocks, b.b0, scalePtr, zpPtr, outPtr));
  const codes = new Uint8Array(k.memory.buffer, outPtr, bytes);
  const packed = lentView(into, Uint8Array, bytes) ?? new Uint8Array(bytes);
  packed.set(codes);
  releaseKernelMemory(k);
  return packed;
}

/** Copies each band of `src` into the kernels' memory at `inPtr` and runs `kernel` on it. */
function eachBand(k: KernelExports, src: Float32Array, shape: Int4Columns, inPtr: number, kernel: (band: { b0: number; kb: number }) => void): void {
  const view = new Float32Array(k.memory.buffer, inPtr, bandRows(shape) * shape.n);
  for (const band of bands(shape)) {
    view.set(src.subarray(band.k0 * shape.n, (band.k0 + band.kb) * shape.n));
    kernel(band);
  }
}
