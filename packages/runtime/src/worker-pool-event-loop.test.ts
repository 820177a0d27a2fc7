import { mlp } from '@onnx-forge/core';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunTiming } from './types.js';
import { type PoolSession, createPool } from './worker-pool.js';

/**
 * onnxruntime-node's `run()` defers the inference to a setImmediate callback and then runs all of it
 * synchronously on the calling thread, so nothing else in the process happens until it returns
 * (microsoft/onnxruntime#19611). The pool moves that call to a worker thread. These tests show the
 * difference by counting event-loop turns while one heavy run is in flight: counts and orderings, no
 * time limits (the lag itself is a figure of the runtime benchmark, `npm run bench -- runtime`).
 *
 * The model: 4 × (1024 × 1024) MatMul+Relu on a batch of 1024, ~4.3 G multiply-adds per run, which is
 * well over 100 ms on one core of this project's machine when idle (the worker's session has one
 * intra-op thread, like the raw session below).
 */
const heavyModel = mlp({ sizes: [1024, 1024, 1024, 1024, 1024], seed: 5 }).encode();
const BATCH = 1024;
const heavyInput = () => new Float32Array(BATCH * 1024).fill(0.01);

interface Turns {
  /** setImmediate callbacks that ran after the run started and before it settled. */
  immediates: number;
  /** setTimeout(0) callbacks that ran in the same span. */
  timers: number;
}

/**
 * Starts two heartbeats (a setImmediate chain and a setTimeout chain) after `start` has been called,
 * and counts their callbacks until the promise it returned settles. Both chains stop at the first
 * turn that sees the run settled.
 */
async function turnsDuring(start: () => Promise<unknown>): Promise<Turns> {
  let settled = false;
  const run = start().finally(() => {
    settled = true;
  });
  const turns: Turns = { immediates: 0, timers: 0 };
  const immediates = new Promise<void>((resolve) => {
    const tick = () => {
      if (settled) return resolve();
      turns.immediates++;
      setImmediate(tick);
    };
    setImmediate(tick);
  });
  const timers = new Promise<void>((resolve) => {
    const tick = () => {
      if (settled) return resolve();
      turns.timers++;
      setTimeout(tick, 0);
    };
    setTimeout(tick, 0);
  });
  await run;
  await Promise.all([immediates, timers]);
  return turns;
}

describe('the event loop while a heavy model runs (onnxruntime #19611)', () => {
  let pool: PoolSession;
  let raw: ort.InferenceSession;
  beforeAll(async () => {
    pool = await createPool(heavyModel, { backend: 'node', workers: 1 });
    raw = await ort.InferenceSession.create(heavyModel, { intraOpNumThreads: 1 });
    // Warm both so the counted runs are steady-state inferences, not first-run allocations.
    await pool.run({ x: { data: heavyInput(), dims: [BATCH, 1024] } });
    await raw.run({ x: new ort.Tensor('float32', heavyInput(), [BATCH, 1024]) });
  });
  afterAll(async () => {
    await pool?.release();
    await raw?.release();
  });

  it('a raw onnxruntime-node run lets no callback through until it returns', async () => {
    // run() queues the inference as a setImmediate callback before the heartbeats start, so the
    // inference and its promise's resolution come first in the check phase: the setImmediate
    // heartbeat's first callback already sees it settled. The timer can fire once before that check
    // phase (when the test itself started inside one, the inference waits for the next loop
    // iteration, whose timers phase comes first), never during the inference.
    const turns = await turnsDuring(() => raw.run({ x: new ort.Tensor('float32', heavyInput(), [BATCH, 1024]) }));
    expect(turns.immediates).toBe(0);
    expect(turns.timers).toBeLessThanOrEqual(1);
  });

  it('a pool run keeps the main thread turning: setImmediate and timer callbacks run until the worker answers', async () => {
    const timings: RunTiming[] = [];
    const off = pool.on('run', (t) => timings.push(t));
    const turns = await turnsDuring(() => pool.run({ x: { data: heavyInput(), dims: [BATCH, 1024] } }));
    off();
    expect(timings).toHaveLength(1);
    expect(timings[0]?.ok).toBe(true);
    // A setImmediate turn costs microseconds and the run takes the worker tens of milliseconds or
    // more: thousands of turns on an idle machine, and still far more than 100 on a loaded one.
    expect(turns.immediates, `run took ${timings[0]?.runMs.toFixed(0)} ms in the worker`).toBeGreaterThan(100);
    // setTimeout(0) waits at least 1 ms per turn; it keeps firing, where the raw run allows one at most.
    expect(turns.timers).toBeGreaterThan(5);
  });

  it('the same holds with two heavy runs in flight at once on a pool of one: the second waits in the queue, not on the main thread', async () => {
    const order: string[] = [];
    const feeds = () => ({ x: { data: heavyInput(), dims: [BATCH, 1024] } });
    const turns = await turnsDuring(async () => {
      const first = pool.run(feeds()).then(() => order.push('first'));
      const second = pool.run(feeds()).then(() => order.push('second'));
      // Work on the main thread finishes while both inferences are pending.
      await new Promise((resolve) => setTimeout(resolve, 0));
      order.push('main-thread timer');
      await Promise.all([first, second]);
    });
    expect(order).toEqual(['main-thread timer', 'first', 'second']);
    expect(turns.immediates).toBeGreaterThan(200);
  });
});
