import { ManualClock } from '@onnx-forge/runtime';
import { describe, expect, it } from 'vitest';
import { sleep } from './bench-clock.js';
import { latencyStats } from './latency-stats.js';
import { measureRuns } from './measure-runs.js';

describe('measureRuns', () => {
  it('keeps warm-up runs apart from the steady state', async () => {
    const clock = new ManualClock();
    // A first run that compiles kernels (50 ms), a slow second one, then a steady 10 ms.
    const costs = [50, 20];
    const run = () => sleep(clock, costs.shift() ?? 10);
    const t = await clock.run(measureRuns(run, { clock, warmup: 2, runs: 8 }));
    expect(t.warmupMs).toEqual([50, 20]);
    expect(t.samplesMs).toEqual(new Array(8).fill(10));
    expect(t.wallMs).toBe(80);
  });

  it('keeps timing past `runs` until minTimeMs has passed, up to maxRuns', async () => {
    const clock = new ManualClock();
    const run = () => sleep(clock, 10);
    expect((await clock.run(measureRuns(run, { clock, warmup: 0, runs: 3, minTimeMs: 100 }))).samplesMs).toHaveLength(10);
    expect((await clock.run(measureRuns(run, { clock, warmup: 0, runs: 3, minTimeMs: 1000, maxRuns: 20 }))).samplesMs).toHaveLength(20);
  });

  it('refuses counts that are not integers or too small, with the option named', async () => {
    await expect(measureRuns(async () => {}, { runs: 0 })).rejects.toMatchObject({ code: 'FORGE_INVALID_OPTIONS', details: { option: 'runs' } });
    await expect(measureRuns(async () => {}, { warmup: 1.5 })).rejects.toMatchObject({ code: 'FORGE_INVALID_OPTIONS', details: { option: 'warmup' } });
  });

  it('stops with FORGE_CANCELLED when its signal is aborted', async () => {
    const controller = new AbortController();
    let n = 0;
    const run = async () => {
      if (++n === 3) controller.abort();
    };
    await expect(measureRuns(run, { runs: 10, warmup: 0, signal: controller.signal })).rejects.toMatchObject({ code: 'FORGE_CANCELLED' });
  });
});

describe('latencyStats', () => {
  it('gives the mean with its 95 % margin of error and runs per second', () => {
    const s = latencyStats([9, 11, 9, 11, 9, 11, 9, 11, 9, 11], 200);
    expect(s.mean).toBe(10);
    // t(9) = 2.262, std = 1.054, n = 10: 2.262 * 1.054 / sqrt(10) = 0.754
    expect(s.meanMarginOfError95).toBeCloseTo(0.754, 2);
    expect(s.runsPerSecond).toBe(50);
    expect(latencyStats([10, 10, 10, 10]).runsPerSecond).toBe(100);
    expect(latencyStats([5]).meanMarginOfError95).toBe(Infinity);
  });
});
