import { ForgeError, ForgeErrorCode } from '../errors.js';
import { wasmKernels } from './kernel-instance.js';
import type { KernelExports } from './kernel-instance.js';
import { chunkLength, reserve } from './kernel-memory.js';

export interface HistogramOptions {
  /** Bin |x| instead of x (symmetric calibration). */
  abs?: boolean;
}

/** Most bins a histogram may have: bin indices are computed in float32, exact up to 2^24. */
const MAX_BINS = 1 << 24;

/**
 * Adds the counts of `src` to `bins` (bins.length equal-width bins over [lo, hi]), for Percentile and
 * Entropy calibration. The bin of x is trunc((x - lo) * (bins.length / (hi - lo))) computed in float32
 * and clamped to the edge bins, so values outside [lo, hi] (and ±Inf) count in the first or last bin
 * and hi itself counts in the last. NaN is not counted. Counts accumulate across calls.
 */
export function histogram(src: Float32Array, bins: Float64Array, lo: number, hi: number, opts: HistogramOptions = {}): void {
  const nbins = bins.length;
  if (nbins < 1 || nbins > MAX_BINS) {
    throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `histogram: need 1 to ${MAX_BINS} bins, got ${nbins}`, { details: { bins: nbins } });
  }
  if (!(Number.isFinite(lo) && Number.isFinite(hi) && hi > lo)) {
    throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `histogram: need finite lo < hi, got [${lo}, ${hi}]; a constant tensor needs no histogram`, {
      details: { lo, hi },
    });
  }
  const lo32 = Math.fround(lo);
  const inv32 = Math.fround(nbins / (hi - lo));
  const abs = opts.abs ?? false;
  const kernels = wasmKernels(src.length);
  if (kernels && src.length > 0) histogramWasm(kernels, src, bins, lo32, inv32, abs);
  else histogramJs(src, bins, lo32, inv32, abs);
}

function histogramWasm(k: KernelExports, src: Float32Array, bins: Float64Array, lo: number, inv: number, abs: boolean): void {
  const n = src.length;
  const nbins = bins.length;
  // Four count tables only pay for themselves when there is much more data than bins to merge.
  const copies = n >= 16 * nbins ? 4 : 1;
  const stride = nbins + 1;
  const chunk = chunkLength(n);
  const [inPtr, countPtr] = reserve(k, chunk * 4, copies * stride * 4) as [number, number];
  const inView = new Float32Array(k.memory.buffer, inPtr, chunk);
  const counts = new Uint32Array(k.memory.buffer, countPtr, copies * stride).fill(0);
  // u32 counts cannot overflow: each holds at most n < 2^32 increments.
  for (let start = 0; start < n; start += chunk) {
    const len = Math.min(chunk, n - start);
    inView.set(src.subarray(start, start + len));
    k.histogram(inPtr, len, countPtr, nbins, copies, lo, inv, abs ? 1 : 0);
  }
  for (let t = 0; t < copies; t++) {
    const base = t * stride;
    for (let b = 0; b < nbins; b++) bins[b] = (bins[b] as number) + (counts[base + b] as number);
  }
}

function histogramJs(src: Float32Array, bins: Float64Array, lo: number, inv: number, abs: boolean): void {
  const last = bins.length - 1;
  for (let i = 0; i < src.length; i++) {
    let x = src[i] as number;
    if (x !== x) continue;
    if (abs) x = Math.abs(x);
    // Both steps rounded to float32, as the wasm kernel computes them.
    const t = Math.fround(Math.fround(x - lo) * inv);
    let b = t !== t ? 0 : Math.trunc(t);
    if (b < 0) b = 0;
    else if (b > last) b = last;
    bins[b] = (bins[b] as number) + 1;
  }
}
