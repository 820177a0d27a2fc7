import { describe, expect, it } from 'vitest';
import { singleValueBound, singleValueProblem, toleranceProblem } from './single-value.js';

describe('one value per sample', () => {
  it('allows the error an orthogonal one would have at the cosine tolerance: 14.1 % at 0.99, 4.5 % at 0.999', () => {
    expect(singleValueBound(0.99)).toBeCloseTo(0.1414, 4);
    expect(singleValueBound(0.999)).toBeCloseTo(0.0447, 4);
    // A vector output whose error is orthogonal and sqrt(2 (1 - c)) of its size has cosine c... near it, to first order.
    const c = 0.99;
    const e = singleValueBound(c);
    expect(1 / Math.sqrt(1 + e * e)).toBeCloseTo(c, 2);
  });

  it('names an output of one value whose error passes the bound, and leaves others to cosine', () => {
    expect(singleValueProblem({ elements: 1, scaleError: 0.3 }, 0.99)).toMatch(/^one value per sample, where cosine is 1 whatever the error: the largest error is 30\.0 % of the output's largest value, above the 14\.1 % the cosine tolerance 0\.99 allows$/);
    expect(singleValueProblem({ elements: 1, scaleError: 0.1 }, 0.99)).toBeUndefined();
    expect(singleValueProblem({ elements: 16, scaleError: 0.9 }, 0.99)).toBeUndefined();
    expect(singleValueProblem({ elements: 1, scaleError: Infinity }, 0.99)).toMatch(/Infinity of the output's largest value/);
  });

  it('toleranceProblem: NaN/Inf first, then a cosine below the tolerance, then a one-value output past its bound', () => {
    expect(toleranceProblem({ nonFinite: 3, cosine: -Infinity, elements: 8, scaleError: Infinity }, 0.99)).toBe('NaN/Inf in 3 values where float32 had none');
    expect(toleranceProblem({ nonFinite: 0, cosine: 0.9884, elements: 64, scaleError: 0.5 }, 0.99)).toBe('cosine 0.9884 is below 0.99');
    expect(toleranceProblem({ nonFinite: 0, cosine: 1, elements: 1, scaleError: 0.3 }, 0.99)).toMatch(/^one value per sample/);
    expect(toleranceProblem({ nonFinite: 0, cosine: 0.99999, elements: 64, scaleError: 0.3 }, 0.99)).toBeUndefined();
  });

  it('toleranceProblem says when the output it fails is near zero on the inputs (PaddleOCR\'s map on noise), and only then', () => {
    // Largest value 2.09e-7 / 0.00878 = 2.38e-5, under float16's smallest normal 6.1e-5.
    const near = toleranceProblem({ nonFinite: 0, cosine: 0.9707, elements: 4096, scaleError: 0.00878, maxAbs: 2.09e-7 }, 0.99);
    expect(near).toMatch(/^cosine 0\.9707 is below 0\.99 \(the output is near zero on these inputs: its largest value is 2\.38e-5 and the largest difference 2\.09e-7; .*--inputs/);
    // The same cosine on an output of ordinary size is only the cosine.
    expect(toleranceProblem({ nonFinite: 0, cosine: 0.9707, elements: 4096, scaleError: 0.01, maxAbs: 0.02 }, 0.99)).toBe('cosine 0.9707 is below 0.99');
    expect(toleranceProblem({ nonFinite: 0, cosine: 0.9707, elements: 4096, scaleError: 0.01 }, 0.99)).toBe('cosine 0.9707 is below 0.99');
  });
});
