import { DataType, ForgeErrorCode, Model, ModelBuilder, PassManager, createNode, onnx } from '@onnx-forge/core';
import { describe, expect, it } from 'vitest';
import { createBuiltinRegistry } from '../builtin-passes.js';
import { runnerValues } from '../testing/compare.js';
import { assertValid, f32, nodeRunner, nodesOf, runOnce } from '../testing/harness.js';
import type { RunnerFeeds } from '@onnx-forge/core';
import { foldCasts, isExactCast } from './cast-fold.js';
import { eliminateDeadCode } from './dead-code.js';
import { removeIdentities } from './identity.js';
import { toposortModel } from './toposort.js';

async function sameOutputs(before: Model, after: Model, feeds: RunnerFeeds) {
  const a = await runOnce(nodeRunner, before, feeds);
  const b = await runOnce(nodeRunner, after, feeds);
  expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
  for (const k of Object.keys(a)) expect(runnerValues(b[k]!)).toEqual(runnerValues(a[k]!));
}

const x3 = { x: f32([3], [1.5, -2, 0.25]) };

describe('dead-code', () => {
  it('removes unread nodes, initializers, value_info and functions, keeping model inputs', async () => {
    const b = new ModelBuilder({ opset: 17, opsets: { 'my.fn': 1 } });
    const x = b.input('x', 'float32', [3]);
    b.input('unused_input', 'float32', [3]);
    const unusedW = b.initializer('unused_w', Float32Array.of(1, 2, 3), [3]);
    const dead = b.op('Mul', [b.op('Exp', [x], {}, { name: 'dead1' }), unusedW], {}, { name: 'dead2' });
    b.valueInfo(dead, 'float32', [3]);
    b.output(b.op('Relu', [x]), 'float32', [3]);
    const model = b.build();
    model.proto.functions.push(new onnx.FunctionProto({
      name: 'Never', domain: 'my.fn', input: ['a'], output: ['a2'], node: [createNode('Neg', ['a'], ['a2'])],
      opsetImport: [new onnx.OperatorSetIdProto({ domain: '', version: 17 })],
    }));
    const before = model.clone();
    const r = eliminateDeadCode(model);
    assertValid(model);
    expect(r.nodesRemoved).toBe(2);
    expect(r.initializersRemoved).toBe(1);
    expect(r.valueInfosRemoved).toBe(1);
    expect(r.functionsRemoved).toBe(1);
    expect(model.graph.inputNames()).toEqual(['x', 'unused_input']);
    expect(r.decisions.map((d) => d.node.name).sort()).toEqual(['dead1', 'dead2']);
    await sameOutputs(before, model, { ...x3, unused_input: f32([3], [0, 0, 0]) });
  });

  it('cleans inside subgraphs and frees outer values only a dead subgraph node read', async () => {
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', 'float32', [3]);
    const cond = b.input('c', 'bool', []);
    const onlyForDead = b.op('Sin', [x], {}, { name: 'outer_feeds_dead' });
    const keptOuter = b.initializer('kept_outer', Float32Array.of(1, 1, 1), [3]);
    const thenG = b.subgraph('then', (g) => {
      g.op('Cos', [onlyForDead], {}, { name: 'dead_in_branch' });
      g.output(g.op('Add', [x, keptOuter]), 'float32', [3]);
    });
    const elseG = b.subgraph('else', (g) => g.output(g.op('Neg', [x]), 'float32', [3]));
    b.output(b.op('If', [cond], { then_branch: thenG, else_branch: elseG }), 'float32', [3]);
    const model = b.build();
    const before = model.clone();
    const r = eliminateDeadCode(model);
    assertValid(model);
    expect(r.decisions.map((d) => d.node.name).sort()).toEqual(['dead_in_branch', 'outer_feeds_dead']);
    expect(model.graph.initializer('kept_outer')).toBeDefined();
    await sameOutputs(before, model, { ...x3, c: { type: 'bool', dims: [], data: Uint8Array.of(1) } });
  });
});

describe('identity', () => {
  it('removes Identity and inference Dropout, renaming into graph outputs, keeping input pass-through', async () => {
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', 'float32', [3]);
    const a = b.op('Identity', [b.op('Relu', [x])], {}, { name: 'id_mid' });
    const d = b.op('Dropout', [a], {}, { name: 'drop' });
    b.output(b.op('Identity', [b.op('Neg', [d])], {}, { name: 'id_out' }), 'float32', [3]);
    b.output(b.op('Identity', [x], {}, { name: 'id_passthrough' }), 'float32', [3]);
    const model = b.build();
    const before = model.clone();
    const r = removeIdentities(model);
    assertValid(model);
    expect(r.removed).toBe(3);
    expect(r.kept).toBe(1);
    expect(nodesOf(model, 'Identity').map(({ node }) => node.name)).toEqual(['id_passthrough']);
    expect(model.graph.outputNames()).toEqual(before.graph.outputNames());
    await sameOutputs(before, model, x3);
  });

  it('keeps Dropout in training mode or with its mask read', () => {
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', 'float32', [3]);
    const t = b.op('Dropout', [x, b.constant(0.5, 'float32'), b.constant(1, 'bool', [])], {}, { name: 'training' });
    const [y, mask] = b.opN('Dropout', [t], {}, { name: 'masked', outputs: 2 });
    b.output(y!, 'float32', [3]);
    b.output(mask!, 'bool', [3]);
    const model = b.build();
    expect(removeIdentities(model).removed).toBe(0);
  });
});

describe('cast-fold', () => {
  it.each([
    [DataType.FLOAT16, DataType.FLOAT, true],
    [DataType.INT32, DataType.INT64, true],
    [DataType.BOOL, DataType.FLOAT, true],
    [DataType.FLOAT, DataType.FLOAT16, false],
    [DataType.INT64, DataType.FLOAT, false],
    [DataType.FLOAT, DataType.INT32, false],
  ])('isExactCast(%i → %i) = %s', (from, to, exact) => {
    expect(isExactCast(from, to)).toBe(exact);
  });

  it('removes no-op Casts and exact round trips, merges duplicates, keeps lossy round trips', async () => {
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', 'float32', [3]);
    const h = b.input('h', 'float16', [3]);
    const i = b.input('i', 'int32', [3]);
    const noop = b.op('Cast', [x], { to: DataType.FLOAT }, { name: 'noop' });
    const exactTrip = b.op('Cast', [b.op('Cast', [h], { to: DataType.FLOAT }, { name: 'up' })], { to: DataType.FLOAT16 }, { name: 'down' });
    const lossy = b.op('Cast', [b.op('Cast', [x], { to: DataType.FLOAT16 }, { name: 'lossy1' })], { to: DataType.FLOAT }, { name: 'lossy2' });
    const widened = b.op('Cast', [b.op('Cast', [i], { to: DataType.INT64 }, { name: 'widen' })], { to: DataType.FLOAT }, { name: 'to_float' });
    const dupA = b.op('Cast', [i], { to: DataType.FLOAT }, { name: 'dup_a' });
    const dupB = b.op('Cast', [i], { to: DataType.FLOAT }, { name: 'dup_b' });
    b.output(b.op('Sum', [noop, lossy, widened, dupA, dupB]), 'float32', [3]);
    b.output(b.op('Neg', [exactTrip]), 'float16', [3]);
    const model = b.build();
    const before = model.clone();
    const r = foldCasts(model);
    eliminateDeadCode(model);
    assertValid(model);
    const names = nodesOf(model, 'Cast').map(({ node }) => node.name).sort();
    // noop, up/down gone; lossy pair kept; widen bypassed (then dead), after which to_float reads i
    // directly and dup_a, dup_b are its duplicates.
    expect(names).toEqual(['lossy1', 'lossy2', 'to_float']);
    expect(r.noOpRemoved).toBeGreaterThanOrEqual(2);
    expect(r.chainsShortened).toBe(2);
    await sameOutputs(before, model, { x: f32([3], [1.0001, 70000, -3]), h: { type: 'float16', dims: [3], data: Uint16Array.of(0x3c00, 0x4000, 0xc000) }, i: { type: 'int32', dims: [3], data: Int32Array.of(1, -5, 7) } });
  });

  it('keeps a no-op Cast that connects a model input to a model output', () => {
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', 'float32', [3]);
    b.output(b.op('Cast', [x], { to: DataType.FLOAT }), 'float32', [3]);
    const model = b.build();
    expect(foldCasts(model).noOpRemoved).toBe(0);
    assertValid(model);
  });
});

describe('toposort', () => {
  it('sorts shuffled graphs and subgraphs, and names the nodes of a cycle', async () => {
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', 'float32', [3]);
    const cond = b.input('c', 'bool', []);
    const then = b.subgraph('then', (g) => {
      const a = g.op('Relu', [x]);
      g.output(g.op('Neg', [a]), 'float32', [3]);
    });
    const y = b.op('If', [cond], { then_branch: then, else_branch: b.subgraph('else', (g) => g.output(g.op('Abs', [x]), 'float32', [3])) });
    b.output(b.op('Exp', [b.op('Sin', [y])]), 'float32', [3]);
    const model = b.build();
    const sorted = model.clone();
    model.graph.nodes.reverse();
    then.node.reverse();
    model.invalidate();
    expect(toposortModel(model)).toBeGreaterThan(0);
    assertValid(model);
    await sameOutputs(sorted, model, { ...x3, c: { type: 'bool', dims: [], data: Uint8Array.of(1) } });

    const cyc = new ModelBuilder({ opset: 17 });
    const cx = cyc.input('x', 'float32', [1]);
    cyc.addNode(createNode('Add', [cx, 'b'], ['a'], { name: 'n1' }));
    cyc.addNode(createNode('Neg', ['a'], ['b'], { name: 'n2' }));
    cyc.output('b', 'float32', [1]);
    expect(() => toposortModel(cyc.build())).toThrow(expect.objectContaining({ code: ForgeErrorCode.INVALID_GRAPH, message: expect.stringMatching(/cycle.*n1/) }));
  });
});

describe('the cleanup pass', () => {
  it('runs identity, cast-fold, dead-code and toposort from a pipeline, keeping outputs equal', async () => {
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', 'float32', [3]);
    const a = b.op('Identity', [b.op('Cast', [x], { to: DataType.FLOAT })]);
    b.op('Exp', [a]);
    b.output(b.op('Relu', [a]), 'float32', [3]);
    const model = b.build();
    const before = model.clone();
    const pm = new PassManager({ registry: createBuiltinRegistry() });
    pm.addPipeline('cleanup');
    const r = await pm.run(model);
    expect(model.graph.nodes.map((n) => n.opType)).toEqual(['Relu']);
    // A named pipeline: each part runs, is checked and reports as itself.
    expect(r.passes.map((p) => p.name)).toEqual(['identity', 'cast-fold', 'dead-code', 'toposort']);
    const stat = (pass: string, key: string) => r.passes.find((p) => p.name === pass)?.stats[key];
    expect(stat('identity', 'removed')).toBe(1);
    expect(Number(stat('cast-fold', 'noOpRemoved') ?? 0) + Number(stat('cast-fold', 'duplicatesMerged') ?? 0)).toBe(1);
    expect(stat('dead-code', 'nodesRemoved')).toBe(1);
    await sameOutputs(before, model, x3);
  });

  it.each(['dead-code', 'identity', 'cast-fold', 'toposort'])('registers %s', (name) => {
    expect(createBuiltinRegistry().parse(name)[0]!.name).toBe(name);
  });

  it('registers cleanup as the pipeline of its four parts', () => {
    expect(createBuiltinRegistry().parse('cleanup').map((p) => p.name)).toEqual(['identity', 'cast-fold', 'dead-code', 'toposort']);
  });
});
