import type { TensorLike } from '@onnx-forge/runtime';
import { toFloat16 } from '@onnx-forge/runtime';
import { describe, expect, it } from 'vitest';
import { DEFAULT_TOLERANCE, compareOutputs } from './compare-outputs.js';

const f32 = (dims: number[], values: number[]): TensorLike => ({ type: 'float32', dims, data: Float32Array.from(values) });

describe('compareOutputs', () => {
  it('passes a faithful answer and reports cosine, max abs error and argmax rows', () => {
    const c = compareOutputs({ y: f32([2, 3], [1, 2, 3, 3, 2, 1]) }, { y: f32([2, 3], [1.001, 2, 3, 3, 2, 0.999]) });
    expect(c).toMatchObject({ passed: true, argmaxRows: 2, argmaxDisagreements: 0, failures: [] });
    expect(c.cosine).toBeGreaterThan(0.99999);
    expect(c.maxAbsError).toBeCloseTo(0.001, 6);
  });

  it('fails a different class unless the reference itself nearly ties', () => {
    const ref = { y: f32([2, 3], [0, 5, 10, 0, 5, 5.01]) };
    const got = { y: f32([2, 3], [0, 10, 5, 0, 5.02, 5]) };
    const c = compareOutputs(ref, got, { ...DEFAULT_TOLERANCE, minCosine: -1 });
    // Row 0: 10 vs 5 over a range of 10 is a real disagreement; row 1: 5.01 vs 5 is a near tie.
    expect(c).toMatchObject({ passed: false, argmaxRows: 2, argmaxDisagreements: 1 });
    expect(c.failures).toEqual(["output 'y': a different class in 1 of 2 rows"]);
  });

  it('compares float16 as values, and fails NaN where the reference is finite', () => {
    const ref = { y: f32([4], [1, 2, 3, 4]) };
    expect(compareOutputs(ref, { y: { type: 'float16', dims: [4], data: toFloat16([1, 2, 3, 4]) } }).passed).toBe(true);
    const c = compareOutputs(ref, { y: f32([4], [1, 2, 3, Number.NaN]) });
    expect(c.passed).toBe(false);
    expect(c.outputs[0]).toMatchObject({ nonFinite: 1 });
    expect(c.cosine).toBeCloseTo(1, 10); // the finite part agrees; the NaN is what fails it
  });

  it('compares int64 labels and strings exactly, and fails missing outputs, other dims and a max abs error past the bound', () => {
    const labels = (v: bigint[]): TensorLike => ({ type: 'int64', dims: [v.length], data: BigInt64Array.from(v) });
    expect(compareOutputs({ l: labels([1n, 2n]) }, { l: labels([1n, 2n]) }).passed).toBe(true);
    expect(compareOutputs({ l: labels([1n, 2n]) }, { l: labels([1n, 3n]) })).toMatchObject({ passed: false, argmaxDisagreements: 1 });
    expect(compareOutputs({ s: { type: 'string', dims: [1], data: ['a'] } }, { s: { type: 'string', dims: [1], data: ['b'] } }).passed).toBe(false);
    expect(compareOutputs({ y: f32([2], [1, 2]) }, {}).failures).toEqual(["output 'y' is missing"]);
    expect(compareOutputs({ y: f32([2], [1, 2]) }, { y: f32([1, 2], [1, 2]) }).failures[0]).toMatch(/dims \[1, 2\] where the reference has \[2\]/);
    const tight = { ...DEFAULT_TOLERANCE, maxAbsError: 0.01 };
    expect(compareOutputs({ y: f32([1, 1, 3], [1, 2, 3]) }, { y: f32([1, 1, 3], [1, 2, 3.1]) }, tight).failures[0]).toMatch(/max abs error 0\.1\d* > 0\.01/);
  });
});
