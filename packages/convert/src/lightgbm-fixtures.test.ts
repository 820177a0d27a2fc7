import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { convertLightGbm } from './convert-model.js';
import { predictTrees } from './predict-trees.js';
import { parseLightGbm } from './parse-lightgbm.js';
import { ORT_BACKENDS, floats, ints, runOnce } from './testing/ort.js';

/*
 * The four LightGBM 4.x models of the shared fixtures, with 50 input rows each and LightGBM's own
 * predict() and predict(raw_score=True) for them. Tolerance: relative, |got − want| <= 1e-5 · |want|
 * (no reference value is 0; the smallest is 1.0e-2 for prediction and 6.5e-2 for raw_score).
 */
const WORKSPACE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const FIXTURES = path.resolve(WORKSPACE, '../shared/fixtures/lightgbm');
const present = existsSync(FIXTURES);
if (!present) console.warn(`LightGBM fixture tests skipped: ${FIXTURES} is absent (it comes with the project's shared/ folder)`);

interface Expected {
  inputs: (number | null)[][];
  raw_score: (number | number[])[];
  prediction: (number | number[])[];
  objective: string;
}

const REL = 1e-5;
const CASES = [
  { name: 'regression', classes: undefined },
  { name: 'binary_missing', classes: 2 },
  { name: 'multiclass', classes: 3 },
  { name: 'multiclass_digits', classes: 10 },
] as const;

function maxRelativeError(got: readonly number[], want: readonly number[]): number {
  expect(got.length).toBe(want.length);
  let worst = 0;
  want.forEach((w, i) => {
    const err = Math.abs((got[i] as number) - w) / Math.abs(w);
    worst = Math.max(worst, Number.isNaN(err) ? Infinity : err);
  });
  return worst;
}

function argmax(row: readonly number[]): number {
  let best = 0;
  row.forEach((v, i) => {
    if (v > (row[best] as number)) best = i;
  });
  return best;
}

describe.skipIf(!present)('LightGBM fixtures (shared/fixtures/lightgbm)', () => {
  const load = (name: string) => ({
    text: readFileSync(path.join(FIXTURES, `${name}.txt`), 'utf8'),
    expected: JSON.parse(readFileSync(path.join(FIXTURES, `${name}.expected.json`), 'utf8')) as Expected,
  });

  // Vitest still runs a skipped describe's body to collect its tests: read the fixtures only when present.
  for (const { name, classes } of present ? CASES : []) {
    describe(name, () => {
      const { text, expected } = load(name);
      const rows = expected.inputs.length;
      const features = (expected.inputs[0] as unknown[]).length;
      const input = Float32Array.from(expected.inputs.flat(), (v) => (v === null ? NaN : v));
      const prediction = expected.prediction.flat();
      const raw = expected.raw_score.flat();

      it('the JavaScript scorer reproduces predict() and raw scores', () => {
        const { ensemble } = convertLightGbm(text);
        const doubles = Float64Array.from(expected.inputs.flat(), (v) => (v === null ? NaN : v));
        const js = predictTrees(ensemble, doubles);
        const out = classes === 2 ? Array.from(js.output).filter((_, i) => i % 2 === 1) : Array.from(js.output);
        expect(maxRelativeError(out, prediction)).toBeLessThan(1e-12);
        expect(maxRelativeError(Array.from(predictTrees(ensemble, doubles, { rawScore: true }).output), raw)).toBeLessThan(1e-12);
      });

      it('read from the file bytes a line at a time (as a model past 512 MB is), the trees are the same', () => {
        expect(parseLightGbm(readFileSync(path.join(FIXTURES, `${name}.txt`)))).toEqual(parseLightGbm(text));
      });

      for (const backend of ORT_BACKENDS) {
        it(`onnxruntime-${backend} reproduces predict() within 1e-5 relative, labels = argmax`, async () => {
          const { model, report } = convertLightGbm(text);
          expect(report).toMatchObject({ format: 'lightgbm', features, classes });
          const out = await runOnce(backend, model, input, rows);
          if (classes === undefined) {
            expect(out.variable?.dims).toEqual([rows, 1]);
            expect(maxRelativeError(floats(out.variable), prediction)).toBeLessThanOrEqual(REL);
            return;
          }
          expect(out.probabilities?.dims).toEqual([rows, classes]);
          const probs = floats(out.probabilities);
          // LightGBM's binary predict() is P(class 1); the ONNX model returns [P(0), P(1)].
          const got = classes === 2 ? probs.filter((_, i) => i % 2 === 1) : probs;
          expect(maxRelativeError(got, prediction)).toBeLessThanOrEqual(REL);
          const want = expected.prediction.map((p) => (Array.isArray(p) ? argmax(p) : argmax([1 - p, p])));
          expect(ints(out.label)).toEqual(want);
        });

        it(`onnxruntime-${backend} reproduces raw_score within 1e-5 relative with rawScore`, async () => {
          const { model, report } = convertLightGbm(text, { rawScore: true });
          const out = await runOnce(backend, model, input, rows);
          const key = classes === undefined ? 'variable' : 'raw_score';
          expect(report.outputs).toContain(key);
          expect(out[key]?.dims).toEqual([rows, classes === undefined || classes === 2 ? 1 : classes]);
          expect(maxRelativeError(floats(out[key]), raw)).toBeLessThanOrEqual(REL);
        });
      }
    });
  }
});
