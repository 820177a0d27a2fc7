import { describe, expect, it } from 'vitest';
import { type DTypeLike, ModelBuilder, type GraphBuilder } from '../builder/model-builder.js';
import { DataType as D, dataTypeFromName } from '../dtype.js';
import { attr } from '../ir/attributes.js';
import type { Graph } from '../ir/graph.js';
import { type Model, createNode } from '../ir/model.js';
import { scalarTensor } from '../ir/tensor.js';
import { onnx } from '../proto/onnx.generated.js';
import { inferElemTypes } from './infer-elem-types.js';
import { formatValueType } from './value-type.js';

interface Case {
  name: string;
  opset?: number;
  opsets?: Record<string, number>;
  build: (b: ModelBuilder) => void;
  /** Expected element types of values of the main graph (undefined: unknown). */
  expect: Record<string, DTypeLike | undefined>;
}

const t = (d: DTypeLike) => (typeof d === 'number' ? d : dataTypeFromName(d));

// Outputs are left undeclared (`out` names them without a type) so only inference can type them.
const cases: Case[] = [
  {
    name: 'type variables bind outputs to inputs (Add, MatMul, Relu chain)',
    build: (b) => {
      const x = b.input('x', 'float16', [2, 2]);
      const w = b.initializer('w', new Uint16Array(4), [2, 2], 'float16');
      b.op('MatMul', [x, w], {}, { outputs: ['mm'] });
      b.op('Relu', ['mm'], {}, { outputs: ['r'] });
      b.op('Add', ['r', x], {}, { outputs: ['sum'] });
    },
    expect: { mm: 'float16', r: 'float16', sum: 'float16' },
  },
  {
    name: 'attributes decide: Cast to, CastLike, EyeLike/RandomX/Multinomial/Bernoulli dtype and defaults',
    build: (b) => {
      const x = b.input('x', 'float32', [2, 2]);
      const i = b.input('i', 'int32', [2, 2]);
      b.op('Cast', [x], { to: D.FLOAT16 }, { outputs: ['cast'] });
      b.op('CastLike', [x, i], {}, { outputs: ['castlike'] });
      b.op('EyeLike', [i], {}, { outputs: ['eye_default'] });
      b.op('EyeLike', [x], { dtype: D.DOUBLE }, { outputs: ['eye_double'] });
      b.op('RandomNormal', [], { shape: [2] }, { outputs: ['rn_default'] });
      b.op('RandomUniform', [], { shape: [2], dtype: D.FLOAT16 }, { outputs: ['ru_half'] });
      b.op('RandomNormalLike', [x], { dtype: D.DOUBLE }, { outputs: ['rnl'] });
      b.op('RandomUniformLike', [x], {}, { outputs: ['rul'] });
      b.op('Multinomial', [x], {}, { outputs: ['multi_default'] });
      b.op('Multinomial', [x], { dtype: D.INT64 }, { outputs: ['multi64'] });
      b.op('Bernoulli', [x], {}, { outputs: ['bern_default'] });
      b.op('Bernoulli', [x], { dtype: D.BOOL }, { outputs: ['bern_bool'] });
    },
    expect: {
      cast: 'float16', castlike: 'int32', eye_default: 'int32', eye_double: 'float64', rn_default: 'float32', ru_half: 'float16',
      rnl: 'float64', rul: 'float32', multi_default: 'int32', multi64: 'int64', bern_default: 'float32', bern_bool: 'bool',
    },
  },
  {
    name: 'constants: Constant value*, ConstantOfShape value and its float default, Range from its inputs',
    build: (b) => {
      b.op('Constant', [], { value: scalarTensor('v', D.INT32, 3) }, { outputs: ['c_tensor'] });
      b.op('Constant', [], { value_float: attr.float('value_float', 1.5) }, { outputs: ['c_float'] });
      b.op('Constant', [], { value_ints: [1, 2] }, { outputs: ['c_ints'] });
      b.op('Constant', [], { value_strings: ['a'] }, { outputs: ['c_strings'] });
      const shape = b.constant([2, 3], 'int64');
      b.op('ConstantOfShape', [shape], {}, { outputs: ['cos_default'] });
      b.op('ConstantOfShape', [shape], { value: scalarTensor('v', D.INT8, 1, [1]) }, { outputs: ['cos_int8'] });
      const s = b.constant(0, 'int32');
      b.op('Range', [s, s, s], {}, { outputs: ['range'] });
    },
    expect: { c_tensor: 'int32', c_float: 'float32', c_ints: 'int64', c_strings: 'string', cos_default: 'float32', cos_int8: 'int8', range: 'int32' },
  },
  {
    name: 'fixed output types: Shape, Size, ArgMax, NonZero, TopK indices, MatMulInteger, ConvInteger',
    build: (b) => {
      const x = b.input('x', 'float16', [1, 1, 4, 4]);
      const u = b.input('u', 'uint8', [1, 1, 4, 4]);
      const w = b.input('w', 'int8', [1, 1, 3, 3]);
      b.op('Shape', [x], {}, { outputs: ['shape'] });
      b.op('Size', [x], {}, { outputs: ['size'] });
      b.op('ArgMax', [x], {}, { outputs: ['argmax'] });
      b.op('NonZero', [x], {}, { outputs: ['nonzero'] });
      const k = b.constant([2], 'int64');
      b.op('TopK', [x, k], {}, { outputs: ['top_values', 'top_indices'] });
      b.op('MatMulInteger', [u, u], {}, { outputs: ['mmi'] });
      b.op('ConvInteger', [u, w], {}, { outputs: ['convi'] });
    },
    expect: { shape: 'int64', size: 'int64', argmax: 'int64', nonzero: 'int64', top_values: 'float16', top_indices: 'int64', mmi: 'int32', convi: 'int32' },
  },
  {
    name: 'quantization: QuantizeLinear from the zero point or uint8, DequantizeLinear 13 vs 19, DynamicQuantizeLinear',
    opset: 19,
    build: (b) => {
      const x = b.input('x', 'float32', [4]);
      const h = b.input('h', 'float16', [4]);
      const scale = b.constant(0.1, 'float32');
      const hscale = b.constant(0.1, 'float16');
      const zp = b.constant(0, 'int8');
      b.op('QuantizeLinear', [x, scale, zp], {}, { outputs: ['q_int8'] });
      b.op('QuantizeLinear', [x, scale], {}, { outputs: ['q_default'] });
      b.op('QuantizeLinear', [h, hscale], {}, { outputs: ['q_half'] });
      b.op('DequantizeLinear', ['q_int8', scale, zp], {}, { outputs: ['dq_float'] });
      b.op('DequantizeLinear', ['q_half', hscale], {}, { outputs: ['dq_half'] });
      b.op('DynamicQuantizeLinear', [x], {}, { outputs: ['dql_y', 'dql_scale', 'dql_zp'] });
    },
    expect: { q_int8: 'int8', q_default: 'uint8', q_half: 'uint8', dq_float: 'float32', dq_half: 'float16', dql_y: 'uint8', dql_scale: 'float32', dql_zp: 'uint8' },
  },
  {
    name: 'LayerNormalization statistics in stash_type; Dropout mask bool; BatchNormalization running stats',
    build: (b) => {
      const x = b.input('x', 'float16', [2, 4]);
      const g = b.initializer('g', new Uint16Array(4), [4], 'float16');
      b.op('LayerNormalization', [x, g, g], {}, { outputs: ['ln', 'ln_mean', 'ln_inv'] });
      b.op('Dropout', [x], {}, { outputs: ['drop', 'mask'] });
    },
    expect: { ln: 'float16', ln_mean: 'float32', ln_inv: 'float32', drop: 'float16', mask: 'bool' },
  },
  {
    name: 'com.microsoft operators',
    opsets: { 'com.microsoft': 1 },
    build: (b) => {
      const x = b.input('x', 'float16', [1, 8, 16]);
      const a8 = b.input('a8', 'uint8', [4, 4]);
      const ms = { domain: 'com.microsoft' };
      b.op('FastGelu', [x], {}, { ...ms, outputs: ['gelu'] });
      b.op('SkipLayerNormalization', [x, x, b.initializer('gamma', new Uint16Array(16), [16], 'float16')], {}, { ...ms, outputs: ['sln', 'sln_mean', 'sln_inv', 'sln_sum'] });
      const f = b.constant(0.5, 'float32');
      b.op('MatMulIntegerToFloat', [a8, a8, f, f], {}, { ...ms, outputs: ['mmitf'] });
      b.op('DynamicQuantizeMatMul', [b.input('af', 'float32', [4, 4]), b.initializer('bq', new Int8Array(16), [4, 4]), f], {}, { ...ms, outputs: ['dqmm'] });
      b.op('QuantizeLinear', [x, b.constant(0.5, 'float16')], {}, { ...ms, outputs: ['msq'] });
      b.op('GroupQueryAttention', [x, x, x, '', '', b.input('seqlens', 'int32', [1]), b.input('total', 'int32', [])],
        { num_heads: 2, kv_num_heads: 2 }, { ...ms, outputs: ['gqa', 'gqa_k', 'gqa_v'] });
    },
    expect: { gelu: 'float16', sln: 'float16', sln_mean: 'float32', sln_sum: 'float16', mmitf: 'float32', dqmm: 'float32', msq: 'uint8', gqa: 'float16', gqa_k: 'float16', gqa_v: 'float16' },
  },
  {
    name: 'sequences and optionals',
    opset: 18,
    build: (b) => {
      const x = b.input('x', 'float32', [2]);
      b.op('SequenceConstruct', [x, x], {}, { outputs: ['seq'] });
      b.op('SequenceAt', ['seq', b.constant(0, 'int64')], {}, { outputs: ['at'] });
      b.op('ConcatFromSequence', ['seq'], { axis: 0 }, { outputs: ['cat'] });
      b.op('SequenceLength', ['seq'], {}, { outputs: ['len'] });
      b.op('Optional', [x], {}, { outputs: ['opt'] });
      b.op('OptionalGetElement', ['opt'], {}, { outputs: ['got'] });
    },
    // Sequences and optionals are not tensors: `get` gives nothing, `type` gives the container.
    expect: { seq: undefined, at: 'float32', cat: 'float32', len: 'int64', opt: undefined, got: 'float32' },
  },
];

function build(c: Case): Model {
  const options: ConstructorParameters<typeof ModelBuilder>[0] = { opset: c.opset ?? 17 };
  if (c.opsets) options.opsets = c.opsets;
  const b = new ModelBuilder(options);
  c.build(b);
  return b.build();
}

describe('inferElemTypes', () => {
  it.each(cases)('$name', (c) => {
    const model = build(c);
    const types = inferElemTypes(model);
    const got: Record<string, string | undefined> = {};
    const want: Record<string, string | undefined> = {};
    for (const [name, d] of Object.entries(c.expect)) {
      const v = types.get(model.graph, name);
      got[name] = v === undefined ? undefined : formatValueType({ kind: 'tensor', elemType: v });
      want[name] = d === undefined ? undefined : formatValueType({ kind: 'tensor', elemType: t(d) });
    }
    expect(got).toEqual(want);
    expect(types.unknown).toEqual([]);
  });

  it('types containers in full through `type`', () => {
    const model = build(cases.find((c) => c.name.startsWith('sequences')) as Case);
    const types = inferElemTypes(model);
    expect(formatValueType(types.type(model.graph, 'seq'))).toBe('seq(float32)');
    expect(formatValueType(types.type(model.graph, 'opt'))).toBe('optional(float32)');
  });

  it('infers through If branches and a Loop body whose inputs are typed by the node', () => {
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', 'float16', [2]);
    const cond = b.input('cond', 'bool', []);
    // Branches read x from the enclosing scope; nothing inside is declared.
    const thenG = b.subgraph('then', (g) => {
      g.op('Relu', [x], {}, { outputs: ['then_out'] });
      untypedOutput(g, 'then_out');
    });
    const elseG = b.subgraph('else', (g) => {
      g.op('Neg', [x], {}, { outputs: ['else_out'] });
      untypedOutput(g, 'else_out');
    });
    b.op('If', [cond], { then_branch: thenG, else_branch: elseG }, { outputs: ['if_out'] });
    // Loop body inputs and outputs carry no types: the node gives them.
    const body = b.subgraph('body', (g) => {
      untypedInput(g, 'iter');
      untypedInput(g, 'c_in');
      untypedInput(g, 'acc_in');
      g.op('Identity', ['c_in'], {}, { outputs: ['c_out'] });
      g.op('Add', ['acc_in', 'if_out'], {}, { outputs: ['acc_out'] });
      g.op('Cast', ['iter'], { to: D.FLOAT }, { outputs: ['scan_out'] });
      untypedOutput(g, 'c_out');
      untypedOutput(g, 'acc_out');
      untypedOutput(g, 'scan_out');
    });
    b.op('Loop', [b.constant([3], 'int64'), cond, x], { body }, { outputs: ['final', 'scanned'] });
    const model = b.build();
    const types = inferElemTypes(model);
    expect(types.unknown).toEqual([]);
    expect(types.get(model.graph, 'if_out')).toBe(D.FLOAT16);
    expect(types.get(model.graph, 'final')).toBe(D.FLOAT16);
    expect(types.get(model.graph, 'scanned')).toBe(D.FLOAT);
    const [loopBody] = model.graph.subgraphs(model.graph.nodes.find((n) => n.opType === 'Loop') as never);
    const bodyGraph = loopBody as Graph;
    expect(types.get(bodyGraph, 'iter')).toBe(D.INT64);
    expect(types.get(bodyGraph, 'c_in')).toBe(D.BOOL);
    expect(types.get(bodyGraph, 'acc_out')).toBe(D.FLOAT16);
    // Looking through scopes: the body sees x of the main graph.
    expect(types.get(bodyGraph, 'x')).toBe(D.FLOAT16);
  });

  it('infers Scan bodies from the scan inputs', () => {
    const b = new ModelBuilder({ opset: 16 });
    const init = b.input('init', 'float32', [2]);
    const xs = b.input('xs', 'float32', [3, 2]);
    const body = b.subgraph('body', (g) => {
      untypedInput(g, 's_in');
      untypedInput(g, 'x_in');
      g.op('Add', ['s_in', 'x_in'], {}, { outputs: ['s_out'] });
      g.op('Cast', ['s_out'], { to: D.DOUBLE }, { outputs: ['y_out'] });
      untypedOutput(g, 's_out');
      untypedOutput(g, 'y_out');
    });
    b.op('Scan', [init, xs], { body, num_scan_inputs: 1 }, { outputs: ['state', 'ys'] });
    const model = b.build();
    const types = inferElemTypes(model);
    expect([types.get(model.graph, 'state'), types.get(model.graph, 'ys')]).toEqual([D.FLOAT, D.DOUBLE]);
    expect(types.unknown).toEqual([]);
  });

  it('types a model-local function body from each call, and its outputs from the body', () => {
    const b = new ModelBuilder({ opset: 17, opsets: { 'custom.fn': 1 } });
    const x = b.input('x', 'float16', [2]);
    const y = b.input('y', 'float32', [2]);
    b.op('ScaledSquare', [x], { to: D.DOUBLE }, { domain: 'custom.fn', outputs: ['fx'] });
    b.op('ScaledSquare', [y], { to: D.DOUBLE }, { domain: 'custom.fn', outputs: ['fy'] });
    b.op('Shift', [x], {}, { domain: 'custom.fn', outputs: ['sx'] });
    const model = b.build();
    model.proto.functions.push(
      new onnx.FunctionProto({
        name: 'ScaledSquare', domain: 'custom.fn', input: ['a'], output: ['sq', 'wide'], attribute: ['to'],
        opsetImport: [new onnx.OperatorSetIdProto({ domain: '', version: 17 })],
        node: [
          createNode('Mul', ['a', 'a'], ['sq']),
          // `to` refers to the call's attribute.
          new onnx.NodeProto({ opType: 'Cast', input: ['sq'], output: ['wide'], attribute: [new onnx.AttributeProto({ name: 'to', refAttrName: 'to', type: 2 })] }),
        ],
      }),
      new onnx.FunctionProto({
        name: 'Shift', domain: 'custom.fn', input: ['a'], output: ['b'],
        opsetImport: [new onnx.OperatorSetIdProto({ domain: '', version: 17 })],
        node: [createNode('Identity', ['a'], ['b'])],
      }),
    );
    model.invalidate();
    // Two outputs declared on the node: rebuild it with both.
    const fxNode = model.graph.nodes[0] as (typeof model.graph.nodes)[number];
    fxNode.output.push('fx_wide');
    model.graph.invalidate();
    const types = inferElemTypes(model);
    expect(types.get(model.graph, 'fx')).toBe(D.FLOAT16);
    expect(types.get(model.graph, 'fx_wide')).toBe(D.DOUBLE);
    expect(types.get(model.graph, 'fy')).toBe(D.FLOAT);
    expect(types.get(model.graph, 'sx')).toBe(D.FLOAT16);
    const [scaled, shift] = model.functions() as [Graph, Graph];
    // Called with float16 and with float32: the body's product has no single type, and says so.
    expect(types.get(scaled, 'sq')).toBeUndefined();
    expect(types.get(scaled, 'wide')).toBe(D.DOUBLE);
    expect(types.unknown.map((u) => [u.value, u.reason])).toEqual([
      ['a', 'calls give it different types (float16, float32)'],
      ['sq', 'calls give it different types (float16, float32)'],
    ]);
    expect(types.get(shift, 'b')).toBe(D.FLOAT16);
    // What a pass rewriting the body once may rely on: the calls' agreed input types.
    expect(types.functionInputs(scaled)).toBeUndefined();
    expect(types.functionInputs(shift)).toEqual([{ kind: 'tensor', elemType: D.FLOAT16 }]);
  });

  it('gives no agreed input types for a function nobody calls, and agreed ones when calls match', () => {
    const b = new ModelBuilder({ opset: 17, opsets: { 'custom.fn': 1 } });
    const x = b.input('x', 'float32', [2]);
    const y = b.input('y', 'float32', [2]);
    b.op('Twice', [x], {}, { domain: 'custom.fn', outputs: ['tx'] });
    b.op('Twice', [y], {}, { domain: 'custom.fn', outputs: ['ty'] });
    const model = b.build();
    const body = (name: string) => new onnx.FunctionProto({
      name, domain: 'custom.fn', input: ['a'], output: ['b'],
      opsetImport: [new onnx.OperatorSetIdProto({ domain: '', version: 17 })],
      node: [createNode('Add', ['a', 'a'], ['b'])],
    });
    model.proto.functions.push(body('Twice'), body('Unused'));
    model.invalidate();
    const types = inferElemTypes(model);
    const [twice, unused] = model.functions() as [Graph, Graph];
    expect(types.functionInputs(twice)).toEqual([{ kind: 'tensor', elemType: D.FLOAT }]);
    expect(types.functionInputs(unused)).toBeUndefined();
  });

  it('lists every value it cannot type, with the reason, and falls back to declarations', () => {
    const b = new ModelBuilder({ opset: 17, opsets: { 'org.custom': 1 } });
    const x = b.input('x', 'float32', [2]);
    b.op('Mystery', [x], {}, { domain: 'org.custom', outputs: ['m1'] });
    b.op('Mystery', [x], {}, { domain: 'org.custom', outputs: ['m2'] });
    b.valueInfo('m2', 'float16');
    b.op('Relu', ['m1'], {}, { outputs: ['after'] });
    b.op('Relu', ['m2'], {}, { outputs: ['after_declared'] });
    b.op('Unheard', [x], {}, { outputs: ['std_unknown'] });
    const model = b.build();
    const types = inferElemTypes(model);
    expect(types.get(model.graph, 'm2')).toBe(D.FLOAT16);
    expect(types.get(model.graph, 'after_declared')).toBe(D.FLOAT16);
    const byValue = Object.fromEntries(types.unknown.map((u) => [u.value, u]));
    expect(Object.keys(byValue).sort()).toEqual(['after', 'm1', 'std_unknown']);
    expect(byValue.m1).toMatchObject({ graph: 'main', opType: 'Mystery', reason: expect.stringContaining('no schema for operator org.custom.Mystery') });
    expect(byValue.after?.reason).toContain('input(s) of unknown type: m1');
    expect(byValue.std_unknown?.reason).toContain('no schema for operator ai.onnx.Unheard');
  });

  it('keeps the operator type apart from a wrong declaration (what the checker compares)', () => {
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', 'float32', [2]);
    b.op('Cast', [x], { to: D.FLOAT16 }, { outputs: ['c'] });
    b.valueInfo('c', 'float32');
    const model = b.build();
    const types = inferElemTypes(model);
    expect(types.get(model.graph, 'c')).toBe(D.FLOAT16);
    expect(types.inferred(model.graph, 'c')).toEqual({ kind: 'tensor', elemType: D.FLOAT16 });
  });
});

/** A graph output with no declared type (the builder always declares one). */
function untypedOutput(g: GraphBuilder, name: string): void {
  g.toGraphProto().output.push(new onnx.ValueInfoProto({ name }));
}
/** A graph input with no declared type, as Loop and Scan bodies may have. */
function untypedInput(g: GraphBuilder, name: string): void {
  g.toGraphProto().input.push(new onnx.ValueInfoProto({ name }));
}
