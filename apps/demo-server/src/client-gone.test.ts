// A client that closes its connection before the answer gives its request up: the request leaves the
// model's queue at once, so the place it held goes to the next client instead of answering 503 to it,
// and the model's figures count it as neither a success nor a failure. Before this, an abandoned
// request kept its place until a slot came and then ran for nobody.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelBuilder } from '@onnx-forge/core';
import type { DemoServer } from './create-server.js';
import { startServer, tempDir, writeModels } from './testing/fixtures.js';
import { call } from './testing/v2-client.js';

/** About 0.7 s per run here: 80 products of 1024 × 1024 matrices built from one input value (no large weights). */
function slowModel() {
  const b = new ModelBuilder({ opset: 17, graphName: 'slow' });
  const x = b.input('x', 'float32', [1]);
  let m = b.op('Expand', [x, b.constant([1024, 1024], 'int64')]);
  for (let i = 0; i < 80; i++) m = b.op('Mul', [b.op('MatMul', [m, m]), b.constant([1 / 1024])]);
  b.output(b.op('ReduceMean', [m], { keepdims: 0 }, { outputs: ['y'] }), 'float32', []);
  return b.build();
}

interface Limits {
  in_flight: number;
  queued: number;
  refused: number;
  withdrawn: number;
}

let server: DemoServer;
let url: string;
let remove: () => Promise<void>;

beforeAll(async () => {
  let dir: string;
  ({ dir, remove } = await tempDir('client-gone'));
  await writeModels(dir, { slow: slowModel() });
  ({ server, url } = await startServer({ models: dir, batching: false, maxConcurrent: 1, maxQueue: 1 }));
}, 60_000);

afterAll(async () => {
  await server?.close();
  await remove?.();
});

async function stats(): Promise<{ limits: Limits; inference_stats: { success: { count: number }; fail: { count: number } } }> {
  const r = await call(`${url}/v2/models/slow/stats`, 'GET');
  return (r.json as { model_stats: never[] }).model_stats[0] as never;
}

async function until(what: string, test: (l: Limits) => boolean): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (test((await stats()).limits)) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`timed out waiting for ${what}: ${JSON.stringify((await stats()).limits)}`);
}

const body = JSON.stringify({ inputs: [{ name: 'x', shape: [1], datatype: 'FP32', data: [0.5] }] });
const infer = (signal?: AbortSignal) => fetch(`${url}/v2/models/slow/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body, ...(signal ? { signal } : {}) });

describe('a client that goes away', () => {
  it('leaves the queue at once: the next client is queued, not refused, and nothing counts as a failure', async () => {
    const before = await stats();
    const first = infer();
    await until('the first request to run', (l) => l.in_flight === 1);
    const leaving = new AbortController();
    const second = infer(leaving.signal).catch((e: unknown) => e);
    await until('the second request to wait', (l) => l.queued === 1);
    // The queue is full: a third is refused now.
    expect((await call(`${url}/v2/models/slow/infer`, 'POST', body)).status).toBe(503);
    leaving.abort();
    expect(await second).toMatchObject({ name: 'AbortError' });
    await until('the abandoned request to leave the queue', (l) => l.queued === 0 && l.withdrawn === 1);
    // The first still runs, and the place is free again.
    const third = infer();
    await until('the third request to wait', (l) => l.queued === 1);
    const answers = await Promise.all([first, third]);
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    const after = await stats();
    expect(after.inference_stats.success.count - before.inference_stats.success.count).toBe(2);
    // The refused one failed; the abandoned one did not.
    expect(after.inference_stats.fail.count - before.inference_stats.fail.count).toBe(1);
    expect(after.limits).toMatchObject({ in_flight: 0, queued: 0, refused: before.limits.refused + 1, withdrawn: 1 });
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/onnx_forge_server_inference_requests_total\{model="slow",status="499"\} 1\b/);
  }, 60_000);
});
