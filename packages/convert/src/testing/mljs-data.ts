import { Rng } from '@onnx-forge/core';

/**
 * Seeded rows for training and scoring mljs models. Every value is a float32 (the ONNX input type),
 * so the converted model and mljs see the same numbers.
 */
export function seededRows(seed: number, rows: number, features: number, nanRate = 0): number[][] {
  const rng = new Rng(seed);
  return Array.from({ length: rows }, () => Array.from({ length: features }, () => (rng.next() < nanRate ? NaN : Math.fround(rng.uniform(-2, 2)))));
}

/** Three classes from a rule on the first three features, with 10 % of the labels flipped. */
export function classLabels(seed: number, rows: readonly number[][]): number[] {
  const rng = new Rng(seed);
  return rows.map(([a = 0, b = 0, c = 0]) => {
    const y = a + 0.5 * b > 0.5 ? 2 : c > 0 ? 1 : 0;
    return rng.next() < 0.1 ? rng.int(0, 3) : y;
  });
}

/** A smooth target of four features plus noise. */
export function regressionTargets(seed: number, rows: readonly number[][]): number[] {
  const rng = new Rng(seed);
  return rows.map(([a = 0, b = 0, c = 0, d = 0]) => 3 * Math.sin(a) + b * b - 0.5 * c + (d > 0 ? 1 : 0) + rng.normal(0, 0.1));
}

/** Rows as the float32 input of a converted model. */
export function toInput(rows: readonly number[][]): Float32Array {
  return Float32Array.from(rows.flat());
}
