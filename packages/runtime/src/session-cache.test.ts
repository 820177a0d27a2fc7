import { mlp } from '@onnx-forge/core';
import { describe, expect, it } from 'vitest';
import { createLocalSession } from './create-local-session.js';
import { createSession } from './create-session.js';
import type { CreateSessionOptions } from './create-session-options.js';
import type { ModelSource, ModelVariants } from './model-source.js';
import { SessionCache, defaultSessionCache } from './session-cache.js';
import { tinyMlp, variantModel } from './test-models.js';
import type { Session } from './types.js';

const x = { data: new Float32Array([1, 2, 3, 4]), dims: [1, 4] };

/** A cache whose factory counts creations and can be told to fail or to wait. */
function countingCache() {
  const made: Session[] = [];
  let fail = 0;
  let gate: Promise<void> | undefined;
  const cache = new SessionCache({
    create: async (model: ModelSource | ModelVariants, options: CreateSessionOptions) => {
      if (gate) await gate;
      if (fail > 0) {
        fail--;
        throw new Error('simulated creation failure');
      }
      const s = await createLocalSession(model, options);
      made.push(s);
      return s;
    },
  });
  return {
    cache,
    made,
    failNext: (n = 1) => (fail = n),
    hold: () => {
      let open!: () => void;
      gate = new Promise((r) => (open = r));
      return () => {
        gate = undefined;
        open();
      };
    },
  };
}

describe.each(['node', 'web'] as const)('SessionCache on the %s backend', (backend) => {
  it('shares one session per model × options × provider, counting references', async () => {
    const { cache, made } = countingCache();
    const a = await cache.acquire(tinyMlp(), { backend });
    const b = await cache.acquire(new Uint8Array(tinyMlp()), { backend }); // same bytes, another buffer
    expect(made).toHaveLength(1);
    expect(a.id).toBe(b.id);
    expect(cache.stats()).toMatchObject({ sessions: 1, hits: 1, misses: 1 });
    expect(cache.stats().refs).toHaveLength(1);
    const sharedKey = cache.stats().refs[0]!.key;
    expect(cache.stats().refs[0]?.refs).toBe(2);

    const other = await cache.acquire(tinyMlp(), { backend, graphOptimizationLevel: 'basic' });
    expect(made).toHaveLength(2);
    expect(other.id).not.toBe(a.id);
    const refsByKey = () => new Map(cache.stats().refs.map((r) => [r.key, r.refs]));
    const otherKey = [...refsByKey().keys()].find((k) => k !== sharedKey);
    expect(otherKey).toBeDefined();
    expect(refsByKey()).toEqual(new Map([[sharedKey, 2], [otherKey, 1]]));

    await a.release();
    await a.release(); // a second release of the same handle does not drop another reference
    // a and b's session is down to b's one reference; the other session is untouched.
    expect(refsByKey()).toEqual(new Map([[sharedKey, 1], [otherKey, 1]]));
    expect(made[0]?.released).toBe(false);
    expect((await b.run({ x })).y?.dims).toEqual([1, 2]);
    await b.release();
    expect(made[0]?.released).toBe(true);
    await other.release();
    expect(cache.stats().sessions).toBe(0);

    // After the last release the next acquire creates afresh.
    const c = await cache.acquire(tinyMlp(), { backend });
    expect(made).toHaveLength(3);
    await c.release();
  });

  it('concurrent acquires of one key share one creation', async () => {
    const { cache, made, hold } = countingCache();
    const open = hold();
    const pending = Array.from({ length: 5 }, () => cache.acquire(tinyMlp(), { backend }));
    while (cache.stats().hits < 4) await new Promise((r) => setTimeout(r, 1));
    expect(cache.stats()).toMatchObject({ pending: 1, misses: 1 });
    open();
    const sessions = await Promise.all(pending);
    expect(made).toHaveLength(1);
    expect(new Set(sessions.map((s) => s.id)).size).toBe(1);
    expect(cache.stats().refs[0]?.refs).toBe(5);
    await Promise.all(sessions.map((s) => s.release()));
    expect(made[0]?.released).toBe(true);
  });

  it('does not cache a failed creation: everyone waiting sees the error, the next acquire retries', async () => {
    const { cache, made, failNext, hold } = countingCache();
    failNext();
    const open = hold();
    const both = [cache.acquire(tinyMlp(), { backend }), cache.acquire(tinyMlp(), { backend })];
    while (cache.stats().hits < 1) await new Promise((r) => setTimeout(r, 1)); // both are waiting on one creation
    open();
    const results = await Promise.allSettled(both);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(cache.stats()).toMatchObject({ sessions: 0, pending: 0 });
    const ok = await cache.acquire(tinyMlp(), { backend });
    expect(made).toHaveLength(1);
    await ok.release();
  });

  it('chains that end on the same provider share the session', async () => {
    const { cache, made } = countingCache();
    const cpu = backend === 'node' ? 'cpu' : 'wasm';
    const a = await cache.acquire(tinyMlp(), { backend, providers: [cpu] });
    const b = await cache.acquire(tinyMlp(), { backend, providers: ['webgpu', cpu] });
    expect(b.provider).toBe(cpu);
    expect(b.id).toBe(a.id);
    expect(made).toHaveLength(2); // the second was created to learn where the chain ends, then dropped
    expect(made[1]?.released).toBe(true);
    expect(cache.stats().sessions).toBe(1);
    // Now the chain is known: no creation at all.
    const c = await cache.acquire(tinyMlp(), { backend, providers: ['webgpu', cpu] });
    expect(made).toHaveLength(2);
    await Promise.all([a.release(), b.release(), c.release()]);
    expect(cache.stats().sessions).toBe(0);
  });

  it("the last release waits for every holder's runs in flight", async () => {
    const { cache, made } = countingCache();
    const a = await cache.acquire(tinyMlp(), { backend });
    const b = await cache.acquire(tinyMlp(), { backend });
    const runs = [a.run({ x }), b.run({ x }), b.run({ x })];
    const released = Promise.all([a.release(), b.release()]);
    await expect(b.run({ x })).rejects.toMatchObject({ code: 'FORGE_RUNTIME' });
    const outs = await Promise.all(runs);
    expect(outs.every((o) => o.y !== undefined)).toBe(true);
    await released;
    expect(made[0]?.released).toBe(true);
  });

  it('keys variants by all their models', async () => {
    const { cache, made } = countingCache();
    const a = await cache.acquire({ fp32: variantModel('fp32'), int8: variantModel('int8') }, { backend });
    const b = await cache.acquire({ fp32: variantModel('fp32'), int8: variantModel('int8') }, { backend });
    const c = await cache.acquire({ fp32: variantModel('fp32') }, { backend });
    expect(made).toHaveLength(2);
    expect(a.id).toBe(b.id);
    expect(a.precision).toBe('fp32');
    await Promise.all([a.release(), b.release(), c.release()]);
  });

  it('keys bytes by what they hold now: a buffer rewritten in place with another model is another session', async () => {
    const { cache, made } = countingCache();
    const bytes = mlp({ sizes: [4, 8, 2], seed: 7 }).encode();
    const other = mlp({ sizes: [4, 8, 2], seed: 8 }).encode();
    expect(other.length).toBe(bytes.length);
    const a = await cache.acquire(bytes, { backend });
    bytes.set(other);
    const b = await cache.acquire(bytes, { backend });
    expect(made).toHaveLength(2);
    expect(b.id).not.toBe(a.id);
    const want = await createLocalSession(other, { backend });
    expect(Array.from((await b.run({ x })).y?.data as Float32Array)).toEqual(Array.from((await want.run({ x })).y?.data as Float32Array));
    await Promise.all([a.release(), b.release(), want.release()]);
  });

  it('createSession({ cache: true }) uses the process-wide cache', async () => {
    const a = await createSession(tinyMlp(), { backend, cache: true });
    const b = await createSession(tinyMlp(), { backend, cache: true });
    expect(a.id).toBe(b.id);
    expect(defaultSessionCache().stats().refs.find((r) => r.provider === a.provider)?.refs).toBe(2);
    await a.release();
    await b.release();
    expect(defaultSessionCache().stats().sessions).toBe(0);
  });
});
