import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Model, transformerEncoder, writeModel } from '@onnx-forge/core';
import { afterAll, describe, expect, it } from 'vitest';
import type { RuntimeBackend } from './backend.js';
import { resolveBackend } from './backend-registry.js';
import { createSession } from './create-session.js';
import type { OrtSessionOptions, SessionOptions } from './session-options.js';
import { encoderFeeds, smallEncoder, tinyMlp } from './test-models.js';

const dir = mkdtempSync(path.join(tmpdir(), 'forge-runtime-options-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function failure(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    return e as { code: string; message: string };
  }
  throw new Error('expected a rejection');
}

const x = { data: new Float32Array([1, 2, 3, 4]), dims: [1, 4] };

/** The real backend, recording the options each createSession receives (a deep copy, as they were then). */
function recording(base: RuntimeBackend): { recorder: RuntimeBackend; received: OrtSessionOptions[]; defaultProvider: string } {
  const received: OrtSessionOptions[] = [];
  const recorder: RuntimeBackend = {
    name: base.name,
    defaultProvider: base.defaultProvider,
    acceptsPaths: base.acceptsPaths,
    resolveProvider: (p) => base.resolveProvider(p),
    initProvider: (p) => base.initProvider(p),
    createSession: (model, options) => {
      received.push(structuredClone(options));
      return base.createSession(model, options);
    },
    toTensor: (t) => base.toTensor(t),
    providerFeatures: (p) => base.providerFeatures(p),
  };
  return { recorder, received, defaultProvider: base.defaultProvider };
}

describe.each(['node', 'web'] as const)('session options on the %s backend', (backend) => {
  it('passes valid options through to a working session', async () => {
    const options: SessionOptions = {
      graphOptimizationLevel: 'basic',
      intraOpNumThreads: 1,
      interOpNumThreads: 2,
      executionMode: 'parallel',
      enableCpuMemArena: false,
      enableMemPattern: false,
      logSeverityLevel: 3,
      extra: { session: { use_ort_model_bytes_directly: '1' } },
    };
    const { recorder, received, defaultProvider } = recording(await resolveBackend(backend));
    const session = await createSession(tinyMlp(), { backend: recorder, ...options });
    // What onnxruntime is handed (the real backends pass these to InferenceSession.create as they are):
    // every valid option, unchanged, plus the one provider of the attempt.
    expect(received).toEqual([{ ...options, executionProviders: [defaultProvider] }]);
    expect(session.provider).toBe(defaultProvider);
    expect((await session.run({ x })).y?.dims).toEqual([1, 2]);
    await session.release();
  });

  it.each([
    [{ graphOptimizationLevel: 'max' }, /graphOptimizationLevel must be one of 'disabled', 'basic', 'extended', 'layout', 'all', got "max"/],
    [{ intraOpNumThreads: -3 }, /intraOpNumThreads must be an integer from 0/],
    [{ intraOpNumThreads: 1.5 }, /intraOpNumThreads must be an integer/],
    [{ interOpNumThreads: 4 }, /interOpNumThreads only matters with executionMode 'parallel'/],
    [{ executionMode: 'async' }, /executionMode must be one of 'sequential', 'parallel'/],
    [{ enableCpuMemArena: 'yes' }, /enableCpuMemArena must be true or false/],
    [{ logSeverityLevel: 7 }, /logSeverityLevel must be 0, 1, 2, 3 or 4/],
    [{ freeDimensionOverrides: { batch: 0 } }, /freeDimensionOverrides.batch must be a positive integer/],
    [{ freeDimensionOverrides: [1] }, /freeDimensionOverrides must be an object/],
    [{ externalData: [{ path: 'w.bin' }] }, /externalData\[0\] must be \{ path: string, data: Uint8Array \}/],
    [{ graphOptimisationLevel: 'all' }, /unknown option 'graphOptimisationLevel'; did you mean 'graphOptimizationLevel'\?/],
    [{ intraOpThreads: 1 }, /unknown option 'intraOpThreads'; did you mean 'intraOpNumThreads'\?/],
    [{ strict: 'yes' }, /strict must be true or false/],
    [{ prefer: 'fast' }, /prefer must be 'accuracy' or 'speed'/],
  ])('rejects %j with FORGE_INVALID_OPTIONS', async (options, message) => {
    const e = await failure(createSession(tinyMlp(), { backend, ...(options as SessionOptions) }));
    expect(e.code).toBe('FORGE_INVALID_OPTIONS');
    expect(e.message).toMatch(message);
  });

  it('applies free dimension overrides (onnxruntime-node alone ignores them)', async () => {
    const session = await createSession(smallEncoder(), { backend, freeDimensionOverrides: { batch: 2, sequence: 6 } });
    expect(session.inputMetadata[0]).toEqual({ name: 'input_ids', type: 'int64', shape: [2, 6] });
    expect((await session.run(encoderFeeds(2, 6))).last_hidden_state?.dims).toEqual([2, 6, 32]);
    const e = await failure(session.run(encoderFeeds(1, 6)));
    expect(e.code).toBe('FORGE_BAD_INPUT');
    expect(e.message).toMatch(/dimension 0 must be 2/);
    await session.release();
  });

  it('rejects an override naming no symbolic input dim, listing the real ones', async () => {
    const e = await failure(createSession(smallEncoder(), { backend, freeDimensionOverrides: { btach: 1 } }));
    expect(e.code).toBe('FORGE_INVALID_OPTIONS');
    expect(e.message).toMatch(/no input of the model has a dimension named 'btach' \(its symbolic dims: batch, sequence\)/);
  });

  it('loads a model whose weights are in an external data file: by path, or bytes with externalDataDir', async () => {
    const folder = path.join(dir, `ext-${backend}`);
    const model = transformerEncoder({ layers: 1, hidden: 32, heads: 2, intermediate: 64, vocab: 50, maxPositions: 32, pooler: false });
    const file = path.join(folder, 'model.onnx');
    const { mkdirSync, readFileSync, readdirSync } = await import('node:fs');
    mkdirSync(folder, { recursive: true });
    await writeModel(model, file, { externalData: true });
    expect(readdirSync(folder).length).toBeGreaterThan(1);
    const reference = await createSession(model, { backend });
    const want = (await reference.run(encoderFeeds(1, 5))).last_hidden_state?.data as Float32Array;
    await reference.release();

    const byPath = await createSession(file, { backend });
    expect(Array.from((await byPath.run(encoderFeeds(1, 5))).last_hidden_state?.data as Float32Array)).toEqual(Array.from(want));
    await byPath.release();

    const bytes = new Uint8Array(readFileSync(file));
    expect(Model.decode(bytes).proto.graph?.initializer.some((t) => t.dataLocation === 1)).toBe(true);
    const withDir = await createSession(bytes, { backend, externalDataDir: folder });
    expect(Array.from((await withDir.run(encoderFeeds(1, 5))).last_hidden_state?.data as Float32Array)).toEqual(Array.from(want));
    await withDir.release();

    const e = await failure(createSession(bytes, { backend }));
    expect(e.message).toMatch(/external data/i);
  });

  it('checks folders before onnxruntime does', async () => {
    const e = await failure(createSession(tinyMlp(), { backend, externalDataDir: path.join(dir, 'missing') }));
    expect(e.code).toBe('FORGE_IO');
    expect(e.message).toMatch(/externalDataDir: the folder .* does not exist/);
  });

  if (backend === 'node') {
    it('writes the optimized model where asked, and explains a missing folder', async () => {
      const out = path.join(dir, 'optimized.onnx');
      const session = await createSession(tinyMlp(), { backend, optimizedModelFilePath: out, graphOptimizationLevel: 'extended' });
      await session.release();
      expect(existsSync(out)).toBe(true);
      const e = await failure(createSession(tinyMlp(), { backend, optimizedModelFilePath: path.join(dir, 'no', 'such', 'x.onnx') }));
      expect(e.code).toBe('FORGE_IO');
      expect(e.message).toMatch(/optimizedModelFilePath: the folder .* does not exist/);
    });
  } else {
    it('refuses optimizedModelFilePath, which onnxruntime-web cannot honour', async () => {
      const e = await failure(createSession(tinyMlp(), { backend, optimizedModelFilePath: path.join(dir, 'x.onnx') }));
      expect(e.code).toBe('FORGE_INVALID_OPTIONS');
      expect(e.message).toMatch(/needs the node backend/);
    });
  }
});
