import { describe, expect, it } from 'vitest';
import { blockParams, packBlocks, quantizeBlocks, roundHalfUp, type BlockLayout } from './block-quantize.js';
import { referenceBlockParams, referencePackBlocks, referenceQuantizeBlocks } from './testing/block-quantize-reference.js';

/** mulberry32: the same matrices on every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A weight [K, N] row-major with what real weights have and what the quantizer's branches turn on:
 * outliers (the scale's extreme), ties of largest magnitude with both signs (symmetricScale keeps the
 * first), all-zero blocks (scale 0), one-signed columns (asymmetric zero point at an end).
 */
function weight(K: number, N: number, seed: number): Float32Array {
  const next = rng(seed);
  const w = new Float32Array(K * N);
  for (let i = 0; i < w.length; i++) {
    const u = next();
    w[i] = u < 0.01 ? (next() - 0.5) * 40 : u < 0.02 ? 0 : (next() - 0.5) * 2 * Math.exp(next() - 0.5);
  }
  if (N > 1) for (let k = 0; k < K; k++) w[k * N + 1] = Math.abs(w[k * N + 1] as number); // column 1: no negative value
  if (K >= 20) for (let n = 0; n < N; n++) w[3 * N + n] = 0.75 * (n % 2 ? 1 : -1), w[17 * N + n] = 0.75 * (n % 2 ? -1 : 1);
  if (N > 2 && K >= 16) for (let k = 0; k < 16; k++) w[k * N + 2] = 0; // column 2: its first block all zero
  return w;
}

const bytes = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

// K not a multiple of every block size (200, 300), smaller than the block (40), and N = 1, 3, 64.
const SHAPES: [number, number][] = [
  [200, 1],
  [300, 3],
  [40, 64],
  [257, 64],
  [300, 100], // tiles of 64 rows that do not divide N
];
const BLOCK_SIZES = [16, 32, 64, 128, 256];

describe('roundHalfUp', () => {
  it('is Math.round on the doubles where floor(y + 0.5) is not, and on random ones (up to the sign of zero, which + zp removes)', () => {
    const edges = [0.49999999999999994, -0.49999999999999994, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 7.5, -8.5, 2 ** 52 + 1, -(2 ** 52 + 1), 2 ** 53, 2 ** 52 - 0.5, -(2 ** 52) + 0.5, 1e300, -1e300, 0, -0, -1e-300, Number.MIN_VALUE, Infinity, -Infinity];
    const next = rng(7);
    const random = Array.from({ length: 100_000 }, () => (next() - 0.5) * 40);
    const halves = Array.from({ length: 1000 }, (_, i) => i / 2 - 250);
    for (const y of [...edges, ...random, ...halves]) expect(roundHalfUp(y) + 0, String(y)).toBe(Math.round(y) + 0);
    expect(roundHalfUp(NaN)).toBeNaN();
  });
});

describe('block quantization: tiled reads against the previous per-block gather', () => {
  for (const [K, N] of SHAPES) {
    const w = weight(K, N, K * 1000 + N);
    // The layouts the pass uses: MatMul's [K, N] by its columns (colStride N), a table by its rows;
    // and a row stride that is not 1 with a strided column (a submatrix), which the tiles also take.
    const layouts: [string, BlockLayout][] = [
      ['colStride N', { rows: N, cols: K, rowStride: 1, colStride: N }],
      ['colStride 1', { rows: K, cols: N, rowStride: N, colStride: 1 }],
      ['rowStride 2', { rows: Math.ceil(N / 2), cols: K, rowStride: 2, colStride: N }],
    ];
    for (const [name, layout] of layouts) {
      for (const blockSize of BLOCK_SIZES) {
        it(`K ${K}, N ${N}, ${name}, block ${blockSize}: same scales, zero points, codes and errors`, () => {
          for (const symmetric of [true, false]) {
            for (const method of ['rtn', 'search'] as const) {
              for (const errors of [false, true]) {
                const options = { blockSize, symmetric, method, errors };
                const want = referenceBlockParams(w, layout, options);
                const got = blockParams(w, layout, options);
                expect(bytes(got.scales)).toEqual(bytes(want.scales));
                expect(got.blockZeroPoints).toEqual(want.blockZeroPoints);
                expect(got.zeroPoints).toEqual(want.zeroPoints);
                expect([got.sse, got.rtnSse, got.blocks]).toEqual([want.sse, want.rtnSse, want.blocks]);
                expect(packBlocks(w, layout, got)).toEqual(referencePackBlocks(w, layout, want));
              }
              const { rows, cols, rowStride, colStride } = layout;
              const want = referenceQuantizeBlocks(w, rows, cols, rowStride, colStride, { blockSize, symmetric, method });
              const got = quantizeBlocks(w, rows, cols, rowStride, colStride, { blockSize, symmetric, method });
              expect(bytes(got.scales)).toEqual(bytes(want.scales));
              expect({ ...got, scales: undefined }).toEqual({ ...want, scales: undefined });
            }
          }
        });
      }
    }
  }

  it('MatMul weights with NaN, infinities, subnormals and -0 (read by core\'s wasm column kernels): the same bytes as the JavaScript', () => {
    const K = 70;
    const N = 9; // two groups of four columns and one left over
    const w = weight(K, N, 99);
    const odd = [NaN, Infinity, -Infinity, 1e-45, -1e-45, -0, 3.4e38, -3.4e38];
    odd.forEach((v, i) => (w[(5 * i + 3) * N + (i % N)] = v));
    for (let n = 0; n < N; n++) w[40 * N + n] = NaN; // a NaN in every column
    const layout = { rows: N, cols: K, rowStride: 1, colStride: N };
    for (const blockSize of [16, 32]) {
      for (const symmetric of [true, false]) {
        const options = { blockSize, symmetric, method: 'rtn' as const };
        const want = referenceBlockParams(w, layout, options);
        const got = blockParams(w, layout, options);
        expect(bytes(got.scales)).toEqual(bytes(want.scales));
        expect(got.blockZeroPoints).toEqual(want.blockZeroPoints);
        expect(got.zeroPoints).toEqual(want.zeroPoints);
        expect(packBlocks(w, layout, got)).toEqual(referencePackBlocks(w, layout, want));
        expect(got.finite).toBe(false);
      }
    }
  });

  it('the cases reach the branches they are meant to: zero scales, searched scales, both zero-point ends', () => {
    const w = weight(300, 3, 300 * 1000 + 3);
    const layout = { rows: 3, cols: 300, rowStride: 1, colStride: 3 };
    const rtn = blockParams(w, layout, { blockSize: 16, symmetric: true, method: 'rtn' });
    const search = blockParams(w, layout, { blockSize: 16, symmetric: true, method: 'search' });
    expect(rtn.scales).toContain(0);
    expect(search.sse).toBeLessThan(search.rtnSse);
    expect([...search.scales].some((s, i) => s !== rtn.scales[i])).toBe(true);
    const asym = blockParams(w, layout, { blockSize: 16, symmetric: false, method: 'rtn' });
    const zps = new Set(asym.blockZeroPoints);
    expect(zps.has(0)).toBe(true); // column 1, no negative value
    expect([...zps].some((z) => z > 0 && z < 15)).toBe(true);
  });
});
