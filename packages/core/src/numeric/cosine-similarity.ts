import { ForgeError, ForgeErrorCode } from '../errors.js';

/**
 * Cosine similarity of two equally long numeric arrays: how close a converted model's output is in
 * direction to the reference's. Two all-zero arrays are identical (1); an all-zero array against any
 * other shares no direction (0), rather than the NaN the plain formula gives.
 */
export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) {
    throw new ForgeError(ForgeErrorCode.BAD_INPUT, `cosine similarity of arrays of ${a.length} and ${b.length} values: compare outputs of the same shape`);
  }
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number, y = b[i] as number;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  if (na === 0 && nb === 0) return 1;
  if (na === 0 || nb === 0) return 0;
  return dot / Math.sqrt(na * nb);
}
