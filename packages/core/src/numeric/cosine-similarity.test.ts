import { describe, expect, it } from 'vitest';
import { ForgeErrorCode } from '../errors.js';
import { cosineSimilarity } from './cosine-similarity.js';

describe('cosineSimilarity', () => {
  it('computes cosine similarity', () => {
    expect(cosineSimilarity([1, 0], [0, 1])).toBe(0);
    expect(cosineSimilarity([1, 2], [2, 4])).toBeCloseTo(1, 12);
    expect(cosineSimilarity([0, 0], [0, 0])).toBe(1);
    expect(() => cosineSimilarity([1], [1, 2])).toThrow();
  });

  it('takes typed arrays, gives -1 for opposite directions, 0 against an all-zero array', () => {
    expect(cosineSimilarity(new Float32Array([1, -2]), new Float32Array([-1, 2]))).toBeCloseTo(-1, 12);
    expect(cosineSimilarity([0, 0], [3, 4])).toBe(0);
    expect(() => cosineSimilarity([1], [])).toThrow(expect.objectContaining({ code: ForgeErrorCode.BAD_INPUT }));
  });

  it('holds for float64 values too large or too small to square, and is NaN for a NaN or infinite value', () => {
    // 1e200 squared is Infinity: the plain sums gave NaN for two equal arrays.
    expect(cosineSimilarity(new Float64Array([1e200, 2e200, 3e200]), new Float64Array([1e200, 2e200, 3e200]))).toBeCloseTo(1, 12);
    expect(cosineSimilarity(new Float64Array([1e200, 2e200, 3e200]), new Float64Array([3e200, 2e200, 1e200]))).toBeCloseTo(10 / 14, 12);
    // 1e-200 squared is 0: the plain sums called two orthogonal arrays identical.
    expect(cosineSimilarity([1e-200, 0], [0, 1e-200])).toBe(0);
    expect(cosineSimilarity([3e-170, 4e-170], [6e-170, 8e-170])).toBeCloseTo(1, 12);
    // Scale apart, the same as for ordinary values.
    expect(cosineSimilarity([1e300, 0], [1e-300, 1e-300])).toBeCloseTo(Math.SQRT1_2, 12);
    expect(cosineSimilarity([1, Number.NaN], [1, 1])).toBeNaN();
    expect(cosineSimilarity([1, 2], [Number.POSITIVE_INFINITY, 1])).toBeNaN();
  });
});
