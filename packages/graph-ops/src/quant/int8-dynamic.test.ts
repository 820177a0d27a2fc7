import {
  DataType, ForgeErrorCode, ModelBuilder, PassManager, Rng, attr, attrInt, cnn, firstJsepMiscompute, mlp, transformerEncoder, type NodeProto,
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
import { nodesOf, opTypes, runOnce } from '../testing/harness.js';
import { QUANT_CASES as CASES, gemmModel, ifModel, quantCaseFeeds as feedsFor, sharedWeightModel } from '../testing/quant-models.js';
import { ORT_BACKENDS, ORT_SESSIONS, minCosine } from '../testing/ort-sessions.js';

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

describe('int8-dynamic on builder models, run in onnxruntime-node and onnxruntime-web', () => {
  describe.each(CASES)('$name', (c) => {
    it.each(OPTIONS.map((o) => [JSON.stringify(o), o] as const))('%s: loads, runs, stays close to FP32, reports every node', async (_label, options) => {
      const model = c.build();
      const nodeCount = [...model.allNodes()].length;
      const fp32 = model.encode();
      const report = await quantizeDynamic(model, options);
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

describe('old opsets', () => {
  it('an opset-9 CNN quantizes with no flag: upgraded to 13 first (onnxruntime\'s quantizer upgrades too), said in a warning, and it runs', async () => {
    const model = cnn({ channels: [8, 16], opset: 9 });
    expect(model.opset('')).toBe(9);
    const fp32 = model.encode();
    const report = await quantizeDynamic(model);
    expect(model.opset('')).toBe(13);
    expect(report.warnings.join('\n')).toMatch(/opset 9; INT8 forms need 11 or later, so it was upgraded to 13 first/);
    expect(report.stats['opset status']).toBe('upgraded');
    expect(report.quantized).toBeGreaterThan(0);
    const feeds = { image: { type: 'float32' as const, dims: [2, 3, 32, 32], data: new Rng(3).fillNormalish(new Float32Array(2 * 3 * 32 * 32), 1) } };
    const ref = await runOnce(ORT_SESSIONS.node, fp32, feeds);
    for (const backend of ORT_BACKENDS) expect(minCosine(ref, await runOnce(ORT_SESSIONS[backend], model.encode(), feeds))).toBeGreaterThanOrEqual(0.99);
  });

  it('target webgpu upgrades an opset-11 model to 13: the per-axis DequantizeLinear it needs (webgpu-targets.browser.test.ts) exists from 13', async () => {
    const model = cnn({ channels: [8, 16], opset: 11 });
    const fp32 = model.encode();
    const report = await quantizeDynamic(model, { target: 'webgpu' });
    expect(model.opset('')).toBe(13);
    expect(report.warnings.join('\n')).toMatch(/opset 11; target webgpu needs per-axis DequantizeLinear \(opset 13\): .*, so it was upgraded to 13 first/);
    expect(report.quantized).toBeGreaterThan(0);
    // Every weight's scale is a vector (an axis), none a scalar.
    const dqs = nodesOf(model, 'DequantizeLinear');
    expect(dqs.length).toBeGreaterThan(0);
    for (const { node } of dqs) expect(model.graph.resolveInitializer(node.input[1] as string)?.tensor.dims.length, node.name).toBe(1);
    const feeds = { image: { type: 'float32' as const, dims: [2, 3, 32, 32], data: new Rng(3).fillNormalish(new Float32Array(2 * 3 * 32 * 32), 1) } };
    const ref = await runOnce(ORT_SESSIONS.node, fp32, feeds);
    for (const backend of ORT_BACKENDS) expect(minCosine(ref, await runOnce(ORT_SESSIONS[backend], model.encode(), feeds))).toBeGreaterThanOrEqual(0.99);
    // At 13 already, nothing to upgrade.
    const recent = cnn({ channels: [8, 16], opset: 13 });
    expect((await quantizeDynamic(recent, { target: 'webgpu' })).warnings.join('\n')).not.toMatch(/upgraded/);
  });

  it('target webgpu never writes a one-channel DequantizeLinear (JSEP computes it as a per-tensor one, wrong): a Gemm with one output repeats its scale along its inputs', async () => {
    // A score head as openWakeWord's ends: Gemm [1, 64] (transB) to one value, and a [1, 1] weight that holds one value.
    const head = () => {
      const b = new ModelBuilder({ opset: 13 });
      const r = new Rng(8);
      const x = b.input('x', 'float32', [4, 64]);
      const score = b.op('Gemm', [x, b.initializer('w', r.fillNormalish(new Float32Array(64), 0.2), [1, 64]), b.initializer('b', Float32Array.of(0.1), [1])], { transB: 1 });
      b.output(b.op('MatMul', [score, b.initializer('one', Float32Array.of(1.5), [1, 1])], {}, { outputs: ['y'] }), 'float32', [4, 1]);
      return b.build();
    };
    const model = head();
    const fp32 = model.encode();
    const report = await quantizeDynamic(model, { target: 'webgpu' });
    const gemm = report.nodes.find((d) => d.opType === 'Gemm');
    expect(gemm?.action).toBe('quantized');
    expect(gemm?.reason).toMatch(/^int8 weights per-tensor \+ DequantizeLinear feeding float Gemm; axis 0 has one channel, which is one scale for the whole tensor; the per-tensor scale is written once per index of axis 1/);
    const matmul = report.nodes.find((d) => d.opType === 'MatMul');
    expect(matmul).toMatchObject({ action: 'skipped' });
    expect(matmul?.reason).toMatch(/needs a per-axis DequantizeLinear over more than one index .*, and the weight holds one value$/);
    const [dq] = nodesOf(model, 'DequantizeLinear');
    expect(nodesOf(model, 'DequantizeLinear')).toHaveLength(1);
    expect(attrInt(dq?.node as NodeProto, 'axis')).toBe(1);
    expect(model.graph.resolveInitializer(dq?.node.input[1] as string)?.tensor.dims).toEqual([64]);
    // The same answers as FP32 (within int8's error) on onnxruntime's CPU and WebAssembly.
    const feeds = { x: { type: 'float32' as const, dims: [4, 64], data: new Rng(9).fillNormalish(new Float32Array(256), 1) } };
    const ref = await runOnce(ORT_SESSIONS.node, fp32, feeds);
    for (const backend of ORT_BACKENDS) expect(minCosine(ref, await runOnce(ORT_SESSIONS[backend], model.encode(), feeds))).toBeGreaterThanOrEqual(0.999);
    // Targets that compute a one-channel DequantizeLinear right keep it per-channel.
    const forCuda = head();
    const cuda = await quantizeDynamic(forCuda, { target: 'cuda' });
    expect(cuda.nodes.find((d) => d.opType === 'Gemm')?.reason).toMatch(/^int8 weights per-channel \(axis 0, 1 channel\) \+ DequantizeLinear feeding float Gemm/);
    // What the runtime refuses on webgpu: the cuda form has it, the webgpu form not.
    expect(firstJsepMiscompute(forCuda)?.why).toMatch(/one scale for the whole tensor \(per-axis over an axis of one index/);
    expect(firstJsepMiscompute(model)).toBeUndefined();
    // Quantizing the cuda form again for webgpu: nothing left to quantize, and the node WebGPU computes wrong is named.
    const again = await quantizeDynamic(forCuda, { target: 'webgpu' });
    expect(again.warnings.join('\n')).toMatch(/int8-dynamic: the model as given has DequantizeLinear node '.+', which onnxruntime-web's WebGPU computes wrong \(8-bit codes with one scale .*\): @onnx-forge\/runtime runs such a model on wasm; quantize its float32 original with target webgpu/);
    // Not said for the webgpu form, nor for other targets.
    expect((await quantizeDynamic(head(), { target: 'webgpu' })).warnings.join('\n')).not.toMatch(/computes wrong/);
    expect((await quantizeDynamic(forCuda, { target: 'cuda' })).warnings.join('\n')).not.toMatch(/computes wrong/);
  });
});

describe('int8-dynamic forms', () => {
  it('MatMul becomes DynamicQuantizeLinear + MatMulInteger + Cast + Mul, which onnxruntime fuses into DynamicQuantizeMatMul', async () => {
    const model = mlp({ sizes: [32, 64, 10], op: 'MatMul' });
    await quantizeDynamic(model, { target: 'cpu' });
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

  it('Gemm (which onnxruntime\'s quantizer leaves float) is rewritten with B transposed offline and alpha folded into the scale', async () => {
    const model = gemmModel({ transA: 1, transB: 1, alpha: 0.5, beta: 2 });
    const report = await quantizeDynamic(model, {});
    expect(opTypes(model)).not.toContain('Gemm');
    const mmi = nodesOf(model, 'MatMulInteger')[0]?.node;
    expect(model.graph.resolveInitializer(mmi?.input[1] as string)?.tensor.dims.map(Number)).toEqual([16, 8]);
    expect(report.nodes.find((d) => d.opType === 'Gemm')?.reason).toMatch(/alpha 0.5 folded/);
  });

  it('Gather over an embedding table reads 8-bit rows; per-channel gives each row its own scale', async () => {
    const model = transformerEncoder({ layers: 1, hidden: 32, heads: 2, intermediate: 64, vocab: 50, maxPositions: 16 });
    const report = await quantizeDynamic(model, { perChannel: true });
    const word = report.nodes.find((d) => d.opType === 'Gather' && d.action === 'quantized');
    expect(word?.reason).toMatch(/per-row scales \(50 rows\)/);
    expect(model.graph.initializer('embeddings.word_embeddings.weight')).toBeUndefined();
    expect(model.graph.initializer('embeddings.word_embeddings.weight_quantized')?.dataType).toBe(DataType.INT8);
    // The Gather on the input's shape is not a table lookup.
    expect(report.nodes.filter((d) => d.opType === 'Gather' && d.action === 'skipped').every((d) => /computed at run time/.test(d.reason))).toBe(true);
  });

  it('a weight still read by a float node stays float, and the report says why', async () => {
    const model = sharedWeightModel();
    const report = await quantizeDynamic(model, {});
    expect(report.quantized).toBe(2);
    expect(report.nodes.filter((d) => d.opType === 'MatMul' && d.action === 'skipped')).toEqual([
      expect.objectContaining({ reason: expect.stringMatching(/computed at run time/) }),
    ]);
    expect(model.graph.initializer('tied.weight')?.dataType).toBe(DataType.FLOAT);
    // Quantized once, shared by both MatMuls that read it.
    expect(model.graph.initializers.filter((t) => t.name.startsWith('tied.weight_quantized'))).toHaveLength(1);
    expect(floatTensorNotes(model, 0).find((n) => n.name === 'tied.weight')?.reason).toMatch(/read by Transpose .* which the pass does not quantize/);
  });

  it('quantizes inside If branches, putting the quantized weight next to the outer original', async () => {
    const model = ifModel();
    const report = await quantizeDynamic(model, { perChannel: true });
    const inSub = report.nodes.filter((d) => d.graph !== 'main' && d.action === 'quantized');
    expect(inSub.map((d) => d.opType).sort()).toEqual(['Conv', 'MatMul', 'MatMul']);
    expect(model.graph.initializer('shared.weight_quantized')).toBeDefined();
    expect(model.graph.initializer('shared.weight')).toBeUndefined();
  });

  it('excludeNodes and ops leave nodes float with the reason, and coverage counts them', async () => {
    const model = mlp({ sizes: [32, 64, 10] });
    const first = model.graph.nodes.find((n) => n.opType === 'Gemm')?.name as string;
    const report = await quantizeDynamic(model, { excludeNodes: [first] });
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
  it('a model with no quantizable op: a warning naming what it looked for, and the model unchanged', async () => {
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', 'float32', [2]);
    b.output(b.op('Relu', [b.op('Add', [x, b.constant([1, 2])])], {}, { outputs: ['y'] }), 'float32', [2]);
    const model = b.build();
    const before = model.encode();
    const report = await quantizeDynamic(model);
    expect(report.quantized).toBe(0);
    expect(report.warnings.join('\n')).toMatch(/nothing to quantize: the model has no MatMul, Conv, Gemm or Gather node/);
    expect(Buffer.from(model.encode()).equals(Buffer.from(before))).toBe(true);
  });

  it('MatMuls of two activations only: nothing to do in dynamic mode', async () => {
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', 'float32', [2, 2]);
    b.output(b.op('MatMul', [x, x], {}, { outputs: ['y'] }), 'float32', [2, 2]);
    const report = await quantizeDynamic(b.build());
    expect(report.quantized).toBe(0);
    expect(report.stats.nothingToQuantize).toBe('no eligible weights');
  });

  it('an already quantized model is named as such, and left as it is (even when old: no opset upgrade)', async () => {
    const model = mlp({ sizes: [16, 16, 4], op: 'MatMul', opset: 10 });
    await quantizeDynamic(model, { target: 'cpu' });
    const before = model.encode();
    const report = await quantizeDynamic(model);
    expect(report.warnings.join('\n')).toMatch(/already quantized \(it holds 2 DynamicQuantizeLinear, 2 MatMulInteger\)/);
    expect(report.stats.alreadyQuantized).toMatch(/MatMulInteger/);
    expect(Buffer.from(model.encode()).equals(Buffer.from(before))).toBe(true);
  });

  it.each([
    [{ weightType: 'int4' }, /weightType/],
    [{ ops: ['MatMul', 'Softmax'] }, /Softmax/],
    [{ target: 'tpu' }, /target/],
  ])('rejects options %j with FORGE_INVALID_OPTIONS', (options, message) => {
    expect(() => int8Dynamic(options as never)).toThrow(expect.objectContaining({ code: ForgeErrorCode.INVALID_OPTIONS, message: expect.stringMatching(message) }));
  });

  it('an opset-10 model is upgraded and quantized; one the upgrade cannot carry is refused naming the node, and left as it was', async () => {
    const model = mlp({ sizes: [4, 4], opset: 10 });
    expect((await quantizeDynamic(model)).quantized).toBe(1);
    expect(model.opset('')).toBe(13);
    const b = new ModelBuilder({ opset: 9 });
    const x = b.input('x', 'float32', [2, 4]);
    // GivenTensorFill was an experimental op, removed at opset 10 with no standard equivalent.
    const fill = b.op('GivenTensorFill', [], { values: attr.floats('values', [1, 2, 3, 4]), shape: [4] });
    b.output(b.op('MatMul', [b.op('Add', [x, fill]), b.initializer('w', new Float32Array(16).fill(0.5), [4, 4])]), 'float32', [2, 4]);
    const old = b.build();
    const before = old.encode();
    await expect(quantizeDynamic(old)).rejects.toThrow(expect.objectContaining({ code: ForgeErrorCode.UNSUPPORTED_OP, message: expect.stringMatching(/GivenTensorFill/) }));
    expect(Buffer.from(old.encode()).equals(Buffer.from(before))).toBe(true);
  });
});
