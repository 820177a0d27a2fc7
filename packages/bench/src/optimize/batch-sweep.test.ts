import { ModelBuilder, type RunnerFeeds } from '@onnx-forge/core';
import { ManualClock } from '@onnx-forge/runtime';
import { describe, expect, it } from 'vitest';
import { sleep } from '../measure/bench-clock.js';
import { batchAxes, batchDim, batchSweep, repeatFirstRow } from './batch-sweep.js';

/** An image model as PaddleOCR's: x float32 [batch, 3, height, width], every dim but the channels symbolic. */
function imageModel() {
  const b = new ModelBuilder({ opset: 17, graphName: 'image' });
  const x = b.input('x', 'float32', ['batch', 3, 'height', 'width']);
  b.output(b.op('Relu', [x], {}, { outputs: ['y'] }), 'float32', ['batch', 3, 'height', 'width']);
  return b.build();
}

/**
 * A recurrent model shaped as Silero VAD v4: audio x [batch, samples], a scalar sample rate, and LSTM
 * state h [2, batch, 3] whose batch is its second dim.
 */
function recurrentModel() {
  const b = new ModelBuilder({ opset: 17, graphName: 'recurrent' });
  const x = b.input('x', 'float32', ['batch', 'samples']);
  const sr = b.input('sr', 'int64', []);
  const h = b.input('h', 'float32', [2, 'batch', 3]);
  b.output(b.op('Relu', [x], {}, { outputs: ['y'] }), 'float32', ['batch', 'samples']);
  b.output(b.op('Identity', [sr], {}, { outputs: ['sr_out'] }), 'int64', []);
  b.output(b.op('Relu', [h], {}, { outputs: ['hn'] }), 'float32', [2, 'batch', 3]);
  return b.build();
}

describe('batchAxes', () => {
  it('finds the batch where it is not the first dim of every input: Silero-shaped state [2, batch, 3] beside a scalar sample rate', () => {
    expect(batchAxes(recurrentModel())).toEqual({ dim: 'batch', axes: { x: 0, sr: null, h: 1 } });
    expect(batchDim(recurrentModel())).toBe('batch');
    expect(batchAxes(imageModel())).toEqual({ dim: 'batch', axes: { x: 0 } });
  });

  it('finds none where an input with dims lacks it, or two inputs lead with different names', () => {
    const b = new ModelBuilder({ opset: 17, graphName: 'two' });
    const a = b.input('a', 'float32', ['n', 4]);
    const c = b.input('c', 'float32', ['m', 4]);
    b.output(b.op('Add', [a, c], {}, { outputs: ['y'] }), 'float32', ['n', 4]);
    expect(batchAxes(b.build())).toBeNull();
    const f = new ModelBuilder({ opset: 17, graphName: 'fixed' });
    const x = f.input('x', 'float32', [1, 4]);
    f.output(f.op('Relu', [x], {}, { outputs: ['y'] }), 'float32', [1, 4]);
    expect(batchAxes(f.build())).toBeNull();
  });
});

describe('batchSweep', () => {
  it('batches a model whose batch is the second dim of its state, the scalar input shared: each batch repeats the first row along the batch dim', async () => {
    const clock = new ManualClock();
    const sample: RunnerFeeds = {
      x: { type: 'float32', dims: [1, 4], data: Float32Array.from([1, 2, 3, 4]) },
      sr: { type: 'int64', dims: [], data: BigInt64Array.from([16000n]) },
      h: { type: 'float32', dims: [2, 1, 3], data: Float32Array.from([10, 11, 12, 20, 21, 22]) },
    };
    const seen: RunnerFeeds[] = [];
    const variant = { name: 'fp32', run: async (f: RunnerFeeds) => { seen.push(f); await sleep(clock, 1); } };
    const r = await clock.run(batchSweep(recurrentModel(), [variant], { sizes: [1, 3], dims: {}, feeds: sample, seed: 1, runs: 3, warmup: 0, clock }));
    expect(r.dim).toBe('batch');
    expect(r.error).toBeUndefined();
    expect(r.points.fp32?.map((p) => p.batch)).toEqual([1, 3]);
    const three = seen.find((f) => f.x?.dims[0] === 3) as RunnerFeeds;
    expect(three.x).toEqual({ type: 'float32', dims: [3, 4], data: Float32Array.from([1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4]) });
    expect(three.sr).toEqual(sample.sr);
    expect(three.h).toEqual({ type: 'float32', dims: [2, 3, 3], data: Float32Array.from([10, 11, 12, 10, 11, 12, 10, 11, 12, 20, 21, 22, 20, 21, 22, 20, 21, 22]) });
    expect(r.note).toMatch(/^batch dimension "batch" \(dim 1 of h; sr shared by the batch\); /);
    // 3 runs per size give no 95 % interval of a median: no size can be named lowest, and the note says why.
    expect(r.best).toEqual({});
    expect(r.note).toMatch(/; 3 runs per size are too few to tell the sizes apart \(a 95 % interval of a median needs 6\)$/);
  });


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
