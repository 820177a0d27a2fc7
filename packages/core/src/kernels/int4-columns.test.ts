import { describe, expect, it } from 'vitest';
import { Rng } from '../builder/random.js';
import { int4ColumnPack, int4ColumnParams } from './int4-columns.js';
import { forceKernelBackend } from './kernel-instance.js';

// The bytes are held to graph-ops' JavaScript int4 quantizer in graph-ops
// (quant/int4/block-quantize.test.ts); here: what the codes mean, the layout, and the contract.

/** Value (column c, row k) of the packed form: (code - zero point) * scale. */
function dequantized(packed: Uint8Array, scales: Float32Array, zps: Uint8Array, k: number, n: number, bs: number): Float32Array {
  const blocks = Math.ceil(k / bs);
  const out = new Float32Array(k * n);
  for (let c = 0; c < n; c++) {
    for (let r = 0; r < k; r++) {
      const at = c * blocks + Math.floor(r / bs);
      const j = r % bs;
      const byte = packed[at * (bs / 2) + (j >> 1)] as number;
      out[r * n + c] = ((j & 1 ? byte >> 4 : byte & 15) - (zps[at] as number)) * (scales[at] as number);
    }
  }
  return out;
}

describe('int4 column kernels (WebAssembly SIMD)', () => {
  it('round each value of a [k, n] matrix to within half a step of its block, in the MatMulNBits layout', () => {
    const rng = new Rng(3);
    // k with a short last block, n with columns left over after the groups of four, bands of several blocks.
    for (const [k, n, bs] of [[100, 7, 32], [64, 4, 16], [1000, 3, 128], [33, 1, 16]] as const) {
      const w = rng.fillNormalish(new Float32Array(k * n), 1);
      for (const symmetric of [true, false]) {
        const params = int4ColumnParams(w, { k, n, blockSize: bs }, symmetric);
        expect(params).not.toBeNull();
        if (!params) return;
        const blocks = Math.ceil(k / bs);
        expect(params.scales).toHaveLength(n * blocks);
        if (symmetric) expect(new Set(params.zeroPoints)).toEqual(new Set([8]));
        const packed = int4ColumnPack(w, { k, n, blockSize: bs }, params) as Uint8Array;
        expect(packed).toHaveLength(n * blocks * (bs / 2));
        const back = dequantized(packed, params.scales, params.zeroPoints, k, n, bs);
        for (let i = 0; i < w.length; i++) {
          const at = (i % n) * blocks + Math.floor(Math.floor(i / n) / bs);
          const scale = Math.abs(params.scales[at] as number);
          // Half a step, or one where the range's far end is clamped to the last code (symmetric: +7 of -8..7).
          const code = Math.round((back[i] as number) / (params.scales[at] as number)) + (params.zeroPoints[at] as number);
          const bound = code === 0 || code === 15 ? scale : scale / 2;
          expect(Math.abs((back[i] as number) - (w[i] as number)), `value ${i}`).toBeLessThanOrEqual(bound * (1 + 1e-6));
        }
        // A short last block is padded with its zero point: both nibbles of every padding byte.
        if (k % bs) {
          const last = blocks - 1;
          const firstPad = Math.ceil((k % bs) / 2);
          const zp = params.zeroPoints[last] as number;
          expect(Array.from(packed.subarray(last * (bs / 2) + firstPad, (last + 1) * (bs / 2)))).toEqual(Array(bs / 2 - firstPad).fill(zp | (zp << 4)));
        }
      }
    }
  });

  it('report a NaN or an infinity wherever it lies: any lane of a group of four columns, a column left over, any band', () => {
    const rng = new Rng(5);
    // n = 9: two groups of four and one column left over; k = 3000 at block 16 spans several bands.
    const k = 3000;
    const n = 9;
    const clean = rng.fillNormalish(new Float32Array(k * n), 1);
    // Large finite values are finite: the check is not a magnitude bound.
    clean[17] = 3.4e38;
    clean[18] = -3.4e38;
    for (const symmetric of [true, false]) {
      expect(int4ColumnParams(clean, { k, n, blockSize: 16 }, symmetric)?.finite).toBe(true);
      for (const bad of [NaN, Infinity, -Infinity]) {
        for (const [row, col] of [[0, 0], [5, 3], [1500, 6], [k - 1, 8], [2999, 2]] as const) {
          const w = clean.slice();
          w[row * n + col] = bad;
          expect(int4ColumnParams(w, { k, n, blockSize: 16 }, symmetric)?.finite, `${bad} at row ${row}, column ${col}, symmetric ${symmetric}`).toBe(false);
        }
      }
    }
  });

  it('answer null where the wasm kernels cannot run (the caller\'s JavaScript serves), and refuse a bad shape', () => {
    const w = new Float32Array(64);
    forceKernelBackend('js');
    try {
      expect(int4ColumnParams(w, { k: 16, n: 4, blockSize: 16 }, true)).toBeNull();
      expect(int4ColumnPack(w, { k: 16, n: 4, blockSize: 16 }, { scales: new Float32Array(4), zeroPoints: new Uint8Array(4) })).toBeNull();
    } finally {
      forceKernelBackend('auto');
    }
    expect(() => int4ColumnParams(w, { k: 16, n: 5, blockSize: 16 }, true)).toThrow(/int4ColumnParams: 64 values for \[16, 5\] with block size 16/);
    expect(() => int4ColumnParams(w, { k: 16, n: 4, blockSize: 15 }, true)).toThrow(/block size 15/);
  });
});
