/**
 * Entropy (KL) calibration over a histogram of |x|: for each candidate clipping point, compare the
 * clipped distribution P (outliers piled into its last bin) with Q, the same bins merged into
 * `levels` quantization levels and spread back over the bins they cover. The threshold whose Q loses
 * least information about P (smallest KL(P || Q)) wins. This is the method of TensorRT's INT8
 * calibrator and of onnxruntime's Entropy calibration.
 */

const EPS = 1e-4;

/** Returns the clipping threshold (an upper bin edge) for a histogram of |x| with bins of `width`. */
export function entropyThreshold(histogram: Float64Array, width: number, levels: number): number {
  // Bin 0 holds the exact zeros (half of a ReLU output): zero is exactly representable whatever the
  // threshold, and a spike there would dominate the divergence and pull the threshold down.
  const counts = Float64Array.from(histogram);
  counts[0] = 0;
  const n = counts.length;
  let last = n - 1;
  while (last > 0 && (counts[last] as number) === 0) last--;
  // No more occupied bins than levels: every value has its own level, nothing to clip.
  if (last + 1 <= levels) return (last + 1) * width;
  const suffix = new Float64Array(n + 1);
  for (let i = n - 1; i >= 0; i--) suffix[i] = (suffix[i + 1] as number) + (counts[i] as number);
  const p = new Float64Array(n);
  const q = new Float64Array(n);
  let best = last + 1;
  let bestKl = Infinity;
  // At most ~512 candidates: a finer step changes the threshold by less than a bin in 512.
  const step = Math.max(1, Math.floor((last + 1 - levels) / 512));
  for (let i = levels; i <= last + 1; i = i === last + 1 ? i + 1 : Math.min(i + step, last + 1)) {
    const kl = klForCandidate(counts, suffix, i, levels, p, q);
    if (kl < bestKl) {
      bestKl = kl;
      best = i;
    }
  }
  return best * width;
}

function klForCandidate(counts: Float64Array, suffix: Float64Array, i: number, levels: number, p: Float64Array, q: Float64Array): number {
  for (let k = 0; k < i; k++) p[k] = counts[k] as number;
  p[i - 1] = (p[i - 1] as number) + (suffix[i] as number);
  // Merge bins [0, i) into `levels` groups and spread each group's mass over its occupied bins.
  for (let j = 0; j < levels; j++) {
    const start = Math.floor((j * i) / levels);
    const end = Math.floor(((j + 1) * i) / levels);
    let sum = 0;
    let occupied = 0;
    for (let k = start; k < end; k++) {
      sum += counts[k] as number;
      if ((p[k] as number) > 0) occupied++;
    }
    const share = occupied ? sum / occupied : 0;
    for (let k = start; k < end; k++) q[k] = (p[k] as number) > 0 ? share : 0;
  }
  if (!smooth(p, i) || !smooth(q, i)) return Infinity;
  let kl = 0;
  for (let k = 0; k < i; k++) {
    const pk = p[k] as number;
    if (pk > 0) kl += pk * Math.log(pk / (q[k] as number));
  }
  return kl;
}

/**
 * Normalizes the first `n` entries to sum 1 and moves a little mass (EPS per empty bin) from occupied
 * bins to empty ones, so the divergence stays finite. False when the distribution is empty.
 */
function smooth(d: Float64Array, n: number): boolean {
  let total = 0;
  let zeros = 0;
  for (let k = 0; k < n; k++) {
    total += d[k] as number;
    if ((d[k] as number) === 0) zeros++;
  }
  if (total <= 0 || zeros === n) return false;
  const take = (EPS * zeros) / (n - zeros);
  for (let k = 0; k < n; k++) {
    const v = (d[k] as number) / total;
    d[k] = v === 0 ? EPS : Math.max(v - take, EPS * 0.01);
  }
  return true;
}
