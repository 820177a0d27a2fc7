import { ModelBuilder, type ModelRunner } from '@onnx-forge/core';
import { OrtRunner } from '@onnx-forge/runtime';
import { describe, expect, it } from 'vitest';
import { FIT_SIZES, fitSeededDims } from './fit-seeded-dims.js';

const runner = new OrtRunner({ sessionOptions: { logSeverityLevel: 4 } }) as unknown as ModelRunner;

/** x: float32[batch, 1, length] through a Conv whose kernel spans `kernel` samples (stride = kernel). */
function framedConv(kernel: number) {
  const b = new ModelBuilder({ opset: 17, graphName: 'framed' });
  const x = b.input('x', 'float32', ['batch', 1, 'length']);
  const w = b.initializer('w', new Float32Array(4 * kernel).fill(0.01), [4, 1, kernel]);
  b.output(b.op('Conv', [x, w], { strides: [kernel] }), 'float32', ['batch', 4, 'frames']);
  return b.build();
}

describe('fitSeededDims', () => {
  it('keeps the sizes given when the model runs on them', async () => {
    expect(await fitSeededDims(runner, framedConv(1))).toEqual({ dims: {}, fitted: [], runs: true });
  });

  it('neither loads nor runs the model when every dim is given or a batch: there is nothing to size', async () => {
    const refusing: ModelRunner = { load: () => Promise.reject(new Error('fitSeededDims loaded the model')) };
    expect(await fitSeededDims(refusing, framedConv(400), { length: 512 })).toEqual({ dims: { length: 512 }, fitted: [] });
    // A size the user gave is theirs, even one too short: the caller's own run says why it fails.
    expect(await fitSeededDims(refusing, framedConv(400), { length: 8 })).toEqual({ dims: { length: 8 }, fitted: [] });
  });

  it('sizes free dims, never the batch, to the first size the model runs on', async () => {
    // A 400-sample window: 16 and 256 are too short, 4096 is the first that runs.
    expect(await fitSeededDims(runner, framedConv(400))).toEqual({ dims: { length: 4096 }, fitted: ['length'], runs: true });
    expect(FIT_SIZES).toContain(4096);
  });

  it('says when no size fits, and gives back the sizes it was given', async () => {
    expect(await fitSeededDims(runner, framedConv(20000), { batch: 2 })).toEqual({ dims: { batch: 2 }, fitted: [], runs: false });
  });
});
