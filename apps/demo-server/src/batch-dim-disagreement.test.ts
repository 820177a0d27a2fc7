// A batched model whose inputs share the batch dim (Silero VAD: input [batch, samples] beside its LSTM
// state [2, batch, 64]) given a request whose inputs disagree on it: the batcher refuses it (400), and
// the answer carried the hybrid library's text for programmers ("HybridModel '...': every backend
// failed this request ... details.errors has each error; a backend that works (the reference, a plain
// JavaScript one) keeps requests answered"), advice an HTTP client can do nothing with.
import { ModelBuilder } from '@onnx-forge/core';
import { describe, expect, it } from 'vitest';
import { servedFolder, writeModels } from './testing/fixtures.js';
import { call } from './testing/v2-client.js';
import { v2Problems } from './testing/v2-schema.js';

/** y = a + b, both [batch, 2]: batched along 'batch'. */
function pairModel() {
  const b = new ModelBuilder({ opset: 17, graphName: 'pair' });
  const x = b.input('a', 'float32', ['batch', 2]);
  const y = b.input('b', 'float32', ['batch', 2]);
  b.output(b.op('Add', [x, y], {}, { outputs: ['y'] }), 'float32', ['batch', 2]);
  return b.build();
}

const served = servedFolder('batch-disagreement', async (dir) => {
  await writeModels(dir, { pair: pairModel() });
  return { batching: { maxBatch: 8, maxDelayMs: 5 } };
});

describe('inputs that disagree on the batch dim', () => {
  it('get a 400 that names the model, the dim and both inputs, in the server\'s words', async () => {
    const meta = await call(`${served.url}/v2/models/pair`, 'GET');
    expect((meta.json as { parameters: { batching: { dimension: string } } }).parameters.batching.dimension).toBe('batch');
    const r = await call(`${served.url}/v2/models/pair/infer`, 'POST', {
      inputs: [
        { name: 'a', shape: [2, 2], datatype: 'FP32', data: [1, 2, 3, 4] },
        { name: 'b', shape: [1, 2], datatype: 'FP32', data: [10, 20] },
      ],
    });
    expect(r.status, JSON.stringify(r.json)).toBe(400);
    expect(v2Problems('error_response', r.json)).toEqual([]);
    const body = r.json as { error: string; code: string };
    expect(body.code).toBe('FORGE_BAD_INPUT');
    expect(body.error).toMatch(/^model 'pair' version 1 refused this request \(pair\.onnx: .*dimension 'batch' is 2 in input 'a' but 1 in input 'b'/);
    expect(body.error).not.toMatch(/HybridModel|details\.errors|plain JavaScript|backend/);
  });

  it('leave the model answering requests that agree', async () => {
    const r = await call(`${served.url}/v2/models/pair/infer`, 'POST', {
      inputs: [
        { name: 'a', shape: [1, 2], datatype: 'FP32', data: [1, 2] },
        { name: 'b', shape: [1, 2], datatype: 'FP32', data: [10, 20] },
      ],
    });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect((r.json as { outputs: { data: number[] }[] }).outputs[0]?.data).toEqual([11, 22]);
  });
});
