import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { mlp, readModel, writeModel } from '@onnx-forge/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PipelineJson } from '../pipeline/pipeline-report.js';
import { assertNoStack, interruptCli, jsonOf, runCliProcess, sourceCommand } from '../testing/cli-process.js';
import { runCliInProcess } from '../testing/cli-in-process.js';
import { tempDir, writeMlp } from '../testing/fixtures.js';

/** Where run, fp16 and quantize may write (-o), and what they say when they may not. */
describe('onnx-forge output safety', () => {
  const tmp = tempDir();
  const file = (name: string) => path.join(tmp.dir, name);
  let input: string;
  // A model whose weights are in ext/m.onnx.data (about 33 kB of them, beside a small .onnx).
  let ext: string;
  beforeAll(async () => {
    input = await writeMlp(file('mlp.onnx'), [64, 128, 8]);
    mkdirSync(file('ext'));
    ext = file('ext/m.onnx');
    const w = await writeModel(mlp({ sizes: [64, 128, 8] }), ext, { inlineLimit: 4096 });
    expect(w.externalData?.path).toBe(`${ext}.data`);
  });
  afterAll(() => tmp.cleanup());

  const isRoot = process.getuid?.() === 0;

  it('Ctrl-C (or SIGTERM) while the output is written: exit 130 (143), FORGE_CANCELLED, the existing output as it was and no temporary file', async () => {
    // About 134 MB of weights (67 MB in float16): the write lasts long enough for the signal to land in it.
    const big = await writeMlp(file('big.onnx'), [16, 4096, 4096, 4096, 4]);
    const out = file('big.fp16.onnx');
    writeFileSync(out, 'previous model');
    for (const [signal, exit] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
      const { code, stderr, sent } = await interruptCli(['fp16', big, '-o', out, '--no-verify'], /^writing /m, signal);
      expect(sent, stderr).toBe(true);
      expect(code, `${signal}: ${stderr}`).toBe(exit);
      expect(stderr).toContain(`cancelling: ${out} is not written`);
      expect(stderr).toMatch(/^onnx-forge fp16: error FORGE_CANCELLED: cancelled while writing .*: nothing was written$/m);
      expect(readFileSync(out, 'utf8')).toBe('previous model');
      expect(readdirSync(tmp.dir).filter((f) => f.startsWith('big.fp16.onnx'))).toEqual(['big.fp16.onnx']);
    }
  }, 90_000);

  it('refuses -o that names a folder not yet made (a trailing /) before any work, exit 2, in every command that writes a model', async () => {
    for (const [cmd, extra] of [['fp16', ['--no-verify']], ['quantize', ['--no-verify']], ['run', ['--pipeline', 'cleanup']]] as const) {
      const out = file('not-yet/');
      const r = await runCliInProcess([cmd, input, '-o', out, ...extra]);
      expect(r.code, `${cmd} -o ${out}`).toBe(2);
      expect(r.stderr).toContain(`error FORGE_INVALID_OPTIONS: --output ${out} names a folder; give the path of the model file to write (such as ${file('not-yet/model.onnx')})`);
    }
    // Before, the model was written as a file named "not-yet".
    expect(existsSync(file('not-yet'))).toBe(false);
  });

  it('a reader that leaves early (2>&1 | head -1) does not stop the write: the model is written, exit 0; inspect still stops there', async () => {
    // About 34 MB of weights: reading them lasts past the first progress line, which is all head takes.
    const big = await writeMlp(file('piped.onnx'), [16, 2048, 2048, 2048, 4]);
    const out = file('piped.fp16.onnx');
    const shell = (args: string[]) => execFileSync('bash', ['-c', `set -o pipefail; ${sourceCommand(args)} 2>&1 | head -1 >/dev/null; echo $?`], {
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: '', ONNX_FORGE_DEBUG: '' },
    }).trim();
    expect(shell(['fp16', big, '-o', out, '--no-verify'])).toBe('0');
    // Before, the CLI exited 0 at the first write to the closed pipe, before the model was written.
    await expect(readModel(out)).resolves.toBeDefined();
    expect(readdirSync(tmp.dir).filter((f) => f.startsWith('piped.fp16.onnx'))).toEqual(['piped.fp16.onnx']);
    expect(shell(['inspect', big])).toBe('0');
  }, 60_000);

  it('refuses a FIFO as -o before any work, exit 2, leaving it a FIFO', async () => {
    const fifo = file('fifo');
    execFileSync('mkfifo', [fifo]);
    const r = await runCliProcess(['fp16', input, '-o', fifo, '--no-verify']);
    expect(r.code).toBe(2);
    assertNoStack(r);
    expect(r.stderr).toMatch(new RegExp(`^onnx-forge fp16: error FORGE_INVALID_OPTIONS: --output ${fifo} is a named pipe \\(FIFO\\), not a model file`, 'm'));
    expect(r.stderr).not.toMatch(/reading/);
    expect(statSync(fifo).isFIFO()).toBe(true);
  });

  it.runIf(isRoot)('refuses a device as -o, exit 2, leaving it a device (mknod, as root)', async () => {
    const dev = file('nulldev');
    execFileSync('mknod', ['-m', '666', dev, 'c', '1', '3']);
    const r = await runCliProcess(['run', input, '-o', dev, '-p', 'cleanup']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/error FORGE_INVALID_OPTIONS: --output .*nulldev is a device, not a model file/);
    expect(statSync(dev).isCharacterDevice()).toBe(true);
  });

  it('writes through a symbolic link as -o (the file it leads to is replaced, the link stays), and refuses a link to the input', async () => {
    writeFileSync(file('target.onnx'), 'old');
    symlinkSync('target.onnx', file('link.onnx'));
    const r = await runCliProcess(['fp16', input, '-o', file('link.onnx'), '--no-verify']);
    expect(r.code, r.stderr).toBe(0);
    expect(lstatSync(file('link.onnx')).isSymbolicLink()).toBe(true);
    expect(readFileSync(file('target.onnx')).length).toBeGreaterThan(100);
    expect((await readModel(file('link.onnx'))).graph.nodes.length).toBeGreaterThan(0);

    symlinkSync('mlp.onnx', file('to-input.onnx'));
    const same = await runCliProcess(['fp16', input, '-o', file('to-input.onnx'), '--no-verify']);
    expect(same.code).toBe(2);
    expect(same.stderr).toMatch(/--output .*to-input\.onnx is the input model itself/);

    symlinkSync('nowhere.onnx', file('dangling.onnx'));
    const dangling = await runCliProcess(['fp16', input, '-o', file('dangling.onnx'), '--no-verify']);
    expect(dangling.code).toBe(2);
    expect(dangling.stderr).toMatch(/--output .*dangling\.onnx is a symbolic link to a file that does not exist/);
    expect(existsSync(file('nowhere.onnx'))).toBe(false);
  });

  it('refuses -o naming the input\'s external data, even with --force, before any pass; the input stays intact', async () => {
    const before = readFileSync(`${ext}.data`);
    for (const extra of [[], ['--force']]) {
      const r = await runCliProcess(['fp16', ext, '-o', `${ext}.data`, '--no-verify', ...extra]);
      expect(r.code, r.stderr).toBe(2);
      assertNoStack(r);
      expect(r.stderr).toMatch(/error FORGE_INVALID_OPTIONS: --output would replace .*ext\/m\.onnx\.data, the external data of the input model .*ext\/m\.onnx/);
      expect(r.stderr).not.toMatch(/\[1\/1\] fp16/);
    }
    expect(readFileSync(`${ext}.data`).equals(before)).toBe(true);
    // The output's side file (--external-data writes o.onnx.data for -o o.onnx) is held to the same rule.
    mkdirSync(file('ext2'));
    const ext2 = file('ext2/m.onnx');
    await writeModel(mlp({ sizes: [64, 128, 8] }), ext2, { externalData: { location: 'o.onnx.data' } });
    const side = await runCliProcess(['run', ext2, '-o', file('ext2/o.onnx'), '-p', 'cleanup', '--external-data']);
    expect(side.code, side.stderr).toBe(2);
    expect(side.stderr).toMatch(/--output would replace .*ext2\/o\.onnx\.data, the external data of the input model/);
    expect(existsSync(file('ext2/o.onnx'))).toBe(false);
    expect((await readModel(ext)).graph.nodes.length).toBeGreaterThan(0);
  });

  it('counts the input\'s external data in its size (text and --json)', async () => {
    const onnx = statSync(ext).size;
    const data = statSync(`${ext}.data`).size;
    const r = await runCliProcess(['run', ext, '-o', file('ext-copy.onnx'), '-p', 'cleanup', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = jsonOf<PipelineJson & { input: { externalData?: { bytes: number } } }>(r);
    expect(j.input.bytes).toBe(onnx + data);
    expect(j.input.externalData?.bytes).toBe(data);
    const text = await runCliProcess(['run', ext, '-o', file('ext-copy2.onnx'), '-p', 'cleanup']);
    // Unchanged weights, all inline now: about the same size, not +700 %.
    expect(text.stdout.split('\n')[0]).toMatch(/ext\/m\.onnx \+ external data m\.onnx\.data \(\d[\d.]* kB\) -> .*ext-copy2\.onnx \(\d[\d.]* kB, [+-]?\d\.\d%\)/);
    const stream = await runCliProcess(['quantize', ext, '-o', file('ext-q.onnx'), '--stream', '--no-verify', '--json']);
    expect(stream.code, stream.stderr).toBe(0);
    expect(jsonOf<PipelineJson>(stream).input.bytes).toBe(onnx + data);
    // fp16 and quantize name the side file in their first line too.
    for (const args of [['fp16', ext, '-o', file('ext-16.onnx'), '--no-verify'], ['quantize', ext, '-o', file('ext-q2.onnx'), '--no-verify']]) {
      const line = await runCliProcess(args);
      expect(line.code, line.stderr).toBe(0);
      expect(line.stdout.split('\n')[0], args[0]).toMatch(/ext\/m\.onnx \+ external data m\.onnx\.data \(\d[\d.]* kB\) -> /);
    }
  });

  it('names the user\'s path and the real reason when -o cannot be created, never a temporary name', async () => {
    const proc = await runCliProcess(['fp16', input, '-o', '/proc/forge-test.onnx', '--no-verify']);
    expect(proc.code).toBe(1);
    expect(proc.stderr).toMatch(/^onnx-forge fp16: error FORGE_IO: cannot create "\/proc\/forge-test\.onnx": (the file system of "\/proc" does not take new files|no permission to write in "\/proc")$/m);
    expect(proc.stderr).not.toMatch(/\.tmp-/);
  });

  it('refuses an --inputs folder that does not exist (exit 1) or is a file (exit 2) in one line', async () => {
    const missing = await runCliProcess(['fp16', input, '-o', file('never.onnx'), '--inputs', file('no-such-folder')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^onnx-forge fp16: error FORGE_IO: cannot read the --inputs folder ".*no-such-folder": it does not exist$/m);
    const notFolder = await runCliProcess(['quantize', input, '-o', file('never.onnx'), '--inputs', input]);
    expect(notFolder.code).toBe(2);
    expect(notFolder.stderr).toMatch(/error FORGE_INVALID_OPTIONS: --inputs .*mlp\.onnx is not a folder/);
    expect(readdirSync(tmp.dir)).not.toContain('never.onnx');
  });
});
