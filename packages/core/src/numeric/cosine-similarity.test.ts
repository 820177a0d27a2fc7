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
});
