// A repository written by bench's optimize workflow (the folder `onnx-forge optimize` makes): the highest
// version is served with every variant optimize found within tolerance, FP32 as the reference; other
// versions answer 404. And back-pressure: past the concurrency and queue limits, 503 at once.
import { cp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cnn, cosineSimilarity, writeModel } from '@onnx-forge/core';
import { optimizeModel, readManifest } from '@onnx-forge/bench';
import { createSession } from '@onnx-forge/runtime';
import { createServer, type DemoServer } from './create-server.js';
import { startServer, tempDir } from './testing/fixtures.js';
import { call } from './testing/v2-client.js';
import { v2Problems } from './testing/v2-schema.js';

let dir: string;
let remove: () => Promise<void>;
let server: DemoServer;
let url: string;

beforeAll(async () => {
  ({ dir, remove } = await tempDir('repository'));
  const file = path.join(dir, 'ranked.onnx');
  await writeModel(cnn({ channels: [8, 16], imageSize: 16, classes: 10, seed: 21 }), file);
  const options = { out: path.join(dir, 'out'), name: 'ranked', variants: ['fp32', 'fp16', 'int8-dynamic'] as const, runs: 10, warmup: 2, samples: 3, reports: false };
  await optimizeModel(file, { ...options, variants: [...options.variants] });
  await optimizeModel(file, { ...options, variants: [...options.variants] });
  // The folder optimize wrote (reports and repository/): the server finds the repository inside.
  ({ server, url } = await startServer({ models: path.join(dir, 'out') }));
});

afterAll(async () => {
  await server?.close();
  await remove?.();
});

describe('a repository written by optimize', () => {
  it('serves the highest version with its measured variants, the chosen one first and fp32 as reference', async () => {
    const manifest = await readManifest(path.join(dir, 'out/repository'), 'ranked', 2);
    const r = await call(`${url}/v2/models/ranked`, 'GET');
    expect(r.status).toBe(200);
    expect(v2Problems('metadata_model_response', r.json)).toEqual([]);
    const ok = manifest.variants.filter((v) => v.status === 'ok').map((v) => v.name);
    expect(r.json).toMatchObject({ name: 'ranked', versions: ['2'], parameters: { chosen: manifest.chosen, reference: 'fp32' } });
    const variants = (r.json as { parameters: { variants: string[] } }).parameters.variants;
    expect([...variants].sort()).toEqual([...ok].sort());
    expect(variants[0]).toBe(manifest.chosen);
  });

  it('answers on the served version (with and without it in the path), 404 on another', async () => {
    const x = Float32Array.from({ length: 768 }, (_, i) => Math.cos(i));
    const fp32 = await createSession(path.join(dir, 'out/repository/ranked/2/fp32.onnx'));
    const want = Array.from((await fp32.run({ image: { data: x, dims: [1, 3, 16, 16] } })).logits?.data as Float32Array);
    await fp32.release();
    const body = { inputs: [{ name: 'image', shape: [1, 3, 16, 16], datatype: 'FP32', data: Array.from(x) }] };
    for (const p of ['/v2/models/ranked/infer', '/v2/models/ranked/versions/2/infer']) {
      const r = await call(`${url}${p}`, 'POST', body);
      expect(r.status).toBe(200);
      expect(r.json).toMatchObject({ model_name: 'ranked', model_version: '2' });
      // Whichever variant answered, it is within optimize's tolerance of fp32.
      expect(cosineSimilarity((r.json as { outputs: { data: number[] }[] }).outputs[0]?.data ?? [], want)).toBeGreaterThan(0.99);
    }
    const old = await call(`${url}/v2/models/ranked/versions/1/infer`, 'POST', body);
    expect(old.status).toBe(404);
    expect((old.json as { error: string }).error).toMatch(/version 1 is not loaded; version 2 is served/);
    expect((await call(`${url}/v2/models/ranked/versions/3`, 'GET')).status).toBe(404);
  });

  it('reports per-variant statistics from the hybrid model', async () => {
    const r = await call(`${url}/v2/models/ranked/versions/2/stats`, 'GET');
    type Figures = { calls: number; successes: number; errors: number; cancelled: number; errorRate: number; routes: { warmup: number } };
    const s = (r.json as { model_stats: { hybrid: { reference: string; backends: Record<string, Figures> } }[] }).model_stats[0];
    expect(s?.hybrid.reference).toBe('fp32');
    expect(Object.keys(s?.hybrid.backends ?? {}).sort()).toEqual(['fp16', 'fp32', 'int8-dynamic']);
    for (const b of Object.values(s?.hybrid.backends ?? {})) {
      // Every variant was warmed up at load: a call, and a success.
      expect(b.routes.warmup).toBe(1);
      expect(b.calls).toBeGreaterThan(0);
      expect(b.successes).toBeGreaterThan(0);
      // Calls that ended are successes, errors or cancelled; the error rate is over the first two.
      expect(b.successes + b.errors + b.cancelled).toBeLessThanOrEqual(b.calls);
      expect(b.errorRate).toBe(b.errors ? b.errors / (b.successes + b.errors) : 0);
    }
  });
});

describe('a repository with a variant that is not ONNX', () => {
  it('refuses to start on it, naming the model, version, variant and file; the index of a server that starts anyway gives that version', async () => {
    const copy = path.join(dir, 'broken');
    await cp(path.join(dir, 'out/repository'), copy, { recursive: true });
    const file = path.join(copy, 'ranked/2/fp16.onnx');
    await writeFile(file, (await readFile(file)).subarray(0, 100));
    const error = await createServer({ models: copy, workers: 1, page: false, failOnLoadError: true }).then(() => undefined, (e: unknown) => e);
    expect(error).toMatchObject({ code: 'FORGE_INVALID_MODEL', details: { model: 'ranked', version: 2, variant: 'fp16', file } });
    expect((error as Error).message).toMatch(/^cannot load model 'ranked' version 2: variant fp16: cannot decode the ONNX model \(.*ranked\/2\/fp16\.onnx\)/);
    expect((error as Error).message).toContain(file);

    const lenient = await startServer({ models: copy });
    try {
      expect((await call(`${lenient.url}/v2/repository/index`, 'POST')).json).toEqual([
        // Clients see the file relative to the repository, not where the server keeps it.
        { name: 'ranked', version: '2', state: 'UNAVAILABLE', reason: expect.stringMatching(/^failed to load: variant fp16: cannot decode the ONNX model \(ranked\/2\/fp16\.onnx\)/) },
      ]);
      const r = await call(`${lenient.url}/v2/models/ranked/ready`, 'GET');
      expect(r.status).toBe(503);
      expect(r.json).toMatchObject({ code: 'FORGE_INVALID_MODEL', error: expect.stringContaining('(ranked/2/fp16.onnx)') });
      const load = await call(`${lenient.url}/v2/repository/models/ranked/load`, 'POST');
      expect(load.json).toMatchObject({ code: 'FORGE_INVALID_MODEL', error: expect.stringMatching(/^cannot load model 'ranked' version 2: variant fp16: cannot decode the ONNX model \(ranked\/2\/fp16\.onnx\)/) });
      for (const answer of [r, load]) expect(JSON.stringify(answer.json)).not.toContain(dir);
    } finally {
      await lenient.server.close();
    }
  });
});

describe('back-pressure', () => {
  it('answers 503 with an error object past the concurrency and queue limits, and recovers', async () => {
    const small = await startServer({ models: path.join(dir, 'ranked.onnx'), batching: false, maxConcurrent: 1, maxQueue: 1 });
    try {
      const body = { inputs: [{ name: 'image', shape: [16, 3, 16, 16], datatype: 'FP32', data: Array.from({ length: 16 * 768 }, (_, i) => Math.sin(i)) }] };
      // Whether 24 requests sent at once overlap enough to pass one running and one waiting depends on
      // how fast the (tiny) model answers on a loaded machine: rounds until one is refused, at most five.
      const answers: Awaited<ReturnType<typeof call>>[] = [];
      for (let round = 0; round < 5 && !answers.some((a) => a.status === 503); round++) {
        answers.push(...(await Promise.all(Array.from({ length: 24 }, () => call(`${small.url}/v2/models/ranked/infer`, 'POST', body)))));
      }
      const statuses = answers.map((a) => a.status);
      expect(statuses.filter((s) => s !== 200 && s !== 503)).toEqual([]);
      expect(statuses.filter((s) => s === 503).length).toBeGreaterThan(0);
      expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(2);
      for (const a of answers.filter((x) => x.status === 503)) {
        expect(v2Problems('error_response', a.json)).toEqual([]);
        expect((a.json as { error: string }).error).toMatch(/overloaded: 1 requests running and 1 waiting/);
        expect((a.json as { code: string }).code).toBe('FORGE_OVERLOADED');
      }
      expect((await call(`${small.url}/v2/models/ranked/infer`, 'POST', body)).status).toBe(200);
      const stats = (await call(`${small.url}/v2/models/ranked/stats`, 'GET')).json as { model_stats: { limits: { refused: number } }[] };
      expect(stats.model_stats[0]?.limits.refused).toBe(statuses.filter((s) => s === 503).length);
    } finally {
      await small.server.close();
    }
  });
});
