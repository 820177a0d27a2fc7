import {
  definePass, runPass,
  DataType, ForgeErrorCode, Model, ModelBuilder, PassManager, attr, createNode, getOpSchema, isDefaultDomain, onnx, scalarTensor, tensorType,
  type FunctionProto,
} from '@onnx-forge/core';
import { describe, expect, it } from 'vitest';
import { createBuiltinRegistry } from '../builtin-passes.js';
import type { RunnerFeeds, RunnerTensor } from '@onnx-forge/core';
import { mismatch } from '../testing/compare.js';
import { BACKENDS, assertValid, f32, nodeRunner, nodesOf, runOnce, seeded } from '../testing/harness.js';
import { upgradeOpset } from './upgrade-opset.js';

/*
 * Each adapter on a small builder-made model: the model at the old opset and the upgraded one run in
 * onnxruntime-node on the same seeded inputs and must agree (where onnxruntime has no kernel for the
 * old opset, against the arithmetic written out here). Every upgraded model passes the checker and
 * has an ai.onnx schema at the target for every node.
 */

const i64 = (dims: number[], values: number[]): RunnerTensor => ({ type: 'int64', dims, data: BigInt64Array.from(values, (v) => BigInt(v)) });
const values = (t: RunnerTensor | undefined): number[] => Array.from(t?.data as ArrayLike<number | bigint>, (v) => Number(v));

function withoutSchemaAt(model: Model, version: number): string[] {
  return [...model.allNodes()].filter(({ node }) => isDefaultDomain(node.domain) && !getOpSchema(node.opType, '', version)).map(({ node }) => node.opType);
}

function expectClose(got: RunnerFeeds, want: RunnerFeeds, tol: number): void {
  for (const [k, w] of Object.entries(want)) {
    const g = got[k];
    expect(g, `output ${k}`).toBeDefined();
    expect(mismatch(g as RunnerTensor, w, tol, tol), `output ${k}`).toBeUndefined();
  }
}

interface AdapterCase {
  name: string;
  from: number;
  to: number;
  build(b: ModelBuilder): void;
  feeds: RunnerFeeds;
  /** Rewrites that must have been applied (`Op-version`); empty when the node needs none. */
  changes: string[];
  /** The outputs, written out, where onnxruntime has no kernel for the old opset. */
  expected?: (feeds: RunnerFeeds) => RunnerFeeds;
  /** A model at a newer opset that computes the same thing, where onnxruntime cannot run the old one. */
  reference?: () => Model;
  tol?: number;
}

async function checkCase(c: AdapterCase): Promise<Model> {
  const b = new ModelBuilder({ opset: c.from });
  c.build(b);
  const model = b.build();
  const want = c.expected ? c.expected(c.feeds) : await runOnce(nodeRunner, c.reference ? c.reference() : model, c.feeds);
  const r = upgradeOpset(model, c.to);
  expect(r.status).toBe('upgraded');
  expect(Object.keys(r.changes).sort()).toEqual([...c.changes].sort());
  expect(r.decisions.length).toBe(Object.values(r.changes).reduce((a, n) => a + n, 0));
  expect(model.opset('')).toBe(c.to);
  assertValid(model);
  expect(withoutSchemaAt(model, c.to)).toEqual([]);
  const got = await runOnce(nodeRunner, model, c.feeds);
  expectClose(got, want, c.tol ?? 1e-6);
  return model;
}

const x23 = f32([2, 3], seeded(6, 1));
const x234 = f32([2, 3, 4], seeded(24, 2));
const img = (c: number, h: number, w: number, seed = 3) => f32([1, c, h, w], seeded(c * h * w, seed));

/** Elementwise map of a float32 runner tensor. */
const map = (t: RunnerTensor, f: (v: number, i: number) => number): RunnerTensor => f32([...t.dims], values(t).map(f));

const CASES: AdapterCase[] = [
  // ---- opsets 1–9 (onnxruntime has no kernels below opset 6–7 for most of these: outputs written out) ----
  {
    name: 'Relu-1 consumed_inputs dropped', from: 1, to: 13, changes: ['Relu-6'], feeds: { x: x23 },
    build: (b) => b.output(b.op('Relu', [b.input('x', 'float32', [2, 3])], { consumed_inputs: [0] }), 'float32', [2, 3]),
    expected: (f) => ({ [`Relu_0_out0`]: map(f.x as RunnerTensor, (v) => Math.max(v, 0)) }),
  },
  {
    name: 'Add-6 broadcast=1 axis=1, constant B reshaped', from: 6, to: 13, changes: ['Add-7'], feeds: { x: x234 },
    build: (b) => b.output(b.op('Add', [b.input('x', 'float32', [2, 3, 4]), b.constant([10, 20, 30], 'float32', [3])], { broadcast: 1, axis: 1 }, { outputs: ['y'] }), 'float32', [2, 3, 4]),
    expected: (f) => ({ y: map(f.x as RunnerTensor, (v, i) => v + [10, 20, 30][Math.floor(i / 4) % 3]!) }),
  },
  {
    name: 'Mul-6 broadcast=1 axis=1, B an input (Unsqueeze)', from: 6, to: 13, changes: ['Mul-7', 'Unsqueeze-13'], feeds: { x: x234, s: f32([3], [2, -1, 0.5]) },
    build: (b) => b.output(b.op('Mul', [b.input('x', 'float32', [2, 3, 4]), b.input('s', 'float32', [3])], { broadcast: 1, axis: 1 }, { outputs: ['y'] }), 'float32', [2, 3, 4]),
    expected: (f) => ({ y: map(f.x as RunnerTensor, (v, i) => v * [2, -1, 0.5][Math.floor(i / 4) % 3]!) }),
  },
  {
    name: 'Sub-1 suffix broadcast and consumed_inputs', from: 1, to: 9, changes: ['Sub-6', 'Sub-7'], feeds: { x: x23 },
    build: (b) => b.output(b.op('Sub', [b.input('x', 'float32', [2, 3]), b.constant([1, 2, 3], 'float32', [3])], { broadcast: 1, consumed_inputs: [0, 0] }, { outputs: ['y'] }), 'float32', [2, 3]),
    expected: (f) => ({ y: map(f.x as RunnerTensor, (v, i) => v - (1 + (i % 3))) }),
  },
  {
    name: 'Gemm-6 broadcast dropped', from: 6, to: 11, changes: ['Gemm-7'], feeds: { a: x23 },
    build: (b) => b.output(b.op('Gemm', [b.input('a', 'float32', [2, 3]), b.constant([1, 2, 3, 4, 5, 6], 'float32', [3, 2]), b.constant([0.5, -0.5], 'float32', [2])], { broadcast: 1 }, { outputs: ['y'] }), 'float32', [2, 2]),
    expected: (f) => {
      const a = values(f.a);
      const w = [1, 2, 3, 4, 5, 6];
      const y = [0, 1].flatMap((r) => [0, 1].map((cc) => [0, 1, 2].reduce((s, k) => s + (a[r * 3 + k] as number) * (w[k * 2 + cc] as number), 0) + [0.5, -0.5][cc]!));
      return { y: f32([2, 2], y) };
    },
  },
  {
    name: 'Cast-1 type name → number', from: 1, to: 13, changes: ['Cast-6'], feeds: { x: f32([4], [1.5, -2.7, 3.9, -0.2]) },
    build: (b) => b.output(b.op('Cast', [b.input('x', 'float32', [4])], { to: attr.string('to', 'INT32') }, { outputs: ['y'] }), 'int32', [4]),
    expected: () => ({ y: { type: 'int32', dims: [4], data: Int32Array.of(1, -2, 3, 0) } }),
  },
  {
    name: 'Concat-1 default axis written out', from: 1, to: 13, changes: ['Concat-4'], feeds: { x: x23 },
    build: (b) => b.output(b.op('Concat', [b.input('x', 'float32', [2, 3]), b.constant([7, 8, 9, 10, 11, 12], 'float32', [2, 3])], {}, { outputs: ['y'] }), 'float32', [2, 6]),
    expected: (f) => {
      const x = values(f.x);
      return { y: f32([2, 6], [...x.slice(0, 3), 7, 8, 9, ...x.slice(3), 10, 11, 12]) };
    },
  },
  {
    name: 'Reshape-1 shape attribute → input', from: 1, to: 13, changes: ['Reshape-5'], feeds: { x: x23 },
    build: (b) => b.output(b.op('Reshape', [b.input('x', 'float32', [2, 3])], { shape: [3, 2] }, { outputs: ['y'] }), 'float32', [3, 2]),
  },
  {
    name: 'Split-1 split input → attribute → input', from: 1, to: 13, changes: ['Split-2', 'Split-13'], feeds: { x: x23 },
    build: (b) => {
      const [p, q] = b.opN('Split', [b.input('x', 'float32', [2, 3]), b.constant([1, 2], 'float32', [2])], { axis: 1 }, { outputs: ['p', 'q'] });
      b.output(p as string, 'float32', [2, 1]);
      b.output(q as string, 'float32', [2, 2]);
    },
    expected: (f) => {
      const x = values(f.x);
      return { p: f32([2, 1], [x[0] as number, x[3] as number]), q: f32([2, 2], [x[1] as number, x[2] as number, x[4] as number, x[5] as number]) };
    },
  },
  {
    name: 'Pad-1 paddings → pads → inputs', from: 1, to: 11, changes: ['Pad-2', 'Pad-11'], feeds: { x: x23 },
    build: (b) => b.output(b.op('Pad', [b.input('x', 'float32', [2, 3])], { paddings: [0, 1, 0, 2], value: attr.float('value', 0.5) }, { outputs: ['y'] }), 'float32', [2, 6]),
    expected: (f) => {
      const x = values(f.x);
      return { y: f32([2, 6], [0.5, ...x.slice(0, 3), 0.5, 0.5, 0.5, ...x.slice(3), 0.5, 0.5]) };
    },
  },
  {
    name: 'Tile-1 tiles and axis → repeats', from: 1, to: 13, changes: ['Tile-6'], feeds: { x: x23 },
    build: (b) => b.output(b.op('Tile', [b.input('x', 'float32', [2, 3]), b.constant([2], 'float32', [1]), b.constant([1], 'float32', [1])], {}, { outputs: ['y'] }), 'float32', [2, 6]),
    expected: (f) => {
      const x = values(f.x);
      return { y: f32([2, 6], [...x.slice(0, 3), ...x.slice(0, 3), ...x.slice(3), ...x.slice(3)]) };
    },
  },
  {
    name: 'BatchNormalization-5 consumed_inputs and is_test=1 dropped', from: 5, to: 13, changes: ['BatchNormalization-6', 'BatchNormalization-7'],
    feeds: { x: img(2, 2, 2) },
    build: (b) => {
      const p = (v: number[]) => b.constant(v, 'float32', [2]);
      b.output(b.op('BatchNormalization', [b.input('x', 'float32', [1, 2, 2, 2]), p([2, 0.5]), p([0.1, -0.1]), p([0.3, -0.2]), p([1.5, 0.25])],
        { is_test: 1, consumed_inputs: [0, 0, 0, 1, 1], epsilon: attr.float('epsilon', 1e-5) }, { outputs: ['y'] }), 'float32', [1, 2, 2, 2]);
    },
    expected: (f) => ({
      y: map(f.x as RunnerTensor, (v, i) => {
        const ch = Math.floor(i / 4);
        return (v - [0.3, -0.2][ch]!) / Math.sqrt([1.5, 0.25][ch]! + 1e-5) * [2, 0.5][ch]! + [0.1, -0.1][ch]!;
      }),
    }),
    tol: 1e-5,
  },
  {
    name: 'Dropout-6 is_test=1 dropped', from: 6, to: 13, changes: ['Dropout-7'], feeds: { x: x23 },
    build: (b) => b.output(b.op('Dropout', [b.input('x', 'float32', [2, 3])], { is_test: 1 }, { outputs: ['y'] }), 'float32', [2, 3]),
    expected: (f) => ({ y: f.x as RunnerTensor }),
  },
  {
    name: 'GlobalLpPool-1 float p → integer', from: 1, to: 13, changes: ['GlobalLpPool-2'], feeds: { x: img(2, 2, 2) },
    build: (b) => b.output(b.op('GlobalLpPool', [b.input('x', 'float32', [1, 2, 2, 2])], { p: attr.float('p', 2) }, { outputs: ['y'] }), 'float32', [1, 2, 1, 1]),
    expected: (f) => {
      const x = values(f.x);
      return { y: f32([1, 2, 1, 1], [0, 1].map((ch) => Math.hypot(...x.slice(ch * 4, ch * 4 + 4)))) };
    },
    tol: 1e-5,
  },
  {
    name: 'experimental Upsample-1 → scales → Resize', from: 6, to: 11, changes: ['Upsample-7', 'Upsample-9', 'Upsample-10', 'Resize-11'], feeds: { x: img(1, 2, 2) },
    build: (b) => b.output(b.op('Upsample', [b.input('x', 'float32', [1, 1, 2, 2])], { height_scale: attr.float('height_scale', 2), width_scale: attr.float('width_scale', 2) }, { outputs: ['y'] }), 'float32', [1, 1, 4, 4]),
    expected: (f) => {
      const x = values(f.x);
      return { y: f32([1, 1, 4, 4], Array.from({ length: 16 }, (_, i) => x[Math.floor(Math.floor(i / 4) / 2) * 2 + Math.floor((i % 4) / 2)] as number)) };
    },
  },
  {
    name: 'PRelu-6 scalar slope', from: 6, to: 9, changes: [], feeds: { x: x23 },
    build: (b) => b.output(b.op('PRelu', [b.input('x', 'float32', [2, 3]), b.constant([0.25], 'float32', [1])], {}, { outputs: ['y'] }), 'float32', [2, 3]),
    expected: (f) => ({ y: map(f.x as RunnerTensor, (v) => (v < 0 ? 0.25 * v : v)) }),
  },
  {
    name: 'RNN-1 output_sequence dropped', from: 1, to: 14, changes: ['RNN-7'], feeds: { x: f32([3, 1, 2], seeded(6, 4)) },
    build: (b) => rnn(b, true),
    reference: () => {
      const r = new ModelBuilder({ opset: 7 });
      rnn(r, false);
      return r.build();
    },
    tol: 1e-6,
  },

  // ---- opsets 7–21 (the old model runs in onnxruntime) ----
  {
    name: 'Slice-1 attributes → inputs', from: 1, to: 13, changes: ['Slice-10'], feeds: { x: f32([3, 4], seeded(12, 5)) },
    build: (b) => b.output(b.op('Slice', [b.input('x', 'float32', [3, 4])], { starts: [0, 1], ends: [2, -1], axes: [0, 1] }, { outputs: ['y'] }), 'float32', [2, 2]),
  },
  {
    name: 'TopK-1 k → K input', from: 1, to: 13, changes: ['TopK-10'], feeds: { x: f32([2, 5], seeded(10, 6)) },
    build: (b) => {
      const [v, i] = b.opN('TopK', [b.input('x', 'float32', [2, 5])], { k: 3 }, { outputs: ['values', 'indices'] });
      b.output(v as string, 'float32', [2, 3]);
      b.output(i as string, 'int64', [2, 3]);
    },
  },
  {
    name: 'Clip-6 min and max → inputs', from: 6, to: 13, changes: ['Clip-11'], feeds: { x: x23 },
    build: (b) => b.output(b.op('Clip', [b.input('x', 'float32', [2, 3])], { min: attr.float('min', -0.5), max: attr.float('max', 0.5) }, { outputs: ['y'] }), 'float32', [2, 3]),
  },
  {
    name: 'Clip-6 min only', from: 6, to: 11, changes: ['Clip-11'], feeds: { x: x23 },
    build: (b) => b.output(b.op('Clip', [b.input('x', 'float32', [2, 3])], { min: attr.float('min', 0) }, { outputs: ['y'] }), 'float32', [2, 3]),
  },
  {
    name: 'Clip-6 max only (empty min input)', from: 6, to: 12, changes: ['Clip-11'], feeds: { x: x23 },
    build: (b) => b.output(b.op('Clip', [b.input('x', 'float32', [2, 3])], { max: attr.float('max', 0.25) }, { outputs: ['y'] }), 'float32', [2, 3]),
  },
  {
    name: 'Softmax-1 default axis on a declared rank-3 shape (Flatten/Reshape)', from: 1, to: 13, changes: ['Softmax-13'], feeds: { x: x234 },
    build: (b) => b.output(b.op('Softmax', [b.input('x', 'float32', [2, 3, 4])], {}, { outputs: ['y'] }), 'float32', [2, 3, 4]),
  },
  {
    name: 'LogSoftmax-11 axis=0 on a symbolic shape (Shape-based Reshape)', from: 11, to: 13, changes: ['LogSoftmax-13'], feeds: { x: x234 },
    build: (b) => b.output(b.op('LogSoftmax', [b.input('x', 'float32', ['n', 3, 4])], { axis: 0 }, { outputs: ['y'] }), 'float32', ['n', 3, 4]),
  },
  {
    name: 'Hardmax-9 default axis, shape unknown', from: 9, to: 17, changes: ['Hardmax-13'], feeds: { x: x234 },
    build: (b) => b.output(b.op('Hardmax', [b.input('x', 'float32', null)], {}, { outputs: ['y'] }), 'float32', null),
  },
  {
    name: 'Softmax-11 on the last axis: attribute only', from: 11, to: 13, changes: ['Softmax-13'], feeds: { x: x23 },
    build: (b) => b.output(b.op('Softmax', [b.input('x', 'float32', [2, 3])], {}, { outputs: ['y'] }), 'float32', [2, 3]),
  },
  {
    name: 'Softmax-11 with only unit axes after axis 1: nothing to rewrite', from: 11, to: 13, changes: [], feeds: { x: f32([2, 3, 1], seeded(6, 7)) },
    build: (b) => b.output(b.op('Softmax', [b.input('x', 'float32', [2, 3, 1])], { axis: 1 }, { outputs: ['y'] }), 'float32', [2, 3, 1]),
  },
  {
    name: 'Softmax-11 axis=-1 already: nothing to rewrite', from: 11, to: 13, changes: [], feeds: { x: x23 },
    build: (b) => b.output(b.op('Softmax', [b.input('x', 'float32', [2, 3])], { axis: 1 }, { outputs: ['y'] }), 'float32', [2, 3]),
  },
  {
    name: 'Dropout-7 mask read: bool mask cast back', from: 7, to: 13, changes: ['Dropout-10', 'Dropout-12'], feeds: { x: x23 },
    build: (b) => {
      const [y, m] = b.opN('Dropout', [b.input('x', 'float32', [2, 3])], { ratio: attr.float('ratio', 0.3) }, { outputs: ['y', 'mask'] });
      b.output(y as string, 'float32', [2, 3]);
      b.output(b.op('Add', [m as string, b.constant(1, 'float32')], {}, { outputs: ['mask_plus_one'] }), 'float32', [2, 3]);
    },
    // The data passes through unchanged; the inference mask, unspecified before opset 12 (onnxruntime:
    // false), is all true from 12, as the Dropout-12 decision says.
    expected: (f) => ({ y: f.x as RunnerTensor, mask_plus_one: f32([2, 3], [2, 2, 2, 2, 2, 2]) }),
  },
  {
    name: 'Dropout-10 ratio → input', from: 10, to: 13, changes: ['Dropout-12'], feeds: { x: x23 },
    build: (b) => b.output(b.op('Dropout', [b.input('x', 'float32', [2, 3])], { ratio: attr.float('ratio', 0.3) }, { outputs: ['y'] }), 'float32', [2, 3]),
  },
  {
    name: 'Split-11 split attribute → input', from: 11, to: 13, changes: ['Split-13'], feeds: { x: f32([2, 5], seeded(10, 8)) },
    build: (b) => {
      const [p, q] = b.opN('Split', [b.input('x', 'float32', [2, 5])], { axis: 1, split: [2, 3] }, { outputs: ['p', 'q'] });
      b.output(p as string, 'float32', [2, 2]);
      b.output(q as string, 'float32', [2, 3]);
    },
  },
  {
    name: 'Split-11 even split → num_outputs at 18', from: 11, to: 18, changes: ['Split-18'], feeds: { x: f32([2, 4], seeded(8, 9)) },
    build: (b) => {
      const [p, q] = b.opN('Split', [b.input('x', 'float32', [2, 4])], { axis: 1 }, { outputs: ['p', 'q'] });
      b.output(p as string, 'float32', [2, 2]);
      b.output(q as string, 'float32', [2, 2]);
    },
  },
  {
    name: 'Squeeze-11 and Unsqueeze-11 axes → inputs', from: 11, to: 13, changes: ['Squeeze-13', 'Unsqueeze-13'], feeds: { x: f32([2, 1, 3], seeded(6, 10)) },
    build: (b) => {
      const s = b.op('Squeeze', [b.input('x', 'float32', [2, 1, 3])], { axes: [1] });
      b.output(b.op('Unsqueeze', [s], { axes: [0, 3] }, { outputs: ['y'] }), 'float32', [1, 2, 3, 1]);
    },
  },
  {
    name: 'ReduceSum-11 axes → input; no axes needs nothing', from: 11, to: 13, changes: ['ReduceSum-13'], feeds: { x: x234 },
    build: (b) => {
      const x = b.input('x', 'float32', [2, 3, 4]);
      b.output(b.op('ReduceSum', [x], { axes: [1], keepdims: 0 }, { outputs: ['y'] }), 'float32', [2, 4]);
      b.output(b.op('ReduceSum', [x], {}, { outputs: ['all'] }), 'float32', [1, 1, 1]);
    },
    tol: 1e-5,
  },
  {
    name: 'ReduceMean-13 and ReduceMax-13 axes → input at 18', from: 13, to: 18, changes: ['ReduceMean-18'], feeds: { x: x234 },
    build: (b) => {
      const x = b.input('x', 'float32', [2, 3, 4]);
      b.output(b.op('ReduceMean', [x], { axes: [0, 2] }, { outputs: ['y'] }), 'float32', [1, 3, 1]);
      b.output(b.op('ReduceMax', [x], { keepdims: 0 }, { outputs: ['m'] }), 'float32', []);
    },
    tol: 1e-6,
  },
  {
    name: 'Pad-2 pads and value → inputs', from: 2, to: 11, changes: ['Pad-11'], feeds: { x: x23 },
    build: (b) => b.output(b.op('Pad', [b.input('x', 'float32', [2, 3])], { pads: [1, 0, 0, 2], value: attr.float('value', 1.5) }, { outputs: ['y'] }), 'float32', [3, 5]),
  },
  {
    name: 'Pad-2 reflect, no value', from: 2, to: 13, changes: ['Pad-11'], feeds: { x: f32([3, 4], seeded(12, 11)) },
    build: (b) => b.output(b.op('Pad', [b.input('x', 'float32', [3, 4])], { pads: [1, 2, 1, 1], mode: 'reflect' }, { outputs: ['y'] }), 'float32', [5, 7]),
  },
  {
    name: 'Upsample-7 nearest, integer scales → Resize', from: 7, to: 13, changes: ['Upsample-9', 'Upsample-10', 'Resize-11'], feeds: { x: img(1, 2, 2) },
    build: (b) => b.output(b.op('Upsample', [b.input('x', 'float32', [1, 1, 2, 2])], { scales: attr.floats('scales', [1, 1, 2, 3]) }, { outputs: ['y'] }), 'float32', [1, 1, 4, 6]),
  },
  {
    name: 'Upsample-7 nearest, fractional scales', from: 7, to: 11, changes: ['Upsample-9', 'Upsample-10', 'Resize-11'], feeds: { x: img(1, 3, 4, 12) },
    build: (b) => b.output(b.op('Upsample', [b.input('x', 'float32', [1, 1, 3, 4])], { scales: [1, 1, 1.2, 2.5] }, { outputs: ['y'] }), 'float32', [1, 1, 3, 10]),
  },
  {
    name: 'Upsample-9 linear, fractional scales', from: 9, to: 17, changes: ['Upsample-10', 'Resize-11'], feeds: { x: img(1, 3, 4, 13) },
    build: (b) => b.output(b.op('Upsample', [b.input('x', 'float32', [1, 1, 3, 4]), b.constant([1, 1, 1.5, 2.5], 'float32', [4])], { mode: 'linear' }, { outputs: ['y'] }), 'float32', [1, 1, 4, 10]),
    tol: 1e-5,
  },
  {
    name: 'Resize-10 nearest, shrinking (ceil rounding)', from: 10, to: 11, changes: ['Resize-11'], feeds: { x: img(1, 5, 6, 14) },
    build: (b) => b.output(b.op('Resize', [b.input('x', 'float32', [1, 1, 5, 6]), b.constant([1, 1, 0.6, 0.5], 'float32', [4])], {}, { outputs: ['y'] }), 'float32', [1, 1, 3, 3]),
  },
  {
    name: 'Resize-10 linear, shrinking', from: 10, to: 13, changes: ['Resize-11'], feeds: { x: img(2, 4, 8, 15) },
    build: (b) => b.output(b.op('Resize', [b.input('x', 'float32', [1, 2, 4, 8]), b.constant([1, 1, 0.5, 0.75], 'float32', [4])], { mode: 'linear' }, { outputs: ['y'] }), 'float32', [1, 2, 2, 6]),
    tol: 1e-5,
  },
  {
    name: 'Resize-11 tf_half_pixel_for_nn, floor → half_pixel, round_prefer_ceil', from: 11, to: 13, changes: ['Resize-13'], feeds: { x: img(1, 4, 6, 16) },
    build: (b) => b.output(b.op('Resize', [b.input('x', 'float32', [1, 1, 4, 6]), b.constant([], 'float32', [0]), b.constant([1, 1, 0.75, 1.5], 'float32', [4])],
      { coordinate_transformation_mode: 'tf_half_pixel_for_nn', nearest_mode: 'floor' }, { outputs: ['y'] }), 'float32', [1, 1, 3, 9]),
  },
  {
    name: 'Resize-11 tf_half_pixel_for_nn, round_prefer_floor → half_pixel, ceil', from: 11, to: 13, changes: ['Resize-13'], feeds: { x: img(1, 5, 5, 17) },
    build: (b) => b.output(b.op('Resize', [b.input('x', 'float32', [1, 1, 5, 5]), b.constant([], 'float32', [0]), b.constant([1, 1, 1.6, 0.6], 'float32', [4])],
      { coordinate_transformation_mode: 'tf_half_pixel_for_nn' }, { outputs: ['y'] }), 'float32', [1, 1, 8, 3]),
  },
  {
    name: 'Scatter-9 → ScatterElements', from: 9, to: 13, changes: ['Scatter-11'],
    feeds: { data: f32([3, 3], seeded(9, 18)), indices: i64([2, 3], [1, 0, 2, 0, 2, 1]), updates: f32([2, 3], [1, 2, 3, 4, 5, 6]) },
    build: (b) => b.output(b.op('Scatter', [b.input('data', 'float32', [3, 3]), b.input('indices', 'int64', [2, 3]), b.input('updates', 'float32', [2, 3])], { axis: 0 }, { outputs: ['y'] }), 'float32', [3, 3]),
  },
  {
    name: 'Scan-8 over a batch of 2 → Loop around Scan-9', from: 8, to: 13, changes: ['Scan-9'],
    feeds: { s0: f32([2, 2], [0, 1, 10, 20]), xs: f32([2, 3, 2], seeded(12, 19)) },
    build: (b) => {
      const body = b.subgraph('body', (g) => {
        g.input('s', 'float32', [2]);
        g.input('x_t', 'float32', [2]);
        const n = g.op('Add', ['s', 'x_t'], {}, { outputs: ['s_next'] });
        g.output(n, 'float32', [2]);
        // A Constant node: an IR 3 subgraph initializer would have to be a subgraph input too.
        const two = g.op('Constant', [], { value: scalarTensor('two', DataType.FLOAT, 2) });
        g.output(g.op('Mul', [n, two], {}, { outputs: ['y_t'] }), 'float32', [2]);
      });
      const [s, ys] = b.opN('Scan', ['', b.input('s0', 'float32', [2, 2]), b.input('xs', 'float32', [2, 3, 2])], { body, num_scan_inputs: 1, directions: [1] }, { outputs: ['s_final', 'ys'] });
      b.output(s as string, 'float32', [2, 2]);
      b.output(ys as string, 'float32', [2, 3, 2]);
    },
  },
  {
    name: 'BatchNormalization-7 spatial=0 written out', from: 7, to: 13, changes: ['BatchNormalization-9'], feeds: { x: f32([2, 3, 2], seeded(12, 20)) },
    build: (b) => {
      const p = (v: number[]) => b.constant(v, 'float32', [3, 2]);
      b.output(b.op('BatchNormalization', [b.input('x', 'float32', [2, 3, 2]), p([1, 2, 3, 4, 5, 6]), p([0, 0.1, 0.2, 0.3, 0.4, 0.5]), p([0.5, -0.5, 0.25, 0, 1, -1]), p([1, 2, 0.5, 0.25, 4, 1.5])],
        { spatial: 0 }, { outputs: ['y'] }), 'float32', [2, 3, 2]);
    },
    expected: (f) => {
      const [sc, bi, mu, va] = [[1, 2, 3, 4, 5, 6], [0, 0.1, 0.2, 0.3, 0.4, 0.5], [0.5, -0.5, 0.25, 0, 1, -1], [1, 2, 0.5, 0.25, 4, 1.5]] as number[][];
      return { y: map(f.x as RunnerTensor, (v, i) => ((v - mu![i % 6]!) / Math.sqrt(va![i % 6]! + 1e-5)) * sc![i % 6]! + bi![i % 6]!) };
    },
    tol: 1e-5,
  },
  {
    name: 'RoiAlign-10 → output_half_pixel', from: 10, to: 16, changes: ['RoiAlign-16'],
    feeds: { x: img(1, 6, 6, 21), rois: f32([2, 4], [0.5, 0.5, 4.2, 3.1, 1, 2, 5, 5.5]), idx: i64([2], [0, 0]) },
    build: (b) => b.output(b.op('RoiAlign', [b.input('x', 'float32', [1, 1, 6, 6]), b.input('rois', 'float32', [2, 4]), b.input('idx', 'int64', [2])],
      { output_height: 2, output_width: 3, sampling_ratio: 2, spatial_scale: attr.float('spatial_scale', 1) }, { outputs: ['y'] }), 'float32', [2, 1, 2, 3]),
    tol: 1e-5,
  },
  {
    name: 'GridSample-16 bilinear and bicubic → linear and cubic', from: 16, to: 20, changes: ['GridSample-20'],
    feeds: { x: img(1, 3, 3, 22), grid: f32([1, 2, 2, 2], [-0.9, -0.5, 0.3, 0.8, 0.1, -0.2, 0.95, 0.4]) },
    build: (b) => {
      const x = b.input('x', 'float32', [1, 1, 3, 3]);
      const g = b.input('grid', 'float32', [1, 2, 2, 2]);
      b.output(b.op('GridSample', [x, g], { mode: 'bilinear' }, { outputs: ['lin'] }), 'float32', [1, 1, 2, 2]);
      b.output(b.op('GridSample', [x, g], { mode: 'bicubic' }, { outputs: ['cub'] }), 'float32', [1, 1, 2, 2]);
    },
    tol: 1e-5,
  },
  {
    name: 'GroupNormalization-18 constants per group → per channel', from: 18, to: 21, changes: ['GroupNormalization-21'], feeds: { x: f32([2, 4, 2, 2], seeded(32, 23)) },
    build: (b) => b.output(b.op('GroupNormalization', [b.input('x', 'float32', [2, 4, 2, 2]), b.constant([1.5, -0.5], 'float32', [2]), b.constant([0.25, 1], 'float32', [2])],
      { num_groups: 2 }, { outputs: ['y'] }), 'float32', [2, 4, 2, 2]),
    tol: 1e-5,
  },
  {
    name: 'GroupNormalization-18 inputs, channels unknown → Expand at run time', from: 18, to: 21, changes: ['GroupNormalization-21'],
    feeds: { x: f32([1, 6, 2, 1], seeded(12, 24)), s: f32([3], [1, 2, 3]), t: f32([3], [0, -1, 1]) },
    build: (b) => b.output(b.op('GroupNormalization', [b.input('x', 'float32', ['n', 'c', 2, 1]), b.input('s', 'float32', [3]), b.input('t', 'float32', [3])],
      { num_groups: 3 }, { outputs: ['y'] }), 'float32', ['n', 'c', 2, 1]),
    tol: 1e-5,
  },
  {
    name: 'DFT-17 default axis → axis input', from: 17, to: 20, changes: ['DFT-20'], feeds: { x: f32([1, 8, 1], seeded(8, 25)) },
    build: (b) => b.output(b.op('DFT', [b.input('x', 'float32', [1, 8, 1])], {}, { outputs: ['y'] }), 'float32', [1, 8, 2]),
    tol: 1e-5,
  },

  {
    name: 'Add-6 broadcast=1 with axis already aligned: attributes dropped', from: 6, to: 7, changes: ['Add-7'], feeds: { x: x23 },
    build: (b) => b.output(b.op('Add', [b.input('x', 'float32', [2, 3]), b.constant([1, 2, 3], 'float32', [3])], { broadcast: 1, axis: 1 }, { outputs: ['y'] }), 'float32', [2, 3]),
    expected: (f) => ({ y: map(f.x as RunnerTensor, (v, i) => v + 1 + (i % 3)) }),
  },
  {
    name: 'Dropout-7 unread mask dropped', from: 7, to: 13, changes: ['Dropout-10'], feeds: { x: x23 },
    build: (b) => {
      const [y] = b.opN('Dropout', [b.input('x', 'float32', [2, 3])], {}, { outputs: ['y', 'unread_mask'] });
      b.output(y as string, 'float32', [2, 3]);
    },
  },
  {
    name: 'Resize-10 nearest with scales fed at run time (taken as enlarging)', from: 10, to: 13, changes: ['Resize-11'],
    feeds: { x: img(1, 3, 4, 32), scales: f32([4], [1, 1, 1.2, 2.5]) },
    build: (b) => b.output(b.op('Resize', [b.input('x', 'float32', [1, 1, 3, 4]), b.input('scales', 'float32', [4])], {}, { outputs: ['y'] }), 'float32', null),
  },

  // ---- experimental operators removed at opset 10 (onnxruntime runs them below 10) ----
  {
    name: 'ImageScaler → Mul and per-channel Add', from: 9, to: 10, changes: ['ImageScaler-10'], feeds: { x: img(3, 2, 2, 26) },
    build: (b) => b.output(b.op('ImageScaler', [b.input('x', 'float32', [1, 3, 2, 2])], { scale: 2.5, bias: [1, 2, 3.5] }, { outputs: ['y'] }), 'float32', [1, 3, 2, 2]),
  },
  {
    name: 'Affine, Scale, ScaledTanh, ParametricSoftplus → arithmetic', from: 9, to: 13, changes: ['Affine-10', 'Scale-10', 'ScaledTanh-10', 'ParametricSoftplus-10'], feeds: { x: x23 },
    build: (b) => {
      const x = b.input('x', 'float32', [2, 3]);
      b.output(b.op('Affine', [x], { alpha: 2.5, beta: 0.5 }, { outputs: ['affine'] }), 'float32', [2, 3]);
      b.output(b.op('Scale', [x], { scale: -1.5 }, { outputs: ['scale'] }), 'float32', [2, 3]);
      b.output(b.op('ScaledTanh', [x], { alpha: 1.5, beta: 0.75 }, { outputs: ['tanh'] }), 'float32', [2, 3]);
      b.output(b.op('ParametricSoftplus', [x], { alpha: 0.5, beta: 2.5 }, { outputs: ['softplus'] }), 'float32', [2, 3]);
    },
    tol: 1e-6,
  },
  {
    name: 'Crop (border, and border with scale) → Slice', from: 9, to: 13, changes: ['Crop-10'], feeds: { x: img(2, 5, 6, 27) },
    build: (b) => {
      const x = b.input('x', 'float32', [1, 2, 5, 6]);
      b.output(b.op('Crop', [x], { border: [1, 2, 0, 1] }, { outputs: ['borders'] }), 'float32', [1, 2, 2, 5]);
      b.output(b.op('Crop', [x], { border: [2, 1, 0, 0], scale: [3, 2] }, { outputs: ['window'] }), 'float32', [1, 2, 3, 2]);
    },
  },
  {
    name: 'DynamicSlice → Slice', from: 9, to: 13, changes: ['DynamicSlice-10'], feeds: { x: f32([3, 4], seeded(12, 28)) },
    build: (b) => b.output(b.op('DynamicSlice', [b.input('x', 'float32', [3, 4]), b.constant([1], 'int64'), b.constant([3], 'int64'), b.constant([1], 'int64')], {}, { outputs: ['y'] }), 'float32', [3, 2]),
  },
  {
    name: 'experimental MeanVarianceNormalization → axes', from: 8, to: 13, changes: ['MeanVarianceNormalization-9', 'Unsqueeze-13'], feeds: { x: img(3, 2, 3, 29) },
    build: (b) => {
      const x = b.input('x', 'float32', [1, 3, 2, 3]);
      b.output(b.op('MeanVarianceNormalization', [x], {}, { outputs: ['per_channel'] }), 'float32', [1, 3, 2, 3]);
      b.output(b.op('MeanVarianceNormalization', [x], { across_channels: 1 }, { outputs: ['across'] }), 'float32', [1, 3, 2, 3]);
      b.output(b.op('MeanVarianceNormalization', [x], { normalize_variance: 0 }, { outputs: ['mean_only'] }), 'float32', [1, 3, 2, 3]);
      // Something for the Unsqueeze rewrite to do as well: the opset-8 model's own Unsqueeze.
      b.output(b.op('Unsqueeze', [x], { axes: [0] }, { outputs: ['u'] }), 'float32', [1, 1, 3, 2, 3]);
    },
    tol: 1e-5,
  },
];

function rnn(b: ModelBuilder, legacy: boolean): void {
  const x = b.input('x', 'float32', [3, 1, 2]);
  const w = b.constant([0.5, -0.25, 0.1, 0.8], 'float32', [1, 2, 2]);
  const r = b.constant([0.2, 0.1, -0.3, 0.4], 'float32', [1, 2, 2]);
  const bias = b.constant([0.1, -0.1, 0.05, 0], 'float32', [1, 4]);
  const [y, h] = b.opN('RNN', [x, w, r, bias], legacy ? { hidden_size: 2, output_sequence: 1 } : { hidden_size: 2 }, { outputs: ['y', 'y_h'], name: 'rnn' });
  b.output(y as string, 'float32', [3, 1, 1, 2]);
  b.output(h as string, 'float32', [1, 1, 2]);
}

describe('opset adapters, old and upgraded model on the same inputs', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    await checkCase(c);
  });

  it('Softmax keeps the 2-D coercion with Flatten and Reshape, to the declared shape or to Shape(input)', async () => {
    const declared = await checkCase(CASES.find((c) => c.name.startsWith('Softmax-1 default axis')) as AdapterCase);
    expect(nodesOf(declared, 'Flatten')).toHaveLength(1);
    expect(nodesOf(declared, 'Shape')).toHaveLength(0);
    const symbolic = await checkCase(CASES.find((c) => c.name.startsWith('LogSoftmax-11 axis=0')) as AdapterCase);
    expect(nodesOf(symbolic, 'Shape')).toHaveLength(1);
  });
});

/** A model that must be refused: the error names the node, and the model is byte for byte unchanged. */
interface RefusalCase {
  name: string;
  from: number;
  to: number;
  build(b: ModelBuilder): void;
  node: string;
  reason: RegExp;
}

const REFUSALS: RefusalCase[] = [
  {
    name: 'an experimental operator with no standard equivalent', from: 9, to: 10, node: 'fill', reason: /GivenTensorFill.*experimental/,
    build: (b) => b.output(b.op('GivenTensorFill', [], { shape: [2], values: [1.5, 2.5] }, { name: 'fill', outputs: ['y'] }), 'float32', [2]),
  },
  {
    name: 'an operator unknown to ONNX', from: 9, to: 13, node: 'aten', reason: /ATen has no ai\.onnx schema/,
    build: (b) => b.output(b.op('ATen', [b.input('x', 'float32', [2])], {}, { name: 'aten', outputs: ['y'] }), 'float32', [2]),
  },
  {
    name: 'broadcast with axis where A has no declared rank', from: 6, to: 7, node: 'add', reason: /rank/,
    build: (b) => b.output(b.op('Add', [b.input('a', 'float32', null), b.constant([1, 2], 'float32', [2])], { broadcast: 1, axis: 1 }, { name: 'add', outputs: ['y'] }), 'float32', null),
  },
  {
    name: 'Dropout in training mode (is_test=0)', from: 6, to: 13, node: 'drop', reason: /is_test=0/,
    build: (b) => b.output(b.op('Dropout', [b.input('x', 'float32', [2])], { is_test: 0 }, { name: 'drop', outputs: ['y'] }), 'float32', [2]),
  },
  {
    name: 'nearest Resize-10 enlarging one axis and shrinking another', from: 10, to: 11, node: 'rs', reason: /enlarge some axes and shrink others/,
    build: (b) => b.output(b.op('Resize', [b.input('x', 'float32', [1, 1, 4, 4]), b.constant([1, 1, 2, 0.5], 'float32', [4])], {}, { name: 'rs', outputs: ['y'] }), 'float32', [1, 1, 8, 2]),
  },
  {
    name: 'linear Resize with tf_half_pixel_for_nn', from: 11, to: 13, node: 'rs', reason: /tf_half_pixel_for_nn .*no equivalent/,
    build: (b) => b.output(b.op('Resize', [b.input('x', 'float32', [1, 1, 4, 4]), b.constant([], 'float32', [0]), b.constant([1, 1, 2, 2], 'float32', [4])],
      { mode: 'linear', coordinate_transformation_mode: 'tf_half_pixel_for_nn' }, { name: 'rs', outputs: ['y'] }), 'float32', [1, 1, 8, 8]),
  },
  {
    name: 'Scan-8 with sequence_lens', from: 8, to: 9, node: 'scan', reason: /sequence_lens/,
    build: (b) => {
      const body = b.subgraph('body', (g) => {
        g.input('s', 'float32', [1]);
        g.input('x_t', 'float32', [1]);
        g.output(g.op('Add', ['s', 'x_t'], {}, { outputs: ['s2'] }), 'float32', [1]);
      });
      b.output(b.op('Scan', [b.input('lens', 'int32', [1]), b.input('s0', 'float32', [1, 1]), b.input('xs', 'float32', [1, 2, 1])], { body, num_scan_inputs: 1 },
        { name: 'scan', outputs: ['s_final'] }), 'float32', [1, 1]);
    },
  },
  {
    name: 'PRelu-6 with a per-channel slope (ambiguous)', from: 6, to: 9, node: 'prelu', reason: /ambiguous/,
    build: (b) => b.output(b.op('PRelu', [b.input('x', 'float32', [1, 3, 2, 2]), b.constant([0.1, 0.2, 0.3], 'float32', [3])], {}, { name: 'prelu', outputs: ['y'] }), 'float32', [1, 3, 2, 2]),
  },
  {
    name: 'BatchNormalization-9 whose saved statistics are read', from: 9, to: 14, node: 'bn', reason: /saved batch statistics/,
    build: (b) => {
      const p = () => b.constant([1, 1], 'float32', [2]);
      const outs = b.opN('BatchNormalization', [b.input('x', 'float32', [2, 2, 1, 1]), p(), p(), p(), p()], {}, { name: 'bn', outputs: ['y', 'rm', 'rv', 'sm', 'sv'] });
      b.output(outs[0] as string, 'float32', [2, 2, 1, 1]);
      b.output(outs[3] as string, 'float32', [2]);
    },
  },
];

describe('what the upgrade refuses', () => {
  it.each(REFUSALS.map((c) => [c.name, c] as const))('%s: FORGE_UNSUPPORTED_OP naming the node, model unchanged', (_name, c) => {
    const b = new ModelBuilder({ opset: c.from });
    c.build(b);
    const model = b.build();
    const before = model.encode();
    let error: unknown;
    try {
      upgradeOpset(model, c.to);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: ForgeErrorCode.UNSUPPORTED_OP, details: { node: c.node } });
    expect((error as Error).message).toMatch(c.reason);
    expect((error as Error).message).toContain(`"${c.node}"`);
    expect(model.encode()).toEqual(before);
  });

  it('lists every node a step refuses, not only the first', () => {
    const b = new ModelBuilder({ opset: 6 });
    const x = b.input('x', 'float32', [2]);
    b.output(b.op('Dropout', [x], { is_test: 0 }, { name: 'd1', outputs: ['y1'] }), 'float32', [2]);
    b.output(b.op('Dropout', [x], { is_test: 0 }, { name: 'd2', outputs: ['y2'] }), 'float32', [2]);
    expect(() => upgradeOpset(b.build(), 13)).toThrow(/"d1".*and 1 more: "d2"/);
  });

  it('refuses targets outside 2–21 and, with strict, downgrades (FORGE_INVALID_OPTIONS)', () => {
    const model = new ModelBuilder({ opset: 17 }).build();
    for (const v of [1, 22, 12.5]) expect(() => upgradeOpset(model, v)).toThrow(expect.objectContaining({ code: ForgeErrorCode.INVALID_OPTIONS }));
    expect(() => upgradeOpset(model, 13, undefined, { strict: true })).toThrow(expect.objectContaining({ code: ForgeErrorCode.INVALID_OPTIONS, message: expect.stringMatching(/downgrading is not supported/) }));
    expect(() => createBuiltinRegistry().parse('opset{version=30}')).toThrow(expect.objectContaining({ code: ForgeErrorCode.INVALID_OPTIONS }));
  });
});

describe('upgradeOpset', () => {
  it('leaves a model at or above the target alone, saying so', () => {
    for (const [opset, target] of [[17, 17], [18, 13]] as const) {
      const b = new ModelBuilder({ opset });
      b.output(b.op('Relu', [b.input('x', 'float32', [2])]), 'float32', [2]);
      const model = b.build();
      const before = model.encode();
      const r = upgradeOpset(model, target);
      expect(r).toMatchObject({ status: 'unchanged', fromOpset: opset, toOpset: opset, nodesUpgraded: 0, decisions: [] });
      expect(r.message).toMatch(opset > target ? /above the target 13 \(this pass never downgrades\)/ : /already at opset 17/);
      expect(model.encode()).toEqual(before);
    }
  });

  it('upgrades If branches, and raises ir_version dropping initializers listed as inputs (IR 3)', async () => {
    const b = new ModelBuilder({ opset: 8, irVersion: 3 });
    const x = b.input('x', 'float32', [2, 5]);
    const c = b.input('c', 'bool', []);
    const w = b.initializer('w', Float32Array.of(1, 2, 3, 4, 5), [5]);
    const then = b.subgraph('then', (g) => {
      const [v] = g.opN('TopK', [g.op('Mul', [x, w])], { k: 2 }, { outputs: 2, name: 'topk_in_then' });
      g.output(v as string, 'float32', [2, 2]);
    });
    const els = b.subgraph('else', (g) => g.output(g.op('Slice', [x], { starts: [0, 0], ends: [2, 2] }, { name: 'slice_in_else' }), 'float32', [2, 2]));
    b.output(b.op('If', [c], { then_branch: then, else_branch: els }, { name: 'branch', outputs: ['y'] }), 'float32', [2, 2]);
    const model = b.build();
    model.graph.inputs.push(new onnx.ValueInfoProto({ name: 'w', type: tensorType(DataType.FLOAT, [5]) }));
    model.invalidate();
    const feeds = (flag: number) => ({ x: f32([2, 5], seeded(10, 30)), c: { type: 'bool', dims: [], data: Uint8Array.of(flag) } as RunnerTensor });
    const before = [await runOnce(nodeRunner, model, feeds(1)), await runOnce(nodeRunner, model, feeds(0))];
    const r = upgradeOpset(model, 13);
    assertValid(model);
    expect(r.decisions.map((d) => [d.graph, d.node])).toEqual([['main/branch.then', 'topk_in_then'], ['main/branch.else', 'slice_in_else']]);
    expect(r.irVersion).toEqual({ from: 3, to: 7 });
    expect(r.initializerInputsRemoved).toBe(1);
    expect(model.graph.inputNames()).toEqual(['x', 'c']);
    expectClose(await runOnce(nodeRunner, model, feeds(1)), before[0] as RunnerFeeds, 0);
    expectClose(await runOnce(nodeRunner, model, feeds(0)), before[1] as RunnerFeeds, 0);
  });

  it('keeps IR 3 when the target needs no more, listing the initializers it adds as graph inputs', async () => {
    const b = new ModelBuilder({ opset: 1 });
    b.output(b.op('Reshape', [b.input('x', 'float32', [2, 3])], { shape: [3, 2] }, { outputs: ['y'] }), 'float32', [3, 2]);
    const model = b.build();
    const feeds = { x: x23 };
    const before = await runOnce(nodeRunner, model, feeds);
    const r = upgradeOpset(model, 8);
    assertValid(model);
    expect(r.irVersion).toEqual({ from: 3, to: 3 });
    const shape = model.graph.nodes[0]?.input[1] as string;
    expect(model.graph.initializer(shape)).toBeDefined();
    expect(model.graph.inputNames()).toEqual(['x', shape]);
    expectClose(await runOnce(nodeRunner, model, feeds), before, 0);
  });

  it('refuses a rewrite that needs the value of a function attribute reference', () => {
    const b = new ModelBuilder({ opset: 11, opsets: { 'my.fn': 1 }, irVersion: 8 });
    const call = createNode('Norm', [b.input('x', 'float32', [2, 3, 4])], ['y'], { domain: 'my.fn', name: 'call', attributes: { ax: 1 } });
    b.addNode(call);
    b.output('y', 'float32', [2, 3, 4]);
    const model = b.build();
    const softmax = createNode('Softmax', ['a'], ['out'], { name: 'fn_softmax' });
    softmax.attribute.push(new onnx.AttributeProto({ name: 'axis', refAttrName: 'ax', type: attr.int('axis', 0).type }));
    model.proto.functions.push(new onnx.FunctionProto({
      name: 'Norm', domain: 'my.fn', input: ['a'], output: ['out'], attribute: ['ax'], node: [softmax],
      opsetImport: [new onnx.OperatorSetIdProto({ domain: '', version: 11 })],
    }));
    const before = model.encode();
    expect(() => upgradeOpset(model, 13)).toThrow(expect.objectContaining({
      code: ForgeErrorCode.UNSUPPORTED_OP, message: expect.stringMatching(/"fn_softmax".*function my\.fn\.Norm.*refers to the calling function's attribute "ax"/),
    }));
    expect(model.encode()).toEqual(before);
  });

  it('marks BatchNormalization with training outputs as training_mode=1 at opset 14, dropping unread saved statistics', () => {
    const b = new ModelBuilder({ opset: 9 });
    const p = () => b.constant([1, 1], 'float32', [2]);
    const outs = b.opN('BatchNormalization', [b.input('x', 'float32', [2, 2, 1, 1]), p(), p(), p(), p()], {}, { name: 'bn', outputs: ['y', 'rm', 'rv', 'sm', 'sv'] });
    b.output(outs[0] as string, 'float32', [2, 2, 1, 1]);
    b.output(outs[1] as string, 'float32', [2]);
    const model = b.build();
    const r = upgradeOpset(model, 15);
    assertValid(model);
    const bn = nodesOf(model, 'BatchNormalization')[0]?.node;
    expect(bn?.output).toEqual(['y', 'rm', 'rv']);
    expect(bn?.attribute.find((a) => a.name === 'training_mode')?.i).toBe(1);
    expect(r.decisions[0]?.reason).toMatch(/training_mode=1 .*unread saved statistics sm, sv dropped/);
  });

  it('prefixes its statistics when reporting into another pass (statPrefix)', async () => {
    const b = new ModelBuilder({ opset: 9 });
    b.output(b.op('TopK', [b.input('x', 'float32', [4])], { k: 2 }, { name: 'top', outputs: ['v', 'i'] }), 'float32', [2]);
    // A pass that upgrades the model inside its own run, as quantize does.
    const host = definePass({ name: 'host', description: 'test', options: {}, run: (model, _o, ctx) => void upgradeOpset(model, 13, ctx, { statPrefix: 'opset ' }) });
    const report = await runPass(host(), b.build(), { check: false });
    expect(report.stats).toMatchObject({ 'opset status': 'upgraded', 'opset fromOpset': 9, 'opset nodesUpgraded': 1, 'opset rewritten TopK-10': 1 });
    expect(Object.keys(report.stats).every((k) => k.startsWith('opset '))).toBe(true);
    expect(report.decisions.map((d) => `${d.node}:${d.action}`)).toEqual(['top:upgraded']);
  });

  it('upgrades a model-local function that imports an older ai.onnx (constants become Constant nodes)', async () => {
    const b = new ModelBuilder({ opset: 9, opsets: { 'my.fn': 1 }, irVersion: 8 });
    b.output(b.op('Head', [b.input('x', 'float32', [2, 5])], {}, { domain: 'my.fn', outputs: ['y'] }), 'float32', [2, 2]);
    const model = b.build();
    model.proto.functions.push(new onnx.FunctionProto({
      name: 'Head', domain: 'my.fn', input: ['a'], output: ['top'],
      node: [createNode('Slice', ['a'], ['s'], { name: 'fn_slice', attributes: { starts: [1], ends: [4], axes: [1] } }), createNode('TopK', ['s'], ['top', 'idx'], { name: 'fn_topk', attributes: { k: 2 } })],
      opsetImport: [new onnx.OperatorSetIdProto({ domain: '', version: 9 })],
    }));
    const feeds = { x: f32([2, 5], seeded(10, 31)) };
    const before = await runOnce(nodeRunner, model, feeds);
    const r = upgradeOpset(model, 13);
    assertValid(model);
    expect(r.functionsUpgraded).toEqual(['my.fn.Head']);
    expect(r.decisions.map((d) => d.node)).toEqual(['fn_slice', 'fn_topk']);
    const fn = model.proto.functions[0] as FunctionProto;
    expect(fn.opsetImport[0]?.version).toBe(13);
    expect(fn.node.filter((n) => n.opType === 'Constant').length).toBe(4);
    expectClose(await runOnce(nodeRunner, model, feeds), before, 0);
  });

  it('reports through a PassManager: counts, per-node decisions, and the unchanged statistic', async () => {
    const b = new ModelBuilder({ opset: 9 });
    const x = b.input('x', 'float32', [2, 3, 4]);
    b.output(b.op('Softmax', [b.op('Slice', [x], { starts: [0], ends: [2], axes: [2] }, { name: 'slice' })], {}, { name: 'softmax' }), 'float32', [2, 3, 2]);
    const model = b.build();
    const pm = new PassManager({ registry: createBuiltinRegistry() });
    pm.addPipeline('opset{version=13},opset');
    const r = await pm.run(model);
    const [first, second] = r.passes;
    expect(first?.stats).toMatchObject({ status: 'upgraded', fromOpset: 9, toOpset: 13, nodesUpgraded: 2, 'rewritten Slice-10': 1, 'rewritten Softmax-13': 1, irVersion: '5 → 7' });
    expect(first?.decisions.map((d) => [d.node, d.opType, d.action])).toEqual([['slice', 'Slice', 'upgraded'], ['softmax', 'Softmax', 'upgraded']]);
    expect(first?.decisions[1]?.reason).toMatch(/^Softmax-11 → Softmax-13: kept the 2-D coercion/);
    expect(second?.stats).toMatchObject({ status: 'upgraded', fromOpset: 13, toOpset: 17, nodesUpgraded: 0 });
    expect(model.opset('')).toBe(17);
    const again = await new PassManager({ registry: createBuiltinRegistry() }).addPipeline('opset{version=13}').run(model);
    expect(again.passes[0]?.stats).toMatchObject({ status: 'unchanged', reason: expect.stringMatching(/above the target 13/) });
  });
});

/** An opset-9 CNN in the style of old PyTorch/Paddle exports: Conv, BatchNormalization, Relu, MaxPool, Upsample, Flatten, Gemm, Dropout, Softmax. */
function cnn9(): Model {
  const b = new ModelBuilder({ opset: 9, graphName: 'cnn9' });
  const w = (name: string, dims: number[], seed: number, std = 0.3) => b.initializer(name, seeded(dims.reduce((p, d) => p * d, 1), seed, std), dims);
  let x = b.input('image', 'float32', ['batch', 3, 16, 16]);
  x = b.op('Conv', [x, w('c1.w', [8, 3, 3, 3], 40), w('c1.b', [8], 41, 0.05)], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
  x = b.op('BatchNormalization', [x, w('bn.s', [8], 42), w('bn.b', [8], 43), w('bn.m', [8], 44, 0.1), b.constant(Array.from({ length: 8 }, (_, i) => 0.5 + i / 8), 'float32', [8])],
    { epsilon: attr.float('epsilon', 1e-5) });
  x = b.op('Relu', [x]);
  x = b.op('MaxPool', [x], { kernel_shape: [2, 2], strides: [2, 2] });
  x = b.op('Upsample', [x, b.constant([1, 1, 2, 2], 'float32', [4])], { mode: 'nearest' });
  x = b.op('Conv', [x, w('c2.w', [4, 8, 3, 3], 45), w('c2.b', [4], 46, 0.05)], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] });
  x = b.op('Relu', [x]);
  x = b.op('Flatten', [x], { axis: 1 });
  x = b.op('Dropout', [x], { ratio: attr.float('ratio', 0.25) });
  x = b.op('Gemm', [x, w('fc.w', [10, 256], 47, 0.1), w('fc.b', [10], 48, 0.05)], { transB: 1 });
  b.output(b.op('Softmax', [x], {}, { outputs: ['probs'] }), 'float32', ['batch', 10]);
  return b.build();
}

describe('an opset-9 CNN', () => {
  it('upgrades to 13 and runs identically in onnxruntime-node; at 17 in onnxruntime-web too', async () => {
    const model = cnn9();
    const feeds = { image: f32([2, 3, 16, 16], seeded(2 * 3 * 16 * 16, 49)) };
    const before = await runOnce(nodeRunner, model, feeds);
    const r = upgradeOpset(model, 13);
    assertValid(model);
    expect(withoutSchemaAt(model, 13)).toEqual([]);
    expect(r.changes).toEqual({ 'Upsample-10': 1, 'Resize-11': 1, 'Dropout-12': 1, 'Softmax-13': 1 });
    expect(nodesOf(model, 'Resize')).toHaveLength(1);
    expectClose(await runOnce(nodeRunner, model, feeds), before, 0);

    const at17 = cnn9();
    upgradeOpset(at17, 17);
    assertValid(at17);
    const web = (BACKENDS.find((x) => x.name === 'web') as (typeof BACKENDS)[number]).runner;
    expectClose(await runOnce(web, at17, feeds), before, 1e-5);
  });
});
