// The codec worker gives what the inline path gives: the same feeds for a request, the same refusal
// (code, message, details with the HTTP status) for a bad one, the same bytes for a response. Every
// job here goes to the worker (thresholds 0); json-off-thread.test.ts checks the server over HTTP.
import { afterAll, describe, expect, it } from 'vitest';
import type { TensorLike, ValueInfo } from '@onnx-forge/runtime';
import { CodecPool } from './codec-pool.js';
import { type ModelRequestSpec, decodeInferBody } from './decode-infer-request.js';
import { encodeInferResponse } from './encode-infer-response.js';

const pool = new CodecPool({ size: 1, decodeThreshold: 0, encodeThreshold: 0 });
afterAll(() => pool.close());

const INPUTS: ValueInfo[] = [
  { name: 'f', type: 'float32', shape: ['n', 2] },
  { name: 'h', type: 'float16', shape: ['n', 2] },
  { name: 'i', type: 'int64', shape: ['n', 2] },
  { name: 'b', type: 'bool', shape: ['n', 2] },
  { name: 's', type: 'string', shape: ['n', 2] },
];
const SPEC: ModelRequestSpec = { inputs: INPUTS, outputNames: ['y', 'z'], limits: { maxElements: 100 }, rules: { scalarInputs: new Set(['none']), nonTensorOutputs: ['seq'] } };

const input = (name: string, datatype: string, data: unknown, shape = [1, 2]) => ({ name, datatype, shape, data });
const valid = () => [input('f', 'FP32', [1.5, 'NaN']), input('h', 'FP16', [[0.5, -2]]), input('i', 'INT64', [9007199254740991, -3]), input('b', 'BOOL', [true, false]), input('s', 'BYTES', ['a', 'é'])];

/** What decoding gives, inline or from the worker: the decoded request, or the error's parts. */
async function outcome(decode: () => unknown): Promise<unknown> {
  try {
    return { decoded: await decode() };
  } catch (e) {
    const { name, code, message, details } = e as Error & { code?: string; details?: unknown };
    return { error: { name, code, message, details } };
  }
}

async function expectSameDecode(json: string, binary = Buffer.alloc(0), binaryHeaderMissing = true): Promise<unknown> {
  const body = Buffer.from(json);
  const inline = await outcome(() => decodeInferBody(body, binary, binaryHeaderMissing, SPEC));
  const worker = await outcome(() => pool.decode(body, binary, binaryHeaderMissing, SPEC));
  expect(worker, json.slice(0, 200)).toEqual(inline);
  return worker;
}

describe('decoding in the codec worker', () => {
  it('gives the feeds and outputs inline decoding gives, typed arrays and all', async () => {
    const r = await expectSameDecode(JSON.stringify({ id: 'r1', inputs: valid(), outputs: [{ name: 'z', parameters: { binary_data: true } }] }));
    expect(r).toMatchObject({ decoded: { id: 'r1', outputs: [{ name: 'z', binary: true }] } });
    const feeds = (r as { decoded: { feeds: Record<string, TensorLike> } }).decoded.feeds;
    expect(feeds.f?.data).toBeInstanceOf(Float32Array);
    expect(feeds.i?.data).toEqual(new BigInt64Array([9007199254740991n, -3n]));
  });

  it('takes binary tensor data after the JSON part', async () => {
    const f = Buffer.from(new Float32Array([1, 2]).buffer);
    const inputs = valid().map((i) => (i.name === 'f' ? { name: 'f', datatype: 'FP32', shape: [1, 2], parameters: { binary_data_size: 8 } } : i));
    await expectSameDecode(JSON.stringify({ inputs }), f, false);
  });

  it('refuses a bad request with the same code, message and details (the HTTP status among them)', async () => {
    const bad = [
      '{"inputs": [',
      '{"inputs": []} trailing',
      '[]',
      JSON.stringify({ inputs: valid().map((i) => (i.name === 'f' ? input('f', 'FP32', [1, 'oops']) : i)) }),
      JSON.stringify({ inputs: valid().map((i) => (i.name === 'f' ? input('f', 'FP32', [1, 1e39]) : i)) }),
      JSON.stringify({ inputs: valid().map((i) => (i.name === 'f' ? input('f', 'FP32', [[1], [2]]) : i)) }),
      JSON.stringify({ inputs: [...valid(), input('x', 'FP32', [1, 2])] }),
      JSON.stringify({ inputs: valid().slice(1) }),
      JSON.stringify({ inputs: valid().map((i) => (i.name === 'f' ? input('f', 'FP32', [], [60, 2]) : i)) }),
      JSON.stringify({ inputs: valid(), outputs: [{ name: 'seq' }] }),
      JSON.stringify({ inputs: valid(), parameters: { binary_data_output: 'true' } }),
      `{"inputs": [${JSON.stringify(input('i', 'INT64', [1, 2])).replace('[1,2]}', '[1, 123456789012345678901]}')}]}`,
    ];
    for (const json of bad) {
      const r = await expectSameDecode(json);
      expect(r, json).toMatchObject({ error: { name: 'ForgeError', details: { status: expect.any(Number) } } });
    }
  });
});

describe('encoding in the codec worker', () => {
  const results: Record<string, TensorLike> = {
    y: { type: 'float32', dims: [2, 2], data: new Float32Array([1.25, Number.NaN, -Infinity, 3]) },
    z: { type: 'int64', dims: [2], data: new BigInt64Array([2n ** 60n, -1n]) },
    s: { type: 'string', dims: [2], data: ['a', 'b"c'] },
    h: { type: 'float16', dims: [1], data: new Uint16Array([0x3c00]) },
  };
  const model = { name: 'm', version: '1' };

  it('gives the bytes inline encoding gives, JSON and binary, without taking the caller’s arrays', async () => {
    for (const outputs of [
      [{ name: 'y', binary: false }, { name: 'z', binary: false }, { name: 's', binary: false }, { name: 'h', binary: false }],
      [{ name: 'y', binary: true }, { name: 'z', binary: false }, { name: 's', binary: true }],
    ]) {
      const inline = encodeInferResponse(model, 'id', results, outputs);
      const worker = await pool.encode(model, 'id', results, outputs);
      expect(worker.headerLength).toBe(inline.headerLength);
      expect(Buffer.from(worker.body).equals(Buffer.from(inline.body))).toBe(true);
    }
    expect((results.y?.data as Float32Array).length).toBe(4);
  });

  it('refuses an output the model did not return as inline encoding does', async () => {
    const outputs = [{ name: 'missing', binary: false }];
    const inline = await outcome(() => encodeInferResponse(model, undefined, results, outputs));
    expect(await outcome(() => pool.encode(model, undefined, results, outputs))).toEqual(inline);
  });
});

describe('a codec worker that dies', () => {
  it('fails the jobs it held, and the next job starts another worker', async () => {
    const own = new CodecPool({ size: 1, decodeThreshold: 0 });
    try {
      const json = Buffer.from(JSON.stringify({ inputs: valid() }));
      await own.decode(json, Buffer.alloc(0), true, SPEC);
      const [first] = (own as unknown as { workers: { worker: import('node:worker_threads').Worker }[] }).workers;
      // A job long enough (a few hundred ms) to be running when the worker ends.
      const long = Buffer.from(JSON.stringify({ inputs: valid().map((i) => (i.name === 'f' ? input('f', 'FP32', Array.from({ length: 1_000_000 }, Math.random), [500_000, 2]) : i)) }));
      const held = own.decode(long, Buffer.alloc(0), true, { ...SPEC, limits: { maxElements: 2_000_000 } });
      await first?.worker.terminate();
      await expect(held).rejects.toThrow(/the codec worker exited/);
      await expect(own.decode(json, Buffer.alloc(0), true, SPEC)).resolves.toMatchObject({ outputs: [{ name: 'y' }, { name: 'z' }] });
    } finally {
      await own.close();
    }
  });
});
