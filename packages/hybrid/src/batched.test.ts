import { getEventListeners } from 'node:events';
import { ForgeError, ForgeErrorCode, Rng } from '@onnx-forge/core';
import { type Feeds, ManualClock, type TensorLike, fromFloat16, toFloat16 } from '@onnx-forge/runtime';
import { describe, expect, it } from 'vitest';
import { batched } from './batched.js';
import { functionBackend } from './function-backend.js';
import { HybridModel } from './hybrid-model.js';
import { CLASSES, FEATURES, requestFeeds, scriptedBackend, truth } from './testing/scripted-backend.js';

/** A backend computing `truth` row by row, counting its runs and the rows of each. */
function counting(name = 'model') {
  const runs: number[] = [];
  const backend = functionBackend(name, (feeds: Feeds) => {
    runs.push(((feeds.x as TensorLike).dims[0]) as number);
    return truth(feeds);
  });
  return { backend, runs };
}

describe('batched', () => {
  it('answers 64 concurrent single requests exactly as 64 separate runs do, in 4 runs of 16', async () => {
    const clock = new ManualClock();
    const { backend, runs } = counting();
    const b = batched(backend, { maxBatch: 16, maxDelayMs: 5, clock });
    const outputs = await clock.run(Promise.all(Array.from({ length: 64 }, (_, i) => b.predict(requestFeeds(i)))));
    expect(runs).toEqual([16, 16, 16, 16]);
    const { backend: plain, runs: plainRuns } = counting();
    for (let i = 0; i < 64; i++) {
      const alone = await plain.predict(requestFeeds(i));
      const got = outputs[i]?.logits as TensorLike;
      expect(got.dims).toEqual([1, CLASSES]);
      expect(got.type).toBe('float32');
      // Bit for bit: each row is computed by the same code, stacked or not.
      expect(Array.from(got.data as Float32Array)).toEqual(Array.from((alone.logits as TensorLike).data as Float32Array));
    }
    expect(plainRuns).toHaveLength(64);
    expect(b.stats()).toMatchObject({ requests: 64, runs: 4, stackedRuns: 4, largestBatch: 16, meanBatchSize: 16, queued: 0 });
  });

  it('waits at most maxDelayMs for a batch to fill, then runs what it has', async () => {
    const clock = new ManualClock();
    const { backend, runs } = counting();
    const b = batched(backend, { maxBatch: 64, maxDelayMs: 5, clock });
    const pending = Array.from({ length: 10 }, (_, i) => b.predict(requestFeeds(i)));
    await Promise.resolve();
    expect(runs).toEqual([]);
    clock.advance(4);
    expect(runs).toEqual([]);
    clock.advance(1);
    expect(runs).toEqual([10]);
    await Promise.all(pending);
  });

  it('tells onWait how long each request waited to be stacked, with the feeds it was given', async () => {
    const clock = new ManualClock();
    const { backend } = counting();
    const waits = new Map<Feeds, number>();
    const b = batched(backend, { maxBatch: 4, maxDelayMs: 10, clock, onWait: (f, ms) => waits.set(f, ms) });
    const feeds = Array.from({ length: 6 }, (_, i) => requestFeeds(i));
    // Three arrive at 0, 3 and 7 and leave with the timer at 10; then four at 12 fill a batch at once.
    const first = [0, 3, 7].map((at, i) => {
      clock.advance(at - clock.now());
      return b.predict(feeds[i] as Feeds);
    });
    clock.advance(10 - clock.now());
    await Promise.all(first);
    expect(feeds.slice(0, 3).map((f) => waits.get(f))).toEqual([10, 7, 3]);
    clock.advance(2);
    const late = [3, 4, 5].map((i) => b.predict(feeds[i] as Feeds));
    late.push(b.predict(requestFeeds(9)));
    await Promise.all(late);
    expect(feeds.slice(3).map((f) => waits.get(f))).toEqual([0, 0, 0]);
    // A request too large to stack never waits, so is not reported; nor does a throwing observer hurt.
    const big = { x: { type: 'float32', dims: [4, FEATURES], data: new Float32Array(4 * FEATURES) } } as Feeds;
    await b.predict(big);
    expect(waits.has(big)).toBe(false);
    const throwing = batched(backend, { maxBatch: 4, maxDelayMs: 0, clock, onWait: () => { throw new Error('observer'); } });
    await expect(clock.run(throwing.predict(requestFeeds(1)))).resolves.toHaveProperty('logits');
  });

  it('withdraws a request whose signal aborts while it waits (a hedge answered elsewhere): it never runs, the rest of its batch does', async () => {
    const clock = new ManualClock();
    const { backend, runs } = counting();
    const b = batched(backend, { maxBatch: 8, maxDelayMs: 10, clock });
    const controllers = Array.from({ length: 3 }, () => new AbortController());
    const pending = controllers.map((c, i) => b.predict(requestFeeds(i), { signal: c.signal }));
    controllers[1]?.abort(new Error('answered by the other backend'));
    await expect(pending[1]).rejects.toMatchObject({ code: ForgeErrorCode.CANCELLED, message: expect.stringMatching(/withdrawn from the batch queue of 'model' before it ran: answered by the other backend/) });
    clock.advance(10);
    const [first, third] = await Promise.all([pending[0], pending[2]]);
    // One run of the two left, each with its own row.
    expect(runs).toEqual([2]);
    expect(first).toEqual(truth(requestFeeds(0)));
    expect(third).toEqual(truth(requestFeeds(2)));
    expect(b.stats()).toMatchObject({ requests: 3, runs: 1, withdrawn: 1, meanBatchSize: 2, queued: 0 });
    // A group emptied by withdrawals runs nothing and leaves no timer; an aborted signal is refused at once;
    // an abort after the batch was sent changes nothing.
    const lone = new AbortController();
    const alone = b.predict(requestFeeds(5), { signal: lone.signal });
    lone.abort();
    await expect(alone).rejects.toMatchObject({ code: ForgeErrorCode.CANCELLED });
    expect(clock.pendingTimers).toBe(0);
    await expect(b.predict(requestFeeds(6), { signal: lone.signal })).rejects.toMatchObject({ code: ForgeErrorCode.CANCELLED });
    const late = new AbortController();
    const sent = b.predict(requestFeeds(7), { signal: late.signal });
    clock.advance(10);
    late.abort();
    await expect(sent).resolves.toEqual(truth(requestFeeds(7)));
    expect(runs).toEqual([2, 1]);
    expect(b.stats()).toMatchObject({ requests: 5, withdrawn: 2 });
  });

  it('holds one listener on a signal 20 queued requests share (no MaxListenersExceededWarning), withdraws them all on abort, and lets go once they settle', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const clock = new ManualClock();
      const { backend, runs } = counting();
      const b = batched(backend, { maxBatch: 64, maxDelayMs: 10, clock });
      const shared = new AbortController();
      const queued = Array.from({ length: 20 }, (_, i) => b.predict(requestFeeds(i), { signal: shared.signal }));
      expect(getEventListeners(shared.signal, 'abort')).toHaveLength(1);
      shared.abort(new Error('client went away'));
      const settled = await Promise.allSettled(queued);
      expect(settled.every((r) => r.status === 'rejected' && (r.reason as ForgeError).code === ForgeErrorCode.CANCELLED)).toBe(true);
      expect(runs).toEqual([]);
      expect(b.stats()).toMatchObject({ requests: 20, withdrawn: 20, queued: 0 });
      // Requests that ran leave no listener behind on a signal that never aborts.
      const kept = new AbortController();
      const done = Promise.all(Array.from({ length: 12 }, (_, i) => b.predict(requestFeeds(i), { signal: kept.signal })));
      clock.advance(10);
      await done;
      expect(getEventListeners(kept.signal, 'abort')).toHaveLength(0);
      await new Promise((r) => setImmediate(r));
      expect(warnings).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('sends a batch as soon as it reaches a preferred size', async () => {
    const clock = new ManualClock();
    const { backend, runs } = counting();
    const b = batched(backend, { maxBatch: 32, maxDelayMs: 100, preferredBatchSizes: [4, 8], clock });
    const pending = Array.from({ length: 6 }, (_, i) => b.predict(requestFeeds(i)));
    expect(runs).toEqual([4]);
    await clock.run(Promise.all(pending));
    expect(runs).toEqual([4, 2]);
  });

  it('runs requests with other non-batch dims or dtypes in batches of their own', async () => {
    const clock = new ManualClock();
    const seen: string[] = [];
    const backend = functionBackend('echo', (feeds: Feeds) => {
      const x = feeds.x as TensorLike;
      seen.push(`${x.type}[${x.dims.join(',')}]`);
      return { y: { type: x.type, dims: x.dims, data: x.data } };
    });
    const b = batched(backend, { maxBatch: 16, maxDelayMs: 1, clock });
    const make = (type: string, width: number, v: number): Feeds => ({
      x: { type, dims: [1, width], data: type === 'float32' ? new Float32Array(width).fill(v) : new Int32Array(width).fill(v) } as TensorLike,
    });
    const reqs = [make('float32', 3, 1), make('float32', 5, 2), make('float32', 3, 3), make('int32', 3, 4), make('float32', 5, 5)];
    const outs = await clock.run(Promise.all(reqs.map((r) => b.predict(r))));
    expect(seen.sort()).toEqual(['float32[2,3]', 'float32[2,5]', 'int32[1,3]']);
    outs.forEach((o, i) => expect(Array.from((o.y as TensorLike).data as Float32Array)).toEqual(Array.from((reqs[i]?.x as TensorLike).data as Float32Array)));
  });

  it('stacks int64 (BigInt64Array), float16 (Uint16Array) and string tensors and splits them back', async () => {
    const clock = new ManualClock();
    const backend = functionBackend('types', (feeds: Feeds) => {
      const ids = feeds.ids as TensorLike;
      const half = feeds.half as TensorLike;
      const words = feeds.words as TensorLike;
      const rows = ids.dims[0] as number;
      const doubled = BigInt64Array.from(ids.data as BigInt64Array, (v) => v * 2n);
      const plusOne = toFloat16(Array.from(fromFloat16(half.data as Uint16Array), (v) => v + 1));
      const upper = (words.data as string[]).map((w) => w.toUpperCase());
      return {
        ids2: { type: 'int64', dims: [rows, 2], data: doubled },
        half1: { type: 'float16', dims: [rows, 3], data: plusOne },
        upper: { type: 'string', dims: [rows], data: upper },
      };
    });
    const b = batched(backend, { maxBatch: 8, maxDelayMs: 1, clock });
    const rng = new Rng(5);
    const reqs: Feeds[] = Array.from({ length: 8 }, (_, i) => ({
      ids: { type: 'int64', dims: [1, 2], data: BigInt64Array.from([BigInt(i), -(2n ** 40n) - BigInt(i)]) },
      half: { type: 'float16', dims: [1, 3], data: toFloat16([rng.uniform(-2, 2), i, 0.5]) },
      words: { type: 'string', dims: [1], data: [`word${i}`] },
    }));
    const outs = await clock.run(Promise.all(reqs.map((r) => b.predict(r))));
    expect(b.stats()).toMatchObject({ runs: 1, stackedRuns: 1 });
    for (let i = 0; i < 8; i++) {
      const alone = await backend.predict(reqs[i] as Feeds);
      const o = outs[i] as Record<string, TensorLike>;
      expect(o.ids2).toMatchObject({ type: 'int64', dims: [1, 2] });
      expect(Array.from(o.ids2?.data as BigInt64Array)).toEqual(Array.from(alone.ids2?.data as BigInt64Array));
      expect(o.half1?.data).toBeInstanceOf(Uint16Array);
      expect(Array.from(o.half1?.data as Uint16Array)).toEqual(Array.from(alone.half1?.data as Uint16Array));
      expect(o.upper).toEqual({ type: 'string', dims: [1], data: [`WORD${i}`] });
    }
  });

  it('stacks string tensors of 200,000 elements each (more than a spread call takes as arguments)', async () => {
    const clock = new ManualClock();
    const runs: number[] = [];
    const backend = functionBackend('strings', (feeds: Feeds) => {
      const words = feeds.words as TensorLike;
      runs.push(words.dims[0] as number);
      return { count: { type: 'string', dims: [...words.dims], data: [...(words.data as string[])] } };
    });
    const b = batched(backend, { maxBatch: 2, maxDelayMs: 1, clock });
    const n = 200_000;
    const reqs: Feeds[] = [0, 1].map((i) => ({ words: { type: 'string', dims: [1, n], data: Array.from({ length: n }, (_, k) => (k === 0 ? `first${i}` : 'w')) } }));
    const outs = await clock.run(Promise.all(reqs.map((r) => b.predict(r))));
    expect(runs).toEqual([2]);
    outs.forEach((o, i) => {
      expect(o.count?.dims).toEqual([1, n]);
      expect((o.count?.data as string[])[0]).toBe(`first${i}`);
      expect(o.count?.data).toHaveLength(n);
    });
  });

  it('fails exactly the requests of a batch whose run was refused for load (time-out, overload); the next batch is unaffected', async () => {
    for (const code of [ForgeErrorCode.OVERLOADED, ForgeErrorCode.TIMEOUT]) {
      const clock = new ManualClock();
      let run = 0;
      const backend = functionBackend('busy', (feeds: Feeds) => {
        if (run++ === 0) throw new ForgeError(code, 'the queue is full');
        return truth(feeds);
      });
      const b = batched(backend, { maxBatch: 4, maxDelayMs: 1, clock });
      const results = await clock.run(Promise.allSettled(Array.from({ length: 8 }, (_, i) => b.predict(requestFeeds(i)))));
      expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
      expect((results[0] as PromiseRejectedResult).reason).toMatchObject({ code, message: 'the queue is full' });
      // Retrying them alone would add four runs to a backend that is short of time already.
      expect(b.stats()).toMatchObject({ runs: 2, failedRuns: 1, retriedAlone: 0 });
    }
  });

  it.each([
    [ForgeErrorCode.BAD_INPUT, 'x holds NaN'],
    // An error inside the model's run that one request's values cause: an index past a Gather's table.
    [ForgeErrorCode.RUNTIME, 'indices element out of data bounds'],
    // A JavaScript model's own exception, no ForgeError at all.
    [undefined, 'row with NaN'],
  ])('after a %s stacked run, runs each request alone so only the bad one fails', async (code, message) => {
    const clock = new ManualClock();
    const backend = functionBackend('strict', (feeds: Feeds) => {
      const x = (feeds.x as TensorLike).data as Float32Array;
      if (x.some((v) => Number.isNaN(v))) throw code === undefined ? new Error(message) : new ForgeError(code, message);
      return truth(feeds);
    });
    const b = batched(backend, { maxBatch: 4, maxDelayMs: 1, clock });
    const reqs = Array.from({ length: 4 }, (_, i) => requestFeeds(i));
    ((reqs[2]?.x as TensorLike).data as Float32Array)[0] = Number.NaN;
    const results = await clock.run(Promise.allSettled(reqs.map((r) => b.predict(r))));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect((results[2] as PromiseRejectedResult).reason).toMatchObject(code === undefined ? { message } : { code, message });
    results.forEach((r, i) => r.status === 'fulfilled' && expect(r.value).toEqual(truth(reqs[i] as Feeds)));
    expect(b.stats()).toMatchObject({ runs: 5, stackedRuns: 1, retriedAlone: 4, failedRuns: 2 });
  });

  it('passes requests it cannot stack (bare typed arrays, more rows than maxBatch) straight through', async () => {
    const clock = new ManualClock();
    const { backend, runs } = counting();
    const b = batched(backend, { maxBatch: 4, maxDelayMs: 1, clock });
    const big: Feeds = { x: { type: 'float32', dims: [6, FEATURES], data: new Float32Array(6 * FEATURES) } };
    const out = await b.predict(big);
    expect((out.logits as TensorLike).dims).toEqual([6, CLASSES]);
    const bare = functionBackend('bare', () => ({ y: { data: new Float32Array(1), dims: [1] } }));
    await expect(batched(bare, { maxBatch: 4, maxDelayMs: 1, clock }).predict({ x: new Float32Array(3) })).resolves.toBeDefined();
    expect(runs).toEqual([6]);
  });

  it('rejects an output it cannot split by rows, and bad options', async () => {
    const clock = new ManualClock();
    const backend = functionBackend('scalar', () => ({ total: { data: new Float32Array([1]), dims: [1] } }));
    const b = batched(backend, { maxBatch: 4, maxDelayMs: 1, clock });
    const results = await clock.run(Promise.allSettled([0, 1].map((i) => b.predict(requestFeeds(i)))));
    expect((results[0] as PromiseRejectedResult).reason.message).toMatch(/output 'total' has dims \[1\], not 2 rows along dim 0/);
    expect(() => batched(backend, { maxBatch: 0, maxDelayMs: 1 })).toThrow(expect.objectContaining({ code: 'FORGE_INVALID_OPTIONS' }));
    expect(() => batched(backend, { maxBatch: 2, maxDelayMs: -1 })).toThrow(/maxDelayMs must be a number from 0 to 2147483647/);
    // Each mistake is named rather than ignored (a typo would leave the default in force without a word).
    const cases: [unknown, RegExp][] = [
      [undefined, /batched: options must be an object with maxBatch and maxDelayMs/],
      [{ maxBatch: 4, maxDelayMs: 1, maxDelay: 5 }, /batched: unknown option 'maxDelay' \(known: maxBatch, maxDelayMs, /],
      [{ maxBatch: 4, maxDelayMs: 1, layout: { inputs: { x: -1 } } }, /layout.inputs.x must be a dim \(an integer ≥ 0\) or null, got -1/],
      [{ maxBatch: 4, maxDelayMs: 1, layout: { outputs: { y: 'a' } } }, /layout.outputs.y must be a dim \(an integer ≥ 0\), got "a"/],
      [{ maxBatch: 4, maxDelayMs: 1, layout: { input: {} } }, /unknown option 'layout.input' \(known: inputs, outputs\)/],
      [{ maxBatch: 4, maxDelayMs: 1, onWait: 3 }, /onWait must be a function/],
      [{ maxBatch: 4, maxDelayMs: 1, clock: {} }, /clock must have now\(\), setTimeout\(\) and clearTimeout\(\)/],
      [{ maxBatch: 4, maxDelayMs: 1, name: '' }, /name must be a non-empty string/],
      // Past the longest a timer waits, the delay would fire after 1 ms.
      [{ maxBatch: 4, maxDelayMs: 3e9 }, /maxDelayMs must be a number from 0 to 2147483647 \(the longest a timer waits\), got 3000000000/],
      [{ maxBatch: 4, maxDelayMs: Infinity }, /maxDelayMs must be a number from 0 to 2147483647/],
    ];
    for (const [options, message] of cases) {
      expect(() => batched(backend, options as never)).toThrow(message);
      expect(() => batched(backend, options as never)).toThrow(expect.objectContaining({ code: 'FORGE_INVALID_OPTIONS' }));
    }
  });

  it('composes with HybridModel: 32 concurrent requests through a hybrid over a batched backend take 2 runs and get their own rows', async () => {
    const clock = new ManualClock();
    const { backend, runs } = counting();
    const model = new HybridModel({ backends: [batched(backend, { maxBatch: 16, maxDelayMs: 2, clock })], stability: { minSamples: 1 }, clock });
    const outputs = await clock.run(Promise.all(Array.from({ length: 32 }, (_, i) => model.predict(requestFeeds(i)))));
    expect(runs).toEqual([16, 16]);
    outputs.forEach((o, i) => expect(Array.from((o.logits as TensorLike).data as Float32Array)).toEqual(Array.from((truth(requestFeeds(i)).logits as TensorLike).data as Float32Array)));
    expect(model.stats()).toMatchObject({ answered: 32, selected: 'model+batch' });
  });

  it('composes with hedging: when the other backend answers first, the hedged call leaves the batch queue unrun', async () => {
    const clock = new ManualClock();
    // 'a' batches with a long delay; the hedge goes to 'b' 25 ms in, and 'b' answers 30 ms later.
    const slow = counting('a');
    const fast = scriptedBackend('b', clock, () => ({ latencyMs: 30 }));
    const a = batched(slow.backend, { maxBatch: 8, maxDelayMs: 100, clock, name: 'a' });
    const model = new HybridModel({ backends: [a, fast], policy: { order: ['a', 'b'] }, hedge: { after: 25, maxShare: 1 }, clock });
    const t0 = clock.now();
    const out = await clock.run(model.predict(requestFeeds(3)));
    expect(clock.now() - t0).toBe(55);
    expect(out).toEqual(truth(requestFeeds(3)));
    // 'a' never ran: its request was withdrawn, and no batch timer is left behind.
    expect(slow.runs).toEqual([]);
    expect(a.stats()).toMatchObject({ requests: 1, runs: 0, withdrawn: 1, queued: 0 });
    expect(clock.pendingTimers).toBe(0);
    expect(model.stats()).toMatchObject({ hedges: 1, hedgeWins: 1 });
    expect(model.stats().backends.a).toMatchObject({ cancelled: 1, errors: 0 });
  });

  it('dispose runs what is queued, waits for it, then disposes the backend', async () => {
    const clock = new ManualClock();
    let disposed = false;
    const backend = functionBackend('d', (f: Feeds) => truth(f), { dispose: () => void (disposed = true) });
    const b = batched(backend, { maxBatch: 8, maxDelayMs: 1000, clock });
    const pending = [b.predict(requestFeeds(1)), b.predict(requestFeeds(2))];
    await b.dispose();
    await expect(Promise.all(pending)).resolves.toHaveLength(2);
    expect(disposed).toBe(true);
    await expect(b.predict(requestFeeds(3))).rejects.toThrow(/disposed/);
  });
});

describe('batched: a malformed neighbour, a failed batch at dispose', () => {
  it('runs a request whose data does not fill its dims alone, so the rows stacked after it stay whole', async () => {
    const clock = new ManualClock();
    // A plain function backend that reads rows by dims and trusts the data: it does not check sizes.
    const runs: number[] = [];
    const backend = functionBackend('model', (feeds: Feeds) => {
      const x = feeds.x as TensorLike;
      runs.push(x.dims[0] as number);
      const rows = x.dims[0] as number;
      return truth({ x: { type: 'float32', dims: [rows, FEATURES], data: (x.data as Float32Array).slice(0, rows * FEATURES) } });
    });
    const b = batched(backend, { maxBatch: 8, maxDelayMs: 5, clock });
    const good = requestFeeds(1);
    const bad: Feeds = { x: { type: 'float32', dims: [1, FEATURES], data: new Float32Array(FEATURES + 3).fill(7) } };
    const [, goodOut] = await clock.run(Promise.all([b.predict(bad), b.predict(good)]));
    expect(Array.from((goodOut?.logits as TensorLike).data as Float32Array)).toEqual(Array.from((truth(good).logits as TensorLike).data as Float32Array));
    expect(runs).not.toContain(2);
  });

  it('dispose waits for the requests a failed stacked run sends again alone before disposing the backend', async () => {
    const clock = new ManualClock();
    let disposed = false;
    let stackedFails = true;
    const backend = functionBackend(
      'd',
      async (f: Feeds) => {
        const rows = (f.x as TensorLike).dims[0] as number;
        if (rows > 1 && stackedFails) throw new ForgeError(ForgeErrorCode.RUNTIME, 'stacked run failed');
        // A run takes a while (a real macrotask): the backend must still be there when it ends.
        await new Promise((resolve) => setTimeout(resolve, 0));
        if (disposed) throw new ForgeError(ForgeErrorCode.RUNTIME, 'used after dispose');
        return truth(f);
      },
      { dispose: () => void (disposed = true) },
    );
    const b = batched(backend, { maxBatch: 8, maxDelayMs: 1000, clock });
    const pending = [b.predict(requestFeeds(1)), b.predict(requestFeeds(2))];
    await b.dispose();
    await expect(Promise.all(pending)).resolves.toHaveLength(2);
    expect(disposed).toBe(true);
    stackedFails = false;
  });
});

describe('batched with maxInFlight', () => {
  /** A backend whose runs wait until released, one by one in order. */
  function gated() {
    const runs: number[] = [];
    const gates: (() => void)[] = [];
    const backend = functionBackend('gated', async (feeds: Feeds) => {
      runs.push(((feeds.x as TensorLike).dims[0]) as number);
      await new Promise<void>((r) => gates.push(r));
      return truth(feeds);
    });
    const release = async () => {
      gates.shift()?.();
      // Let the settled run hand its slot on.
      for (let i = 0; i < 5; i++) await Promise.resolve();
    };
    return { backend, runs, release };
  }
  const settle = async () => {
    for (let i = 0; i < 5; i++) await Promise.resolve();
  };

  it('while every run is busy, a due group keeps stacking, and goes at the next free run', async () => {
    const clock = new ManualClock();
    const { backend, runs, release } = gated();
    const b = batched(backend, { maxBatch: 8, maxDelayMs: 5, maxInFlight: 1, clock });
    const all = [0, 1].map((i) => b.predict(requestFeeds(i)));
    clock.advance(5);
    await settle();
    expect(runs).toEqual([2]);
    // The slot is taken: these wait past their delay, and more join them.
    all.push(...[2, 3, 4].map((i) => b.predict(requestFeeds(i))));
    clock.advance(5);
    all.push(...[5, 6].map((i) => b.predict(requestFeeds(i))));
    clock.advance(5);
    await settle();
    expect(runs).toEqual([2]);
    expect(b.stats().queued).toBe(5);
    await release();
    expect(runs).toEqual([2, 5]);
    await release();
    const outputs = await Promise.all(all);
    outputs.forEach((o, i) => expect(Array.from((o.logits as TensorLike).data as Float32Array)).toEqual(Array.from((truth(requestFeeds(i)).logits as TensorLike).data as Float32Array)));
    expect(b.stats()).toMatchObject({ requests: 7, runs: 2, queued: 0 });
  });

  it('full batches wait their turn in order; a request withdrawn meanwhile never runs; dispose sends what waits', async () => {
    const clock = new ManualClock();
    const { backend, runs, release } = gated();
    const b = batched(backend, { maxBatch: 2, maxDelayMs: 5, maxInFlight: 1, clock });
    const controller = new AbortController();
    const first = [0, 1].map((i) => b.predict(requestFeeds(i)));
    await settle();
    expect(runs).toEqual([2]);
    const second = [b.predict(requestFeeds(2)), b.predict(requestFeeds(3), { signal: controller.signal })];
    const third = [4, 5].map((i) => b.predict(requestFeeds(i)));
    const big = b.predict({ x: { type: 'float32', dims: [2, FEATURES], data: new Float32Array(2 * FEATURES) } } as Feeds);
    await settle();
    expect(runs).toEqual([2]);
    controller.abort();
    await expect(second[1]).rejects.toMatchObject({ code: ForgeErrorCode.CANCELLED });
    await release();
    expect(runs).toEqual([2, 1]);
    await release();
    expect(runs).toEqual([2, 1, 2]);
    const disposed = b.dispose();
    await settle();
    expect(runs).toEqual([2, 1, 2, 2]);
    await release();
    await release();
    await disposed;
    await Promise.all([...first, second[0], ...third, big]);
    expect(b.stats()).toMatchObject({ withdrawn: 1, queued: 0 });
  });

  it('a group due while every run is busy is not passed by batches of another key that filled after it', async () => {
    const clock = new ManualClock();
    const { backend, runs, release } = gated();
    const b = batched(backend, { maxBatch: 2, maxDelayMs: 5, maxInFlight: 1, clock });
    const first = [0, 1].map((i) => b.predict(requestFeeds(i)));
    await settle();
    expect(runs).toEqual([2]);
    // Another key (one more input): alone, due at 5 while the slot is busy.
    const other = b.predict({ ...requestFeeds(2), flag: { type: 'float32', dims: [1, 1], data: new Float32Array(1) } } as Feeds);
    clock.advance(5);
    await settle();
    // Full batches of the first key, complete after it was due.
    const later = [3, 4, 5, 6].map((i) => b.predict(requestFeeds(i)));
    await settle();
    expect(b.stats().queued).toBe(5);
    await release();
    expect(runs).toEqual([2, 1]);
    await release();
    expect(runs).toEqual([2, 1, 2]);
    await release();
    await release();
    await Promise.all([...first, other, ...later]);
    expect(runs).toEqual([2, 1, 2, 2]);
    expect(b.stats()).toMatchObject({ requests: 7, queued: 0 });
  });

  it('refuses a maxInFlight that is not a positive integer', () => {
    expect(() => batched(counting().backend, { maxBatch: 4, maxDelayMs: 1, maxInFlight: 0 })).toThrow(/maxInFlight must be a positive integer/);
  });
});

describe('batched with maxInFlight, when a stacked run fails inside the model', () => {
  it('reruns the requests alone one after another in the batch\'s slot, never more runs at once than the bound', async () => {
    let running = 0;
    let most = 0;
    const backend = functionBackend('fails-stacked', async (feeds: Feeds) => {
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 1));
      running--;
      if (((feeds.x as TensorLike).dims[0] as number) > 1) throw new ForgeError(ForgeErrorCode.RUNTIME, 'stacked run failed inside the model');
      return truth(feeds);
    });
    const b = batched(backend, { maxBatch: 4, maxDelayMs: 0, maxInFlight: 1 });
    const outputs = await Promise.all([0, 1, 2, 3].map((i) => b.predict(requestFeeds(i))));
    expect(outputs).toHaveLength(4);
    expect(most).toBe(1);
    expect(b.stats()).toMatchObject({ retriedAlone: 4, failedRuns: 1 });
  });
});

describe('batched with a layout: the batch on another dim, and inputs shared by a batch', () => {
  /** y = x * sr + the row's own index along dim 1 of x [2, batch, 3] (a recurrent state), sr a shared scalar; runs counted with their rows. */
  function stateful() {
    const runs: number[] = [];
    const backend = functionBackend('state', (feeds: Feeds) => {
      const x = feeds.x as TensorLike;
      const sr = Number((feeds.sr as TensorLike).data[0]);
      runs.push(x.dims[1] as number);
      const data = Float32Array.from(x.data as Float32Array, (v) => v * sr);
      return { y: { type: 'float32', dims: [...x.dims], data }, score: { type: 'float32', dims: [x.dims[1] as number], data: Float32Array.from({ length: x.dims[1] as number }, (_, r) => data[r * 3] as number) } };
    });
    return { backend, runs };
  }
  const request = (seed: number, sr: bigint, rows = 1): Feeds => ({
    x: { type: 'float32', dims: [2, rows, 3], data: Float32Array.from({ length: 6 * rows }, (_, k) => seed * 100 + k) },
    sr: { type: 'int64', dims: [], data: BigInt64Array.of(sr) },
  });
  const layout = { inputs: { x: 1, sr: null }, outputs: { y: 1, score: 0 } };

  it('stacks along dim 1, gives each request its own rows back, and stacks only requests with the same shared values', async () => {
    const clock = new ManualClock();
    const { backend, runs } = stateful();
    const b = batched(backend, { maxBatch: 8, maxDelayMs: 5, clock, layout });
    const feeds = [request(1, 16000n), request(2, 16000n, 2), request(3, 8000n), request(4, 16000n)];
    const got = await clock.run(Promise.all(feeds.map((f) => b.predict(f))));
    // 16 kHz requests together (1 + 2 + 1 rows), the 8 kHz one alone.
    expect([...runs].sort()).toEqual([1, 4]);
    const { backend: plain } = stateful();
    for (const [i, f] of feeds.entries()) {
      const alone = await plain.predict(f);
      for (const name of ['y', 'score']) {
        expect((got[i]?.[name] as TensorLike).dims, `${i} ${name}`).toEqual((alone[name] as TensorLike).dims);
        expect(Array.from((got[i]?.[name] as TensorLike).data as Float32Array), `${i} ${name}`).toEqual(Array.from((alone[name] as TensorLike).data as Float32Array));
      }
    }
  });

  it('a request without the batch dim, or with a shared input of more than 64 values, runs alone', async () => {
    const clock = new ManualClock();
    const { backend, runs } = stateful();
    const b = batched(backend, { maxBatch: 8, maxDelayMs: 5, clock, layout: { inputs: { x: 3, sr: null }, outputs: { y: 1 } } });
    await expect(clock.run(b.predict(request(1, 16000n)))).resolves.toBeDefined();
    expect(b.stats().singleRuns).toBe(1);
    const big = { ...request(1, 16000n), sr: { type: 'int64', dims: [65], data: new BigInt64Array(65) } } as Feeds;
    const c = batched(functionBackend('echo', (f: Feeds) => ({ y: f.x as TensorLike })), { maxBatch: 8, maxDelayMs: 5, clock, layout });
    await clock.run(Promise.all([c.predict(big), c.predict(big)]));
    expect(c.stats()).toMatchObject({ runs: 2, singleRuns: 2 });
    expect(runs).toEqual([1]);
  });
});
