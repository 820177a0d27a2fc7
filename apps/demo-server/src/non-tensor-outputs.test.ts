// Models with an output that is not a tensor (a scikit-learn classifier's ZipMap probabilities: a
// sequence of maps; a sequence output). onnxruntime-node returns tensors only, and the protocol carries
// tensors only: the server served such a model, listed the output as datatype "UNKNOWN" shape [] (a
// scalar), and answered every request 500 ("the model returned no output"). Now the metadata lists the
// tensor outputs and names the others apart, a request gets the tensor outputs, asking for the other is
// a 400 that says why, and a model with no tensor output at all does not load, saying why.
import { DataType, ModelBuilder, type Model, onnx, tensorType } from '@onnx-forge/core';
import { describe, expect, it } from 'vitest';
import { servedFolder, writeModels } from './testing/fixtures.js';
import { call } from './testing/v2-client.js';
import { v2Problems } from './testing/v2-schema.js';

/** label = ArgMax(x) int64 [batch], probs = Relu(x) [batch, 3], and seq = [probs, x] as a sequence output (a classifier's shape with ZipMap). */
function classifier(tensorOutputs = true): Model {
  const b = new ModelBuilder({ opset: 17, graphName: 'classifier' });
  const x = b.input('x', 'float32', ['batch', 3]);
  const probs = b.op('Relu', [x], {}, { outputs: ['probs'] });
  if (tensorOutputs) {
    b.output(b.op('ArgMax', [x], { axis: 1, keepdims: 0 }, { outputs: ['label'] }), 'int64', ['batch']);
    b.output(probs, 'float32', ['batch', 3]);
  }
  b.op('SequenceConstruct', [probs, x], {}, { outputs: ['seq'] });
  const model = b.build();
  model.graph.outputs.push(new onnx.ValueInfoProto({ name: 'seq', type: new onnx.TypeProto({ sequenceType: new onnx.TypeProto.Sequence({ elemType: tensorType(DataType.FLOAT) }) }) }));
  return model;
}

const served = servedFolder('non-tensor', async (dir) => {
  await writeModels(dir, { classifier: classifier(), only_sequence: classifier(false) });
  return { batching: { maxBatch: 8, maxDelayMs: 30 } };
});

const X = [[0.5, -1, 2], [3, 0, -2]];
const request = (extra: object = {}, rows = X) => ({ inputs: [{ name: 'x', datatype: 'FP32', shape: [rows.length, 3], data: rows }], ...extra });
const infer = (body: object) => call(`${served.url}/v2/models/classifier/infer`, 'POST', body);

describe('a model with a sequence output', () => {
  it('lists its tensor outputs in the metadata and names the other apart', async () => {
    const r = await call(`${served.url}/v2/models/classifier`, 'GET');
    expect(v2Problems('metadata_model_response', r.json)).toEqual([]);
    expect(r.json).toMatchObject({
      outputs: [
        { name: 'label', datatype: 'INT64', shape: [-1] },
        { name: 'probs', datatype: 'FP32', shape: [-1, 3] },
      ],
      parameters: { non_tensor_outputs: ['seq'] },
    });
    expect((r.json as { outputs: unknown[] }).outputs).toHaveLength(2);
  });

  it('answers with its tensor outputs, also to requests stacked in one batch', async () => {
    const r = await infer(request());
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(v2Problems('inference_response', r.json)).toEqual([]);
    expect((r.json as { outputs: unknown[] }).outputs).toEqual([
      { name: 'label', datatype: 'INT64', shape: [2], data: [2, 0] },
      { name: 'probs', datatype: 'FP32', shape: [2, 3], data: [0.5, 0, 2, 3, 0, 0] },
    ]);
    // Row k peaks at column k % 3, by k + 1.
    const rows = Array.from({ length: 6 }, (_, k) => [[0, 1, 2].map((c) => (c === k % 3 ? k + 1 : 0))]);
    const answers = await Promise.all(rows.map((x) => infer(request({ outputs: [{ name: 'label' }] }, x))));
    answers.forEach((a, k) => expect((a.json as { outputs: unknown[] }).outputs, `request ${k}`).toEqual([{ name: 'label', datatype: 'INT64', shape: [1], data: [k % 3] }]));
    const stats = (await call(`${served.url}/v2/models/classifier/stats`, 'GET')).json as { model_stats: { batching: { enabled: boolean }; inference_stats: { fail: { count: number } } }[] };
    expect(stats.model_stats[0]).toMatchObject({ batching: { enabled: true }, inference_stats: { fail: { count: 0 } } });
  });

  it('refuses a request for the sequence output with 400, saying which outputs it can have', async () => {
    for (const outputs of [[{ name: 'seq' }], [{ name: 'label' }, { name: 'seq' }]]) {
      const r = await infer(request({ outputs }));
      expect(r.status).toBe(400);
      expect(r.json).toEqual({
        code: 'FORGE_UNSUPPORTED_TYPE',
        error: "output 'seq' is not a tensor (a sequence or map), which the inference protocol cannot carry and onnxruntime-node cannot return; ask for its tensor outputs: 'label', 'probs'",
      });
    }
  });
});

describe('a model whose only output is a sequence', () => {
  it('does not load, and the index says why', async () => {
    const index = (await call(`${served.url}/v2/repository/index`, 'POST', {})).json as { name: string; state: string; reason: string }[];
    expect(index.find((m) => m.name === 'only_sequence')).toMatchObject({
      state: 'UNAVAILABLE',
      reason: "failed to load: model only_sequence: none of its outputs ('seq') is a tensor; they are sequences or maps, which onnxruntime-node cannot return, so no request could be answered",
    });
    const r = await call(`${served.url}/v2/models/only_sequence/infer`, 'POST', request());
    expect(r.status).toBe(503);
    expect(r.json).toMatchObject({ code: 'FORGE_UNSUPPORTED_TYPE' });
  });
});
