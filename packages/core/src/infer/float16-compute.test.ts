import { DataType, Model, ModelBuilder, float32ArrayToFloat16, onnx, tensorType } from '../index.js';
import { describe, expect, it } from 'vitest';
import { firstFloat16Compute } from './float16-compute.js';
import { halfMlp } from '../testing/half-mlp.js';

const fold = { foldsConstants: true };
const noFold = { foldsConstants: false };
const find = (bytes: Uint8Array, options = fold) => firstFloat16Compute(Model.decode(bytes), options);

describe('firstFloat16Compute', () => {
  it('finds the first node of a model that computes in float16, and none in a float32 one', () => {
    expect(find(halfMlp('fp16'))).toMatchObject({ node: 'cast_in', opType: 'Cast' });
    expect(find(halfMlp('fp32'))).toBeUndefined();
    expect(find(halfMlp('fp32'), noFold)).toBeUndefined();
  });

  it('passes weights stored in float16 and cast to float32, which onnxruntime folds at load, unless folding is off', () => {
    expect(find(halfMlp('fp16-weights'))).toBeUndefined();
    expect(find(halfMlp('fp16-weights'), noFold)).toMatchObject({ opType: 'Cast', value: 'w0_fp16' });
  });

  it('folds in data order whatever the node order, through chains of constants and Constant nodes', () => {
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', 'float32', ['n', 4]);
    const k = b.op('Constant', [], { value_floats: [1, 2, 3, 4] });
    const w16 = b.op('Mul', [b.initializer('w', float32ArrayToFloat16([1, 2, 3, 4]), [4], 'float16'), b.op('Cast', [k], { to: 10 })]);
    b.output(b.op('Add', [x, b.op('Cast', [w16], { to: 1 })], {}, { outputs: ['y'] }), 'float32', ['n', 4]);
    const model = b.build();
    expect(firstFloat16Compute(model, fold)).toBeUndefined();
    model.graph.nodes.reverse();
    model.graph.invalidate();
    expect(firstFloat16Compute(model, fold)).toBeUndefined();
    // Without folding the Constant still loads as an initializer; the Cast after it is the first float16 node.
    expect(firstFloat16Compute(model, noFold)).toMatchObject({ opType: 'Cast' });
  });

  it('counts an initializer that is also a graph input as fed, a float16 graph input, and a subgraph', () => {
    const fed = new ModelBuilder({ opset: 17 });
    const x = fed.input('x', 'float32', [4]);
    const w = fed.initializer('w', float32ArrayToFloat16([1, 2, 3, 4]), [4], 'float16');
    fed.output(fed.op('Add', [x, fed.op('Cast', [w], { to: 1 }, { name: 'cast_w' })], {}, { outputs: ['y'] }), 'float32', [4]);
    const overridable = fed.build();
    expect(firstFloat16Compute(overridable, fold)).toBeUndefined();
    // w listed as a graph input too (IR 3 style): a feed may replace it, so nothing reading it folds.
    overridable.graph.inputs.push(new onnx.ValueInfoProto({ name: 'w', type: tensorType(DataType.FLOAT16, [4]) }));
    overridable.graph.invalidate();
    expect(find(overridable.encode())).toMatchObject({ node: 'cast_w', value: 'w' });

    const input = new ModelBuilder({ opset: 17 });
    input.output(input.op('Cast', [input.input('h', 'float16', [2])], { to: 1 }, { name: 'cast_h', outputs: ['y'] }), 'float32', [2]);
    expect(find(input.build().encode())).toMatchObject({ node: 'cast_h', value: 'h' });

    const branchy = new ModelBuilder({ opset: 17 });
    const c = branchy.input('c', 'bool', []);
    const v = branchy.input('v', 'float32', [2]);
    const branch = (name: string, half: boolean) => branchy.subgraph(name, (g) => {
      const out = half ? g.op('Cast', [g.op('Cast', [v], { to: 10 }, { name: 'cast_half' })], { to: 1 }) : g.op('Identity', [v]);
      g.output(out, 'float32', [2]);
    });
    branchy.output(branchy.op('If', [c], { then_branch: branch('then', true), else_branch: branch('else', false) }, { outputs: ['y'] }), 'float32', [2]);
    expect(find(branchy.build().encode())).toMatchObject({ node: 'cast_half', opType: 'Cast' });
  });
});
