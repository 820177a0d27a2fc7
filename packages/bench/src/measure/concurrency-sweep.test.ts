import { ManualClock } from '@onnx-forge/runtime';
import { describe, expect, it } from 'vitest';
import { scriptedServer } from '../testing/scripted-server.js';
import { concurrencySweep } from './concurrency-sweep.js';

describe('concurrencySweep', () => {
  it('finds the throughput knee of a 2-worker server, each level stable after 3 agreeing windows', async () => {
    const clock = new ManualClock();
    const server = scriptedServer(clock, 2, 10);
    const levels = await clock.run(concurrencySweep(() => ({ run: server.run }), { levels: [1, 2, 4], windowMs: 200, clock }));
    expect(levels.map((l) => l.stable)).toEqual([true, true, true]);
    expect(levels.map((l) => l.windows.length)).toEqual([3, 3, 3]);
    // 1 in flight: 100/s at 10 ms; 2: 200/s at 10 ms; 4: still 200/s, but each waits behind another (20 ms).
    expect(levels.map((l) => Math.round(l.throughput))).toEqual([100, 200, 200]);
    expect(levels.map((l) => l.latency.p50)).toEqual([10, 10, 20]);
    expect(levels[2]?.latency.runsPerSecond).toBeCloseTo(200, 0);
  });

  it('reports a level whose windows never agree within 10 % as unstable, with every window', async () => {
    const clock = new ManualClock();
    // Each run gets slower as time goes on: 10 ms at the start, doubling every 500 ms.
    const server = scriptedServer(clock, 1, (now) => 10 * 2 ** (now / 500));
    const [level] = await clock.run(concurrencySweep(() => ({ run: server.run }), { levels: [1], windowMs: 200, maxWindows: 6, clock }));
    expect(level?.stable).toBe(false);
    expect(level?.windows).toHaveLength(6);
    const tp = level?.windows.map((w) => w.throughput) ?? [];
    expect(tp[0]).toBeGreaterThan(tp[5] as number);
  });

  it('calls a level stable only when the largest of 3 windows is within 10 % of the smallest, as perf_analyzer does', async () => {
    const clock = new ManualClock();
    // The service time steps through 20, 22 and 23 ms, one value per 5060 ms window: throughput 50, 45.5
    // and 43.5/s, each within 8 % of their average, but the largest 15 % above the smallest.
    const windowMs = 5060;
    const server = scriptedServer(clock, 1, (now) => [20, 22, 23][Math.floor(now / windowMs) % 3] as number);
    const [level] = await clock.run(concurrencySweep(() => ({ run: server.run }), { levels: [1], windowMs, maxWindows: 6, clock }));
    const tp = level?.windows.map((w) => w.throughput) ?? [];
    expect(Math.max(...tp) / Math.min(...tp)).toBeGreaterThan(1.13);
    const mean = tp.slice(0, 3).reduce((a, b) => a + b, 0) / 3;
    expect(tp.slice(0, 3).every((t) => Math.abs(t - mean) <= 0.1 * mean)).toBe(true);
    expect(level?.stable).toBe(false);
    expect(level?.windows).toHaveLength(6);
    // Within 10 % of each other, they do settle.
    const steady = scriptedServer(clock, 1, (now) => [20, 21, 21.5][Math.floor(now / windowMs) % 3] as number);
    const [calm] = await clock.run(concurrencySweep(() => ({ run: steady.run }), { levels: [1], windowMs, maxWindows: 6, clock }));
    expect(calm?.stable).toBe(true);
  });

  it('stops a level at the first failing run and reports its code', async () => {
    const clock = new ManualClock();
    let n = 0;
    const run = async () => {
      await clock.sleep(5);
      if (++n === 7) throw Object.assign(new Error('worker died'), { code: 'FORGE_RUNTIME' });
    };
    const closed: number[] = [];
    const [level] = await clock.run(concurrencySweep((c) => ({ run, close: async () => void closed.push(c) }), { levels: [2], windowMs: 100, clock }));
    expect(level?.errors).toBe(1);
    expect(level?.error).toEqual({ code: 'FORGE_RUNTIME', message: 'worker died' });
    expect(closed).toEqual([2]);
  });

  it('checks its options', async () => {
    await expect(concurrencySweep(() => ({ run: async () => {} }), { levels: [] })).rejects.toMatchObject({ code: 'FORGE_INVALID_OPTIONS' });
    await expect(concurrencySweep(() => ({ run: async () => {} }), { levels: [0] })).rejects.toMatchObject({ code: 'FORGE_INVALID_OPTIONS' });
  });

  it('counts throughput over the time a window really lasted, not the time asked for, when the timer fires late', async () => {
    const clock = new ManualClock();
    const server = scriptedServer(clock, 1, 10);
    // Every window's timer fires half again late, as on a machine whose event loop the runs keep busy.
    const late = { now: () => clock.now(), setTimeout: (cb: () => void, ms: number) => clock.setTimeout(cb, ms * 1.5), clearTimeout: (h: Parameters<typeof clock.clearTimeout>[0]) => clock.clearTimeout(h) };
    const [level] = await clock.run(concurrencySweep(() => ({ run: server.run }), { levels: [1], windowMs: 200, clock: late }));
    // Before: 30 runs of 10 ms in each 300 ms window, counted over 200 ms: 150/s from a server of 100/s.
    expect(level?.windows.map((w) => Math.round(w.throughput))).toEqual([100, 100, 100]);
    expect(level?.throughput).toBeCloseTo(100, 6);
    expect(level?.latency.runsPerSecond).toBeCloseTo(100, 6);
  });
});
