import { tmpdir } from 'node:os';
import { ModelBuilder, isForgeError } from '@onnx-forge/core';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { createPool, createSession, resolveBackend } from './index.js';
import { faultyBackend, tinyMlp, variantModel } from './test-models.js';
import type { ProviderSkip, SessionEvent } from './types.js';

const BACKENDS = [
  { backend: 'node' as const, ort: ortNode as unknown as typeof ortWeb, cpu: 'cpu' },
  { backend: 'web' as const, ort: ortWeb, cpu: 'wasm' },
];

const x = new Float32Array([0.5, -1, 2, 3]);

async function rejection(p: Promise<unknown>): Promise<{ code?: string; message: string; details?: Record<string, unknown> }> {
  try {
    await p;
  } catch (e) {
    return e as { code?: string; message: string };
  }
  throw new Error('expected a rejection');
}

describe('onnxruntime-node itself on this machine (no GPU)', () => {
  it("rejects ['cuda', 'webgpu', 'cpu'] although cpu is in the list", async () => {
    await expect(ortNode.InferenceSession.create(tinyMlp(), { executionProviders: ['cuda', 'webgpu', 'cpu'] })).rejects.toThrow(/Cuda|shared library/i);
    await expect(ortNode.InferenceSession.create(tinyMlp(), { executionProviders: ['webgpu', 'cpu'] })).rejects.toThrow(/WebGPU adapter/i);
  });
});

describe('provider probes in a child process (node backend)', () => {
  it('starts webgpu in a throw-away process: the failure is reported the same, this process never loads it', async () => {
    const session = await createSession(tinyMlp(), { providers: ['webgpu', 'cpu'], probe: 'child-process' });
    expect(session.provider).toBe('cpu');
    expect(session.skipped).toMatchObject([{ provider: 'webgpu', phase: 'init' }]);
    expect(session.skipped[0]?.error).toMatch(/WebGPU adapter/);
    await session.release();
    await expect(createSession(tinyMlp(), { backend: 'web', probe: 'child-process' })).rejects.toMatchObject({ code: 'FORGE_INVALID_OPTIONS' });
  });
});

describe.each(BACKENDS)('createSession on the $backend backend', ({ backend, ort, cpu }) => {
  it('falls back along a GPU-first chain to a working CPU session and reports every skipped provider', async () => {
    const events: SessionEvent[] = [];
    const chain = backend === 'node' ? ['cuda', 'webgpu', 'cpu'] : ['webgpu', 'webnn', 'wasm'];
    const session = await createSession(tinyMlp(), { backend, providers: chain, onEvent: (e) => events.push(e) });
    expect(session.provider).toBe(cpu);
    expect(session.backend).toBe(backend);
    expect(session.skipped.map((s) => s.provider)).toEqual(chain.slice(0, 2));
    if (backend === 'node') {
      // cuda's libraries are absent (resolve: no native error logged); webgpu is compiled in but finds no adapter (init).
      expect(session.skipped.map((s) => s.phase)).toEqual(['resolve', 'init']);
      expect(session.skipped[0]?.error).toMatch(/libonnxruntime_providers_cuda/);
      expect(session.skipped[1]?.error).toMatch(/WebGPU adapter/);
    } else {
      expect(session.skipped.map((s) => s.phase)).toEqual(['resolve', 'resolve']);
      expect(session.skipped[0]?.error).toMatch(/only the wasm backend/);
    }
    expect(events.filter((e) => e.type === 'skip').map((e) => (e as ProviderSkip).provider)).toEqual(chain.slice(0, 2));
    expect(events.some((e) => e.type === 'ready')).toBe(true);

    const out = await session.run({ x: { data: x, dims: [1, 4] } });
    const raw = await ort.InferenceSession.create(tinyMlp());
    const expected = await raw.run({ x: new ort.Tensor('float32', x, [1, 4]) });
    expect(Array.from(out.y?.data as Float32Array)).toEqual(Array.from(expected.y?.data as Float32Array));
    expect(out.y?.dims).toEqual([1, 2]);
    await raw.release();
    await session.release();
  });

  // Node only: onnxruntime-web in Node refuses webgpu in the resolve phase (no side effects, nothing
  // started, so nothing to remember; see the fallback test above), while onnxruntime-node really tries
  // to start WebGPU here and fails in init, the failure that is remembered.
  it.skipIf(backend === 'web')('remembers a failed provider: the next chain skips it at once, saying so', async () => {
    const chain = ['webgpu', cpu];
    await (await createSession(tinyMlp(), { backend, providers: chain })).release();
    const again = await createSession(tinyMlp(), { backend, providers: chain });
    expect(again.provider).toBe(cpu);
    expect(again.skipped).toHaveLength(1);
    expect(again.skipped[0]).toMatchObject({ provider: 'webgpu', phase: 'init', remembered: true });
    // Saying so: the remembered skip still carries the original error.
    expect(again.skipped[0]?.error).toMatch(/WebGPU adapter/);
    await again.release();
  });

  it('strict mode fails on the first provider that does not work', async () => {
    const e = await rejection(createSession(tinyMlp(), { backend, providers: ['webgpu', cpu], strict: true }));
    expect(e.code).toBe('FORGE_NO_PROVIDER');
    expect(e.message).toMatch(/strict mode: provider webgpu failed/);
    expect((e.details?.skipped as ProviderSkip[]).length).toBe(1);
  });

  it('fails with FORGE_NO_PROVIDER and every reason when nothing can start', async () => {
    const e = await rejection(createSession(tinyMlp(), { backend, providers: ['webgpu', 'tensorrt'] }));
    expect(e.code).toBe('FORGE_NO_PROVIDER');
    expect(e.message).toMatch(/webgpu.*tensorrt/);
    expect(e.message).toContain(`add '${cpu}'`);
  });

  it('reports init, create and first-run failures as such and keeps going', async () => {
    const base = await resolveBackend(backend);
    const fake = faultyBackend(base, { offered: ['gpu-init', 'gpu-create', 'gpu-first', 'gpu-ok'], initFails: ['gpu-init'], createFails: ['gpu-create'], firstRunFails: ['gpu-first'] }, `phases-${backend}`);
    const session = await createSession(tinyMlp(), { backend: fake, providers: ['gpu-init', 'gpu-create', 'gpu-first', 'gpu-ok', cpu] });
    expect(session.provider).toBe('gpu-ok');
    expect(session.skipped.map((s) => [s.provider, s.phase])).toEqual([
      ['gpu-init', 'init'],
      ['gpu-create', 'create'],
      ['gpu-first', 'first-run'],
    ]);
    expect(session.skipped[2]?.error).toMatch(/kernel failed on first run/);
    expect((await session.run({ x: { data: x, dims: [1, 4] } })).y?.dims).toEqual([1, 2]);
    await session.release();
  });

  it("does not blame a provider, nor refuse the model, when zeros shaped by guess (symbolic dims 1) are what the model cannot run", async () => {
    // A Conv with a 3-wide kernel over a free-length signal: at length 1 onnxruntime refuses the input
    // shape (openWakeWord's melspectrogram does the same), on every provider alike.
    const b = new ModelBuilder({ opset: 17, graphName: 'window' });
    const conv = b.op('Conv', [b.input('x', 'float32', [1, 1, 'n']), b.initializer('w', new Float32Array([1, 2, 1]), [1, 1, 3])], {}, { outputs: ['y'] });
    b.output(conv, 'float32', [1, 1, 'm']);
    const model = b.build().encode();
    const feeds = { x: { data: new Float32Array([1, 2, 3, 4]), dims: [1, 1, 4] } };

    const warmed = await createSession(model, { backend, warmup: true });
    expect(warmed).toMatchObject({ provider: cpu, skipped: [] });
    expect(Array.from((await warmed.run(feeds)).y?.data as Float32Array)).toEqual([8, 12]);
    await warmed.release();

    // 'gpu' runs on the default provider underneath; 'gpu-broken' fails every run, as a provider whose
    // kernels do not work would.
    const fake = faultyBackend(await resolveBackend(backend), { offered: ['gpu', 'gpu-broken'] }, `guess-${backend}`);
    const withBroken: typeof fake = {
      ...fake,
      async createSession(m, o) {
        const handle = await fake.createSession(m, o);
        if (o.executionProviders?.[0] !== 'gpu-broken') return handle;
        return { ...handle, run: () => Promise.reject(new Error('gpu-broken: kernel failed (simulated)')) };
      },
    };
    const ready: number[] = [];
    const chained = await createSession(model, { backend: withBroken, providers: ['gpu', cpu], onEvent: (e) => e.type === 'ready' && ready.push(e.firstRunMs ?? -1) });
    expect(chained).toMatchObject({ provider: 'gpu', skipped: [] });
    // Warmed on larger free dims that the default provider runs.
    expect(ready).toEqual([expect.any(Number)]);
    expect(ready[0]).toBeGreaterThanOrEqual(0);
    await chained.release();
    // A provider that fails those too is still skipped, with its own error.
    const failing = await createSession(model, { backend: withBroken, providers: ['gpu-broken', cpu] });
    expect(failing.provider).toBe(cpu);
    expect(failing.skipped.map((s) => [s.provider, s.phase, s.error])).toEqual([['gpu-broken', 'first-run', 'onnxruntime run failed on gpu-broken: gpu-broken: kernel failed (simulated)']]);
    await failing.release();
  });

  it('loads model bytes held in a SharedArrayBuffer, cached, uncached and in a pool', async () => {
    // onnxruntime-node refused them ("args has to be either (modelPath, options) or (buffer, ...)") and the
    // cache's SHA-256 threw ERR_INVALID_ARG_TYPE.
    const bytes = tinyMlp();
    const shared = new Uint8Array(new SharedArrayBuffer(bytes.length));
    shared.set(bytes);
    for (const open of [() => createSession(shared, { backend }), () => createSession(shared, { backend, cache: true }), () => createSession(shared.buffer as unknown as ArrayBuffer, { backend }), () => createPool(shared, { backend, workers: 1 })]) {
      const s = await open();
      expect((await s.run({ x: { data: x, dims: [1, 4] } })).y?.dims).toEqual([1, 2]);
      await s.release();
    }
  });

  it('a model onnxruntime cannot load is FORGE_RUNTIME with the provider error, not a provider problem', async () => {
    const e = await rejection(createSession(new Uint8Array([8, 7, 18, 3, 1, 2]), { backend }));
    expect(e.code).toBe('FORGE_RUNTIME');
    expect(e.message).toMatch(new RegExp(`${cpu}/fp32 \\(create\\)`));
  });

  it('chooses the precision variant by provider and says why', async () => {
    const variants = { fp32: variantModel('fp32'), fp16: variantModel('fp16'), int8: variantModel('int8') };
    const onCpu = await createSession(variants, { backend });
    expect(onCpu.precision).toBe('fp32');
    expect(onCpu.outputNames).toEqual(['out_fp32']);
    expect(onCpu.precisionReason).toMatch(/no native fp16 kernels/);
    await onCpu.release();

    const fast = await createSession(variants, { backend, prefer: 'speed' });
    expect(fast.precision).toBe('int8');
    expect(fast.outputNames).toEqual(['out_int8']);
    await fast.release();

    // A provider with native fp16 (simulated: this machine has no CUDA or WebGPU) gets the fp16 variant.
    const gpu = faultyBackend(await resolveBackend(backend), { offered: ['gpu'], fp16Native: ['gpu'] }, `fp16-${backend}`);
    const onGpu = await createSession(variants, { backend: gpu, providers: ['gpu'] });
    expect(onGpu.precision).toBe('fp16');
    expect(onGpu.precisionReason).toMatch(/runs fp16 natively/);
    const out = await onGpu.run({ x: { data: x, dims: [1, 4] } });
    expect(Array.from(out.out_fp16?.data as Float32Array)).toEqual([0.5, -1, 2, 3]);
    await onGpu.release();
  });

  it('falls back to the next variant on the same provider when one does not load', async () => {
    const gpu = faultyBackend(await resolveBackend(backend), { offered: ['gpu'], fp16Native: ['gpu'] }, `badfp16-${backend}`);
    const session = await createSession({ fp16: new Uint8Array([1, 2, 3]), fp32: variantModel('fp32') }, { backend: gpu, providers: ['gpu'] });
    expect(session.precision).toBe('fp32');
    expect(session.skipped).toMatchObject([{ provider: 'gpu', phase: 'create', precision: 'fp16' }]);
    expect(session.precisionReason).toMatch(/^fallback after fp16 did not load/);
    await session.release();
  });

  it('warms up on request, with zeros shaped from the inputs or with given feeds, and reports the first run', async () => {
    const ready: number[] = [];
    const auto = await createSession(tinyMlp(), { backend, warmup: true, onEvent: (e) => e.type === 'ready' && ready.push(e.firstRunMs ?? -1) });
    expect(ready[0]).toBeGreaterThan(0);
    await auto.release();
    // Without a warm-up (one provider, one variant: none by default) the ready event has no first run...
    const none: (number | undefined)[] = [];
    await (await createSession(tinyMlp(), { backend, onEvent: (e) => e.type === 'ready' && none.push(e.firstRunMs) })).release();
    expect(none).toEqual([undefined]);
    // ...with given feeds it reports the warm-up run made with them.
    const given = await createSession(tinyMlp(), { backend, warmup: { x: { data: x, dims: [1, 4] } }, onEvent: (e) => e.type === 'ready' && ready.push(e.firstRunMs ?? -1) });
    expect(ready).toHaveLength(2);
    expect(ready[1]).toBeGreaterThan(0);
    await given.release();
    const e = await rejection(createSession(tinyMlp(), { backend, warmup: { x: { data: x, dims: [2, 2] } } }));
    expect(e.code).toBe('FORGE_BAD_INPUT');
  });

  it('emits per-run timing events', async () => {
    const session = await createSession(tinyMlp(), { backend });
    const timings: { runMs: number; totalMs: number; queueMs: number; ok: boolean }[] = [];
    session.on('run', (t) => timings.push(t));
    await session.run({ x: { data: x, dims: [1, 4] } });
    await session.run({ nope: x }).catch(() => undefined);
    expect(timings).toHaveLength(2);
    expect(timings[0]).toMatchObject({ ok: true, queueMs: 0 });
    expect(timings[0]?.runMs).toBeGreaterThan(0);
    expect(timings[0]?.totalMs).toBeGreaterThanOrEqual(timings[0]?.runMs as number);
    expect(timings[1]).toMatchObject({ ok: false, errorCode: 'FORGE_BAD_INPUT' });
    await session.release();
  });

  it('queues runs on a provider whose sessions refuse overlapping ones (WebGPU: "Session already started")', async () => {
    const gpu = faultyBackend(await resolveBackend(backend), { offered: ['gpu'], exclusiveRuns: ['gpu'] }, `exclusive-${backend}`);
    // The simulated provider really refuses overlap, as onnxruntime-web's WebGPU does.
    const raw = await gpu.createSession(tinyMlp(), { executionProviders: ['gpu'] });
    const feeds = { x: gpu.toTensor({ type: 'float32', data: x, dims: [1, 4] }) };
    const rawRuns = await Promise.allSettled([raw.run(feeds), raw.run(feeds)]);
    expect(rawRuns.map((r) => r.status)).toEqual(['fulfilled', 'rejected']);
    expect(String((rawRuns[1] as PromiseRejectedResult).reason)).toMatch(/Session already started/);
    await raw.release();

    const session = await createSession(tinyMlp(), { backend: gpu, providers: ['gpu'] });
    const timings: { queueMs: number; ok: boolean }[] = [];
    session.on('run', (t) => timings.push(t));
    const outs = await Promise.all([1, 2, 3, 4].map(() => session.run({ x: { data: x, dims: [1, 4] } })));
    expect(outs.every((o) => o.y?.dims[1] === 2)).toBe(true);
    expect(timings.every((t) => t.ok)).toBe(true);
    expect(timings.filter((t) => t.queueMs > 0).length).toBeGreaterThanOrEqual(1);
    // A queued run that is cancelled, or whose time runs out while it waits, never starts; the rest go on.
    const ac = new AbortController();
    const first = session.run({ x: { data: x, dims: [1, 4] } });
    const cancelledRun = session.run({ x: { data: x, dims: [1, 4] } }, { signal: ac.signal });
    ac.abort(new Error('gone'));
    const expired = session.run({ x: { data: x, dims: [1, 4] } }, { timeoutMs: 1e-6 });
    const last = session.run({ x: { data: x, dims: [1, 4] } });
    expect((await rejection(cancelledRun)).code).toBe('FORGE_CANCELLED');
    const t = await rejection(expired);
    expect(t.code).toBe('FORGE_TIMEOUT');
    expect(t.message).toMatch(/waited .* for the runs before it/);
    expect(t.details).toMatchObject({ queued: true });
    expect((await first).y).toBeDefined();
    expect((await last).y).toBeDefined();
    await session.release();
  });

  it('release waits for runs in flight; later runs are refused', async () => {
    const session = await createSession(tinyMlp(), { backend });
    const runs = [1, 2, 3].map(() => session.run({ x: { data: x, dims: [1, 4] } }));
    const released = session.release();
    expect(session.released).toBe(true);
    const outs = await Promise.all(runs);
    expect(outs.every((o) => o.y?.dims[1] === 2)).toBe(true);
    await released;
    const e = await rejection(session.run({ x: { data: x, dims: [1, 4] } }));
    expect(e.code).toBe('FORGE_RUNTIME');
    expect(e.message).toMatch(/released/);
    await session.release(); // idempotent
  });

  it('honours a cancelled signal and a time limit', async () => {
    const session = await createSession(tinyMlp(), { backend });
    const ac = new AbortController();
    ac.abort(new Error('user left'));
    const e = await rejection(session.run({ x: { data: x, dims: [1, 4] } }, { signal: ac.signal }));
    expect(e.code).toBe('FORGE_CANCELLED');
    expect(e.message).toMatch(/user left/);
    const t = await rejection(session.run({ x: { data: x, dims: [1, 4] } }, { timeoutMs: 1e-6 }));
    expect(t.code).toBe('FORGE_TIMEOUT');
    await session.release();
  });

  it('rejects bad arguments with ForgeErrors', async () => {
    for (const [model, code, message] of [
      [new Uint8Array(0), 'FORGE_INVALID_MODEL', /empty/],
      [42, 'FORGE_INVALID_MODEL', /./],
      // Worded as core's readers word them.
      ['/no/such/model.onnx', 'FORGE_IO', /^cannot read model "\/no\/such\/model\.onnx": the file does not exist$/],
      [tmpdir(), 'FORGE_IO', /^cannot read model ".*": the path is a folder, not a model file$/],
    ] as const) {
      const e = await rejection(createSession(model as never, { backend }));
      expect(isForgeError(e)).toBe(true);
      expect(e.code).toBe(code);
      expect(e.message).toMatch(message);
    }
    expect((await rejection(createSession(tinyMlp(), { backend, providers: [] }))).code).toBe('FORGE_INVALID_OPTIONS');
    expect((await rejection(createSession(tinyMlp(), { backend, providers: [3 as never] }))).code).toBe('FORGE_INVALID_OPTIONS');
    expect((await rejection(createSession(tinyMlp(), { backend: 'gpu' as never }))).code).toBe('FORGE_INVALID_OPTIONS');
  });
});
