// `npm start` as a user runs it: the root start script on a fresh cache folder makes the sample and its
// variants, serves them, and answers /v2/health/ready with 200 within a minute; SIGTERM while requests
// are in flight lets every one of them finish, then the process exits 0.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseServerArgs } from './run-server.js';
import { tempDir } from './testing/fixtures.js';
import { freePort } from '@onnx-forge/core/testing';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));


/** POSTs `body` on its own connection; resolves with the status and the body, or the connection error. */
function post(port: number, pathName: string, body: Buffer, headers: Record<string, string>): { sent: Promise<void>; done: Promise<{ status: number; body: Buffer; at: number } | Error> } {
  let onSent: () => void = () => undefined;
  const sent = new Promise<void>((r) => (onSent = r));
  const done = new Promise<{ status: number; body: Buffer; at: number } | Error>((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: pathName, method: 'POST', headers: { ...headers, 'content-length': String(body.length) }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), at: performance.now() }));
    });
    req.on('error', (e) => resolve(e));
    req.on('finish', onSent);
    req.end(body);
  });
  return { sent, done };
}

describe('npm start', () => {
  let child: ChildProcess | undefined;
  let remove: (() => Promise<void>) | undefined;

  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await remove?.();
  });

  it('listens on 8080 unless --port or PORT says otherwise, and takes the batching flags', () => {
    expect(parseServerArgs(['m.onnx'], {}).port).toBe(8080);
    expect(parseServerArgs(['m.onnx'], { PORT: '9001' }).port).toBe(9001);
    expect(parseServerArgs(['m.onnx', '--port', '9002'], { PORT: '9001' }).port).toBe(9002);
    expect(() => parseServerArgs(['m.onnx', '--port', 'x'], {})).toThrow(/--port takes an integer/);
    expect(() => parseServerArgs([], {})).toThrow(/give one model file or repository folder/);
    expect(parseServerArgs(['m.onnx', '--max-batch', '32', '--max-delay-ms', '5', '--preferred-batch-sizes', '8,16'], {}).options.batching).toEqual({ maxBatch: 32, maxDelayMs: 5, preferredBatchSizes: [8, 16] });
    expect(parseServerArgs(['m.onnx', '--no-batching'], {}).options.batching).toBe(false);
  });

  it('serves the sample on a fresh cache within a minute, then stops gracefully on SIGTERM with requests in flight', async () => {
    const cache = await tempDir('start');
    remove = cache.remove;
    const port = await freePort();
    const t0 = performance.now();
    // What `npm start` runs (the root package.json's "start"), without npm in between so the signal reaches node.
    const start = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start.split(' ');
    expect(start[0]).toBe('node');
    const proc = spawn(process.execPath, start.slice(1), {
      cwd: ROOT,
      env: { ...process.env, PORT: String(port), ONNX_FORGE_CACHE: cache.dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    let stdout = '';
    let stderr = '';
    proc.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));

    let ready = 0;
    while (performance.now() - t0 < 60_000 && proc.exitCode === null) {
      ready = await fetch(`http://127.0.0.1:${port}/v2/health/ready`).then((r) => r.status, () => 0);
      if (ready === 200) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const seconds = (performance.now() - t0) / 1000;
    expect(ready, `${stdout}\n${stderr}`).toBe(200);
    expect(seconds).toBeLessThan(60);
    expect(stdout).toContain(`on http://localhost:${port} `);
    expect(stderr).toMatch(/making the sample model and its variants/);

    const meta = (await (await fetch(`http://127.0.0.1:${port}/v2/models/sample-cnn`)).json()) as { inputs: { shape: number[] }[]; parameters: { variants: string[] } };
    expect(meta.inputs[0]?.shape).toEqual([-1, 3, 32, 32]);
    expect([...meta.parameters.variants].sort()).toEqual(['fp16', 'fp32', 'int8-dynamic']);

    // 32 requests of 64 images each, in binary. SIGTERM once the server holds every one of them (its
    // stats count them running, waiting or done) and some are still running: those must finish.
    const rows = 64;
    const count = 32;
    const statsOf = async () => ((await (await fetch(`http://127.0.0.1:${port}/v2/models/sample-cnn/stats`)).json()) as { model_stats: { inference_count: number; limits: { in_flight: number; queued: number } }[] }).model_stats[0];
    const before = (await statsOf())?.inference_count ?? 0;
    const image = Buffer.from(Float32Array.from({ length: rows * 3 * 32 * 32 }, (_, i) => Math.sin(i)).buffer);
    const header = Buffer.from(JSON.stringify({ inputs: [{ name: 'image', shape: [rows, 3, 32, 32], datatype: 'FP32', parameters: { binary_data_size: image.length } }] }));
    const body = Buffer.concat([header, image]);
    const calls = Array.from({ length: count }, () => post(port, '/v2/models/sample-cnn/infer', body, { 'inference-header-content-length': String(header.length), 'content-type': 'application/octet-stream' }));
    await Promise.all(calls.map((c) => c.sent));
    let held = 0;
    let running = 0;
    const waitFrom = performance.now();
    while (held < count && performance.now() - waitFrom < 30_000) {
      const s = await statsOf();
      running = (s?.limits.in_flight ?? 0) + (s?.limits.queued ?? 0);
      held = running + (s?.inference_count ?? 0) - before;
    }
    expect(held).toBe(count);
    const killedAt = performance.now();
    proc.kill('SIGTERM');
    const results = await Promise.all(calls.map((c) => c.done));
    for (const r of results) {
      expect(r instanceof Error ? r.message : r.status).toBe(200);
      const json = JSON.parse((r as { body: Buffer }).body.toString()) as { outputs: { shape: number[]; data: number[] }[] };
      expect(json.outputs[0]?.shape).toEqual([rows, 10]);
      expect(json.outputs[0]?.data).toHaveLength(rows * 10);
      expect(json.outputs[0]?.data.every(Number.isFinite)).toBe(true);
    }
    // Requests were still running when the signal came, and were answered after it.
    expect(running).toBeGreaterThan(0);
    expect(results.filter((r) => !(r instanceof Error) && r.at > killedAt).length).toBeGreaterThan(0);
    expect(await exited).toBe(0);
    expect(stderr).toMatch(/SIGTERM: stopping/);
    expect(stderr).toMatch(/stopped/);
    // Nothing listens any more.
    expect(await fetch(`http://127.0.0.1:${port}/v2/health/live`).then((r) => r.status, () => 'refused')).toBe('refused');
  });
});
