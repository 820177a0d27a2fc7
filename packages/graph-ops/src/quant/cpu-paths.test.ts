import { fc, test } from '@fast-check/vitest';
import { readModel } from '@onnx-forge/core';
import { cpuInfo, probeInt8Arithmetic } from '@onnx-forge/runtime';
import { hasValgrind, runUnderValgrind } from '@onnx-forge/runtime/testing';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUANT_CASES, quantCaseFeeds } from '../testing/quant-models.js';
import { PATH_CASES, measureInt8Paths, prepareInt8Paths, type PathResult } from '../testing/int8-paths.js';
import { quantizeDynamic } from './int8-dynamic.js';
import { INT8_METADATA, SATURATION_SAFE_CODE } from './isa-forms.js';
import { exactDot, int8WeightRisks, saturatingPairDot } from './saturation-check.js';

/**
 * INT8 must hold on both kinds of x86 CPU onnxruntime distinguishes: with VNNI (u8 x s8 products
 * summed exactly) and without (AVX2, AVX-512 without VNNI: adjacent products summed into saturating
 * int16 by vpmaddubsw). This machine is one kind; the other is reached by running onnxruntime under
 * valgrind, which hides AVX-512 from it. Every model is also checked against plain-JavaScript
 * references of both arithmetics, so no verdict depends on the host's instruction set.
 */

let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'int8-paths-'));
  await prepareInt8Paths(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const u8 = fc.integer({ min: 0, max: 255 });
const s8 = fc.integer({ min: -128, max: 127 });
const safe = fc.integer({ min: -SATURATION_SAFE_CODE, max: SATURATION_SAFE_CODE });

describe('references of the two INT8 arithmetics', () => {
  test.prop([fc.array(fc.tuple(u8, safe), { minLength: 1, maxLength: 300 })])('7-bit weights: the saturating-pairs sum equals the exact sum for any u8 activations', (pairs) => {
    const a = pairs.map(([x]) => x);
    const b = pairs.map(([, w]) => w);
    expect(saturatingPairDot(a, b)).toBe(exactDot(a, b));
  });

  test.prop([fc.array(fc.tuple(u8, s8), { minLength: 1, maxLength: 300 })])('the saturating-pairs sum is the exact one with each pair clipped to int16', (pairs) => {
    const a = pairs.map(([x]) => x);
    const b = pairs.map(([, w]) => w);
    let want = 0;
    for (let i = 0; i < a.length; i += 2) want += Math.max(-32768, Math.min(32767, exactDot(a.slice(i, i + 2), b.slice(i, i + 2))));
    expect(saturatingPairDot(a, b)).toBe(want);
  });

  it('full-range weights saturate: 255 x 127 + 255 x 127 = 64770 is cut to 32767', () => {
    expect(exactDot([255, 255], [127, 127])).toBe(64770);
    expect(saturatingPairDot([255, 255], [127, 127])).toBe(32767);
    expect(saturatingPairDot([255, 255], [-128, -128])).toBe(-32768);
    expect(saturatingPairDot([255, 255], [64, 64])).toBe(32640);
  });
});

describe('the int8 weights of each form', () => {
  it.each(QUANT_CASES.map((c) => [c.name, c] as const))('%s: portable codes stay within ±64 (safe without VNNI), vnni codes use the full range', async (_name, c) => {
    const portable = c.build();
    const report = await quantizeDynamic(portable);
    expect(report.int8Form).toMatchObject({ isa: 'portable', saturationSafe: true });
    expect(portable.metadata(INT8_METADATA.saturationSafe)).toBe('yes');
    const risks = int8WeightRisks(portable);
    for (const r of risks) expect(r, `${r.node}`).toMatchObject({ safe: true });

    const vnni = c.build();
    const vr = await quantizeDynamic(vnni, { isa: 'vnni' });
    const vnniRisks = int8WeightRisks(vnni);
    // Cases whose only integer weights are uint8 (ConvInteger) have nothing at risk in either form.
    if (vnniRisks.length) {
      expect(vr.int8Form.saturationSafe).toBe(false);
      expect(vnni.metadata(INT8_METADATA.saturationSafe)).toBe('no');
      expect(vnniRisks.some((r) => !r.safe && r.maxCode > SATURATION_SAFE_CODE)).toBe(true);
      expect(vr.int8Form.reasons.join(' ')).toMatch(/isa vnni/);
    }
    expect(report.int8Form.reasons.join(' ')).toMatch(/7-bit weights \(isa portable/);
  });

  it('reads the risk of a model quantized elsewhere (full-range int8 weights, no metadata)', async () => {
    const m = QUANT_CASES[1]?.build();
    if (!m) throw new Error('no case');
    await quantizeDynamic(m, { reduceRange: false });
    m.setMetadata(INT8_METADATA.saturationSafe, undefined);
    const risks = int8WeightRisks(m);
    expect(risks.length).toBeGreaterThan(0);
    expect(risks.every((r) => r.maxCode === 127 && !r.safe)).toBe(true);
  });
});

function summarize(results: PathResult[], where: string): string {
  return results.map((r) => {
    const mm = r.matmuls.reduce((s, m) => ({ e: s.e + m.elements, x: s.x + m.matchesExact, p: s.p + m.matchesSaturating, d: s.d + m.referencesDiffer }), { e: 0, x: 0, p: 0, d: 0 });
    return `${where} ${r.case.padEnd(36)} ${r.form.padEnd(8)} cosine ${r.cosine.toFixed(5)}  MatMulInteger elements ${mm.e}: = exact ${mm.x}, = saturating ${mm.p}, references differ ${mm.d}`;
  }).join('\n');
}

/** Checks shared by both paths: which reference onnxruntime matched, and the portable form's accuracy. */
function checkPath(results: PathResult[], arithmetic: 'exact' | 'saturating'): void {
  expect(results.map((r) => `${r.case}/${r.form}`)).toEqual(PATH_CASES.flatMap((c) => [`${c}/portable`, `${c}/vnni`]));
  for (const r of results) {
    // Every case has integer products to check, those inside If branches included.
    expect(r.matmuls.length, `${r.case}/${r.form}: MatMulInteger nodes checked`).toBeGreaterThan(0);
    for (const m of r.matmuls) {
      expect(m.elements, `${r.case}/${r.form} ${m.node}`).toBeGreaterThan(0);
      // onnxruntime's int32 results are exactly the reference of the arithmetic this path uses.
      const matched = arithmetic === 'exact' ? m.matchesExact : m.matchesSaturating;
      expect(matched, `${r.case}/${r.form} ${m.node}`).toBe(m.elements);
      // 7-bit weights: no product pair can leave int16, so both arithmetics agree everywhere.
      if (r.form === 'portable') expect(m.referencesDiffer, `${r.case} ${m.node}`).toBe(0);
    }
    if (r.form === 'portable') expect(r.cosine, `${r.case}`).toBeGreaterThanOrEqual(0.99);
  }
  // With full-range weights these inputs do saturate: the check can fail.
  expect(results.filter((r) => r.form === 'vnni').some((r) => r.matmuls.some((m) => m.referencesDiffer > 0))).toBe(true);
}

describe('INT8 models on the two x86 INT8 paths', () => {
  it("this machine's path: the portable form stays within cosine 0.99 and onnxruntime's integer products match the reference of its arithmetic", async () => {
    const [probe, cpu] = await Promise.all([probeInt8Arithmetic(), cpuInfo()]);
    const results = await measureInt8Paths(dir);
    console.info(`INT8 path of this machine (${cpu.model || cpu.arch}, ${cpu.isa}): ${probe.arithmetic}\n${summarize(results, 'here')}`);
    checkPath(results, probe.arithmetic);
    if (probe.arithmetic === 'exact') for (const r of results.filter((x) => x.form === 'vnni')) expect(r.cosine).toBeGreaterThanOrEqual(0.99);
  });

  it.skipIf(!hasValgrind() || process.arch !== 'x64')('the AVX2 path (onnxruntime under valgrind): the portable form still holds; full-range weights do not', () => {
    const script = fileURLToPath(new URL('../testing/int8-paths-main.ts', import.meta.url));
    const out = JSON.parse(runUnderValgrind(script, [dir]).trim().split('\n').pop() ?? '{}') as { arithmetic: 'exact' | 'saturating'; results: PathResult[] };
    console.info(`INT8 on the AVX2 path (valgrind): ${out.arithmetic}\n${summarize(out.results, 'avx2')}`);
    expect(out.arithmetic).toBe('saturating');
    checkPath(out.results, 'saturating');
    // Saturation costs the full-range form accuracy on at least one case (the If model; the test prints each cosine).
    expect(Math.min(...out.results.filter((r) => r.form === 'vnni').map((r) => r.cosine))).toBeLessThan(0.99);
  }, 600_000);

  it('prepared every model file', async () => {
    expect(readdirSync(dir).length).toBe(PATH_CASES.length * 5);
    // The files are real models (a read would throw on a truncated one).
    for (const f of readdirSync(dir)) await readModel(join(dir, f));
  });
});

it('seeded inputs are reproducible (the two paths, in two processes, see the same activations)', () => {
  for (const name of PATH_CASES) {
    const c = QUANT_CASES.find((x) => x.name === name);
    if (!c) throw new Error(`no case ${name}`);
    const model = c.build();
    expect(quantCaseFeeds(c, model, 7), name).toEqual(quantCaseFeeds(c, c.build(), 7));
    expect(quantCaseFeeds(c, model, 7), name).not.toEqual(quantCaseFeeds(c, model, 8));
  }
});
