import { ModelBuilder, Rng, float16ArrayToFloat32, float32ArrayToFloat16, mlp } from '@onnx-forge/core';
import { type Session, type TensorLike, createPool, createSession } from '@onnx-forge/runtime';
import { afterAll, describe, expect, it } from 'vitest';
import { HybridModel } from './hybrid-model.js';
import { sessionBackend } from './session-backend.js';

/**
 * Real onnxruntime-node (CPU) sessions under the hybrid layer: the same outputs as the session's own
 * run, and a fallback when a model fails inside onnxruntime at run time.
 */
const SIZES = [16, 32, 4];
const model = mlp({ sizes: SIZES, seed: 5 });

/** Same input and output as the MLP, but its Reshape to [3, 7] cannot hold 16 values: it loads, then fails in run(). */
function failsAtRunTime(): Uint8Array {
  const b = new ModelBuilder({ graphName: 'fails_at_run' });
  const x = b.input('x', 'float32', ['batch', SIZES[0] as number]);
  const r = b.op('Reshape', [x, b.constant([3, 7], 'int64')]);
  const y = b.op('ReduceSum', [r, b.constant([1], 'int64')], { keepdims: 1 }, { outputs: ['y'] });
  // Symbolic output dims: a declared [batch, 4] would only earn a shape-merge warning from onnxruntime.
  b.output(y, 'float32', ['rows', 'cols']);
  return b.build().encode();
}

/** Relu over x [batch, 4], in float32 or as fp16 converts it by default: float16 input and output. */
function relu(type: 'float32' | 'float16'): Uint8Array {
  const b = new ModelBuilder({ opset: 17, graphName: `relu_${type}` });
  b.output(b.op('Relu', [b.input('x', type, ['batch', 4])], {}, { outputs: ['y'] }), type, ['batch', 4]);
  return b.build().encode();
}

const feeds = (seed: number) => ({ x: { data: new Rng(seed).fillNormalish(new Float32Array(2 * 16), 1), dims: [2, 16] } });
const sessions: Session[] = [];
afterAll(async () => {
  await Promise.all(sessions.map((s) => s.release()));
});

describe('sessionBackend over onnxruntime-node', () => {
  it('warms up on zeros shaped from the inputs, and says it ran nothing when an input has no shape to build them from', async () => {
    const b = new ModelBuilder({ opset: 17 });
    b.output(b.op('Relu', [b.input('x', 'float32', null)]), 'float32', null);
    const unshaped = await createSession(b.build().encode());
    const shaped = await createSession(model);
    sessions.push(unshaped, shaped);
    expect(await sessionBackend('unshaped', unshaped, { release: false }).warmup?.()).toBe(false);
    expect(await sessionBackend('mlp', shaped, { release: false }).warmup?.()).toBeUndefined();
  });

  it('answers exactly as the session does (in-process and in a worker pool)', async () => {
    const local = await createSession(model);
    const pool = await createPool(model, { workers: 1 });
    sessions.push(local, pool);
    for (const session of [local, pool]) {
      const backend = sessionBackend('mlp', session, { release: false, sizeBytes: 1234 });
      await backend.warmup?.();
      const got = await backend.predict(feeds(1));
      const want = await local.run(feeds(1));
      expect((got.y as TensorLike).dims).toEqual([2, 4]);
      expect(Array.from((got.y as TensorLike).data as Float32Array)).toEqual(Array.from(want.y?.data as Float32Array));
      expect(backend.sizeBytes).toBe(1234);
      // An in-process session runs on this thread, one run at a time (onnxruntime #19611); a pool does not.
      expect(backend.sharesThread).toBe(session === local ? true : undefined);
      // A pool's calls wait in its queue for one of its workers.
      expect(backend.runsAtOnce).toBe(session === local ? undefined : 1);
    }
    // A Session of another making (a wrapper, a remote one) says nothing of where its runs wait.
    const wrapper: Session = Object.assign(Object.create(local) as Session, { id: 'remote-1' });
    const wrapped = sessionBackend('remote', wrapper, { release: false });
    expect([wrapped.sharesThread, wrapped.runsAtOnce]).toEqual([undefined, undefined]);
    // Malformed options are named, not ignored (a typo would leave the default in force).
    expect(() => sessionBackend('mlp', local, { warmupFeed: {} } as never)).toThrow(/sessionBackend 'mlp': unknown option 'warmupFeed' \(known: sizeBytes, warmupFeeds, runOptions, release\)/);
    expect(() => sessionBackend('mlp', local, { sizeBytes: -5 })).toThrow(expect.objectContaining({ code: 'FORGE_INVALID_OPTIONS' }));
  });

  it('passes the AbortSignal of a hedged call on to the session: an aborted call never runs, one without a signal does', async () => {
    const pool = await createPool(model, { workers: 1 });
    sessions.push(pool);
    const backend = sessionBackend('mlp', pool, { release: false });
    const before = pool.stats().completed;
    await expect(backend.predict(feeds(3), { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'FORGE_CANCELLED' });
    expect(pool.stats().completed).toBe(before);
    expect(((await backend.predict(feeds(3), { signal: new AbortController().signal })).y as TensorLike).dims).toEqual([2, 4]);
    expect(pool.stats().completed).toBe(before + 1);
  });

  it('takes feeds that are not an object (null, an array) as the request\'s fault: FORGE_BAD_INPUT, and the breaker stays closed', async () => {
    const session = await createSession(model);
    sessions.push(session);
    const hybrid = new HybridModel({ backends: [sessionBackend('only', session)], breaker: { failures: 2 } });
    for (const bad of [null, undefined, [feeds(1)]]) {
      await expect(hybrid.predict(bad as never)).rejects.toMatchObject({ code: 'FORGE_BAD_INPUT' });
    }
    expect(hybrid.stats().backends.only).toMatchObject({ state: 'healthy' });
    const want = await session.run(feeds(3));
    expect(Array.from(((await hybrid.predict(feeds(3))).y as TensorLike).data as Float32Array)).toEqual(Array.from(want.y?.data as Float32Array));
    await hybrid.dispose();
  });

  it('falls back from a session whose model fails at run time to another, and reports the onnxruntime error', async () => {
    const broken = await createSession(failsAtRunTime());
    const good = await createSession(model);
    const hybrid = new HybridModel({ backends: [sessionBackend('broken', broken), sessionBackend('good', good)], policy: { order: ['broken', 'good'] }, breaker: { failures: 2 } });
    const want = await good.run(feeds(2));
    for (let i = 0; i < 5; i++) {
      const out = await hybrid.predict(feeds(2));
      expect(Array.from((out.y as TensorLike).data as Float32Array)).toEqual(Array.from(want.y?.data as Float32Array));
    }
    const s = hybrid.stats();
    expect(s).toMatchObject({ failed: 0, answered: 5, fallbacks: 2, selected: 'good' });
    expect(s.backends.broken).toMatchObject({ state: 'open', errors: 2, calls: 2 });
    expect(s.backends.broken?.lastError?.message).toMatch(/reshape|Reshape|input_shape_size/i);
    await hybrid.dispose();
    expect(broken.released && good.released).toBe(true);
  });

  it('feeds float32 requests to a model with float16 inputs as float16, and answers them in float32 (float16 requests in float16)', async () => {
    const half = await createSession(relu('float16'));
    const pool = await createPool(relu('float16'), { workers: 1 });
    sessions.push(half, pool);
    const x = Float32Array.from([-1, 0.5, 2, -3, 1.25, -0.25, 4, 0.1]);
    for (const session of [half, pool]) {
      const backend = sessionBackend('fp16', session, { release: false });
      const got = (await backend.predict({ x: { type: 'float32', data: x, dims: [2, 4] } })).y as TensorLike;
      expect(got.type).toBe('float32');
      expect(got.dims).toEqual([2, 4]);
      // The float16 model's answer, exactly: x rounded to float16, Relu, widened back.
      expect(Array.from(got.data as Float32Array)).toEqual(Array.from(float16ArrayToFloat32(float32ArrayToFloat16(x)), (v) => Math.max(v, 0)));
      const asHalf = (await backend.predict({ x: { type: 'float16', data: float32ArrayToFloat16(x), dims: [2, 4] } })).y as TensorLike;
      expect(asHalf.type).toBe('float16');
    }
  });

  it('serves an fp16 variant with float16 I/O next to its float32 reference: no fallback, canary checks pass', async () => {
    const hybrid = new HybridModel({
      backends: [sessionBackend('fp32', await createSession(relu('float32'))), sessionBackend('fp16', await createSession(relu('float16')))],
      reference: 'fp32', policy: { order: ['fp16', 'fp32'] }, canary: { sampleRate: 1 },
    });
    await hybrid.warmup();
    for (let i = 0; i < 10; i++) {
      const out = (await hybrid.predict({ x: { type: 'float32', data: new Rng(i).fillNormalish(new Float32Array(8), 1), dims: [2, 4] } })).y as TensorLike;
      expect(out.type).toBe('float32');
    }
    const s = hybrid.stats();
    expect(s).toMatchObject({ failed: 0, fallbacks: 0, selected: 'fp16', canaryFailures: 0 });
    expect(s.backends.fp16).toMatchObject({ served: 10, errors: 0, state: 'healthy' });
    expect(s.canaryChecks).toBeGreaterThan(0);
    await hybrid.dispose();
  });
});
