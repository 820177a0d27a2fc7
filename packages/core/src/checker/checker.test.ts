import { describe, expect, it } from 'vitest';
import { type GraphBuilder, ModelBuilder } from '../builder/model-builder.js';
import { DataType as D } from '../dtype.js';
import { attr } from '../ir/attributes.js';
import { createNode, type Model } from '../ir/model.js';
import { createTensor } from '../ir/tensor.js';
import { onnx } from '../proto/onnx.generated.js';
import type { NodeProto } from '../proto/types.js';
import { ORT_MAX_IR_VERSION, checkModel } from './checker.js';
import { CheckCode, type CheckProblem } from './problem.js';

interface Case {
  name: string;
  code: CheckCode;
  /** A model that breaks the rule once. */
  invalid: () => Model;
  /** The same model with the rule kept. */
  valid: () => Model;
  /** Checked on the invalid model's problem for that code. */
  expectProblem?: Partial<CheckProblem>;
}

/** x (float32[2]) -> Relu -> y, with `mutate` applied to the builder before the output is declared. */
function relu(opset = 17, extra?: (b: ModelBuilder, x: string) => string): Model {
  const b = new ModelBuilder({ opset });
  const x = b.input('x', 'float32', [2]);
  const r = b.op('Relu', [x], {}, { name: 'relu', outputs: ['r'] });
  b.output(extra ? extra(b, r) : r, 'float32', [2]);
  return b.build();
}

function twoNodes(order: 'sorted' | 'reversed' | 'cycle'): Model {
  const m = relu(17, (b, r) => b.op('Neg', [r], {}, { name: 'neg', outputs: ['n'] }));
  const [first, second] = m.graph.nodes as [NodeProto, NodeProto];
  if (order === 'reversed') m.graph.nodes.reverse();
  if (order === 'cycle') first.input[0] = second.output[0] as string;
  m.graph.invalidate();
  return m;
}

/** An If whose branches read `early` (defined before it), `late` (defined after it, or also feeding on the If: a cycle) or a name defined nowhere. */
function ifModel(branchReads: 'before' | 'after' | 'cycle' | 'nowhere'): Model {
  const b = new ModelBuilder({ opset: 17 });
  const x = b.input('x', 'float32', [2]);
  const cond = b.input('cond', 'bool', []);
  const early = b.op('Relu', [x], {}, { outputs: ['early'] });
  const read = { before: early, after: 'late', cycle: 'late', nowhere: 'nowhere' }[branchReads];
  const branch = (g: GraphBuilder, name: string) => {
    const out = g.op('Identity', [read], {}, { outputs: [name] });
    g.output(out, 'float32', [2]);
  };
  const thenG = b.subgraph('then', (g) => branch(g, 'then_out'));
  const elseG = b.subgraph('else', (g) => branch(g, 'else_out'));
  const y = b.op('If', [cond], { then_branch: thenG, else_branch: elseG }, { name: 'if', outputs: ['y'] });
  b.op('Neg', [branchReads === 'cycle' ? y : early], {}, { name: 'neg', outputs: ['late'] });
  b.output(y, 'float32', [2]);
  return b.build();
}

const cases: Case[] = [
  {
    name: 'a cycle', code: CheckCode.CYCLE,
    invalid: () => twoNodes('cycle'), valid: () => twoNodes('sorted'),
    expectProblem: { message: expect.stringContaining('"relu"') as unknown as string },
  },
  {
    name: 'nodes out of topological order', code: CheckCode.NOT_TOPOLOGICAL,
    invalid: () => twoNodes('reversed'), valid: () => twoNodes('sorted'),
    expectProblem: { node: 'neg', value: 'r' },
  },
  {
    name: 'an input defined nowhere', code: CheckCode.UNDEFINED_INPUT,
    invalid: () => relu(17, (b, r) => b.op('Add', [r, 'nowhere'], {}, { name: 'add' })),
    valid: () => relu(17, (b, r) => b.op('Add', [r, 'x'], {}, { name: 'add' })),
    expectProblem: { node: 'add', value: 'nowhere' },
  },
  {
    name: 'a subgraph reading an outer value defined nowhere', code: CheckCode.UNDEFINED_INPUT,
    invalid: () => ifModel('nowhere'), valid: () => ifModel('before'),
    expectProblem: { graph: 'main/if.then', value: 'nowhere' },
  },
  {
    name: 'a subgraph reading an outer value produced after its node', code: CheckCode.NOT_TOPOLOGICAL,
    invalid: () => ifModel('after'), valid: () => ifModel('before'),
    expectProblem: { graph: 'main/if.then', value: 'late' },
  },
  {
    name: 'a cycle through a subgraph read', code: CheckCode.CYCLE,
    invalid: () => ifModel('cycle'), valid: () => ifModel('before'),
    expectProblem: { graph: 'main', message: 'graph main has a cycle through "if", "neg"' },
  },
  {
    name: 'a value assigned twice', code: CheckCode.DUPLICATE_DEFINITION,
    invalid: () => relu(17, (b, r) => {
      b.addNode(createNode('Neg', [r], ['dup'], { name: 'neg1' }));
      b.addNode(createNode('Neg', [r], ['dup'], { name: 'neg2' }));
      return 'dup';
    }),
    valid: () => relu(17, (b, r) => {
      b.addNode(createNode('Neg', [r], ['dup'], { name: 'neg1' }));
      return 'dup';
    }),
    expectProblem: { node: 'neg2', value: 'dup' },
  },
  {
    name: 'a domain missing from opset_import', code: CheckCode.MISSING_OPSET,
    invalid: () => relu(17, (b, r) => b.op('FastGelu', [r], {}, { name: 'gelu', domain: 'com.microsoft' })),
    valid: () => {
      const m = relu(17, (b, r) => b.op('FastGelu', [r], {}, { name: 'gelu', domain: 'com.microsoft' }));
      m.ensureOpset('com.microsoft', 1);
      return m;
    },
    expectProblem: { node: 'gelu' },
  },
  {
    name: 'an attribute of the wrong type', code: CheckCode.ATTRIBUTE_TYPE,
    invalid: () => relu(17, (b, r) => b.op('Cast', [r], { to: attr.float('to', 1) }, { name: 'cast' })),
    valid: () => relu(17, (b, r) => b.op('Cast', [r], { to: D.FLOAT }, { name: 'cast' })),
    expectProblem: { node: 'cast', message: 'attribute "to" of Cast must be INT, not FLOAT' },
  },
  {
    name: 'an attribute the operator does not have', code: CheckCode.ATTRIBUTE_TYPE,
    invalid: () => relu(17, (b, r) => b.op('Softmax', [r], { axes: [0] }, { name: 'sm' })),
    valid: () => relu(17, (b, r) => b.op('Softmax', [r], { axis: 0 }, { name: 'sm' })),
    expectProblem: { node: 'sm', message: 'Softmax-13 has no attribute "axes"' },
  },
  {
    name: 'an attribute payload that does not match its declared type', code: CheckCode.ATTRIBUTE_TYPE,
    invalid: () => relu(17, (b, r) => b.op('Transpose', [r], { perm: new onnx.AttributeProto({ name: 'perm', type: 7, floats: [0] }) }, { name: 'tr' })),
    valid: () => relu(17, (b, r) => b.op('Transpose', [r], { perm: [0] }, { name: 'tr' })),
  },
  {
    name: 'a required attribute missing', code: CheckCode.MISSING_ATTRIBUTE,
    invalid: () => relu(17, (b, r) => b.op('Cast', [r], {}, { name: 'cast' })),
    valid: () => relu(17, (b, r) => b.op('Cast', [r], { to: D.FLOAT }, { name: 'cast' })),
    expectProblem: { node: 'cast', message: 'Cast-13 requires attribute "to"' },
  },
  {
    name: 'too few inputs', code: CheckCode.ARITY,
    invalid: () => relu(17, (b, r) => b.op('Add', [r], {}, { name: 'add' })),
    valid: () => relu(17, (b, r) => b.op('Add', [r, r], {}, { name: 'add' })),
    expectProblem: { node: 'add', message: 'Add-14 takes 2 inputs, got 1' },
  },
  {
    name: 'too many outputs', code: CheckCode.ARITY,
    invalid: () => relu(17, (b, r) => b.op('Neg', [r], {}, { name: 'neg', outputs: ['n', 'n2'] })),
    valid: () => relu(17, (b, r) => b.op('Neg', [r], {}, { name: 'neg', outputs: ['n'] })),
  },
  {
    name: 'a required input left empty', code: CheckCode.ARITY,
    invalid: () => relu(17, (b, r) => b.op('Gemm', ['', r], {}, { name: 'gemm' })),
    valid: () => relu(17, (b, r) => b.op('Gemm', [r, r], {}, { name: 'gemm' })),
    expectProblem: { message: 'input 0 (A) of Gemm is required but empty' },
  },
  {
    name: 'one type variable bound to two types, Add(float32, float16)', code: CheckCode.TYPE_MISMATCH,
    invalid: () => relu(17, (b, r) => b.op('Add', [r, b.input('h', 'float16', [2])], {}, { name: 'add' })),
    valid: () => relu(17, (b, r) => b.op('Add', [r, b.input('h', 'float32', [2])], {}, { name: 'add' })),
    expectProblem: { node: 'add', value: 'h', message: 'Add binds T to float32 (input 0 "r") and to float16 (input 1 "h")' },
  },
  {
    name: 'an input type outside its constraint: Resize scales in float16', code: CheckCode.TYPE_MISMATCH,
    invalid: () => relu(17, (b, r) => b.op('Resize', [r, '', b.constant([2], 'float16')], {}, { name: 'resize' })),
    valid: () => relu(17, (b, r) => b.op('Resize', [r, '', b.constant([2], 'float32')], {}, { name: 'resize' })),
    expectProblem: { node: 'resize', message: expect.stringMatching(/input 2 ".*" of Resize-13 is float16; scales allows float32$/) as unknown as string },
  },
  {
    name: 'a declared type that disagrees with the operator (Cast to float16 declared float32)', code: CheckCode.TYPE_MISMATCH,
    invalid: () => relu(17, (b, r) => {
      const c = b.op('Cast', [r], { to: D.FLOAT16 }, { name: 'cast', outputs: ['c'] });
      b.valueInfo(c, 'float32');
      return b.op('Cast', [c], { to: D.FLOAT });
    }),
    valid: () => relu(17, (b, r) => {
      const c = b.op('Cast', [r], { to: D.FLOAT16 }, { name: 'cast', outputs: ['c'] });
      b.valueInfo(c, 'float16');
      return b.op('Cast', [c], { to: D.FLOAT });
    }),
    expectProblem: { node: 'cast', value: 'c', message: '"c" is declared float32 but cast produces float16' },
  },
  {
    name: 'a graph output declared with another type', code: CheckCode.TYPE_MISMATCH,
    invalid: () => relu(17, (b, r) => b.op('Cast', [r], { to: D.INT64 }, { name: 'cast' })),
    valid: () => relu(17, (b, r) => b.op('Cast', [r], { to: D.FLOAT }, { name: 'cast' })),
  },
  {
    name: 'If branches with different types', code: CheckCode.TYPE_MISMATCH,
    invalid: () => branches('float16'), valid: () => branches('float32'),
    expectProblem: { message: 'If output 0: then_branch gives float32, else_branch float16' },
  },
  {
    name: 'initializer raw data that does not fit its dims', code: CheckCode.TENSOR_DATA,
    invalid: () => relu(17, (b, r) => {
      b.toGraphProto().initializer.push(new onnx.TensorProto({ name: 'w', dataType: D.FLOAT, dims: [3], rawData: new Uint8Array(8) }));
      return b.op('Add', [r, 'w'], {});
    }),
    valid: () => relu(17, (b, r) => {
      b.toGraphProto().initializer.push(createTensor('w', D.FLOAT, [2], new Float32Array(2)));
      return b.op('Add', [r, 'w'], {});
    }),
    expectProblem: { value: 'w', message: 'tensor "w" has 8 bytes of raw data; its dims and type need 12' },
  },
  {
    name: 'a typed data field that does not fit its dims', code: CheckCode.TENSOR_DATA,
    invalid: () => relu(17, (b, r) => {
      b.toGraphProto().initializer.push(new onnx.TensorProto({ name: 'w', dataType: D.FLOAT, dims: [2], floatData: [1, 2, 3] }));
      return b.op('Add', [r, 'w'], {});
    }),
    valid: () => relu(17, (b, r) => {
      b.toGraphProto().initializer.push(new onnx.TensorProto({ name: 'w', dataType: D.FLOAT, dims: [2], floatData: [1, 2] }));
      return b.op('Add', [r, 'w'], {});
    }),
    expectProblem: { message: 'tensor "w" has 3 values in float_data; its dims and type need 2' },
  },
  {
    name: 'an operator removed from the imported opset', code: CheckCode.DEPRECATED_OP,
    invalid: () => relu(10, (b, r) => b.op('Upsample', [r, b.constant([2], 'float32')], {}, { name: 'up' })),
    valid: () => relu(10, (b, r) => b.op('Resize', [r, b.constant([2], 'float32')], {}, { name: 'up' })),
    expectProblem: { node: 'up', message: 'Upsample was removed at opset 10 of ai.onnx; this model imports 10' },
  },
];

function branches(elseType: 'float16' | 'float32'): Model {
  const b = new ModelBuilder({ opset: 17 });
  const x = b.input('x', 'float32', [2]);
  const cond = b.input('cond', 'bool', []);
  const thenG = b.subgraph('then', (g) => g.output(g.op('Identity', [x], {}, { outputs: ['t_out'] }), 'float32', [2]));
  const elseG = b.subgraph('else', (g) => {
    const c = g.op('Cast', [x], { to: elseType === 'float16' ? D.FLOAT16 : D.FLOAT }, { outputs: ['e_out'] });
    g.output(c, elseType, [2]);
  });
  b.output(b.op('If', [cond], { then_branch: thenG, else_branch: elseG }, { name: 'if' }), 'float32', [2]);
  return b.build();
}

const errors = (m: Model) => checkModel(m).problems.filter((p) => p.severity === 'error');

describe('checkModel', () => {
  it.each(cases)('valid: $name', ({ valid }) => {
    expect(errors(valid())).toEqual([]);
  });

  it.each(cases)('invalid: $name gives $code', ({ invalid, code, expectProblem }) => {
    const found = errors(invalid());
    expect(found.map((p) => p.code)).toContain(code);
    if (expectProblem) expect(found.find((p) => p.code === code)).toMatchObject(expectProblem);
  });

  it('checks without changing the graph (the cycle test no longer sorts and restores)', () => {
    const m = twoNodes('reversed');
    const before = m.graph.nodes.map((n) => n.name);
    checkModel(m);
    expect(m.graph.nodes.map((n) => n.name)).toEqual(before);
  });

  it('warns about operators it does not know instead of failing them', () => {
    const b = new ModelBuilder({ opset: 17, opsets: { 'org.custom': 1 } });
    const x = b.input('x', 'float32', [2]);
    const y = b.op('Mystery', [x], { anything: 1 }, { domain: 'org.custom' });
    b.output(b.op('FutureOp', [y], {}, { name: 'future' }), 'float32', [2]);
    const r = checkModel(b.build());
    expect(r.ok).toBe(true);
    expect(r.problems).toEqual([expect.objectContaining({ code: CheckCode.UNKNOWN_OP, severity: 'warning', node: 'future' })]);
  });

  it('treats a model past the table opset leniently', () => {
    // Opset 23 may allow more types or attributes than opset 21 did: findings become warnings.
    const r = checkModel(relu(23, (b, r) => b.op('Cast', [r], { to: D.FLOAT, round_mode: 'up' })));
    expect(r.ok).toBe(true);
    expect(r.problems.map((p) => [p.code, p.severity])).toEqual([[CheckCode.ATTRIBUTE_TYPE, 'warning']]);
  });

  it('accepts calls of model-local functions and checks the bodies', () => {
    const b = new ModelBuilder({ opset: 17, opsets: { 'local': 1 } });
    const x = b.input('x', 'float32', [2]);
    b.output(b.op('Twice', [x], {}, { domain: 'local' }), 'float32', [2]);
    const m = b.build();
    m.proto.functions.push(new onnx.FunctionProto({
      name: 'Twice', domain: 'local', input: ['a'], output: ['b'],
      opsetImport: [new onnx.OperatorSetIdProto({ domain: '', version: 17 })],
      node: [createNode('Add', ['a', 'a'], ['b'])],
    }));
    expect(errors(m)).toEqual([]);
    (m.proto.functions[0]?.node[0] as NodeProto).input.pop();
    m.invalidate();
    expect(errors(m).map((p) => [p.code, p.graph])).toEqual([[CheckCode.ARITY, 'function:local.Twice']]);
  });
});

describe('checkModel: IR versions onnxruntime loads', () => {
  const relu = (ir: number) => {
    const b = new ModelBuilder({ opset: 17, graphName: 'relu' });
    b.output(b.op('Relu', [b.input('x', 'float32', [2])]), 'float32', [2]);
    const m = b.build();
    m.proto.irVersion = ir;
    return m;
  };

  it('warns past the newest IR version onnxruntime loads, which it refuses, and is silent up to it', async () => {
    const ort = await import('onnxruntime-node');
    const newest = relu(ORT_MAX_IR_VERSION);
    expect(checkModel(newest).problems).toEqual([]);
    await (await ort.InferenceSession.create(newest.encode(), { logSeverityLevel: 4 })).release();
    const newer = relu(ORT_MAX_IR_VERSION + 1);
    const r = checkModel(newer);
    expect(r.ok).toBe(true);
    expect(r.problems).toEqual([expect.objectContaining({ code: CheckCode.IR_VERSION, severity: 'warning', message: expect.stringMatching(/^ir_version 14 is newer than onnxruntime 1\.30 loads \(13 at most\)/) })]);
    await expect(ort.InferenceSession.create(newer.encode(), { logSeverityLevel: 4 })).rejects.toThrow(/Unsupported model IR version/);
  });
});
