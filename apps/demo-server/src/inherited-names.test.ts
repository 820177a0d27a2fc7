// Tensor names that are also names of Object.prototype's members ("constructor", "toString", "valueOf",
// "__proto__"): the decoder looked inputs up in a plain object, found the inherited member, and refused
// every request to such a model with "input 'constructor' is given twice". ("__proto__" is decoded too,
// but onnxruntime's own feed check refuses an input of that name, so no model of it is served here.)
import { ModelBuilder } from '@onnx-forge/core';
import { describe, expect, it } from 'vitest';
import { decodeInferRequest } from './protocol/decode-infer-request.js';
import { servedFolder, writeModels } from './testing/fixtures.js';
import { call } from './testing/v2-client.js';

const NAMES = ['constructor', 'toString', 'valueOf', 'hasOwnProperty'] as const;

/** For each name n: input n float32 [batch, 2] → output `${n}_out` = n + 1. */
function namesModel() {
  const b = new ModelBuilder({ opset: 17, graphName: 'names' });
  const one = b.constant(1);
  for (const n of NAMES) b.output(b.op('Add', [b.input(n, 'float32', ['batch', 2]), one], {}, { outputs: [`${n}_out`] }), 'float32', ['batch', 2]);
  // An output named like a member too.
  b.output(b.op('Identity', [NAMES[0]], {}, { outputs: ['toLocaleString'] }), 'float32', ['batch', 2]);
  return b.build();
}

const served = servedFolder('inherited-names', async (dir) => {
  await writeModels(dir, { names: namesModel() });
  return {};
});

describe('tensor names that Object.prototype also has', () => {
  it('are decoded as inputs like any other name', () => {
    const decoded = decodeInferRequest({ inputs: [{ name: 'constructor', datatype: 'FP32', shape: [1], data: [1] }] }, Buffer.alloc(0), [{ name: 'constructor', type: 'float32', shape: [1] }], ['y'], { maxElements: 10 });
    expect(Object.keys(decoded.feeds)).toEqual(['constructor']);
    const proto = decodeInferRequest({ inputs: [{ name: '__proto__', datatype: 'FP32', shape: [1], data: [1] }] }, Buffer.alloc(0), [{ name: '__proto__', type: 'float32', shape: [1] }], ['y'], { maxElements: 10 });
    expect(Object.keys(proto.feeds)).toEqual(['__proto__']);
    expect(() => decodeInferRequest({ inputs: [] }, Buffer.alloc(0), [{ name: 'toString', type: 'float32', shape: [1] }], ['y'], { maxElements: 10 })).toThrow(/non-empty array/);
    expect(() => decodeInferRequest({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data: [1] }] }, Buffer.alloc(0), [{ name: 'x', type: 'float32', shape: [1] }, { name: 'valueOf', type: 'float32', shape: [1] }], ['y'], { maxElements: 10 })).toThrow("missing input 'valueOf'");
  });

  it('are served: a request gives each input and gets each output', async () => {
    const r = await call(`${served.url}/v2/models/names/infer`, 'POST', {
      inputs: NAMES.map((name, k) => ({ name, shape: [1, 2], datatype: 'FP32', data: [k, 10 * k] })),
    });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    const outputs = (r.json as { outputs: { name: string; data: number[] }[] }).outputs;
    expect(Object.fromEntries(outputs.map((o) => [o.name, o.data]))).toEqual({
      ...Object.fromEntries(NAMES.map((n, k) => [`${n}_out`, [k + 1, 10 * k + 1]])),
      toLocaleString: [0, 0],
    });
  });
});
