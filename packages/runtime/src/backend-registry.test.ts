import { ForgeError, ForgeErrorCode } from '@onnx-forge/core';
import { describe, expect, it } from 'vitest';
import type { BackendLoader, RuntimeBackend } from './backend.js';
import { BackendRegistry, backendStatus, resolveBackend } from './backend-registry.js';
import { createSession } from './create-session.js';
import { ManualClock } from './manual-clock.js';
import { faultyBackend, tinyMlp } from './test-models.js';

/** A loader that counts its calls, takes `ms` of fake time and then gives `result` (or throws it). */
function loader(clock: ManualClock, result: RuntimeBackend | Error, ms = 0): BackendLoader & { calls: number } {
  const load = Object.assign(
    async () => {
      load.calls++;
      clock.advance(ms);
      // Let concurrent callers arrive while this attempt is still running.
      await Promise.resolve();
      if (result instanceof Error) throw result;
      return result;
    },
    { calls: 0 },
  );
  return load;
}

async function failure(p: Promise<unknown>): Promise<ForgeError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ForgeError) return e;
    throw e;
  }
  throw new Error('expected a rejection');
}

describe('a backend registry', () => {
  const real = async () => resolveBackend('node');

  it('chooses by priority among the backends that start here, reporting each one passed over with its reason', async () => {
    const clock = new ManualClock();
    const base = await real();
    const gpu = loader(clock, new Error('libcudart.so.12: cannot open shared object file'), 7);
    const cpu = loader(clock, faultyBackend(base, { offered: [] }, 'fallback'), 3);
    const beta = loader(clock, faultyBackend(base, { offered: [] }, 'beta'));
    const registry = new BackendRegistry([], clock);
    registry.register('fallback', cpu, 1);
    registry.register('gpu', gpu, 5);
    registry.register('beta', beta, -1);
    expect(registry.names()).toEqual(['gpu', 'fallback', 'beta']);

    const first = await registry.resolve(undefined);
    expect(first.backend.name).toBe('fallback');
    expect(first.skipped).toEqual([{ backend: 'gpu', error: "backend 'gpu' cannot start here: libcudart.so.12: cannot open shared object file", remembered: false, ms: 7 }]);
    // A negative priority is never tried unless named.
    expect(beta.calls).toBe(0);

    // The failure is remembered: the loader does not run again, the report says so.
    const second = await registry.resolve(undefined);
    expect(second.backend).toBe(first.backend);
    expect(second.skipped).toEqual([{ backend: 'gpu', error: expect.stringContaining('libcudart'), remembered: true, ms: 7 }]);
    expect([gpu.calls, cpu.calls]).toEqual([1, 1]);
    expect(registry.status()).toEqual([
      { name: 'gpu', priority: 5, state: 'failed', error: expect.stringContaining('libcudart'), ms: 7 },
      { name: 'fallback', priority: 1, state: 'ready', ms: 3 },
      { name: 'beta', priority: -1, state: 'not started' },
    ]);

    // By name: the remembered failure is the error, marked as remembered; forget() tries again.
    const e = await failure(registry.resolve('gpu'));
    expect(e.code).toBe(ForgeErrorCode.NO_PROVIDER);
    expect(e.message).toMatch(/cannot start here: libcudart.*remembered from an earlier attempt/);
    expect(e.details).toMatchObject({ backend: 'gpu', remembered: true });
    registry.forget('gpu');
    await failure(registry.resolve('gpu'));
    expect(gpu.calls).toBe(2);
    expect((await registry.resolve('beta')).backend.name).toBe('beta');
  });

  it('shares one init among concurrent resolutions', async () => {
    const clock = new ManualClock();
    const slow = loader(clock, faultyBackend(await real(), { offered: [] }, 'slow'), 50);
    const registry = new BackendRegistry([{ name: 'slow', loader: slow, priority: 0 }], clock);
    const all = await Promise.all([registry.resolve('slow'), registry.resolve(undefined), registry.resolve('slow')]);
    expect(slow.calls).toBe(1);
    expect(new Set(all.map((r) => r.backend)).size).toBe(1);
    expect(registry.status()).toEqual([{ name: 'slow', priority: 0, state: 'ready', ms: 50 }]);
  });

  it('hands a factory the options of the session that asks', async () => {
    const base = await real();
    const seen: unknown[] = [];
    const registry = new BackendRegistry([
      {
        name: 'probing',
        priority: 0,
        loader: async () => (options) => {
          seen.push(options);
          if (options.probe === 'child-process') throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, 'no child processes here');
          return base;
        },
      },
    ]);
    expect((await registry.resolve('probing', { probe: 'in-process' })).backend).toBe(base);
    expect((await failure(registry.resolve('probing', { probe: 'child-process' }))).code).toBe(ForgeErrorCode.INVALID_OPTIONS);
    expect(seen).toEqual([{ probe: 'in-process' }, { probe: 'child-process' }]);
    // An option a backend refuses is not a failure of the backend.
    expect(registry.status()[0]?.state).toBe('ready');
  });

  it('says what is wrong with a registration, an unknown name, and a process where nothing starts', async () => {
    const clock = new ManualClock();
    const broken = loader(clock, new Error('no such module'));
    const registry = new BackendRegistry([{ name: 'broken', loader: broken, priority: 0 }], clock);
    registry.register('broken', broken, 0); // the same loader again: nothing happens
    expect(() => registry.register('broken', loader(clock, new Error('another')), 0)).toThrow(/already registered/);
    expect(() => registry.register('', broken, 0)).toThrow(/non-empty string/);
    expect(() => registry.register('x', broken, Number.NaN)).toThrow(/finite number/);
    expect(() => registry.register('x', 'broken' as never, 0)).toThrow(/must be a function/);

    const unknown = await failure(registry.resolve('gpu'));
    expect(unknown.code).toBe(ForgeErrorCode.INVALID_OPTIONS);
    expect(unknown.message).toMatch(/unknown backend 'gpu': use one of 'broken', or register it with registerBackend/);

    const none = await failure(registry.resolve(undefined));
    expect(none.code).toBe(ForgeErrorCode.NO_PROVIDER);
    expect(none.message).toMatch(/no backend could start here \(broken: backend 'broken' cannot start here: no such module\)/);
    expect(none.details).toMatchObject({ skipped: [{ backend: 'broken', remembered: false }] });
    expect((await failure(new BackendRegistry().resolve(undefined))).message).toMatch(/none is registered/);
  });
});

describe('the process registry', () => {
  it('has node and web built in; in Node, node wins and web starts when named', async () => {
    expect((await resolveBackend()).name).toBe('node');
    expect((await resolveBackend('web')).name).toBe('web');
    expect(backendStatus()).toEqual([
      { name: 'node', priority: 20, state: 'ready', ms: expect.any(Number) },
      { name: 'web', priority: 10, state: 'ready', ms: expect.any(Number) },
    ]);
    // One backend object per probe mode for node; web has no child-process probe.
    expect(await resolveBackend('node', { probe: 'child-process' })).not.toBe(await resolveBackend('node'));
    expect((await failure(resolveBackend('web', { probe: 'child-process' }))).code).toBe(ForgeErrorCode.INVALID_OPTIONS);
  });

  it('lets createSession pick a registered backend by name', async () => {
    const { registerBackend } = await import('./backend-registry.js');
    const base = await resolveBackend('web');
    registerBackend('registered-in-test', async () => faultyBackend(base, { offered: ['fake-gpu'] }, 'registered-in-test'), -1);
    const session = await createSession(tinyMlp(), { backend: 'registered-in-test', providers: ['fake-gpu'] });
    expect([session.backend, session.provider]).toEqual(['registered-in-test', 'fake-gpu']);
    const out = await session.run({ x: { data: new Float32Array([1, 2, 3, 4]), dims: [1, 4] } });
    expect(out.y?.dims).toEqual([1, 2]);
    await session.release();
  });
});
