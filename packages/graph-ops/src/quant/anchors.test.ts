import {
  DataType, ModelBuilder, Rng, cnn, inferElemTypes, mlp, readModel, writeModel, type Model,
} from '@onnx-forge/core';
import { OrtRunner } from '@onnx-forge/runtime';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ortNode from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import type { ModelRunner, RunnerFeeds } from '@onnx-forge/core';
import { quantizeDynamic } from './int8-dynamic.js';
import { quantizeStatic } from './int8-static.js';
import { QUANT_TARGETS } from './target-forms.js';
import { nodesOf, opTypes, runOnce } from '../testing/harness.js';
import { ORT_BACKENDS, ORT_SESSIONS, minCosine } from '../testing/ort-sessions.js';

/**
 * Regression tests for the INT8 failures of onnxruntime's Python quantizer listed in
 * shared/ANCHORS.md: each one must not happen here.
 */

const runner = new OrtRunner() as unknown as ModelRunner;
const image = (seed: number, size = 8): RunnerFeeds => ({
  image: { type: 'float32', dims: [1, 3, size, size], data: new Rng(seed).fillNormalish(new Float32Array(3 * size * size), 1) },
});

/** x -> custom.Opaque (a type no inference knows) -> MatMul with a weight; and a MatMul of two opaque values. */
function opaqueModel(): Model {
  const b = new ModelBuilder({ opset: 17, opsets: { 'custom.ops': 1 } });
  const x = b.input('x', 'float32', [2, 4]);
  const [u, v] = b.opN('Opaque', [x], {}, { domain: 'custom.ops', outputs: ['opaque_u', 'opaque_v'] }) as [string, string];
  const w = b.initializer('w', new Rng(1).fillNormalish(new Float32Array(16), 0.5), [4, 4]);
  b.output(b.op('MatMul', [u, w], {}, { outputs: ['y'] }), 'float32', [2, 4]);
  b.output(b.op('MatMul', [u, v], {}, { outputs: ['z'] }), 'float32', [2, 2]);
  return b.build();
}

/** A runner that answers every requested tensor with the same values (the ops are not real). */
const echoRunner: ModelRunner = {
  load: async () => ({
    inputNames: ['x'],
    outputNames: [],
    run: async (_feeds, outputs = []) => Object.fromEntries(outputs.map((n) => [n, { type: 'float32', dims: [8], data: Float32Array.of(-1, 0.5, 1, 2, 0, 3, -2, 1) }])),
    release: async () => {},
  }),
};

describe('ANCHORS: tensors whose type cannot be inferred are never skipped silently', () => {
  it('dynamic: the op schema types the activation (A and B of MatMul share T), so the node is still quantized', async () => {
    const model = opaqueModel();
    expect(inferElemTypes(model).unknown.map((u) => u.value)).toEqual(expect.arrayContaining(['opaque_u', 'opaque_v']));
    const report = await quantizeDynamic(model);
    expect(report.nodes.find((d) => d.node.startsWith('MatMul') && d.action === 'quantized')).toBeDefined();
    expect(report.coverage.share).toBe(1);
  });

  it('static: a MatMul of two untyped activations is reported in unknownTypes and warnings, with the reason', async () => {
    const model = opaqueModel();
    const report = await quantizeStatic(model, echoRunner, [{ x: { type: 'float32', dims: [2, 4], data: new Float32Array(8) } }], {});
    const skipped = report.nodes.find((d) => d.opType === 'MatMul' && d.action === 'skipped');
    expect(skipped?.reason).toMatch(/element type of "opaque_u" is unknown/);
    expect(report.unknownTypes).toEqual([expect.objectContaining({ value: 'opaque_u', opType: 'MatMul', reason: expect.any(String) })]);
    expect(report.warnings.join('\n')).toMatch(/opaque_u.*unknown/);
    expect(report.stats.unknownTypes).toBe(1);
  });
});

describe('ANCHORS: forms the target runs (ConvInteger has no CUDA kernel; old onnxruntime-web had no int8 ConvInteger)', () => {
  it.each(QUANT_TARGETS)('target %s: the Conv forms match the target, and the model runs in onnxruntime-node and -web', async (target) => {
    const model = cnn({ channels: [4, 8], imageSize: 8 });
    const fp32 = model.encode();
    await quantizeDynamic(model, { target });
    const ops = opTypes(model);
    if (target === 'cuda' || target === 'webgpu') {
      expect(ops).not.toContain('ConvInteger');
      expect(ops).not.toContain('MatMulInteger');
      expect(ops).not.toContain('DynamicQuantizeLinear');
    } else {
      expect(ops).toContain('ConvInteger');
      // uint8 on every integer target: old onnxruntime-web builds lack int8 ConvInteger, and on CPU
      // int8 ConvInteger is slower and u8 x s8 products saturate without VNNI (see target-forms.ts).
      for (const { node: n } of nodesOf(model, 'ConvInteger')) expect(model.graph.initializer(n.input[1] as string)?.dataType).toBe(DataType.UINT8);
    }
    const ref = await runOnce(ORT_SESSIONS.node, fp32, image(3));
    for (const backend of ORT_BACKENDS) expect(minCosine(ref, await runOnce(ORT_SESSIONS[backend], model.encode(), image(3)))).toBeGreaterThanOrEqual(0.99);
  });

  it('per-channel ConvInteger always gets one scalar weight zero point (onnxruntime fails at run time on a per-channel one)', async () => {
    for (const options of [{ perChannel: true, symmetric: true }, { perChannel: true, symmetric: false }, { perChannel: true, weightType: 'uint8' as const }]) {
      const model = cnn({ channels: [4], imageSize: 8 });
      const fp32 = model.encode();
      const report = await quantizeDynamic(model, { target: 'cpu', ...options });
      for (const { node: n } of nodesOf(model, 'ConvInteger')) expect(model.graph.initializer(n.input[3] as string)?.dims).toEqual([]);
      if (options.symmetric === false) expect(report.nodes.find((d) => d.opType === 'Conv')?.reason).toMatch(/per-tensor: asymmetric per-channel/);
      const ref = await runOnce(ORT_SESSIONS.node, fp32, image(4));
      for (const backend of ORT_BACKENDS) expect(minCosine(ref, await runOnce(ORT_SESSIONS[backend], model.encode(), image(4)))).toBeGreaterThanOrEqual(0.99);
    }
  });

  it('Gemm, which onnxruntime\'s dynamic quantizer leaves float, is quantized', async () => {
    const model = mlp({ sizes: [16, 16, 4] });
    const report = await quantizeDynamic(model);
    expect(opTypes(model)).not.toContain('Gemm');
    expect(report.nodes.filter((d) => d.opType === 'Gemm').every((d) => d.action === 'quantized')).toBe(true);
  });
});

describe('ANCHORS: WebGPU rejects an int32 DequantizeLinear with a zero point', () => {
  it.each(QUANT_TARGETS)('target %s: int32 biases are dequantized with scale only (no zero point input)', async (target) => {
    const model = cnn({ channels: [4], imageSize: 8 });
    await quantizeStatic(model, runner, [image(1), image(2)], { target });
    const int32Dq = nodesOf(model, 'DequantizeLinear').map(({ node }) => node).filter((n) => model.graph.initializer(n.input[0] as string)?.dataType === DataType.INT32);
    // For webgpu int8-static keeps activations float (target-forms.ts: onnxruntime-web's WebGPU
    // computes its QDQ pairs wrong), so no bias is quantized to int32 there at all.
    if (target === 'webgpu') expect(int32Dq).toEqual([]);
    else expect(int32Dq.length).toBeGreaterThan(0);
    for (const n of int32Dq) expect(n.input.filter(Boolean)).toHaveLength(2);
  });

  it('dynamic quantization emits no int32 DequantizeLinear at all', async () => {
    const model = cnn({ channels: [4], imageSize: 8 });
    await quantizeDynamic(model, { target: 'webgpu' });
    expect(nodesOf(model, 'DequantizeLinear').every(({ node: n }) => model.graph.initializer(n.input[0] as string)?.dataType !== DataType.INT32)).toBe(true);
  });
});

describe('ANCHORS: models past protobuf\'s 2 GB limit go through external data', () => {
  it('a model read from external data is quantized and written past the (lowered) inline limit with a side file that onnxruntime loads', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'int8-ext-'));
    try {
      const src = join(dir, 'fp32.onnx');
      const model = mlp({ sizes: [64, 256, 10] });
      await writeModel(model, src, { externalData: { threshold: 256 } });
      expect(existsSync(`${src}.data`)).toBe(true);
      const feeds: RunnerFeeds = { x: { type: 'float32', dims: [2, 64], data: new Rng(5).fillNormalish(new Float32Array(128), 1) } };
      const ref = await runOnce(ORT_SESSIONS.node, model.encode(), feeds);
      const loaded = await readModel(src);
      await quantizeDynamic(loaded);
      const out = join(dir, 'int8.onnx');
      // The inline limit stands in for protobuf's 2 GiB: past it, writeModel moves weights to a side file.
      const written = await writeModel(loaded, out, { inlineLimit: 4096, externalData: { threshold: 128 } });
      expect(written.externalData?.tensors).toBeGreaterThan(0);
      const session = await ortNode.InferenceSession.create(out, { logSeverityLevel: 3 });
      const got = await session.run({ x: new ortNode.Tensor('float32', feeds.x?.data as Float32Array, [2, 64]) });
      await session.release();
      expect(minCosine(ref, { y: got.y?.data as Float32Array })).toBeGreaterThanOrEqual(0.99);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
