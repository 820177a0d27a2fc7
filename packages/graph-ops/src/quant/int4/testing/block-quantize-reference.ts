/**
 * Block quantization as it was before the tiled reads (commit a4a0f52): one block at a time,
 * gathered at `colStride`. Kept only so block-quantize.test.ts can hold the current code to the
 * same bytes, scales and errors on every case; not part of the package.
 */
// The range rules (RTN scales, the search's shrink grid) are shared: they did not change. What did is
// held to the old code here: the reads, the rounding of codes and the order of the error sums.
import { SHRINK, asymmetricParams, symmetricScale, type BlockLayout, type BlockParams, type BlockQuantizeOptions, type BlockQuantized, type Candidate } from '../block-quantize.js';

/** Codes of a block for a float32 scale and zero point, and the squared error they leave. */
function encode(v: Float64Array, n: number, scale: number, zp: number, codes: Uint8Array | undefined): number {
  let sse = 0;
  const inv = scale === 0 ? 0 : 1 / scale;
  for (let i = 0; i < n; i++) {
    const x = v[i] as number;
    let q = Math.round(x * inv) + zp;
    q = q < 0 ? 0 : q > 15 ? 15 : q;
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
 * The scale and zero point of every block (the round-to-nearest range, or the search's best), and
 * the squared errors when `errors` (always computed by the search, which compares them). Codes come
 * from `packBlocks`: a model streamed from its file gets its scales when the pass reads a weight, and
 * its codes when the writer reaches it, without quantizing twice.
 */
export function referenceBlockParams(data: Float32Array, layout: BlockLayout, options: BlockQuantizeOptions & { errors?: boolean }): BlockParams {
  const { rows, cols, rowStride, colStride } = layout;
  const { blockSize: bs, symmetric, method } = options;
  const errors = options.errors === true || method === 'search';
  const blocks = Math.ceil(cols / bs);
  const zpRow = Math.ceil(blocks / 2);
  const scales = new Float32Array(rows * blocks);
  const blockZeroPoints = new Uint8Array(rows * blocks);
  const zeroPoints = symmetric ? undefined : new Uint8Array(rows * zpRow);
  const v = new Float64Array(bs);
  const codes = new Uint8Array(bs);
  let sse = 0;
  let rtnSse = 0;
  for (let r = 0; r < rows; r++) {
    for (let b = 0; b < blocks; b++) {
      const start = b * bs;
      const n = Math.min(bs, cols - start);
      for (let i = 0; i < n; i++) v[i] = data[r * rowStride + (start + i) * colStride] as number;
      const rtn = symmetric ? { scale: symmetricScale(v, n, 1), zp: 8 } : asymmetricParams(v, n, 1);
      const best: Candidate = { scale: rtn.scale, zp: rtn.zp, sse: errors ? encode(v, n, rtn.scale, rtn.zp, undefined) : 0 };
      rtnSse += best.sse;
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
      // The error of the stored form: that of the candidate kept (computed by the same encode).
      sse += best.sse;
      scales[r * blocks + b] = best.scale;
      blockZeroPoints[r * blocks + b] = best.zp;
      if (zeroPoints) {
        const at = r * zpRow + (b >> 1);
        zeroPoints[at] = (zeroPoints[at] as number) | (best.zp << ((b & 1) * 4));
      }
    }
  }
  const out: BlockParams = { rows, cols, blockSize: bs, blocks, scales, blockZeroPoints, sse, rtnSse, finite: data.every((x) => Number.isFinite(x)) };
  if (zeroPoints) out.zeroPoints = zeroPoints;
  return out;
}

/** The packed codes ([rows, blocks, blockSize / 2]) of `data` for the scales and zero points of `params`. */
export function referencePackBlocks(data: Float32Array, layout: BlockLayout, params: Pick<BlockParams, 'blockSize' | 'blocks' | 'scales' | 'blockZeroPoints'>): Uint8Array {
  const { rows, cols, rowStride, colStride } = layout;
  const { blockSize: bs, blocks } = params;
  const blob = bs / 2;
  const packed = new Uint8Array(rows * blocks * blob);
  const v = new Float64Array(bs);
  const codes = new Uint8Array(bs);
  for (let r = 0; r < rows; r++) {
    for (let b = 0; b < blocks; b++) {
      const start = b * bs;
      const n = Math.min(bs, cols - start);
      for (let i = 0; i < n; i++) v[i] = data[r * rowStride + (start + i) * colStride] as number;
      const zp = params.blockZeroPoints[r * blocks + b] as number;
      encode(v, n, params.scales[r * blocks + b] as number, zp, codes);
      codes.fill(zp, n);
      const base = (r * blocks + b) * blob;
      for (let j = 0; j < blob; j++) packed[base + j] = (codes[2 * j] as number) | ((codes[2 * j + 1] as number) << 4);
    }
  }
  return packed;
}

/**
 * Quantizes `rows` rows of `cols` values read from `data` at `row * rowStride + col * colStride`
 * (so a MatMul weight [K, N] is read column by column without a transposed copy): `blockParams`,
 * with the squared errors, then `packBlocks`.
 */
export function referenceQuantizeBlocks(data: Float32Array, rows: number, cols: number, rowStride: number, colStride: number, options: BlockQuantizeOptions): BlockQuantized {
  const layout = { rows, cols, rowStride, colStride };
  const { blockZeroPoints, finite: _, ...params } = referenceBlockParams(data, layout, { ...options, errors: true });
  return { ...params, packed: referencePackBlocks(data, layout, { ...params, blockZeroPoints }) };
}
