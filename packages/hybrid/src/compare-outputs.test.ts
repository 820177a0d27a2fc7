import type { TensorLike } from '@onnx-forge/runtime';
import { toFloat16 } from '@onnx-forge/runtime';
import { describe, expect, it } from 'vitest';
import { DEFAULT_TOLERANCE, compareOutputs, hasNonFinite } from './compare-outputs.js';

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

  it('reads float16 given as values in a Float16Array (onnxruntime-web in Chromium), as it reads the bits', () => {
    // Node 20 has no Float16Array: a stand-in holding the values as a Float32Array does.
    class Float16Array extends Float32Array {}
    const global = globalThis as { Float16Array?: unknown };
    global.Float16Array = Float16Array;
    try {
      const ref = { y: { type: 'float32', dims: [3], data: Float32Array.from([0.5, -2, 65504]) } } as const;
      const check = compareOutputs(ref, { y: { type: 'float16', dims: [3], data: Float16Array.from([0.5, -2, 65504]) as unknown as Uint16Array } });
      expect(check.passed).toBe(true);
      expect(check.maxAbsError).toBe(0);
      expect(hasNonFinite({ y: { type: 'float16', dims: [2], data: Float16Array.from([1, Number.NaN]) as unknown as Uint16Array } })).toBe(true);
      expect(hasNonFinite({ y: { type: 'float16', dims: [2], data: Float16Array.from([1, 2]) as unknown as Uint16Array } })).toBe(false);
    } finally {
      delete global.Float16Array;
    }
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

  it('judges an output the reference answers with zeros (a ReLU, a mask) by absolute error against the answer\'s scale, not by cosine', () => {
    const ref = { logits: f32([1, 3], [2, -1, 5]), relu: f32([1, 4], [0, 0, 0, 0]) };
    // An INT8 variant leaves tiny values where the reference has exact zeros: cosine 0 there, and meaningless.
    const tiny = compareOutputs(ref, { logits: f32([1, 3], [2.01, -1, 4.99]), relu: f32([1, 4], [0.002, 0, 0.001, 0]) });
    expect(tiny.failures).toEqual([]);
    expect(tiny.outputs[1]?.cosine).toBeUndefined();
    expect(tiny.outputs[1]?.absoluteLimit).toBeCloseTo(Math.sqrt(0.02) * 5, 10);
    expect(tiny.cosine).toBeGreaterThan(0.9999); // the logits' alone
    // An underflowed reference (1e-9, a millionth of the answer's scale is 5e-6) is zero too.
    expect(compareOutputs({ ...ref, relu: f32([1, 4], [1e-9, 0, 0, 0]) }, { logits: ref.logits, relu: f32([1, 4], [0, 1e-3, 0, 0]) }).passed).toBe(true);
    // Values of the answer's own size where the reference has zeros still fail.
    const big = compareOutputs(ref, { logits: ref.logits, relu: f32([1, 4], [0.8, 0, 0, 0]) });
    expect(big.failures).toHaveLength(1);
    expect(big.failures[0]).toMatch(/output 'relu': the reference is \(near\) zero, so judged by absolute error: max abs error 0\.8\d* > 0\.707\d*/);
    // A small output that is not zero keeps its cosine check, however small next to the rest of the answer.
    const small = compareOutputs({ big: f32([1, 1, 3], [100, 0, 0]), small: f32([1, 1, 3], [0.1, 0.2, 0.3]) }, { big: f32([1, 1, 3], [100, 0, 0]), small: f32([1, 1, 3], [0.3, 0.2, 0.1]) });
    expect(small.failures).toEqual(["output 'small': cosine 0.714286 < 0.99"]);
    // A whole answer of zeros gives no scale: only NaN fails it, or maxAbsError when set.
    const mask = { mask: f32([1, 1, 4], [0, 0, 0, 0]) };
    const noisy = { mask: f32([1, 1, 4], [0.01, 0, 0, 0.002]) };
    expect(compareOutputs(mask, noisy)).toMatchObject({ passed: true, outputs: [{ absoluteLimit: Number.POSITIVE_INFINITY }] });
    expect(compareOutputs(mask, { mask: f32([1, 1, 4], [0, Number.NaN, 0, 0]) }).passed).toBe(false);
    expect(compareOutputs(mask, noisy, { ...DEFAULT_TOLERANCE, maxAbsError: 0.005 }).failures).toEqual(["output 'mask': max abs error 0.010000 > 0.005"]);
    expect(compareOutputs(mask, { mask: f32([1, 1, 4], [0.001, 0, 0, 0]) }, { ...DEFAULT_TOLERANCE, maxAbsError: 0.005 }).passed).toBe(true);
  });

  it('does not count a swap of close values that noise spread over the row explains (an INT8 embedding), but counts an error that lifts one class', () => {
    // 16 values; the first two are 0.03 apart (3 % of the row's range, past argmaxMargin's 1 %).
    const row = [0.5, 0.47, ...Array.from({ length: 14 }, (_, k) => 0.4 * Math.sin(k * 1.7 + 0.3))];
    const ref = { embedding: f32([1, 16], row) };
    // INT8-like error of up to 0.035 on every element: the two close values swap.
    const noise = row.map((_, k) => (k === 0 ? -0.02 : k === 1 ? 0.02 : k % 3 === 0 ? 0.035 : -0.03));
    const int8 = { embedding: f32([1, 16], row.map((v, k) => v + (noise[k] as number))) };
    const c = compareOutputs(ref, int8);
    expect(c.cosine).toBeGreaterThan(0.99);
    expect(c).toMatchObject({ passed: true, argmaxRows: 1, argmaxDisagreements: 0 });
    // The same swap made by an error on one class only, the rest of the row exact: a wrong answer.
    const lifted = { embedding: f32([1, 16], row.map((v, k) => (k === 1 ? v + 0.05 : v))) };
    const l = compareOutputs(ref, lifted);
    expect(l.cosine).toBeGreaterThan(0.99);
    expect(l).toMatchObject({ passed: false, argmaxDisagreements: 1, failures: ["output 'embedding': a different class in 1 of 1 rows"] });
    // Naming the classifiers takes the other outputs out of the argmax check.
    const named = compareOutputs({ ...ref, logits: f32([1, 3], [0, 1, 5]) }, { ...lifted, logits: f32([1, 3], [0, 1, 5]) }, { ...DEFAULT_TOLERANCE, classifiers: ['logits'] });
    expect(named).toMatchObject({ passed: true, argmaxRows: 1, argmaxDisagreements: 0 });
    expect(named.outputs.find((o) => o.output === 'embedding')?.argmaxRows).toBeUndefined();
  });
});
