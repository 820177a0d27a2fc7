// Requests that pass every protocol check and then fail inside onnxruntime: the server answers 500
// with an error object and a stable code, counts them as failures (statistics and metrics), and keeps
// answering everyone else, whether the bad request ran alone, among many, or stacked in one batch with
// good ones. Also: the Triton-style split of a request's time into queue and compute.
import { mlp } from '@onnx-forge/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DemoServer } from './create-server.js';
import { LOOKUP_TABLE, lookupModel, reshapeModel, startServer, tempDir, writeModels } from './testing/fixtures.js';
import { call, type V2Response } from './testing/v2-client.js';
import { v2Problems } from './testing/v2-schema.js';

interface Counts {
  count: number;
  ns: number;
}
interface Stats {
  inference_count: number;
  inference_stats: { success: Counts; fail: Counts; queue: Counts; compute_infer: Counts };
  batching: { variants: Record<string, { stackedRuns: number; retriedAlone: number }> };
  hybrid: { backends: Record<string, { state: string; errors: number }> };
  limits?: { refused: number };
}

let server: DemoServer;
let url: string;
let remove: () => Promise<void>;

// Long enough for eight concurrent requests from this process to meet in one batch; a batch of 8
// (maxBatch) runs at once without waiting for the delay.
const BATCHING = { maxBatch: 8, maxDelayMs: 100 };

beforeAll(async () => {
  let dir: string;
  ({ dir, remove } = await tempDir('runtime-errors'));
  await writeModels(dir, { lookup: lookupModel(), reshape: reshapeModel() });
  ({ server, url } = await startServer({ models: dir, batching: BATCHING }));
});

afterAll(async () => {
  await server?.close();
  await remove?.();
});

const lookup = (ids: number[]) => call(`${url}/v2/models/lookup/infer`, 'POST', { inputs: [{ name: 'ids', shape: [ids.length], datatype: 'INT64', data: ids }] });
const reshape = (shape: [number, number]) =>
  call(`${url}/v2/models/reshape/infer`, 'POST', {
    inputs: [
      { name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] },
      { name: 'shape', shape: [2], datatype: 'INT64', data: shape },
    ],
  });
const stats = async (model: string) => ((await call(`${url}/v2/models/${model}/stats`, 'GET')).json as { model_stats: Stats[] }).model_stats[0] as Stats;

function expectRows(r: V2Response, ids: readonly number[]): void {
  expect(r.status, JSON.stringify(r.json)).toBe(200);
  const out = (r.json as { outputs: { name: string; shape: number[]; data: number[] }[] }).outputs[0];
  expect(out).toMatchObject({ name: 'emb', shape: [ids.length, 2] });
  expect(out?.data).toEqual(ids.flatMap((i) => [...(LOOKUP_TABLE.at(i) as readonly number[])]));
}

/** 500, the protocol's error object, a message with onnxruntime's reason, and the stable code. */
function expectRuntimeError(r: V2Response, reason: RegExp): void {
  expect(r.status, JSON.stringify(r.json)).toBe(500);
  expect(v2Problems('error_response', r.json)).toEqual([]);
  const body = r.json as { error: string; code: string };
  expect(body.code).toBe('FORGE_RUNTIME');
  expect(body.error).toMatch(reason);
}

describe('a request that fails inside onnxruntime', () => {
  it('answers 500 with {"error", "code": "FORGE_RUNTIME"} naming the cause, counts it as a failure, and the next request is answered', async () => {
    expectRows(await lookup([1, 4]), [1, 4]);
    const before = await stats('lookup');
    const bad = await lookup([7]);
    expect((bad.json as { error: string }).error).toMatch(/^model .lookup. version 1 failed to run this request \(lookup.onnx: onnxruntime run failed/);
    expectRuntimeError(bad, /indices element out of data bounds|out of bounds/i);
    expectRuntimeError(await reshape([3, 3]), /reshape|requested shape/i);
    const after = await stats('lookup');
    expect(after.inference_stats.fail.count).toBe(before.inference_stats.fail.count + 1);
    expect(after.inference_stats.fail.ns).toBeGreaterThan(before.inference_stats.fail.ns);
    // Failures are not inferences, and have no queue or compute entry (as in Triton).
    expect(after.inference_count).toBe(before.inference_count);
    expect(after.inference_stats.success.count).toBe(before.inference_stats.success.count);
    expect(after.inference_stats.compute_infer.count).toBe(before.inference_stats.compute_infer.count);
    expectRows(await lookup([0, 2, 3]), [0, 2, 3]);
    const r = await reshape([2, 2]);
    expect(r.status).toBe(200);
    expect((r.json as { outputs: { shape: number[]; data: number[] }[] }).outputs[0]).toMatchObject({ shape: [2, 2], data: [1, 2, 3, 4] });
    expect((await stats('reshape')).inference_stats.fail.count).toBe(1);
  });

  it('counts 500s in the metrics beside the 200s', async () => {
    const text = await (await fetch(`${url}/metrics`)).text();
    expect(text).toMatch(/onnx_forge_server_inference_requests_total\{model="lookup",status="500"\} [1-9]/);
    expect(text).toMatch(/onnx_forge_server_inference_requests_total\{model="lookup",status="200"\} [1-9]/);
    expect(text).toMatch(/onnx_forge_server_http_requests_total\{route="\/v2\/models\/:model\/infer",status="500"\} [1-9]/);
    expect(text).toMatch(/onnx_forge_hybrid_backend_errors_total\{model="lookup",backend="lookup.onnx",code="FORGE_RUNTIME"\} [1-9]/);
  });

  it('keeps answering after many failing requests in a row: the only variant is never taken out', async () => {
    const before = await stats('lookup');
    for (let i = 0; i < 20; i++) expectRuntimeError(await lookup([100 + i]), /out of (data )?bounds/i);
    expectRows(await lookup([2]), [2]);
    const after = await stats('lookup');
    expect(after.inference_stats.fail.count).toBe(before.inference_stats.fail.count + 20);
    expect(after.hybrid.backends['lookup.onnx']?.state).toBe('healthy');
    expect((await call(`${url}/v2/health/ready`, 'GET')).status).toBe(200);
    expect((await call(`${url}/v2/models/lookup/ready`, 'GET')).status).toBe(200);
  });

  it('fails only the bad request of a batch: seven good requests stacked with it get their own rows', async () => {
    const before = await stats('lookup');
    const ids = [[0], [1], [2], [3], [4], [99], [0], [3]];
    const answers = await Promise.all(ids.map((i) => lookup(i)));
    answers.forEach((r, k) => {
      if (k === 5) expectRuntimeError(r, /out of (data )?bounds/i);
      else expectRows(r, ids[k] as number[]);
    });
    const after = await stats('lookup');
    const variant = (s: Stats) => s.batching.variants['lookup.onnx'] as { stackedRuns: number; retriedAlone: number };
    // They met in one stacked run, which failed as a whole; each then ran alone.
    expect(variant(after).stackedRuns).toBe(variant(before).stackedRuns + 1);
    expect(variant(after).retriedAlone).toBe(variant(before).retriedAlone + 8);
    expect(after.inference_stats.success.count).toBe(before.inference_stats.success.count + 7);
    expect(after.inference_stats.fail.count).toBe(before.inference_stats.fail.count + 1);
  });
});

describe('statistics split each request into queue and compute (Triton)', () => {
  // One request at a time per model, no batching, and a model that takes tens of milliseconds per run
  // (16 → 2048 → 2048 → 16 on 128 rows, ~0.5 G multiply-adds): requests sent together must wait.
  let queued: { server: DemoServer; url: string };
  let removeQueued: () => Promise<void>;
  const rows = 128;
  const body = { inputs: [{ name: 'x', shape: [rows, 16], datatype: 'FP32', data: Array.from({ length: rows * 16 }, (_, i) => Math.sin(i)) }] };
  const slowStats = async () => ((await call(`${queued.url}/v2/models/slow/stats`, 'GET')).json as { model_stats: Stats[] }).model_stats[0] as Stats;
  beforeAll(async () => {
    let dir: string;
    ({ dir, remove: removeQueued } = await tempDir('queue-compute'));
    await writeModels(dir, { slow: mlp({ sizes: [16, 2048, 2048, 16], seed: 3 }) });
    queued = await startServer({ models: dir, batching: false, maxConcurrent: 1 });
  });
  afterAll(async () => {
    await queued?.server.close();
    await removeQueued?.();
  });

  it('counts both for every success, and they add up to the request time; one request at a time never queues', async () => {
    for (let i = 0; i < 3; i++) expect((await call(`${queued.url}/v2/models/slow/infer`, 'POST', body)).status).toBe(200);
    const s = await slowStats();
    expect([s.inference_stats.success.count, s.inference_stats.queue.count, s.inference_stats.compute_infer.count]).toEqual([3, 3, 3]);
    // Each request's time is its queue time plus its compute time (each rounded to 1 ns).
    expect(Math.abs(s.inference_stats.success.ns - s.inference_stats.queue.ns - s.inference_stats.compute_infer.ns)).toBeLessThanOrEqual(3 * 3);
    // With the slot free, a request starts in the same tick it arrives: its queue time is a sliver of one run.
    expect(s.inference_stats.queue.ns * 100).toBeLessThan(s.inference_stats.compute_infer.ns);
  });

  it('counts the wait in the dynamic batcher for others to stack with as queue time, not compute time', async () => {
    // The lookup model on the batching server (maxDelayMs 100): a request alone waits out the delay.
    const before = await stats('lookup');
    expectRows(await lookup([2]), [2]);
    const after = await stats('lookup');
    const d = (k: keyof Stats['inference_stats']) => after.inference_stats[k].ns - before.inference_stats[k].ns;
    expect(d('queue')).toBeGreaterThanOrEqual((BATCHING.maxDelayMs - 5) * 1e6);
    // A two-row table lookup computes in well under the delay.
    expect(d('compute_infer')).toBeLessThan(d('queue'));
    expect(Math.abs(d('success') - d('queue') - d('compute_infer'))).toBeLessThanOrEqual(3);
  });

  it('shows the wait for the model\'s one slot as queue time, not compute time', async () => {
    const before = await slowStats();
    const answers = await Promise.all(Array.from({ length: 8 }, () => call(`${queued.url}/v2/models/slow/infer`, 'POST', body)));
    expect(answers.map((a) => a.status)).toEqual(Array(8).fill(200));
    const after = await slowStats();
    const d = (k: keyof Stats['inference_stats']) => ({
      count: after.inference_stats[k].count - before.inference_stats[k].count,
      ns: after.inference_stats[k].ns - before.inference_stats[k].ns,
    });
    const [success, queue, compute] = [d('success'), d('queue'), d('compute_infer')];
    expect([success.count, queue.count, compute.count]).toEqual([8, 8, 8]);
    expect(Math.abs(success.ns - queue.ns - compute.ns)).toBeLessThanOrEqual(3 * 8);
    // They run one after another: the 2nd waits about one run, the 8th about seven, 28 runs of waiting
    // in all against 8 of computing (less the time the requests took to arrive).
    expect(queue.ns).toBeGreaterThan(compute.ns);
    expect(after.limits?.refused ?? 0).toBe(0);
  });
});

describe('a request that runs out of time on every variant', () => {
  it('answers 504 with code FORGE_TIMEOUT (not a generic 500), counts the failure, and the server stays up', async () => {
    const { dir, remove: removeDir } = await tempDir('timeout');
    // ~0.5 G multiply-adds per request against a 2 ms limit per backend call: no CPU finishes in time.
    await writeModels(dir, { slow: mlp({ sizes: [16, 2048, 2048, 16], seed: 3 }) });
    const timed = await startServer({ models: dir, batching: false, timeoutMs: 2 });
    try {
      const rows = 128;
      const body = { inputs: [{ name: 'x', shape: [rows, 16], datatype: 'FP32', data: Array.from({ length: rows * 16 }, (_, i) => Math.cos(i)) }] };
      for (let i = 0; i < 2; i++) {
        const r = await call(`${timed.url}/v2/models/slow/infer`, 'POST', body);
        expect(r.status, JSON.stringify(r.json)).toBe(504);
        expect(v2Problems('error_response', r.json)).toEqual([]);
        expect(r.json).toMatchObject({ code: 'FORGE_TIMEOUT', error: expect.stringMatching(/slow\.onnx: .*did not answer within 2 ms/) });
      }
      const s = ((await call(`${timed.url}/v2/models/slow/stats`, 'GET')).json as { model_stats: Stats[] }).model_stats[0] as Stats;
      expect(s.inference_stats.fail.count).toBe(2);
      expect((await call(`${timed.url}/v2/health/live`, 'GET')).status).toBe(200);
    } finally {
      await timed.server.close();
      await removeDir();
    }
  });
});
