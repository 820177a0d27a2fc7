import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { mlp } from '@onnx-forge/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { benchModels } from './bench-models.js';
import { tempFolders } from '../testing/temp-folders.js';

const tempFolder = tempFolders();

/**
 * benchModels on onnxruntime-node (CPU) with small builder models: the figures are real timings on
 * whatever machine runs the test, so the assertions are about structure and honesty, not speed.
 */
let dir: string;
let small: string;
let mid: string;
let large: string;

beforeAll(async () => {
  dir = await tempFolder('bench-models-');
  small = join(dir, 'small.onnx');
  mid = join(dir, 'mid.onnx');
  large = join(dir, 'large.onnx');
  await writeFile(small, mlp({ sizes: [64, 128, 10] }).encode());
  await writeFile(mid, mlp({ sizes: [256, 1024, 1024, 10] }).encode());
  await writeFile(large, mlp({ sizes: [512, 2048, 2048, 10] }).encode());
});

describe('benchModels', () => {
  it('reports creation, first run, warm-up apart from steady state, percentiles, margin and rate', async () => {
    const r = await benchModels([small], { runs: 30, warmup: 3, dims: { batch: 4 } });
    const m = r.models[0];
    expect(m?.status).toBe('ok');
    expect(m?.provider).toBe('cpu');
    expect(m?.createMs).toBeGreaterThan(0);
    expect(m?.firstRunMs).toBeGreaterThan(0);
    expect(m?.warmupMs).toHaveLength(3);
    expect(m?.samplesMs).toHaveLength(30);
    const l = m?.latency;
    expect(l?.n).toBe(30);
    for (const k of ['p50', 'p90', 'p95', 'p99', 'p999'] as const) expect(l?.[k]).toBeGreaterThan(0);
    expect(l?.p50).toBeLessThanOrEqual(l?.p999 as number);
    expect(l?.meanMarginOfError95).toBeGreaterThan(0);
    expect(l?.runsPerSecond).toBeGreaterThan(0);
    expect(m?.inputs?.shapes.x).toEqual({ type: 'float32', dims: [4, 64] });
    expect(m?.memory?.scope).toBe('process');
    expect(m?.memory?.peakRssBytes).toBeGreaterThan(0);
    expect(r.machine.cores).toBeGreaterThan(0);
    expect(r.comparisons).toEqual([]);
  });

  // A model of about half a millisecond: at a few microseconds per run (the small MLP), two sessions of
  // one model can differ by a few percent for as long as they live on a loaded machine, and intervals
  // that tight would call it.
  it('the same model twice under two names: no winner', async () => {
    // Two sessions of one model can differ a little for real (where their memory lands), so a trial may
    // prove a small difference: up to three trials, one of them without a winner.
    const verdicts: string[] = [];
    for (let trial = 0; trial < 3 && !verdicts.some((v) => v.startsWith('no winner')); trial++) {
      const r = await benchModels([mid, mid], { names: ['a', 'b'], runs: 40, warmup: 5, dims: { batch: 8 } });
      expect(r.models.map((m) => m.status)).toEqual(['ok', 'ok']);
      expect(r.baseline).toBe('a');
      const [c] = r.comparisons;
      expect(c?.candidate).toBe('b');
      if (c?.winner === null) {
        expect(c.ratioCi95[0]).toBeLessThanOrEqual(1);
        expect(c.ratioCi95[1]).toBeGreaterThanOrEqual(1);
      }
      verdicts.push(c?.verdict ?? '');
    }
    expect(verdicts.at(-1)).toMatch(/^no winner/);
  });

  it('names the faster model when one does about 200 times the work', async () => {
    const r = await benchModels([large, small], { runs: 30, warmup: 3, dims: { batch: 8 } });
    expect(r.comparisons[0]?.winner).toBe('small');
    expect(r.comparisons[0]?.speedupCi95[0]).toBeGreaterThan(1);
  });

  it('reports a model that fails to load with its code, and measures the others', async () => {
    const broken = join(dir, 'broken.onnx');
    await writeFile(broken, new Uint8Array([1, 2, 3, 4, 5, 6, 7]));
    const r = await benchModels([broken, join(dir, 'missing.onnx'), small], { runs: 5, warmup: 1 });
    expect(r.models[0]).toMatchObject({ name: 'broken', status: 'failed', error: { stage: 'read', code: 'FORGE_INVALID_MODEL' } });
    expect(r.models[1]).toMatchObject({ name: 'missing', status: 'failed', error: { stage: 'read', code: 'FORGE_IO' } });
    expect(r.models[2]?.status).toBe('ok');
    expect(r.baseline).toBe('small');
  });

  it('refuses dims the model does not have, naming the ones it has', async () => {
    const r = await benchModels([small], { runs: 3, dims: { sequence: 4 } });
    expect(r.models[0]?.error).toMatchObject({ stage: 'inputs', code: 'FORGE_INVALID_OPTIONS' });
    expect(r.models[0]?.error?.message).toMatch(/its symbolic dims: batch/);
  });

  it('measures a model in its own process when asked, so peak memory is its own', async () => {
    const r = await benchModels([large], { runs: 5, warmup: 1, isolate: true, dims: { batch: 2 } });
    const m = r.models[0];
    expect(m?.status, JSON.stringify(m?.error)).toBe('ok');
    expect(m?.memory?.scope).toBe('isolated');
    // The large model holds 5.3 M float32 weights (21 MB): its process peaks above its start by more.
    expect((m?.memory?.peakRssBytes ?? 0) - (m?.memory?.baselineRssBytes ?? 0)).toBeGreaterThan(21e6);
    expect(m?.latency?.n).toBe(5);
  }, 120_000);

  it('runs a concurrency sweep and the Offline, Server and MultiStream scenarios on worker pools', async () => {
    const off = await benchModels([small], { runs: 10, warmup: 2, scenario: 'offline', queries: 100, workers: 2, concurrency: [1, 2], windowMs: 150, maxWindows: 4 });
    const m = off.models[0];
    expect(m?.status, JSON.stringify(m?.error)).toBe('ok');
    expect(m?.sweep?.map((l) => l.concurrency)).toEqual([1, 2]);
    for (const l of m?.sweep ?? []) expect(l.windows.length).toBeGreaterThanOrEqual(1);
    expect(m?.offline?.queries).toBe(100);
    expect(m?.offline?.throughput).toBeGreaterThan(0);
    const srv = await benchModels([small], { runs: 10, warmup: 2, scenario: 'server', queries: 60, workers: 1, p99BoundMs: 50 });
    expect(srv.models[0]?.status, JSON.stringify(srv.models[0]?.error)).toBe('ok');
    const s = srv.models[0]?.server;
    expect(s?.p99BoundMs).toBe(50);
    expect(s?.trials.length).toBeGreaterThan(1);
    expect(s?.maxRate).toBeGreaterThan(0);
    const ms = await benchModels([small], { runs: 10, warmup: 2, scenario: 'multistream', queries: 30, samplesPerQuery: 4, workers: 2 });
    const q = ms.models[0]?.multiStream;
    expect(ms.settings.scenario).toBe('multistream');
    expect(q).toMatchObject({ scenario: 'multi-stream', samplesPerQuery: 4 });
    expect(q?.samplesMs).toHaveLength(30);
    expect(q?.p99Ms).toBe(q?.latency.p99);
    expect(q?.samplesPerSecond).toBeGreaterThan(0);
    await expect(benchModels([small], { scenario: 'multi' as never })).rejects.toMatchObject({ code: 'FORGE_INVALID_OPTIONS' });
  }, 120_000);
});
