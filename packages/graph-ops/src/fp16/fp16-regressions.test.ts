import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DataType, ModelBuilder, attr, float16BitsToFloat32, getAttribute, tensorToArray, toNumber, type Model,
} from '@onnx-forge/core';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { convertToFp16 } from './fp16-pass.js';
import { cosine, runnerValues } from '../testing/compare.js';
import { BACKENDS, assertValid, f32, isTopologicallySorted, nodeRunner, nodesOf, runOnce, seeded } from '../testing/harness.js';

/**
 * One test per known failure of the Python converters listed in ANCHORS.md (FP16 section): each
 * builds the model that broke them, converts it, and checks the result is a valid model that loads
 * and answers like the float32 original in onnxruntime. Two check the converted graph only, as
 * onnxruntime-node has no CPU kernel to run them: com.microsoft GroupNorm (CUDA only) and the
 * float16 random generators of the dtype test (the next test runs the cpu-target form).
 */

const F16 = DataType.FLOAT16;
const F32 = DataType.FLOAT;

function elemType(model: Model, name: string): number | undefined {
  for (const g of model.graphs()) {
    const init = g.initializer(name);
    if (init) return init.dataType;
    const vi = g.valueInfo(name);
    if (vi?.type?.tensorType) return vi.type.tensorType.elemType;
  }
  return undefined;
}

async function expectSameOutputs(original: Model, converted: Model, feeds: Record<string, ReturnType<typeof f32>>, minCos = 0.999) {
  for (const { runner } of BACKENDS) {
    const a = await runOnce(runner, original, feeds);
    const b = await runOnce(runner, converted, feeds);
    for (const k of Object.keys(a)) {
      const x = a[k] as never;
      const y = b[k] as never;
      expect(cosine(x, y)).toBeGreaterThanOrEqual(minCos);
    }
  }
}

describe('fp16 regressions (ANCHORS.md)', () => {
  it('keeps Resize scales float32 (opset 13, input 2) so the model loads (onnxruntime #1760, #8327, #9789)', async () => {
    const b = new ModelBuilder({ opset: 13 });
    const x = b.input('x', 'float32', [1, 2, 4, 4]);
    const w = b.constant(Array.from(seeded(2, 3)), 'float32', [1, 2, 1, 1], 'w');
    const scales = b.constant([1, 1, 2, 2], 'float32', [4], 'scales');
    const y = b.op('Resize', [b.op('Mul', [x, w]), '', scales], { mode: 'linear' });
    b.output(b.op('Relu', [y]), 'float32', [1, 2, 8, 8]);
    const model = b.build();
    const copy = model.clone();
    const report = await convertToFp16(copy, { keepIoTypes: true });
    assertValid(copy);
    expect(elemType(copy, 'scales')).toBe(F32);
    expect(elemType(copy, 'w')).toBe(F16);
    expect(report.decisions.find((d) => d.opType === 'Resize')?.action).toBe('converted');
    await expectSameOutputs(model, copy, { x: f32([1, 2, 4, 4], seeded(32, 1)) });
  });

  it('keeps Resize-10 scales (input 1) float32', async () => {
    const b = new ModelBuilder({ opset: 10 });
    const x = b.input('x', 'float32', [1, 1, 2, 2]);
    const scales = b.constant([1, 1, 2, 2], 'float32', [4], 'scales');
    b.output(b.op('Resize', [b.op('Add', [x, b.constant(0.5, 'float32')]), scales], { mode: 'nearest' }), 'float32', [1, 1, 4, 4]);
    const model = b.build();
    const copy = model.clone();
    await convertToFp16(copy, { keepIoTypes: true });
    assertValid(copy);
    expect(elemType(copy, 'scales')).toBe(F32);
    await expectSameOutputs(model, copy, { x: f32([1, 1, 2, 2], [1, 2, 3, 4]) });
  });

  it('keeps com.microsoft GroupNorm gamma and beta float32 (onnxruntime #14827, onnxconverter-common #207, #306)', async () => {
    const b = new ModelBuilder({ opset: 17, opsets: { 'com.microsoft': 1 } });
    const x = b.input('x', 'float32', [1, 4, 4, 8]);
    const gamma = b.constant(new Array(8).fill(1), 'float32', [8], 'gamma');
    const beta = b.constant(new Array(8).fill(0), 'float32', [8], 'beta');
    const y = b.op('GroupNorm', [x, gamma, beta], { activation: 0, groups: 2, epsilon: attr.float('epsilon', 1e-5), channels_last: 1 }, { domain: 'com.microsoft' });
    b.output(y, 'float32', [1, 4, 4, 8]);
    const model = b.build();
    const report = await convertToFp16(model, { keepIoTypes: true });
    assertValid(model);
    expect(report.decisions.find((d) => d.opType === 'GroupNorm')?.action).toBe('converted');
    expect(elemType(model, 'gamma')).toBe(F32);
    expect(elemType(model, 'beta')).toBe(F32);
  });

  it('converts ONNX GroupNormalization (scale and bias share its type) into a model that loads', async () => {
    const b = new ModelBuilder({ opset: 18 });
    const x = b.input('x', 'float32', [1, 4, 2, 2]);
    const y = b.op('GroupNormalization', [x, b.constant([1.5, 0.5], 'float32', [2], 's'), b.constant([0.25, -0.25], 'float32', [2], 'bias')], { num_groups: 2 });
    b.output(b.op('Mul', [y, b.constant(2, 'float32')]), 'float32', [1, 4, 2, 2]);
    const model = b.build();
    const copy = model.clone();
    await convertToFp16(copy, { keepIoTypes: true });
    assertValid(copy);
    expect(elemType(copy, 's')).toBe(F16);
    await expectSameOutputs(model, copy, { x: f32([1, 4, 2, 2], seeded(16, 2)) });
  });

  it('leaves every graph topologically sorted after inserting Casts (onnxconverter-common #240, #256, #261)', async () => {
    // Inputs read late and outputs computed early: Casts appended naively would come after their readers.
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', 'float32', [4]);
    const y = b.input('y', 'float32', [4]);
    const a = b.op('Mul', [x, x]);
    const blocked = b.op('Softplus', [a], {}, { name: 'blocked' });
    const c = b.op('Add', [blocked, y]);
    b.output(a, 'float32', [4]);
    b.output(c, 'float32', [4]);
    const model = b.build();
    const copy = model.clone();
    const report = await convertToFp16(copy, { keepIoTypes: true, blockNodes: ['blocked'] });
    expect(report.castsAdded).toBeGreaterThanOrEqual(4);
    expect(isTopologicallySorted(copy)).toBe(true);
    assertValid(copy);
    await expectSameOutputs(model, copy, { x: f32([4], [1, 2, 3, 4]), y: f32([4], [0.5, 0.5, 1, 1]) });
  });

  it('retargets an existing Cast(to=FLOAT) and its declared type (onnxconverter-common #320)', async () => {
    const b = new ModelBuilder({ opset: 17 });
    const ids = b.input('ids', 'int64', [3]);
    const asFloat = b.op('Cast', [ids], { to: DataType.FLOAT }, { outputs: ['as_float'] });
    b.valueInfo(asFloat, 'float32', [3]);
    const y = b.op('Mul', [asFloat, b.constant([0.5, 0.25, 2], 'float32', [3])]);
    b.output(b.op('Add', [y, b.constant(1, 'float32')]), 'float32', [3]);
    const model = b.build();
    const copy = model.clone();
    await convertToFp16(copy, { keepIoTypes: true });
    assertValid(copy);
    const cast = nodesOf(copy, 'Cast').find(({ node }) => node.output[0] === 'as_float');
    expect(cast).toBeDefined();
    expect(toNumber(getAttribute(cast!.node, 'to')!.i)).toBe(F16);
    expect(copy.graph.valueInfo('as_float')?.type?.tensorType?.elemType).toBe(F16);
    const feeds = { ids: { type: 'int64' as const, dims: [3], data: BigInt64Array.of(2n, 4n, 6n) } };
    for (const { runner } of BACKENDS) {
      const a = await runOnce(runner, model, feeds);
      const out = await runOnce(runner, copy, feeds);
      expect(runnerValues(Object.values(out)[0]!)).toEqual(runnerValues(Object.values(a)[0]!));
    }
  });

  it('updates the dtype attributes of RandomNormal(Like), RandomUniform(Like), EyeLike and Bernoulli, and not Multinomial (onnxruntime #20570)', async () => {
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', 'float32', [2, 3]);
    const seed = attr.float('seed', 3);
    const ops = [
      b.op('RandomNormal', [], { shape: [2, 3], seed }, { name: 'rn' }),
      b.op('RandomUniform', [], { shape: [2, 3], seed, dtype: DataType.FLOAT }, { name: 'ru' }),
      b.op('RandomNormalLike', [x], { seed }, { name: 'rnl' }),
      b.op('RandomUniformLike', [x], { seed, dtype: DataType.FLOAT }, { name: 'rul' }),
      b.op('EyeLike', [x], { dtype: DataType.FLOAT }, { name: 'eye' }),
      b.op('Bernoulli', [b.op('Sigmoid', [x])], { seed, dtype: DataType.FLOAT }, { name: 'bern' }),
    ];
    let sum = x;
    for (const o of ops) sum = b.op('Add', [sum, o]);
    b.output(sum, 'float32', [2, 3]);
    const counts = b.op('Multinomial', [b.op('Softmax', [x])], { sample_size: 4, seed, dtype: DataType.INT64 }, { name: 'multi' });
    b.output(counts, 'int64', [2, 4]);
    const model = b.build();
    await convertToFp16(model, { keepIoTypes: true, target: 'any' });
    assertValid(model);
    for (const { node } of [...model.allNodes()].filter(({ node }) => ['rn', 'ru', 'rnl', 'rul', 'eye', 'bern'].includes(node.name))) {
      expect(toNumber(getAttribute(node, 'dtype')!.i), node.name).toBe(F16);
    }
    const multi = nodesOf(model, 'Multinomial')[0]!.node;
    expect(toNumber(getAttribute(multi, 'dtype')!.i)).toBe(DataType.INT64);
  });

  it('keeps random generators float32 on cpu, where onnxruntime has no float16 kernel for them, and the model runs', async () => {
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', 'float32', [2, 3]);
    const noise = b.op('RandomNormalLike', [x], { seed: attr.float('seed', 3) });
    const silenced = b.op('Mul', [noise, b.constant(0, 'float32')]);
    b.output(b.op('Add', [b.op('Mul', [x, b.constant(2, 'float32')]), silenced]), 'float32', [2, 3]);
    const model = b.build();
    const copy = model.clone();
    const report = await convertToFp16(copy, { target: 'cpu' });
    assertValid(copy);
    expect(report.decisions.find((d) => d.opType === 'RandomNormalLike')?.action).toBe('kept');
    // Every node reading x computes in float32 on cpu, so x keeps float32 (no lossy boundary Cast).
    expect(copy.graph.inputs[0]!.type!.tensorType!.elemType).toBe(F32);
    const out = await runOnce(nodeRunner, copy, { x: f32([2, 3], [1, 2, 0, -1, 0.5, 3]) });
    expect(runnerValues(Object.values(out)[0]!)).toEqual([2, 4, 0, -2, 1, 6]);
  });

  it('keeps sequence ops (SequenceEmpty dtype float) float32 with Casts at their tensor inputs', async () => {
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', 'float32', [2]);
    const y = b.op('Mul', [x, b.constant([3, 4], 'float32', [2])]);
    const seq = b.op('SequenceInsert', [b.op('SequenceEmpty', [], { dtype: DataType.FLOAT }), y]);
    b.output(b.op('ConcatFromSequence', [seq], { axis: 0 }), 'float32', [2]);
    const model = b.build();
    const copy = model.clone();
    await convertToFp16(copy, { keepIoTypes: true });
    assertValid(copy);
    await expectSameOutputs(model, copy, { x: f32([2], [1.5, -2]) });
  });

  it('never routes float32 values through a lossy float16 round trip between float32 nodes (onnxconverter-common #271, onnxruntime #19437, #19689)', async () => {
    // The model of onnxruntime #19689: 112 * 1000 overflows float16 if anything in between is float16.
    const b = new ModelBuilder({ opset: 13 });
    const x = b.input('x', 'float32', [1, 1, 6, 1]);
    const wm = b.constant([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], 'float32', [2, 6]);
    const a = b.op('Transpose', [x], { perm: [0, 1, 3, 2] });
    const c = b.op('Transpose', [wm], { perm: [1, 0] });
    const m = b.op('MatMul', [a, c]);
    const large = b.op('Mul', [b.op('Mul', [m, b.constant(100, 'float32')]), b.constant(10, 'float32')]);
    const r1 = b.op('Reshape', [large, b.constant([2], 'int64', [1])]);
    const r2 = b.op('Reshape', [r1, b.constant([2], 'int64', [1])]);
    b.output(b.op('Div', [r2, b.constant(999, 'float32')]), 'float32', [2]);
    const model = b.build();
    const copy = model.clone();
    // As in that issue: every op is blocked but Reshape.
    const report = await convertToFp16(copy, { keepIoTypes: true, blockOps: ['Transpose', 'MatMul', 'Mul', 'Div'] });
    assertValid(copy);
    expect(report.castsAdded).toBe(0);
    expect(nodesOf(copy, 'Cast')).toHaveLength(0);
    const feeds = { x: f32([1, 1, 6, 1], [1, 1, 1, 1, 1, 1]) };
    const a32 = runnerValues(Object.values(await runOnce(nodeRunner, model, feeds))[0]!) as number[];
    const a16 = runnerValues(Object.values(await runOnce(nodeRunner, copy, feeds))[0]!) as number[];
    expect(a16).toEqual(a32);
    expect(a16[0]).toBeCloseTo(21000 / 999 * 1, 3);
  });

  it('puts the Casts of subgraph nodes inside the subgraph, not in the main graph', async () => {
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', 'float32', [3]);
    const cond = b.input('cond', 'bool', []);
    const h = b.op('Mul', [x, b.constant([1, 2, 3], 'float32', [3])]);
    const thenG = b.subgraph('then', (g) => g.output(g.op('Softplus', [h], {}, { name: 'blocked_in_branch' }), 'float32', [3]));
    const elseG = b.subgraph('else', (g) => g.output(g.op('Neg', [h]), 'float32', [3]));
    const y = b.op('If', [cond], { then_branch: thenG, else_branch: elseG });
    b.output(b.op('Add', [y, h]), 'float32', [3]);
    const model = b.build();
    const copy = model.clone();
    await convertToFp16(copy, { keepIoTypes: true, blockNodes: ['blocked_in_branch'] });
    assertValid(copy);
    const thenCasts = nodesOf(copy, 'Cast').filter(({ graph }) => graph.includes('then'));
    expect(thenCasts.length).toBeGreaterThanOrEqual(1);
    // The main graph's Casts read main-graph values only (x, the If output, the output).
    for (const { node } of nodesOf(copy, 'Cast').filter(({ graph }) => graph === 'main')) {
      expect(copy.graph.definesLocally(node.input[0]!)).toBe(true);
    }
    for (const c of [true, false]) {
      await expectSameOutputs(model, copy, { x: f32([3], [0.5, -1, 2]), cond: { type: 'bool', dims: [], data: Uint8Array.of(c ? 1 : 0) } as never });
    }
  });

  it('clamps constants to the real float16 limits by default (65504 and 2^-24, not 1e4), keeping sign, zero, NaN and Inf', async () => {
    const values = [1e5, -1e5, 70000, 65504, 1e-9, -1e-9, 0, -0, NaN, Infinity, -Infinity, 1, 12345];
    const build = () => {
      const b = new ModelBuilder({ opset: 17 });
      const x = b.input('x', 'float32', [values.length]);
      b.output(b.op('Add', [x, b.initializer('c', Float32Array.from(values), [values.length])]), 'float32', [values.length]);
      return b.build();
    };
    const half = (m: Model) => Array.from(tensorToArray(m.graph.initializer('c')!) as Uint16Array);
    const clamped = build();
    const report = await convertToFp16(clamped);
    const bits = half(clamped);
    expect(bits.map(float16BitsToFloat32)).toEqual([65504, -65504, 65504, 65504, 2 ** -24, -(2 ** -24), 0, -0, NaN, Infinity, -Infinity, 1, 12344]);
    expect(bits[7]).toBe(0x8000);
    expect(report.valuesClampedHigh).toBe(3);
    expect(report.valuesClampedLow).toBe(2);
    const raw = build();
    await convertToFp16(raw, { clamp: false });
    expect(half(raw).map(float16BitsToFloat32).slice(0, 6)).toEqual([Infinity, -Infinity, Infinity, 65504, 0, -0]);
    const custom = build();
    await convertToFp16(custom, { maxFinite: 1e4, minPositive: 1e-4 });
    expect(half(custom).map(float16BitsToFloat32).slice(0, 6).map((v) => Math.round(v * 1e4) / 1e4)).toEqual([10000, -10000, 10000, 10000, 0.0001, -0.0001]);
  });

  describe('target cpu: ops without a float16 kernel stay float32 (onnxruntime #25824, #10919)', () => {
    const build = () => {
      const b = new ModelBuilder({ opset: 17 });
      const x = b.input('x', 'float32', [1, 4, 3, 3]);
      const sp = b.op('Softplus', [x]);
      const pooled = b.op('GlobalAveragePool', [sp]);
      const flat = b.op('Reshape', [pooled, b.constant([1, 4], 'int64', [2])]);
      const ln = b.op('LayerNormalization', [flat, b.constant([1, 1, 1, 1], 'float32', [4]), b.constant([0, 0, 0, 0], 'float32', [4])], { axis: -1 });
      b.output(b.op('Relu', [ln]), 'float32', [1, 4]);
      return b.build();
    };
    const insertedCasts = async (model: Model) => {
      const dir = mkdtempSync(join(tmpdir(), 'fp16-cpu-'));
      const path = join(dir, 'optimized.onnx');
      try {
        const s = await ort.InferenceSession.create(model.encode(), { optimizedModelFilePath: path, logSeverityLevel: 4 });
        await s.release();
        expect(existsSync(path)).toBe(true);
        return readFileSync(path).toString('latin1').split('InsertedPrecisionFreeCast').length - 1;
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    };

    it('target any: onnxruntime wraps the float16 nodes it cannot run in Casts of its own', async () => {
      const model = build();
      await convertToFp16(model, { target: 'any' });
      expect(await insertedCasts(model)).toBeGreaterThan(0);
    });

    it('target cpu: the model runs with no Cast inserted by onnxruntime, and matches float32', async () => {
      const original = build();
      const model = build();
      const report = await convertToFp16(model, { target: 'cpu' });
      assertValid(model);
      for (const op of ['Softplus', 'GlobalAveragePool', 'Relu']) {
        const d = report.decisions.find((x) => x.opType === op);
        expect(d?.action, op).toBe('kept');
        expect(d?.reason, op).toMatch(/no float16 kernel on cpu/);
      }
      expect(await insertedCasts(model)).toBe(0);
      const xs = seeded(36, 5);
      const a = await runOnce(nodeRunner, original, { x: f32([1, 4, 3, 3], xs) });
      // Softplus reads x and Relu makes the output, both float32 on cpu: the input and output keep
      // float32 even without keepIoTypes (a float16 boundary would only round them).
      expect(model.graph.inputs[0]!.type!.tensorType!.elemType).toBe(F32);
      expect(model.graph.outputs[0]!.type!.tensorType!.elemType).toBe(F32);
      const h = await runOnce(nodeRunner, model, { x: f32([1, 4, 3, 3], xs) });
      expect(cosine(Object.values(h)[0]!, Object.values(a)[0]!)).toBeGreaterThan(0.999);
    });
  });
});
