// Conformance of every V2 endpoint, written from KServe's rest_predict_v2.yaml (response objects) and
// Triton's binary tensor extension: each response is checked against the protocol's shapes, inference
// results against onnxruntime-node running the same model in this process.
import { copyFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromFloat16, toFloat16, createSession, type Session } from '@onnx-forge/runtime';
import type { DemoServer } from './create-server.js';
import { TYPED_INPUTS, matrixModel, smallCnn, startServer, tempDir, typesModel, writeModels } from './testing/fixtures.js';
import { binaryBody, binaryOutputs, bytesOf, call, type V2Response } from './testing/v2-client.js';
import { v2Problems } from './testing/v2-schema.js';

const BODY_LIMIT = 256 * 1024;
const MAX_ELEMENTS = 20_000;

let server: DemoServer;
let url: string;
let dir: string;
let remove: () => Promise<void>;
let reference: Session;

/** Seeded image [n, 3, 16, 16]. */
function image(n: number, seed: number): Float32Array {
  return Float32Array.from({ length: n * 3 * 16 * 16 }, (_, i) => Math.sin(seed * 977 + i * 0.37));
}

async function expected(x: Float32Array, n: number): Promise<number[]> {
  const out = await reference.run({ image: { data: x, dims: [n, 3, 16, 16] } });
  return Array.from(out.logits?.data as Float32Array);
}

/** The values an output returned, all of them, each within 1e-5 of onnxruntime's (an empty or short answer fails). */
function expectValues(data: number[] | undefined, want: ArrayLike<number>): void {
  expect(data, 'output data').toBeDefined();
  expect(data).toHaveLength(want.length);
  data?.forEach((v, i) => expect(v, `value ${i}`).toBeCloseTo(want[i] as number, 5));
}

function expectConforms(schema: string, r: V2Response): void {
  expect(v2Problems(schema, r.json), JSON.stringify(r.json).slice(0, 300)).toEqual([]);
}

/**
 * The stable `code` beside the message: the request's fault for 4xx; for 503 here, a model that is not
 * loaded now (unloaded, loading). Past the limits 503 says FORGE_OVERLOADED (repository.test.ts); a model
 * that failed to load answers 503 with its load error's code (load-failure.test.ts).
 */
const CODE_OF_STATUS: Record<number, string> = { 400: 'FORGE_BAD_INPUT', 404: 'FORGE_BAD_INPUT', 405: 'FORGE_BAD_INPUT', 413: 'FORGE_BAD_INPUT', 415: 'FORGE_BAD_INPUT', 431: 'FORGE_BAD_INPUT', 503: 'FORGE_NOT_READY' };

/** An error answer: the status, the `{"error": "..."}` shape, a message that names the problem, and its code. */
function expectError(r: V2Response, status: number, pattern: RegExp): void {
  expect(r.status, JSON.stringify(r.json)).toBe(status);
  expectConforms('error_response', r);
  expect((r.json as { error: string }).error).toMatch(pattern);
  expect((r.json as { code?: string }).code).toBe(CODE_OF_STATUS[status]);
}

const infer = (body: unknown, model = 'digits', headers: Record<string, string> = {}) => call(`${url}/v2/models/${model}/infer`, 'POST', body as object, headers);
const imageInput = (x: Float32Array, n: number) => ({ name: 'image', shape: [n, 3, 16, 16], datatype: 'FP32', data: Array.from(x) });

/** One image [1, 3, 16, 16] nested as its shape; `at` (with `value`) puts another value at one place. */
function nestedImage(x: Float32Array, at?: readonly number[], value?: unknown): unknown[] {
  const rows: unknown[][][] = [0, 1, 2].map((c) => Array.from({ length: 16 }, (_, h) => Array.from(x.subarray(c * 256 + h * 16, c * 256 + h * 16 + 16))));
  if (at) (rows[at[1] as number]?.[at[2] as number] as unknown[])[at[3] as number] = value;
  return [rows];
}

beforeAll(async () => {
  ({ dir, remove } = await tempDir('conformance'));
  await writeModels(dir, { digits: smallCnn(), types: typesModel(), matrix: matrixModel() });
  reference = await createSession(path.join(dir, 'digits.onnx'));
  ({ server, url } = await startServer({ models: dir, bodyLimit: BODY_LIMIT, maxElements: MAX_ELEMENTS, batching: { maxBatch: 8, maxDelayMs: 5 } }));
});

afterAll(async () => {
  await server?.close();
  await reference?.release();
  await remove?.();
});

describe('health and server metadata', () => {
  it('answers live and ready with 200', async () => {
    expect((await call(`${url}/v2/health/live`, 'GET')).status).toBe(200);
    expect((await call(`${url}/v2/health/ready`, 'GET')).status).toBe(200);
  });

  it('gives server metadata with name, version and the extensions it implements, at /v2 and /v2/', async () => {
    for (const p of ['/v2', '/v2/']) {
      const r = await call(`${url}${p}`, 'GET');
      expect(r.status).toBe(200);
      expectConforms('metadata_server_response', r);
      expect((r.json as { extensions: string[] }).extensions).toEqual(expect.arrayContaining(['binary_tensor_data', 'model_repository']));
    }
  });
});

describe('model metadata and readiness', () => {
  it('describes a model with and without a version: platform, versions, tensors with -1 for the batch dim', async () => {
    for (const p of ['/v2/models/digits', '/v2/models/digits/versions/1']) {
      const r = await call(`${url}${p}`, 'GET');
      expect(r.status).toBe(200);
      expectConforms('metadata_model_response', r);
      expect(r.json).toMatchObject({
        name: 'digits',
        versions: ['1'],
        platform: 'onnxruntime_onnx',
        inputs: [{ name: 'image', datatype: 'FP32', shape: [-1, 3, 16, 16] }],
        outputs: [{ name: 'logits', datatype: 'FP32', shape: [-1, 10] }],
      });
    }
  });

  it('says a loaded model is ready, with and without a version', async () => {
    for (const p of ['/v2/models/digits/ready', '/v2/models/digits/versions/1/ready']) expect((await call(`${url}${p}`, 'GET')).status).toBe(200);
  });

  it('answers 404 for an unknown model or version on every model endpoint', async () => {
    for (const p of ['/v2/models/nope', '/v2/models/nope/ready', '/v2/models/nope/stats', '/v2/models/digits/versions/2', '/v2/models/digits/versions/2/ready', '/v2/models/digits/versions/x']) {
      expectError(await call(`${url}${p}`, 'GET'), 404, /unknown model 'nope'|no version/);
    }
    expectError(await infer({ inputs: [] }, 'nope'), 404, /unknown model 'nope'/);
    expectError(await call(`${url}/v2/models/digits/versions/7/infer`, 'POST', { inputs: [] }), 404, /no version '7'/);
  });
});

describe('inference with JSON tensors', () => {
  it('answers with the outputs onnxruntime gives, for flat and nested data, with and without a version', async () => {
    const x = image(1, 1);
    const want = await expected(x, 1);
    const nested = nestedImage(x);
    const bodies = [
      { id: 'flat', inputs: [imageInput(x, 1)] },
      { id: 'nested', inputs: [{ name: 'image', shape: [1, 3, 16, 16], datatype: 'FP32', data: nested }] },
    ];
    for (const path of ['/v2/models/digits/infer', '/v2/models/digits/versions/1/infer']) {
      for (const body of bodies) {
        const r = await call(`${url}${path}`, 'POST', body);
        expect(r.status).toBe(200);
        expectConforms('inference_response', r);
        const res = r.json as { model_name: string; model_version: string; id: string; outputs: { name: string; shape: number[]; datatype: string; data: number[] }[] };
        expect(res).toMatchObject({ model_name: 'digits', model_version: '1', id: body.id });
        expect(res.outputs).toHaveLength(1);
        expect(res.outputs[0]).toMatchObject({ name: 'logits', shape: [1, 10], datatype: 'FP32' });
        expectValues(res.outputs[0]?.data, want);
      }
    }
  });

  it('answers a batch of 3 rows in one request, row by row as onnxruntime does', async () => {
    const x = image(3, 2);
    const want = await expected(x, 3);
    const r = await infer({ inputs: [imageInput(x, 3)], outputs: [{ name: 'logits' }] });
    expect(r.status).toBe(200);
    const out = (r.json as { outputs: { shape: number[]; data: number[] }[] }).outputs[0];
    expect(out?.shape).toEqual([3, 10]);
    expectValues(out?.data, want);
  });

  it('stacks concurrent requests into batches and gives each request its own rows', async () => {
    const before = (await call(`${url}/v2/models/digits/stats`, 'GET')).json as { model_stats: { batching: { variants: Record<string, { stackedRuns: number }> } }[] };
    const stackedBefore = Object.values(before.model_stats[0]?.batching.variants ?? {}).reduce((a, v) => a + v.stackedRuns, 0);
    const inputs = Array.from({ length: 16 }, (_, i) => image(1, 100 + i));
    const answers = await Promise.all(inputs.map((x) => infer({ inputs: [imageInput(x, 1)] })));
    for (const [i, r] of answers.entries()) {
      expect(r.status).toBe(200);
      const want = await expected(inputs[i] as Float32Array, 1);
      expectValues((r.json as { outputs: { data: number[] }[] }).outputs[0]?.data, want);
    }
    const after = (await call(`${url}/v2/models/digits/stats`, 'GET')).json as { model_stats: { batching: { enabled: boolean; variants: Record<string, { stackedRuns: number }> } }[] };
    expect(after.model_stats[0]?.batching.enabled).toBe(true);
    expect(Object.values(after.model_stats[0]?.batching.variants ?? {}).reduce((a, v) => a + v.stackedRuns, 0)).toBeGreaterThan(stackedBefore);
  });

  it('returns every datatype as it was sent (JSON in, JSON out)', async () => {
    const values: Record<string, unknown[]> = {
      FP32: [1.5, -2.25, 3, 0.125], FP64: [1e-300, -2.5, 3, 1e300], FP16: [1.5, -2, 65504, 0.0999755859375],
      INT8: [-128, 127, 0, 5], UINT8: [0, 255, 7, 8], INT16: [-32768, 32767, 1, 2], UINT16: [0, 65535, 3, 4],
      INT32: [-2147483648, 2147483647, 5, 6], UINT32: [0, 4294967295, 7, 8], INT64: [-9007199254740991, 9007199254740991, 1, -1], UINT64: [0, 9007199254740991, 2, 3],
      BOOL: [true, false, false, true], BYTES: ['a', 'héllo', '', '∑'],
    };
    const r = await infer({ inputs: TYPED_INPUTS.map((t) => ({ name: t.name, shape: [2, 2], datatype: t.datatype, data: values[t.datatype] })) }, 'types');
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expectConforms('inference_response', r);
    const outs = (r.json as { outputs: { name: string; datatype: string; shape: number[]; data: unknown[] }[] }).outputs;
    expect(outs.map((o) => o.name).sort()).toEqual(TYPED_INPUTS.map((t) => `${t.name}_out`).sort());
    for (const t of TYPED_INPUTS) {
      const o = outs.find((x) => x.name === `${t.name}_out`);
      expect(o).toMatchObject({ datatype: t.datatype, shape: [2, 2] });
      expect(o?.data).toEqual(values[t.datatype]);
    }
  });
});

describe('floating-point values JSON has no number for', () => {
  const values = (t: string) => (t === 'BYTES' ? ['a', 'b', 'c', 'd'] : t === 'BOOL' ? [true, false, true, false] : [1, 2, 3, 4]);
  const FLOATS: Record<string, Buffer> = {
    FP32: bytesOf(Float32Array.of(Number.NaN, Infinity, -Infinity, 0.5)),
    FP64: bytesOf(Float64Array.of(Number.NaN, Infinity, -Infinity, 0.5)),
    FP16: bytesOf(toFloat16([Number.NaN, Infinity, -Infinity, 0.5])),
  };

  it('answers NaN and ±Infinity in JSON outputs as "NaN", "Infinity" and "-Infinity" (not null), and takes them back in JSON inputs', async () => {
    const req = {
      inputs: TYPED_INPUTS.map((t) => {
        const bytes = FLOATS[t.datatype];
        return bytes ? { name: t.name, shape: [2, 2], datatype: t.datatype, parameters: { binary_data_size: bytes.length } } : { name: t.name, shape: [2, 2], datatype: t.datatype, data: values(t.datatype) };
      }),
      outputs: [{ name: 'f32_out' }, { name: 'f64_out' }, { name: 'f16_out' }],
    };
    const { body, headers } = binaryBody(req, TYPED_INPUTS.flatMap((t) => FLOATS[t.datatype] ?? []));
    const r = await infer(body, 'types', headers);
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expectConforms('inference_response', r);
    const outs = (r.json as { outputs: { name: string; data: unknown[] }[] }).outputs;
    expect(outs.map((o) => [o.name, o.data])).toEqual([
      ['f32_out', ['NaN', 'Infinity', '-Infinity', 0.5]],
      ['f64_out', ['NaN', 'Infinity', '-Infinity', 0.5]],
      ['f16_out', ['NaN', 'Infinity', '-Infinity', 0.5]],
    ]);
    // What came back goes in again as JSON and comes back the same, bit for bit in binary.
    const again = await infer({
      inputs: TYPED_INPUTS.map((t) => ({ name: t.name, shape: [2, 2], datatype: t.datatype, data: outs.find((o) => o.name === `${t.name}_out`)?.data ?? values(t.datatype) })),
      parameters: { binary_data_output: true },
    }, 'types');
    expect(again.status, JSON.stringify(again.json)).toBe(200);
    const bins = binaryOutputs(again);
    for (const [datatype, bytes] of Object.entries(FLOATS)) expect(bins.get(`${TYPED_INPUTS.find((t) => t.datatype === datatype)?.name}_out`), datatype).toEqual(bytes);
  });
});

describe('values JSON parsing would change', () => {
  const values = (t: string) => (t === 'BYTES' ? ['a', 'b', 'c', 'd'] : t === 'BOOL' ? [true, false, true, false] : [1, 2, 3, 4]);
  /** Every input of the types model in JSON, with `data` of one datatype given instead. */
  const typesBody = (datatype: string, data: unknown) => ({
    inputs: TYPED_INPUTS.map((t) => ({ name: t.name, shape: [2, 2], datatype: t.datatype, data: t.datatype === datatype ? data : values(t.datatype) })),
  });

  it('answers INT64 and UINT64 outputs in JSON with every digit, beyond ±2^53 too (no rounding to a double)', async () => {
    const i64 = BigInt64Array.of(-(2n ** 63n), 2n ** 63n - 1n, 9007199254740993n, -1n);
    const u64 = BigUint64Array.of(1152921504606846976n + 1n, 2n ** 64n - 1n, 9007199254740993n, 0n);
    const req = {
      inputs: TYPED_INPUTS.map((t) => (t.datatype === 'INT64' || t.datatype === 'UINT64'
        ? { name: t.name, shape: [2, 2], datatype: t.datatype, parameters: { binary_data_size: 32 } }
        : { name: t.name, shape: [2, 2], datatype: t.datatype, data: values(t.datatype) })),
      outputs: [{ name: 'i64_out' }, { name: 'u64_out' }, { name: 'i32_out' }],
    };
    const { body, headers } = binaryBody(req, TYPED_INPUTS.flatMap((t) => (t.datatype === 'INT64' ? [bytesOf(i64)] : t.datatype === 'UINT64' ? [bytesOf(u64)] : [])));
    const res = await fetch(`${url}/v2/models/types/infer`, { method: 'POST', headers, body: body as BodyInit });
    const text = await res.text();
    expect(res.status, text).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    // The numbers as JSON number literals, digit for digit: a parser that reads them exactly gets the model's values.
    expect(text).toContain('"name":"i64_out","shape":[2,2],"datatype":"INT64","data":[-9223372036854775808,9223372036854775807,9007199254740993,-1]}');
    expect(text).toContain('"name":"u64_out","shape":[2,2],"datatype":"UINT64","data":[1152921504606846977,18446744073709551615,9007199254740993,0]}');
    // Still one valid JSON document of the protocol's shape, the other outputs as before.
    const r = { status: res.status, headers: res.headers, json: JSON.parse(text) as unknown, binary: Buffer.alloc(0) };
    expectConforms('inference_response', r);
    expect((r.json as { outputs: { name: string; data: unknown[] }[] }).outputs.map((o) => o.name)).toEqual(['i64_out', 'u64_out', 'i32_out']);
    expect((r.json as { outputs: { data: unknown[] }[] }).outputs[2]?.data).toEqual([1, 2, 3, 4]);
  });

  it('400 for INT64 and UINT64 JSON inputs beyond ±2^53, quoting the value as the client wrote it', async () => {
    const send = (datatype: string, data: string) => infer(JSON.stringify(typesBody(datatype, ['X', 2, 3, 4])).replace('"X"', data), 'types');
    expectError(await send('UINT64', '9007199254740993'), 400, /^input 'u64': value 9007199254740993 at index 0 is beyond ±2\^53, where JSON numbers lose precision: send UINT64 values this large as binary data$/);
    expectError(await send('INT64', '-1152921504606846977'), 400, /^input 'i64': value -1152921504606846977 at index 0 is beyond ±2\^53/);
  });

  it('400 for a JSON number that overflows to infinity (1e400, -1e400), where the string "Infinity" is taken', async () => {
    for (const [datatype, name] of [['FP32', 'f32'], ['FP64', 'f64']] as const) {
      for (const [written, sign] of [['1e400', ''], ['-1e400', 'minus ']] as const) {
        const r = await infer(JSON.stringify(typesBody(datatype, [1, 'X', 3, 4])).replace('"X"', written), 'types');
        expectError(r, 400, new RegExp(`^input '${name}': value ${written} at index 1 is beyond the range of JSON numbers this server reads .*, so JSON parsing made it ${sign}infinity; to send ${sign}infinity, write "${sign ? '-' : ''}Infinity"$`));
      }
      const ok = await infer({ ...typesBody(datatype, [1, 'Infinity', '-Infinity', 4]), outputs: [{ name: `${name}_out` }] }, 'types');
      expect(ok.status, JSON.stringify(ok.json)).toBe(200);
      expect((ok.json as { outputs: { data: unknown[] }[] }).outputs[0]?.data).toEqual([1, 'Infinity', '-Infinity', 4]);
    }
  });

  it('400 for a BYTES element onnxruntime-node would change (a NUL byte, text that is not UTF-8), in JSON and binary alike', async () => {
    expectError(await infer(typesBody('BYTES', ['a', 'b\u0000c', 'd', 'e']), 'types'), 400, /^input 's': value "b\\u0000c" at index 1 holds a NUL character \(\\u0000\), where onnxruntime would cut it short: onnxruntime-node carries BYTES tensors as UTF-8 text without NUL bytes$/);
    expectError(await infer(JSON.stringify(typesBody('BYTES', ['a', 'b', 'X', 'd'])).replace('"X"', '"\\udc80"'), 'types'), 400, /^input 's': value "\\udc80" at index 2 holds half a UTF-16 surrogate pair/);
    const binaryBytes = async (elements: Buffer[]) => {
      const data = Buffer.concat(elements.flatMap((b) => { const n = Buffer.alloc(4); n.writeUInt32LE(b.length); return [n, b]; }));
      const req = { inputs: TYPED_INPUTS.map((t) => (t.datatype === 'BYTES' ? { name: 's', shape: [2, 2], datatype: 'BYTES', parameters: { binary_data_size: data.length } } : { name: t.name, shape: [2, 2], datatype: t.datatype, data: values(t.datatype) })) };
      const { body, headers } = binaryBody(req, [data]);
      return infer(body, 'types', headers);
    };
    const text = (s: string) => Buffer.from(s);
    expectError(await binaryBytes([text('a'), text('b'), text('c'), text('nul\0after')]), 400, /^input 's': BYTES element 3 holds a NUL byte \(at byte 3\), where onnxruntime would cut it short/);
    expectError(await binaryBytes([text('a'), Buffer.from([0xc3, 0x28]), text('c'), text('d')]), 400, /^input 's': BYTES element 1 is not valid UTF-8, and would reach the model with U\+FFFD in place of its bytes/);
    // Text without either goes through unchanged.
    const ok = await binaryBytes([text('a'), text('héllo'), text(''), text('∑')]);
    expect(ok.status, JSON.stringify(ok.json)).toBe(200);
    expect((ok.json as { outputs: { name: string; data: unknown[] }[] }).outputs.find((o) => o.name === 's_out')?.data).toEqual(['a', 'héllo', '', '∑']);
  });
});

describe('outputs asked for', () => {
  it('returns every output for an empty "outputs" list, as when it is left out', async () => {
    const x = image(1, 21);
    const r = await infer({ inputs: [imageInput(x, 1)], outputs: [] });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    const outs = (r.json as { outputs: { name: string; shape: number[]; data: number[] }[] }).outputs;
    expect(outs.map((o) => o.name)).toEqual(['logits']);
    expectValues(outs[0]?.data, await expected(x, 1));
  });
});

describe('inference with binary tensors (Inference-Header-Content-Length)', () => {
  it('takes binary inputs and returns binary outputs on request (binary_data_output, or binary_data per output)', async () => {
    const x = image(2, 3);
    const want = await expected(x, 2);
    const asJson = await infer({ inputs: [imageInput(x, 2)] });
    const json = (asJson.json as { outputs: { data: number[] }[] }).outputs[0]?.data;
    for (const parameters of [{ binary_data_output: true }, undefined]) {
      const req = { inputs: [{ name: 'image', shape: [2, 3, 16, 16], datatype: 'FP32', parameters: { binary_data_size: x.byteLength } }], ...(parameters ? { parameters } : { outputs: [{ name: 'logits', parameters: { binary_data: true } }] }) };
      const { body, headers } = binaryBody(req, [bytesOf(x)]);
      const r = await infer(body, 'digits', headers);
      expect(r.status, JSON.stringify(r.json)).toBe(200);
      expect(r.headers.get('content-type')).toMatch(/application\/octet-stream/);
      expectConforms('inference_response', r);
      const out = (r.json as { outputs: { name: string; shape: number[]; parameters: { binary_data_size: number }; data?: unknown }[] }).outputs[0];
      expect(out).toMatchObject({ name: 'logits', shape: [2, 10], parameters: { binary_data_size: 80 } });
      expect(out?.data).toBeUndefined();
      const bytes = binaryOutputs(r).get('logits') as Buffer;
      const got = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
      expect(Array.from(got)).toEqual(json);
      expectValues(Array.from(got), want);
    }
  });

  it('mixes a binary input with JSON outputs (no binary flag means JSON)', async () => {
    const x = image(1, 4);
    const { body, headers } = binaryBody({ inputs: [{ name: 'image', shape: [1, 3, 16, 16], datatype: 'FP32', parameters: { binary_data_size: x.byteLength } }] }, [bytesOf(x)]);
    const r = await infer(body, 'digits', headers);
    expect(r.status).toBe(200);
    expect(r.binary.length).toBe(0);
    const want = await expected(x, 1);
    expectValues((r.json as { outputs: { data: number[] }[] }).outputs[0]?.data, want);
  });

  it('round-trips every datatype in binary, BYTES as length-prefixed strings and FP16 as half floats', async () => {
    const f16 = toFloat16([1.5, -2, 65504, 0.1]);
    const strings = ['a', 'héllo', '', '∑'];
    const bytesTensor = Buffer.concat(strings.flatMap((s) => { const b = Buffer.from(s); const n = Buffer.alloc(4); n.writeUInt32LE(b.length); return [n, b]; }));
    const arrays: Record<string, Buffer> = {
      FP32: bytesOf(Float32Array.of(1.5, -2.25, 3, 0.1)), FP64: bytesOf(Float64Array.of(1e-300, -2.5, 3, Math.PI)), FP16: bytesOf(f16),
      INT8: bytesOf(Int8Array.of(-128, 127, 0, 5)), UINT8: bytesOf(Uint8Array.of(0, 255, 7, 8)), INT16: bytesOf(Int16Array.of(-32768, 32767, 1, 2)),
      UINT16: bytesOf(Uint16Array.of(0, 65535, 3, 4)), INT32: bytesOf(Int32Array.of(-2147483648, 2147483647, 5, 6)), UINT32: bytesOf(Uint32Array.of(0, 4294967295, 7, 8)),
      INT64: bytesOf(BigInt64Array.of(-(2n ** 63n), 2n ** 63n - 1n, 1n, -1n)), UINT64: bytesOf(BigUint64Array.of(0n, 2n ** 64n - 1n, 2n, 3n)),
      BOOL: bytesOf(Uint8Array.of(1, 0, 0, 1)), BYTES: bytesTensor,
    };
    const req = {
      parameters: { binary_data_output: true },
      inputs: TYPED_INPUTS.map((t) => ({ name: t.name, shape: [2, 2], datatype: t.datatype, parameters: { binary_data_size: (arrays[t.datatype] as Buffer).length } })),
    };
    const { body, headers } = binaryBody(req, TYPED_INPUTS.map((t) => arrays[t.datatype] as Buffer));
    const r = await infer(body, 'types', headers);
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expectConforms('inference_response', r);
    const outs = binaryOutputs(r);
    for (const t of TYPED_INPUTS) expect(outs.get(`${t.name}_out`), t.datatype).toEqual(arrays[t.datatype]);
    expect(Array.from(fromFloat16(new Uint16Array(new Uint8Array(outs.get('f16_out') as Buffer).buffer)))).toEqual([1.5, -2, 65504, 0.0999755859375]);
  });
});

describe('requests the server refuses before running anything', () => {
  const x = image(1, 9);
  const good = () => imageInput(x, 1);

  it.each([
    ['wrong datatype', { inputs: [{ ...good(), datatype: 'INT32' }] }, /must be FP32, got INT32/],
    ['an unknown datatype', { inputs: [{ ...good(), datatype: 'FLOAT' }] }, /unknown datatype "FLOAT"/],
    ['wrong rank', { inputs: [{ ...good(), shape: [3, 16, 16] }] }, /must have shape \[-1, 3, 16, 16\]/],
    ['a wrong fixed dim', { inputs: [{ ...good(), shape: [1, 3, 16, 8] }] }, /must have shape/],
    ['a negative dim', { inputs: [{ ...good(), shape: [1, 3, -16, 16] }] }, /non-negative integers/],
    ['data shorter than the shape', { inputs: [{ ...good(), data: Array.from(x).slice(1) }] }, /do not fill|needs 768/],
    ['data longer than the shape', { inputs: [{ ...good(), data: [...Array.from(x), 1] }] }, /do not fill|needs 768/],
    ['nested data that is not rectangular', { inputs: [{ ...good(), data: [[1, 2], [3]] }] }, /not rectangular/],
    ['a string in FP32 data', { inputs: [{ ...good(), data: ['a', ...Array.from(x).slice(1)] }] }, /not a number/],
    ['a boolean in FP32 data', { inputs: [{ ...good(), data: Array.from(x, (v, i) => (i === 5 ? true : v)) }] }, /^input 'image': value true at index 5 is not a number: FP32 data takes JSON numbers \(true and false go in BOOL tensors\)$/],
    ['a boolean in nested FP32 data', { inputs: [{ ...good(), data: nestedImage(x, [0, 1, 2, 3], false) }] }, /^input 'image': value false at data\[0\]\[1\]\[2\]\[3\] \(index 291\) is not a number/],
    ['null in FP32 data', { inputs: [{ ...good(), data: Array.from(x, (v, i) => (i === 767 ? null : v)) }] }, /^input 'image': value null at index 767 is not a number/],
    ['an object in FP32 data', { inputs: [{ ...good(), data: Array.from(x, (v, i) => (i === 0 ? { v: 1 } : v)) }] }, /^input 'image': value \{"v":1\} at index 0 is not a number/],
    ['nested data that does not follow the shape (the right count in 2 rows)', { inputs: [{ ...good(), data: [Array.from(x).slice(0, 384), Array.from(x).slice(384)] }] },
      /^input 'image': data nested as \[2, 384\] does not match shape \[1, 3, 16, 16\]; give it flat \(768 values\) or nested as the shape$/],
    ['data nested one level short of the shape', { inputs: [{ ...good(), data: [[0, 1, 2].map((c) => Array.from(x).slice(c * 256, c * 256 + 256))] }] }, /data nested as \[1, 3, 256\] does not match shape \[1, 3, 16, 16\]/],
    ['data nested one level past the shape', { inputs: [{ ...good(), data: [nestedImage(x)] }] }, /data nested as \[1, 1, 3, 16, 16\] does not match shape \[1, 3, 16, 16\]/],
    ['data that mixes values and rows', { inputs: [{ ...good(), data: [1, Array.from(x).slice(1)] }] }, /^input 'image': data is not rectangular: data\[1\] is an array where data\[0\] is a value/],
    ['an unknown input name', { inputs: [{ ...good(), name: 'picture' }] }, /unknown input 'picture'.*'image'/],
    ['an input given twice', { inputs: [good(), good()] }, /given twice/],
    ['no inputs', { inputs: [] }, /non-empty array/],
    ['inputs that are not an array', { inputs: 'image' }, /non-empty array/],
    ['a body that is not an object', [1, 2], /JSON object/],
    ['an unknown output', { inputs: [good()], outputs: [{ name: 'probs' }] }, /unknown output 'probs'/],
    ['binary_data_output that is not a boolean', { inputs: [good()], parameters: { binary_data_output: 'true' } }, /^request parameter binary_data_output must be true or false, got "true"$/],
    ['binary_data that is not a boolean', { inputs: [good()], outputs: [{ name: 'logits', parameters: { binary_data: 1 } }] }, /^output 'logits': parameter binary_data must be true or false, got 1$/],
    ['an output asked for twice', { inputs: [good()], outputs: [{ name: 'logits' }, { name: 'logits', parameters: { binary_data: true } }] }, /^output 'logits' is asked for twice$/],
    ['data missing', { inputs: [{ name: 'image', shape: [1, 3, 16, 16], datatype: 'FP32' }] }, /data must be an array/],
    ['a non-string id', { id: 7, inputs: [good()] }, /"id" must be a string/],
  ])('400 for %s', async (_what, body, pattern) => {
    expectError(await infer(body), 400, pattern);
  });

  it('400 for a missing input, and for an integer outside its datatype', async () => {
    const values = (t: string) => (t === 'BYTES' ? ['a', 'b', 'c', 'd'] : t === 'BOOL' ? [true, false, true, false] : [1, 2, 3, 4]);
    const all = TYPED_INPUTS.map((t) => ({ name: t.name, shape: [2, 2], datatype: t.datatype, data: values(t.datatype) }));
    expectError(await infer({ inputs: all.slice(1) }, 'types'), 400, /missing input 'f32'/);
    expectError(await infer({ inputs: all.map((i) => (i.datatype === 'UINT8' ? { ...i, data: [1, 2, 3, 256] } : i)) }, 'types'), 400, /outside the range of UINT8/);
  });

  it('400 for a JSON value of another type than the datatype takes: booleans only in BOOL, strings only in BYTES, numbers in the rest', async () => {
    const good = (t: string) => (t === 'BYTES' ? ['a', 'b', 'c', 'd'] : t === 'BOOL' ? [true, false, true, false] : [1, 2, 3, 4]);
    const send = (datatype: string, data: unknown[]) => infer({ inputs: TYPED_INPUTS.map((t) => ({ name: t.name, shape: [2, 2], datatype: t.datatype, data: t.datatype === datatype ? data : good(t.datatype) })) }, 'types');
    for (const t of TYPED_INPUTS.filter((i) => i.datatype !== 'BOOL' && i.datatype !== 'BYTES')) {
      expectError(await send(t.datatype, [1, 2, true, 4]), 400, new RegExp(`^input '${t.name}': value true at index 2 is not a number: ${t.datatype} data takes JSON numbers`));
      expectError(await send(t.datatype, [[1, 2], [false, 4]]), 400, new RegExp(`^input '${t.name}': value false at data\\[1\\]\\[0\\] \\(index 2\\) is not a number`));
      expectError(await send(t.datatype, [1, '2', 3, 4]), 400, new RegExp(`^input '${t.name}': value "2" at index 1 is not a number`));
    }
    // Triton takes only true and false in a BOOL tensor: 1 and 0 (or "true") are refused, not read as truthy.
    expectError(await send('BOOL', [true, 1, false, true]), 400, /^input 'b': value 1 at index 1 is not a boolean: BOOL data takes JSON true or false$/);
    expectError(await send('BOOL', [[true, false], [0, true]]), 400, /^input 'b': value 0 at data\[1\]\[0\] \(index 2\) is not a boolean/);
    expectError(await send('BOOL', ['true', false, false, true]), 400, /^input 'b': value "true" at index 0 is not a boolean/);
    expectError(await send('BYTES', ['a', 5, 'c', 'd']), 400, /^input 's': value 5 at index 1 is not a string: BYTES data takes JSON strings$/);
    expectError(await send('BYTES', ['a', 'b', null, 'd']), 400, /^input 's': value null at index 2 is not a string/);
    // The same values in their own types, flat and nested as the shape, still go through.
    const nested = TYPED_INPUTS.map((t) => ({ name: t.name, shape: [2, 2], datatype: t.datatype, data: [good(t.datatype).slice(0, 2), good(t.datatype).slice(2)] }));
    const r = await infer({ inputs: nested }, 'types');
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect((r.json as { outputs: { name: string; data: unknown[] }[] }).outputs.find((o) => o.name === 'b_out')?.data).toEqual([true, false, true, false]);
  });

  it('400 for malformed JSON and an empty body', async () => {
    expectError(await infer('{"inputs": [', 'digits'), 400, /malformed JSON/);
    expectError(await infer('', 'digits'), 400, /empty/);
  });

  it('400 for binary data sent without Inference-Header-Content-Length, saying the header is missing and what it should be', async () => {
    const { body, headers } = binaryBody({ inputs: [{ name: 'image', shape: [1, 3, 16, 16], datatype: 'FP32', parameters: { binary_data_size: 3072 } }] }, [bytesOf(new Float32Array(768).fill(0.5))]);
    const jsonBytes = Number(headers['inference-header-content-length']);
    const r = await infer(body, 'digits', { 'content-type': 'application/octet-stream' });
    expectError(r, 400, /^malformed JSON in the request body: .*; the body is (\d+) bytes of JSON followed by 3072 bytes that are not: to send binary tensor data after the JSON, give the header Inference-Header-Content-Length: (\d+) \(the byte length of the JSON part\)$/);
    expect((r.json as { error: string }).error).toContain(`is ${jsonBytes} bytes of JSON`);
    expect((r.json as { error: string }).error).toContain(`Inference-Header-Content-Length: ${jsonBytes} (`);
    // The same body with the header goes through.
    expect((await infer(body, 'digits', headers)).status).toBe(200);
  });

  it('400 for binary data that does not match: size against the shape, body against the sizes, a bad header', async () => {
    const short = binaryBody({ inputs: [{ name: 'image', shape: [1, 3, 16, 16], datatype: 'FP32', parameters: { binary_data_size: 100 } }] }, [Buffer.alloc(100)]);
    expectError(await infer(short.body, 'digits', short.headers), 400, /binary_data_size is 100 bytes but shape \[1, 3, 16, 16\] of FP32 needs 3072/);
    const extra = binaryBody({ inputs: [{ name: 'image', shape: [1, 3, 16, 16], datatype: 'FP32', parameters: { binary_data_size: 3072 } }] }, [Buffer.alloc(3080)]);
    expectError(await infer(extra.body, 'digits', extra.headers), 400, /3080 bytes of binary data.*add up to 3072/);
    const missing = binaryBody({ inputs: [{ name: 'image', shape: [1, 3, 16, 16], datatype: 'FP32', parameters: { binary_data_size: 3072 } }] }, []);
    expectError(await infer(missing.body, 'digits', missing.headers), 400, /needs 3072 bytes of binary data/);
    expectError(await infer(extra.body, 'digits', { ...extra.headers, 'inference-header-content-length': '999999' }), 400, /Inference-Header-Content-Length/);
    // Only decimal digits: Number() would read these as the right length too.
    const right = binaryBody({ inputs: [{ name: 'image', shape: [1, 3, 16, 16], datatype: 'FP32', parameters: { binary_data_size: 3072 } }] }, [Buffer.alloc(3072)]);
    const length = Number(right.headers['inference-header-content-length']);
    expect((await infer(right.body, 'digits', right.headers)).status).toBe(200);
    for (const text of [`0x${length.toString(16)}`, `${length / 10}e1`, `+${length}`, `${length}.0`]) {
      expectError(await infer(right.body, 'digits', { ...right.headers, 'inference-header-content-length': text }), 400, /^header Inference-Header-Content-Length must be the byte length of the JSON part of the body/);
    }
  });

  it('400 for a dim onnxruntime cannot take, even in an empty tensor (not a 500 from inside the model)', async () => {
    for (const shape of [[0, 4294967296], [0, 1e20]]) {
      expectError(await infer({ inputs: [{ name: 'x', shape, datatype: 'FP32', data: [] }] }, 'matrix'), 400, /^input 'x': dim 1 of shape \[0, \d+\] is larger than 4294967295, the most onnxruntime takes$/);
    }
    const r = await infer({ inputs: [{ name: 'x', shape: [0, 4294967295], datatype: 'FP32', data: [] }] }, 'matrix');
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect((r.json as { outputs: { shape: number[]; data: number[] }[] }).outputs[0]).toMatchObject({ shape: [0, 4294967295], data: [] });
  });

  it('413 for a body over the limit, and for more tensor elements than allowed', async () => {
    const big = { inputs: [{ name: 'image', shape: [200, 3, 16, 16], datatype: 'FP32', data: Array.from({ length: 200 * 768 }, () => 0.5) }] };
    expect(JSON.stringify(big).length).toBeGreaterThan(BODY_LIMIT);
    expectError(await infer(big), 413, /larger than the limit of 262144 bytes/);
    // Small enough in bytes as binary, but over the element limit: refused before anything is allocated.
    const many = binaryBody({ inputs: [{ name: 'image', shape: [40, 3, 16, 16], datatype: 'FP32', parameters: { binary_data_size: 40 * 768 * 4 } }] }, [Buffer.alloc(40 * 768 * 4)]);
    expectError(await infer(many.body, 'digits', many.headers), 413, /more than 20000 tensor elements/);
  });

  it('still answers good requests after all of those', async () => {
    const r = await infer({ inputs: [good()] });
    expect(r.status).toBe(200);
  });
});

describe('statistics, metrics and unknown routes', () => {
  it('gives per-model statistics with per-variant figures, for one model and for all', async () => {
    for (const p of ['/v2/models/digits/stats', '/v2/models/digits/versions/1/stats']) {
      const r = await call(`${url}${p}`, 'GET');
      expect(r.status).toBe(200);
      const s = (r.json as { model_stats: Record<string, unknown>[] }).model_stats[0] as {
        name: string; version: string; inference_count: number; inference_stats: { success: { count: number; ns: number }; fail: { count: number } }; hybrid: { backends: Record<string, { calls: number }> };
      };
      expect(s).toMatchObject({ name: 'digits', version: '1' });
      expect(s.inference_count).toBeGreaterThan(10);
      expect(s.inference_stats.success.ns).toBeGreaterThan(0);
      expect(Object.keys(s.hybrid.backends)).toEqual(['digits.onnx']);
    }
    const all = await call(`${url}/v2/models/stats`, 'GET');
    expect((all.json as { model_stats: { name: string }[] }).model_stats.map((m) => m.name).sort()).toEqual(['digits', 'matrix', 'types']);
  });

  it('exposes Prometheus metrics: server, hybrid, batching and process series', async () => {
    const res = await fetch(`${url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await res.text();
    expect(text).toMatch(/onnx_forge_server_inference_requests_total\{model="digits",status="200"\} \d+/);
    expect(text).toMatch(/onnx_forge_server_inference_requests_total\{model="digits",status="400"\} \d+/);
    expect(text).toMatch(/onnx_forge_server_inference_seconds_bucket\{le="0.1",model="digits"\} \d+/);
    expect(text).toMatch(/onnx_forge_hybrid_requests_total\{model="digits",outcome="ok"\} \d+/);
    expect(text).toMatch(/onnx_forge_server_batch_mean_size\{model="digits",variant="digits.onnx"\} [\d.]+/);
    expect(text).toMatch(/onnx_forge_server_model_ready\{model="types"\} 1/);
    expect(text).toMatch(/onnx_forge_server_process_cpu_seconds_total/);
  });

  it('labels inference series only with the models of the repository: unknown names sent by clients make no new series', async () => {
    const before = await (await fetch(`${url}/metrics`)).text();
    const unknown = (text: string) => Number(/onnx_forge_server_inference_requests_total\{model="\(unknown\)",status="404"\} (\d+)/.exec(text)?.[1] ?? 0);
    for (const name of ['nope-a', 'nope-b', 'nope-c']) expectError(await infer({ inputs: [] }, name), 404, new RegExp(`unknown model '${name}'`));
    const text = await (await fetch(`${url}/metrics`)).text();
    expect(text).not.toMatch(/nope-/);
    expect(unknown(text) - unknown(before)).toBe(3);
    // A known model's version that does not exist still counts under the model.
    expectError(await call(`${url}/v2/models/digits/versions/9/infer`, 'POST', { inputs: [] }), 404, /no version '9'/);
    expect(await (await fetch(`${url}/metrics`)).text()).toMatch(/onnx_forge_server_inference_requests_total\{model="digits",status="404"\} [1-9]/);
  });

  it('answers an unknown route with 404 and an error object', async () => {
    expectError(await call(`${url}/v3/models`, 'GET'), 404, /no route GET \/v3\/models/);
  });

  it('takes an endpoint with a trailing slash as without one', async () => {
    expect((await fetch(`${url}/v2/health/live/`)).status).toBe(200);
    expect((await call(`${url}/v2/models/digits/`, 'GET')).status).toBe(200);
  });

  it('answers a route asked with a method it does not take with 405, the methods it takes in Allow', async () => {
    const cases: [string, 'GET' | 'POST', string][] = [
      ['/v2/models/digits/infer', 'GET', 'POST'],
      ['/v2/models/nope/versions/3/infer', 'GET', 'POST'],
      ['/v2/health/live', 'POST', 'GET, HEAD'],
      ['/v2/models/digits', 'POST', 'GET, HEAD'],
      ['/v2/repository/index', 'GET', 'POST'],
      ['/v2/repository/models/digits/load', 'GET', 'POST'],
    ];
    for (const [p, method, allow] of cases) {
      const r = await call(`${url}${p}`, method, method === 'POST' ? {} : undefined);
      expectError(r, 405, new RegExp(`^${method} is not allowed on ${p.replace(/\//g, '\\/')}: it takes ${allow}$`));
      expect(r.headers.get('allow'), p).toBe(allow);
    }
    const del = await fetch(`${url}/v2/models/digits/infer?x=1`, { method: 'DELETE' });
    expect(del.status).toBe(405);
    expect(del.headers.get('allow')).toBe('POST');
    // A path no route has is still 404, whatever the method.
    expectError(await call(`${url}/v2/models/digits/infer/more`, 'POST', {}), 404, /^no route POST/);
  });

  it('answers a compressed body (Content-Encoding other than identity) with 415 naming the encoding, and reads identity as usual', async () => {
    const body = JSON.stringify({ inputs: [imageInput(image(1, 41), 1)] });
    const compressed: Record<string, Buffer> = { gzip: gzipSync(body), br: brotliCompressSync(body), deflate: deflateSync(body) };
    for (const [encoding, bytes] of Object.entries(compressed)) {
      const r = await infer(bytes, 'digits', { 'content-encoding': encoding, 'content-type': 'application/json' });
      expectError(r, 415, new RegExp(`^the request body is sent with Content-Encoding: ${encoding}, which this server does not decode; send it uncompressed`));
      expect(r.headers.get('accept-encoding')).toBe('identity');
    }
    expectError(await call(`${url}/v2/repository/index`, 'POST', gzipSync('{}'), { 'content-encoding': 'GZIP', 'content-type': 'application/json' }), 415, /Content-Encoding: GZIP/);
    expect((await infer(body, 'digits', { 'content-encoding': 'identity' })).status).toBe(200);
  });

  it('answers a path it cannot decode with 400 and an error object, and looks up a model name longer than 100 characters (no 414)', async () => {
    // Fastify answers both before any route, in its own body ({"error": "Bad Request", "message", "statusCode"}) unless told otherwise.
    expectError(await call(`${url}/v2/models/%E0%A4%A/infer`, 'POST', { inputs: [] }), 400, /not a valid url component/);
    expectError(await call(`${url}/v2/models/digits/versions/%ZZ/ready`, 'GET'), 400, /not a valid url component/);
    const long = `m${'x'.repeat(150)}`;
    expectError(await call(`${url}/v2/models/${long}`, 'GET'), 404, new RegExp(`unknown model '${long}'`));
    expectError(await infer({ inputs: [] }, long), 404, new RegExp(`unknown model '${long}'`));
  });

  it("answers what Node's HTTP parser refuses before any route (a URL past 16 KiB: 431) in the same error shape, and stays up", async () => {
    expectError(await call(`${url}/v2/models/${'m'.repeat(20_000)}`, 'GET'), 431, /^the request line and headers are larger than the server takes \(16 KiB\)/);
    expect((await fetch(`${url}/v2/health/live`)).status).toBe(200);
  });
});

describe('the repository extension', () => {
  it('lists models, unloads one (then 503 for it, server still ready), loads it back, and loads a model added after the start', async () => {
    const index = await call(`${url}/v2/repository/index`, 'POST');
    expect(index.status).toBe(200);
    expectConforms('repository_index_response', index);
    expect(index.json).toEqual([
      { name: 'digits', version: '1', state: 'READY', reason: '' },
      { name: 'matrix', version: '1', state: 'READY', reason: '' },
      { name: 'types', version: '1', state: 'READY', reason: '' },
    ]);

    expect((await call(`${url}/v2/repository/models/types/unload`, 'POST')).status).toBe(200);
    // An unloaded model keeps the version it served.
    expect((await call(`${url}/v2/repository/index`, 'POST')).json).toContainEqual({ name: 'types', version: '1', state: 'UNAVAILABLE', reason: 'unloaded' });
    expectError(await call(`${url}/v2/models/types/ready`, 'GET'), 503, /not ready \(unavailable: unloaded\)/);
    expectError(await infer({ inputs: [] }, 'types'), 503, /not ready/);
    expect((await call(`${url}/v2/health/ready`, 'GET')).status).toBe(200);
    // {"ready": true} asks for the models ready for inference only (the extension's index request).
    const readyOnly = await call(`${url}/v2/repository/index`, 'POST', { ready: true });
    expect(readyOnly.status).toBe(200);
    expectConforms('repository_index_response', readyOnly);
    expect((readyOnly.json as { name: string }[]).map((e) => e.name)).toEqual(['digits', 'matrix']);
    expect(((await call(`${url}/v2/repository/index`, 'POST', { ready: false })).json as unknown[]).length).toBe(3);
    expect(((await call(`${url}/v2/repository/index`, 'POST', {})).json as unknown[]).length).toBe(3);
    expectError(await call(`${url}/v2/repository/index`, 'POST', '{"ready": tru'), 400, /^malformed JSON in the request body/);
    expectError(await call(`${url}/v2/repository/index`, 'POST', { ready: 'yes' }), 400, /^"ready" must be true or false, got "yes"$/);
    expectError(await call(`${url}/v2/repository/index`, 'POST', [true]), 400, /^the index request must be a JSON object/);

    expect((await call(`${url}/v2/repository/models/types/load`, 'POST')).status).toBe(200);
    expect((await call(`${url}/v2/models/types/ready`, 'GET')).status).toBe(200);

    // Loading a loaded model reloads it: the old version serves until the new one is ready, then they swap
    // (as Triton does), so requests, the model's readiness and the server's all answer 200 throughout.
    const x0 = image(1, 12);
    const want0 = await expected(x0, 1);
    let settled = false;
    const reload = call(`${url}/v2/repository/models/digits/load`, 'POST').finally(() => (settled = true));
    const seen: { what: string; status: number; json: unknown }[] = [];
    while (!settled) {
      const [r, modelReady, serverReady] = await Promise.all([infer({ inputs: [imageInput(x0, 1)] }), call(`${url}/v2/models/digits/ready`, 'GET'), call(`${url}/v2/health/ready`, 'GET')]);
      seen.push({ what: 'infer', ...r }, { what: 'model ready', ...modelReady }, { what: 'server ready', ...serverReady });
      if (r.status === 200) expectValues((r.json as { outputs: { data: number[] }[] }).outputs[0]?.data, want0);
    }
    expect((await reload).status).toBe(200);
    expect(seen.length).toBeGreaterThan(3);
    expect(seen.filter((x) => x.status !== 200).map((x) => `${x.what} ${x.status} ${JSON.stringify(x.json)}`)).toEqual([]);
    const after = await infer({ inputs: [imageInput(x0, 1)] });
    expect(after.status).toBe(200);
    expect(await (await fetch(`${url}/metrics`)).text()).toMatch(/onnx_forge_hybrid_selected\{model="digits",backend="digits.onnx"\} 1/);

    expectError(await call(`${url}/v2/repository/models/later/load`, 'POST'), 404, /^the repository has no model 'later'$/);
    // A name that tries to climb out of the repository: 404 naming it as given, never the server's path.
    const climb = await call(`${url}/v2/repository/models/..%2f..%2fetc/load`, 'POST');
    expectError(climb, 404, /^the repository has no model '\.\.\/\.\.\/etc'$/);
    expect(JSON.stringify(climb.json)).not.toContain(dir);
    await copyFile(path.join(dir, 'digits.onnx'), path.join(dir, 'later.onnx'));
    expect((await call(`${url}/v2/repository/models/later/load`, 'POST')).status).toBe(200);
    const x = image(1, 11);
    const r = await infer({ inputs: [imageInput(x, 1)] }, 'later');
    expect(r.status).toBe(200);
    const want = await expected(x, 1);
    expectValues((r.json as { outputs: { data: number[] }[] }).outputs[0]?.data, want);
  });

  it('runs loads and unloads of one model in the order they were asked, however close together', async () => {
    // Three loads of a model at once: each reloads in turn; none fails on another's half-made state.
    const loads = await Promise.all([1, 2, 3].map(() => server.models.load('digits').then(() => 'ok', (e: unknown) => (e as Error).message)));
    expect(loads).toEqual(['ok', 'ok', 'ok']);
    const overHttp = await Promise.all([1, 2].map(() => call(`${url}/v2/repository/models/digits/load`, 'POST')));
    expect(overHttp.map((r) => r.status), JSON.stringify(overHttp.map((r) => r.json))).toEqual([200, 200]);
    const x = image(1, 31);
    const r = await infer({ inputs: [imageInput(x, 1)] });
    expect(r.status).toBe(200);
    expectValues((r.json as { outputs: { data: number[] }[] }).outputs[0]?.data, await expected(x, 1));
    // A load, then an unload in the same tick: the unload comes second, so the model ends unloaded.
    const [load, unload] = await Promise.allSettled([server.models.load('types'), server.models.unload('types')]);
    expect([load.status, unload.status]).toEqual(['fulfilled', 'fulfilled']);
    expect(server.models.index().find((e) => e.name === 'types')).toEqual({ name: 'types', version: '1', state: 'UNAVAILABLE', reason: 'unloaded' });
    expect(server.models.loaded().map((m) => m.name).sort()).toEqual(['digits', 'later', 'matrix']);
    // And the exposition stays valid: no series twice.
    const series = (await (await fetch(`${url}/metrics`)).text()).split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.slice(0, l.lastIndexOf(' ')));
    expect(series.filter((l, i) => series.indexOf(l) !== i)).toEqual([]);
  });

  it('400 for a load or unload whose body is not a JSON object (and nothing loaded or unloaded), while no body or {} is fine', async () => {
    const model = (name: string) => server.models.index().find((e) => e.name === name);
    const loadedBefore = server.models.loaded().find((m) => m.name === 'matrix');
    for (const action of ['load', 'unload']) {
      expectError(await call(`${url}/v2/repository/models/matrix/${action}`, 'POST', 'garbage'), 400, /^malformed JSON in the request body/);
      expectError(await call(`${url}/v2/repository/models/matrix/${action}`, 'POST', '[1]'), 400, new RegExp(`^the ${action} request must be a JSON object \\(such as \\{\\}\\), or no body$`));
      // Refused before acting: the model is loaded as it was, the same instance (no reload, no unload).
      expect(model('matrix')?.state).toBe('READY');
      expect(server.models.loaded().find((m) => m.name === 'matrix')).toBe(loadedBefore);
    }
    // A model name that does not exist with a bad body: the body is what is wrong first.
    expectError(await call(`${url}/v2/repository/models/nope/load`, 'POST', '{'), 400, /^malformed JSON/);
    expect((await call(`${url}/v2/repository/models/matrix/unload`, 'POST', '')).status).toBe(200);
    expect(model('matrix')).toMatchObject({ state: 'UNAVAILABLE', reason: 'unloaded' });
    expect((await call(`${url}/v2/repository/models/matrix/load`, 'POST', { parameters: {} })).status).toBe(200);
    expect((await call(`${url}/v2/repository/models/matrix/load`, 'POST', '')).status).toBe(200);
    expect(model('matrix')?.state).toBe('READY');
  });

  it('reads the folder again for the index: lists a model added since the start as a load would find it, drops one deleted unless it is loaded', async () => {
    const index = async () => {
      const r = await call(`${url}/v2/repository/index`, 'POST');
      expect(r.status).toBe(200);
      expectConforms('repository_index_response', r);
      return r.json as { name: string; version?: string; state: string; reason: string }[];
    };
    await copyFile(path.join(dir, 'digits.onnx'), path.join(dir, 'fresh.onnx'));
    expect(await index()).toContainEqual({ name: 'fresh', version: '1', state: 'UNAVAILABLE', reason: 'not loaded' });
    // Listed, not loaded: the server stays ready, and the ready-only index leaves it out.
    expect((await call(`${url}/v2/health/ready`, 'GET')).status).toBe(200);
    expect(((await call(`${url}/v2/repository/index`, 'POST', { ready: true })).json as { name: string }[]).map((e) => e.name)).not.toContain('fresh');

    // 'types' was unloaded above: deleted from disk, it leaves the index, and a load no longer finds it.
    expect((await index()).map((e) => e.name)).toContain('types');
    await rm(path.join(dir, 'types.onnx'));
    await rm(path.join(dir, 'fresh.onnx'));
    const after = await index();
    expect(after.map((e) => e.name)).toEqual(['digits', 'later', 'matrix']);
    expectError(await call(`${url}/v2/repository/models/types/load`, 'POST'), 404, /^the repository has no model 'types'$/);

    // A loaded model whose file is deleted keeps serving from what it opened, and stays listed as READY.
    await rm(path.join(dir, 'later.onnx'));
    expect(await index()).toContainEqual({ name: 'later', version: '1', state: 'READY', reason: '' });
    const x = image(1, 51);
    const r = await infer({ inputs: [imageInput(x, 1)] }, 'later');
    expect(r.status).toBe(200);
    expectValues((r.json as { outputs: { data: number[] }[] }).outputs[0]?.data, await expected(x, 1));
  });
});
