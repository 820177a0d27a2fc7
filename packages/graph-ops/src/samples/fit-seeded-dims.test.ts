import { existsSync } from 'node:fs';
import { ModelBuilder, readModel, type ModelRunner } from '@onnx-forge/core';
import { ONNX_TEST_DATA } from '@onnx-forge/core/testing';
import { OrtRunner } from '@onnx-forge/runtime';
import { describe, expect, it } from 'vitest';
import { FIT_SIZES, REPRESENTATIVE_SIZE, fitSeededDims, symbolicDims } from './fit-seeded-dims.js';
import { arbitraryIntegerInputs, seededFeeds } from './seeded-feeds.js';
import { packageFile } from '../testing/wakeword.js';

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
  it('sizes free dims at a representative size first, where a model that runs at 1 would measure a 1×1 image', async () => {
    expect(REPRESENTATIVE_SIZE).toBeGreaterThan(1);
    expect(await fitSeededDims(runner, framedConv(1))).toEqual({ dims: { length: REPRESENTATIVE_SIZE }, fitted: ['length'], runs: true });
  });

  it('keeps free dims at 1 when the model runs at no other size', async () => {
    // Reshape to [1]: one value, so the length must be 1.
    const b = new ModelBuilder({ opset: 17, graphName: 'only-one' });
    const x = b.input('x', 'float32', ['batch', 'length']);
    const shape = b.initializer('shape', BigInt64Array.from([1n]), [1]);
    b.output(b.op('Relu', [b.op('Reshape', [x, shape])]), 'float32', [1]);
    expect(await fitSeededDims(runner, b.build())).toEqual({ dims: {}, fitted: [], runs: true });
  });

  it('names a dynamic dim without a name input[axis], sizes it, and takes the first as a batch', async () => {
    const b = new ModelBuilder({ opset: 17, graphName: 'unnamed' });
    const x = b.input('audio', 'float32', [null, null]);
    const w = b.initializer('w', new Float32Array(400).fill(0.01), [1, 1, 400]);
    const x3 = b.op('Unsqueeze', [x, b.initializer('axes', BigInt64Array.from([1n]), [1])]);
    b.output(b.op('Conv', [x3, w], { strides: [400] }), 'float32', [null, 1, null]);
    const m = b.build();
    expect(symbolicDims(m)).toEqual(['audio[0]', 'audio[1]']);
    expect(await fitSeededDims(runner, m)).toEqual({ dims: { 'audio[1]': 4096 }, fitted: ['audio[1]'], runs: true });
    expect(seededFeeds(m, { dims: { 'audio[1]': 512 } }).audio?.dims).toEqual([1, 512]);
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

describe('seeded inputs for a model with a recurrent state and a sample rate (Silero VAD v5)', () => {
  const file = packageFile('@ricky0123/vad-web', 'dist', 'silero_vad_v5.onnx');
  it.skipIf(!file)('sizes the audio alone when sizing it with the state batch fails, and gives sr the rate the model tests for', async () => {
    const m = await readModel(file as string);
    expect(symbolicDims(m)).toEqual(['input[0]', 'input[1]', 'state[1]']);
    // All free dims at once give the state a batch of 64 beside audio of batch 1: only the audio alone runs.
    const fit = await fitSeededDims(runner, m);
    expect(fit.runs).toBe(true);
    expect(fit.fitted).toEqual(['input[1]']);
    expect(fit.dims['state[1]']).toBe(1);
    expect(fit.dims['input[1]']).toBeGreaterThan(1);
    // sr == 16000 picks an If branch: the seeded value is that constant, not an arbitrary number.
    expect(Array.from(seededFeeds(m, { dims: fit.dims }).sr?.data as BigInt64Array)).toEqual([16000n]);
    expect(arbitraryIntegerInputs(m)).toEqual([]);
  });
});

describe('seeded integer inputs', () => {
  it('take the constant the model compares them with, the same in every sample', () => {
    const b = new ModelBuilder({ opset: 17, graphName: 'rate' });
    const rate = b.input('rate', 'int64', []);
    const k = b.initializer('k', BigInt64Array.from([8000n]), []);
    b.output(b.op('Cast', [b.op('Equal', [b.op('Identity', [rate]), k])], { to: 1 }), 'float32', []);
    const m = b.build();
    for (const seed of [1, 2, 3]) expect(seededFeeds(m, { seed }).rate?.data).toEqual(BigInt64Array.from([8000n]));
    expect(arbitraryIntegerInputs(m)).toEqual([]);
    // Compared with nothing, the same input is arbitrary, and said to be.
    const c = new ModelBuilder({ opset: 17, graphName: 'count' });
    const n = c.input('n', 'int64', []);
    c.output(c.op('Cast', [n], { to: 1 }), 'float32', []);
    expect(arbitraryIntegerInputs(c.build())).toEqual(['n']);
  });

  it('never seeds an arbitrary integer as 0: STFT divides by its frame_step unchecked, and 0 killed the process', async () => {
    const file = `${ONNX_TEST_DATA}/node/test_stft/model.onnx`;
    if (!existsSync(file)) throw new Error(`${file} is missing: apt-get install libonnx-testdata`);
    const m = await readModel(file);
    expect(arbitraryIntegerInputs(m)).toEqual(['frame_step', 'frame_length']);
    const values = [];
    for (let seed = 1; seed <= 64; seed++) {
      const f = seededFeeds(m, { seed });
      values.push(...Array.from(f.frame_step?.data as BigInt64Array, Number), ...Array.from(f.frame_length?.data as BigInt64Array, Number));
    }
    expect(Math.min(...values)).toBe(1);
    expect(Math.max(...values)).toBeLessThan(16);
    // Every seed runs in onnxruntime-node (in this process: a 0 there was SIGFPE), or fails with an error.
    const loaded = await runner.load(m.encode());
    try {
      for (let seed = 1; seed <= 8; seed++) await loaded.run(seededFeeds(m, { seed })).catch((e: unknown) => expect(e).toBeInstanceOf(Error));
    } finally {
      await loaded.release();
    }
  });
});
