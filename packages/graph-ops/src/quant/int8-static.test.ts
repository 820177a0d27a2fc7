import { DataType, ForgeErrorCode, ModelBuilder, PassManager, Rng, attr, cnn, mlp, transformerEncoder } from '@onnx-forge/core';
import { OrtRunner, probeInt8Arithmetic } from '@onnx-forge/runtime';
import { describe, expect, it } from 'vitest';
import type { ModelRunner, RunnerFeeds } from '@onnx-forge/core';
import { int8Static, quantizeStatic } from './int8-static.js';
import type { StaticQuantOptions } from './quant-options.js';
import { modelInputSpecs } from './samples/validate-feeds.js';
import { nodesOf, opTypes } from '../testing/harness.js';
import { convWeightTypes } from '../testing/qdq-weights.js';
import { ORT_BACKENDS, load, minCosine, seededFeeds } from '../testing/ort-sessions.js';

// OrtRunner matches ModelRunner structurally except for its looser tensor `type: string`.
const runner = new OrtRunner() as unknown as ModelRunner;

const image = (seed: number, size = 16): RunnerFeeds => ({
  image: { type: 'float32', dims: [1, 3, size, size], data: new Rng(seed).fillNormalish(new Float32Array(3 * size * size), 1) },
});
const calib = (n: number, make: (seed: number) => RunnerFeeds) => Array.from({ length: n }, (_, i) => make(100 + i));
const held = (n: number, make: (seed: number) => RunnerFeeds) => Array.from({ length: n }, (_, i) => make(900 + i));

/** Smallest cosine over held-out inputs, FP32 (onnxruntime-node) vs the quantized model on `backend`. */
async function agreement(fp32: Uint8Array, quantized: Uint8Array, inputs: RunnerFeeds[], backend: 'node' | 'web'): Promise<number> {
  const ref = await load('node', fp32);
  const q = await load(backend, quantized);
  let min = 1;
  try {
    for (const f of inputs) min = Math.min(min, minCosine(await ref.run(f), await q.run(f)));
  } finally {
    await ref.release();
    await q.release();
  }
  return min;
}

describe('int8-static (QDQ) on a CNN', () => {
  const variants: Partial<StaticQuantOptions>[] = [
    {},
    { perChannel: true },
    { calibration: 'percentile' },
    { calibration: 'entropy', perChannel: true },
    { movingAverage: true, averagingConstant: 0.1 },
    { activationType: 'int8', keepRelu: true },
    { weightType: 'uint8', symmetric: false },
  ];
  it.each(variants.map((v) => [JSON.stringify(v), v] as const))('%s: loads on both backends and stays close to FP32 on held-out inputs', async (_l, options) => {
    const model = cnn({ channels: [8, 16], imageSize: 16 });
    const fp32 = model.encode();
    const report = await quantizeStatic(model, runner, calib(8, image), options);
    expect(report.quantized).toBe(5);
    expect(report.stats).toMatchObject({ calibrationBatches: 8, calibration: options.calibration ?? 'minmax' });
    const bytes = model.encode();
    for (const backend of ORT_BACKENDS) expect(await agreement(fp32, bytes, held(4, image), backend), backend).toBeGreaterThanOrEqual(0.99);
    const ops = opTypes(model);
    expect(ops).toContain('QuantizeLinear');
    // A Relu follows every Conv. It folds into the output quantization (unless keepRelu) where the
    // next Conv reads it; before MaxPool, a float op, the output keeps full precision and its Relu.
    expect(ops.filter((o) => o === 'Relu')).toHaveLength(options.keepRelu ? 4 : 2);
  });

  it('stores Conv and Gemm biases as int32 with scale = input scale x weight scale and no zero point', async () => {
    const model = cnn({ channels: [4], imageSize: 8 });
    await quantizeStatic(model, runner, calib(4, (s) => image(s, 8)), { perChannel: true });
    const g = model.graph;
    const biasDq = nodesOf(model, 'DequantizeLinear').map(({ node }) => node).filter((n) => g.initializer(n.input[0] as string)?.dataType === DataType.INT32);
    expect(biasDq).toHaveLength(3);
    for (const dq of biasDq) {
      expect(dq.input).toHaveLength(2);
      const reader = g.nodes.find((n) => n.input.includes(dq.output[0] as string)) as NonNullable<(typeof g.nodes)[number]>;
      const [xdq, wdq] = [g.producer(reader.input[0] as string), g.producer(reader.input[1] as string)];
      const xScale = g.initializer(xdq?.input[1] as string);
      const wScale = g.initializer(wdq?.input[1] as string);
      const bScale = g.initializer(dq.input[1] as string);
      const f = (t: typeof xScale) => Array.from(new Float32Array(Uint8Array.from(t?.rawData ?? []).buffer));
      const [sx] = f(xScale);
      expect(f(bScale)).toEqual(f(wScale).map((s) => Math.fround((sx as number) * s)));
    }
  });

  it('fetches activations in groups under the memory bound, with the same result as one group', async () => {
    const make = () => cnn({ channels: [8, 8], imageSize: 32 });
    const samples = calib(3, (s) => image(s, 32));
    const a = make();
    const ra = await quantizeStatic(a, runner, samples, {});
    const b = make();
    // 32 KiB per fetch: each 8x32x32 float activation is 32 KiB, so one tensor per run.
    const rb = await quantizeStatic(b, runner, samples, { calibrationMemoryMB: 1 / 32 });
    expect(Number(rb.stats.calibrationRuns)).toBeGreaterThan(Number(ra.stats.calibrationRuns));
    expect(Buffer.compare(a.encode(), b.encode())).toBe(0);
  });

  it('takes samples from an async iterable (streamed, never all in memory)', async () => {
    const model = cnn({ channels: [4], imageSize: 8 });
    async function* stream() {
      for (let i = 0; i < 3; i++) yield image(i, 8);
    }
    const report = await quantizeStatic(model, runner, stream(), {});
    expect(report.stats.calibrationBatches).toBe(3);
  });
});

describe('int8-static Conv weights (QLinearConv once onnxruntime fuses the QDQ)', () => {
  it('uint8 by default and for wasm, saying why; int8 for isa vnni or reduceRange on cpu and any targets', async () => {
    const cases: [Partial<StaticQuantOptions>, number][] = [
      [{}, DataType.UINT8],
      [{ target: 'cpu' }, DataType.UINT8],
      [{ isa: 'vnni', target: 'wasm' }, DataType.UINT8],
      [{ isa: 'avx2', target: 'cpu' }, DataType.UINT8],
      [{ isa: 'vnni' }, DataType.INT8],
      [{ isa: 'vnni', target: 'cpu' }, DataType.INT8],
      [{ reduceRange: true }, DataType.INT8],
      [{ reduceRange: true, target: 'wasm' }, DataType.UINT8],
    ];
    for (const [options, type] of cases) {
      const model = cnn({ channels: [8, 16], imageSize: 16 });
      const report = await quantizeStatic(model, runner, calib(4, image), options);
      const what = JSON.stringify(options);
      const types = convWeightTypes(model);
      expect(types.length, what).toBeGreaterThan(0);
      expect(types, what).toEqual(types.map(() => type));
      const reasons = report.nodes.filter((d) => d.opType === 'Conv').map((d) => d.reason);
      for (const r of reasons) {
        if (type === DataType.UINT8) expect(r, what).toMatch(/uint8 weights \(QLinearConv u8 x u8, exact on every x86 CPU; int8 weights run faster: reduceRange=true for 7-bit ones/);
        else expect(r, what).toMatch(/, int8 weights (per-tensor|per-channel)/);
      }
      // Full-range int8 weights are marked: a runtime without VNNI can tell the model may saturate there;
      // 7-bit ones are safe on every CPU.
      if (options.isa === 'vnni') expect(report.int8Form.saturationSafe, what).toBe(false);
      else expect(report.int8Form.saturationSafe, what).toBe(true);
    }
  });

  it('onnxruntime-node computes each form close to FP32: uint8 and 7-bit int8 on every CPU, full-range int8 where u8 x s8 sums are exact', async () => {
    const { arithmetic } = await probeInt8Arithmetic();
    const fp32 = cnn({ channels: [8, 16], imageSize: 16 }).encode();
    const forms: [string, Partial<StaticQuantOptions>][] = [['uint8 (default)', {}], ['int8 7-bit (reduceRange)', { reduceRange: true }], ['int8 (isa vnni)', { isa: 'vnni' }]];
    for (const [name, options] of forms) {
      const model = cnn({ channels: [8, 16], imageSize: 16 });
      await quantizeStatic(model, runner, calib(8, image), { ...options, target: 'cpu' });
      const cosine = await agreement(fp32, model.encode(), held(4, image), 'node');
      console.info(`int8-static Conv weights ${name}, on this CPU (INT8 products ${arithmetic}): cosine ${cosine.toFixed(5)}`);
      // Without VNNI, full-range int8 weights may saturate (cpu-paths.test.ts checks that arithmetic): the
      // vnni form must hold where it is meant to run, the others on every CPU.
      if (options.isa !== 'vnni' || arithmetic === 'exact') expect(cosine, name).toBeGreaterThanOrEqual(0.99);
    }
  });
});

describe('int8-static on other structures', () => {
  it('a transformer: MatMuls with weights and attention MatMuls of two activations', async () => {
    const model = transformerEncoder({ layers: 1, hidden: 32, heads: 2, intermediate: 64, vocab: 50, maxPositions: 16 });
    const specs = modelInputSpecs(model);
    const feeds = (seed: number) => {
      const f = seededFeeds(specs, seed, { batch: 1, sequence: 8 });
      for (const t of Object.values(f)) t.data = (t.data as BigInt64Array).map((v) => v % 2n);
      return f;
    };
    const fp32 = model.encode();
    const report = await quantizeStatic(model, runner, calib(6, feeds), { perChannel: true });
    expect(report.nodes.filter((d) => d.opType === 'MatMul' && /both inputs activations/.test(d.reason))).toHaveLength(2);
    for (const backend of ORT_BACKENDS) expect(await agreement(fp32, model.encode(), held(3, feeds), backend)).toBeGreaterThanOrEqual(0.99);
  });

  it('Gemm with alpha != 1 keeps its bias float and says why', async () => {
    const model = mlp({ sizes: [16, 8] });
    const gemm = model.graph.nodes.find((n) => n.opType === 'Gemm');
    gemm?.attribute.push(attr.float('alpha', 0.5));
    const x = (seed: number): RunnerFeeds => ({ x: { type: 'float32', dims: [2, 16], data: new Rng(seed).fillNormalish(new Float32Array(32), 1) } });
    const report = await quantizeStatic(model, runner, calib(3, x), {});
    expect(report.nodes.find((d) => d.opType === 'Gemm')?.reason).toMatch(/bias stays float: Gemm alpha\/beta/);
  });
});

describe('int8-static MatMul with a batched (3-D) constant B', () => {
  // onnxruntime fuses a QDQ MatMul into MatMulIntegerToFloat / QLinearMatMul, whose B scale and zero
  // point may be per-column only for a 2-D B: per-channel (axis 2) parameters of a [2, 4, 3] B made a
  // model that loaded and then failed every run ("MatmulInteger : b zero point is not valid").
  const batched = (chained: boolean) => {
    const rng = new Rng(7);
    const b = new ModelBuilder({ opset: 13 });
    const x = b.input('x', 'float32', [2, 3, 4]);
    let y = b.op('MatMul', [x, b.initializer('w', rng.fillNormalish(new Float32Array(24), 0.5), [2, 4, 3])]);
    if (chained) y = b.op('MatMul', [y, b.initializer('w2', rng.fillNormalish(new Float32Array(18), 0.5), [2, 3, 3])]);
    b.output(b.op('Identity', [y], {}, { outputs: ['y'] }), 'float32', [2, 3, 3]);
    return b.build();
  };
  const x = (seed: number): RunnerFeeds => ({ x: { type: 'float32', dims: [2, 3, 4], data: new Rng(seed).fillNormalish(new Float32Array(24), 1) } });
  it.each([['alone', false], ['followed by another batched MatMul', true]] as const)('%s: runs in onnxruntime and stays close to FP32, with per-tensor weights and the reason', async (_l, chained) => {
    const model = batched(chained);
    const fp32 = model.encode();
    const report = await quantizeStatic(model, runner, calib(4, x), { perChannel: true });
    expect(report.quantized).toBe(chained ? 2 : 1);
    for (const backend of ORT_BACKENDS) expect(await agreement(fp32, model.encode(), held(3, x), backend), backend).toBeGreaterThanOrEqual(0.99);
    for (const d of report.nodes.filter((n) => n.opType === 'MatMul')) expect(d.reason).toMatch(/per-tensor: per-channel needs a 2-D B \(B is 3-D\)/);
  });
});

describe('int8-static bad input', () => {
  const model = () => cnn({ channels: [4], imageSize: 8 });

  it('no samples: FORGE_BAD_SAMPLES', async () => {
    await expect(quantizeStatic(model(), runner, [], {})).rejects.toMatchObject({ code: ForgeErrorCode.BAD_SAMPLES, message: expect.stringMatching(/no calibration samples/) });
  });

  it.each([
    ['wrong shape', { image: { type: 'float32', dims: [1, 3, 9, 8], data: new Float32Array(216) } }, /dimension 2 must be 8/],
    ['wrong rank', { image: { type: 'float32', dims: [3, 8, 8], data: new Float32Array(192) } }, /rank 3/],
    ['wrong dtype', { image: { type: 'float64', dims: [1, 3, 8, 8], data: new Float64Array(192) } }, /float64 but the model takes float32/],
    ['missing input', {}, /no tensor for input "image"/],
    ['unknown input', { image: image(1, 8).image, extra: image(2, 8).image }, /"extra" is not an input/],
  ] as const)('%s: FORGE_BAD_SAMPLES with what is wrong', async (_l, feeds, message) => {
    await expect(quantizeStatic(model(), runner, [feeds as RunnerFeeds], {})).rejects.toMatchObject({ code: ForgeErrorCode.BAD_SAMPLES, message: expect.stringMatching(message) });
  });

  it('in a pipeline without a runner or samples, fails naming the missing service', async () => {
    await expect(new PassManager().add(int8Static()).run(model())).rejects.toMatchObject({
      code: ForgeErrorCode.MISSING_SERVICE,
      message: expect.stringMatching(/pass "int8-static" needs the "runner" service .*; pass "int8-static" needs the "samples" service/),
    });
    await expect(new PassManager({ services: { runner } }).add(int8Static()).run(model())).rejects.toMatchObject({
      code: ForgeErrorCode.MISSING_SERVICE,
      message: expect.stringMatching(/needs the "samples" service \(sample inputs/),
    });
  });

  it('runs in a pipeline with the runner and samples services', async () => {
    const m = model();
    const r = await new PassManager({ services: { runner, samples: calib(2, (s) => image(s, 8)) } }).add(int8Static({ perChannel: true })).run(m);
    expect(r.passes[0]?.stats).toMatchObject({ nodesQuantized: 3, calibrationBatches: 2 });
  });
});
