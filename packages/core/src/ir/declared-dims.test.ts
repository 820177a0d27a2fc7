import { describe, expect, it } from 'vitest';
import { ModelBuilder } from '../builder/model-builder.js';
import { onnx } from '../proto/onnx.generated.js';
import { declaredDim, declaredDims } from './declared-dims.js';

describe('declaredDims', () => {
  it('reads a size of 0 as a size (an empty tensor), not as an unknown dim', () => {
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', 'float32', [0, 'n', 3]);
    b.output(b.op('Relu', [x], {}, { outputs: ['y'] }), 'float32', [0, 'n', 3]);
    const shape = b.build().proto.graph?.input[0]?.type?.tensorType?.shape;
    expect(declaredDims(shape)).toEqual([0, 'n', 3]);
  });

  it('gives null for a dim with neither size nor name, and for an unknown shape', () => {
    expect(declaredDim(new onnx.TensorShapeProto.Dimension({}))).toBeNull();
    expect(declaredDim(new onnx.TensorShapeProto.Dimension({ dimParam: '' }))).toBeNull();
    expect(declaredDims(undefined)).toBeNull();
    // Decoded from bytes: the size 0 survives the wire.
    const bytes = onnx.TensorShapeProto.encode(new onnx.TensorShapeProto({ dim: [new onnx.TensorShapeProto.Dimension({ dimValue: 0 }), new onnx.TensorShapeProto.Dimension({ dimParam: 'batch' }), new onnx.TensorShapeProto.Dimension({})] })).finish();
    expect(declaredDims(onnx.TensorShapeProto.decode(bytes))).toEqual([0, 'batch', null]);
  });
});
