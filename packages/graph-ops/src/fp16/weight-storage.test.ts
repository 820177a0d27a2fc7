import {
  DataType, Rng, attrInt, cnn, float16ArrayToFloat32, float32ArrayToFloat16, inferElemTypes, mlp, nullThrows, replaceTensorData, tensorToArray,
  transformerEncoder, type Model, type RunnerFeeds, type TensorProto,
} from '@onnx-forge/core';
import { describe, expect, it } from 'vitest';
import { cosine, mismatch } from '../testing/compare.js';
import { BACKENDS, runOnce } from '../testing/harness.js';
import { convertToFp16 } from './fp16-pass.js';
import { STORE_MIN_ELEMENTS } from './fp16-typing.js';

// fp16's weight storage (weightStorage auto, which is fp16 for targets cpu and wasm: they have almost
// no float16 kernels): weights are written as float16 and cast to float32 where they are read, so the
// file is about half the size while every op still computes in float32. Checked here on builder
// models: the size, that a float16 initializer is read only through a Cast to float, that no op
// computes on a float16 value, and that the outputs match float32 on onnxruntime-node and
// onnxruntime-web (wasm), both against the original and, bit for bit up to float32 rounding, against
// the float32 model with its weights rounded to float16 (the only change storage makes).

interface Subject {
  name: string;
  build: () => Model;
  feeds: (seed: number) => RunnerFeeds;
}

const normal = (dims: number[], seed: number) => ({ type: 'float32' as const, dims, data: new Rng(seed).fillNormalish(new Float32Array(dims.reduce((a, d) => a * d, 1)), 1) });

const SUBJECTS: Subject[] = [
  { name: 'mlp', build: () => mlp({ sizes: [64, 256, 10] }), feeds: (s) => ({ x: normal([4, 64], s) }) },
  { name: 'cnn', build: () => cnn({ channels: [16, 32], imageSize: 16 }), feeds: (s) => ({ image: normal([2, 3, 16, 16], s) }) },
  {
    name: 'transformer',
    build: () => transformerEncoder({ layers: 2, hidden: 64, heads: 4, intermediate: 256, vocab: 128, maxPositions: 16, typeVocab: 2 }),
    feeds: (seed) => {
      const rng = new Rng(seed);
      return {
        input_ids: { type: 'int64', dims: [2, 12], data: BigInt64Array.from({ length: 24 }, () => BigInt(rng.int(0, 128))) },
        attention_mask: { type: 'int64', dims: [2, 12], data: BigInt64Array.from({ length: 24 }, (_, i) => (i % 12 < 10 ? 1n : 0n)) },
        token_type_ids: { type: 'int64', dims: [2, 12], data: BigInt64Array.from({ length: 24 }, (_, i) => (i % 12 < 6 ? 0n : 1n)) },
      };
    },
  },
];

const elements = (t: TensorProto) => t.dims.reduce((a: number, d) => a * Number(d), 1);

/** The float32 original with the weights storage turned float16 rounded to float16 and back (a Cast back to float32 is exact). */
function roundedReference(original: Model, converted: Model): Model {
  const ref = original.clone();
  for (const node of converted.graph.nodes) {
    if (node.opType !== 'Cast' || !converted.graph.initializer(node.input[0] ?? '')) continue;
    const weight = nullThrows(ref.graph.initializer(node.output[0] ?? ''), `the stored weight "${node.output[0]}" is an initializer of the original`);
    replaceTensorData(weight, DataType.FLOAT, float16ArrayToFloat32(float32ArrayToFloat16(tensorToArray(weight) as Float32Array)));
  }
  ref.invalidate();
  return ref;
}

const CASES = SUBJECTS.flatMap((s) => (['cpu', 'wasm'] as const).map((target) => [`${s.name}, target ${target}`, s, target] as const));

describe('fp16 weight storage (weightStorage auto on cpu and wasm)', () => {
  it.each(CASES)('%s: half the bytes, float16 weights read only through Casts to float, float32 compute', async (_label, subject, target) => {
    const original = subject.build();
    const model = original.clone();
    const report = await convertToFp16(model, { target, keepIoTypes: true });
    const before = original.encode().length;
    const after = model.encode().length;
    // About half: what stays float32 is the tensors under the storage threshold (biases, norms, a first Conv).
    expect(after / before).toBeGreaterThan(0.45);
    expect(after / before).toBeLessThan(0.55);
    expect(report.initializersStored).toBeGreaterThan(0);
    expect(report.nodesConverted).toBe(0);

    const g = model.graph;
    const half = g.initializers.filter((t) => t.dataType === DataType.FLOAT16);
    expect(half.length).toBe(report.initializersStored);
    // The file shrinks by 2 bytes per stored value, less a Cast node and names (up to 200 bytes) per stored tensor.
    const saved = half.reduce((n, t) => n + 2 * elements(t), 0);
    expect(before - after).toBeLessThanOrEqual(saved);
    expect(before - after).toBeGreaterThan(saved - 200 * half.length);
    for (const t of half) {
      expect(elements(t), t.name).toBeGreaterThanOrEqual(STORE_MIN_ELEMENTS);
      const readers = g.consumers(t.name);
      expect(readers.length, t.name).toBeGreaterThan(0);
      for (const r of readers) expect([r.opType, attrInt(r, 'to')], `${t.name} read by ${r.name}`).toEqual(['Cast', DataType.FLOAT]);
      expect(g.isGraphOutput(t.name)).toBe(false);
    }
    // Every float32 weight big enough to store was stored; the small ones (biases, norms) stay float32.
    const left = g.initializers.filter((t) => t.dataType === DataType.FLOAT && elements(t) >= STORE_MIN_ELEMENTS);
    expect(left.map((t) => t.name)).toEqual([]);

    // No op other than those Casts reads or makes a float16 value.
    const types = inferElemTypes(model);
    for (const node of g.nodes) {
      const storageCast = node.opType === 'Cast' && half.some((t) => t.name === node.input[0]);
      if (storageCast) continue;
      for (const v of [...node.input, ...node.output].filter(Boolean)) expect(types.get(g, v), `${v} of ${node.name} (${node.opType})`).not.toBe(DataType.FLOAT16);
    }
  });

  it.each(CASES)('%s: outputs match float32 on onnxruntime-node and onnxruntime-web', async (_label, subject, target) => {
    const original = subject.build();
    const model = original.clone();
    await convertToFp16(model, { target, keepIoTypes: true });
    const rounded = roundedReference(original, model);
    for (const { name, runner } of BACKENDS) {
      for (const seed of [1, 2]) {
        const feeds = subject.feeds(seed);
        const want = await runOnce(runner, original, feeds);
        const got = await runOnce(runner, model, feeds);
        const same = await runOnce(runner, rounded, feeds);
        for (const [output, w] of Object.entries(want)) {
          const g = nullThrows(got[output], `output ${output}`);
          // Only the weights' rounding to float16 (relative 2^-11) separates it from float32.
          expect(cosine(g, w), `${name} ${output}`).toBeGreaterThan(0.99999);
          expect(mismatch(g, w, 2e-2, 2e-2), `${name} ${output}`).toBeUndefined();
          // The arithmetic is float32's: the same as the float32 model with float16-rounded weights.
          expect(mismatch(g, nullThrows(same[output], output), 1e-5, 1e-6), `${name} ${output} vs rounded weights`).toBeUndefined();
        }
      }
    }
  });
});
