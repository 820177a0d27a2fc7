import { describe, expect, it } from 'vitest';
import type { RuntimeBackend } from './backend.js';
import { resolveBackend } from './backend-registry.js';
import { createSession } from './create-session.js';
import { ManualClock } from './manual-clock.js';
import { faultyBackend, tinyMlp } from './test-models.js';
import { mlp } from '@onnx-forge/core';
import type { ReadyInfo, RunTiming } from './types.js';

/**
 * An in-process session reads time only from its clock: a backend whose runs take 30 ms of fake
 * time (the real run takes whatever it takes) gives run events, time limits and queue waits that are
 * exact, on any machine.
 */
async function thirtyMsBackend(clock: ManualClock, backend: 'node' | 'web'): Promise<RuntimeBackend> {
  const fake = faultyBackend(await resolveBackend(backend), { offered: ['gpu'], exclusiveRuns: ['gpu'] }, `clocked-${backend}`);
  return {
    ...fake,
    async createSession(model, options) {
      const handle = await fake.createSession(model, options);
      return {
        ...handle,
        run: async (feeds, fetches) => {
          const out = await handle.run(feeds, fetches);
          clock.advance(30);
          return out;
        },
      };
    },
  };
}

const x = { data: new Float32Array([1, 2, 3, 4]), dims: [1, 4] };

describe.each(['node', 'web'] as const)('an in-process session on the %s backend, timed by a fake clock', (backend) => {
  it('reports run times and enforces time limits by the clock it was given', async () => {
    const clock = new ManualClock(500);
    const timings: RunTiming[] = [];
    const ready: ReadyInfo[] = [];
    // The fake backend's 'gpu' runs on the real default provider underneath, with WebGPU's rule that runs must not overlap.
    const session = await createSession(tinyMlp(), {
      backend: await thirtyMsBackend(clock, backend),
      providers: ['gpu'],
      clock,
      onEvent: (e) => {
        if (e.type === 'run') timings.push(e);
        if (e.type === 'ready') ready.push(e);
      },
    });
    expect(ready[0]?.createMs).toBe(0);

    expect((await session.run({ x }, { timeoutMs: 31 })).y?.dims).toEqual([1, 2]);
    const late = await session.run({ x }, { timeoutMs: 29 }).catch((e: unknown) => e);
    expect(late).toMatchObject({ code: 'FORGE_TIMEOUT', message: 'run took 30.0 ms, over its 29 ms limit (in-process runs cannot be interrupted; use createPool)' });

    // The provider refuses overlapping runs: the second waits exactly one run, the third two.
    await Promise.all([session.run({ x }), session.run({ x }), session.run({ x })]);
    expect(timings.map((t) => [t.ok, t.queueMs, t.runMs, t.totalMs])).toEqual([
      [true, 0, 30, 30],
      [false, 0, 30, 30],
      [true, 0, 30, 30],
      [true, 30, 30, 60],
      [true, 60, 30, 90],
    ]);
    await session.release();
  });
});

describe('in-process runs on onnxruntime-node are timed as they run on the thread', () => {
  it('concurrent runs of two sessions: each run event times its run alone and the wait behind the runs ahead as queueMs', async () => {
    // onnxruntime-node runs each call synchronously on this thread, in the order issued: runs issued
    // together used to start together on paper, each one's runMs holding the runs ahead and queueMs 0.
    const model = mlp({ sizes: [256, 1024, 1024, 16], seed: 3 }).encode();
    const a = await createSession(model, { backend: 'node', cache: false, warmup: true });
    const b = await createSession(model, { backend: 'node', cache: false, warmup: true });
    const timings: RunTiming[] = [];
    for (const s of [a, b]) s.on('run', (t) => timings.push(t));
    const feeds = { x: { data: new Float32Array(64 * 256).fill(0.5), dims: [64, 256] } };
    await Promise.all([a, b, a, b, a, b].map((s) => s.run(feeds)));
    expect(timings).toHaveLength(6);
    // Submitted together: each run's window [queueMs, queueMs + runMs] after submission follows the last.
    const windows = timings.map((t) => [t.queueMs, t.queueMs + t.runMs] as const).sort((x, y) => x[0] - y[0]);
    for (let k = 1; k < windows.length; k++) expect(windows[k]?.[0], `run ${k}`).toBeGreaterThanOrEqual((windows[k - 1]?.[1] as number) - 0.5);
    expect(Math.max(...timings.map((t) => t.queueMs))).toBeGreaterThan(0);
    await Promise.all([a.release(), b.release()]);
  });
});
