/**
 * Block-wise 4-bit quantization of the rows of a matrix, in the packed layout onnxruntime's
 * `MatMulNBits` and `GatherBlockQuantized` (uint8 data, bits=4) read (com.microsoft contrib ops,
 * docs/ContribOperators.md):
 * - each row is cut into blocks of `blockSize` values along its length; the last block is padded
 *   with the zero point's code, so padding dequantizes to exactly 0;
 * - codes are unsigned nibbles, two per byte, the first value of a pair in the low nibble;
 * - one float32 scale per block, rows one after another ([rows * blocks]);
 * - asymmetric: one 4-bit zero point per block, packed like the codes, each row starting on a new
 *   byte ([rows * ceil(blocks / 2)]); symmetric: no zero points, onnxruntime's default is 8.
 * Dequantized value = (code - zero point) * scale.
 */

import { int4ColumnPack, int4ColumnParams, lentView, type Int4Columns } from '@onnx-forge/core';

export type Int4Method = 'rtn' | 'search';

export interface BlockQuantizeOptions {
  blockSize: number;
  symmetric: boolean;
  /**
   * `rtn`: round to nearest on the block's full range (onnxruntime's default quantizer).
   * `search`: per block, a grid of range shrink factors (1.00 to 0.70; symmetric blocks also with
   * the extreme value at +7 instead of -8), then least-squares refits of the best scale with its
   * codes fixed; the candidate with the least squared error is kept (RTN is one of them, so the
   * error is never worse).
   */
  method: Int4Method;
}

export interface BlockQuantized {
  rows: number;
  /** Values per row (K of MatMulNBits). */
  cols: number;
  blockSize: number;
  blocks: number;
  /** [rows, blocks, blockSize / 2] packed codes. */
  packed: Uint8Array;
  /** [rows * blocks] scales. */
  scales: Float32Array;
  /** [rows * ceil(blocks / 2)] packed zero points, asymmetric only. */
  zeroPoints?: Uint8Array;
  /** Sum of squared errors of the stored form, and of plain RTN on the same data (equal for `rtn`). */
  sse: number;
  rtnSse: number;
}

/** Range shrink factors tried by `search`: 1.00 down to 0.70. */
export const SHRINK = Array.from({ length: 16 }, (_, i) => 1 - i * 0.02);

export interface Candidate {
  scale: number;
  zp: number;
  sse: number;
}

/**
 * `Math.round(y)` for every double (halves up; NaN and infinities kept; -0 may come out +0, which
 * the zero point added next erases). V8's Math.round is a ceiling and a correction that is taken for
 * about half of all weights, which the CPU cannot predict: encoding a block took twice the time of
 * the same loop without rounding. Here the correction is taken only when y + 0.5 was rounded up to
 * the next integer (y = 0.49999999999999994, or |y| >= 2^52), never on real weights.
 */
export function roundHalfUp(y: number): number {
  const q = Math.floor(y + 0.5);
  // q - 0.5 is exact for |q| < 2^52 (q - y is not: 1 - 0.49999999999999994 rounds to 0.5).
  return q - 0.5 > y ? q - 1 : q;
}

/** The 4-bit code of `x` for 1 / scale `inv` and zero point `zp`: rounded half up, clamped to [0, 15]. */
function codeOf(x: number, inv: number, zp: number): number {
  const q = roundHalfUp(x * inv) + zp;
  return q < 0 ? 0 : q > 15 ? 15 : q;
}

/** Codes of a block for a float32 scale and zero point, and the squared error they leave. */
function encode(v: Float64Array, n: number, scale: number, zp: number, codes: Uint8Array | undefined): number {
  let sse = 0;
  const inv = scale === 0 ? 0 : 1 / scale;
  for (let i = 0; i < n; i++) {
    const x = v[i] as number;
    const q = codeOf(x, inv, zp);
    if (codes) codes[i] = q;
    const e = x - (q - zp) * scale;
    sse += e * e;
  }
  return sse;
}

/** Least-squares scale for fixed codes: argmin_s sum (x - s (q - zp))^2. */
function refit(v: Float64Array, n: number, scale: number, zp: number, codes: Uint8Array): number {
  encode(v, n, scale, zp, codes);
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    const d = (codes[i] as number) - zp;
    num += (v[i] as number) * d;
    den += d * d;
  }
  return den === 0 ? scale : Math.fround(num / den);
}

function consider(best: Candidate, v: Float64Array, n: number, scale: number, zp: number): void {
  if (!Number.isFinite(scale)) return;
  const sse = encode(v, n, scale, zp, undefined);
  if (sse < best.sse) {
    best.scale = scale;
    best.zp = zp;
    best.sse = sse;
  }
}

/**
 * Symmetric RTN as onnxruntime's quantizer does it: the value of largest magnitude maps to code -8
 * (so the scale's sign follows it), using all 16 codes; zero point 8.
 */
export function symmetricScale(v: Float64Array, n: number, shrink: number): number {
  let extreme = 0;
  for (let i = 0; i < n; i++) if (Math.abs(v[i] as number) > Math.abs(extreme)) extreme = v[i] as number;
  return Math.fround((extreme * shrink) / -8) || 0; // no -0 for an all-zero block
}

/** Asymmetric RTN: the range [min(0, min), max(0, max)] over 16 codes, zero point rounded. */
export function asymmetricParams(v: Float64Array, n: number, shrink: number): { scale: number; zp: number } {
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < n; i++) {
    const x = v[i] as number;
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  lo *= shrink;
  hi *= shrink;
  const scale = Math.fround((hi - lo) / 15);
  if (scale === 0) return { scale: 0, zp: 8 };
  const zp = Math.min(15, Math.max(0, Math.round(-lo / scale)));
  return { scale, zp };
}

/** Where the rows of a matrix are in `data`: value (row, col) is at `row * rowStride + col * colStride`. */
export interface BlockLayout {
  rows: number;
  /** Values per row (K of MatMulNBits). */
  cols: number;
  rowStride: number;
  colStride: number;
}

/** A block's scale and zero point, decided before any code is written. */
export interface BlockParams extends Omit<BlockQuantized, 'packed'> {
  /** Zero point of every block, one per byte ([rows * blocks]), for `packBlocks`. */
  blockZeroPoints: Uint8Array;
  /** False when a value is NaN or infinite: no 4-bit scale represents it, so the weight must stay float. */
  finite: boolean;
}

/**
 * Rows per tile when a block's values are strided: each read takes 64 neighbouring floats (4 cache
 * lines). Chosen by timing packBlocks on a [2048, 5632] weight against tiles of 64 KB (256 rows at
 * bs 32) and of 16 rows, at every block size (`npm run bench -- int4` times the pass as a whole);
 * the old one-block gather was not measurably slower (the 16 rows that share a cache line likely
 * find it in L1), but tiles touch each page once per 64 rows instead of once per 16.
 */
const TILE_ROWS = 64;

/**
 * A block's values are read into a scratch of `tileRows` rows of `blockSize` float64 (their order
 * along the row kept: `symmetricScale`'s tie rule and every sum depend on it). With `colStride` 1 a
 * block is read where it lies, one row at a time. Otherwise (a MatMul weight [K, N] read by its N
 * columns) a block's values are `colStride` floats apart: the blocks of a tile of rows are copied one
 * K index after another, so each read takes a run of neighbouring rows.
 */
function tileRowsOf(layout: BlockLayout): number {
  return layout.colStride === 1 ? 1 : Math.min(layout.rows, TILE_ROWS);
}

/** Reads block `b` of rows [r0, r0 + tr) into `tile` (row t at t * bs); returns the block's length. */
function fillTile(data: Float32Array, layout: BlockLayout, bs: number, tile: Float64Array, r0: number, tr: number, b: number): number {
  const { cols, rowStride, colStride } = layout;
  const start = b * bs;
  const n = Math.min(bs, cols - start);
  if (tr === 1) {
    const from = r0 * rowStride + start * colStride;
    for (let i = 0; i < n; i++) tile[i] = data[from + i * colStride] as number;
  } else {
    for (let i = 0; i < n; i++) {
      const from = r0 * rowStride + (start + i) * colStride;
      for (let t = 0; t < tr; t++) tile[t * bs + i] = data[from + t * rowStride] as number;
    }
  }
  return n;
}

/**
 * A block's scale and zero point into `best`: RTN, or the search's best; returns RTN's squared
 * error (0 unless `errors`). `codes` is scratch for the refits.
 */
function decide(v: Float64Array, n: number, symmetric: boolean, method: Int4Method, errors: boolean, codes: Uint8Array, best: Candidate): number {
  if (symmetric) {
    best.scale = symmetricScale(v, n, 1);
    best.zp = 8;
  } else {
    const rtn = asymmetricParams(v, n, 1);
    best.scale = rtn.scale;
    best.zp = rtn.zp;
  }
  best.sse = errors ? encode(v, n, best.scale, best.zp, undefined) : 0;
  const rtnSse = best.sse;
  if (method === 'search' && best.sse > 0) {
    for (const f of SHRINK) {
      const c = symmetric ? { scale: symmetricScale(v, n, f), zp: 8 } : asymmetricParams(v, n, f);
      if (c.scale === 0) continue;
      consider(best, v, n, c.scale, c.zp);
      // The other orientation: the extreme value at code +7 instead of -8.
      if (symmetric) consider(best, v, n, Math.fround((c.scale * -8) / 7), 8);
    }
    // Then the least-squares scale for the winner's codes, twice (codes may move after a refit).
    for (let i = 0; i < 2; i++) consider(best, v, n, refit(v, n, best.scale, best.zp, codes), best.zp);
  }
  return rtnSse;
}

/**
 * Codes of a block for its scale and zero point, padded with the zero point, packed at `base`:
 * `encode`'s codes (same rounding and clamp), two at a time straight into their byte.
 */
function packBlock(v: Float64Array, n: number, scale: number, zp: number, bs: number, packed: Uint8Array, base: number): void {
  const inv = scale === 0 ? 0 : 1 / scale;
  const pairs = n >> 1;
  for (let j = 0; j < pairs; j++) packed[base + j] = codeOf(v[2 * j] as number, inv, zp) | (codeOf(v[2 * j + 1] as number, inv, zp) << 4);
  let j = pairs;
  if (n & 1) packed[base + j++] = codeOf(v[n - 1] as number, inv, zp) | (zp << 4);
  for (; j < bs >> 1; j++) packed[base + j] = zp | (zp << 4);
}

/**
 * Every block's params and, with `packed`, its codes from the same read of its values (scales are
 * float32 already, so the codes are those `packBlocks` writes from the stored scales).
 */
function quantizeAll(data: Float32Array, layout: BlockLayout, options: BlockQuantizeOptions & { errors?: boolean }, packed: Uint8Array | undefined): BlockParams {
  const { rows, cols } = layout;
  const { blockSize: bs, symmetric, method } = options;
  const errors = options.errors === true || method === 'search';
  const blocks = Math.ceil(cols / bs);
  const scales = new Float32Array(rows * blocks);
  const blockZeroPoints = new Uint8Array(rows * blocks);
  const codes = new Uint8Array(bs);
  // Errors per block, summed below row after row: the tiles visit blocks in another order, and a
  // float64 sum in another order is another number.
  const blockSse = errors ? new Float64Array(rows * blocks) : undefined;
  const blockRtnSse = errors ? new Float64Array(rows * blocks) : undefined;
  const best: Candidate = { scale: 0, zp: 0, sse: 0 };
  const tileRows = tileRowsOf(layout);
  const tile = new Float64Array(tileRows * bs);
  const views = Array.from({ length: tileRows }, (_, t) => tile.subarray(t * bs, (t + 1) * bs));
  for (let r0 = 0; r0 < rows; r0 += tileRows) {
    const tr = Math.min(tileRows, rows - r0);
    for (let b = 0; b < blocks; b++) {
      const n = fillTile(data, layout, bs, tile, r0, tr, b);
      for (let t = 0; t < tr; t++) {
        const v = views[t] as Float64Array;
        const r = r0 + t;
        const at = r * blocks + b;
        const blockRtn = decide(v, n, symmetric, method, errors, codes, best);
        if (blockSse && blockRtnSse) {
          blockRtnSse[at] = blockRtn;
          // The error of the stored form: that of the candidate kept (computed by the same encode).
          blockSse[at] = best.sse;
        }
        scales[at] = best.scale;
        blockZeroPoints[at] = best.zp;
        if (packed) packBlock(v, n, scales[at] as number, best.zp, bs, packed, at * (bs / 2));
      }
    }
  }
  let sse = 0;
  let rtnSse = 0;
  if (blockSse && blockRtnSse) {
    for (let at = 0; at < rows * blocks; at++) {
      sse += blockSse[at] as number;
      rtnSse += blockRtnSse[at] as number;
    }
  }
  const out: BlockParams = { rows, cols, blockSize: bs, blocks, scales, blockZeroPoints, sse, rtnSse, finite: allFinite(data) };
  if (!symmetric) out.zeroPoints = packZeroPoints(blockZeroPoints, rows, blocks);
  return out;
}

/** Whether every value is finite (the WebAssembly kernel finds it while it reads them). */
function allFinite(data: Float32Array): boolean {
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i] as number)) return false;
  return true;
}

/**
 * The scale and zero point of every block (the round-to-nearest range, or the search's best), and
 * the squared errors when `errors` (always computed by the search, which compares them). Codes come
 * from `packBlocks`: a model streamed from its file gets its scales when the pass reads a weight, and
 * its codes when the writer reaches it, without quantizing twice.
 */
export function blockParams(data: Float32Array, layout: BlockLayout, options: BlockQuantizeOptions & { errors?: boolean }): BlockParams {
  const columns = options.method === 'rtn' && options.errors !== true ? columnsOf(layout, options.blockSize) : undefined;
  const fast = columns && int4ColumnParams(data, columns, options.symmetric);
  if (!fast) return quantizeAll(data, layout, options, undefined);
  const { rows, cols } = layout;
  const blocks = Math.ceil(cols / options.blockSize);
  const out: BlockParams = { rows, cols, blockSize: options.blockSize, blocks, scales: fast.scales, blockZeroPoints: fast.zeroPoints, sse: 0, rtnSse: 0, finite: fast.finite };
  if (!options.symmetric) out.zeroPoints = packZeroPoints(fast.zeroPoints, rows, blocks);
  return out;
}

/** Zero points one per byte ([rows * blocks]) packed two per byte, each row starting on a new byte. */
function packZeroPoints(blockZeroPoints: Uint8Array, rows: number, blocks: number): Uint8Array {
  const zpRow = Math.ceil(blocks / 2);
  const zeroPoints = new Uint8Array(rows * zpRow);
  for (let r = 0; r < rows; r++) {
    for (let b = 0; b < blocks; b++) {
      const z = r * zpRow + (b >> 1);
      zeroPoints[z] = (zeroPoints[z] as number) | ((blockZeroPoints[r * blocks + b] as number) << ((b & 1) * 4));
    }
  }
  return zeroPoints;
}

/**
 * The shape for core's WebAssembly int4 column kernels when `layout` is a row-major matrix [K, N] read by
 * its columns (a MatMul weight: rows N, rowStride 1, colStride N); undefined otherwise (the JavaScript
 * here serves). The kernels give the same bytes as the JavaScript (block-quantize.test.ts holds them to it).
 */
function columnsOf(layout: BlockLayout, blockSize: number): Int4Columns | undefined {
  return layout.rowStride === 1 && layout.colStride === layout.rows ? { k: layout.cols, n: layout.rows, blockSize } : undefined;
}

/**
 * The packed codes ([rows, blocks, blockSize / 2]) of `data` for the scales and zero points of
 * `params`, in `into` (lent memory) when it is given and long enough, else in new memory.
 */
export function packBlocks(data: Float32Array, layout: BlockLayout, params: Pick<BlockParams, 'blockSize' | 'blocks' | 'scales' | 'blockZeroPoints'>, into?: Uint8Array): Uint8Array {
  const columns = columnsOf(layout, params.blockSize);
  const fast = columns && int4ColumnPack(data, columns, { scales: params.scales, zeroPoints: params.blockZeroPoints }, into);
  if (fast) return fast;
  const { blockSize: bs, blocks } = params;
  const size = layout.rows * blocks * (bs / 2);
  const packed = lentView(into, Uint8Array, size) ?? new Uint8Array(size);
  const tileRows = tileRowsOf(layout);
  const tile = new Float64Array(tileRows * bs);
  const views = Array.from({ length: tileRows }, (_, t) => tile.subarray(t * bs, (t + 1) * bs));
  for (let r0 = 0; r0 < layout.rows; r0 += tileRows) {
    const tr = Math.min(tileRows, layout.rows - r0);
    for (let b = 0; b < blocks; b++) {
      const n = fillTile(data, layout, bs, tile, r0, tr, b);
      for (let t = 0; t < tr; t++) {
        const at = (r0 + t) * blocks + b;
        packBlock(views[t] as Float64Array, n, params.scales[at] as number, params.blockZeroPoints[at] as number, bs, packed, at * (bs / 2));
      }
    }
  }
  return packed;
}

/**
 * Quantizes `rows` rows of `cols` values read from `data` at `row * rowStride + col * colStride`
 * (so a MatMul weight [K, N] is read column by column without a transposed copy): the params, with
 * the squared errors, and the codes, from one read of each block.
 */
export function quantizeBlocks(data: Float32Array, rows: number, cols: number, rowStride: number, colStride: number, options: BlockQuantizeOptions): BlockQuantized {
  const layout = { rows, cols, rowStride, colStride };
  const packed = new Uint8Array(rows * Math.ceil(cols / options.blockSize) * (options.blockSize / 2));
  const { blockZeroPoints: _, finite: __, ...params } = quantizeAll(data, layout, { ...options, errors: true }, packed);
  return { ...params, packed };
}

/**
 * The values a packed form stands for, [rows, cols] row-major: the reference the tests hold
 * onnxruntime's kernels to, written from the layout above, not from the quantizer's internals.
 */
export function dequantizeBlocks(q: Pick<BlockQuantized, 'rows' | 'cols' | 'blockSize' | 'packed' | 'scales' | 'zeroPoints'>): Float32Array {
  const { rows, cols, blockSize: bs } = q;
  const blocks = Math.ceil(cols / bs);
  const zpRow = Math.ceil(blocks / 2);
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const b = Math.floor(c / bs);
      const j = c % bs;
      const byte = q.packed[(r * blocks + b) * (bs / 2) + (j >> 1)] as number;
      const code = j & 1 ? byte >> 4 : byte & 15;
      const zp = q.zeroPoints ? ((q.zeroPoints[r * zpRow + (b >> 1)] as number) >> ((b & 1) * 4)) & 15 : 8;
      out[r * cols + c] = (code - zp) * (q.scales[r * blocks + b] as number);
    }
  }
  return out;
}
