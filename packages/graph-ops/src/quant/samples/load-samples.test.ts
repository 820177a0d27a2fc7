import { DataType, ForgeErrorCode, ModelBuilder, createTensor, decodeTensor, encodeTensor, readModel, tensorToArray, type Model } from '@onnx-forge/core';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runOnce } from '../../testing/harness.js';
import { ORT_SESSIONS } from '../../testing/ort-sessions.js';
import { iterateSamples, loadSamples } from './load-samples.js';
import { parseNpy } from './parse-npy.js';

const TESTDATA = '/usr/share/libonnx-testdata/data/node';

/** An .npy file (format 1.0) for a C-order array. */
function npy(descr: string, shape: number[], data: ArrayBufferView, fortran = false): Uint8Array {
  let header = `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header += ' '.repeat(pad % 64) + '\n';
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set([0x93, ...'NUMPY'.split('').map((c) => c.charCodeAt(0)), 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}

/** A model with inputs x: float32 [batch, 3] and ids: int64 [2]. */
function twoInputModel(): Model {
  const b = new ModelBuilder({ opset: 17 });
  const x = b.input('x', 'float32', ['batch', 3]);
  const ids = b.input('ids', 'int64', [2]);
  b.output(b.op('Identity', [x], {}, { outputs: ['y'] }), 'float32', ['batch', 3]);
  b.output(b.op('Identity', [ids], {}, { outputs: ['z'] }), 'int64', [2]);
  return b.build();
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'int8-samples-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const put = (rel: string, data: Uint8Array | string) => {
  mkdirSync(dirname(join(dir, rel)), { recursive: true });
  writeFileSync(join(dir, rel), data);
};
const pb = (name: string, type: number, dims: number[], data: Float32Array | BigInt64Array) => encodeTensor(createTensor(name, type, dims, data));

describe('loadSamples', () => {
  it('reads the ONNX test-data layout of libonnx-testdata and the model gives the recorded output', async () => {
    const folder = join(TESTDATA, 'test_matmul_2d');
    const model = await readModel(join(folder, 'model.onnx'));
    const samples = await loadSamples(folder, { inputs: model });
    expect(samples).toHaveLength(1);
    const out = await runOnce(ORT_SESSIONS.node, model.encode(), samples[0] as never);
    const expected = tensorToArray(decodeTensor(readFileSync(join(folder, 'test_data_set_0', 'output_0.pb')))) as Float32Array;
    expect(Array.from(Object.values(out)[0] as Float32Array)).toEqual(Array.from(expected));
  });

  it('one sample per test_data_set_* folder, in natural order; inputs named by position', async () => {
    for (const k of [0, 2, 10]) {
      put(`test_data_set_${k}/input_0.pb`, pb('', DataType.FLOAT, [1, 3], Float32Array.of(k, k, k)));
      put(`test_data_set_${k}/input_1.pb`, pb('', DataType.INT64, [2], BigInt64Array.of(1n, 2n)));
      put(`test_data_set_${k}/output_0.pb`, pb('', DataType.FLOAT, [1], Float32Array.of(0)));
    }
    const samples = await loadSamples(dir, { inputs: twoInputModel() });
    expect(samples.map((s) => (s.x?.data as Float32Array)[0])).toEqual([0, 2, 10]);
    expect(samples[0]?.ids).toMatchObject({ type: 'int64', dims: [2] });
  });

  it('names .pb inputs by their TensorProto name when it is an input', async () => {
    put('input_0.pb', pb('ids', DataType.INT64, [2], BigInt64Array.of(3n, 4n)));
    put('input_1.pb', pb('x', DataType.FLOAT, [2, 3], new Float32Array(6)));
    const [s] = await loadSamples(dir, { inputs: twoInputModel() });
    expect(s?.ids?.data).toEqual(BigInt64Array.of(3n, 4n));
    expect(s?.x?.dims).toEqual([2, 3]);
  });

  it('reads .npy files named after the inputs, little- and big-endian', async () => {
    const be = new Uint8Array(new Float32Array([1.5, -2, 3, 4, 5, 6]).buffer).slice();
    for (let i = 0; i < be.length; i += 4) be.subarray(i, i + 4).reverse();
    put('a/x.npy', npy('>f4', [2, 3], be));
    put('a/ids.npy', npy('<i8', [2], BigInt64Array.of(7n, 8n)));
    put('b/input_0.npy', npy('<f4', [1, 3], Float32Array.of(1, 2, 3)));
    put('b/input_1.npy', npy('<i8', [2], BigInt64Array.of(0n, 1n)));
    const samples = await loadSamples(dir, { inputs: twoInputModel() });
    expect(samples).toHaveLength(2);
    expect(Array.from(samples[0]?.x?.data as Float32Array)).toEqual([1.5, -2, 3, 4, 5, 6]);
    expect(samples[1]?.ids?.data).toEqual(BigInt64Array.of(0n, 1n));
  });

  it('reads JSON: one sample, a list of samples, nested arrays typed by the model or explicit tensors', async () => {
    put('one.json', JSON.stringify({ x: [[1, 2, 3]], ids: [5, 6] }));
    put('many.json', JSON.stringify([{ x: { dims: [1, 3], data: [0, 0, 1] }, ids: { type: 'int64', data: [1, 2] } }, { x: [[4, 5, 6], [7, 8, 9]], ids: [0, 0] }]));
    const samples = await loadSamples(dir, { inputs: twoInputModel() });
    expect(samples).toHaveLength(3);
    // Files in natural order: many.json (two samples), then one.json.
    expect(samples.map((s) => s.x?.dims)).toEqual([[1, 3], [2, 3], [1, 3]]);
    expect(samples[2]?.ids?.data).toEqual(BigInt64Array.of(5n, 6n));
  });

  it('iterateSamples yields one sample at a time', async () => {
    put('s.json', JSON.stringify([{ x: [[1, 2, 3]], ids: [1, 2] }, { x: [[1, 2, 3]], ids: [1, 2] }]));
    let n = 0;
    for await (const s of iterateSamples(dir, { inputs: twoInputModel() })) {
      expect(s.x?.type).toBe('float32');
      n++;
    }
    expect(n).toBe(2);
  });

  it('without a model, names come from the files and JSON needs explicit types', async () => {
    put('input_ids.npy', npy('<i8', [1, 2], BigInt64Array.of(1n, 2n)));
    const [s] = await loadSamples(dir);
    expect(Object.keys(s ?? {})).toEqual(['input_ids']);
  });
});

describe('loadSamples bad input: FORGE_BAD_SAMPLES with what to do', () => {
  const cases: [string, () => void, RegExp][] = [
    ['an empty folder', () => {}, /no samples in .*expected ONNX test data/],
    ['float64 .npy for a float32 input', () => put('x.npy', npy('<f8', [1, 3], new Float64Array(3))), /"x" is float64 but the model takes float32.*astype/],
    ['a wrong fixed dimension', () => put('s.json', JSON.stringify({ x: [[1, 2]], ids: [1, 2] })), /dimension 1 must be 3/],
    ['a wrong rank', () => put('s.json', JSON.stringify({ x: [1, 2, 3], ids: [1, 2] })), /rank 1.*rank 2/],
    ['a missing input', () => put('s.json', JSON.stringify({ x: [[1, 2, 3]] })), /no tensor for input "ids"/],
    ['an unknown input', () => put('s.json', JSON.stringify({ x: [[1, 2, 3]], ids: [1, 2], mask: [1] })), /"mask" is not an input/],
    ['fractions for an int64 input', () => put('s.json', JSON.stringify({ x: [[1, 2, 3]], ids: [1.5, 2] })), /not an integer for int64/],
    ['a ragged JSON array', () => put('s.json', JSON.stringify({ x: [[1, 2, 3], [1]], ids: [1, 2] })), /ragged/],
    ['a file that is not a TensorProto', () => put('input_0.pb', '\x93NUMPY garbage garbage'), /not a serialized ONNX TensorProto|cannot decode/],
    ['a Fortran-order .npy', () => put('x.npy', npy('<f4', [1, 3], new Float32Array(3), true)), /Fortran order/],
    ['input_<k> past the model inputs', () => put('input_5.npy', npy('<f4', [1, 3], new Float32Array(3))), /input 5 but the model has 2/],
    ['invalid JSON', () => put('s.json', '{ x: '), /not valid JSON/],
    [
      "test data of another model (tensors named for inputs this one lacks)",
      () => {
        put('a.pb', pb('p', DataType.FLOAT, [1, 3], new Float32Array(3)));
        put('b.pb', pb('q', DataType.FLOAT, [1, 3], new Float32Array(3)));
        put('input_2.pb', pb('r', DataType.FLOAT, [1, 3], new Float32Array(3)));
      },
      /input 2 but the model has 2 input\(s\): x, ids; the files hold tensors named "p", "q", "r", which are not inputs of the model \(its inputs: x, ids\): are they samples of another model\?/,
    ],
  ];
  it.each(cases)('%s', async (_label, setup, message) => {
    setup();
    await expect(loadSamples(dir, { inputs: twoInputModel() })).rejects.toMatchObject({ code: ForgeErrorCode.BAD_SAMPLES, message: expect.stringMatching(message) });
  });

  it('a .pb for a sequence input (libonnx-testdata test_sequence_insert_at_back): refused, naming the file, not misread as a tensor', async () => {
    const folder = join(TESTDATA, 'test_sequence_insert_at_back');
    const model = await readModel(join(folder, 'model.onnx'));
    const file = join(folder, 'test_data_set_0', 'input_0.pb');
    const err = await loadSamples(join(folder, 'test_data_set_0'), { inputs: model }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ForgeErrorCode.BAD_SAMPLES, details: { file, input: 'sequence', type: 'sequence(tensor(int64))' } });
    expect((err as Error).message).toBe(
      `"${file}" is for input "sequence", which takes sequence(tensor(int64)), not a tensor: sequence, map and optional inputs are not supported as samples (only tensors: .pb TensorProto, .npy or JSON)`,
    );
  });

  it('a .pb that is not a TensorProto, without the model to say so: its dims do not match its values', async () => {
    // The SequenceProto's name, field 1, reads as a TensorProto's dims: "sequence" as [115, 101, 113, ...].
    const file = join(TESTDATA, 'test_sequence_insert_at_back', 'test_data_set_0', 'input_0.pb');
    put('input_0.pb', readFileSync(file));
    const err = await loadSamples(dir).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ForgeErrorCode.BAD_SAMPLES, details: { file: join(dir, 'input_0.pb'), dims: [115, 101, 113, 117, 101, 110, 99, 101] } });
    expect((err as Error).message).toMatch(/^".*input_0\.pb" is not a TensorProto: read as one, it has dims \[115, 101, 113, 117, 101, 110, 99, 101\] but 0 values, so it is likely a SequenceProto.*sequence, map and optional inputs are not supported as samples/);
    // A real TensorProto whose raw data is short of its dims is refused the same way.
    const t = createTensor('x', DataType.FLOAT, [2, 3], new Float32Array(6));
    t.dims = [4, 3];
    put('input_0.pb', encodeTensor(t));
    await expect(loadSamples(dir)).rejects.toMatchObject({ code: ForgeErrorCode.BAD_SAMPLES, message: expect.stringMatching(/has dims \[4, 3\] but 6 values/) });
  });

  it('JSON for a sequence input: refused the same way', async () => {
    const model = await readModel(join(TESTDATA, 'test_sequence_insert_at_back', 'model.onnx'));
    put('s.json', JSON.stringify({ sequence: [[1, 2, 3]], tensor: { type: 'int64', data: [1, 2, 3] } }));
    await expect(loadSamples(dir, { inputs: model })).rejects.toMatchObject({
      code: ForgeErrorCode.BAD_SAMPLES, message: expect.stringMatching(/^sample 0 of ".*s\.json" is for input "sequence", which takes sequence\(tensor\(int64\)\), not a tensor/),
    });
  });

  it('a folder that does not exist', async () => {
    await expect(loadSamples(join(dir, 'nope'))).rejects.toMatchObject({ code: ForgeErrorCode.BAD_SAMPLES, message: expect.stringMatching(/does not exist/) });
  });
});

describe('parseNpy', () => {
  it('reads shape, dtype and data (bool, uint8, scalar)', () => {
    expect(parseNpy(npy('|b1', [3], Uint8Array.of(1, 0, 1)))).toEqual({ type: 'bool', dims: [3], data: Uint8Array.of(1, 0, 1) });
    expect(parseNpy(npy('<f4', [], Float32Array.of(2.5)))).toEqual({ type: 'float32', dims: [], data: Float32Array.of(2.5) });
  });

  it('refuses a truncated file', () => {
    const full = npy('<f4', [4], new Float32Array(4));
    const bytes = full.subarray(0, full.length - 4);
    expect(() => parseNpy(bytes)).toThrow(expect.objectContaining({ code: ForgeErrorCode.BAD_SAMPLES, message: expect.stringMatching(/needs 16/) }));
  });
});

describe('browser bundling', () => {
  it('no quantization module imports node: built-ins statically (file reading imports them on use)', () => {
    const root = dirname(dirname(fileURLToPath(import.meta.url)));
    const files: string[] = [];
    const walk = (d: string): void => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) {
          if (e.name !== 'testing') walk(join(d, e.name));
        } else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) files.push(join(d, e.name));
      }
    };
    walk(root);
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) expect(readFileSync(f, 'utf8'), f).not.toMatch(/^import[^;]*from '(node:|fs|path|onnxruntime)/m);
  });
});
