import { DataType, ForgeErrorCode, Model, ModelBuilder, PassManager, createNode, createTensor, getAttribute, onnx, tensorType, toNumber, type PassEvent } from '@onnx-forge/core';
import { describe, expect, it } from 'vitest';
import { createBuiltinRegistry } from '../builtin-passes.js';
import { convertToFp16, type Fp16Report } from './fp16-pass.js';
import { fp16Pass } from './fp16-pass.js';
import { cosine } from '../testing/compare.js';
import { BACKENDS, assertValid, f32, isTopologicallySorted, nodeRunner, nodesOf, runOnce, seeded } from '../testing/harness.js';

const F16 = DataType.FLOAT16;
const F32 = DataType.FLOAT;

/** x, y -> Relu(x * w + y) -> Sigmoid; node names mul, add, relu, sig. */
function small(): Model {
  const b = new ModelBuilder({ opset: 17 });
  const x = b.input('x', 'float32', [2, 3]);
  const y = b.input('y', 'float32', [2, 3]);
  const w = b.initializer('w', Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3]);
  const m = b.op('Mul', [x, w], {}, { name: 'mul' });
  const a = b.op('Add', [m, y], {}, { name: 'add' });
  const r = b.op('Relu', [a], {}, { name: 'relu' });
  b.output(b.op('Sigmoid', [r], {}, { name: 'sig' }), 'float32', [2, 3]);
  return b.build();
}

const feeds = () => ({ x: f32([2, 3], seeded(6, 1)), y: f32([2, 3], seeded(6, 2)) });

function ioTypes(model: Model): Record<string, number | undefined> {
  const out: Record<string, number | undefined> = {};
  for (const v of [...model.graph.inputs, ...model.graph.outputs]) out[v.name] = v.type?.tensorType?.elemType;
  return out;
}

function action(report: Fp16Report, node: string): string | undefined {
  return report.decisions.find((d) => d.node === node)?.action;
}

async function sameAsOriginal(original: Model, converted: Model, f = feeds()) {
  const a = await runOnce(nodeRunner, original, f);
  const b = await runOnce(nodeRunner, converted, f);
  for (const k of Object.keys(a)) expect(cosine(a[k]!, b[k]!), k).toBeGreaterThan(0.999);
}

describe('convertToFp16 options', () => {
  it.each([
    ['false', false, { x: F16, y: F16 }],
    ['true', true, { x: F32, y: F32 }],
    ['a list', ['x'], { x: F32, y: F16 }],
  ] as const)('keepIoTypes %s', async (_label, keepIoTypes, want) => {
    const model = small();
    await convertToFp16(model, { keepIoTypes: keepIoTypes as boolean | string[] });
    assertValid(model);
    const types = ioTypes(model);
    expect(types.x).toBe(want.x);
    expect(types.y).toBe(want.y);
    expect(types[model.graph.outputNames()[0]!]).toBe(keepIoTypes === true ? F32 : F16);
    expect(model.graph.initializer('w')!.dataType).toBe(F16);
  });

  it('rejects a keepIoTypes name that is not an input or output', async () => {
    await expect(convertToFp16(small(), { keepIoTypes: ['nope'] })).rejects.toThrow(expect.objectContaining({ code: ForgeErrorCode.INVALID_OPTIONS }));
  });

  it.each([
    ['blockOps', { blockOps: ['Add'] }, { mul: 'converted', add: 'kept', relu: 'converted' }, /in blockOps/],
    ['blockNodes', { blockNodes: ['relu'] }, { mul: 'converted', add: 'converted', relu: 'kept' }, /in blockNodes/],
    ['includeOps', { includeOps: ['Mul', 'Sigmoid'] }, { mul: 'converted', add: 'kept', sig: 'converted' }, /not in includeOps/],
  ] as const)('%s', async (_label, options, actions, reason) => {
    const original = small();
    const model = small();
    const report = await convertToFp16(model, { keepIoTypes: true, ...options });
    assertValid(model);
    for (const [node, want] of Object.entries(actions)) expect(action(report, node), node).toBe(want);
    expect(report.decisions.some((d) => reason.test(d.reason))).toBe(true);
    expect(report.castsAdded).toBeGreaterThan(2);
    await sameAsOriginal(original, model);
  });

  it('includeNodes converts a node the target table would keep, and says so', async () => {
    const model = small();
    const report = await convertToFp16(model, { target: 'cpu', includeNodes: ['sig'] });
    assertValid(model);
    const sig = report.decisions.find((d) => d.node === 'sig')!;
    expect(sig.action).toBe('converted');
    expect(sig.reason).toBe('in includeNodes');
    expect(report.decisions.find((d) => d.node === 'mul')?.reason).toMatch(/no float16 kernel on cpu/);
  });

  it.each([
    [{ target: 'gpu' }],
    [{ maxFinite: 70000 }],
    [{ minPositive: 1e-9 }],
    [{ maxFinite: 1, minPositive: 2 }],
    [{ nope: true }],
  ] as const)('rejects bad options %j', async (options) => {
    await expect(convertToFp16(small(), options as never)).rejects.toThrow(expect.objectContaining({ code: ForgeErrorCode.INVALID_OPTIONS }));
  });
});

describe('convertToFp16 constants', () => {
  const shared = (n: number) => {
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', 'float32', [n]);
    const c = b.initializer('c', seeded(n, 9), [n]);
    const a = b.op('Mul', [x, c], {}, { name: 'converted_mul' });
    const s = b.op('Softplus', [b.op('Add', [x, c], {}, { name: 'blocked_add' })]);
    b.output(b.op('Add', [a, s]), 'float32', [n]);
    return b.build();
  };

  it('stores a small constant twice when float16 and float32 nodes both read it', async () => {
    const original = shared(8);
    const model = shared(8);
    const report = await convertToFp16(model, { keepIoTypes: true, blockNodes: ['blocked_add'] });
    assertValid(model);
    expect(report.constantsDuplicated).toBe(1);
    expect(model.graph.initializer('c')!.dataType).toBe(F32);
    expect(model.graph.initializers.filter((t) => t.dataType === F16)).toHaveLength(1);
    await sameAsOriginal(original, model, { x: f32([8], seeded(8, 3)) } as never);
  });

  it('converts a large shared constant once and casts it back for the float32 reader', async () => {
    const original = shared(5000);
    const model = shared(5000);
    const report = await convertToFp16(model, { keepIoTypes: true, blockNodes: ['blocked_add'] });
    assertValid(model);
    expect(report.constantsDuplicated).toBe(0);
    expect(model.graph.initializer('c')!.dataType).toBe(F16);
    const back = nodesOf(model, 'Cast').find(({ node }) => node.input[0] === 'c');
    expect(toNumber(getAttribute(back!.node, 'to')!.i)).toBe(F32);
    await sameAsOriginal(original, model, { x: f32([5000], seeded(5000, 3)) } as never);
  });

  it('keeps a constant read only by float32 nodes float32', async () => {
    const model = shared(8);
    const report = await convertToFp16(model, { keepIoTypes: true, blockOps: ['Mul', 'Add'] });
    expect(model.graph.initializer('c')!.dataType).toBe(F32);
    expect(report.initializersKept).toBe(1);
    expect(report.initializersConverted).toBe(0);
  });

  it('converts the default value of a model input along with the input', async () => {
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', 'float32', [2]);
    const bias = b.initializer('bias', Float32Array.of(0.5, -0.5), [2]);
    b.output(b.op('Add', [x, bias]), 'float32', [2]);
    const model = b.build();
    // The builder names each value once; declare the initializer as an input too (an overridable default).
    model.graph.inputs.push(new onnx.ValueInfoProto({ name: 'bias', type: tensorType(F32, [2]) }));
    model.invalidate();
    const kept = model.clone();
    await convertToFp16(model, { keepIoTypes: ['x'] });
    assertValid(model);
    expect(model.graph.initializer('bias')!.dataType).toBe(F16);
    expect(ioTypes(model).bias).toBe(F16);
    await convertToFp16(kept, { keepIoTypes: true });
    expect(kept.graph.initializer('bias')!.dataType).toBe(F32);
  });

  it('converts Constant nodes, value_float(s) included', async () => {
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', 'float32', [2]);
    const c1 = b.op('Constant', [], { value_float: 0.5 });
    const c2 = b.op('Constant', [], { value_floats: [1.5, -2.5] });
    const c3 = b.op('ConstantOfShape', [b.constant([2], 'int64', [1])], { value: createTensor('v', F32, [1], Float32Array.of(3)) });
    b.output(b.op('Sum', [x, c1, c2, c3]), 'float32', [2]);
    const original = b.build();
    const model = original.clone();
    await convertToFp16(model, { keepIoTypes: true });
    assertValid(model);
    for (const { node } of [...nodesOf(model, 'Constant'), ...nodesOf(model, 'ConstantOfShape')]) {
      expect(getAttribute(node, 'value')?.t?.dataType, node.opType).toBe(F16);
    }
    await sameAsOriginal(original, model, { x: f32([2], [1, 2]) } as never);
  });
});

describe('convertToFp16 reports', () => {
  it('decides every node exactly once and counts Casts and bytes', async () => {
    const model = small();
    const nodes = model.graph.nodes.length;
    const report = await convertToFp16(model, { keepIoTypes: true, blockNodes: ['add'] });
    expect(report.decisions).toHaveLength(nodes);
    expect(new Set(report.decisions.map((d) => d.node)).size).toBe(nodes);
    expect(report.nodesConverted + report.nodesKept + report.nodesUnchanged).toBe(nodes);
    expect(report.castsAdded).toBe(nodesOf(model, 'Cast').length);
    expect(report.bytesBefore).toBe(24);
    expect(report.bytesAfter).toBe(12);
    for (const d of report.decisions) expect(d.reason.length, d.node).toBeGreaterThan(3);
  });

  it('keeps an op of an unknown domain, with Casts around it and the reason', async () => {
    const b = new ModelBuilder({ opset: 17, opsets: { 'my.ops': 1 } });
    const x = b.input('x', 'float32', [2]);
    const custom = b.op('Frobnicate', [b.op('Relu', [x])], {}, { domain: 'my.ops', name: 'custom' });
    b.valueInfo(custom, 'float32', [2]);
    b.output(b.op('Neg', [custom]), 'float32', [2]);
    const model = b.build();
    const report = await convertToFp16(model);
    assertValid(model);
    const d = report.decisions.find((x) => x.node === 'custom')!;
    expect(d.action).toBe('kept');
    expect(d.reason).toMatch(/no type signature known for my\.ops\.Frobnicate/);
    const c = model.graph.nodes.find((n) => n.name === 'custom')!;
    expect(model.graph.producer(c.input[0]!)?.opType).toBe('Cast');
  });

  it('keeps nodes whose input type is unknown, and warns instead of guessing', async () => {
    const b = new ModelBuilder({ opset: 17, opsets: { 'my.ops': 1 } });
    const x = b.input('x', 'float32', [2]);
    const custom = b.op('Frobnicate', [x], {}, { domain: 'my.ops', name: 'custom' });
    b.output(b.op('Neg', [custom], {}, { name: 'after' }), 'float32', [2]);
    const model = b.build();
    const report = await convertToFp16(model);
    assertValid(model);
    expect(report.unknownTypes.map((u) => u.value)).toEqual([custom]);
    expect(report.warnings[0]).toMatch(/no known element type/);
    const after = report.decisions.find((d) => d.node === 'after')!;
    expect(after.action).toBe('kept');
    expect(after.reason).toMatch(/unknown element type/);
  });

  it('is idempotent: converting a converted model changes nothing', async () => {
    const model = small();
    await convertToFp16(model);
    const once = model.encode();
    const report = await convertToFp16(model);
    expect(report.castsAdded).toBe(0);
    expect(report.nodesConverted).toBe(0);
    expect(Buffer.from(model.encode()).equals(Buffer.from(once))).toBe(true);
  });

  it('upgrades an opset < 7 model to 13 first (Cast-1 does not load in onnxruntime), says so, then converts', async () => {
    const b = new ModelBuilder({ opset: 5, irVersion: 3 });
    b.output(b.op('Relu', [b.input('x', 'float32', [2])]), 'float32', [2]);
    const model = b.build();
    const report = await convertToFp16(model, { target: 'any', keepIoTypes: true });
    expect(model.opset('')).toBe(13);
    expect(report.nodesConverted).toBe(1);
    expect(report.warnings[0]).toMatch(/opset 5; float16 needs opset 7 or later .*upgraded to 13/);
    assertValid(model);
    const out = await runOnce(nodeRunner, model, { x: f32([2], [-1, 2]) });
    expect(Array.from(out[model.graph.outputNames()[0] as string]?.data as Float32Array)).toEqual([0, 2]);
    // At opset 6 (Cast takes a type number there) the reason given is still the one that holds.
    const six = new ModelBuilder({ opset: 6, irVersion: 3 });
    six.output(six.op('Relu', [six.input('x', 'float32', [2])]), 'float32', [2]);
    const r6 = await convertToFp16(six.build(), { target: 'any', keepIoTypes: true });
    expect(r6.warnings[0]).toMatch(/^the model imported ai\.onnx opset 6; float16 needs opset 7 or later/);
    expect(r6.warnings[0]).not.toMatch(/need opset 6/);
  });

  it('reports progress while converting large initializers', async () => {
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', 'float32', [1 << 22]);
    let y = x;
    for (let i = 0; i < 3; i++) y = b.op('Mul', [y, b.initializer(`w${i}`, new Float32Array(1 << 22).fill(0.5), [1 << 22])]);
    b.output(y, 'float32', [1 << 22]);
    const events: [number, number][] = [];
    await convertToFp16(b.build(), {}, { onEvent: (e) => void (e.type === 'progress' && events.push([e.done, e.total])) });
    expect(events.length).toBeGreaterThan(1);
    expect(events.at(-1)![0]).toBe(events.at(-1)![1]);
  });
});

describe('convertToFp16 subgraphs and functions', () => {
  it('converts a Loop body, carried state keeping its type at the boundary', async () => {
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', 'float32', [3]);
    const body = b.subgraph('body', (g) => {
      g.input('i', 'int64', []);
      const cond = g.input('cond_in', 'bool', []);
      const acc = g.input('acc', 'float32', [3]);
      g.output(g.op('Identity', [cond]), 'bool', []);
      g.output(g.op('Add', [g.op('Mul', [acc, g.constant([0.5, 0.25, 2], 'float32', [3])]), x]), 'float32', [3]);
    });
    const out = b.op('Loop', [b.constant(3, 'int64'), '', x], { body });
    b.output(out, 'float32', [3]);
    const original = b.build();
    const model = original.clone();
    const report = await convertToFp16(model, { keepIoTypes: true });
    assertValid(model);
    expect(isTopologicallySorted(model)).toBe(true);
    expect(report.decisions.find((d) => d.opType === 'Loop')?.action).toBe('kept');
    expect(report.decisions.filter((d) => d.graph.includes('body') && d.action === 'converted').length).toBeGreaterThan(0);
    for (const { runner } of BACKENDS) {
      const a = await runOnce(runner, original, { x: f32([3], [1, 2, 3]) });
      const c = await runOnce(runner, model, { x: f32([3], [1, 2, 3]) });
      expect(cosine(Object.values(a)[0]!, Object.values(c)[0]!)).toBeGreaterThan(0.999);
    }
  });

  it('converts a model-local function body with its Casts inside the body', async () => {
    const b = new ModelBuilder({ opset: 17, opsets: { 'my.fn': 1 } });
    const x = b.input('x', 'float32', [4]);
    const y = b.op('ScaledTanh', [b.op('Mul', [x, b.constant([1, 2, 3, 4], 'float32', [4])])], {}, { domain: 'my.fn', name: 'call' });
    b.output(y, 'float32', [4]);
    const model = b.build();
    const fn = new onnx.FunctionProto({
      name: 'ScaledTanh', domain: 'my.fn', input: ['a'], output: ['out'],
      opsetImport: [new onnx.OperatorSetIdProto({ domain: '', version: 17 })],
      node: [
        createNode('Constant', [], ['k'], { attributes: { value_float: 0.5 } }),
        createNode('Mul', ['a', 'k'], ['ak']),
        createNode('Tanh', ['ak'], ['out']),
      ],
    });
    model.proto.functions.push(fn);
    const original = model.clone();
    const report = await convertToFp16(model, { keepIoTypes: true });
    assertValid(model);
    expect(report.decisions.find((d) => d.node === 'call')?.action).toBe('kept');
    expect(report.decisions.filter((d) => d.graph.startsWith('function:') && d.action === 'converted').length).toBeGreaterThanOrEqual(2);
    const body = model.proto.functions[0]!;
    expect(body.node.filter((n) => n.opType === 'Cast').length).toBe(2);
    expect(model.graph.nodes.filter((n) => n.opType === 'Cast').every((n) => !body.output.includes(n.input[0]!))).toBe(true);
    await sameAsOriginal(original, model, { x: f32([4], [0.1, -0.2, 0.3, 0.4]) } as never);
  });

  it('treats a declared value_info type on a subgraph output consistently', async () => {
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', 'float32', [2]);
    const cond = b.input('c', 'bool', []);
    const branch = (name: string, op: string) => b.subgraph(name, (g) => g.output(g.op(op, [x]), 'float32', [2]));
    const y = b.op('If', [cond], { then_branch: branch('t', 'Relu'), else_branch: branch('e', 'Neg') });
    b.output(y, 'float32', [2]);
    const model = b.build();
    model.graph.valueInfos.push(new onnx.ValueInfoProto({ name: y, type: tensorType(F32, [2]) }));
    await convertToFp16(model);
    assertValid(model);
    // The If's output keeps its type (subgraph boundaries do), so the model output, made in float32,
    // stays float32 without keepIoTypes, and the declared value_info agrees with it.
    expect(model.graph.outputs[0]!.type!.tensorType!.elemType).toBe(F32);
    expect(model.graph.valueInfos.filter((v) => v.name === y).map((v) => v.type!.tensorType!.elemType)).toEqual([F32]);
    // Inside the branches Relu and Neg compute in float16 (x is float16: they read it).
    expect(model.graph.inputs[0]!.type!.tensorType!.elemType).toBe(F16);
  });
});

describe('the fp16 pass', () => {
  it('runs from a pipeline string with cleanup, recording decisions and statistics', async () => {
    const pm = new PassManager({ registry: createBuiltinRegistry() });
    pm.addPipeline('fp16{keepIoTypes=true,blockOps=[Add],target=any},cleanup');
    const original = small();
    const model = small();
    const events: PassEvent[] = [];
    const pm2 = new PassManager({ registry: createBuiltinRegistry(), onEvent: (e) => events.push(e) });
    pm2.addPipeline('fp16{keepIoTypes=true,blockOps=[Add],target=any},cleanup');
    const r = await pm2.run(model);
    expect(r.passes.map((p) => p.name)).toEqual(['fp16', 'identity', 'cast-fold', 'dead-code', 'toposort']);
    const fp16 = r.passes[0]!;
    expect(fp16.decisions.find((d) => d.node === 'add')?.reason).toBe('in blockOps');
    expect(fp16.stats.castsAdded).toBeGreaterThan(0);
    expect(fp16.bytesAfter).toBe(fp16.bytesBefore / 2);
    expect(events.some((e) => e.type === 'pass-end')).toBe(true);
    expect(pm.pipeline).toHaveLength(5);
    await sameAsOriginal(original, model);
  });

  it('takes keepIoTypes as a list of names from text', () => {
    const pass = fp16Pass.fromText({ keepIoTypes: ['x'], target: 'wasm' });
    expect(pass.options.keepIoTypes).toEqual(['x']);
    expect(pass.options.target).toBe('wasm');
    expect(fp16Pass.fromText({ keepIoTypes: '' }).options.keepIoTypes).toBe(true);
  });
});
