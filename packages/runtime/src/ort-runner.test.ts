import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { OrtRunner } from './ort-runner.js';
import { tinyMlp } from './test-models.js';

describe.each(['node', 'web'] as const)('OrtRunner (graph-ops ModelRunner) on the %s backend', (backend) => {
  it('loads bytes and runs plain { type, dims, data } tensors, returning plain tensors by name', async () => {
    const runner = new OrtRunner({ backend });
    const loaded = await runner.load(tinyMlp());
    expect(loaded.inputNames).toEqual(['x']);
    expect(loaded.outputNames).toEqual(['y']);
    const data = new Float32Array([1, -2, 3, 0.5, 0, 0, 1, 1]);
    const out = await loaded.run({ x: { type: 'float32', dims: [2, 4], data } });
    expect(Object.keys(out)).toEqual(['y']);
    expect(out.y).toEqual({ type: 'float32', dims: [2, 2], data: expect.any(Float32Array) });

    const raw = await ort.InferenceSession.create(tinyMlp());
    const want = await raw.run({ x: new ort.Tensor('float32', data, [2, 4]) });
    const got = Array.from(out.y?.data as Float32Array);
    Array.from(want.y?.data as Float32Array).forEach((v, i) => expect(got[i]).toBeCloseTo(v, 5));
    await raw.release();

    expect(Object.keys(await loaded.run({ x: { type: 'float32', dims: [2, 4], data } }, ['y']))).toEqual(['y']);
    await loaded.release();
  });

  it('rejects a model it cannot load with a ForgeError', async () => {
    await expect(new OrtRunner({ backend }).load(new Uint8Array([1, 2, 3]))).rejects.toMatchObject({ code: 'FORGE_RUNTIME' });
  });
});
