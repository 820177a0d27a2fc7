import { ForgeError } from '@onnx-forge/core';
import { DEFAULT_TOLERANCE, compareOutputs } from './compare-outputs.js';
import { type Feeds, ManualClock, type TensorLike } from '@onnx-forge/runtime';
import { describe, expect, it } from 'vitest';
import { functionBackend } from './function-backend.js';
import { type BreakerEvent, HybridModel, type QuarantineEvent, type SwitchEvent } from './hybrid-model.js';
import type { HybridOptions } from './hybrid-options.js';
import { seededRandom } from './seeded-random.js';
import { type ScriptedBackend, type Step, jitter, requestFeeds, scriptedBackend, truth } from './testing/scripted-backend.js';
import type { Backend, PredictOptions } from './backend.js';

/** Runs requests first..last one after the other on the clock; returns the outputs. */
async function drive(model: HybridModel, clock: ManualClock, count: number, first = 0, gapMs = 0): Promise<Record<string, TensorLike>[]> {
  const out: Record<string, TensorLike>[] = [];
  for (let i = first; i < first + count; i++) {
    out.push(await clock.run(model.predict(requestFeeds(i))));
    if (gapMs) clock.advance(gapMs);
  }
  return out;
}

function logits(o: Record<string, TensorLike>): number[] {
  return Array.from((o.logits as TensorLike).data as Float32Array);
}

const steady = (latencyMs: number) => (): Step => ({ latencyMs });


/** `requests` requests from four clients at once through a HybridModel over `backends` (policy auto). */
async function serveFourClients(backends: readonly ScriptedBackend[], clock: ManualClock, requests: number) {
  const model = new HybridModel({ backends: [...backends], clock, random: seededRandom(7) });
  let next = 0;
  const client = async () => {
    while (next < requests) await model.predict(requestFeeds(next++ % 32));
  };
  await clock.run(Promise.all([client(), client(), client(), client()]));
  return { stats: model.stats(), summary: model.summary(), calls: Object.fromEntries(backends.map((b) => [b.name, b.calls])) };
}

/**
 * A backend whose calls run one at a time in `queue`, each for runMs() on the clock: a queue shared by
 * backends on one thread (sharesThread), or its own as a pool's single worker (runsAtOnce: 1).
 */
function queuedBackend(name: string, clock: ManualClock, runMs: () => number, queue: { tail: Promise<void> }, marks: Pick<Backend, 'sharesThread' | 'runsAtOnce'>): ScriptedBackend {
  let calls = 0;
  return {
    name,
    ...marks,
    get calls() {
      return calls;
    },
    aborted: 0,
    async predict(feeds: Feeds) {
      calls++;
      const run = queue.tail.then(() => clock.sleep(runMs()));
      queue.tail = run;
      await run;
      return truth(feeds);
    },
    async dispose() {},
  };
}

describe('HybridModel: circuit breaker and fallback', () => {
  it('abandons a backend that starts failing every call within one breaker window (3 failures), answers every request from another, and probes it again after the reset time', async () => {
    const clock = new ManualClock();
    let broken = false;
    let healed = false;
    const fast = scriptedBackend('fast', clock, () => ({ latencyMs: 2, fail: broken && !healed ? 'fast: device lost' : false }));
    const slow = scriptedBackend('slow', clock, steady(6));
    const breaker = { failures: 3, windowMs: 1_000, resetMs: 5_000 };
    const model = new HybridModel({ backends: [fast, slow], breaker, clock, random: seededRandom(1) });
    const events: BreakerEvent[] = [];
    model.on('breaker', (e) => events.push(e));

    await drive(model, clock, 200, 0, 10);
    expect(model.stats().selected).toBe('fast');

    // From now on every call to 'fast' fails.
    broken = true;
    const brokeAt = clock.now();
    const errorsBefore = model.stats().backends.fast?.errors ?? 0;
    for (let i = 0; model.stats().backends.fast?.state !== 'open' && i < 20; i++) {
      const out = await clock.run(model.predict(requestFeeds(1000 + i)));
      expect(logits(out)).toEqual(logits(truth(requestFeeds(1000 + i))));
      clock.advance(10);
    }
    // Opened by exactly `failures` failed calls, within one window of the first.
    expect(model.stats().backends.fast?.state).toBe('open');
    expect((model.stats().backends.fast?.errors ?? 0) - errorsBefore).toBe(breaker.failures);
    expect(clock.now() - brokeAt).toBeLessThan(breaker.windowMs);
    expect(model.stats().selected).toBe('slow');
    expect(events.map((e) => `${e.backend}:${e.from}->${e.to}`)).toEqual(['fast:closed->open']);
    expect(events[0]?.lastError).toBe('fast: device lost');

    // While open, 'fast' gets no traffic at all; every request is answered by 'slow'.
    const callsWhenOpened = fast.calls;
    const openedAt = clock.now();
    let i = 2000;
    while (clock.now() - openedAt < breaker.resetMs - 20) {
      await clock.run(model.predict(requestFeeds(i++)));
      clock.advance(10);
    }
    expect(fast.calls).toBe(callsWhenOpened);

    // After the reset time: exactly one probe, which fails, and the circuit opens again.
    clock.advance(20);
    await clock.run(model.predict(requestFeeds(i++)));
    expect(fast.calls).toBe(callsWhenOpened + 1);
    expect(events.map((e) => `${e.from}->${e.to}`)).toEqual(['closed->open', 'open->half-open', 'half-open->open']);
    await drive(model, clock, 50, i, 10);
    expect(fast.calls).toBe(callsWhenOpened + 1);

    // Healed: the next probe closes the circuit and the choice returns to the faster backend.
    healed = true;
    clock.advance(breaker.resetMs);
    await drive(model, clock, 1, 5000, 10);
    expect(model.stats().backends.fast?.state).toBe('healthy');
    expect(events.slice(-2).map((e) => `${e.from}->${e.to}`)).toEqual(['open->half-open', 'half-open->closed']);
    await drive(model, clock, 600, 6000, 10);
    const s = model.stats();
    expect(s.selected).toBe('fast');
    expect(s.failed).toBe(0);
    expect(s.answered).toBe(s.requests);
  });

  it('moves a request to the next backend when the first times out, and counts the time-out', async () => {
    const clock = new ManualClock();
    const hang = scriptedBackend('hang', clock, () => ({ latencyMs: 10_000 }));
    const ok = scriptedBackend('ok', clock, steady(5));
    const model = new HybridModel({ backends: [hang, ok], policy: { order: ['hang', 'ok'] }, timeoutMs: 50, clock });
    const t0 = clock.now();
    const out = await clock.run(model.predict(requestFeeds(1)));
    expect(logits(out)).toEqual(logits(truth(requestFeeds(1))));
    expect(clock.now() - t0).toBe(55);
    const s = model.stats();
    expect(s.backends.hang).toMatchObject({ timeouts: 1, errors: 1, lastError: { code: 'FORGE_TIMEOUT' } });
    expect(s.fallbacks).toBe(1);
    expect(s.backends.ok?.routes.fallback).toBe(1);
  });

  it('under auto, sends a failed request to the backend with the lowest peak-EWMA: one that just spiked waits', async () => {
    const clock = new ManualClock();
    let failing = false;
    const first = scriptedBackend('first', clock, () => ({ latencyMs: 2, fail: failing }));
    // 'spiky' is faster on average (mean 14.4 ms over its 30 calls) but its last call took 200 ms;
    // 'steady' always takes 20 ms.
    const spiky = scriptedBackend('spiky', clock, (n) => ({ latencyMs: n === 29 ? 200 : 8 }));
    const steadyB = scriptedBackend('steady', clock, steady(20));
    const model = new HybridModel({ backends: [first, spiky, steadyB], stability: { exploration: 0, minSamples: 30 }, clock });
    await drive(model, clock, 100);
    expect(spiky.calls).toBe(30);
    expect(model.stats().backends.spiky?.meanMs).toBeCloseTo(14.4, 10);
    failing = true;
    await drive(model, clock, 1, 100);
    expect(model.stats().backends.steady?.routes.fallback).toBe(1);
    expect(model.stats().backends.spiky?.routes.fallback).toBe(0);
  });

  it('under an order policy, falls back in that order', async () => {
    const clock = new ManualClock();
    const a = scriptedBackend('a', clock, () => ({ latencyMs: 1, fail: true }));
    const b = scriptedBackend('b', clock, steady(30));
    const c = scriptedBackend('c', clock, steady(3));
    const model = new HybridModel({ backends: [c, b, a], policy: { order: ['a', 'b', 'c'] }, breaker: false, clock });
    await drive(model, clock, 10);
    expect([a.calls, b.calls, c.calls]).toEqual([10, 10, 0]);
  });

  it('rejects with a ForgeError listing each backend\'s error only when every backend fails', async () => {
    const clock = new ManualClock();
    const a = scriptedBackend('a', clock, () => ({ latencyMs: 1, fail: 'a: out of memory' }));
    const b = scriptedBackend('b', clock, () => ({ latencyMs: 1, fail: 'b: bad kernel' }));
    const model = new HybridModel({ backends: [a, b], clock });
    const error = await clock.run(model.predict(requestFeeds(1))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ForgeError);
    const e = error as ForgeError;
    expect(e.code).toBe('FORGE_RUNTIME');
    expect(e.message).toContain('a: FORGE_RUNTIME a: out of memory');
    expect(e.message).toContain('b: FORGE_RUNTIME b: bad kernel');
    expect(e.details.errors).toEqual([
      { backend: 'a', code: 'FORGE_RUNTIME', message: 'a: out of memory' },
      { backend: 'b', code: 'FORGE_RUNTIME', message: 'b: bad kernel' },
    ]);
    expect(e.cause).toBeInstanceOf(AggregateError);
    expect(model.stats()).toMatchObject({ failed: 1, answered: 0 });
  });

  it('rejects with FORGE_NO_PROVIDER, naming each state, when every circuit is open', async () => {
    const clock = new ManualClock();
    const a = scriptedBackend('a', clock, () => ({ latencyMs: 1, fail: true }));
    const model = new HybridModel({ backends: [a], breaker: { failures: 1, resetMs: 1_000 }, clock });
    await expect(clock.run(model.predict(requestFeeds(1)))).rejects.toMatchObject({ code: 'FORGE_RUNTIME' });
    const e = (await clock.run(model.predict(requestFeeds(2))).catch((x: unknown) => x)) as ForgeError;
    expect(e.code).toBe('FORGE_NO_PROVIDER');
    expect(e.message).toContain('a open (probed again at 1001 ms)');
    expect(a.calls).toBe(1);
  });
});

describe('HybridModel: accuracy canary', () => {
  function setup(extra: Partial<HybridOptions> = {}) {
    const clock = new ManualClock();
    let fixed = false;
    const reference = scriptedBackend('reference', clock, steady(20));
    const wrongFast = scriptedBackend('wrong-fast', clock, () => ({ latencyMs: 2, wrong: !fixed }));
    const good = scriptedBackend('good', clock, steady(6));
    const model = new HybridModel({ backends: [wrongFast, good, reference], reference: 'reference', clock, random: seededRandom(7), ...extra });
    const quarantines: QuarantineEvent[] = [];
    model.on('quarantine', (q) => quarantines.push(q));
    return { clock, model, wrongFast, good, reference, quarantines, fix: () => (fixed = true) };
  }

  it('quarantines a fast but wrong backend at its first canary check, never chooses it again, never serves its answers, and takes it back only after revalidate passes', async () => {
    const { clock, model, wrongFast, quarantines, fix } = setup();
    const outputs = await drive(model, clock, 3000);
    // Every answer is the right one: the failed check's request got the reference's output.
    outputs.forEach((o, i) => expect(logits(o)).toEqual(logits(truth(requestFeeds(i)))));
    expect(quarantines).toHaveLength(1);
    const q = quarantines[0] as QuarantineEvent;
    expect(q).toMatchObject({ model: 'hybrid', backend: 'wrong-fast', request: 1, failedChecks: 1 });
    expect(q.check.cosine).toBeLessThan(0.99);
    expect(q.reasons.join(' ')).toMatch(/cosine .* < 0\.99/);
    const s = model.stats();
    expect(s.backends['wrong-fast']).toMatchObject({ state: 'quarantined', calls: 1, served: 0, accuracy: { checks: 1, failedChecks: 1 } });
    expect(s.backends['wrong-fast']?.quarantine?.request).toBe(1);
    expect(s.selected).toBe('good');
    expect(wrongFast.calls).toBe(1);

    // Still wrong: revalidation fails and it stays out.
    const again = await clock.run(model.revalidate('wrong-fast'));
    expect(again).toMatchObject({ passed: false, samples: 16 });
    await drive(model, clock, 500, 3000);
    expect(model.stats().backends['wrong-fast']?.state).toBe('quarantined');
    expect(model.stats().backends['wrong-fast']?.served).toBe(0);

    // Fixed: revalidation on the last 8 requests passes, and the chooser moves to it (it is fastest).
    fix();
    const report = await clock.run(model.revalidate('wrong-fast', 8));
    expect(report).toMatchObject({ passed: true, samples: 8, errors: [] });
    expect(report.checks.every((c) => c.passed && c.cosine > 0.999999)).toBe(true);
    expect(model.stats().backends['wrong-fast']?.state).toBe('healthy');
    await drive(model, clock, 1000, 4000);
    expect(model.stats().selected).toBe('wrong-fast');
  });

  it('with quarantineAfter 3, quarantines at exactly the third failed check and answers the failed ones from the reference', async () => {
    const { clock, model, quarantines } = setup({ canary: { quarantineAfter: 3 } });
    const outputs = await drive(model, clock, 200);
    outputs.forEach((o, i) => expect(logits(o)).toEqual(logits(truth(requestFeeds(i)))));
    expect(quarantines).toHaveLength(1);
    expect(quarantines[0]?.failedChecks).toBe(3);
    expect(model.stats().backends['wrong-fast']).toMatchObject({ state: 'quarantined', accuracy: { checks: 3, failedChecks: 3 }, served: 0 });
  });

  it('quarantines a backend whose fp16 output overflows to NaN even though its other values agree', async () => {
    const clock = new ManualClock();
    const reference = functionBackend('fp32', (f: Feeds) => truth(f));
    const nan = functionBackend('fp16', (f: Feeds) => {
      const t = truth(f).logits as TensorLike;
      const data = (t.data as Float32Array).slice();
      data[0] = Number.NaN;
      return { logits: { ...t, data } };
    });
    const model = new HybridModel({ backends: [nan, reference], reference: 'fp32', clock });
    await clock.run(model.predict(requestFeeds(1)));
    const q = model.stats().backends.fp16?.quarantine;
    expect(q?.reasons.join(' ')).toContain('1 NaN or infinite values');
  });

  it('refuses revalidate without a reference, for the reference itself, and without samples', async () => {
    const clock = new ManualClock();
    const a = scriptedBackend('a', clock, steady(1));
    const noRef = new HybridModel({ backends: [a], clock });
    await expect(noRef.revalidate('a')).rejects.toMatchObject({ code: 'FORGE_INVALID_OPTIONS' });
    const { model } = setup();
    await expect(model.revalidate('reference')).rejects.toMatchObject({ code: 'FORGE_INVALID_OPTIONS' });
    await expect(model.revalidate('nope')).rejects.toMatchObject({ code: 'FORGE_INVALID_OPTIONS' });
    await expect(model.revalidate('good')).rejects.toMatchObject({ code: 'FORGE_BAD_SAMPLES' });
  });
});

describe('HybridModel: stable choice', () => {
  const twoJittery = (seed: number, stability: HybridOptions['stability'] = {}) => {
    const clock = new ManualClock();
    // 10 ms and 10.5 ms means, each ±2 ms uniform noise: the gap is a quarter of the noise.
    const a = jitter(seed, 10, 2);
    const b = jitter(seed + 1, 10.5, 2);
    const model = new HybridModel({
      backends: [scriptedBackend('a', clock, () => ({ latencyMs: a() })), scriptedBackend('b', clock, () => ({ latencyMs: b() }))],
      clock, random: seededRandom(seed), stability,
    });
    return { clock, model };
  };

  it('does not flap between two backends whose latencies differ by less than their noise: ≤ 2 switches over 10,000 requests', async () => {
    for (const seed of [1, 2, 3]) {
      const { clock, model } = twoJittery(seed);
      await drive(model, clock, 10_000);
      const s = model.stats();
      expect(s.switches, `seed ${seed}`).toBeLessThanOrEqual(2);
      expect(s.explorations).toBeGreaterThan(300);
    }
  });

  it('flaps on the same traffic without minimum gain, margin of error and dwell time (≥ 20 switches), so the bound above is the mechanism\'s doing', async () => {
    const { clock, model } = twoJittery(1, { minGain: 0, z: 0, dwellMs: 0 });
    await drive(model, clock, 10_000);
    expect(model.stats().switches).toBeGreaterThanOrEqual(20);
  });

  it('moves to a backend that became faster within 800 requests (40 samples at the 5 % exploration share)', async () => {
    const clock = new ManualClock();
    let changed = false;
    const a = jitter(11, 10, 1);
    const bSlow = jitter(12, 20, 1);
    const bFast = jitter(13, 4, 0.4);
    const model = new HybridModel({
      backends: [scriptedBackend('a', clock, () => ({ latencyMs: a() })), scriptedBackend('b', clock, () => ({ latencyMs: changed ? bFast() : bSlow() }))],
      clock, random: seededRandom(11),
    });
    const switches: SwitchEvent[] = [];
    model.on('switch', (e) => switches.push(e));
    await drive(model, clock, 1000);
    expect(model.stats().selected).toBe('a');
    changed = true;
    let after = 0;
    while (model.stats().selected !== 'b' && after < 800) {
      await clock.run(model.predict(requestFeeds(after)));
      after++;
    }
    expect(model.stats().selected).toBe('b');
    expect(after).toBeLessThanOrEqual(800);
    const last = switches[switches.length - 1] as SwitchEvent;
    expect(last).toMatchObject({ from: 'a', to: 'b', reason: 'faster' });
    expect(last.toMedianMs as number).toBeLessThan(0.9 * (last.fromMedianMs as number));
  });

  it('settles on the fastest of three at once when they are measured in turn: a move made before the last one was measured does not start the dwell time that would keep the choice from it', async () => {
    const clock = new ManualClock();
    // Calibrated in the order given: fp16 is measured (and beats fp32) before int8 has had a call.
    const model = new HybridModel({
      backends: [scriptedBackend('fp32', clock, steady(20)), scriptedBackend('fp16', clock, steady(15)), scriptedBackend('int8', clock, steady(8))],
      clock, random: seededRandom(5),
    });
    const switches: SwitchEvent[] = [];
    model.on('switch', (e) => switches.push(e));
    // 30 requests of at most 20 ms: well within the 5 s dwell time of a settled choice.
    await drive(model, clock, 30);
    expect(model.stats().selected).toBe('int8');
    expect(switches.at(-1)).toMatchObject({ to: 'int8', reason: 'faster' });
    expect(model.stats().switches).toBeLessThanOrEqual(2);
  });

  it('under concurrency on one thread (in-process sessions, onnxruntime #19611), moves to a backend 27 % faster although every latency also holds the wait behind the other requests\' runs', async () => {
    const clock = new ManualClock();
    // One thread runs every call in turn: a call's latency is its own run plus the runs queued before it,
    // mostly the selected backend's; that wait is the same whichever backend is chosen.
    const thread = { tail: Promise.resolve() };
    const onTheThread = (name: string, runMs: () => number) => queuedBackend(name, clock, runMs, thread, { sharesThread: true });
    const serve = (runs: Record<string, () => number>) => serveFourClients(Object.entries(runs).map(([name, ms]) => onTheThread(name, ms)), clock, 3000);
    const faster = await serve({ fp32: () => 20, fp16: () => 15, int8: () => 11 });
    expect(faster.stats.selected).toBe('int8');
    // The move came early: most requests ran on int8.
    expect(faster.calls.int8).toBeGreaterThan(2000);
    // The summary agrees with the choice: int8's median latency is the lowest.
    const p50 = (name: string) => faster.stats.backends[name]?.p50Ms as number;
    expect(p50('int8')).toBeLessThan(p50('fp16'));
    expect(faster.stats.switches).toBeLessThanOrEqual(2);
    // Two backends 1 ms apart under ±3 ms of noise each: the choice holds still.
    const close = await serve({ a: jitter(21, 15, 3), b: jitter(22, 16, 3) });
    expect(close.stats.switches).toBeLessThanOrEqual(1);
  });

  it('with a queue per backend (worker pools, runsAtOnce), stays on the fastest under concurrency instead of rotating to whichever backend has no queue', async () => {
    const clock = new ManualClock();
    // Each backend has one worker: the chosen one's calls wait behind each other, an explored one's
    // call runs at once, so its latency alone makes any other backend look faster than the chosen one.
    const pooled = (name: string, runMs: () => number) => queuedBackend(name, clock, runMs, { tail: Promise.resolve() }, { runsAtOnce: 1 });
    const serve = (runs: Record<string, () => number>) => serveFourClients(Object.entries(runs).map(([name, ms]) => pooled(name, ms)), clock, 5000);
    // int8 is a little slower than fp16 (16 against 15 ms, ±3 ms each): fp16 is chosen and kept, over
    // more than ten dwell times.
    const slower = await serve({ fp32: jitter(31, 20, 3), fp16: jitter(32, 15, 3), int8: jitter(33, 16, 1.5) });
    expect(slower.stats.selected).toBe('fp16');
    expect(slower.stats.switches).toBeLessThanOrEqual(1);
    expect(slower.calls.fp16).toBeGreaterThan(4500);
    // The latencies alone tell another story (int8's explored calls never queued); run p50, what auto
    // compares and the summary shows, tells the one it acted on.
    const by = slower.stats.backends;
    expect(by.int8?.p50Ms as number).toBeLessThan(by.fp16?.p50Ms as number);
    expect(by.fp16?.runP50Ms as number).toBeLessThan(by.int8?.runP50Ms as number);
    expect(by.fp16?.runP50Ms as number).toBeGreaterThan(12);
    expect(by.fp16?.runP50Ms as number).toBeLessThan(18);
    expect(slower.summary).toMatch(/mean\s+p99\s+run p50\s+speedup/);
    const faster = await serve({ fp32: jitter(31, 20, 3), fp16: jitter(32, 15, 3), int8: jitter(33, 11, 1.5) });
    expect(faster.stats.selected).toBe('int8');
    expect(faster.calls.int8).toBeGreaterThan(4500);
  });

  it('with a queue per backend and a p99 target, judges each backend\'s tail by its runs: no move to a slower backend because its explored calls skipped the chosen one\'s queue', async () => {
    const clock = new ManualClock();
    const pooled = (name: string, runMs: (n: number) => number): Backend => {
      let calls = 0;
      let tail: Promise<void> = Promise.resolve();
      return {
        name,
        runsAtOnce: 1,
        async predict(feeds: Feeds) {
          const run = tail.then(() => clock.sleep(runMs(calls++)));
          tail = run;
          await run;
          return truth(feeds);
        },
        async dispose() {},
      };
    };
    const serve = async (backends: Backend[]) => {
      const model = new HybridModel({ backends, constraints: { p99Ms: 40 }, clock, random: seededRandom(7) });
      const switches: SwitchEvent[] = [];
      model.on('switch', (e) => switches.push(e));
      let next = 0;
      const client = async () => {
        while (next < 5000) await model.predict(requestFeeds(next++ % 32));
      };
      await clock.run(Promise.all([client(), client(), client(), client()]));
      return { selected: model.stats().selected, switches };
    };
    // Four requests queue on the chosen backend: its latencies pass 40 ms, an explored call's do not.
    const fp16 = jitter(32, 15, 3);
    const int8 = jitter(33, 16, 1.5);
    const close = await serve([pooled('fp16', () => fp16()), pooled('int8', () => int8())]);
    expect(close.selected).toBe('fp16');
    expect(close.switches.filter((e) => e.reason === 'p99-target')).toEqual([]);
    // A backend whose own runs pass the target now and then is still passed over.
    const spiky = await serve([pooled('spiky', (n) => (n % 10 === 9 ? 80 : 4)), pooled('even', () => 8)]);
    expect(spiky.selected).toBe('even');
  });

  it('under auto with a p99 target, passes over a faster backend whose tail exceeds the target', async () => {
    const clock = new ManualClock();
    // 'spiky' is faster on average (4 ms) but every tenth call takes 80 ms; 'even' takes 8 ms.
    const spiky = scriptedBackend('spiky', clock, (n) => ({ latencyMs: n % 10 === 9 ? 80 : 4 }));
    const even = scriptedBackend('even', clock, steady(8));
    const auto = new HybridModel({ backends: [spiky, even], constraints: { p99Ms: 50 }, clock, random: seededRandom(3) });
    await drive(auto, clock, 2000);
    expect(auto.stats().selected).toBe('even');
    const clock2 = new ManualClock();
    const speed = new HybridModel({
      backends: [scriptedBackend('spiky', clock2, (n) => ({ latencyMs: n % 10 === 9 ? 80 : 4 })), scriptedBackend('even', clock2, steady(8))],
      policy: 'speed', constraints: { p99Ms: 50 }, clock: clock2, random: seededRandom(3),
    });
    await drive(speed, clock2, 2000);
    expect(speed.stats().selected).toBe('spiky');
  });
});

describe('HybridModel: policies, statistics and options', () => {
  it('size picks the smallest, accuracy the reference, order the first healthy one, and falls back in that order', async () => {
    const clock = new ManualClock();
    const make = () => [
      scriptedBackend('fp32', clock, steady(10), { sizeBytes: 400 }),
      scriptedBackend('fp16', clock, steady(8), { sizeBytes: 200 }),
      scriptedBackend('int8', clock, steady(4), { sizeBytes: 100 }),
    ];
    const size = new HybridModel({ backends: make(), policy: 'size', clock });
    await drive(size, clock, 20);
    expect(size.stats().selected).toBe('int8');
    const accuracy = new HybridModel({ backends: make(), reference: 'fp32', policy: 'accuracy', clock });
    await drive(accuracy, clock, 20);
    expect(accuracy.stats().selected).toBe('fp32');
    const order = new HybridModel({ backends: make(), policy: { order: ['fp16', 'fp32'] }, clock });
    await drive(order, clock, 20);
    expect(order.stats()).toMatchObject({ selected: 'fp16', explorations: 0 });
    expect(order.stats().backends.fp16?.served).toBe(20);
  });

  it('keeps the statistics the issue lists: calls, errors, rate, peak-EWMA, p50/p95/p99, in-flight, cold start, drift', async () => {
    const clock = new ManualClock();
    const ref = scriptedBackend('ref', clock, (n) => ({ latencyMs: n === 0 ? 100 : 10 }));
    const a = scriptedBackend('a', clock, (n) => ({ latencyMs: n === 0 ? 50 : 5, fail: n === 3 }));
    const model = new HybridModel({ backends: [a, ref], reference: 'ref', canary: { sampleRate: 1 }, clock });
    // Two requests in flight at once.
    const p1 = model.predict(requestFeeds(1));
    const p2 = model.predict(requestFeeds(2));
    await Promise.resolve();
    expect(model.stats().backends.a?.inFlight).toBe(2);
    await clock.run(Promise.all([p1, p2]));
    await drive(model, clock, 100, 3);
    const s = model.stats();
    const sa = s.backends.a;
    expect(sa).toMatchObject({ calls: 102, errors: 1, successes: 101, inFlight: 0, coldStartMs: 50, p50Ms: 5 });
    expect(sa?.errorRate).toBeCloseTo(1 / 102, 10);
    expect(sa?.p95Ms).toBe(5);
    expect(sa?.p99Ms).toBeGreaterThanOrEqual(5);
    expect(sa?.peakEwmaMs).toBeGreaterThanOrEqual(5);
    expect(sa?.accuracy).toMatchObject({ failedChecks: 0, argmaxDisagreements: 0 });
    expect(sa?.accuracy.worstCosine).toBeGreaterThan(0.999999);
    expect(sa?.accuracy.checks).toBe(101);
    expect(s.backends.ref?.coldStartMs).toBe(100);
    const summary = model.summary();
    expect(summary).toMatch(/hybrid model 'hybrid' \(policy auto, reference ref\): 102 requests, 0 failed/);
    // The failed call was answered by the reference, whose canary run was already under way.
    expect(summary).toMatch(/\* a\s+healthy\s+101\s+102\s+99\.0%/);
    expect(s).toMatchObject({ fallbacks: 1, backends: { ref: { served: 1 } } });
    // Speedup over the reference: mean 10.9 ms over mean ~5.4 ms.
    const line = summary.split('\n').find((l) => l.includes('* a')) as string;
    expect(Number(/(\d+\.\d+)×/.exec(line)?.[1])).toBeCloseTo((s.backends.ref?.meanMs as number) / (sa?.meanMs as number), 1);
  });

  it('rejects bad options with FORGE_INVALID_OPTIONS', () => {
    const clock = new ManualClock();
    const a = scriptedBackend('a', clock, steady(1));
    const cases: [HybridOptions, RegExp][] = [
      [{ backends: [] }, /backends must be a non-empty array/],
      [{ backends: [{ name: 'x' } as never] }, /backends\[0\] is not a backend/],
      [{ backends: [a, a] }, /two backends are named 'a'/],
      [{ backends: [a], reference: 'b' }, /reference 'b' is not among the backends/],
      [{ backends: [a], policy: 'fastest' as never }, /policy must be/],
      [{ backends: [a], policy: 'accuracy' }, /needs a reference/],
      [{ backends: [a], policy: { order: ['z'] } }, /unknown backends z/],
      [{ backends: [a], stability: { exploration: 2 } }, /stability.exploration must be between 0 and 1/],
      [{ backends: [a], canary: { sampleRate: 0.1, every: 3 } as never }, /unknown option canary.every/],
      [{ backends: [a], timout: 5 } as never, /unknown option 'timout'/],
      [{ backends: [a], reference: 'a', serveReference: false }, /no backend may serve/],
      [{ backends: [a], constraints: { accuracy: { classifiers: 'logits' as never } } }, /constraints.accuracy.classifiers must be a list of output names/],
      [{ backends: [{ ...a, name: 'pool', runsAtOnce: 0 }] }, /backends\[0\] \('pool'\): runsAtOnce must be a positive integer \(the calls it runs at once\), got 0/],
      [{ backends: [a, { ...a, name: 'p', runsAtOnce: '4' as never }] }, /backends\[1\] \('p'\): runsAtOnce must be a positive integer/],
      [{ backends: [{ ...a, name: 't', sharesThread: 'yes' as never }] }, /backends\[0\] \('t'\): sharesThread must be true or false, got "yes"/],
    ];
    for (const [options, message] of cases) {
      expect(() => new HybridModel(options)).toThrow(message);
      expect(() => new HybridModel(options)).toThrow(expect.objectContaining({ code: 'FORGE_INVALID_OPTIONS' }));
    }
  });

  it('warms every backend up without the per-call time limit, and counts the warm-up as its cold start', async () => {
    const clock = new ManualClock();
    const slowStart = { ...scriptedBackend('slow-start', clock, steady(2)), warmup: () => clock.sleep(500) };
    const broken = { ...scriptedBackend('broken', clock, steady(2)), warmup: async () => { throw new Error('no such kernel'); } };
    const model = new HybridModel({ backends: [slowStart, broken], timeoutMs: 50, clock });
    await clock.run(model.warmup());
    const s = model.stats();
    // A warm-up is a call like the others in the counts (route warmup): a success or an error.
    expect(s.backends['slow-start']).toMatchObject({ coldStartMs: 500, calls: 1, successes: 1, errors: 0, errorRate: 0, routes: { warmup: 1 } });
    expect(s.backends.broken).toMatchObject({ calls: 1, successes: 0, errors: 1, errorRate: 1, lastError: { message: 'no such kernel' }, state: 'healthy', routes: { warmup: 1 } });
    // ...but no latency sample: no mean or percentile comes from it.
    expect(s.backends['slow-start']).toMatchObject({ meanMs: undefined, p50Ms: undefined, windowSize: 0 });
  });

  it('a warm-up that ran nothing (no inputs to run on) counts no call and no cold start: the first request\'s time is', async () => {
    const clock = new ManualClock();
    const idle = { ...scriptedBackend('idle', clock, steady(30)), warmup: async () => false as const };
    const model = new HybridModel({ backends: [idle], clock });
    await clock.run(model.warmup());
    expect(model.stats().backends.idle).toMatchObject({ calls: 0, coldStartMs: undefined, routes: { warmup: 0 } });
    await clock.run(model.predict(requestFeeds(1)));
    expect(model.stats().backends.idle).toMatchObject({ calls: 1, coldStartMs: 30 });
  });

  it('keeps calls, successes and errors consistent: the warm-up counted as a call, calls in flight neither success nor error, errorRate and the summary over the calls that ended', async () => {
    const clock = new ManualClock();
    // 'a' fails its request calls 2 and 5 (0-based); its 8th (7) takes 1 s. The warm-up takes 40 ms.
    const a = { ...scriptedBackend('a', clock, (n) => ({ latencyMs: n === 7 ? 1_000 : 5, fail: n === 2 || n === 5 })), warmup: () => clock.sleep(40) };
    const b = scriptedBackend('b', clock, steady(7));
    const model = new HybridModel({ backends: [a, b], policy: { order: ['a', 'b'] }, breaker: false, clock });
    await clock.run(model.warmup());
    await drive(model, clock, 7);
    const slow = model.predict(requestFeeds(7));
    clock.advance(10);
    const s = model.stats().backends.a;
    // 9 calls: the warm-up and 8 for requests; 6 answered (the warm-up one of them), 2 failed, 1 still running.
    expect(s).toMatchObject({ calls: 9, successes: 6, errors: 2, inFlight: 1, cancelled: 0, coldStartMs: 40, routes: { warmup: 1, selected: 8 } });
    expect(s?.calls).toBe((s?.successes ?? 0) + (s?.errors ?? 0) + (s?.cancelled ?? 0) + (s?.inFlight ?? 0));
    expect(s?.errorRate).toBe(2 / 8);
    // The summary's success column: successes / (successes + errors), the call in flight left out.
    expect(model.summary()).toMatch(/\* a\s+healthy\s+5\s+9\s+75\.0%/);
    // The mean is over the request calls that answered: 5 ms each, the warm-up's 40 ms left out.
    expect(s?.meanMs).toBe(5);
    await clock.run(slow);
    const after = model.stats().backends.a;
    expect(after).toMatchObject({ calls: 9, successes: 7, errors: 2, inFlight: 0 });
    expect(after?.errorRate).toBe(2 / 9);
    expect(model.summary()).toMatch(/\* a\s+healthy\s+6\s+9\s+77\.8%/);
    expect(model.stats().backends.b).toMatchObject({ calls: 2, successes: 2, errors: 0, errorRate: 0 });
  });

  it('is a backend itself: it can be nested in another HybridModel', async () => {
    const clock = new ManualClock();
    const inner = new HybridModel({ name: 'inner', backends: [scriptedBackend('x', clock, steady(3))], clock });
    const outer = new HybridModel({ name: 'outer', backends: [inner, scriptedBackend('y', clock, steady(30))], clock });
    const out = await clock.run(outer.predict(requestFeeds(5)));
    expect(logits(out)).toEqual(logits(truth(requestFeeds(5))));
    await outer.dispose();
    await expect(inner.predict(requestFeeds(1))).rejects.toThrow(/was disposed/);
  });
});

describe('HybridModel: the breaker trips on an error rate (opossum model)', () => {
  /** Backend 'a' fails its n-th call when `failing(n)`; 'b' always answers. Order policy: every request tries 'a' first. */
  function setup(failing: (n: number) => boolean, breaker: HybridOptions['breaker'], code: 'FORGE_RUNTIME' | 'FORGE_BAD_INPUT' = 'FORGE_RUNTIME') {
    const clock = new ManualClock();
    const a = { calls: 0 };
    const fa = functionBackend('a', async (f: Feeds) => {
      const n = a.calls++;
      await clock.sleep(2);
      if (failing(n)) throw new ForgeError(code, code === 'FORGE_BAD_INPUT' ? 'input x: this row is not valid for the model' : 'a: kernel failed');
      return truth(f);
    });
    const b = scriptedBackend('b', clock, steady(6));
    const model = new HybridModel({ backends: [fa, b], policy: { order: ['a', 'b'] }, breaker, clock });
    const events: BreakerEvent[] = [];
    model.on('breaker', (e) => events.push(e));
    return { clock, a, b, model, events };
  }

  it('keeps a backend that fails 30 % of its calls (each of those requests falls back), where the old count rule would open it', async () => {
    const flaky = (n: number) => n % 10 < 3;
    const rate = setup(flaky, {});
    await drive(rate.model, rate.clock, 200, 0, 10);
    const s = rate.model.stats();
    expect(s.backends.a).toMatchObject({ state: 'healthy', calls: 200, errors: 60, breaker: { timesOpened: 0, callsInWindow: 200, failuresInWindow: 60 } });
    expect(s.backends.a?.breaker.errorRateInWindow).toBeCloseTo(0.3, 12);
    expect(s).toMatchObject({ answered: 200, failed: 0, fallbacks: 60 });
    expect(rate.events).toEqual([]);
    // `failures` alone keeps its earlier meaning: 5 failures within the window open the circuit.
    const count = setup(flaky, { failures: 5 });
    await drive(count.model, count.clock, 200, 0, 10);
    expect(count.events[0]).toMatchObject({ backend: 'a', from: 'closed', to: 'open', failuresInWindow: 5 });
  });

  it('opens a backend that fails 60 % of its calls at the first failure after the 10-call minimum, reporting the window in the event', async () => {
    const { model, clock, a, events } = setup((n) => n % 10 < 6, {});
    // Calls 0–5 fail (6 of 6, under the minimum), 6–9 answer (6 of 10; a success never trips), call 10 fails: 7 of 11.
    for (let i = 0; events.length === 0 && i < 50; i++) await drive(model, clock, 1, i, 10);
    expect(a.calls).toBe(11);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ backend: 'a', from: 'closed', to: 'open', callsInWindow: 11, failuresInWindow: 7 });
    expect(events[0]?.errorRateInWindow).toBeCloseTo(7 / 11, 12);
    // Open: no traffic for 30 s, then one probe.
    await drive(model, clock, 100, 100, 10);
    expect(a.calls).toBe(11);
    expect(model.stats().backends.a?.breaker.nextProbeAt).toBe(events[0]?.at as number + 30_000);
  });

  it('slides: failures older than the window no longer count', async () => {
    // 6 failures in the first second, then only successes: with a 1 s window the rate falls back to 0.
    const { model, clock, events } = setup((n) => n >= 10 && n < 16, { windowMs: 1_000, minRequests: 20 });
    await drive(model, clock, 16, 0, 10);
    expect(model.stats().backends.a?.breaker).toMatchObject({ callsInWindow: 16, failuresInWindow: 6 });
    clock.advance(1_000);
    expect(model.stats().backends.a?.breaker).toMatchObject({ callsInWindow: 0, failuresInWindow: 0, errorRateInWindow: 0 });
    expect(events).toEqual([]);
  });

  it('does not count FORGE_BAD_INPUT (the request\'s fault) against the backend: bad requests never open it, a runtime error at the same rate does', async () => {
    const everyOther = (n: number) => n % 2 === 1;
    const bad = setup(everyOther, { minRequests: 4, errorRate: 0.25 }, 'FORGE_BAD_INPUT');
    await drive(bad.model, bad.clock, 100, 0, 10);
    expect(bad.model.stats().backends.a).toMatchObject({ state: 'healthy', errors: 50, badInput: 50, breaker: { failuresInWindow: 0, timesOpened: 0 } });
    expect(bad.events).toEqual([]);
    const broken = setup(everyOther, { minRequests: 4, errorRate: 0.25 });
    await drive(broken.model, broken.clock, 100, 0, 10);
    expect(broken.model.stats().backends.a?.breaker.timesOpened).toBeGreaterThan(0);
  });

  it('does not open circuits on requests that every backend fails (the request is the likelier cause): a client repeating one cannot take the model out', async () => {
    const clock = new ManualClock();
    // Requests with an odd number are "poison": both variants fail them alike, as an out-of-vocabulary
    // token id fails every variant's Gather. The rest both answer.
    const poison = (f: Feeds) => ((f.x as TensorLike).data as Float32Array)[0] === 99;
    const variant = (name: string, latencyMs: number) =>
      functionBackend(name, async (f: Feeds) => {
        await clock.sleep(latencyMs);
        if (poison(f)) throw new ForgeError('FORGE_RUNTIME', `${name}: indices element out of data bounds`);
        return truth(f);
      });
    const model = new HybridModel({ backends: [variant('int8', 2), variant('fp32', 5)], policy: { order: ['int8', 'fp32'] }, breaker: { minRequests: 4 }, clock });
    const poisoned = (i: number): Feeds => {
      const f = requestFeeds(i);
      ((f.x as TensorLike).data as Float32Array)[0] = 99;
      return f;
    };
    for (let i = 0; i < 60; i++) {
      if (i % 2) await expect(clock.run(model.predict(poisoned(i)))).rejects.toMatchObject({ code: 'FORGE_RUNTIME' });
      else expect(logits(await clock.run(model.predict(requestFeeds(i))))).toEqual(logits(truth(requestFeeds(i))));
      clock.advance(10);
    }
    const s = model.stats();
    expect(s).toMatchObject({ requests: 60, answered: 30, failed: 30 });
    for (const name of ['int8', 'fp32']) {
      expect(s.backends[name]).toMatchObject({ state: 'healthy', errors: 30, unattributed: 30, breaker: { failuresInWindow: 0, timesOpened: 0 } });
    }
    // A single backend has no other to tell it apart from the request: its failures count, as before.
    const solo = new HybridModel({ backends: [variant('only', 1)], breaker: { minRequests: 4 }, clock });
    for (let i = 0; i < 8; i++) await clock.run(solo.predict(i % 2 ? poisoned(i) : requestFeeds(i))).catch(() => undefined);
    expect(solo.stats().backends.only?.breaker.timesOpened).toBe(1);
  });

  it('rejects bad breaker options with FORGE_INVALID_OPTIONS', () => {
    const clock = new ManualClock();
    const backends = [scriptedBackend('a', clock, steady(1))];
    for (const breaker of [{ errorRate: 0 }, { errorRate: 1.5 }, { minRequests: 0 }, { buckets: 0 }, { windowMs: -1 }, { failures: 2.5 }, { threshold: 0.5 }]) {
      expect(() => new HybridModel({ backends, breaker: breaker as never, clock }), JSON.stringify(breaker)).toThrow(expect.objectContaining({ code: 'FORGE_INVALID_OPTIONS' }));
    }
  });
});

describe('HybridModel: the accuracy policy and the drift figures', () => {
  /** The true logits shifted by `c` in every element: the class stays, the cosine drops a little, the largest error is c. */
  const shifted = (name: string, c: number, seen: Feeds[], latencyMs: number, clock: ManualClock) =>
    functionBackend(name, async (f: Feeds) => {
      seen.push(f);
      await clock.sleep(latencyMs);
      const t = truth(f).logits as TensorLike;
      return { logits: { ...t, data: (t.data as Float32Array).map((v) => v + c) } };
    });

  it('without the reference served, picks the backend with the least drift, not the fastest, and stats() hold each one\'s mean and worst cosine and largest error over exactly its checks', async () => {
    const clock = new ManualClock();
    const nearSeen: Feeds[] = [];
    const farSeen: Feeds[] = [];
    // 'far' is 4 × faster: a latency policy would pick it.
    const near = shifted('near', 0.001, nearSeen, 8, clock);
    const far = shifted('far', 0.02, farSeen, 2, clock);
    const reference = functionBackend('fp32', (f: Feeds) => truth(f));
    const switches: SwitchEvent[] = [];
    const model = new HybridModel({ backends: [far, near, reference], reference: 'fp32', serveReference: false, policy: 'accuracy', canary: { sampleRate: 1 }, clock, random: seededRandom(5) });
    model.on('switch', (e) => switches.push(e));
    // 300 requests 20 ms apart: past the 5 s a choice stands, so the last word is the policy's ranking.
    await drive(model, clock, 300, 0, 20);
    expect(clock.now()).toBeGreaterThan(5_000);
    const s = model.stats();
    expect(s.selected).toBe('near');
    expect(switches.at(-1)).toMatchObject({ to: 'near', reason: 'policy' });
    expect(s.backends.near?.served as number).toBeGreaterThan(250);
    expect(s.backends.fp32?.served).toBe(0);

    // Every call was checked (sampleRate 1): the figures must be the aggregate of compareOutputs over those calls.
    for (const [name, c, seen] of [['near', 0.001, nearSeen], ['far', 0.02, farSeen]] as const) {
      const checks = seen.map((f) => {
        const t = truth(f).logits as TensorLike;
        return compareOutputs(truth(f), { logits: { ...t, data: (t.data as Float32Array).map((v) => v + c) } }, DEFAULT_TOLERANCE);
      });
      const acc = s.backends[name]?.accuracy;
      expect(acc?.checks).toBe(seen.length);
      expect(acc?.failedChecks).toBe(0);
      expect(acc?.meanCosine).toBeCloseTo(checks.reduce((x, k) => x + k.cosine, 0) / checks.length, 12);
      expect(acc?.worstCosine).toBe(Math.min(...checks.map((k) => k.cosine)));
      expect(acc?.maxAbsError).toBe(Math.max(...checks.map((k) => k.maxAbsError)));
      expect(acc?.maxAbsError).toBeCloseTo(c, 6);
      expect(acc?.argmaxDisagreements).toBe(0);
    }
    expect(s.backends.far?.accuracy.meanCosine as number).toBeLessThan(s.backends.near?.accuracy.meanCosine as number);
    expect(s.backends.far?.accuracy.meanCosine as number).toBeGreaterThan(0.99);
  });

  it('serves the reference while it is healthy, and when its circuit opens, moves to the least-drifting backend', async () => {
    const clock = new ManualClock();
    let refDown = false;
    const near = shifted('near', 0.001, [], 8, clock);
    const far = shifted('far', 0.02, [], 2, clock);
    const reference = functionBackend('fp32', (f: Feeds) => {
      if (refDown) throw new ForgeError('FORGE_RUNTIME', 'fp32: device lost');
      return truth(f);
    });
    const model = new HybridModel({ backends: [far, near, reference], reference: 'fp32', policy: 'accuracy', breaker: { failures: 3 }, clock, random: seededRandom(5) });
    await drive(model, clock, 100);
    expect(model.stats().selected).toBe('fp32');
    // Both others were measured (and checked) on their calibration calls.
    expect(model.stats().backends.far?.accuracy.checks as number).toBeGreaterThanOrEqual(5);
    expect(model.stats().backends.near?.accuracy.checks as number).toBeGreaterThanOrEqual(5);
    refDown = true;
    const outs = await drive(model, clock, 20, 100);
    const s = model.stats();
    expect(s.backends.fp32?.state).toBe('open');
    expect(s.selected).toBe('near');
    expect(s.failed).toBe(0);
    // Answers after the move come from 'near': the truth shifted by 0.001.
    const last = logits(outs.at(-1) as Record<string, TensorLike>);
    logits(truth(requestFeeds(119))).forEach((v, i) => expect(last[i]).toBeCloseTo(v + 0.001, 5));
  });
});

describe('HybridModel: answers the canary did not sample', () => {
  const hasNaN = (o: Record<string, TensorLike>) => logits(o).some((v) => Number.isNaN(v));

  it('never serves NaN from a variant on a request the canary did not sample: the reference answers it and the variant is quarantined', async () => {
    const clock = new ManualClock();
    // Right on most inputs, NaN (an fp16 overflow) on those whose first feature is large.
    const fp16 = functionBackend('fp16', async (f: Feeds) => {
      await clock.sleep(1);
      const out = truth(f);
      if ((((f.x as TensorLike).data as Float32Array)[0] as number) > 1) ((out.logits as TensorLike).data as Float32Array)[1] = Number.NaN;
      return out;
    });
    const fp32 = functionBackend('fp32', async (f: Feeds) => {
      await clock.sleep(5);
      return truth(f);
    });
    const model = new HybridModel({ backends: [fp16, fp32], reference: 'fp32', canary: { sampleRate: 0 }, stability: { exploration: 0 }, clock, random: seededRandom(3) });
    const quarantines: QuarantineEvent[] = [];
    model.on('quarantine', (q) => quarantines.push(q));
    const outputs = await drive(model, clock, 300);
    const overflowing = outputs.filter((_, i) => ((((requestFeeds(i).x as TensorLike).data as Float32Array)[0] as number) > 1)).length;
    expect(overflowing).toBeGreaterThan(0);
    outputs.forEach((o, i) => expect(hasNaN(o), `request ${i}`).toBe(false));
    outputs.forEach((o, i) => expect(logits(o)).toEqual(logits(truth(requestFeeds(i)))));
    expect(quarantines).toHaveLength(1);
    expect(quarantines[0]?.reasons.join(' ')).toContain('NaN or infinite');
    expect(model.stats().backends.fp16?.state).toBe('quarantined');
  });

  it('serves NaN that the reference gives too (the model\'s own answer), without quarantining', async () => {
    const clock = new ManualClock();
    const nanOut = (f: Feeds) => {
      const out = truth(f);
      ((out.logits as TensorLike).data as Float32Array)[0] = Number.NaN;
      return out;
    };
    const fast = functionBackend('fast', (f: Feeds) => nanOut(f));
    const ref = functionBackend('ref', async (f: Feeds) => {
      await clock.sleep(5);
      return nanOut(f);
    });
    const model = new HybridModel({ backends: [fast, ref], reference: 'ref', canary: { sampleRate: 0 }, stability: { exploration: 0 }, clock, random: seededRandom(3) });
    const outputs = await drive(model, clock, 20);
    outputs.forEach((o) => expect(Number.isNaN(logits(o)[0])).toBe(true));
    expect(model.stats().backends.fast?.state).toBe('healthy');
    expect(model.stats().selected).toBe('fast');
  });
});

describe('HybridModel: a reference kept for checks only', () => {
  it('is probed again after its circuit opened (through a canary check), so the canary resumes once it recovers', async () => {
    const clock = new ManualClock();
    let refDown = false;
    let variantWrong = false;
    const variant = scriptedBackend('int8', clock, () => ({ latencyMs: 1, wrong: variantWrong }));
    const fp32 = functionBackend('fp32', async (f: Feeds) => {
      await clock.sleep(5);
      if (refDown) throw new ForgeError('FORGE_RUNTIME', 'fp32: device lost');
      return truth(f);
    });
    const breaker = { failures: 3, windowMs: 1_000, resetMs: 2_000 };
    const model = new HybridModel({ backends: [variant, fp32], reference: 'fp32', serveReference: false, canary: { sampleRate: 1 }, breaker, clock, random: seededRandom(2) });
    await drive(model, clock, 20, 0, 10);
    refDown = true;
    await drive(model, clock, 10, 20, 10);
    expect(model.stats().backends.fp32?.state).toBe('open');
    const checksWhileDown = model.stats().canaryChecks;
    refDown = false;
    clock.advance(breaker.resetMs);
    await drive(model, clock, 5, 30, 10);
    expect(model.stats().backends.fp32?.state).toBe('healthy');
    expect(model.stats().canaryChecks).toBeGreaterThan(checksWhileDown);
    // And the canary works again: a variant that turns wrong is caught at once, its answer replaced.
    variantWrong = true;
    const [out] = await drive(model, clock, 1, 35);
    expect(logits(out as Record<string, TensorLike>)).toEqual(logits(truth(requestFeeds(35))));
    expect(model.stats().backends.int8?.state).toBe('quarantined');
  });
});

describe('HybridModel: stats() and events are snapshots', () => {
  it('changing what stats() or a quarantine event returned changes nothing inside the model', async () => {
    const clock = new ManualClock();
    const wrongFast = scriptedBackend('wrong', clock, () => ({ latencyMs: 1, wrong: true }));
    const reference = scriptedBackend('ref', clock, steady(5));
    const model = new HybridModel({ backends: [wrongFast, reference], reference: 'ref', clock, random: seededRandom(1) });
    model.on('quarantine', (q) => {
      try {
        (q.reasons as string[]).push('added by a listener');
      } catch {
        // frozen: fine
      }
    });
    await drive(model, clock, 3);
    const s = model.stats();
    const q = s.backends.wrong?.quarantine;
    expect(q).toBeDefined();
    const reasons = [...(q?.reasons ?? [])];
    expect(reasons.join(' ')).not.toContain('added by a listener');
    try {
      (q?.reasons as string[]).length = 0;
      (q?.check.failures as string[]).push('x');
      (s.backends.wrong?.routes as Record<string, number>).selected = 1e9;
    } catch {
      // frozen: fine
    }
    const again = model.stats().backends.wrong;
    expect(again?.quarantine?.reasons).toEqual(reasons);
    expect(again?.quarantine?.check.failures).toEqual(reasons);
    expect(again?.routes.selected).not.toBe(1e9);
  });
});

describe('HybridModel: requests in flight', () => {
  /**
   * `b` as a backend that records every call it gets after its dispose(), and whose dispose() lets the
   * calls in flight finish first, as a runtime session's release() does.
   */
  function disposable(b: ScriptedBackend, late: string[]): Backend {
    let disposed = false;
    const running = new Set<Promise<unknown>>();
    return {
      name: b.name,
      predict(feeds: Feeds, options?: PredictOptions) {
        if (disposed) late.push(b.name);
        const call = b.predict(feeds, options);
        const tracked = call.finally(() => running.delete(tracked)).catch(() => undefined);
        running.add(tracked);
        return call;
      },
      async dispose() {
        disposed = true;
        await Promise.all(running);
      },
    };
  }

  it('dispose() during a request: the call in flight finishes on its backend, and nothing goes to a disposed backend (no fallback, no canary check): a failed call rejects FORGE_CANCELLED', async () => {
    const clock = new ManualClock();
    const late: string[] = [];
    const setup = (fail: boolean, extra: Partial<HybridOptions> = {}) => {
      const a = scriptedBackend('a', clock, () => ({ latencyMs: 10, fail: fail && 'a: device lost' }));
      const b = scriptedBackend('b', clock, steady(5));
      return new HybridModel({ backends: [disposable(a, late), disposable(b, late)], policy: { order: ['a', 'b'] }, clock, ...extra });
    };

    // Answered by the backend it is on, after dispose().
    const answering = setup(false);
    const answered = answering.predict(requestFeeds(1));
    const answeringClosed = answering.dispose();
    expect(logits(await clock.run(answered))).toEqual(logits(truth(requestFeeds(1))));
    await answeringClosed;

    // Its backend fails after dispose(): the request is not sent on to the disposed 'b'.
    const failing = setup(true);
    const failed = failing.predict(requestFeeds(2));
    const failingClosed = failing.dispose();
    const error = (await clock.run(failed).catch((e: unknown) => e)) as ForgeError;
    await failingClosed;
    expect(error).toBeInstanceOf(ForgeError);
    expect(error.code).toBe('FORGE_CANCELLED');
    expect(error.message).toMatch(/HybridModel 'hybrid' was disposed while this request was in flight \(a: FORGE_RUNTIME a: device lost\); it was not sent on to another backend/);
    // Cancelled by dispose(), as it says: not a request every backend failed ('b' was never tried).
    expect(failing.stats()).toMatchObject({ requests: 1, answered: 0, failed: 0, cancelled: 1 });

    // Sampled by the canary: the answer stands, the disposed reference is not run to check it.
    const checked = setup(false, { reference: 'b', canary: { sampleRate: 1 } });
    const sampled = checked.predict(requestFeeds(3));
    const checkedClosed = checked.dispose();
    expect(logits(await clock.run(sampled))).toEqual(logits(truth(requestFeeds(3))));
    await checkedClosed;

    expect(late).toEqual([]);
    await expect(checked.predict(requestFeeds(4))).rejects.toThrow(/was disposed; create a new one/);
  });

  it('dispose() with calls that never end (no timeoutMs): once the backends are disposed the requests reject FORGE_CANCELLED, a call made with a signal gets the abort, and health is untouched', async () => {
    const clock = new ManualClock();
    let aborted = 0;
    const hung: Backend = {
      name: 'hung',
      predict: (_feeds: Feeds, options?: PredictOptions) =>
        new Promise((_resolve, reject) => {
          // Answers only when stopped, as a remote call that lost its peer would.
          options?.signal?.addEventListener('abort', () => {
            aborted++;
            reject(new Error('socket closed'));
          });
        }),
      async dispose() {},
    };
    const spare = scriptedBackend('spare', clock, steady(5));
    const model = new HybridModel({ backends: [hung, spare], policy: { order: ['hung', 'spare'] }, clock });
    // One request with a signal of its own (never aborted), one without.
    const pending = [model.predict(requestFeeds(1), { signal: new AbortController().signal }), model.predict(requestFeeds(2))].map((p) => p.catch((e: unknown) => e));
    const before = model.stats().backends.hung;
    expect(before?.inFlight).toBe(2);
    await model.dispose();
    for (const error of (await Promise.all(pending)) as ForgeError[]) {
      expect(error).toBeInstanceOf(ForgeError);
      expect(error.code).toBe('FORGE_CANCELLED');
      expect(error.message).toMatch(/HybridModel 'hybrid' was disposed while this request was in flight; it was not sent on to another backend/);
    }
    // The call made with a signal was told; the other is abandoned.
    expect(aborted).toBe(1);
    // Not sent on to the disposed spare.
    expect(spare.calls).toBe(0);
    const after = model.stats().backends.hung;
    // The abandoned call is in flight until the backend ends it, which this one never does.
    expect(after?.inFlight).toBe(1);
    expect(after?.errors).toBe(0);
    expect(after?.cancelled).toBe(2);
    expect(after?.state).toBe('healthy');
    expect(model.stats()).toMatchObject({ requests: 2, answered: 0, failed: 0, cancelled: 2 });
  });

  it('a request whose signal aborts rejects FORGE_CANCELLED at once, goes to no other backend, and counts against no backend', async () => {
    const clock = new ManualClock();
    // 'slow' ignores the signal (a function backend that cannot stop); 'fast' would answer.
    const slow = scriptedBackend('slow', clock, steady(1000));
    const fast = scriptedBackend('fast', clock, steady(5));
    const model = new HybridModel({ backends: [slow, fast], policy: { order: ['slow', 'fast'] }, clock });
    const controller = new AbortController();
    const pending = model.predict(requestFeeds(1), { signal: controller.signal });
    const outcome = pending.then(() => 'answered', (e: unknown) => e as ForgeError);
    clock.advance(30);
    controller.abort(new Error('client went away'));
    const error = (await outcome) as ForgeError;
    expect(error).toBeInstanceOf(ForgeError);
    expect(error.code).toBe('FORGE_CANCELLED');
    expect(error.message).toBe("request to HybridModel 'hybrid' cancelled: client went away");
    expect(clock.now()).toBe(30);
    expect(fast.calls).toBe(0);
    const stats = model.stats();
    expect(stats).toMatchObject({ requests: 1, answered: 0, failed: 0, cancelled: 1, fallbacks: 0 });
    expect(stats.backends.slow).toMatchObject({ errors: 0, cancelled: 1, state: 'healthy', inFlight: 1 });
    // The abandoned call still ends on its own; the model goes on answering.
    clock.advance(1000);
    await new Promise((resolve) => setImmediate(resolve));
    expect(model.stats().backends.slow?.inFlight).toBe(0);
    const answer = model.predict(requestFeeds(2));
    expect(logits(await clock.run(answer))).toEqual(logits(truth(requestFeeds(2))));

    // A signal aborted before the call: nothing runs.
    const before = slow.calls + fast.calls;
    await expect(model.predict(requestFeeds(3), { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'FORGE_CANCELLED' });
    expect(slow.calls + fast.calls).toBe(before);
  });

  it('the abort reaches the backend (a pool drops a queued run), and a HybridModel used as a backend passes it on', async () => {
    const clock = new ManualClock();
    const inner = scriptedBackend('int8', clock, steady(500), { abortable: true });
    const spare = scriptedBackend('fp32', clock, steady(5));
    const nested = new HybridModel({ name: 'inner', backends: [inner], clock });
    const outer = new HybridModel({ name: 'outer', backends: [nested, spare], policy: { order: ['inner', 'fp32'] }, clock });
    const controller = new AbortController();
    const outcome = outer.predict(requestFeeds(1), { signal: controller.signal }).then(() => 'answered', (e: unknown) => e as ForgeError);
    clock.advance(10);
    controller.abort();
    expect(await outcome).toMatchObject({ code: 'FORGE_CANCELLED' });
    expect(inner.aborted).toBe(1);
    expect(spare.calls).toBe(0);
    expect(nested.stats()).toMatchObject({ cancelled: 1, failed: 0 });
    expect(outer.stats()).toMatchObject({ cancelled: 1, failed: 0 });
  });

  it('does not pass a revalidation during which a request\'s canary check of the backend failed: the quarantine it caused stands', async () => {
    const clock = new ManualClock();
    // Call 0 is the revalidation's (right, 50 ms); call 1 a request's (wrong, 2 ms), checked while the revalidation runs.
    const int8 = scriptedBackend('int8', clock, (n) => ({ latencyMs: n === 0 ? 50 : 2, wrong: n === 1 }));
    const fp32 = scriptedBackend('fp32', clock, steady(5));
    const model = new HybridModel({ backends: [int8, fp32], reference: 'fp32', policy: { order: ['int8', 'fp32'] }, canary: { sampleRate: 1 }, clock });
    const revalidation = model.revalidate('int8', [requestFeeds(1)]);
    const request = model.predict(requestFeeds(2));
    const [report, answer] = await clock.run(Promise.all([revalidation, request]));
    expect(logits(answer)).toEqual(logits(truth(requestFeeds(2))));
    expect(report.passed).toBe(false);
    expect(report.checks.every((c) => c.passed)).toBe(true);
    expect(report.errors.join(' ')).toMatch(/'int8' failed 1 canary check on requests answered while it was revalidated/);
    expect(model.stats().backends.int8).toMatchObject({ state: 'quarantined', quarantine: { request: 1 } });
    expect(model.stats().selected).toBe('fp32');
  });

  it('does not serve an answer from a backend quarantined while it ran: the reference checks it first', async () => {
    const clock = new ManualClock();
    // Always wrong; its first call (request 1, not sampled) takes 50 ms, its second (request 2, sampled) 2 ms.
    const int8 = scriptedBackend('int8', clock, (n) => ({ latencyMs: n === 0 ? 50 : 2, wrong: true }));
    const fp32 = scriptedBackend('fp32', clock, steady(5));
    const draws = [0.9, 0];
    const model = new HybridModel({
      backends: [int8, fp32], reference: 'fp32', policy: { order: ['int8', 'fp32'] }, canary: { sampleRate: 0.5 }, clock, random: () => draws.shift() ?? 0.9,
    });
    const first = model.predict(requestFeeds(1));
    const second = model.predict(requestFeeds(2));
    const [one, two] = await clock.run(Promise.all([first, second]));
    // Request 2's check quarantined int8 at 7 ms; request 1's answer came from it at 50 ms.
    expect(model.stats().backends.int8?.quarantine?.request).toBe(2);
    expect(logits(two as Record<string, TensorLike>)).toEqual(logits(truth(requestFeeds(2))));
    expect(logits(one as Record<string, TensorLike>)).toEqual(logits(truth(requestFeeds(1))));
    expect(model.stats()).toMatchObject({ canaryChecks: 2, canaryFailures: 2, backends: { int8: { served: 0 }, fp32: { served: 2 } } });
  });
});
