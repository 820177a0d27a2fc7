import { ModelBuilder, type RunnerFeeds } from '@onnx-forge/core';
import { ManualClock } from '@onnx-forge/runtime';
import { describe, expect, it } from 'vitest';
import { sleep } from '../measure/bench-clock.js';
import { batchSweep, repeatFirstRow } from './batch-sweep.js';

/** An image model as PaddleOCR's: x float32 [batch, 3, height, width], every dim but the channels symbolic. */
function imageModel() {
  const b = new ModelBuilder({ opset: 17, graphName: 'image' });
  const x = b.input('x', 'float32', ['batch', 3, 'height', 'width']);
  b.output(b.op('Relu', [x], {}, { outputs: ['y'] }), 'float32', ['batch', 3, 'height', 'width']);
  return b.build();
}

describe('batchSweep', () => {
  it('measures each batch size on the timed sample repeated, not on seeded inputs of another size', async () => {
    const clock = new ManualClock();
    // The sample the variants were timed on: one 3 x 2 x 5 image (as a folder of 48 x 192 crops is).
    const sample: RunnerFeeds = { x: { type: 'float32', dims: [1, 3, 2, 5], data: Float32Array.from({ length: 30 }, (_, i) => i) } };
    const seen: RunnerFeeds[] = [];
    const variant = { name: 'fp32', run: async (f: RunnerFeeds) => { seen.push(f); await sleep(clock, 1); } };
    const r = await clock.run(batchSweep(imageModel(), [variant], { sizes: [1, 4], dims: {}, feeds: sample, seed: 1, runs: 3, warmup: 0, clock }));
    expect(r.dim).toBe('batch');
    expect(r.points.fp32?.map((p) => p.batch)).toEqual([1, 4]);
    const shapes = [...new Set(seen.map((f) => f.x?.dims.join('x')))];
    expect(shapes).toEqual(['1x3x2x5', '4x3x2x5']);
    const four = seen.find((f) => f.x?.dims[0] === 4)?.x?.data as Float32Array;
    for (let i = 0; i < 4; i++) expect(Array.from(four.subarray(30 * i, 30 * (i + 1)))).toEqual(Array.from(sample.x?.data as Float32Array));
    expect(r.note).toContain('on the first sample repeated');
  });

  it('repeats the first row of every input, strings included; an input without rows gives up', () => {
    const feeds: RunnerFeeds = {
      ids: { type: 'int64', dims: [2, 2], data: BigInt64Array.from([1n, 2n, 3n, 4n]) },
      text: { type: 'string', dims: [2], data: ['a', 'b'] },
    };
    const three = repeatFirstRow(feeds, 3);
    expect(three?.ids).toEqual({ type: 'int64', dims: [3, 2], data: BigInt64Array.from([1n, 2n, 1n, 2n, 1n, 2n]) });
    expect(three?.text).toEqual({ type: 'string', dims: [3], data: ['a', 'a', 'a'] });
    expect(repeatFirstRow({ s: { type: 'float32', dims: [], data: new Float32Array(1) } }, 2)).toBeUndefined();
    expect(repeatFirstRow({ e: { type: 'float32', dims: [0, 4], data: new Float32Array(0) } }, 2)).toBeUndefined();
  });
});
