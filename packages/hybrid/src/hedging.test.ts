import { ManualClock, type TensorLike } from '@onnx-forge/runtime';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { HybridModel } from './hybrid-model.js';
import type { HybridOptions } from './hybrid-options.js';
import { type Step, requestFeeds, scriptedBackend, truth } from './testing/scripted-backend.js';

// Hedged requests on a ManualClock: every latency below is exact, so each request's answer time and
// which backend gave it can be asserted, not estimated.

function logits(o: Record<string, TensorLike>): number[] {
  return Array.from((o.logits as TensorLike).data as Float32Array);
}

/** Runs one request on the clock; returns how long it took and the answer. */
async function timed(model: HybridModel, clock: ManualClock, i: number): Promise<{ ms: number; out: Record<string, TensorLike> }> {
  const t0 = clock.now();
  const out = await clock.run(model.predict(requestFeeds(i)));
  return { ms: clock.now() - t0, out };
}

/**
 * The q-quantile of `xs` by definition, to check the model's figures against: sort, then interpolate
 * linearly between the two samples around rank q (n - 1) (Hyndman and Fan's type 7, numpy's default).
 */
function referenceQuantile(xs: readonly number[], q: number): number {
  const sorted = [...xs].sort((x, y) => x - y);
  const rank = q * (sorted.length - 1);
  const below = sorted[Math.floor(rank)] as number;
  const above = sorted[Math.ceil(rank)] as number;
  return below + (above - below) * (rank - Math.floor(rank));
}

/** 'a' first, 'b' second (the order policy neither explores nor calibrates: every request goes to 'a'). */
function pair(clock: ManualClock, a: (n: number) => Step, b: (n: number) => Step, hedge: HybridOptions['hedge'], abortable = true, extra: Partial<HybridOptions> = {}) {
  const fa = scriptedBackend('a', clock, a, { abortable });
  const fb = scriptedBackend('b', clock, b, { abortable });
  const model = new HybridModel({ backends: [fa, fb], policy: { order: ['a', 'b'] }, hedge, clock, ...extra });
  return { a: fa, b: fb, model };
}

describe('HybridModel: hedged requests', () => {
  it('never hedges from one backend on this thread to another (two in-process sessions): the second call would queue behind the first; a pool beside them is hedged to', async () => {
    const clock = new ManualClock();
    const slow = (n: number): Step => ({ latencyMs: n % 10 === 9 ? 200 : 10 });
    const onThread = (name: string, script: (n: number) => Step) => ({ ...scriptedBackend(name, clock, script, { abortable: true }), sharesThread: true });
    const a = onThread('a', slow);
    const b = onThread('b', () => ({ latencyMs: 30 }));
    const model = new HybridModel({ backends: [a, b], policy: { order: ['a', 'b'] }, hedge: { after: 25, maxShare: 1 }, clock });
    for (let i = 0; i < 20; i++) await timed(model, clock, i);
    expect(model.stats()).toMatchObject({ requests: 20, hedges: 0, backends: { b: { calls: 0 } } });
    // With a pool as the third backend, the slow calls are hedged to it, past the in-process 'b'.
    const c = scriptedBackend('pool', clock, () => ({ latencyMs: 30 }), { abortable: true });
    const mixed = new HybridModel({ backends: [onThread('a', slow), onThread('b', () => ({ latencyMs: 30 })), { ...c, runsAtOnce: 2 }], policy: { order: ['a', 'b', 'pool'] }, hedge: { after: 25, maxShare: 1 }, clock });
    for (let i = 0; i < 20; i++) await timed(mixed, clock, i);
    const s = mixed.stats();
    expect(s).toMatchObject({ hedges: 2, hedgeWins: 2 });
    expect(s.backends.pool?.routes.hedge).toBe(2);
    expect(s.backends.b?.calls).toBe(0);
  });

  it('with a fixed delay, sends a slow request to the second backend after it, answers from whichever is first, and cancels the other', async () => {
    const clock = new ManualClock();
    // Every 10th call of 'a' takes 200 ms, the rest 10 ms; 'b' always 30 ms.
    const { a, b, model } = pair(clock, (n) => ({ latencyMs: n % 10 === 9 ? 200 : 10 }), () => ({ latencyMs: 30 }), { after: 25, maxShare: 1 });
    for (let i = 0; i < 100; i++) {
      const { ms, out } = await timed(model, clock, i);
      // A fast call answers before the delay and is never hedged; a slow one is answered by 'b' 25 + 30 ms in.
      expect(ms, `request ${i}`).toBe(i % 10 === 9 ? 55 : 10);
      expect(logits(out)).toEqual(logits(truth(requestFeeds(i))));
    }
    const s = model.stats();
    expect(s).toMatchObject({ requests: 100, answered: 100, failed: 0, fallbacks: 0, hedges: 10, hedgeWins: 10 });
    expect(b.calls).toBe(10);
    // The 10 slow calls of 'a' were stopped when 'b' answered: nothing of them is left on the clock.
    expect(a.aborted).toBe(10);
    expect(clock.pendingTimers).toBe(0);
    expect(s.backends.a).toMatchObject({ calls: 100, successes: 90, errors: 0, cancelled: 10, served: 90, breaker: { failuresInWindow: 0 } });
    expect(s.backends.b).toMatchObject({ calls: 10, successes: 10, served: 10, routes: { hedge: 10 } });
    // A cancelled call is no error and no success, but its 55 ms (a lower bound) stay in the latency window.
    expect(s.backends.a?.windowSize).toBe(100);
    expect(s.backends.a?.p99Ms).toBe(55);
    expect(s.backends.a?.meanMs).toBe(10);
  });

  it('without cancellation (or with a backend that ignores the signal), the slower call runs on, its answer is dropped and its real latency recorded', async () => {
    const clock = new ManualClock();
    const { a, model } = pair(clock, (n) => ({ latencyMs: n % 10 === 9 ? 200 : 10 }), () => ({ latencyMs: 30 }), { after: 25, maxShare: 1, cancel: false });
    for (let i = 0; i < 50; i++) expect((await timed(model, clock, i)).ms).toBe(i % 10 === 9 ? 55 : 10);
    await clock.run(new Promise((resolve) => clock.setTimeout(() => resolve(undefined), 500)));
    const s = model.stats();
    expect(a.aborted).toBe(0);
    expect(s).toMatchObject({ hedges: 5, hedgeWins: 5 });
    // The five slow calls finished later and count as successes of 200 ms (served by 'b', though).
    expect(s.backends.a).toMatchObject({ calls: 50, successes: 50, cancelled: 0, served: 45 });
    expect(s.backends.a?.p99Ms).toBe(200);
  });

  it('without cancellation, a losing call that fails after the request was answered still counts against its breaker', async () => {
    const clock = new ManualClock();
    // 'a' takes 200 ms and then fails; the hedge to 'b' (after 25 ms) answers at 55 ms.
    const breaker = { failures: 1, windowMs: 10_000, resetMs: 30_000 };
    const { model } = pair(clock, () => ({ latencyMs: 200, fail: 'a: late failure' }), () => ({ latencyMs: 30 }), { after: 25, maxShare: 1, cancel: false }, true, { breaker });
    const events: string[] = [];
    model.on('breaker', (e) => events.push(`${e.backend} ${e.from}->${e.to}`));
    expect((await timed(model, clock, 1)).ms).toBe(55);
    // The request is answered; 'a' is still running.
    expect(model.stats().backends.a).toMatchObject({ inFlight: 1, errors: 0, breaker: { failuresInWindow: 0 } });
    await clock.run(new Promise((resolve) => clock.setTimeout(() => resolve(undefined), 200)));
    const s = model.stats().backends.a;
    expect(s).toMatchObject({ inFlight: 0, errors: 1, state: 'open', lastError: { message: 'a: late failure' }, breaker: { callsInWindow: 1, failuresInWindow: 1, timesOpened: 1 } });
    expect(events).toEqual(['a closed->open']);
    // The next request goes straight to 'b'.
    await timed(model, clock, 2);
    expect(model.stats().backends.b?.served).toBe(2);
  });

  it("with 'p95', hedges once the first backend's p95 is trusted, at that p95: slow calls are cut to p95 + the second backend's time", async () => {
    const clock = new ManualClock();
    // 'a': 2 % of calls take 300 ms, the rest 10–11 ms, spread so that no call lands exactly on the p95.
    const aLatency = (n: number) => (n % 50 === 49 ? 300 : 10 + ((n * 0.618034) % 1));
    const WINDOW = 256;
    const { a, model } = pair(clock, (n) => ({ latencyMs: aLatency(n) }), () => ({ latencyMs: 30 }), { minSamples: 20, maxShare: 1 }, true, { statistics: { window: WINDOW } });
    let expectedHedges = 0;
    let expectedWins = 0;
    // What 'a' should have in its latency window (the last WINDOW calls: a completed call's latency, a
    // cut call's time until it was cut) and how many calls it completed, kept here from the script alone.
    const aWindow: number[] = [];
    let successes = 0;
    for (let i = 0; i < 400; i++) {
      // The delay is trusted after 20 completed calls; it is the p95 of the window, computed by hand.
      const p95 = successes >= 20 ? referenceQuantile(aWindow, 0.95) : undefined;
      if (p95 !== undefined) expect(model.stats().backends.a?.p95Ms, `p95 before request ${i}`).toBeCloseTo(p95, 9);
      const own = aLatency(a.calls);
      const { ms } = await timed(model, clock, i);
      let completed = true;
      if (p95 === undefined || own < p95) {
        expect(ms, `request ${i}`).toBeCloseTo(own, 9);
      } else {
        expectedHedges++;
        // Hedged at the p95: 'a' still wins when it answers within the 30 ms 'b' needs.
        if (own <= p95 + 30) {
          expect(ms, `request ${i}`).toBeCloseTo(own, 9);
        } else {
          expectedWins++;
          expect(ms, `request ${i}`).toBeCloseTo(p95 + 30, 9);
          completed = false; // cut when 'b' answered: its time so far goes in as a lower bound
        }
      }
      if (completed) successes++;
      aWindow.push(completed ? own : (p95 as number) + 30);
      if (aWindow.length > WINDOW) aWindow.shift();
    }
    const s = model.stats();
    expect(s.hedges).toBe(expectedHedges);
    expect(s.hedgeWins).toBe(expectedWins);
    // Every slow call after the first 20 was cut short; the p95 stayed in the fast calls' range.
    expect(expectedWins).toBe(8);
    expect(s.backends.a?.p95Ms).toBeCloseTo(referenceQuantile(aWindow, 0.95), 9);
    expect(s.backends.a?.p95Ms).toBeLessThan(12);
    // Hedges are a small share: the slow 2 % plus the fast calls above the p95.
    expect(s.hedges / s.requests).toBeLessThan(0.1);
  });

  it('keeps hedges within maxShare of the requests when the first backend slows down as a whole', async () => {
    const clock = new ManualClock();
    const { b, model } = pair(clock, () => ({ latencyMs: 100 }), () => ({ latencyMs: 30 }), { after: 20, maxShare: 0.1 });
    for (let i = 0; i < 200; i++) await timed(model, clock, i);
    const s = model.stats();
    expect(s.hedges).toBe(20);
    expect(b.calls).toBe(20);
    expect(s.hedgeWins).toBe(20);
  });

  it('a first backend that fails before the delay falls back as without hedging; a hedge that fails leaves the first to answer; both failing falls back further', async () => {
    const clock = new ManualClock();
    const fails = (latencyMs: number): Step => ({ latencyMs, fail: true });
    // 'a' fails fast: ordinary fallback to 'b', no hedge.
    const early = pair(clock, () => fails(5), () => ({ latencyMs: 30 }), { after: 25, maxShare: 1 }, true, { breaker: false });
    expect((await timed(early.model, clock, 1)).ms).toBe(35);
    expect(early.model.stats()).toMatchObject({ hedges: 0, fallbacks: 1 });

    // 'a' is slow, the hedge to 'b' fails at 25 + 10 ms: 'a' answers at 100 ms.
    const hedgeFails = pair(clock, () => ({ latencyMs: 100 }), () => fails(10), { after: 25, maxShare: 1 }, true, { breaker: false });
    const r = await timed(hedgeFails.model, clock, 2);
    expect(r.ms).toBe(100);
    expect(logits(r.out)).toEqual(logits(truth(requestFeeds(2))));
    expect(hedgeFails.model.stats()).toMatchObject({ hedges: 1, hedgeWins: 0, fallbacks: 0, answered: 1 });
    expect(hedgeFails.model.stats().backends.b).toMatchObject({ errors: 1, cancelled: 0 });

    // Both fail: the third backend takes the request as a fallback.
    const fc = scriptedBackend('c', clock, () => ({ latencyMs: 7 }));
    const three = new HybridModel({
      backends: [scriptedBackend('a', clock, () => fails(100)), scriptedBackend('b', clock, () => fails(10)), fc],
      policy: { order: ['a', 'b', 'c'] }, hedge: { after: 25, maxShare: 1 }, breaker: false, clock,
    });
    expect((await timed(three, clock, 3)).ms).toBe(107);
    expect(fc.calls).toBe(1);
    expect(three.stats()).toMatchObject({ hedges: 1, hedgeWins: 0, fallbacks: 1, answered: 1 });
  });

  it('does not hedge with no other backend to send to, before the p95 is trusted, or when off', async () => {
    const clock = new ManualClock();
    const solo = new HybridModel({ backends: [scriptedBackend('a', clock, () => ({ latencyMs: 100 }))], hedge: { after: 1 }, clock });
    expect((await timed(solo, clock, 1)).ms).toBe(100);
    expect(solo.stats().hedges).toBe(0);
    const young = pair(clock, () => ({ latencyMs: 100 }), () => ({ latencyMs: 1 }), true);
    for (let i = 0; i < 19; i++) await timed(young.model, clock, i);
    expect(young.model.stats().hedges).toBe(0);
    const off = pair(clock, () => ({ latencyMs: 100 }), () => ({ latencyMs: 1 }), false);
    await timed(off.model, clock, 1);
    expect(off.b.calls).toBe(0);
  });

  it('counts hedges by outcome in the metrics, and the hedge calls by route', async () => {
    const clock = new ManualClock();
    const registry = new Registry();
    const { model } = pair(clock, (n) => ({ latencyMs: n % 2 ? 200 : 40 }), () => ({ latencyMs: 30 }), { after: 25, maxShare: 1 }, true, { metrics: { registry }, name: 'hedged' });
    for (let i = 0; i < 10; i++) await timed(model, clock, i);
    const text = await registry.metrics();
    // Odd calls (200 ms) lose to 'b' at 55 ms; even ones (40 ms) beat it.
    expect(text).toContain('onnx_forge_hybrid_hedges_total{model="hedged",outcome="won"} 5');
    expect(text).toContain('onnx_forge_hybrid_hedges_total{model="hedged",outcome="lost"} 5');
    expect(text).toContain('onnx_forge_hybrid_backend_calls_total{model="hedged",backend="b",route="hedge"} 10');
  });

  it('refuses a timeoutMs past the longest a timer waits, which would fail every call after 1 ms', () => {
    const clock = new ManualClock();
    const backends = [scriptedBackend('a', clock, () => ({ latencyMs: 1 }))];
    expect(() => new HybridModel({ backends, timeoutMs: 3e9, clock })).toThrow(/timeoutMs must be a number > 0 and ≤ 2147483647 \(the longest a timer waits\), got 3000000000/);
    expect(() => new HybridModel({ backends, timeoutMs: 2_147_483_647, clock })).not.toThrow();
  });

  it('rejects bad hedge options with FORGE_INVALID_OPTIONS', () => {
    const clock = new ManualClock();
    const backends = [scriptedBackend('a', clock, () => ({ latencyMs: 1 }))];
    for (const hedge of [{ after: -1 }, { after: 3e9 }, { after: 'p99' }, { maxShare: 2 }, { minSamples: 0 }, { cancel: 'yes' }, { delay: 5 }, 'p95']) {
      expect(() => new HybridModel({ backends, hedge: hedge as never, clock }), JSON.stringify(hedge)).toThrow(expect.objectContaining({ code: 'FORGE_INVALID_OPTIONS' }));
    }
  });
});
