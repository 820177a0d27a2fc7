import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { DataType, ModelBuilder, mlp, onnx, tensorType, type RunnerFeeds } from '@onnx-forge/core';
import { convertToFp16, quantizeDynamic } from '@onnx-forge/graph-ops';
import { beforeAll, describe, expect, it } from 'vitest';
import { optimizeModel } from './optimize-model.js';
import { tempFolders } from '../testing/temp-folders.js';

const tempFolder = tempFolders();

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
  root = await tempFolder('optimize-unusable-');
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

describe('optimizeModel on a model that is float16 or INT8 already', () => {
  it('says the variant named fp32 is the model as given, and why the conversions changed nothing', async () => {
    const half = mlp({ sizes: [64, 256, 10] });
    await convertToFp16(half, { target: 'any' });
    const r = await optimizeModel(half, { out: join(root, 'already-fp16'), name: 'half', runs: 6, warmup: 0, samples: 2, reports: false });
    expect(r.best).toBe('fp32');
    expect(r.warnings).toContainEqual(expect.stringMatching(/^the model given is float16 already \(float16 weights are 100\.0 % of its float weight bytes\): the variant named fp32 is that model as given/));
    const fp16 = r.variants.find((v) => v.name === 'fp16');
    expect(fp16?.status).toBe('skipped');
    // Not the pass's count of nodes "kept float32 (no float16 kernel on cpu or blocked)": the model computes in float16 already.
    expect(fp16?.reason).toBe('the same model as fp32 (the conversion changed nothing: the model given is float16 already (float16 weights are 100.0 % of its float weight bytes))');
    expect(r.variants.find((v) => v.name === 'int8-dynamic')?.reason).toMatch(/^the same model as fp32 \(the conversion changed nothing: the model given is float16 already/);
  });

  it('an INT8 model: named as quantized already, with the ops that say so', async () => {
    const q = mlp({ sizes: [64, 256, 10] });
    await quantizeDynamic(q);
    const r = await optimizeModel(q, { out: join(root, 'already-int8'), name: 'q', runs: 6, warmup: 0, samples: 2, reports: false });
    expect(r.warnings).toContainEqual(expect.stringMatching(/^the model given is quantized already \(it holds \d+ DynamicQuantizeLinear, \d+ MatMulInteger\): the variant named fp32 is that model as given/));
    expect(r.variants.find((v) => v.name === 'int8-dynamic')).toMatchObject({ status: 'skipped', reason: expect.stringMatching(/^the same model as fp32 \(the conversion changed nothing: the model given is quantized already/) });
  });

  it('a float32 model gets no such warning', async () => {
    const r = await optimizeModel(mlp({ sizes: [64, 256, 10] }), { out: join(root, 'float32'), name: 'f', variants: ['fp32', 'int8-dynamic'], runs: 6, warmup: 0, samples: 2, reports: false });
    expect(r.warnings.filter((w) => w.startsWith('the model given is'))).toEqual([]);
  });
});

/** log of a weighted sum per row: seeded inputs make the sum negative in some samples, where it is NaN. */
function logOfSum() {
  const b = new ModelBuilder({ opset: 17, graphName: 'log_of_sum' });
  const x = b.input('x', 'float32', ['batch', 2]);
  const w = b.initializer('w', Float32Array.from({ length: 128 }, (_, i) => Math.sin(i)), [2, 64]);
  const sum = b.op('ReduceSum', [b.op('MatMul', [x, w])], { keepdims: 1 });
  b.output(b.op('Log', [sum], {}, { outputs: ['y'] }), 'float32', ['batch', 1]);
  return b.build();
}

describe('optimizeModel on a model whose FP32 output is NaN on some seeded samples', () => {
  it('leaves those samples out of the accuracy of every variant, not rejecting INT8 for a "cosine NaN", and says so', async () => {
    const r = await optimizeModel(logOfSum(), { out: join(root, 'log-of-sum'), name: 'l', variants: ['fp32', 'int8-dynamic'], runs: 6, warmup: 0, samples: 4, reports: false });
    const fp32 = r.variants.find((v) => v.name === 'fp32');
    const int8 = r.variants.find((v) => v.name === 'int8-dynamic');
    // The seeds give a negative sum in some samples (log NaN there) and a positive one in others.
    expect(fp32?.accuracy?.outputs[0]?.refEmptySamples).toBeGreaterThan(0);
    expect(fp32?.accuracy?.outputs[0]?.refEmptySamples).toBeLessThan(4);
    expect(fp32?.accuracy?.minCosine).toBe(1);
    expect(int8?.status).not.toBe('failed');
    expect(int8?.reason ?? '').not.toMatch(/NaN/);
    expect(r.warnings).toContainEqual(expect.stringMatching(/^fp32 gives NaN\/Inf for every value of output "y" on \d of 4 samples: they are left out of every variant's accuracy; if the model's real inputs never give NaN, measure on them \(inputs, --inputs\)$/));
  });
});

describe('optimizeModel on a model with a sequence output (as a classifier with ZipMap)', () => {
  it('says the output is not compared, as compare says, instead of judging the variants on the tensor outputs alone without a word', async () => {
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', 'float32', ['batch', 4]);
    const w = b.initializer('w', Float32Array.from({ length: 4 * 64 }, (_, i) => Math.cos(i)), [4, 64]);
    b.output(b.op('MatMul', [x, w], {}, { outputs: ['y'] }), 'float32', ['batch', 64]);
    b.op('SequenceConstruct', ['y', x], {}, { outputs: ['seq'] });
    const m = b.build();
    m.graph.outputs.push(new onnx.ValueInfoProto({ name: 'seq', type: new onnx.TypeProto({ sequenceType: new onnx.TypeProto.Sequence({ elemType: tensorType(DataType.FLOAT) }) }) }));
    const r = await optimizeModel(m, { out: join(root, 'seq-out'), name: 's', variants: ['fp32', 'int8-dynamic'], runs: 6, warmup: 0, samples: 2, reports: false });
    expect(r.variants.find((v) => v.name === 'int8-dynamic')?.accuracy?.outputs.map((o) => o.output)).toEqual(['y']);
    expect(r.warnings).toContain('output "seq" is a sequence or map, which onnxruntime-node cannot return: no variant\'s accuracy covers it');
  });
});
