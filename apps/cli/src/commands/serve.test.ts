import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, assertNoStack, jsonOf, runCliProcess, sourceCommand } from '../testing/cli-process.js';
import { tempDir, writeMlp } from '../testing/fixtures.js';
import { freePort } from '@onnx-forge/core/testing';

const MAIN = fileURLToPath(new URL('../main.ts', import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;


describe('onnx-forge serve', () => {
  const tmp = tempDir();
  let model: string;
  let child: ChildProcess | undefined;
  beforeAll(async () => {
    model = await writeMlp(path.join(tmp.dir, 'digits.onnx'));
  });
  afterAll(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    tmp.cleanup();
  });

  it('serves a bare model under its stem, answers V2 inference, and stops cleanly on SIGTERM', async () => {
    const port = await freePort();
    child = spawn(process.execPath, ['--conditions=@onnx-forge/source', '--import', TSX, MAIN, 'serve', model, '--port', String(port), '--host', '127.0.0.1', '--workers', '1', '--no-page', '--max-elements', '40', '--max-output-bytes', '24', '--grace-ms', '5000'], {
      cwd: REPO_ROOT,
      env: { ...process.env, ONNX_FORGE_DEBUG: '', NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const proc = child;
    let out = '';
    proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
    const t0 = performance.now();
    let status = 0;
    while (status !== 200 && performance.now() - t0 < 60_000 && proc.exitCode === null) {
      status = await fetch(`http://127.0.0.1:${port}/v2/health/ready`).then((r) => r.status, () => 0);
      if (status !== 200) await new Promise((r) => setTimeout(r, 200));
    }
    expect(status, out).toBe(200);
    expect(out).toContain(`digits (ready) on http://127.0.0.1:${port}`);

    const meta = (await (await fetch(`http://127.0.0.1:${port}/v2/models/digits`)).json()) as { inputs: { name: string; datatype: string; shape: number[] }[] };
    expect(meta.inputs).toEqual([{ name: 'x', datatype: 'FP32', shape: [-1, 16] }]);
    const res = await fetch(`http://127.0.0.1:${port}/v2/models/digits/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'x', shape: [1, 16], datatype: 'FP32', data: Array.from({ length: 16 }, (_, i) => i / 16) }] }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { outputs: { name: string; shape: number[] }[] }).outputs[0]).toMatchObject({ name: 'y', shape: [1, 4] });
    // --max-output-bytes reached the server: two rows answer 32 bytes, over its 24.
    const wide = await fetch(`http://127.0.0.1:${port}/v2/models/digits/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'x', shape: [2, 16], datatype: 'FP32', data: Array.from({ length: 32 }, (_, i) => i / 32) }] }),
    });
    expect(wide.status).toBe(413);
    // --max-elements reached the server: 48 elements are over its 40.
    const big = await fetch(`http://127.0.0.1:${port}/v2/models/digits/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'x', shape: [3, 16], datatype: 'FP32', data: Array.from({ length: 48 }, () => 0) }] }),
    });
    expect(big.status).toBe(413);

    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(out).toMatch(/SIGTERM: stopping/);
  });

  it('--json: stdout is one JSON line saying where it listens, logs stay on stderr', async () => {
    const port = await freePort();
    const proc = spawn(process.execPath, ['--conditions=@onnx-forge/source', '--import', TSX, MAIN, 'serve', model, '--port', String(port), '--host', '127.0.0.1', '--workers', '1', '--json'], {
      cwd: REPO_ROOT,
      env: { ...process.env, ONNX_FORGE_DEBUG: '', NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    let stdout = '';
    let stderr = '';
    proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
    const line = await new Promise<string>((resolve, reject) => {
      proc.stdout?.on('data', (d: Buffer) => {
        stdout += d.toString();
        if (stdout.includes('\n')) resolve(stdout.slice(0, stdout.indexOf('\n')));
      });
      proc.on('exit', () => reject(new Error(`serve exited before listening: ${stderr}`)));
    });
    const url = `http://127.0.0.1:${port}`;
    expect(JSON.parse(line)).toEqual({ url, models: [{ name: 'digits', state: 'READY' }], page: `${url}/`, protocol: `${url}/v2`, metrics: `${url}/metrics`, readySeconds: expect.any(Number) });
    expect((await fetch(`${url}/v2/health/ready`)).status).toBe(200);
    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stdout).toBe(`${line}\n`);
    expect(stderr).toMatch(/SIGTERM: stopping/);
  });

  it('stops the server when the reader of its output leaves (serve | head -1), instead of leaving it serving, orphaned', async () => {
    const piped = await writeMlp(path.join(tmp.dir, 'piped-serve.onnx'));
    const port = await freePort();
    const command = sourceCommand(['serve', piped, '--port', String(port), '--host', '127.0.0.1', '--workers', '1', '--no-page']);
    const pipeline = spawn('bash', ['-c', `${command} 2>&1 | head -1`], { env: { ...process.env, ONNX_FORGE_DEBUG: '', NODE_OPTIONS: '' }, stdio: ['ignore', 'pipe', 'ignore'] });
    let first = '';
    pipeline.stdout?.on('data', (d: Buffer) => (first += d.toString()));
    const ended = new Promise<void>((resolve) => pipeline.on('close', () => resolve()));
    let done = false;
    void ended.then(() => (done = true));
    try {
      // head has its line and is gone, but the command learns so only at its next write, and a server
      // that is up prints nothing until something happens: a reload of the model makes it print a line
      // (unless the lines of the start already came after head had left, and the command is gone).
      const t0 = performance.now();
      let ready = false;
      while (!done && !ready && performance.now() - t0 < 30_000) {
        ready = await fetch(`http://127.0.0.1:${port}/v2/health/ready`).then((r) => r.status === 200, () => false);
        if (!ready) await new Promise((r) => setTimeout(r, 100));
      }
      if (!done) await fetch(`http://127.0.0.1:${port}/v2/repository/models/piped-serve/load`, { method: 'POST' }).catch(() => undefined);
      await Promise.race([ended, new Promise((r) => setTimeout(r, 30_000))]);
      expect(done, 'the pipeline ended').toBe(true);
    } finally {
      if (!done) pipeline.kill('SIGKILL');
    }
    expect(first).toMatch(/piped-serve/);
    // The server child goes within its grace period: no process serves the model any more.
    const serving = () => execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(piped));
    for (let i = 0; i < 100 && serving().length; i++) await new Promise((r) => setTimeout(r, 100));
    expect(serving()).toEqual([]);
  }, 60_000);

  it('exits 2 for a bad port and 1 for a model that does not exist, with one line', async () => {
    const bad = await runCliProcess(['serve', model, '--port', 'eighty']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--port takes a port number/);
    const missing = await runCliProcess(['serve', path.join(tmp.dir, 'nope.onnx')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/cannot read ".*nope.onnx": no such file or folder/);
  });

  it('does not start on a model that is not ONNX: exit 3 with one line naming the file, before listening', async () => {
    // What `head -c 100 digits.onnx > trunc.onnx` makes. (Graphs that break an ONNX rule, FORGE_INVALID_GRAPH,
    // and models only onnxruntime refuses, FORGE_RUNTIME: apps/demo-server/src/load-failure.test.ts.)
    const trunc = path.join(tmp.dir, 'trunc.onnx');
    writeFileSync(trunc, readFileSync(model).subarray(0, 100));
    const port = String(await freePort());
    const [truncated, json, badFlag] = await Promise.all([
      runCliProcess(['serve', trunc, '--port', port, '--workers', '1', '--no-page']),
      runCliProcess(['serve', trunc, '--port', port, '--workers', '1', '--no-page', '--json']),
      runCliProcess(['serve', model, '--workers', 'x']),
    ]);
    expect(truncated.code, truncated.stderr).toBe(3);
    // One line, in the CLI's own format, and nothing else: no URL (it never listened), no second log line.
    expect(truncated.stderr).toMatch(/^onnx-forge serve: error FORGE_INVALID_MODEL: cannot load model 'trunc' version 1: cannot decode the ONNX model \(.*trunc\.onnx\): [^\n]*truncated[^\n]*\n$/);
    expect(truncated.stdout).toBe('');
    assertNoStack(truncated);
    expect(json.code).toBe(3);
    expect(jsonOf<{ error: { code: string; details: { file: string } } }>(json).error).toMatchObject({ code: 'FORGE_INVALID_MODEL', details: { file: trunc } });
    // A flag only the server checks: the usage code, one line (not the server's usage text).
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toMatch(/^onnx-forge serve: error FORGE_INVALID_OPTIONS: --workers takes an integer ≥ 1, got "x"\n$/);
  });

  it('lists serve in the program help with its flags', async () => {
    const help = await runCliProcess(['serve', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--max-batch/);
    // The server's defaults are said where it has them, workers too.
    expect(help.stdout.replace(/\s+/g, ' ')).toContain('(default 2, or 1 on a single core)');
    expect(help.stdout).toMatch(/Open Inference Protocol/);
  });
});
