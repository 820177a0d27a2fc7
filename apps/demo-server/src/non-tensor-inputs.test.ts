// Inputs that are not plain tensors. An optional tensor input (the ONNX suite's test_optional_get_element:
// optional(tensor(float)) [4], read by OptionalGetElement) takes a tensor from onnxruntime-node, but
// onnxruntime reports it as a non-tensor: the metadata said datatype "UNKNOWN" shape [], any datatype
// and shape passed the checks, and a wrong one failed inside onnxruntime as a 500. Now the metadata gives
// the tensor it takes and a request is checked against it (400). A sequence input cannot be fed by
// onnxruntime-node at all: such a model loaded and answered every request 500; now it does not load,
// saying why, as a model with no tensor output does not.
import { DataType, ModelBuilder, type Model, type TypeProto, onnx, tensorType } from '@onnx-forge/core';
import { describe, expect, it } from 'vitest';
import { servedFolder, writeModels } from './testing/fixtures.js';
import { call } from './testing/v2-client.js';
import { v2Problems } from './testing/v2-schema.js';

/** Gives graph input `name` the type `type` (the builder declares tensors only). */
function retype(model: Model, name: string, type: TypeProto): Model {
  const input = model.graph.inputs.find((i) => i.name === name);
  if (!input) throw new Error(`no input ${name}`);
  input.type = type;
  return model;
}

/** y = OptionalGetElement(x) + 1, x optional(tensor(float)) ['n', 2]. */
function optionalModel(): Model {
  const b = new ModelBuilder({ opset: 18, graphName: 'optional' });
  const x = b.input('x', 'float32', ['n', 2]);
  const got = b.op('OptionalGetElement', [x]);
  b.output(b.op('Add', [got, b.constant(1)], {}, { outputs: ['y'] }), 'float32', ['n', 2]);
  return retype(b.build(), 'x', new onnx.TypeProto({ optionalType: new onnx.TypeProto.Optional({ elemType: tensorType(DataType.FLOAT, ['n', 2]) }) }));
}

/** y = ConcatFromSequence(s), s a sequence of float tensors. */
function sequenceModel(): Model {
  const b = new ModelBuilder({ opset: 17, graphName: 'sequence' });
  const s = b.input('s', 'float32', [2]);
  b.output(b.op('ConcatFromSequence', [s], { axis: 0 }, { outputs: ['y'] }), 'float32', ['m']);
  return retype(b.build(), 's', new onnx.TypeProto({ sequenceType: new onnx.TypeProto.Sequence({ elemType: tensorType(DataType.FLOAT, [2]) }) }));
}

const served = servedFolder('non-tensor-inputs', async (dir) => {
  await writeModels(dir, { optional: optionalModel(), sequence: sequenceModel() });
  return {};
});

const infer = (model: string, body: object) => call(`${served.url}/v2/models/${model}/infer`, 'POST', body);

describe('an optional tensor input', () => {
  it('is listed in the metadata as the tensor it takes', async () => {
    const r = await call(`${served.url}/v2/models/optional`, 'GET');
    expect(r.status).toBe(200);
    expect(v2Problems('metadata_model_response', r.json)).toEqual([]);
    expect((r.json as { inputs: unknown[] }).inputs).toEqual([{ name: 'x', datatype: 'FP32', shape: [-1, 2] }]);
  });

  it('takes that tensor', async () => {
    const r = await infer('optional', { inputs: [{ name: 'x', shape: [2, 2], datatype: 'FP32', data: [1, 2, 3, 4] }] });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect((r.json as { outputs: unknown[] }).outputs).toEqual([{ name: 'y', shape: [2, 2], datatype: 'FP32', data: [2, 3, 4, 5] }]);
  });

  it('refuses another datatype or shape with 400 before anything runs', async () => {
    const wrongType = await infer('optional', { inputs: [{ name: 'x', shape: [2, 2], datatype: 'INT32', data: [1, 2, 3, 4] }] });
    expect(wrongType.status, JSON.stringify(wrongType.json)).toBe(400);
    expect((wrongType.json as { error: string }).error).toBe("input 'x' must be FP32, got INT32");
    const wrongShape = await infer('optional', { inputs: [{ name: 'x', shape: [4], datatype: 'FP32', data: [1, 2, 3, 4] }] });
    expect(wrongShape.status, JSON.stringify(wrongShape.json)).toBe(400);
    expect((wrongShape.json as { error: string }).error).toMatch(/^input 'x' must have shape \[-1, 2\]/);
  });
});

describe('a sequence input', () => {
  it('keeps the model from loading, with the reason in the index and in the 503 of a request', async () => {
    const index = await call(`${served.url}/v2/repository/index`, 'POST');
    const entry = (index.json as { name: string; state: string; reason: string }[]).find((e) => e.name === 'sequence');
    expect(entry?.state).toBe('UNAVAILABLE');
    expect(entry?.reason).toMatch(/input 's' is a sequence, which the inference protocol cannot carry and onnxruntime-node cannot take/);
    const r = await infer('sequence', { inputs: [{ name: 's', shape: [2], datatype: 'FP32', data: [1, 2] }] });
    expect(r.status).toBe(503);
    expect((r.json as { code: string }).code).toBe('FORGE_UNSUPPORTED_TYPE');
  });
});
