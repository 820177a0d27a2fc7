import {
  DataType, ModelBuilder, Rng, attrInt, cnn, createTensor, float16ArrayToFloat32, float32ArrayToFloat16, getAttribute, inferElemTypes, mlp, nullThrows,
  replaceTensorData, tensorToArray, transformerEncoder, type Model, type NodeProto, type RunnerFeeds, type TensorProto,
} from '@onnx-forge/core';
import { describe, expect, it } from 'vitest';
import { cosine, mismatch } from '../testing/compare.js';
import { BACKENDS, assertValid, runOnce } from '../testing/harness.js';
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

// Weights held in Constant nodes rather than initializers (Paddle exports, spox, Silero VAD v5, whose
// If branches hold Constants too): stored as float16 like initializers, each Constant now making the
// float16 value and a Cast after it giving its readers float32 under the original name.
describe('fp16 weight storage of Constant nodes (Paddle, spox, Silero v5 exports)', () => {
  const weights = (n: number, seed: number) => Array.from(new Rng(seed).fillNormalish(new Float32Array(n), 0.1));
  const constant = (g: { op: ModelBuilder['op'] }, name: string, dims: number[], seed: number, floats = false) => {
    const values = weights(dims.reduce((a, b) => a * b, 1), seed);
    return g.op('Constant', [], floats ? { value_floats: values } : { value: createTensor(name, DataType.FLOAT, dims, Float32Array.from(values)) }, { outputs: [name] });
  };

  /**
   * x [2,64] → MatMul(Constant [64,128]) + Constant bias [128] (small) → Relu → h; y = If(cond) with a
   * Constant weight [128,32] in each branch reading h; z = h × the transpose of a value_floats
   * Constant (2048 values, reshaped to [16,128]).
   */
  const build = () => {
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', 'float32', [2, 64]);
    const cond = b.input('cond', 'bool', []);
    const h = b.op('Relu', [b.op('Add', [b.op('MatMul', [x, constant(b, 'w1', [64, 128], 1)]), constant(b, 'b1', [128], 2)])]);
    const scale = b.op('Reshape', [constant(b, 'scale', [2048], 3, true), b.constant([16, 128], 'int64', [2])]);
    const branch = (name: string, seed: number) => b.subgraph(name, (g) => {
      g.output(g.op('MatMul', [h, constant(g, `${name}_w`, [128, 32], seed)]), 'float32', [2, 32]);
    });
    const y = b.op('If', [cond], { then_branch: branch('then', 4), else_branch: branch('else', 5) });
    b.output(y, 'float32', [2, 32]);
    b.output(b.op('MatMul', [h, b.op('Transpose', [scale])]), 'float32', [2, 16]);
    return b.build();
  };
  const constants = (m: Model) => [...m.allNodes()].filter(({ node }) => node.opType === 'Constant');
  const valueOf = (node: NodeProto) => getAttribute(node, 'value')?.t;

  it.each(['cpu', 'wasm'] as const)('target %s: every large float32 Constant, in the main graph and in If branches, is stored as float16 and cast to float32', async (target) => {
    const original = build();
    const model = original.clone();
    const report = await convertToFp16(model, { target, keepIoTypes: true });
    assertValid(model);
    const before = original.encode().length;
    const after = model.encode().length;
    // w1 (8192), scale (2048, value_floats) and the two branch weights (4096 each) are 18432 of 18560 float32 values.
    expect(after / before).toBeLessThan(0.55);
    expect(report.initializersStored).toBe(4);
    expect(report.bytesStoredFp16).toBe(2 * (8192 + 2048 + 4096 + 4096));
    expect(report.nodesConverted).toBe(0);
    const stored = constants(model).filter(({ node }) => valueOf(node)?.dataType === DataType.FLOAT16);
    expect(stored.map(({ node }) => node.output[0]).sort()).toEqual(['else_w_fp16', 'scale_fp16', 'then_w_fp16', 'w1_fp16']);
    for (const { node, graph } of stored) {
      // Read only by a Cast to float in its own graph, which gives the old name back.
      const readers = graph.consumers(node.output[0]!);
      expect(readers.map((r) => [r.opType, attrInt(r, 'to'), r.output[0]]), node.output[0]).toEqual([['Cast', DataType.FLOAT, node.output[0]!.replace(/_fp16$/, '')]]);
      expect(elements(valueOf(node)!)).toBeGreaterThanOrEqual(STORE_MIN_ELEMENTS);
    }
    // The bias (128 values) is under the threshold: float32 as it was.
    const bias = constants(model).find(({ node }) => node.output[0] === 'b1')!;
    expect(valueOf(bias.node)?.dataType).toBe(DataType.FLOAT);
    expect(report.decisions.filter((d) => d.opType === 'Constant' && /stored as float16, cast to float32 at load/.test(d.reason))).toHaveLength(4);
    expect(report.warnings.filter((w) => /nothing was converted/.test(w))).toEqual([]);
    // No node computes in float16, but the stored weights are rounded: the model is not as given.
    expect(report.nodesConverted).toBe(0);
    expect(report.unchanged).toBe(false);
  });

  it('outputs match float32 on onnxruntime-node and onnxruntime-web, on both If branches', async () => {
    const original = build();
    const model = original.clone();
    await convertToFp16(model, { target: 'cpu', keepIoTypes: true });
    for (const { name, runner } of BACKENDS) {
      for (const c of [true, false]) {
        const feeds: RunnerFeeds = { x: normal([2, 64], c ? 1 : 2), cond: { type: 'bool', dims: [], data: Uint8Array.of(c ? 1 : 0) } };
        const want = await runOnce(runner, original, feeds);
        const got = await runOnce(runner, model, feeds);
        for (const [output, w] of Object.entries(want)) {
          const g = nullThrows(got[output], output);
          expect(cosine(g, w), `${name} ${output} cond=${c}`).toBeGreaterThan(0.99999);
          expect(mismatch(g, w, 2e-2, 2e-2), `${name} ${output} cond=${c}`).toBeUndefined();
        }
      }
    }
  });

  it('keeps Constant weights float32 with weightStorage fp32, and under blockOps Constant', async () => {
    for (const opts of [{ weightStorage: 'fp32' as const }, { blockOps: ['Constant'] }]) {
      const model = build();
      const report = await convertToFp16(model, { target: 'cpu', keepIoTypes: true, ...opts });
      expect(report.initializersStored, JSON.stringify(opts)).toBe(0);
      expect(constants(model).every(({ node }) => valueOf(node)?.dataType !== DataType.FLOAT16)).toBe(true);
    }
  });
});
