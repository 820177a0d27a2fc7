import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Long from 'long';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { ModelBuilder } from '../builder/model-builder.js';
import { Rng } from '../builder/random.js';
import { cnn } from '../builder/zoo.js';
import { decodeModel, encodeModel } from '../codec/codec.js';
import { DataType } from '../dtype.js';
import { ForgeErrorCode } from '../errors.js';
import { toBigInt } from '../ir/int64.js';
import type { Model } from '../ir/model.js';
import { onnx } from '../proto/onnx.generated.js';
import type { ModelProto, TensorProto } from '../proto/types.js';
import { forgeRejection as rejection } from '../testing/forge-rejection.js';
import { messageDiff } from '../testing/message-diff.js';
import { type OrtValueArgs, ortValueDiff, seededInput } from '../testing/ort-values.js';
import { tempFolders } from '../testing/temp-folders.js';
import { modelTensors } from '../ir/model-tensors.js';
import { tensorByteSize } from '../ir/tensor.js';
import { readModel, writeModel } from './model-io.js';
import { externalAt } from './testing/external-at.js';

/** A fresh empty folder for one test. */
const folder = tempFolders('forge-io-', afterAll);

/** A copy of the model's message, for checking that writing left the model as it was. */
function snapshot(model: Model): ModelProto {
  return decodeModel(encodeModel(model.proto));
}

function smallCnn(): Model {
  return cnn({ channels: [8, 16], imageSize: 16, seed: 11 });
}

function toOrt(a: OrtValueArgs): ort.Tensor {
  const Ctor = ort.Tensor as unknown as new (type: string, data: unknown, dims: readonly number[]) => ort.Tensor;
  return new Ctor(a.type, a.data, a.dims);
}

async function outputsOf(source: string | Uint8Array, proto: ModelProto): Promise<ort.InferenceSession.ReturnType> {
  const session = typeof source === 'string'
    ? await ort.InferenceSession.create(source, { logSeverityLevel: 4 })
    : await ort.InferenceSession.create(source, { logSeverityLevel: 4 });
  try {
    const rng = new Rng(99);
    const feeds: Record<string, ort.Tensor> = {};
    for (const vi of proto.graph?.input ?? []) {
      const args = seededInput(vi, rng, { batch: 2 });
      if (!args) throw new Error(`cannot feed ${vi.name}`);
      feeds[vi.name] = toOrt(args);
    }
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

function externalEntries(t: TensorProto): Record<string, string> {
  return Object.fromEntries(t.externalData.map((e) => [e.key, e.value]));
}

describe('writeModel writes to a temporary file and renames it', () => {
  it('the target appears only when complete; no temporary file is left', async () => {
    const dir = folder();
    const target = join(dir, 'model.onnx');
    const seen: { exists: boolean; files: string[] }[] = [];
    const model = smallCnn();
    const result = await writeModel(model, target, {
      onProgress: () => seen.push({ exists: existsSync(target), files: readdirSync(dir) }),
    });
    expect(seen.length).toBeGreaterThan(0);
    for (const s of seen) {
      expect(s.exists).toBe(false);
      expect(s.files.some((f) => f.startsWith('model.onnx.tmp-'))).toBe(true);
    }
    expect(readdirSync(dir)).toEqual(['model.onnx']);
    expect(result.bytes).toBe(statSync(target).size);
    expect(Buffer.compare(readFileSync(target), encodeModel(model.proto))).toBe(0);
  });

  it('a missing folder gives FORGE_IO and writes nothing', async () => {
    const dir = folder();
    const e = await rejection(writeModel(smallCnn(), join(dir, 'no-such-folder', 'model.onnx')));
    expect(e.code).toBe(ForgeErrorCode.IO);
    expect(e.message).toContain('does not exist');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a folder in the target\'s place gives FORGE_IO', async () => {
    const dir = folder();
    mkdirSync(join(dir, 'model.onnx'));
    expect((await rejection(writeModel(smallCnn(), join(dir, 'model.onnx')))).code).toBe(ForgeErrorCode.IO);
  });

  it('an existing model (and its side file) is untouched when writing fails midway, or a signal stops it (Ctrl-C) before the rename', async () => {
    const dir = folder();
    const target = join(dir, 'model.onnx');
    writeFileSync(target, 'previous model');
    writeFileSync(join(dir, 'model.onnx.data'), 'previous weights');
    for (const stop of ['disk full', 'abort'] as const) {
      for (const externalData of [false, true]) {
        const abort = new AbortController();
        let calls = 0;
        const e = await rejection(
          writeModel(smallCnn(), target, {
            externalData,
            signal: abort.signal,
            onProgress: () => {
              // After some bytes already reached the temporary file: a failed write, or a SIGINT handler's abort.
              if (++calls !== 2) return;
              if (stop === 'abort') abort.abort();
              else throw new Error('disk full');
            },
          }),
        );
        expect(e.code).toBe(stop === 'abort' ? ForgeErrorCode.CANCELLED : ForgeErrorCode.IO);
        if (stop === 'disk full') expect(e.message).toContain('disk full');
        expect(readFileSync(target, 'utf8')).toBe('previous model');
        expect(readFileSync(join(dir, 'model.onnx.data'), 'utf8')).toBe('previous weights');
        expect(readdirSync(dir).sort()).toEqual(['model.onnx', 'model.onnx.data']);
      }
    }
    // A signal never aborted: written as without one.
    const model = smallCnn();
    await writeModel(model, target, { signal: new AbortController().signal });
    expect(Buffer.compare(readFileSync(target), encodeModel(model.proto))).toBe(0);
  });

  it('an encode failure writes nothing', async () => {
    const dir = folder();
    const model = smallCnn();
    // A string where bytes belong: the encoder throws before any file is created.
    (model.proto.graph?.initializer[0] as unknown as { rawData: unknown }).rawData = 12;
    const e = await rejection(writeModel(model, join(dir, 'model.onnx')));
    expect(e.code).toBe(ForgeErrorCode.INVALID_MODEL);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('external data', () => {
  it('write → read gives the same model, and onnxruntime-node runs it with the same outputs', async () => {
    const dir = folder();
    const model = smallCnn();
    const before = snapshot(model);
    const target = join(dir, 'model.onnx');
    const result = await writeModel(model, target, { externalData: { threshold: 1024, align: 4096 } });

    // The model in memory is as it was: writing moves payloads out only in the file.
    expect(messageDiff(model.proto, before)).toBeUndefined();
    expect(result.externalData?.tensors).toBeGreaterThan(0);
    expect(readdirSync(dir).sort()).toEqual(['model.onnx', 'model.onnx.data']);
    expect(statSync(join(dir, 'model.onnx.data')).size).toBe(result.externalData?.bytes);
    expect(statSync(target).size).toBeLessThan(10_000);

    // The file refers to the side file, with aligned offsets.
    const raw = decodeModel(readFileSync(target));
    const external = raw.graph?.initializer.filter((t) => t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) ?? [];
    expect(external).toHaveLength(result.externalData?.tensors ?? -1);
    for (const t of external) {
      const e = externalEntries(t);
      expect(e.location).toBe('model.onnx.data');
      expect(Number(e.offset) % 4096).toBe(0);
    }
    const small = raw.graph?.initializer.filter((t) => t.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL) ?? [];
    for (const t of small) expect(t.rawData.length).toBeLessThan(1024);

    const back = await readModel(target);
    expect(messageDiff(back.proto, before)).toBeUndefined();
    const notLoaded = await readModel(target, { externalData: false });
    expect(messageDiff(notLoaded.proto, raw)).toBeUndefined();

    const want = await outputsOf(encodeModel(model.proto), model.proto);
    const got = await outputsOf(target, model.proto);
    for (const [name, value] of Object.entries(want)) expect(ortValueDiff(value, got[name] as ort.Tensor), name).toBeUndefined();
  });

  it('refuses locations outside the model\'s folder or absolute, on read', async () => {
    const dir = folder();
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'weights.bin'), new Uint8Array(16));
    for (const location of ['../weights.bin', '/etc/passwd', 'sub/../../weights.bin', '..']) {
      writeFileSync(join(dir, 'sub', 'model.onnx'), externalAt(location));
      const e = await rejection(readModel(join(dir, 'sub', 'model.onnx')));
      expect(e.code, location).toBe(ForgeErrorCode.EXTERNAL_DATA);
      expect(e.message).toMatch(/absolute|outside|folder/);
    }
  });

  it('refuses locations outside the model\'s folder, absolute, or the model itself, on write', async () => {
    const dir = folder();
    for (const location of ['../side.bin', join(dir, 'side.bin'), '.', 'model.onnx']) {
      const e = await rejection(writeModel(smallCnn(), join(dir, 'model.onnx'), { externalData: { location } }));
      expect(e.code, location).toBe(ForgeErrorCode.EXTERNAL_DATA);
    }
    expect(readdirSync(dir)).toEqual([]);
    expect(existsSync(join(dir, '..', 'side.bin'))).toBe(false);
  });

  it('diagnoses a truncated model the same way whether it is read into memory or lazily', async () => {
    const dir = folder();
    const whole = smallCnn().encode();
    const target = join(dir, 'cut.onnx');
    writeFileSync(target, whole.subarray(0, 100));
    const messages = [];
    for (const options of [{}, { externalData: false }, { weights: 'lazy' as const }]) {
      const e = await rejection(readModel(target, options));
      expect(e.code).toBe(ForgeErrorCode.INVALID_MODEL);
      messages.push(e.message);
    }
    // Where the file breaks off, not protobufjs' "index out of range".
    expect(messages[0]).toMatch(/runs past the end of its message at byte \d+/);
    expect(new Set(messages).size).toBe(1);
  });

  it('refuses a truncated or missing side file', async () => {
    const dir = folder();
    const target = join(dir, 'model.onnx');
    const result = await writeModel(smallCnn(), target, { externalData: true });
    const side = join(dir, 'model.onnx.data');
    truncateSync(side, (result.externalData?.bytes ?? 0) - 1);
    let e = await rejection(readModel(target));
    expect(e.code).toBe(ForgeErrorCode.EXTERNAL_DATA);
    expect(e.message).toContain('truncated');
    rmSync(side);
    e = await rejection(readModel(target));
    expect(e.code).toBe(ForgeErrorCode.EXTERNAL_DATA);
    // A folder where the side file should be.
    mkdirSync(side);
    e = await rejection(readModel(target));
    expect(e.code).toBe(ForgeErrorCode.EXTERNAL_DATA);
  });

  it('writes a model read without its external data only where its references hold', async () => {
    const src = folder();
    const source = join(src, 'model.onnx');
    await writeModel(smallCnn(), source, { externalData: true });
    const lazy = await readModel(source, { externalData: false });

    // Into the same folder, under a new name: the references still hold, and the weights load.
    await writeModel(lazy, join(src, 'renamed.onnx'));
    expect(messageDiff((await readModel(join(src, 'renamed.onnx'))).proto, (await readModel(source)).proto)).toBeUndefined();

    // Elsewhere: the side file is not there, so nothing is written.
    const other = folder();
    let e = await rejection(writeModel(lazy, join(other, 'model.onnx')));
    expect(e.code).toBe(ForgeErrorCode.EXTERNAL_DATA);
    expect(e.message).toMatch(/keeps its data in "model\.onnx\.data" \(not loaded\), which is not in .*; read the model with external data/);
    expect(readdirSync(other)).toEqual([]);

    // Over the side file the references point to: refused before anything is replaced.
    const sideBefore = readFileSync(join(src, 'model.onnx.data'));
    e = await rejection(writeModel(lazy, source, { externalData: true }));
    expect(e.code).toBe(ForgeErrorCode.EXTERNAL_DATA);
    expect(e.message).toContain('this write would replace');
    expect(Buffer.compare(readFileSync(join(src, 'model.onnx.data')), sideBefore)).toBe(0);

    // A side file cut short after the read.
    truncateSync(join(src, 'model.onnx.data'), 100);
    e = await rejection(writeModel(lazy, join(src, 'again.onnx')));
    expect(e.message).toMatch(/is too short there \(100 bytes/);
  });

  it('moves weights to a side file automatically past the inline limit', async () => {
    const dir = folder();
    const model = smallCnn();
    const size = encodeModel(model.proto).length;
    const limit = Math.floor(size / 2);

    const auto = await writeModel(model, join(dir, 'auto.onnx'), { inlineLimit: limit });
    expect(auto.externalData?.path).toBe(join(dir, 'auto.onnx.data'));
    expect(auto.bytes).toBeLessThan(limit);
    expect(messageDiff((await readModel(join(dir, 'auto.onnx'))).proto, model.proto)).toBeUndefined();

    const inline = await writeModel(model, join(dir, 'inline.onnx'), { inlineLimit: size + 1 });
    expect(inline.externalData).toBeUndefined();

    const refused = await rejection(writeModel(model, join(dir, 'refused.onnx'), { inlineLimit: limit, externalData: false }));
    expect(refused.code).toBe(ForgeErrorCode.MODEL_TOO_LARGE);

    // Even the graph without its weights is past a tiny limit: say so rather than write it.
    const tiny = await rejection(writeModel(model, join(dir, 'tiny.onnx'), { inlineLimit: 100 }));
    expect(tiny.code).toBe(ForgeErrorCode.MODEL_TOO_LARGE);
    expect(readdirSync(dir).sort()).toEqual(['auto.onnx', 'auto.onnx.data', 'inline.onnx']);
  });
});

describe('exact values through files', () => {
  it('int64 extremes, negative int32 and unknown fields survive writeModel → readModel', async () => {
    const dir = folder();
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', 'float32', [4]);
    b.output(b.op('Identity', [x], {}, { outputs: ['y'] }), 'float32', [4]);
    const proto = b.buildProto();
    const graph = proto.graph as NonNullable<ModelProto['graph']>;
    graph.node[0]?.attribute.push(
      new onnx.AttributeProto({ name: 'ends', type: onnx.AttributeProto.AttributeType.INTS, ints: [Long.MAX_VALUE, Long.MIN_VALUE, -1] }),
    );
    graph.initializer.push(
      new onnx.TensorProto({ name: 'i64', dataType: DataType.INT64, dims: [2], int64Data: [Long.MIN_VALUE, Long.MAX_VALUE] }),
      new onnx.TensorProto({ name: 'i32', dataType: DataType.INT32, dims: [2], int32Data: [-(2 ** 31), -7] }),
      // Large enough to go to the side file.
      new onnx.TensorProto({ name: 'raw64', dataType: DataType.INT64, dims: [512], rawData: new Uint8Array(BigInt64Array.from({ length: 512 }, (_, i) => (i % 2 ? 2n ** 63n - 1n : -(2n ** 63n))).buffer) }),
    );
    // A field from a newer ONNX (number 15 on the model, varint): kept in $unknowns and written back.
    const withUnknown = new Uint8Array([...encodeModel(proto), (15 << 3) | 0, 42]);
    const decoded = decodeModel(withUnknown);
    for (const externalData of [false, true]) {
      const file = join(dir, `m-${externalData}.onnx`);
      await writeModel(decoded, file, { externalData: externalData && { threshold: 1024 } });
      const back = (await readModel(file)).proto;
      expect(messageDiff(back, decoded)).toBeUndefined();
      expect(back.$unknowns?.map((u) => [...u])).toEqual([[(15 << 3) | 0, 42]]);
      const attr = back.graph?.node[0]?.attribute.find((a) => a.name === 'ends');
      expect(attr?.ints.map((v) => toBigInt(v))).toEqual([2n ** 63n - 1n, -(2n ** 63n), -1n]);
      const init = (name: string) => back.graph?.initializer.find((t) => t.name === name) as TensorProto;
      expect(init('i64').int64Data.map((v) => toBigInt(v))).toEqual([-(2n ** 63n), 2n ** 63n - 1n]);
      expect(init('i32').int32Data).toEqual([-(2 ** 31), -7]);
      const raw = init('raw64').rawData;
      const values = new BigInt64Array(new Uint8Array(raw).buffer);
      expect([values[0], values[1], values[511]]).toEqual([-(2n ** 63n), 2n ** 63n - 1n, 2n ** 63n - 1n]);
    }
  });

  it('modelTensors finds tensors in subgraphs, attributes and sparse initializers', () => {
    const b = new ModelBuilder({ opset: 17 });
    const cond = b.input('cond', 'bool', []);
    const thenBranch = b.subgraph('then', (g) => g.output(g.constant([1, 2], 'float32', [2], 'then_out'), 'float32', [2]));
    const elseBranch = b.subgraph('else', (g) => g.output(g.constant([3, 4], 'float32', [2], 'else_out'), 'float32', [2]));
    b.output(b.op('If', [cond], { then_branch: thenBranch, else_branch: elseBranch }, { outputs: ['y'] }), 'float32', [2]);
    const proto = b.buildProto();
    const graph = proto.graph as NonNullable<ModelProto['graph']>;
    graph.node.push(
      new onnx.NodeProto({
        opType: 'Constant',
        output: ['c'],
        attribute: [new onnx.AttributeProto({ name: 'value', type: onnx.AttributeProto.AttributeType.TENSOR, t: new onnx.TensorProto({ name: 'attr_t', dataType: 1 }) })],
      }),
    );
    graph.sparseInitializer.push(
      new onnx.SparseTensorProto({ values: new onnx.TensorProto({ name: 'sp_values' }), indices: new onnx.TensorProto({ name: 'sp_indices' }), dims: [4] }),
    );
    const found = [...modelTensors(proto)].map(({ tensor, initializer }) => `${tensor.name}${initializer ? ' (initializer)' : ''}`);
    expect(found.sort()).toEqual(['attr_t', 'else_out (initializer)', 'sp_indices', 'sp_values', 'then_out (initializer)']);
  });
});

describe('model files past 2 GiB (sparse files: a few blocks on disk)', () => {
  /** `head`, then a length-delimited field `field` of `length` bytes (zeros, unwritten) ending the file. */
  function sparseModel(file: string, head: Uint8Array, tag: number[], length: number): void {
    const prefix = [...tag];
    for (let n = length; ; n = Math.floor(n / 128)) {
      if (n < 128) {
        prefix.push(n);
        break;
      }
      prefix.push((n % 128) | 128);
    }
    const start = new Uint8Array([...head, ...prefix]);
    writeFileSync(file, start);
    truncateSync(file, start.length + length);
  }

  it('an unknown field of 3 GiB: refused at once by both readers, never read into memory', async () => {
    const file = join(folder(), 'huge.onnx');
    // Field 30 (unknown to ModelProto), length-delimited.
    sparseModel(file, encodeModel(smallCnn().proto), [(30 << 3) | 2 | 0x80, 1], 3 * 2 ** 30);
    const rss = process.memoryUsage().rss;
    const eager = await rejection(readModel(file));
    expect(eager.code).toBe(ForgeErrorCode.MODEL_TOO_LARGE);
    expect(eager.message).toMatch(/past 2 GiB.*weights: 'lazy'/);
    const lazy = await rejection(readModel(file, { weights: 'lazy' }));
    expect(lazy.code).toBe(ForgeErrorCode.INVALID_MODEL);
    expect(lazy.message).toMatch(/without its tensor payloads it still holds \d+ bytes, past protobuf's 2 GiB limit/);
    expect(process.memoryUsage().rss - rss).toBeLessThan(512 * 2 ** 20);
  });

  it('an inline tensor of 2.5 GiB opens lazily, its data left in the file', async () => {
    const file = join(folder(), 'inline.onnx');
    const n = 2.5 * 2 ** 30;
    // A model whose last field is its graph, whose last field is the initializer, whose last is raw_data.
    const tensorHead = onnx.TensorProto.encode(new onnx.TensorProto({ name: 'w', dataType: DataType.UINT8, dims: [n] })).finish();
    const rawTag = [(9 << 3) | 2];
    const lengthBytes = (v: number) => {
      const out: number[] = [];
      for (; v > 127; v = Math.floor(v / 128)) out.push((v % 128) | 128);
      return [...out, v];
    };
    const tensorLength = tensorHead.length + rawTag.length + lengthBytes(n).length + n;
    const graphHead = [...new Uint8Array([(2 << 3) | 2, 1, 103]), (5 << 3) | 2, ...lengthBytes(tensorLength), ...tensorHead];
    const graphLength = graphHead.length + rawTag.length + lengthBytes(n).length + n;
    const opset = onnx.OperatorSetIdProto.encode(new onnx.OperatorSetIdProto({ domain: '', version: 17 })).finish();
    const head = new Uint8Array([8, 8, (8 << 3) | 2, opset.length, ...opset, (7 << 3) | 2, ...lengthBytes(graphLength), ...graphHead]);
    sparseModel(file, head, rawTag, n);
    expect((await rejection(readModel(file))).code).toBe(ForgeErrorCode.MODEL_TOO_LARGE);
    const model = await readModel(file, { weights: 'lazy' });
    const w = model.graph.initializers[0] as TensorProto;
    expect(w.name).toBe('w');
    expect(Object.prototype.hasOwnProperty.call(w, 'rawData')).toBe(false);
    expect(tensorByteSize(w)).toBe(n);
  });
});
