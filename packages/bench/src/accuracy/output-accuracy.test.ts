import { float32ArrayToFloat16 } from '@onnx-forge/core';
import { describe, expect, it } from 'vitest';
import { OutputAgreement } from './output-accuracy.js';

const f32 = (dims: number[], values: number[]) => ({ type: 'float32', dims, data: Float32Array.from(values) });

describe('OutputAgreement', () => {
  it('gives max absolute and relative error, rel-L2 and cosine, worst over samples', () => {
    const a = new OutputAgreement('y');
    a.add(f32([4], [1, 2, 3, 4]), f32([4], [1, 2, 3, 4]));
    a.add(f32([4], [1, -2, 3, -4]), f32([4], [1.5, -2, 3, -4]));
    const v = a.value;
    expect(v.samples).toBe(2);
    expect(v.maxAbs).toBeCloseTo(0.5, 6);
    expect(v.maxRel).toBeCloseTo(0.5 / 4, 6);
    expect(v.relL2).toBeCloseTo(0.5 / Math.sqrt(30), 6);
    const dot = 1.5 + 4 + 9 + 16;
    expect(v.cosine).toBeCloseTo(dot / Math.sqrt(30 * (2.25 + 4 + 9 + 16)), 9);
    expect(v.top1).toBe(1);
  });

  it('gives the cosine of float64 outputs too large or too small to square', () => {
    const f64 = (values: number[]) => ({ type: 'float64', dims: [values.length], data: Float64Array.from(values) });
    // 1e200 squared is Infinity: the plain sums gave NaN for two equal outputs.
    const big = new OutputAgreement('y');
    big.add(f64([1e200, 2e200, 3e200]), f64([1e200, 2e200, 3e200]));
    expect(big.value.cosine).toBe(1);
    big.add(f64([1e200, 2e200, 3e200]), f64([3e200, 2e200, 1e200]));
    expect(big.value.cosine).toBeCloseTo(10 / 14, 12);
    expect(big.value.relL2).toBeCloseTo(Math.sqrt(8 / 14), 12);
    // 1e-200 squared is 0: the plain sums called two orthogonal outputs identical (1).
    const tiny = new OutputAgreement('y');
    tiny.add(f64([1e-200, 0]), f64([0, 1e-200]));
    expect(tiny.value.cosine).toBe(0);
    expect(tiny.value.maxRel).toBe(1);
    const small = new OutputAgreement('y');
    small.add(f64([3e-170, 4e-170]), f64([3e-170, 4e-170]));
    expect(small.value.cosine).toBe(1);
    expect(small.value.relL2).toBe(0);
  });

  it('measures top-1 agreement per row of a classifier-shaped output', () => {
    const a = new OutputAgreement('logits');
    // Rows 0 and 2 keep their arg-max class; row 1 flips from class 2 to class 0.
    a.add(f32([3, 3], [0, 1, 0, 0, 0, 5, 9, 1, 1]), f32([3, 3], [0, 1, 0, 6, 0, 5, 9, 1, 1]));
    expect(a.value.top1).toBeCloseTo(2 / 3, 9);
    const hidden = new OutputAgreement('h');
    hidden.add(f32([1, 2, 3], [1, 2, 3, 4, 5, 6]), f32([1, 2, 3], [1, 2, 3, 4, 5, 6]));
    expect(hidden.value.top1).toBeUndefined();
  });

  it('decodes float16 outputs and counts values that became NaN or infinite', () => {
    const a = new OutputAgreement('y');
    a.add(f32([3], [1, 2, 3]), { type: 'float16', dims: [3], data: float32ArrayToFloat16([1, 2, 3]) });
    expect(a.value.cosine).toBe(1);
    a.add(f32([3], [1, 2, 3]), f32([3], [1, Number.POSITIVE_INFINITY, Number.NaN]));
    expect(a.value.nonFinite).toBe(2);
    expect(a.value.cosine).toBe(Number.NEGATIVE_INFINITY);
    // The finite value left agrees exactly, but the error is not 0: it is unbounded where NaN/Inf appeared.
    expect(a.value.maxAbs).toBe(Number.POSITIVE_INFINITY);
    expect(a.value.maxRel).toBe(Number.POSITIVE_INFINITY);
    expect(a.value.relL2).toBe(Number.POSITIVE_INFINITY);
  });

  it('counts NaN/Inf of the reference itself apart, and never calls a comparison of nothing perfect', () => {
    const some = new OutputAgreement('y');
    some.add(f32([3], [1, Number.NaN, 3]), f32([3], [1, 2, 3]));
    expect(some.value).toMatchObject({ cosine: 1, nonFinite: 0, refNonFinite: 1 });
    // No sample with a finite reference value: nothing was compared, so no cosine of 1 (or 0).
    const none = new OutputAgreement('y');
    none.add(f32([2], [Number.NaN, Number.NaN]), f32([2], [0.5, 0.25]));
    none.add(f32([2], [Number.NaN, Number.POSITIVE_INFINITY]), f32([2], [1, 2]));
    expect(none.value.cosine).toBeNaN();
    expect(none.value).toMatchObject({ refNonFinite: 4, refEmptySamples: 2 });
    expect(new OutputAgreement('y').value.refNonFinite).toBeUndefined();
    expect(new OutputAgreement('y').value.refEmptySamples).toBeUndefined();
  });

  it('leaves out a sample whose reference has no finite value, as it leaves out each NaN/Inf value: the others still judge the output', () => {
    // log(x) of a scalar per sample, x < 0 in one: the reference is NaN there; a candidate equal elsewhere is not "NaN" (rejected by every tolerance).
    const a = new OutputAgreement('y');
    a.add(f32([1, 1], [Number.NaN]), f32([1, 1], [Number.NaN]));
    a.add(f32([1, 1], [0.5]), f32([1, 1], [0.5]));
    a.add(f32([1, 2], [1, 2]), f32([1, 2], [1, 2]));
    expect(a.value).toMatchObject({ cosine: 1, maxAbs: 0, refNonFinite: 1, refEmptySamples: 1, samples: 3 });
    const off = new OutputAgreement('y');
    off.add(f32([2], [Number.NaN, Number.NaN]), f32([2], [1, 1]));
    off.add(f32([2], [1, 0]), f32([2], [0, 1]));
    expect(off.value.cosine).toBe(0);
  });

  it('says when the candidate lacks the output or gives another shape', () => {
    const missing = new OutputAgreement('y');
    missing.add(f32([2], [1, 2]), undefined);
    expect(missing.value).toMatchObject({ cosine: Number.NEGATIVE_INFINITY, problem: 'the candidate does not produce this output' });
    const shape = new OutputAgreement('y');
    shape.add(f32([2], [1, 2]), f32([1, 2], [1, 2]));
    expect(shape.value.problem).toBe('shape [1, 2] where the reference has [2]');
  });

  it('says when the candidate gives another kind of type, as the problem field promises', () => {
    // Probabilities 0.2/0.8 against labels 0/1 of the same shape were compared by value (cosine 0.97).
    const ints = new OutputAgreement('y');
    ints.add(f32([2], [0.2, 0.8]), { type: 'int64', dims: [2], data: BigInt64Array.from([0n, 1n]) });
    expect(ints.value).toMatchObject({ cosine: Number.NEGATIVE_INFINITY, problem: 'type int64 where the reference has float32' });
    const text = new OutputAgreement('label');
    text.add({ type: 'string', dims: [1], data: ['cat'] }, f32([1], [0]));
    expect(text.value.problem).toBe('type float32 where the reference has string');
    // Another float width, or another integer width, is the same output.
    const half = new OutputAgreement('y');
    half.add(f32([2], [1, 2]), { type: 'float64', dims: [2], data: Float64Array.from([1, 2]) });
    expect(half.value).toMatchObject({ cosine: 1 });
    expect(half.value.problem).toBeUndefined();
    const wide = new OutputAgreement('label');
    wide.add({ type: 'int32', dims: [1], data: Int32Array.from([3]) }, { type: 'int64', dims: [1], data: BigInt64Array.from([3n]) });
    expect(wide.value.problem).toBeUndefined();
  });
});
