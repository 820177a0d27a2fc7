import { ManualClock } from '@onnx-forge/runtime';
import { describe, expect, it } from 'vitest';
import { scriptedServer } from '../testing/scripted-server.js';
import { sleep } from './bench-clock.js';
import { multiStream } from './scenario-multi-stream.js';
import { offline } from './scenario-offline.js';
import { serverScenario } from './scenario-server.js';
import { singleStream } from './scenario-single-stream.js';
import { poissonArrivals } from './poisson-arrivals.js';

describe('poissonArrivals', () => {
  it('is reproducible from its seed, increasing, with mean gap 1 / rate', () => {
    const a = poissonArrivals(50, 4000, 7);
    expect(poissonArrivals(50, 4000, 7)).toEqual(a);
    expect(poissonArrivals(50, 4000, 8)).not.toEqual(a);
    for (let i = 1; i < a.length; i++) expect(a[i] as number).toBeGreaterThan(a[i - 1] as number);
    // 4000 gaps of mean 20 ms: the sample mean is within 5 % (its standard error is 1.6 %).
    expect((a[a.length - 1] as number) / a.length).toBeGreaterThan(19);
    expect((a[a.length - 1] as number) / a.length).toBeLessThan(21);
    // Exponential gaps: about 1/e of them exceed the mean.
    const gaps = a.map((t, i) => t - (a[i - 1] ?? 0));
    expect(gaps.filter((g) => g > 20).length / gaps.length).toBeCloseTo(Math.exp(-1), 1);
  });

  it('refuses a rate that is not positive', () => {
    expect(() => poissonArrivals(0, 5, 1)).toThrow(/positive/);
  });
});

describe('MLPerf scenarios', () => {
  it('SingleStream reports p90 latency of one query at a time', async () => {
    const clock = new ManualClock();
    let i = 0;
    const r = await clock.run(singleStream(() => sleep(clock, ++i % 10 === 0 ? 30 : 10), { clock, warmup: 0, runs: 100 }));
    expect(r.scenario).toBe('single-stream');
    expect(r.latency.n).toBe(100);
    expect(r.p90Ms).toBeCloseTo(10 + 20 * 0.1, 5);
    expect(r.latency.p50).toBe(10);
  });

  it('MultiStream issues N samples per query at once, the next query when the last completes, and reports p99 of query latency', async () => {
    const clock = new ManualClock();
    // Every sample takes 10 ms, except one sample of every 50th query, which takes 60 ms: 2 % of queries are slow.
    let calls = 0;
    let inFlight = 0;
    let maxInFlight = 0;
    const issuedAt: number[] = [];
    const run = async () => {
      const k = calls++;
      if (k % 8 === 0) issuedAt.push(clock.now());
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const query = Math.floor(k / 8);
      await sleep(clock, query % 50 === 49 && k % 8 === 3 ? 60 : 10);
      inFlight--;
    };
    const r = await clock.run(multiStream(run, { clock, warmup: 0, queries: 200, samplesPerQuery: 8 }));
    expect(r).toMatchObject({ scenario: 'multi-stream', samplesPerQuery: 8 });
    expect(calls).toBe(200 * 8);
    // The samples of a query run together and no sample of the next query starts before they are all done.
    expect(maxInFlight).toBe(8);
    // A query lasts as long as its slowest sample: 196 of 10 ms, 4 of 60 ms.
    expect(r.samplesMs.filter((v) => v === 10)).toHaveLength(196);
    expect(r.samplesMs.filter((v) => v === 60)).toHaveLength(4);
    // Back to back: each query is issued the moment the one before completed.
    issuedAt.forEach((t, q) => q > 0 && expect(t - (issuedAt[q - 1] as number)).toBe(r.samplesMs[q - 1]));
    // p99 of 200 queries sits among the 4 slow ones; p90 among the fast.
    expect(r.p99Ms).toBe(60);
    expect(r.latency.p90).toBe(10);
    expect(r.samplesPerSecond).toBeCloseTo((200 * 8 * 1000) / (196 * 10 + 4 * 60), 9);
  });

  it('MultiStream over a pool of 2 workers: a query of 8 samples of 10 ms takes 4 rounds', async () => {
    const clock = new ManualClock();
    const server = scriptedServer(clock, 2, 10);
    const r = await clock.run(multiStream(server.run, { clock, warmup: 3, queries: 20, samplesPerQuery: 8 }));
    expect(r.warmupMs).toEqual([40, 40, 40]);
    expect(new Set(r.samplesMs)).toEqual(new Set([40]));
    expect(r.p99Ms).toBe(40);
    expect(r.samplesPerSecond).toBeCloseTo(200, 9);
    expect(server.calls()).toBe(23 * 8);
  });

  it('MultiStream fails with the query whose sample failed, and refuses a query of no samples', async () => {
    const clock = new ManualClock();
    let k = 0;
    const run = async () => {
      await sleep(clock, 1);
      if (++k === 8 * 4 + 5) throw new Error('kernel failed');
    };
    await expect(clock.run(multiStream(run, { clock, warmup: 0, queries: 10 }))).rejects.toMatchObject({ code: 'FORGE_RUNTIME', details: { query: 5 }, message: expect.stringContaining('kernel failed') });
    await expect(multiStream(run, { samplesPerQuery: 0 })).rejects.toMatchObject({ code: 'FORGE_INVALID_OPTIONS' });
  });

  it('Offline stops issuing queries at the first failure and rejects only once those in flight have ended', async () => {
    const clock = new ManualClock();
    let calls = 0;
    let inFlight = 0;
    const run = async () => {
      const k = ++calls;
      inFlight++;
      try {
        await sleep(clock, 10);
        if (k === 6) throw new Error('kernel failed');
      } finally {
        inFlight--;
      }
    };
    const rejected = await clock.run(offline(run, { clock, queries: 100, concurrency: 4 })).then(() => undefined, (e: unknown) => ({ e, inFlight, calls }));
    expect(rejected?.e).toMatchObject({ code: 'FORGE_RUNTIME', details: { query: 6 }, message: expect.stringContaining('kernel failed') });
    // The three other loops finish the query they hold and take no other: before, they ran all 100.
    expect(rejected?.inFlight).toBe(0);
    expect(rejected?.calls).toBeLessThanOrEqual(9);
    await clock.run(sleep(clock, 1000));
    expect(calls).toBe(rejected?.calls);
  });

  it('Offline reports throughput with every query available at once', async () => {
    const clock = new ManualClock();
    const server = scriptedServer(clock, 2, 10);
    const r = await clock.run(offline(server.run, { clock, queries: 100, concurrency: 4 }));
    expect(r.throughput).toBeCloseTo(200, 6);
    expect(r.wallMs).toBe(500);
    expect(server.calls()).toBe(100);
  });

  it('Server finds the highest Poisson rate that keeps p99 under the bound, by search', async () => {
    const clock = new ManualClock();
    // One worker at 10 ms: capacity 100/s; queueing makes p99 grow well before that.
    const server = scriptedServer(clock, 1, 10);
    const r = await clock.run(serverScenario(server.run, { p99BoundMs: 50, queries: 400, seed: 3, clock, startRate: 20, maxTrials: 14 }));
    expect(r.maxRate).not.toBeNull();
    const max = r.maxRate as number;
    expect(max).toBeLessThan(100);
    expect(max).toBeGreaterThan(20);
    const atMax = r.trials.find((t) => t.rate === max);
    expect(atMax?.ok).toBe(true);
    expect(atMax?.p99Ms).toBeLessThanOrEqual(50);
    // The search closed in: a failing rate within 5 % above the answer, and every rate above it failed.
    const fails = r.trials.filter((t) => !t.ok).map((t) => t.rate);
    expect(Math.min(...fails) / max).toBeLessThanOrEqual(1.05);
    expect(r.trials.filter((t) => t.rate > max).every((t) => !t.ok)).toBe(true);
    expect(r.latency?.p99).toBeLessThanOrEqual(50);
    expect(r.reason).toMatch(/keeps p99 within 50\.00 ms/);
    expect(r.boundFrom).toBe('given');
    // Same seed, same search.
    const again = await clock.run(serverScenario(scriptedServer(clock, 1, 10).run, { p99BoundMs: 50, queries: 400, seed: 3, clock, startRate: 20, maxTrials: 14 }));
    expect(again.trials.map((t) => t.rate)).toEqual(r.trials.map((t) => t.rate));
  });

  it('Server reports no rate, without trying any, when even a lone query exceeds the bound', async () => {
    const clock = new ManualClock();
    const server = scriptedServer(clock, 1, 80);
    const r = await clock.run(serverScenario(server.run, { p99BoundMs: 50, queries: 50, clock, maxTrials: 5 }));
    expect(r.maxRate).toBeNull();
    expect(r.latency).toBeNull();
    expect(r.unloaded).toMatchObject({ runs: 20, minMs: 80, p50Ms: 80 });
    expect(r.reason).toBe('no rate can keep p99 within 50.00 ms: a query alone takes 80.00 ms at the fastest (20 sent one at a time)');
    // Queueing only adds latency: no trial could pass, so none is run (each would take longer than the last).
    expect(r.trials).toHaveLength(0);
    expect(server.calls()).toBe(20);
  });

  it('Server stops halving the rate once queries seldom overlap, when the model\'s own tail is over the bound', async () => {
    const clock = new ManualClock();
    // 4 ms a query, but one in ten takes 30: p99 is 30 ms however rarely queries arrive.
    let n = 0;
    const server = scriptedServer(clock, 1, () => (++n % 10 === 0 ? 30 : 4));
    const r = await clock.run(serverScenario(server.run, { p99BoundMs: 10, queries: 50, clock, seed: 2 }));
    expect(r.maxRate).toBeNull();
    const rates = r.trials.map((t) => t.rate);
    // Halved from the start rate (500 / p50 = 125/s) until rate × p50 < 2 %: 3.9/s is the last.
    expect(rates.map((x) => Number(x.toPrecision(3)))).toEqual([125, 62.5, 31.3, 15.6, 7.81, 3.91]);
    expect(r.reason).toBe('no rate kept p99 within 10.00 ms, not even 3.91/s, where queries seldom overlap (p99 30.00 ms there): what exceeds the bound is not queueing but the latency of queries arriving one by one (sent back to back, 20 took at most 30.00 ms)');
  });

  it('Server gives the throughput of the passing trial as runs per second, not 1000 / mean latency', async () => {
    const clock = new ManualClock();
    // Four workers at 10 ms: queries overlap, so 1000 / mean latency (about 100/s) is far below what was served.
    const r = await clock.run(serverScenario(scriptedServer(clock, 4, 10).run, { p99BoundMs: 25, queries: 400, seed: 5, clock, startRate: 50, maxTrials: 14 }));
    const max = r.maxRate as number;
    expect(max).toBeGreaterThan(150);
    const atMax = r.trials.find((t) => t.rate === max);
    expect(r.latency?.runsPerSecond).toBe(atMax?.throughput);
    // 400 Poisson arrivals at `max`/s end within a few per cent of 400 / max seconds.
    expect(r.latency?.runsPerSecond).toBeGreaterThan(0.85 * max);
    expect(r.latency?.runsPerSecond).toBeLessThan(1.15 * max);
    for (const t of r.trials) expect(t.throughput).toBeGreaterThan(0);
  });

  it('Server\'s default bound is twice the p99 of queries sent one at a time through the same path', async () => {
    const clock = new ManualClock();
    const r = await clock.run(serverScenario(scriptedServer(clock, 2, 10).run, { queries: 100, clock, maxTrials: 8 }));
    expect(r.boundFrom).toBe('probe');
    expect(r.p99BoundMs).toBe(20);
    expect(r.maxRate).not.toBeNull();
  });
});

/** A clock whose timers fire as Node's do by performance.now(): after whole milliseconds, so a fractional delay can end up to 1 ms early. */
function earlyTimers(clock: ManualClock) {
  return { now: () => clock.now(), setTimeout: (cb: () => void, ms: number) => clock.setTimeout(cb, Math.max(1, Math.floor(ms))), clearTimeout: (h: Parameters<ManualClock['clearTimeout']>[0]) => clock.clearTimeout(h) };
}

describe('timers that fire early', () => {
  it('sleep waits out the time a timer left', async () => {
    const clock = new ManualClock();
    const early = earlyTimers(clock);
    await clock.run(sleep(early, 5.9));
    expect(clock.now()).toBeGreaterThanOrEqual(5.9);
    // A clock whose now() never moves (fake timers that leave performance.now() alone) still wakes.
    const still = { now: () => 0, setTimeout: (cb: () => void) => setTimeout(cb, 0), clearTimeout: (h: unknown) => clearTimeout(h as ReturnType<typeof setTimeout>) };
    await sleep(still, 5);
  });

  it('the Server scenario issues no query before its arrival time, so none is timed shorter than it ran', async () => {
    const clock = new ManualClock();
    // A query takes 10 ms; at 20/s they seldom overlap, so their latency from arrival is 10 ms or more.
    const server = scriptedServer(clock, 4, 10);
    const r = await clock.run(serverScenario(server.run, { clock: earlyTimers(clock), startRate: 20, p99BoundMs: 1000, queries: 100, maxTrials: 1, probeRuns: 1 }));
    // Before: queries sent up to 1 ms before their arrival time gave latencies from 9.02 ms.
    expect(r.trials[0]?.ok).toBe(true);
    expect(r.latency?.min).toBeGreaterThanOrEqual(10);
  });
});
