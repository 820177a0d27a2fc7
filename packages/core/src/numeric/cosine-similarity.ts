import { ForgeError, ForgeErrorCode } from '../errors.js';

/**
 * Cosine similarity of two equally long numeric arrays: how close a converted model's output is in
 * direction to the reference's. Two all-zero arrays are identical (1); an all-zero array against any
 * other shares no direction (0), rather than the NaN the plain formula gives. The sums run over values
 * scaled by each array's largest magnitude, so float64 outputs past 1e154 do not square to Infinity
 * (NaN for two equal arrays) nor below 1e-162 to 0 (1 for two orthogonal ones); a NaN or infinite
 * value gives NaN.
 */
export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) {
    throw new ForgeError(ForgeErrorCode.BAD_INPUT, `cosine similarity of arrays of ${a.length} and ${b.length} values: compare outputs of the same shape`);
  }
  const sa = largest(a);
  const sb = largest(b);
  if (Number.isNaN(sa) || Number.isNaN(sb) || sa === Infinity || sb === Infinity) return NaN;
  if (sa === 0 && sb === 0) return 1;
  if (sa === 0 || sb === 0) return 0;
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = (a[i] as number) / sa, y = (b[i] as number) / sb;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return dot / Math.sqrt(na * nb);
}

/** The largest magnitude among the values; NaN when one is NaN. */
function largest(v: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < v.length; i++) {
    const x = Math.abs(v[i] as number);
    if (x > m) m = x;
    else if (x !== x) return NaN;
  }
  return m;
}
