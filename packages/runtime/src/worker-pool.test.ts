import { mlp } from '@onnx-forge/core';
import { EventEmitter } from 'node:events';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSession } from './create-session.js';
import { locateWorker } from './locate-worker.js';
import { ManualClock } from './manual-clock.js';
import type { FromWorker, ToWorker } from './pool-protocol.js';
import { CRASH_MARKER, tinyMlp, variantModel } from './test-models.js';
import type { RunTiming, SessionEvent, WorkerExitInfo } from './types.js';
import { type PoolSession, createPool } from './worker-pool.js';
import type { PoolWorker } from './worker-slot.js';

/**
 * Tens of milliseconds per run on one core (batch 256 natively, 32 in WebAssembly, which is several
 * times slower): long enough that runs queue behind one another and 15 ms time limits expire.
 */
const slowModel = mlp({ sizes: [1024, 1024, 1024, 1024, 1024], seed: 5 }).encode();
const slowBatch = { node: 256, web: 32 };
const x = { data: new Float32Array([1, 2, 3, 4]), dims: [1, 4] };

async function failure(p: Promise<unknown>): Promise<{ code: string; message: string; details: Record<string, unknown> }> {
  try {
    await p;
  } catch (e) {
    return e as { code: string; message: string; details: Record<string, unknown> };
  }
  throw new Error('expected a rejection');
}

it('finds its worker entry next to the sources (tsx bootstrap) and would use the built .js from dist', () => {
  const located = locateWorker();
  expect(located.url.pathname).toMatch(/src\/worker-bootstrap\.mjs$/);
  expect(String(located.workerData.entry)).toMatch(/src\/pool-worker\.ts$/);
  expect(locateWorker('file:///opt/app/dist/pool-worker.js').url.pathname).toBe('/opt/app/dist/pool-worker.js');
  expect(locateWorker('file:///opt/app/src/my-worker.ts').workerData.entry).toBe('file:///opt/app/src/my-worker.ts');
});

describe.each(['node', 'web'] as const)('worker pool on the %s backend', (backend) => {
  const cpu = backend === 'node' ? 'cpu' : 'wasm';
  const batch = slowBatch[backend];
  const slowFeeds = () => ({ x: { data: new Float32Array(batch * 1024).fill(0.01), dims: [batch, 1024] } });

  describe('a pool of two', () => {
    let pool: PoolSession;
    const events: SessionEvent[] = [];
    beforeAll(async () => {
      pool = await createPool(tinyMlp(), { backend, workers: 2, providers: ['webgpu', cpu], onEvent: (e) => events.push(e) });
    });
    afterAll(() => pool.release());

    it('walks the provider chain once and reports it like a session', () => {
      expect(pool.provider).toBe(cpu);
      expect(pool.skipped.map((s) => s.provider)).toEqual(['webgpu']);
      expect(events.filter((e) => e.type === 'skip')).toHaveLength(1);
      expect(events.some((e) => e.type === 'ready')).toBe(true);
      expect(pool.inputNames).toEqual(['x']);
      expect(pool.stats()).toMatchObject({ workers: 2, idle: 2, queued: 0 });
    });

    it('returns the same outputs as an in-process session, by name', async () => {
      const local = await createSession(tinyMlp(), { backend });
      const want = await local.run({ x });
      const got = await Promise.all([1, 2, 3, 4].map(() => pool.run({ x })));
      for (const out of got) {
        expect(Object.keys(out)).toEqual(['y']);
        expect(out.y?.dims).toEqual([1, 2]);
        expect(Array.from(out.y?.data as Float32Array)).toEqual(Array.from(want.y?.data as Float32Array));
      }
      await local.release();
    });

    it('emits a timing event per run with queue wait, run time and worker', async () => {
      const timings: RunTiming[] = [];
      const off = pool.on('run', (t) => timings.push(t));
      await Promise.all([1, 2, 3].map(() => pool.run({ x })));
      off();
      expect(timings).toHaveLength(3);
      expect(new Set(timings.map((t) => t.worker))).toEqual(new Set([0, 1]));
      for (const t of timings) {
        expect(t.ok).toBe(true);
        expect(t.runMs).toBeGreaterThan(0);
        expect(t.totalMs).toBeGreaterThanOrEqual(t.queueMs + t.runMs);
      }
      // The third run waited for a worker.
      expect(Math.max(...timings.map((t) => t.queueMs))).toBeGreaterThan(0);
    });

    it('validates feeds in the main thread, before any worker sees them', async () => {
      const before = pool.stats();
      const e = await failure(pool.run({ x: { data: new Float32Array(3), dims: [1, 3] } }));
      expect(e.code).toBe('FORGE_BAD_INPUT');
      expect(e.message).toMatch(/input 'x' dimension 1 must be 4/);
      expect(pool.stats().completed).toBe(before.completed);
    });

    it('copies feeds by default and transfers them when asked', async () => {
      const data = new Float32Array([1, 2, 3, 4]);
      await pool.run({ x: { data, dims: [1, 4] } });
      expect(data.length).toBe(4);
      const copied = await pool.run({ x: { data, dims: [1, 4] } });
      await pool.run({ x: { data, dims: [1, 4] } }, { transfer: true });
      expect(data.length).toBe(0); // detached: now owned by the worker
      // Shared memory is neither transferred nor refused (onnxruntime-node alone says "Invalid argument").
      const shared = new Float32Array(new SharedArrayBuffer(16));
      shared.set([1, 2, 3, 4]);
      const out = await pool.run({ x: { data: shared, dims: [1, 4] } }, { transfer: true });
      expect(Array.from(out.y?.data as Float32Array)).toEqual(Array.from(copied.y?.data as Float32Array));
      expect(Array.from(shared)).toEqual([1, 2, 3, 4]);
    });
  });

  describe('back-pressure, time limits and cancellation (one worker)', () => {
    let pool: PoolSession;
    beforeAll(async () => {
      pool = await createPool(slowModel, { backend, workers: 1, maxQueue: 2, workerUrl: new URL('./test-worker.ts', import.meta.url) });
    });
    afterAll(() => pool.release());

    /**
     * Feeds that hold the worker inside the run until `release()` (see test-worker.ts): the run is
     * "running" for exactly as long as the test says, however loaded the machine is.
     */
    function heldFeeds() {
      const sab = new SharedArrayBuffer(batch * 1024 * 4);
      const gate = new Int32Array(sab, 0, 1);
      return {
        feeds: { x: { data: new Float32Array(sab), dims: [batch, 1024] } },
        release: () => {
          Atomics.store(gate, 0, 1);
          Atomics.notify(gate, 0);
        },
      };
    }

    it('rejects with FORGE_OVERLOADED once the queue is full, and serves the rest', async () => {
      const held = heldFeeds();
      const runs = [pool.run(held.feeds), pool.run(slowFeeds()), pool.run(slowFeeds())];
      expect(pool.stats()).toMatchObject({ busy: 1, queued: 2 });
      const e = await failure(pool.run(slowFeeds()));
      expect(e.code).toBe('FORGE_OVERLOADED');
      expect(e.details).toMatchObject({ queued: 2, maxQueue: 2, workers: 1 });
      held.release();
      expect((await Promise.all(runs)).every((o) => o.y?.dims[0] === batch)).toBe(true);
      expect(pool.stats().rejected).toBe(1);
    });

    it('times out a queued run (it leaves the queue) and a running one (the worker finishes it, then goes on)', async () => {
      const held = heldFeeds();
      const running = pool.run(held.feeds, { timeoutMs: 15 });
      const queued = pool.run(slowFeeds(), { timeoutMs: 15 });
      const after = pool.run(slowFeeds());
      const [a, b] = await Promise.all([failure(running), failure(queued)]);
      expect(a.code).toBe('FORGE_TIMEOUT');
      expect(a.message).toMatch(/within 15 ms \(it was running\)/);
      expect(a.details).toMatchObject({ queued: false });
      expect(b.code).toBe('FORGE_TIMEOUT');
      expect(b.message).toMatch(/it was still queued/);
      expect(b.details).toMatchObject({ queued: true });
      // The timed-out run still holds the worker; only `after` waits.
      expect(pool.stats()).toMatchObject({ busy: 1, queued: 1 });
      held.release();
      expect((await after).y?.dims).toEqual([batch, 1024]);
      expect(pool.stats()).toMatchObject({ busy: 0, queued: 0 });
    });

    it('cancels queued and running runs through an AbortSignal', async () => {
      const held = heldFeeds();
      const ac1 = new AbortController();
      const ac2 = new AbortController();
      const running = pool.run(held.feeds, { signal: ac1.signal });
      const queued = pool.run(slowFeeds(), { signal: ac2.signal });
      expect(pool.stats().queued).toBe(1);
      ac2.abort(new Error('no longer needed'));
      expect(pool.stats().queued).toBe(0);
      ac1.abort();
      const [a, b] = await Promise.all([failure(running), failure(queued)]);
      expect(a.code).toBe('FORGE_CANCELLED');
      expect(b.code).toBe('FORGE_CANCELLED');
      expect(b.message).toMatch(/no longer needed/);
      const already = new AbortController();
      already.abort();
      expect((await failure(pool.run(slowFeeds(), { signal: already.signal }))).code).toBe('FORGE_CANCELLED');
      held.release();
      expect((await pool.run(slowFeeds())).y).toBeDefined();
    });
  });

  it('replaces a worker that dies: its run fails, every queued run completes', async () => {
    const spawned: Worker[] = [];
    const exits: WorkerExitInfo[] = [];
    const pool = await createPool(slowModel, {
      backend,
      workers: 2,
      workerUrl: new URL('./test-worker.ts', import.meta.url),
      spawn: (url, options) => {
        const w = new Worker(url, options);
        spawned.push(w);
        return w;
      },
    });
    pool.on('worker-exit', (e) => exits.push(e));
    const crashing = { x: { data: new Float32Array(batch * 1024).fill(CRASH_MARKER), dims: [batch, 1024] } };
    const runs = [pool.run(slowFeeds()), pool.run(crashing), ...Array.from({ length: 5 }, () => pool.run(slowFeeds()))];
    const results = await Promise.allSettled(runs);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
    const lost = (results[1] as PromiseRejectedResult).reason as { code: string; message: string };
    expect(lost.code).toBe('FORGE_RUNTIME');
    expect(lost.message).toMatch(/pool worker 1 stopped unexpectedly \(exit code 1\): simulated crash inside the worker; this run was lost/);
    expect(exits).toMatchObject([{ worker: 1, replaced: true }]);
    expect(spawned).toHaveLength(3);
    expect(pool.stats()).toMatchObject({ workers: 2, crashed: 1, restarts: 1, completed: 6, failed: 1 });
    expect((await pool.run(slowFeeds())).y).toBeDefined();
    await pool.release();
  });

  it('release lets queued and running runs finish, then stops every worker (a pool of precision variants)', async () => {
    const pool = await createPool({ fp32: variantModel('fp32'), int8: variantModel('int8') }, { backend, workers: 1, prefer: 'speed', workerPriority: 5 });
    expect(pool.precision).toBe('int8');
    expect(pool.outputNames).toEqual(['out_int8']);
    expect(pool.precisionReason).toMatch(/prefer 'speed'/);
    const runs = Array.from({ length: 5 }, () => pool.run({ x }));
    const released = pool.release();
    expect((await failure(pool.run({ x }))).code).toBe('FORGE_RUNTIME');
    expect((await Promise.all(runs)).every((o) => Array.from(o.out_int8?.data as Float32Array).join() === '1,2,3,4')).toBe(true);
    await released;
    expect(pool.stats().workers).toBe(0);
  });

  it('reports a model that does not load with the worker\'s error code, and bad options before starting threads', async () => {
    const e = await failure(createPool(new Uint8Array([1, 2, 3]), { backend, workers: 2 }));
    expect(e.code).toBe('FORGE_RUNTIME');
    expect(e.message).toMatch(/could not load/);
    expect((await failure(createPool(tinyMlp(), { backend, workers: 0 }))).code).toBe('FORGE_INVALID_OPTIONS');
    expect((await failure(createPool(tinyMlp(), { backend, intraOpNumThreads: -1 }))).code).toBe('FORGE_INVALID_OPTIONS');
    expect((await failure(createPool(tinyMlp(), { backend, workerz: 2 } as never))).message).toMatch(/did you mean 'workers'/);
    expect((await failure(createPool(tinyMlp(), { backend, workerPriority: 25 }))).code).toBe('FORGE_INVALID_OPTIONS');
    // Node's Worker ignores a resourceLimits key it does not know: a typo was no limit at all.
    const limits: [unknown, RegExp][] = [
      [{ maxOldGenerationSizeMB: 64 }, /^resourceLimits: 'maxOldGenerationSizeMB' is unknown; did you mean 'maxOldGenerationSizeMb'\?/],
      [{ maxOldGenerationSizeMb: -1 }, /^resourceLimits\.maxOldGenerationSizeMb must be a number of megabytes > 0, got -1$/],
      [64, /^resourceLimits must be an object/],
    ];
    for (const [resourceLimits, message] of limits) {
      expect(await failure(createPool(tinyMlp(), { backend, resourceLimits } as never))).toMatchObject({ code: 'FORGE_INVALID_OPTIONS', message: expect.stringMatching(message) });
    }
    for (const maxRestarts of [-1, 1.5, Number.POSITIVE_INFINITY, '3']) {
      expect(await failure(createPool(tinyMlp(), { backend, maxRestarts } as never))).toMatchObject({ code: 'FORGE_INVALID_OPTIONS', message: expect.stringMatching(/^maxRestarts must be an integer from 0 to 1000/) });
    }
  });
});

/**
 * A worker thread stand-in that answers the pool's protocol and finishes a run only when the test
 * says, so that a test moves a ManualClock through queue waits and time limits without a thread, a
 * model or a timer of its own.
 */
class ScriptedWorker extends EventEmitter implements PoolWorker {
  readonly runs: Extract<ToWorker, { kind: 'run' }>[] = [];

  postMessage(message: ToWorker): void {
    if (message.kind === 'init') {
      this.reply({
        kind: 'ready',
        info: { backend: 'node', provider: 'cpu', precision: 'fp32', precisionReason: 'the only variant given (assumed fp32)', skipped: [], createMs: 0 },
        inputNames: ['x'],
        outputNames: ['y'],
        inputMetadata: [{ name: 'x', type: 'float32', shape: ['batch', 4] }],
        outputMetadata: [{ name: 'y', type: 'float32', shape: ['batch', 2] }],
      });
    } else if (message.kind === 'run') {
      this.runs.push(message);
    } else {
      this.reply({ kind: 'released' });
      queueMicrotask(() => this.emit('exit', 0));
    }
  }

  /** Ends the oldest run still held, as onnxruntime would after `runMs` of its own time. */
  finish(runMs: number): void {
    const run = this.runs.shift();
    if (!run) throw new Error('no run to finish');
    this.reply({ kind: 'result', id: run.id, names: ['y'], tensors: [{ type: 'float32', dims: [1, 2], data: new Float32Array([run.id, 0]) }], runMs });
  }

  unref(): void {}

  private reply(message: FromWorker): void {
    queueMicrotask(() => this.emit('message', message));
  }
}

/** Settles what is pending in this turn (the stand-in replies in microtasks); no time passes. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

function watch<T>(p: Promise<T>): { state: 'pending' | 'resolved' | 'rejected'; value?: T; error?: { code: string; message: string; details: Record<string, unknown> } } {
  const w: ReturnType<typeof watch<T>> = { state: 'pending' };
  p.then(
    (value) => Object.assign(w, { state: 'resolved', value }),
    (error: unknown) => Object.assign(w, { state: 'rejected', error }),
  );
  return w;
}

describe('time in a pool comes from its clock', () => {
  const x = { data: new Float32Array(4), dims: [1, 4] };

  it('times out a queued run and a running one at exactly their limits, and times the rest by the same clock', async () => {
    const clock = new ManualClock(1000);
    const worker = new ScriptedWorker();
    const timings: RunTiming[] = [];
    const pool = await createPool(tinyMlp(), { workers: 1, clock, spawn: () => worker, onEvent: (e) => e.type === 'run' && timings.push(e) });
    expect(pool.provider).toBe('cpu');

    const running = watch(pool.run({ x }, { timeoutMs: 100 }));
    const queued = watch(pool.run({ x }, { timeoutMs: 40 }));
    const later = watch(pool.run({ x }));
    await turn();
    expect(worker.runs).toHaveLength(1);
    expect(pool.stats()).toMatchObject({ busy: 1, queued: 2 });

    clock.advance(39);
    await turn();
    expect([running.state, queued.state, later.state]).toEqual(['pending', 'pending', 'pending']);
    clock.advance(1);
    await turn();
    expect(queued.state).toBe('rejected');
    expect(queued.error?.code).toBe('FORGE_TIMEOUT');
    expect(queued.error?.message).toBe('run did not finish within 40 ms (it was still queued)');
    expect(queued.error?.details).toMatchObject({ queued: true });
    expect(pool.stats()).toMatchObject({ busy: 1, queued: 1 });

    clock.advance(59);
    await turn();
    expect(running.state).toBe('pending');
    clock.advance(1);
    await turn();
    expect(running.error?.message).toBe('run did not finish within 100 ms (it was running)');
    // The worker still runs the abandoned run; `later` waits for it.
    expect(pool.stats()).toMatchObject({ busy: 1, queued: 1 });

    clock.advance(25);
    worker.finish(120);
    await turn();
    expect(later.state).toBe('pending');
    expect(worker.runs).toHaveLength(1);
    clock.advance(7);
    worker.finish(6);
    await turn();
    expect(later.state).toBe('resolved');
    expect(Array.from(later.value?.y?.data as Float32Array)).toEqual([3, 0]);

    // Each figure is the fake clock's, to the millisecond.
    expect(timings.map((t) => [t.ok, t.queueMs, t.totalMs, t.runMs])).toEqual([
      [false, 40, 40, 0],
      [false, 0, 100, 0],
      [true, 125, 132, 6],
    ]);
    // No timer is left behind by settled runs.
    expect(clock.pendingTimers).toBe(0);
    await pool.release();
  });

  it('refuses a clock that is not one', async () => {
    const bad = await createPool(tinyMlp(), { workers: 1, clock: { now: () => 0 } as never, spawn: () => new ScriptedWorker() }).catch((e: unknown) => e);
    expect(bad).toMatchObject({ code: 'FORGE_INVALID_OPTIONS', message: expect.stringMatching(/clock must have now\(\), setTimeout\(\) and clearTimeout\(\)/) });
  });
});

describe('a pool whose workers fail while it starts', () => {
  /** Answers init only after a timer: the first worker is still loading when the others fail. */
  class SlowScriptedWorker extends ScriptedWorker {
    override postMessage(message: ToWorker): void {
      if (message.kind === 'init') setTimeout(() => super.postMessage(message), 20);
      else super.postMessage(message);
    }
  }
  /** A thread that ends as it boots (out of memory under resourceLimits, a module that does not load). */
  class DyingWorker extends EventEmitter implements PoolWorker {
    constructor() {
      super();
      queueMicrotask(() => {
        this.emit('error', new Error('Worker terminated due to reaching memory limit: JS heap out of memory'));
        this.emit('exit', 1);
      });
    }
    /** As a node:worker_threads Worker whose thread has ended: the message is dropped. */
    postMessage(): void {}
    unref(): void {}
  }

  it('rejects createPool with the error of a worker that ended before the first was ready, and leaves no unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      let spawned = 0;
      const got = await failure(createPool(tinyMlp(), { workers: 3, spawn: () => (spawned++ === 0 ? new SlowScriptedWorker() : new DyingWorker()) }));
      expect(got).toMatchObject({ code: 'FORGE_RUNTIME', message: 'a pool worker exited while starting (code 1): Worker terminated due to reaching memory limit: JS heap out of memory' });
      await turn();
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
