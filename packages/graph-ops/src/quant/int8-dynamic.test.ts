import {
  DataType, ForgeErrorCode, ModelBuilder, PassManager, Rng, attr, cnn, mlp, transformerEncoder, type Model,
} from '@onnx-forge/core';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ortNode from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { createBuiltinRegistry } from '../builtin-passes.js';
import { int8Dynamic, quantizeDynamic } from './int8-dynamic.js';
import type { DynamicQuantOptions } from './quant-options.js';
import { floatTensorNotes } from './quant-report.js';
import { modelInputSpecs } from './samples/validate-feeds.js';
import { nodesOf, opTypes, runOnce } from '../testing/harness.js';
import { ORT_BACKENDS, ORT_SESSIONS, minCosine, seededFeeds } from '../testing/ort-sessions.js';

const rng = new Rng(2024);
const w = (n: number, std = 0.3) => rng.fillNormalish(new Float32Array(n), std);

function gemmModel(o: { transA?: number; transB?: number; alpha?: number; beta?: number; dynamicC?: boolean }): Model {
  const b = new ModelBuilder({ opset: 17 });
  const M = 4, K = 16, N = 8;
  const a = b.input('a', 'float32', o.transA ? [K, M] : [M, K]);
  const bw = b.initializer('gemm.weight', w(K * N), o.transB ? [N, K] : [K, N]);
  const c = o.dynamicC ? b.input('c', 'float32', [N]) : b.initializer('gemm.bias', w(N, 1), [N]);
  const y = b.op('Gemm', [a, bw, c], { transA: o.transA ?? 0, transB: o.transB ?? 0, alpha: attr.float('alpha', o.alpha ?? 1), beta: attr.float('beta', o.beta ?? 1) }, { outputs: ['y'] });
  b.output(y, 'float32', [M, N]);
  return b.build();
}

/** MatMuls inside both branches of an If, reading a weight of the main graph (as Silero VAD does). */
function ifModel(): Model {
  const b = new ModelBuilder({ opset: 17 });
  const x = b.input('x', 'float32', [2, 8]);
  const cond = b.input('cond', 'bool', []);
  const wt = b.initializer('shared.weight', w(32), [8, 4]);
  const conv = b.initializer('conv.weight', w(5), [1, 1, 5]);
  const thenG = b.subgraph('then', (g) => g.output(g.op('MatMul', [x, wt]), 'float32', [2, 4]));
  const elseG = b.subgraph('else', (g) => {
    // A 1-D Conv over each row of x ([2, 1, 8] -> [2, 1, 4]), plus the MatMul.
    const c = g.op('Conv', [g.op('Reshape', [x, g.constant([2, 1, 8], 'int64')]), conv], { kernel_shape: [5] });
    g.output(g.op('Add', [g.op('Reshape', [c, g.constant([2, 4], 'int64')]), g.op('MatMul', [x, wt])]), 'float32', [2, 4]);
  });
  b.output(b.op('If', [cond], { then_branch: thenG, else_branch: elseG }, { outputs: ['y'] }), 'float32', [2, 4]);
  return b.build();
}

/** One weight read by two MatMuls and by a Transpose the pass does not quantize. */
function sharedWeightModel(): Model {
  const b = new ModelBuilder({ opset: 17 });
  const x = b.input('x', 'float32', [3, 8]);
  const wt = b.initializer('tied.weight', w(64), [8, 8]);
  const h = b.op('MatMul', [b.op('MatMul', [x, wt]), wt]);
  const t = b.op('MatMul', [x, b.op('Transpose', [wt], { perm: [1, 0] })]);
  b.output(b.op('Add', [h, t], {}, { outputs: ['y'] }), 'float32', [3, 8]);
  return b.build();
}

interface Case {
  name: string;
  build: () => Model;
  free?: Record<string, number>;
  extra?: (feeds: ReturnType<typeof seededFeeds>) => void;
}

const CASES: Case[] = [
  { name: 'mlp (Gemm)', build: () => mlp({ sizes: [32, 64, 10] }), free: { batch: 4 } },
  { name: 'mlp (MatMul)', build: () => mlp({ sizes: [32, 64, 10], op: 'MatMul' }), free: { batch: 4 } },
  { name: 'cnn (Conv, Gemm transB)', build: () => cnn({ channels: [8, 16] }), free: { batch: 2 } },
  { name: 'transformer (MatMul, Gather)', build: () => transformerEncoder({ layers: 1, hidden: 32, heads: 2, intermediate: 64, vocab: 50, maxPositions: 16 }), free: { batch: 2, sequence: 8 } },
  { name: 'Gemm transA alpha beta', build: () => gemmModel({ transA: 1, transB: 1, alpha: 0.5, beta: 2 }) },
  { name: 'Gemm with a run-time C', build: () => gemmModel({ beta: 0.5, dynamicC: true }) },
  { name: 'If subgraphs reading an outer weight', build: ifModel, extra: (f) => (f.cond = { type: 'bool', dims: [], data: Uint8Array.of(0) }) },
  { name: 'weight shared with a float reader', build: sharedWeightModel },
];

const OPTIONS: Partial<DynamicQuantOptions>[] = [
  {},
  { perChannel: true },
  { weightType: 'uint8' },
  { symmetric: false, perChannel: true },
  { reduceRange: true },
  { target: 'cpu' },
  { target: 'cuda', perChannel: true },
  { target: 'webgpu' },
];

function feedsFor(c: Case, model: Model, seed: number) {
  const f = seededFeeds(modelInputSpecs(model), seed, c.free ?? {}, 1);
  // Token ids must stay inside the small vocabulary.
  for (const t of Object.values(f)) if (t.type === 'int64') t.data = (t.data as BigInt64Array).map((v) => v % 2n);
  c.extra?.(f);
  return f;
}

describe('int8-dynamic on builder models, run in onnxruntime-node and onnxruntime-web', () => {
  describe.each(CASES)('$name', (c) => {
    it.each(OPTIONS.map((o) => [JSON.stringify(o), o] as const))('%s: loads, runs, stays close to FP32, reports every node', async (_label, options) => {
      const model = c.build();
      const nodeCount = [...model.allNodes()].length;
      const fp32 = model.encode();
      const report = quantizeDynamic(model, options);
      const bytes = model.encode();
      expect(report.nodes).toHaveLength(nodeCount);
      expect(report.quantized).toBeGreaterThan(0);
      // Scales and zero points outweigh the savings only on toy weights.
      if (report.bytesBefore > 4096) expect(report.bytesAfter).toBeLessThan(report.bytesBefore * 0.5);
      const feeds = feedsFor(c, model, 7);
      const ref = await runOnce(ORT_SESSIONS.node, fp32, feeds);
      for (const backend of ORT_BACKENDS) {
        const got = await runOnce(ORT_SESSIONS[backend], bytes, feeds);
        expect(minCosine(ref, got), `${backend}`).toBeGreaterThanOrEqual(0.99);
      }
      const ops = opTypes(model);
      const target = options.target ?? 'any';
      if (target === 'cuda' || target === 'webgpu') {
        expect(ops).not.toContain('ConvInteger');
        expect(ops).not.toContain('MatMulInteger');
        expect(ops).not.toContain('DynamicQuantizeLinear');
      }
      if (target === 'any' || target === 'wasm') {
        for (const { node: n } of nodesOf(model, 'ConvInteger')) expect(model.graph.resolveInitializer(n.input[1] as string)?.tensor.dataType).toBe(DataType.UINT8);
      }
    });
  });
});

describe('int8-dynamic forms', () => {
  it('MatMul becomes DynamicQuantizeLinear + MatMulInteger + Cast + Mul, which onnxruntime fuses into DynamicQuantizeMatMul', async () => {
    const model = mlp({ sizes: [32, 64, 10], op: 'MatMul' });
    quantizeDynamic(model, { target: 'cpu' });
    expect(opTypes(model)).toEqual(expect.arrayContaining(['DynamicQuantizeLinear', 'MatMulInteger', 'Cast', 'Mul']));
    expect(opTypes(model)).not.toContain('MatMul');
    const dir = mkdtempSync(join(tmpdir(), 'int8-fuse-'));
    try {
      const file = join(dir, 'optimized.onnx');
      const s = await ortNode.InferenceSession.create(model.encode(), { optimizedModelFilePath: file, graphOptimizationLevel: 'all', logSeverityLevel: 3 });
      await s.release();
      const optimized = opTypes((await import('@onnx-forge/core')).Model.decode(readFileSync(file)));
      expect(optimized.filter((o) => o === 'com.microsoft.DynamicQuantizeMatMul' || o === 'com.microsoft.MatMulIntegerToFloat').length).toBe(2);
      expect(optimized).not.toContain('MatMulInteger');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('Gemm (which onnxruntime\'s quantizer leaves float) is rewritten with B transposed offline and alpha folded into the scale', () => {
    const model = gemmModel({ transA: 1, transB: 1, alpha: 0.5, beta: 2 });
    const report = quantizeDynamic(model, {});
    expect(opTypes(model)).not.toContain('Gemm');
    const mmi = nodesOf(model, 'MatMulInteger')[0]?.node;
    expect(model.graph.resolveInitializer(mmi?.input[1] as string)?.tensor.dims.map(Number)).toEqual([16, 8]);
    expect(report.nodes.find((d) => d.opType === 'Gemm')?.reason).toMatch(/alpha 0.5 folded/);
  });

  it('Gather over an embedding table reads 8-bit rows; per-channel gives each row its own scale', () => {
    const model = transformerEncoder({ layers: 1, hidden: 32, heads: 2, intermediate: 64, vocab: 50, maxPositions: 16 });
    const report = quantizeDynamic(model, { perChannel: true });
    const word = report.nodes.find((d) => d.opType === 'Gather' && d.action === 'quantized');
    expect(word?.reason).toMatch(/per-row scales \(50 rows\)/);
    expect(model.graph.initializer('embeddings.word_embeddings.weight')).toBeUndefined();
    expect(model.graph.initializer('embeddings.word_embeddings.weight_quantized')?.dataType).toBe(DataType.INT8);
    // The Gather on the input's shape is not a table lookup.
    expect(report.nodes.filter((d) => d.opType === 'Gather' && d.action === 'skipped').every((d) => /computed at run time/.test(d.reason))).toBe(true);
  });

  it('a weight still read by a float node stays float, and the report says why', () => {
    const model = sharedWeightModel();
    const report = quantizeDynamic(model, {});
    expect(report.quantized).toBe(2);
    expect(report.nodes.filter((d) => d.opType === 'MatMul' && d.action === 'skipped')).toEqual([
      expect.objectContaining({ reason: expect.stringMatching(/computed at run time/) }),
    ]);
    expect(model.graph.initializer('tied.weight')?.dataType).toBe(DataType.FLOAT);
    // Quantized once, shared by both MatMuls that read it.
    expect(model.graph.initializers.filter((t) => t.name.startsWith('tied.weight_quantized'))).toHaveLength(1);
    expect(floatTensorNotes(model, 0).find((n) => n.name === 'tied.weight')?.reason).toMatch(/read by Transpose .* which the pass does not quantize/);
  });

  it('quantizes inside If branches, putting the quantized weight next to the outer original', () => {
    const model = ifModel();
    const report = quantizeDynamic(model, { perChannel: true });
    const inSub = report.nodes.filter((d) => d.graph !== 'main' && d.action === 'quantized');
    expect(inSub.map((d) => d.opType).sort()).toEqual(['Conv', 'MatMul', 'MatMul']);
    expect(model.graph.initializer('shared.weight_quantized')).toBeDefined();
    expect(model.graph.initializer('shared.weight')).toBeUndefined();
  });

  it('excludeNodes and ops leave nodes float with the reason, and coverage counts them', () => {
    const model = mlp({ sizes: [32, 64, 10] });
    const first = model.graph.nodes.find((n) => n.opType === 'Gemm')?.name as string;
    const report = quantizeDynamic(model, { excludeNodes: [first] });
    expect(report.nodes.find((d) => d.node === first)).toMatchObject({ action: 'skipped', reason: expect.stringMatching(/excludeNodes/) });
    expect(report.coverage.share).toBeCloseTo(640 / (2048 + 640), 6);
    expect(report.nodes.find((d) => d.opType === 'Relu')).toMatchObject({ action: 'not-quantized' });
  });

  it('runs from a pipeline string through the registry and the PassManager (checked after the pass)', async () => {
    const model = cnn({ channels: [4] });
    const pm = new PassManager({ registry: createBuiltinRegistry() }).addPipeline('int8-dynamic{perChannel=true,target=wasm,excludeOps=[Gemm]}');
    const report = await pm.run(model);
    const pass = report.passes[0];
    expect(pass?.stats).toMatchObject({ nodesQuantized: 2, target: 'wasm' });
    expect(pass?.decisions.find((d) => d.opType === 'Gemm')).toMatchObject({ action: 'skipped' });
    expect(pass?.bytesAfter).toBeLessThan(pass?.bytesBefore ?? 0);
  });
});

describe('int8-dynamic bad input', () => {
  it('a model with no quantizable op fails with FORGE_NOTHING_TO_DO, naming what it looked for', () => {
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', 'float32', [2]);
    b.output(b.op('Relu', [b.op('Add', [x, b.constant([1, 2])])], {}, { outputs: ['y'] }), 'float32', [2]);
    expect(() => quantizeDynamic(b.build())).toThrow(expect.objectContaining({ code: ForgeErrorCode.NOTHING_TO_DO, message: expect.stringMatching(/MatMul, Conv, Gemm, Gather/) }));
  });

  it('MatMuls of two activations only: nothing to do in dynamic mode', () => {
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', 'float32', [2, 2]);
    b.output(b.op('MatMul', [x, x], {}, { outputs: ['y'] }), 'float32', [2, 2]);
    expect(() => quantizeDynamic(b.build())).toThrow(expect.objectContaining({ code: ForgeErrorCode.NOTHING_TO_DO }));
  });

  it.each([
    [{ weightType: 'int4' }, /weightType/],
    [{ ops: ['MatMul', 'Softmax'] }, /Softmax/],
    [{ target: 'tpu' }, /target/],
  ])('rejects options %j with FORGE_INVALID_OPTIONS', (options, message) => {
    expect(() => int8Dynamic(options as never)).toThrow(expect.objectContaining({ code: ForgeErrorCode.INVALID_OPTIONS, message: expect.stringMatching(message) }));
  });

  it('refuses an opset below 11 with what to do', () => {
    const model = mlp({ sizes: [4, 4], opset: 10 });
    expect(() => quantizeDynamic(model)).toThrow(expect.objectContaining({ code: ForgeErrorCode.UNSUPPORTED_OP, message: expect.stringMatching(/opset 11/) }));
  });
});
