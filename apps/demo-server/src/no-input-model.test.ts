// A model with no inputs (a constant table, a generator: the ONNX suite's test_constant is one): the
// protocol's request for it is {"inputs": []}. The server refused every request to such a model with
// 400 '"inputs" must be a non-empty array', so it was listed READY and could never be asked anything.
import { ModelBuilder } from '@onnx-forge/core';
import { describe, expect, it } from 'vitest';
import { servedFolder, writeModels } from './testing/fixtures.js';
import { call } from './testing/v2-client.js';
import { v2Problems } from './testing/v2-schema.js';

/** y = Identity([[1, 2], [3, 4]]): no graph input at all. */
function constantModel() {
  const b = new ModelBuilder({ opset: 17, graphName: 'constant' });
  const table = b.constant([1, 2, 3, 4], 'float32', [2, 2]);
  b.output(b.op('Identity', [table], {}, { outputs: ['y'] }), 'float32', [2, 2]);
  return b.build();
}

const served = servedFolder('no-input', async (dir) => {
  await writeModels(dir, { table: constantModel() });
  return {};
});

const infer = (body: unknown) => call(`${served.url}/v2/models/table/infer`, 'POST', body as object);

describe('a model with no inputs', () => {
  it('lists no inputs in its metadata', async () => {
    const r = await call(`${served.url}/v2/models/table`, 'GET');
    expect(r.status).toBe(200);
    expect((r.json as { inputs: unknown[] }).inputs).toEqual([]);
  });

  it('answers {"inputs": []} with its outputs, as JSON and as binary data', async () => {
    const r = await infer({ inputs: [] });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(v2Problems('inference_response', r.json)).toEqual([]);
    expect((r.json as { outputs: unknown[] }).outputs).toEqual([{ name: 'y', shape: [2, 2], datatype: 'FP32', data: [1, 2, 3, 4] }]);
    const b = await infer({ id: 'k', inputs: [], outputs: [{ name: 'y', parameters: { binary_data: true } }] });
    expect(b.status, JSON.stringify(b.json)).toBe(200);
    expect(Array.from(new Float32Array(b.binary.buffer.slice(b.binary.byteOffset, b.binary.byteOffset + b.binary.byteLength)))).toEqual([1, 2, 3, 4]);
  });

  it('still refuses an input the model does not have, and a request without "inputs"', async () => {
    const unknown = await infer({ inputs: [{ name: 'x', shape: [1], datatype: 'FP32', data: [1] }] });
    expect(unknown.status).toBe(400);
    expect((unknown.json as { error: string }).error).toMatch(/unknown input 'x': the model has no inputs/);
    const none = await infer({});
    expect(none.status).toBe(400);
    expect((none.json as { error: string }).error).toMatch(/"inputs" must be an array/);
  });
});
