import { existsSync, mkdirSync, readFileSync, readdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Blob } from 'node:buffer';
import { afterAll, describe, expect, it } from 'vitest';
import { ModelBuilder } from '../builder/model-builder.js';
import { transformerDecoder } from '../builder/decoder.js';
import { cnn } from '../builder/zoo.js';
import { decodeModel, encodeModel } from '../codec/codec.js';
import { ForgeError, ForgeErrorCode } from '../errors.js';
import { modelTensors } from '../ir/model-tensors.js';
import { tensorRawBytes } from '../ir/tensor.js';
import { isLazy } from '../ir/tensor-data.js';
import { onnx } from '../proto/onnx.generated.js';
import type { TensorProto } from '../proto/types.js';
import { forgeRejection as rejection } from '../testing/forge-rejection.js';
import { ONNX_TEST_DATA, findOnnxFiles } from '../testing/onnx-test-data.js';
import { tempFolders } from '../testing/temp-folders.js';
import { blobSource } from './blob-source.js';
import { memorySource, type ByteSource } from './byte-source.js';
import { decodeModelLazily } from './decode-lazily.js';
import { readModel, writeModel } from './model-io.js';
import { openModel } from './open-model.js';
import { externalAt } from './testing/external-at.js';

const folder = tempFolders('forge-open-', afterAll);

function forgeCode(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return e instanceof ForgeError ? e.code : `raw ${String(e)}`;
  }
  return undefined;
}

function varint(value: number): number[] {
  const out: number[] = [];
  for (; value > 127; value = Math.floor(value / 128)) out.push((value % 128) | 128);
  return [...out, value];
}

const decoder = () => transformerDecoder({ layers: 2, hidden: 32, heads: 4, intermediate: 64, vocab: 200, seed: 5 });

describe('openModel: the graph without its weights', () => {
  it('an inline model: weights of 4 KB or more stay in the file, and the model encodes to the same bytes', async () => {
    const dir = folder();
    const file = join(dir, 'model.onnx');
    await writeModel(decoder(), file);
    const lazy = await openModel(file);
    const tensors = [...modelTensors(lazy.proto)].map((x) => x.tensor);
    const lazyOnes = tensors.filter(isLazy);
    expect(lazyOnes.length).toBeGreaterThan(5);
    for (const t of tensors) expect(isLazy(t), t.name).toBe(tensorRawBytes(t).length >= 4096);
    expect(Buffer.compare(Buffer.from(encodeModel(lazy.proto)), readFileSync(file))).toBe(0);
  });

  it('an external-data model: every external tensor becomes a checked region of its file', async () => {
    const dir = folder();
    const file = join(dir, 'model.onnx');
    await writeModel(decoder(), file, { externalData: { threshold: 512 } });
    const lazy = await openModel(file);
    const eager = await readModel(file);
    expect(Buffer.compare(Buffer.from(encodeModel(lazy.proto)), Buffer.from(encodeModel(eager.proto)))).toBe(0);
    const big = lazy.graph.initializers.filter((t) => isLazy(t));
    expect(big.length).toBeGreaterThan(5);
    // Lazy tensors carry no external_data entries: they look like tensors in memory to passes.
    for (const t of big) expect(t.externalData).toEqual([]);
    expect(encodeModel((await readModel(file, { weights: 'lazy' })).proto)).toEqual(encodeModel(lazy.proto));
  });

  it('decodes every model of the ONNX node test suite like decodeModel, with every payload left in the file', async () => {
    const files = existsSync(ONNX_TEST_DATA) ? findOnnxFiles(ONNX_TEST_DATA) : [];
    let checked = 0;
    for (const f of files) {
      const bytes = readFileSync(f);
      const lazy = await decodeModelLazily(memorySource(bytes, f), { minBytes: 1 });
      // Re-encoding reads every region back: the same bytes as the file.
      const again = encodeModel(lazy);
      if (Buffer.compare(Buffer.from(again), bytes) !== 0) throw new Error(`${f}: lazily decoded model encodes differently`);
      checked++;
    }
    expect(checked).toBe(files.length);
    if (existsSync(ONNX_TEST_DATA)) expect(checked).toBeGreaterThan(1000);
  }, 120_000);

  it('large sparse attribute payloads (a Constant sparse_value\'s indices, a sparse_tensors list) stay in the file and come back', async () => {
    // The lazy decoder left them in the file, but only the values of one sparse_tensor were resolved:
    // the others came back as empty tensors carrying an internal marker.
    const n = 1500;
    const sparse = () => new onnx.SparseTensorProto({
      dims: [n],
      values: new onnx.TensorProto({ name: 'v', dataType: onnx.TensorProto.DataType.FLOAT, dims: [n], rawData: new Uint8Array(new Float32Array(n).fill(0.5).buffer) }),
      indices: new onnx.TensorProto({ name: 'i', dataType: onnx.TensorProto.DataType.INT64, dims: [n], rawData: new Uint8Array(BigInt64Array.from({ length: n }, (_, i) => BigInt(i)).buffer) }),
    });
    const proto = new onnx.ModelProto({
      irVersion: 8,
      opsetImport: [new onnx.OperatorSetIdProto({ domain: '', version: 17 }), new onnx.OperatorSetIdProto({ domain: 'com.example', version: 1 })],
      graph: new onnx.GraphProto({
        name: 'main',
        node: [
          new onnx.NodeProto({ opType: 'Constant', output: ['c'], attribute: [new onnx.AttributeProto({ name: 'sparse_value', type: onnx.AttributeProto.AttributeType.SPARSE_TENSOR, sparseTensor: sparse() })] }),
          new onnx.NodeProto({ opType: 'Custom', domain: 'com.example', input: ['c'], output: ['y'], attribute: [new onnx.AttributeProto({ name: 'tables', type: onnx.AttributeProto.AttributeType.SPARSE_TENSORS, sparseTensors: [sparse(), sparse()] })] }),
        ],
        output: [new onnx.ValueInfoProto({ name: 'y' })],
      }),
    });
    const bytes = encodeModel(proto);
    const lazy = await decodeModelLazily(memorySource(bytes, 'sparse.onnx'));
    const tensors = [...modelTensors(lazy)].map((x) => x.tensor);
    expect(tensors).toHaveLength(6);
    for (const t of tensors) {
      expect(isLazy(t), t.name).toBe(true);
      expect(t.externalData, t.name).toEqual([]);
    }
    expect(Buffer.compare(Buffer.from(encodeModel(lazy)), Buffer.from(bytes))).toBe(0);
  });

  it('a tensor whose raw_data comes twice keeps the last, as decodeModel does', async () => {
    const first = onnx.TensorProto.encode(new onnx.TensorProto({ name: 'w', dataType: onnx.TensorProto.DataType.FLOAT, dims: [2000], rawData: new Uint8Array(8000).fill(1) })).finish();
    const tensor = new Uint8Array([...first, (9 << 3) | 2, 0xc0, 0x3e, ...new Uint8Array(8000).fill(2)]);
    const graph = new Uint8Array([(5 << 3) | 2, ...varint(tensor.length), ...tensor, (2 << 3) | 2, 1, 103]);
    const opset = onnx.OperatorSetIdProto.encode(new onnx.OperatorSetIdProto({ domain: '', version: 17 })).finish();
    const bytes = new Uint8Array([8, 8, (8 << 3) | 2, opset.length, ...opset, (7 << 3) | 2, ...varint(graph.length), ...graph]);
    expect(decodeModel(bytes).graph?.initializer[0]?.rawData[0]).toBe(2);
    const lazy = await decodeModelLazily(memorySource(bytes, 'twice.onnx'));
    const t = lazy.graph?.initializer[0] as TensorProto;
    expect(isLazy(t)).toBe(true);
    expect(tensorRawBytes(t)).toEqual(new Uint8Array(8000).fill(2));
  });

  it('keeps unknown fields sent as groups, as decodeModel and onnxruntime do, and refuses broken groups like it', async () => {
    const model = encodeModel(new ModelBuilder({ opset: 17 }).build().proto);
    const groups: [number[], boolean][] = [
      [[...varint((30 << 3) | 3), 8, 5, ...varint((30 << 3) | 4)], true],
      [[(12 << 3) | 3, (13 << 3) | 3, 8, 1, (13 << 3) | 4, (12 << 3) | 4], true],
      [[(12 << 3) | 3, 8, 1], false],
      [[(12 << 3) | 3, 8, 1, (13 << 3) | 4], false],
      [[(12 << 3) | 4], false],
    ];
    for (const [group, ok] of groups) {
      const bytes = new Uint8Array([...model, ...group]);
      const eager = (() => {
        try {
          return encodeModel(decodeModel(bytes));
        } catch {
          return undefined;
        }
      })();
      expect(eager !== undefined, String(group)).toBe(ok);
      const lazy = decodeModelLazily(memorySource(bytes, 'group.onnx'));
      if (!eager) {
        expect((await rejection(lazy)).code, String(group)).toBe(ForgeErrorCode.INVALID_MODEL);
        continue;
      }
      expect(Buffer.compare(Buffer.from(encodeModel(await lazy)), Buffer.from(eager)), String(group)).toBe(0);
    }
  });

  it('messages nested thousands deep: refused at protobuf\'s depth of 100 like decodeModel, not by a stack overflow', async () => {
    // graph { node { attribute { g { node { ... } } } } }: 5000 levels in 56 KB. The walk overflowed
    // the stack inside V8's promise machinery, which printed "Exception in PromiseRejectCallback".
    const nest = (levels: number) => {
      let inner: number[] = [];
      for (let i = 0; i < levels; i++) {
        const attribute = [(6 << 3) | 2, ...varint(inner.length), ...inner];
        const node = [(5 << 3) | 2, ...varint(attribute.length), ...attribute];
        inner = [(1 << 3) | 2, ...varint(node.length), ...node];
      }
      return new Uint8Array([8, 8, (7 << 3) | 2, ...varint(inner.length), ...inner]);
    };
    await decodeModelLazily(memorySource(nest(33), 'deep.onnx'));
    for (const levels of [34, 5000]) {
      expect(forgeCode(() => decodeModel(nest(levels)))).toBe(ForgeErrorCode.INVALID_MODEL);
      const e = await rejection(decodeModelLazily(memorySource(nest(levels), 'deep.onnx')));
      expect(e.code).toBe(ForgeErrorCode.INVALID_MODEL);
      expect(e.message).toMatch(/nest more than 100 deep .* onnxruntime's protobuf parser refuses as well\.$/);
    }
  });

  it('says what a file that is not a model looks like, as the eager reader does', async () => {
    const dir = folder();
    const zip = join(dir, 'model.pt');
    writeFileSync(zip, Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(200, 7)]));
    const e = await rejection(openModel(zip));
    expect(e.code).toBe(ForgeErrorCode.INVALID_MODEL);
    expect(e.message).toContain('zip archive');
    const missing = await rejection(openModel(join(dir, 'none.onnx')));
    expect(missing.code).toBe(ForgeErrorCode.IO);
    expect(missing.message).toContain('does not exist');
    const file = join(dir, 'cut.onnx');
    writeFileSync(file, encodeModel(decoder().proto).subarray(0, 5000));
    const cut = await rejection(openModel(file));
    expect(cut.code).toBe(ForgeErrorCode.INVALID_MODEL);
    expect(cut.message).toContain('truncated');
  });
});

describe('external data on the streamed path', () => {
  it('refuses a location with ../ or an absolute path, naming the tensor (FORGE_EXTERNAL_DATA)', async () => {
    const dir = folder();
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'weights.bin'), new Uint8Array(16));
    for (const location of ['../weights.bin', join(dir, 'weights.bin'), 'sub/../../weights.bin']) {
      writeFileSync(join(dir, 'sub', 'model.onnx'), externalAt(location));
      const e = await rejection(openModel(join(dir, 'sub', 'model.onnx')));
      expect(e.code, location).toBe(ForgeErrorCode.EXTERNAL_DATA);
      expect(e.message).toMatch(/tensor "w": external data location .* (is absolute|points outside the model's folder)/);
    }
  });

  it('reads tensors spread over several files, each at its offset, like the eager reader', async () => {
    const dir = folder();
    const b = new ModelBuilder({ opset: 17 });
    let x = b.input('x', 'float32', [1, 64]);
    const weights: Float32Array[] = [];
    for (let i = 0; i < 4; i++) {
      const w = Float32Array.from({ length: 64 * 64 }, (_, j) => Math.sin(i * 1000 + j));
      weights.push(w);
      x = b.op('MatMul', [x, b.initializer(`w${i}`, w, [64, 64])], {}, i === 3 ? { outputs: ['y'] } : {});
    }
    b.output(x, 'float32', [1, 64]);
    const proto = b.buildProto();
    // w0, w2 in a.bin (w2 after a gap), w1, w3 in sub/b.bin.
    const files: Record<string, Buffer[]> = { 'a.bin': [], 'sub/b.bin': [] };
    mkdirSync(join(dir, 'sub'));
    for (const [i, t] of (proto.graph?.initializer ?? []).entries()) {
      const location = i % 2 ? 'sub/b.bin' : 'a.bin';
      const parts = files[location] as Buffer[];
      if (i === 2) parts.push(Buffer.alloc(100));
      const offset = parts.reduce((n, p) => n + p.length, 0);
      parts.push(Buffer.from(t.rawData));
      delete (t as Partial<TensorProto>).rawData;
      t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
      t.externalData = [
        new onnx.StringStringEntryProto({ key: 'location', value: location }),
        new onnx.StringStringEntryProto({ key: 'offset', value: String(offset) }),
        new onnx.StringStringEntryProto({ key: 'length', value: String(64 * 64 * 4) }),
      ];
    }
    for (const [location, parts] of Object.entries(files)) writeFileSync(join(dir, location), Buffer.concat(parts));
    writeFileSync(join(dir, 'model.onnx'), encodeModel(proto));
    const lazy = await openModel(join(dir, 'model.onnx'));
    const eager = await readModel(join(dir, 'model.onnx'));
    for (const [i, t] of lazy.graph.initializers.entries()) {
      expect(isLazy(t)).toBe(true);
      expect(Buffer.compare(Buffer.from(tensorRawBytes(t)), Buffer.from((weights[i] as Float32Array).buffer))).toBe(0);
    }
    expect(Buffer.compare(Buffer.from(encodeModel(lazy.proto)), Buffer.from(encodeModel(eager.proto)))).toBe(0);
  });

  it('a data file written over since the model was opened (the model written back in place) fails reads instead of giving other bytes', async () => {
    const dir = folder();
    const file = join(dir, 'model.onnx');
    await writeModel(decoder(), file, { externalData: { threshold: 512, align: 4096 } });
    const eager = encodeModel((await readModel(file)).proto);
    const lazy = await openModel(file);
    // The same names, another layout, and a longer side file: every old region still exists in it.
    await writeModel(lazy, file, { externalData: { threshold: 512, align: 8192 } });
    const e = await rejection(Promise.resolve().then(() => encodeModel(lazy.proto)));
    expect(e.code).toBe(ForgeErrorCode.EXTERNAL_DATA);
    expect(e.message).toMatch(/model\.onnx\.data" was replaced by another file after the model was opened: .* open the model again/);
    // The file written is right, and opening it again reads it.
    expect(Buffer.compare(Buffer.from(encodeModel((await openModel(file)).proto)), Buffer.from(eager))).toBe(0);
  });

  it('a side file truncated before opening fails the open; one cut short later fails the read or the write, never a crash', async () => {
    const dir = folder();
    const file = join(dir, 'model.onnx');
    const written = await writeModel(decoder(), file, { externalData: { threshold: 512 } });
    const side = join(dir, 'model.onnx.data');
    const full = readFileSync(side);

    truncateSync(side, (written.externalData?.bytes ?? 0) - 1);
    let e = await rejection(openModel(file));
    expect(e.code).toBe(ForgeErrorCode.EXTERNAL_DATA);
    expect(e.message).toContain('truncated');

    writeFileSync(side, full);
    const lazy = await openModel(file);
    truncateSync(side, 1000);
    const last = lazy.graph.initializers.filter(isLazy).at(-1) as TensorProto;
    let thrown: unknown;
    try {
      tensorRawBytes(last);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ForgeError);
    expect((thrown as ForgeError).code).toBe(ForgeErrorCode.EXTERNAL_DATA);
    expect((thrown as ForgeError).message).toMatch(/truncated or was replaced|cut short/);

    const out = folder();
    e = await rejection(writeModel(lazy, join(out, 'copy.onnx'), { externalData: true }));
    expect(e.code).toBe(ForgeErrorCode.EXTERNAL_DATA);
    expect(readdirSync(out)).toEqual([]);
  });

  it('streams a model from external data to a new side file, one tensor at a time, and the copy reads back equal', async () => {
    const dir = folder();
    const file = join(dir, 'model.onnx');
    const model = cnn({ channels: [8, 16], imageSize: 16, seed: 3 });
    await writeModel(model, file, { externalData: { threshold: 256 } });
    const lazy = await openModel(file);
    const out = folder();
    const copied = await writeModel(lazy, join(out, 'model.onnx'), { externalData: { threshold: 256 } });
    expect(copied.externalData?.tensors).toBeGreaterThan(0);
    expect(Buffer.compare(readFileSync(join(out, 'model.onnx')), readFileSync(file))).toBe(0);
    expect(Buffer.compare(readFileSync(join(out, 'model.onnx.data')), readFileSync(join(dir, 'model.onnx.data')))).toBe(0);
    // Inline too: the lazy payloads are read into their place in the file.
    await writeModel(lazy, join(out, 'inline.onnx'), { externalData: false });
    expect(Buffer.compare(readFileSync(join(out, 'inline.onnx')), Buffer.from(encodeModel(model.proto)))).toBe(0);
    // A copy of a lazy model is lazy too, and reads the same file.
    const clone = lazy.clone();
    expect(clone.graph.initializers.filter(isLazy).length).toBe(lazy.graph.initializers.filter(isLazy).length);
    expect(Buffer.compare(Buffer.from(encodeModel(clone.proto)), Buffer.from(encodeModel(model.proto)))).toBe(0);
  });
});

describe('blobSource: a File in the browser', () => {
  it('reads a Blob region by region, in order, and stops at its end', async () => {
    const bytes = new Uint8Array(300_000);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919) & 255;
    const source = blobSource(new Blob([bytes]), 'dropped.onnx');
    expect(source.size).toBe(bytes.length);
    const got: Uint8Array[] = [];
    for (let at = 0; at < bytes.length; at += 65_536) got.push(await source.read(at, Math.min(65_536, bytes.length - at)));
    expect(Buffer.compare(Buffer.concat(got), bytes)).toBe(0);
    const e = await rejection(source.read(bytes.length - 10, 20));
    expect(e.code).toBe(ForgeErrorCode.EXTERNAL_DATA);
    // Node has no FileReaderSync: a Blob is read asynchronously only, as on a page's main thread.
    expect(source.readSync).toBeUndefined();
  });

  it('opens a dropped model and its dropped side file; converting weights needs synchronous reads (a Worker) and says so', async () => {
    const dir = folder();
    const file = join(dir, 'model.onnx');
    const model = decoder();
    await writeModel(model, file, { externalData: { threshold: 512 } });
    const files: Record<string, ByteSource> = { 'model.onnx.data': blobSource(new Blob([readFileSync(join(dir, 'model.onnx.data'))]), 'model.onnx.data') };
    const lazy = await openModel(new Blob([readFileSync(file)]), { externalData: (location) => files[location] ?? memorySource(new Uint8Array(0), location) });
    const eager = await readModel(file);
    const t = lazy.graph.initializers.find(isLazy) as TensorProto;
    expect(t).toBeDefined();
    let thrown: unknown;
    try {
      tensorRawBytes(t);
    } catch (err) {
      thrown = err;
    }
    expect((thrown as ForgeError).code).toBe(ForgeErrorCode.EXTERNAL_DATA);
    expect((thrown as ForgeError).message).toContain('Web Worker');
    // The writer reads asynchronously: the dropped files become one self-contained model.
    const { encodeModelParts } = await import('../codec/codec.js');
    const parts = encodeModelParts(lazy.proto).parts;
    const chunks: Uint8Array[] = [];
    for (const p of parts) chunks.push(p instanceof Uint8Array ? p : await p.read());
    expect(Buffer.compare(Buffer.concat(chunks), Buffer.from(encodeModel(eager.proto)))).toBe(0);
  });
});
