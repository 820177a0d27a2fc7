import { describe, expect, it } from 'vitest';
import { argmaxRows } from './argmax-rows.js';

describe('argmaxRows', () => {
  it('gives the index of the largest value of each row, the lower index on ties', () => {
    expect(argmaxRows(Float32Array.from([0.1, 0.7, 0.2, 3, -1, 3, -2, -5, -1]), 3)).toEqual([1, 0, 2]);
  });
  it('counts a last partial row and returns nothing for no values', () => {
    expect(argmaxRows([1, 2, 5, 4, 9], 2)).toEqual([1, 0, 0]);
    expect(argmaxRows([], 4)).toEqual([]);
  });
});
