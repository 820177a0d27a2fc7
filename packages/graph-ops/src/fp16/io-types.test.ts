import { DataType, ModelBuilder, float32ArrayToFloat16, runPass, type Model, type RunnerTensor } from '@onnx-forge/core';
import { describe, expect, it } from 'vitest';
import { cosine, runnerValues } from '../testing/compare.js';
import { assertValid, f32, nodeRunner, nodesOf, runOnce, seeded } from '../testing/harness.js';
import { fp16Pass } from './fp16-pass.js';

// Without keepIoTypes, a float32 model input turns float16 only when a node reading it computes in
// float16, and an output only when the node making it does. An input every reader computes in
// float32 (or an output made in float32) keeps float32: a float16 boundary there is a Cast
// float32→float16→float32 that rounds the data and saves nothing (on cpu, where almost no op has a
// float16 kernel, it was a whole model's inputs and outputs).

const F16 = DataType.FLOAT16;
const F32 = DataType.FLOAT;

const ioType = (m: Model, name: string) => [...m.graph.inputs, ...m.graph.outputs].find((v) => v.name === name)?.type?.tensorType?.elemType;
const f16 = (dims: number[], values: Float32Array): RunnerTensor => ({ type: 'float16', dims, data: float32ArrayToFloat16(values) });

describe('fp16 model input and output types without keepIoTypes', () => {
  /** x → Transpose → Conv (small weights, under the storage threshold) → Relu → y, and x → Softplus → z. */
  const cpuModel = () => {
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', 'float32', [1, 4, 5, 5]);
    const t = b.op('Transpose', [x], { perm: [0, 1, 3, 2] });
    const conv = b.op('Conv', [t, b.initializer('w', seeded(8 * 4 * 3 * 3, 3, 0.3), [8, 4, 3, 3]), b.initializer('bias', seeded(8, 4), [8])], { pads: [1, 1, 1, 1] });
    b.output(b.op('Relu', [conv], {}, { outputs: ['y'] }), 'float32', [1, 8, 5, 5]);
    b.output(b.op('Softplus', [x], {}, { outputs: ['z'] }), 'float32', [1, 4, 5, 5]);
    return b.build();
  };

  it.each(['cpu', 'wasm'] as const)('target %s: inputs and outputs every node around computes in float32 keep float32, with no Cast, and the outputs are float32\'s exactly', async (target) => {
    const original = cpuModel();
    const model = cpuModel();
    const report = await runPass(fp16Pass({ target }), model);
    assertValid(model);
    expect(report.decisions.filter((d) => d.action === 'converted')).toEqual([]);
    // The Transpose (data movement) reading x does not drag it to float16 either.
    for (const name of ['x', 'y', 'z']) expect(ioType(model, name), name).toBe(F32);
    expect(nodesOf(model, 'Cast')).toEqual([]);
    expect(report.stats.castsAdded).toBe(0);
    expect(report.stats.inputsKeptFloat32).toBe(1);
    expect(report.stats.outputsKeptFloat32).toBe(2);
    expect(report.stats.ioKeptFloat32).toBe('input "x" and outputs "y" "z" stay float32 without keepIoTypes: only float32 nodes read or make them (a float16 type there would only add a lossy Cast)');
    expect(report.data.ioKeptFloat32).toEqual([
      { name: 'x', kind: 'input', reason: 'every node reading it computes in float32' },
      { name: 'y', kind: 'output', reason: 'the node making it computes in float32' },
      { name: 'z', kind: 'output', reason: 'the node making it computes in float32' },
    ]);
    const feeds = { x: f32([1, 4, 5, 5], seeded(100, 7, 3)) };
    const want = await runOnce(nodeRunner, original, feeds);
    const got = await runOnce(nodeRunner, model, feeds);
    // Nothing was converted, so nothing may differ: no rounding at the boundary.
    for (const k of ['y', 'z']) expect(runnerValues(got[k]!), k).toEqual(runnerValues(want[k]!));
  });

  it('keepIoTypes=true is unchanged: float32 I/O by request, and no ioKeptFloat32 statistic', async () => {
    const model = cpuModel();
    const report = await runPass(fp16Pass({ target: 'cpu', keepIoTypes: true }), model);
    for (const name of ['x', 'y', 'z']) expect(ioType(model, name), name).toBe(F32);
    expect(report.stats.ioKeptFloat32).toBeUndefined();
    expect(report.stats.inputsKeptFloat32).toBeUndefined();
  });

  /**
   * x → Mul(w) → Resize(scales) → y, x → Softplus (blocked) → z, with the Resize scales a model
   * input: Mul and Resize compute in float16 (target any), Resize reads its scales in float32 only,
   * and Softplus is kept by the caller.
   */
  const mixed = () => {
    const b = new ModelBuilder({ opset: 13 });
    const x = b.input('x', 'float32', [1, 2, 4, 4]);
    const scales = b.input('scales', 'float32', [4]);
    const w = b.constant(Array.from(seeded(2, 3)), 'float32', [1, 2, 1, 1], 'w');
    b.output(b.op('Resize', [b.op('Mul', [x, w]), '', scales], { mode: 'linear' }, { outputs: ['y'] }), 'float32', [1, 2, 8, 8]);
    b.output(b.op('Softplus', [x], {}, { outputs: ['z'] }), 'float32', [1, 2, 4, 4]);
    return b.build();
  };

  it('target any: float16 where a float16 node reads or makes the value, float32 for Resize scales and a blocked op\'s output', async () => {
    const original = mixed();
    const model = mixed();
    const report = await runPass(fp16Pass({ target: 'any', blockOps: ['Softplus'] }), model);
    assertValid(model);
    expect(ioType(model, 'x')).toBe(F16);
    expect(ioType(model, 'y')).toBe(F16);
    // Only Resize's scales slot reads it, and that slot is float32 whatever the data type.
    expect(ioType(model, 'scales')).toBe(F32);
    // Softplus stays float32 (blockOps): its float32 result goes out as it is.
    expect(ioType(model, 'z')).toBe(F32);
    expect(report.stats.ioKeptFloat32).toBe('input "scales" and output "z" stay float32 without keepIoTypes: only float32 nodes read or make them (a float16 type there would only add a lossy Cast)');
    // One Cast: x (float16) to float32 for Softplus.
    expect(nodesOf(model, 'Cast').map(({ node }) => node.input[0])).toEqual(['x']);
    const xs = seeded(32, 1);
    const scales = f32([4], [1, 1, 2, 2]);
    const want = await runOnce(nodeRunner, original, { x: f32([1, 2, 4, 4], xs), scales });
    const got = await runOnce(nodeRunner, model, { x: f16([1, 2, 4, 4], xs), scales });
    for (const k of ['y', 'z']) expect(cosine(got[k]!, want[k]!), k).toBeGreaterThan(0.999);
  });

  it('an input passed straight through to an output keeps one type (float32 when nothing computes in float16)', async () => {
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', 'float32', [3]);
    b.output(x, 'float32', [3]);
    b.output(b.op('Softplus', [x], {}, { outputs: ['s'] }), 'float32', [3]);
    const model = b.build();
    await runPass(fp16Pass({ target: 'cpu' }), model);
    assertValid(model);
    expect(ioType(model, 'x')).toBe(F32);
    expect(ioType(model, 's')).toBe(F32);
    expect(nodesOf(model, 'Cast')).toEqual([]);
  });
});
