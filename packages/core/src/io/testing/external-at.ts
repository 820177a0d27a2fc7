// Test helper for the io tests: a model file that points its weight at any external data location. Not
// exported from the package.
import { ModelBuilder } from '../../builder/model-builder.js';
import { encodeModel } from '../../codec/codec.js';
import { onnx } from '../../proto/onnx.generated.js';
import type { TensorProto } from '../../proto/types.js';

/** The bytes of a model whose one initializer names `location` as its external data. */
export function externalAt(location: string): Uint8Array {
  const b = new ModelBuilder({ opset: 17 });
  const x = b.input('x', 'float32', [4]);
  const w = b.initializer('w', new Float32Array(4), [4]);
  b.output(b.op('Add', [x, w], {}, { outputs: ['y'] }), 'float32', [4]);
  const proto = b.buildProto();
  const t = proto.graph?.initializer[0] as TensorProto;
  delete (t as Partial<TensorProto>).rawData;
  t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
  t.externalData = [new onnx.StringStringEntryProto({ key: 'location', value: location })];
  return encodeModel(proto);
}
