import type { RunnerFeeds } from '@onnx-forge/core';
import { describe, expect, it } from 'vitest';
import { compareOutputs } from './precision-search.js';
import { singleValueProblem } from './single-value.js';

const f32 = (dims: number[], values: number[]) => ({ type: 'float32' as const, dims, data: Float32Array.from(values) });
const samples = (name: string, dims: number[], rows: number[][]): RunnerFeeds[] => rows.map((r) => ({ [name]: f32(dims, r) }));

describe('the search compareOutputs', () => {
  it('judges a tensor output per sample: the worst sample counts', () => {
    const ref = samples('y', [3], [[1, 2, 3], [3, 2, 1]]);
    const got = samples('y', [3], [[1, 2, 3], [3, 2, 1.5]]);
    expect(compareOutputs('rel-l2', ['y'], ref, got).y).toBeCloseTo(0.5 / Math.sqrt(14), 6);
    expect(compareOutputs('max-abs', ['y'], ref, got).y).toBeCloseTo(0.5, 6);
  });

  it('judges a one-value output over the samples at once: a score near zero does not blow up rel-l2, and cosine sees the error', () => {
    // A wake-word score: 0.0001 when absent, 0.9 when present; the candidate is off by 0.00005 on the
    // quiet sample (50 % relative to it, nothing next to the score's scale) and by 0.3 on a loud one.
    const ref = samples('score', [1, 1], [[0.0001], [0.9], [0.8]]);
    const quietOff = samples('score', [1, 1], [[0.00015], [0.9], [0.8]]);
    expect(compareOutputs('rel-l2', ['score'], ref, quietOff).score).toBeLessThan(1e-4);
    const loudOff = samples('score', [1, 1], [[0.0001], [0.9], [0.5]]);
    // Per sample, the cosine of two positive numbers is 1: it would have passed whatever the error.
    expect(1 - compareOutputs('cosine', ['score'], ref, loudOff).score!).toBeLessThan(0.99);
    expect(compareOutputs('rel-l2', ['score'], ref, loudOff).score).toBeCloseTo(0.3 / Math.hypot(0.0001, 0.9, 0.8), 6);
  });

  it('cosine sees an error common to every sample of a one-value output, as the final check does', () => {
    // A quantized wake-word head whose every score is too high by the same share. Cosine over the
    // samples is ~1 (the vector only grows), so int8-auto kept every node quantized, said "0 nodes
    // left float32 to keep every output at cosine >= 0.99", and the final check then flagged the
    // output above what cosine 0.99 allows (singleValueBound).
    const ref = samples('score', [1, 1], [[0.5], [0.6], [0.55], [0.52]]);
    const high = samples('score', [1, 1], [[0.59], [0.708], [0.649], [0.6136]]);
    const scaleError = 0.108 / 0.6;
    expect(singleValueProblem({ elements: 1, scaleError }, 0.99)).toBeDefined();
    const d = compareOutputs('cosine', ['score'], ref, high).score!;
    expect(d).toBeGreaterThan(1 - 0.99);
    expect(d).toBeCloseTo((scaleError * scaleError) / 2, 6);
    // Within the bound: the search and the check agree it holds.
    const close = samples('score', [1, 1], [[0.51], [0.61], [0.56], [0.53]]);
    expect(singleValueProblem({ elements: 1, scaleError: 0.01 / 0.6 }, 0.99)).toBeUndefined();
    expect(compareOutputs('cosine', ['score'], ref, close).score).toBeLessThan(1 - 0.99);
    // One sample alone: cosine of two numbers is 1, the scale-relative error is not.
    expect(compareOutputs('cosine', ['score'], ref.slice(0, 1), high.slice(0, 1)).score).toBeCloseTo((0.09 / 0.5) ** 2 / 2, 6);
  });

  it('a sample whose reference is negligible next to the output\'s scale is judged by its error at that scale, not by its own direction', () => {
    // A window function on a seeded length: one sample is one value float16 cannot hold (1.5e-8 → 0),
    // and a cosine against a zero vector is 0: the check failed a conversion exact to 2.4e-4.
    const ref = samples('y', [3], [[0.2, 1, 0.4], [1.49e-8, 0, 0]]);
    const got = samples('y', [3], [[0.2002, 0.9995, 0.4001], [0, 0, 0]]);
    expect(compareOutputs('cosine', ['y'], ref, got).y).toBeLessThan(1e-6);
    expect(compareOutputs('rel-l2', ['y'], ref, got).y).toBeLessThan(1e-3);
    // What the sample's error is next to the output's scale still counts: 0.3 where the reference is ~0 fails.
    const off = samples('y', [3], [[0.2, 1, 0.4], [0.3, 0, 0]]);
    expect(compareOutputs('cosine', ['y'], ref, off).y).toBeCloseTo(0.3 ** 2 / 2, 6);
    expect(compareOutputs('rel-l2', ['y'], ref, off).y).toBeCloseTo(0.3, 6);
    // Not negligible (above 2^-11 of the scale): the sample's own cosine, as before.
    const small = samples('y', [3], [[0.2, 1, 0.4], [0.01, 0, 0]]);
    expect(compareOutputs('cosine', ['y'], small, samples('y', [3], [[0.2, 1, 0.4], [0, 0.01, 0]])).y).toBeCloseTo(1, 12);
    // Every sample tiny: the scale is theirs, and direction counts.
    const tiny = samples('y', [2], [[1e-8, 0], [2e-8, 0]]);
    expect(compareOutputs('cosine', ['y'], tiny, samples('y', [2], [[0, 1e-8], [2e-8, 0]])).y).toBeCloseTo(1, 12);
  });

  it('float64 outputs too large or too small to square keep their true cosine and rel-l2', () => {
    const f64 = (rows: number[][]): RunnerFeeds[] => rows.map((r) => ({ y: { type: 'float64', dims: [r.length], data: Float64Array.from(r) } as never }));
    expect(compareOutputs('cosine', ['y'], f64([[1e200, 2e200, 3e200]]), f64([[1e200, 2e200, 3e200]])).y).toBeCloseTo(0, 12);
    expect(compareOutputs('cosine', ['y'], f64([[1e200, 2e200, 3e200]]), f64([[3e200, 2e200, 1e200]])).y).toBeCloseTo(1 - 10 / 14, 12);
    expect(compareOutputs('rel-l2', ['y'], f64([[1e200, 2e200, 3e200]]), f64([[3e200, 2e200, 1e200]])).y).toBeCloseTo(Math.sqrt(8 / 14), 12);
    // 1e-200 squared is 0: the plain sums called two orthogonal outputs identical.
    expect(compareOutputs('cosine', ['y'], f64([[1e-200, 0]]), f64([[0, 1e-200]])).y).toBeCloseTo(1, 12);
  });

  it('a missing output or a NaN where float32 is finite is an infinite difference', () => {
    const ref = samples('y', [1], [[1], [2]]);
    expect(compareOutputs('cosine', ['y'], ref, [{}, {}]).y).toBe(Infinity);
    expect(compareOutputs('rel-l2', ['y'], ref, samples('y', [1], [[1], [Number.NaN]])).y).toBe(Infinity);
  });

  it('where float32 itself is NaN/Inf there is nothing to compare: a finite candidate is not blamed', () => {
    const ref = samples('y', [3], [[1, Number.NaN, 3], [Number.NaN, Number.NaN, Number.POSITIVE_INFINITY]]);
    const got = samples('y', [3], [[1, 7, 3], [0.5, 0.25, 9]]);
    expect(compareOutputs('cosine', ['y'], ref, got).y).toBeCloseTo(0, 12);
    expect(compareOutputs('max-abs', ['y'], ref, got).y).toBe(0);
    // A NaN of the candidate where float32 is finite still is infinite.
    expect(compareOutputs('cosine', ['y'], ref, samples('y', [3], [[Number.NaN, 0, 3], [0, 0, 0]])).y).toBe(Infinity);
  });

  it('an output float32 never returns (a sequence or map, which onnxruntime-node does not fetch) is not judged', () => {
    const ref = samples('label', [1], [[1], [2]]);
    expect(compareOutputs('cosine', ['label', 'probabilities'], ref, samples('label', [1], [[1], [2]]))).toEqual({ label: 0 });
  });
});
