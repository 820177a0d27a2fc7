import { mlp } from '@onnx-forge/core';
import { describe, expect, it } from 'vitest';
import { convertToFp16 } from './fp16-pass.js';

// fp16 run a second time on its own output (or on a model published in float16): nothing is left to
// convert. The warning said "every node stays float32", which is the opposite of the truth: the model
// already computes in float16. Like quantize on an INT8 model, it should name the input as such.

describe('fp16 on a model already in float16', () => {
  it.each(['any', 'cuda'] as const)('target %s: says the model is already float16, not that every node stays float32', async (target) => {
    const model = mlp({ sizes: [64, 256, 256, 10], op: 'MatMul' });
    const first = await convertToFp16(model, { target });
    expect(first.nodesConverted).toBeGreaterThan(0);
    expect(first.unchanged).toBe(false);
    const again = await convertToFp16(model, { target });
    expect(again.nodesConverted).toBe(0);
    // The second run is the model as given: nothing to check against the first's output.
    expect(again.unchanged).toBe(true);
    expect(again.warnings.filter((w) => /every node stays float32/.test(w))).toEqual([]);
    expect(again.warnings.find((w) => /already float16/.test(w))).toMatch(
      /^nothing was converted to float16 for target \w+: the model is already float16 \(float16 weights are 100\.0 % of its float weight bytes\)/,
    );
  });

  it('a float32 model that keeps everything float32 still gets the plain warning', async () => {
    const model = mlp({ sizes: [64, 256, 10], op: 'MatMul' });
    const report = await convertToFp16(model, { target: 'any', blockOps: ['MatMul', 'Add', 'Relu'] });
    expect(report.nodesConverted).toBe(0);
    expect(report.unchanged).toBe(true);
    expect(report.warnings.find((w) => /nothing was converted/.test(w))).toMatch(/every node stays float32/);
  });
});
