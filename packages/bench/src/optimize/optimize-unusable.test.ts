import { access, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelBuilder, type RunnerFeeds } from '@onnx-forge/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { optimizeModel } from './optimize-model.js';

/** x float32 [batch, features] times a [4, 2] weight: it runs only when features is 4. */
function fourFeatures() {
  const b = new ModelBuilder({ opset: 17, graphName: 'four_features' });
  const x = b.input('x', 'float32', ['batch', 'features']);
  const w = b.initializer('w', Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]), [4, 2]);
  b.output(b.op('MatMul', [x, w], {}, { outputs: ['y'] }), 'float32', ['batch', 2]);
  return b.build();
}

const sample = (features: number): RunnerFeeds => ({ x: { type: 'float32', dims: [1, features], data: new Float32Array(features).fill(0.5) } });

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'optimize-unusable-'));
});

describe('optimizeModel with nothing usable', () => {
  it('writes no repository version when every variant failed (the reference broke on a sample)', async () => {
    const out = join(root, 'broken-ref');
    // The first sample runs (the load and first run pass); the second does not fit the weight.
    const r = await optimizeModel(fourFeatures(), { out, name: 'm', variants: ['fp32', 'fp16'], runs: 3, warmup: 0, inputs: [sample(4), sample(3)], reports: false });
    expect(r.best).toBeNull();
    expect(r.variants.find((v) => v.name === 'fp32')?.status).toBe('failed');
    // fp16 of so small a model changes nothing (its 8 weights stay float32 on cpu): skipped as fp32's twin.
    expect(r.variants.find((v) => v.name === 'fp16')?.status).toBe('skipped');
    expect(r.repository).toBeNull();
    await expect(access(join(out, 'repository', 'm', '1'))).rejects.toMatchObject({ code: 'ENOENT' });
    for (const v of r.variants) expect(v.file).toBeUndefined();
  });

  it('refuses variants without fp32, the reference every other one is compared with', async () => {
    await expect(optimizeModel(fourFeatures(), { out: join(root, 'no-fp32'), variants: ['int8-dynamic'], runs: 3 }))
      .rejects.toMatchObject({ code: 'FORGE_INVALID_OPTIONS', message: expect.stringMatching(/must include fp32/) });
  });

  it('skips a variant whose conversion changed nothing: the same file as fp32 is neither written twice nor timed', async () => {
    const out = join(root, 'unchanged');
    const r = await optimizeModel(fourFeatures(), {
      out, name: 'm', variants: ['fp32', 'fp16', 'int8-dynamic'], runs: 6, warmup: 0, inputs: [sample(4)], reports: false,
      builders: { fp16: async () => ['nothing to convert on purpose'] },
    });
    const fp16 = r.variants.find((v) => v.name === 'fp16');
    expect(fp16).toMatchObject({ status: 'skipped', reason: 'the same model as fp32 (the conversion changed nothing: nothing to convert on purpose)' });
    expect(fp16?.file).toBeUndefined();
    expect(fp16?.latency).toBeUndefined();
    await expect(access(join(out, 'repository', 'm', '1', 'fp16.onnx'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(r.variants.find((v) => v.name === 'int8-dynamic')?.status).not.toBe('skipped');
  });
});
