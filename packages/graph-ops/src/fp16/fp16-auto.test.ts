import { ForgeErrorCode, Model, ModelBuilder, PassManager, cosineSimilarity } from '@onnx-forge/core';
import { describe, expect, it } from 'vitest';
import { createBuiltinRegistry } from '../builtin-passes.js';
import type { RunnerFeeds } from '@onnx-forge/core';
import { autoMixedPrecision } from './fp16-auto.js';
import { convertToFp16 } from './fp16-pass.js';
import { BACKENDS, assertValid, f32, nodeRunner, runOnce, seeded } from '../testing/harness.js';
import { largeLogitSigmoid, logMelFrontEnd } from '../testing/precision-models.js';
import { seededFeeds, type SeededFeedsOptions } from '../samples/seeded-feeds.js';
import { runnerValues } from './runner-values.js';

/**
 * h = x W1; d = 1.0001 h - h, scaled back up by 1e4; y = tanh(d W2). In float16 the constant 1.0001
 * rounds to 1 and d becomes 0, so the Mul by 1.0001 must stay float32 on any runtime. Whether the Sub
 * must too depends on where the runtime really rounds to float16 (onnxruntime's CPU computes ops
 * without a float16 kernel in float32 and drops Cast pairs between them): the search asks the runner.
 */
function cancelling(): Model {
  const b = new ModelBuilder({ opset: 17 });
  const x = b.input('x', 'float32', [1, 32]);
  const h = b.op('MatMul', [x, b.initializer('w1', seeded(32 * 32, 1, 0.2), [32, 32])], {}, { name: 'mm1' });
  const a = b.op('Mul', [h, b.constant(1.0001, 'float32')], {}, { name: 'mulc' });
  const d = b.op('Sub', [a, h], {}, { name: 'sub' });
  const up = b.op('Mul', [d, b.constant(1e4, 'float32')], {}, { name: 'up' });
  const y = b.op('MatMul', [up, b.initializer('w2', seeded(32 * 8, 2, 0.2), [32, 8])], {}, { name: 'mm2' });
  b.output(b.op('Tanh', [y], {}, { name: 'tanh' }), 'float32', [1, 8]);
  return b.build();
}

/**
 * exp(8x) exceeds the float16 range once x > 1.39, and the Clip after it runs in float16 on
 * onnxruntime's CPU (its max of 1e9 becomes 65504): only some inputs expose it.
 */
function overflowing(): Model {
  const b = new ModelBuilder({ opset: 17 });
  const x = b.input('x', 'float32', [4]);
  const e = b.op('Exp', [b.op('Mul', [x, b.constant(8, 'float32')], {}, { name: 'mul8' })], {}, { name: 'exp' });
  const r = b.op('Clip', [e, b.constant(0, 'float32'), b.constant(1e9, 'float32')], {}, { name: 'clip' });
  b.output(b.op('Mul', [r, b.constant(1e-3, 'float32')], {}, { name: 'scale' }), 'float32', [4]);
  return b.build();
}

const samples = (n: number, seed: number): RunnerFeeds[] => Array.from({ length: n }, (_, i) => ({ x: f32([1, 32], seeded(32, seed + i)) }));

async function relL2(a: Model, b: Model, feeds: RunnerFeeds): Promise<number> {
  const x = runnerValues(Object.values(await runOnce(nodeRunner, a, feeds))[0]!) as number[];
  const y = runnerValues(Object.values(await runOnce(nodeRunner, b, feeds))[0]!) as number[];
  let d = 0, n = 0;
  for (let i = 0; i < x.length; i++) {
    d += (x[i]! - y[i]!) ** 2;
    n += x[i]! ** 2;
  }
  return Math.sqrt(d / n);
}

describe('fp16-auto', () => {
  it('keeps exactly the cancelling nodes float32 and converts the rest, within tolerance on every sample', async () => {
    const original = cancelling();
    const model = cancelling();
    const s = samples(3, 10);
    const r = await autoMixedPrecision(model, nodeRunner, s, { tolerance: 1e-2 });
    assertValid(model);
    expect(r.fullConversionError).toBeGreaterThan(1e-2);
    expect(r.worstError).toBeLessThanOrEqual(1e-2);
    const kept = r.keptFloat32.map((k) => k.node);
    expect(kept).toContain('mulc');
    expect(kept.length).toBeLessThanOrEqual(2);
    const converted = r.report.decisions.filter((d) => d.action === 'converted').map((d) => d.node);
    for (const n of ['mm1', 'up', 'mm2', 'tanh']) expect(converted).toContain(n);
    expect(r.report.decisions.find((d) => d.node === 'mulc')?.reason).toMatch(/kept float32 by fp16-auto/);
    // Other seeded inputs agree too.
    for (const feeds of samples(3, 50)) expect(await relL2(original, model, feeds)).toBeLessThan(1e-2);
  });

  it('judges candidates on all samples, not one', async () => {
    const safe = { x: f32([4], [0.1, -0.5, 0.9, 0.3]) };
    // exp(8 * 1.5) = 162755 > 65504.
    const risky = { x: f32([4], [1.5, 0.2, -1, 1.45]) };
    const one = await autoMixedPrecision(overflowing(), nodeRunner, [safe], { tolerance: 1e-2 });
    expect(one.keptFloat32).toEqual([]);
    const model = overflowing();
    const both = await autoMixedPrecision(model, nodeRunner, [safe, risky], { tolerance: 1e-2 });
    expect(both.keptFloat32.length).toBeGreaterThan(0);
    expect(both.worstError).toBeLessThanOrEqual(1e-2);
    expect(both.fullConversionError).toBeGreaterThan(1e-2);
    // The plain pass is off by a third there; the searched model is not.
    const plain = overflowing();
    await convertToFp16(plain, { keepIoTypes: true });
    expect(await relL2(overflowing(), plain, risky)).toBeGreaterThan(0.1);
    expect(await relL2(overflowing(), model, risky)).toBeLessThan(1e-2);
  });

  it('runs as a pass with the runner and samples services', async () => {
    const model = cancelling();
    const pm = new PassManager({ registry: createBuiltinRegistry(), services: { runner: nodeRunner, samples: samples(2, 20) } });
    pm.addPipeline('fp16-auto{tolerance=0.01,metric=rel-l2},cleanup');
    const r = await pm.run(model);
    const pass = r.passes[0]!;
    expect(pass.stats.worstError as number).toBeLessThanOrEqual(0.01);
    expect(pass.stats.samples).toBe(2);
    const kept = pass.decisions.filter((d) => /fp16-auto/.test(d.reason)).map((d) => d.node);
    expect(kept).toContain('mulc');
    expect(kept).toHaveLength(pass.stats.keptBySearch as number);
  });

  it.each([
    ['no runner', { samples: samples(1, 1) }, /pass "fp16-auto" needs the "runner" service/],
    ['no samples', { runner: nodeRunner }, /pass "fp16-auto" needs the "samples" service/],
    ['a runner that is none', { runner: {}, samples: samples(1, 1) }, /"runner" service .* but the value given is not one/],
  ] as const)('%s: refused before anything runs, naming the service', async (_label, services, message) => {
    const pm = new PassManager({ registry: createBuiltinRegistry(), services });
    pm.addPipeline('fp16-auto');
    await expect(pm.run(cancelling())).rejects.toMatchObject({ code: ForgeErrorCode.MISSING_SERVICE, message: expect.stringMatching(message) });
  });

  it.each([
    ['empty samples', { runner: nodeRunner, samples: [] }, ForgeErrorCode.BAD_SAMPLES, /gave none/],
    ['samples that do not fit', { runner: nodeRunner, samples: [{ y: f32([1], [1]) }] }, ForgeErrorCode.BAD_SAMPLES, /sample failed/],
  ] as const)('%s: a clear error', async (_label, services, code, message) => {
    const pm = new PassManager({ registry: createBuiltinRegistry(), services });
    pm.addPipeline('fp16-auto');
    await expect(pm.run(cancelling())).rejects.toMatchObject({
      code: ForgeErrorCode.PASS_FAILED,
      message: expect.stringMatching(message),
      details: expect.objectContaining({ innerCode: code }),
    });
  });
});

describe('the fp16 guard on models that overflow float16 (issue 8)', () => {
  const CASES: { name: string; build: () => Model; feeds: SeededFeedsOptions }[] = [
    { name: 'a log-mel front end (Pow, Log of large sums) on loud audio', build: () => logMelFrontEnd(), feeds: { dims: { samples: 4000 }, std: 8000 } },
    { name: 'a sigmoid map after large logits', build: () => largeLogitSigmoid(), feeds: { dims: { batch: 4 } } },
  ];

  it.each(CASES)('$name: plain fp16 (target any) gives NaN/Inf; the guard keeps the overflowing nodes float32 and every output within cosine 0.99', async (c) => {
    const fp32 = c.build();
    const samples = [3, 4, 5].map((seed) => seededFeeds(fp32, { seed, ...c.feeds }));
    const heldOut = seededFeeds(fp32, { seed: 9, ...c.feeds });
    const outputsOf = async (runner: (typeof BACKENDS)[number]['runner'], m: Model, f: RunnerFeeds) => {
      const out = await runOnce(runner, m, f);
      return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, runnerValues(v) as number[]]));
    };
    const plain = fp32.clone();
    await convertToFp16(plain, { target: 'any', keepIoTypes: true });
    for (const { name, runner } of BACKENDS) {
      const got = await outputsOf(runner, plain, heldOut);
      expect(Object.values(got).some((v) => v.some((x) => !Number.isFinite(x))), `${name}: plain fp16 overflows`).toBe(true);
    }
    const guarded = fp32.clone();
    const r = await autoMixedPrecision(guarded, nodeRunner, samples, { target: 'any', metric: 'cosine', tolerance: 0.01 });
    expect(r.fullConversionError).toBe(Infinity);
    expect(r.keptFloat32.length).toBeGreaterThan(0);
    expect(r.report.nodesConverted).toBeGreaterThan(0);
    const kept = r.report.decisions.filter((d) => r.keptFloat32.some((k) => k.node === d.node));
    // metric cosine, tolerance 0.01: an output must keep cosine 0.99; the search aims at 0.995 (headroom 0.5).
    for (const d of kept) expect(d.reason).toMatch(/^kept float32 by fp16-auto: converting it too takes an output past the search's aim \(cosine to float32 at least 0\.995; allowed 0\.99, headroom 0\.5\)(; in float16 (its output turns NaN or infinite|it adds \d\.\d\de[-+]\d+ relative L2 error to its own output))?$/);
    for (const { name, runner } of BACKENDS) {
      const want = await outputsOf(runner, fp32, heldOut);
      const got = await outputsOf(runner, guarded, heldOut);
      for (const [k, v] of Object.entries(got)) {
        expect(v.every(Number.isFinite), `${name} ${k}: finite`).toBe(true);
        expect(cosineSimilarity(Float64Array.from(want[k] as number[]), Float64Array.from(v)), `${name} ${k}`).toBeGreaterThanOrEqual(0.99);
      }
    }
  });
});
