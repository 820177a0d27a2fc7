import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelBuilder, float16ArrayToFloat32, mlp, transformerEncoder } from '@onnx-forge/core';
import { afterAll, describe, expect, it } from 'vitest';
import { modelInputs, modelSamples } from './model-inputs.js';

describe('modelInputs', () => {
  it('makes seeded float inputs at the spread inputScale asks for, and says so', async () => {
    const model = mlp({ sizes: [64, 8], seed: 2 });
    const rms = (d: ArrayLike<number>) => Math.sqrt(Array.from(d).reduce((a, v) => a + v * v, 0) / d.length);
    const plain = await modelInputs(model, { dims: { batch: 16 } });
    const loud = await modelInputs(model, { dims: { batch: 16 }, inputScale: 32768 });
    const [a, b] = [plain.feeds[0]?.x?.data as Float32Array, loud.feeds[0]?.x?.data as Float32Array];
    // Same seed, same shape of noise, 32768 times larger.
    expect(rms(b) / rms(a)).toBeCloseTo(32768, 0);
    expect(plain.from).toBe('seed 1');
    expect(loud.from).toBe('seed 1 at input scale 32768');
    for (const bad of [0, -1, Number.NaN, Infinity]) {
      await expect(modelInputs(model, { inputScale: bad })).rejects.toMatchObject({ code: 'FORGE_INVALID_OPTIONS', message: expect.stringContaining('inputScale must be a positive number') });
    }
  });

  it('says which integer inputs it drew at random: not token ids of a table, not a mask', async () => {
    // Silero-like: audio, a sample rate and a state; the sample rate's value matters and is not known.
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('audio', 'float32', [1, 64]);
    const sr = b.input('sr', 'int64', []);
    b.output(b.op('Mul', [x, b.op('Cast', [sr], { to: 1 })], {}, { outputs: ['y'] }), 'float32', [1, 64]);
    const r = await modelInputs(b.build());
    expect(r.from).toBe('seed 1 (sr at random: no table or mask bounds it; give real inputs if the values matter)');
    // A transformer's token ids index the embedding table and its mask is a mask: nothing to say.
    expect((await modelInputs(transformerEncoder({ layers: 1, hidden: 16, heads: 2, intermediate: 32, vocab: 50 }), { dims: { batch: 1, sequence: 8 } })).from).toBe('seed 1');
  });

  it('modelSamples makes the same samples one at a time, each when asked for and not kept', async () => {
    const model = mlp({ sizes: [64, 8], seed: 2 });
    const opts = { dims: { batch: 3 }, seed: 5, count: 4, inputScale: 2 };
    const all = await modelInputs(model, opts);
    const one = await modelSamples(model, opts);
    expect({ source: one.source, from: one.from, dims: one.dims }).toEqual({ source: all.source, from: all.from, dims: all.dims });
    expect(one.count).toBe(4);
    expect(Array.from({ length: 4 }, (_, i) => one.feed(i))).toEqual(all.feeds);
    expect(one.feed(2)).not.toBe(one.feed(2));
    const given = await modelSamples(model, { inputs: all.feeds });
    expect(given).toMatchObject({ source: 'given', count: 4 });
    expect(given.feed(3)).toBe(all.feeds[3]);
  });

  it('checks samples given in memory against the model as a folder\'s are (FORGE_BAD_SAMPLES naming the sample)', async () => {
    const model = mlp({ sizes: [64, 8], seed: 2 });
    const good = { x: { type: 'float32' as const, dims: [2, 64], data: new Float32Array(128) } };
    expect((await modelInputs(model, { inputs: [good] })).source).toBe('given');
    const shape = { x: { type: 'float32' as const, dims: [2, 3], data: new Float32Array(6) } };
    await expect(modelInputs(model, { inputs: [good, shape] })).rejects.toMatchObject({ code: 'FORGE_BAD_SAMPLES', message: expect.stringMatching(/^inputs: sample 1: .*x/) });
    const type = { x: { type: 'float64' as const, dims: [2, 64], data: new Float64Array(128) } };
    await expect(modelSamples(model, { inputs: [type] })).rejects.toMatchObject({ code: 'FORGE_BAD_SAMPLES', message: expect.stringContaining('float64') });
    await expect(modelInputs(model, { inputs: [{ y: good.x }] })).rejects.toMatchObject({ code: 'FORGE_BAD_SAMPLES' });
  });

  describe('a folder of float32 samples for a model taking float16 (an FP16 variant that did not keep its I/O types)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'model-inputs-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const halfModel = (type: 'float16' | 'float32') => {
      const b = new ModelBuilder({ opset: 17 });
      const x = b.input('x', type, ['batch', 4]);
      b.output(b.op('Relu', [x], {}, { outputs: ['y'] }), type, ['batch', 4]);
      return b.build();
    };

    it('takes them as compare does, converted to float16: bench runs an FP32 model and its FP16 variant on one folder', async () => {
      mkdirSync(join(dir, 'f32'));
      writeFileSync(join(dir, 'f32', 'a.json'), JSON.stringify({ x: { type: 'float32', dims: [1, 4], data: [0.1, -2, 3.5, 65504] } }));
      const r = await modelInputs(halfModel('float16'), { inputs: join(dir, 'f32') });
      expect(r.source).toBe('folder');
      const x = r.feeds[0]?.x;
      expect(x?.type).toBe('float16');
      expect(x?.dims).toEqual([1, 4]);
      expect(Array.from(float16ArrayToFloat32(x?.data as Uint16Array))).toEqual([0.0999755859375, -2, 3.5, 65504]);
      // The float32 model takes the same folder as it is.
      expect((await modelInputs(halfModel('float32'), { inputs: join(dir, 'f32') })).feeds[0]?.x?.type).toBe('float32');
    });

    it('still refuses samples of another type or shape', async () => {
      mkdirSync(join(dir, 'f64'));
      writeFileSync(join(dir, 'f64', 'a.json'), JSON.stringify({ x: { type: 'float64', dims: [1, 4], data: [1, 2, 3, 4] } }));
      await expect(modelInputs(halfModel('float16'), { inputs: join(dir, 'f64') })).rejects.toMatchObject({ code: 'FORGE_BAD_SAMPLES', message: expect.stringContaining('float64') });
      mkdirSync(join(dir, 'shape'));
      writeFileSync(join(dir, 'shape', 'a.json'), JSON.stringify({ x: { type: 'float32', dims: [1, 3], data: [1, 2, 3] } }));
      await expect(modelInputs(halfModel('float16'), { inputs: join(dir, 'shape') })).rejects.toMatchObject({ code: 'FORGE_BAD_SAMPLES', message: expect.stringContaining('dimension 1 must be 4') });
    });
  });
});
