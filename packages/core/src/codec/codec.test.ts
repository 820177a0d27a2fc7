import Long from 'long';
import protobuf from 'protobufjs/minimal.js';
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { ModelBuilder } from '../builder/model-builder.js';
import { cnn, transformerEncoder } from '../builder/zoo.js';
import { DataType } from '../dtype.js';
import { toBigInt } from '../ir/int64.js';
import { onnx } from '../proto/onnx.generated.js';
import type { Int64, ModelProto } from '../proto/types.js';
import { messageDiff } from '../testing/message-diff.js';
import { decodeModel, decodeTensor, encodeModel, encodeModelChunks, encodeTensor } from './codec.js';

const INT64_MAX = Long.MAX_VALUE;
const INT64_MIN = Long.MIN_VALUE;
const UINT64_MAX = Long.MAX_UNSIGNED_VALUE;

/** protobufjs' own writer: the reference the chunked writer must match byte for byte. */
function referenceEncode(model: ModelProto): Uint8Array {
  return onnx.ModelProto.encode(model, protobuf.Writer.create()).finish();
}

function bigints(values: readonly Int64[]): bigint[] {
  return values.map((v) => toBigInt(v));
}

function int64Model(): ModelProto {
  const b = new ModelBuilder({ opset: 17 });
  const x = b.input('x', 'float32', [4]);
  // Slice with the INT64_MAX "to the end" idiom, stored in attributes and in an int64 initializer.
  b.output(b.op('Identity', [x], {}, { outputs: ['y'] }), 'float32', [4]);
  const proto = b.buildProto();
  const graph = proto.graph as NonNullable<ModelProto['graph']>;
  const node = graph.node[0] as NonNullable<(typeof graph.node)[0]>;
  node.attribute.push(
    new onnx.AttributeProto({ name: 'max', type: onnx.AttributeProto.AttributeType.INT, i: INT64_MAX }),
    new onnx.AttributeProto({ name: 'min', type: onnx.AttributeProto.AttributeType.INT, i: INT64_MIN }),
    new onnx.AttributeProto({ name: 'neg', type: onnx.AttributeProto.AttributeType.INT, i: -1 }),
    new onnx.AttributeProto({
      name: 'ints',
      type: onnx.AttributeProto.AttributeType.INTS,
      ints: [INT64_MIN, -(2 ** 53) + 1, -1, 0, 1, 2 ** 53 - 1, Long.fromString('9007199254740993'), INT64_MAX],
    }),
  );
  graph.initializer.push(
    new onnx.TensorProto({ name: 'big', dataType: DataType.INT64, dims: [3], int64Data: [INT64_MIN, -5, INT64_MAX] }),
    new onnx.TensorProto({ name: 'ubig', dataType: DataType.UINT64, dims: [2], uint64Data: [0, UINT64_MAX] }),
    new onnx.TensorProto({ name: 'huge_dims', dataType: DataType.FLOAT, dims: [INT64_MAX, 0, 2 ** 40], dataLocation: 0 }),
    new onnx.TensorProto({ name: 'i32', dataType: DataType.INT32, dims: [4], int32Data: [-1, -(2 ** 31), 2 ** 31 - 1, 0] }),
  );
  proto.modelVersion = INT64_MIN;
  return proto;
}

describe('int64 and int32 values', () => {
  it('round-trip INT64_MIN/MAX exactly in attributes, int64_data, uint64_data, dims and model_version', () => {
    const proto = int64Model();
    const bytes = encodeModel(proto);
    expect(Buffer.from(bytes)).toEqual(Buffer.from(referenceEncode(proto)));
    const back = decodeModel(bytes);
    const node = back.graph?.node[0];
    const attr = (name: string) => node?.attribute.find((a) => a.name === name);
    expect(toBigInt(attr('max')?.i as Int64)).toBe(2n ** 63n - 1n);
    expect(toBigInt(attr('min')?.i as Int64)).toBe(-(2n ** 63n));
    expect(attr('neg')?.i).toBe(-1);
    expect(bigints(attr('ints')?.ints ?? [])).toEqual([-(2n ** 63n), -(2n ** 53n) + 1n, -1n, 0n, 1n, 2n ** 53n - 1n, 2n ** 53n + 1n, 2n ** 63n - 1n]);
    const init = (name: string) => back.graph?.initializer.find((t) => t.name === name);
    expect(bigints(init('big')?.int64Data ?? [])).toEqual([-(2n ** 63n), -5n, 2n ** 63n - 1n]);
    expect(bigints(init('ubig')?.uint64Data ?? []).map((v) => BigInt.asUintN(64, v))).toEqual([0n, 2n ** 64n - 1n]);
    expect(bigints(init('huge_dims')?.dims ?? [])).toEqual([2n ** 63n - 1n, 0n, 2n ** 40n]);
    expect(init('i32')?.int32Data).toEqual([-1, -(2 ** 31), 2 ** 31 - 1, 0]);
    expect(toBigInt(back.modelVersion)).toBe(-(2n ** 63n));
    expect(messageDiff(back, decodeModel(encodeModel(back)))).toBeUndefined();
  });

  it('hands out plain numbers exactly when the value fits in 2^53', () => {
    const back = decodeModel(encodeModel(int64Model()));
    const ints = back.graph?.node[0]?.attribute.find((a) => a.name === 'ints')?.ints ?? [];
    expect(ints.map((v) => typeof v)).toEqual(['object', 'number', 'number', 'number', 'number', 'number', 'object', 'object']);
  });

  it('writes negative int32 and int64 as ten-byte varints, as protobuf requires', () => {
    const t = new onnx.TensorProto({ dataType: DataType.INT32, int32Data: [-1] });
    const bytes = encodeTensor(t);
    // data_type (field 2) = 6, then int32_data (field 5, packed): length 10, 0xff x9, 0x01.
    expect([...bytes]).toEqual([0x10, 6, 0x2a, 10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    expect(decodeTensor(bytes).int32Data).toEqual([-1]);
  });
});

describe('int64 varints against protobufjs (the fast paths of reader and writer)', () => {
  const edges = [0n, 1n, 127n, 128n, 2n ** 28n - 1n, 2n ** 28n, 2n ** 31n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 35n, 2n ** 49n - 1n, 2n ** 49n,
    2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 63n - 1n, -1n, -(2n ** 31n), -(2n ** 32n), -(2n ** 53n) + 1n, -(2n ** 53n), -(2n ** 63n)];
  const int64 = fc.oneof(fc.constantFrom(...edges), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), fc.bigInt({ min: -(2n ** 40n), max: 2n ** 40n }));
  const asLong = (v: bigint) => Long.fromString(v.toString());
  /** int64 fields as the reader must hand them out: numbers when safe, Long otherwise. */
  const expected = (v: bigint) => (Number.isSafeInteger(Number(v)) && BigInt(Number(v)) === v ? Number(v) : asLong(v));

  test.prop([fc.array(int64, { maxLength: 20 }), int64], { numRuns: 300 })('decode and encode exactly as protobufjs with Long', (values, dim) => {
    const reference = onnx.TensorProto.encode(
      new onnx.TensorProto({ dims: [asLong(dim)], dataType: DataType.INT64, int64Data: values.map(asLong), uint64Data: values.map((v) => Long.fromString(BigInt.asUintN(64, v).toString(), true)) }),
      protobuf.Writer.create(),
    ).finish();
    const decoded = decodeTensor(reference);
    expect(decoded.int64Data.map((v) => toBigInt(v))).toEqual(values);
    expect(decoded.int64Data.map((v) => typeof v)).toEqual(values.map((v) => typeof expected(v)));
    expect(decoded.uint64Data.map((v) => BigInt.asUintN(64, toBigInt(v)))).toEqual(values.map((v) => BigInt.asUintN(64, v)));
    expect(toBigInt(decoded.dims[0] as Int64)).toBe(dim);
    // Our writer, fed the narrowed numbers, reproduces protobufjs' bytes.
    expect(Buffer.compare(encodeTensor(decoded), reference)).toBe(0);
    // Unpacked values (one tag each) take the same path.
    const unpacked = protobuf.Writer.create().uint32((2 << 3) | 0).int32(DataType.INT64);
    for (const v of values) unpacked.uint32((7 << 3) | 0).int64(asLong(v));
    expect(decodeTensor(unpacked.finish()).int64Data.map((v) => toBigInt(v))).toEqual(values);
  });

  it.each([
    ['a varint cut by the end of its packed field', [0x3a, 2, 0x80, 0x80, 0x01]],
    ['an 11-byte varint in a packed field', [0x3a, 11, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]],
    ['a packed field longer than the message', [0x3a, 20, 1, 2]],
    ['a truncated varint at the end', [0x38, 0xff, 0xff]],
  ])('%s is refused', (_name, bytes) => {
    expect(() => decodeTensor(Uint8Array.from(bytes))).toThrow(expect.objectContaining({ code: 'FORGE_INVALID_MODEL' }));
  });
});

describe('unknown fields', () => {
  it('are kept on every level and written back', () => {
    const w = () => protobuf.Writer.create();
    // Messages with fields this schema does not know, appended to known encodings.
    const unknownVarint = w().uint32((99 << 3) | 0).uint64(123456789).finish();
    const unknownBytes = w().uint32((50 << 3) | 2).bytes(Uint8Array.of(1, 2, 3)).finish();
    const unknownFixed32 = w().uint32((30 << 3) | 5).fixed32(0xdeadbeef).finish();
    const unknownFixed64 = w().uint32((40 << 3) | 1).fixed64(7).finish();
    // AttributeProto.type (field 20) with an enum value from a newer ONNX.
    const futureEnum = w().uint32((20 << 3) | 0).int32(99).finish();
    const cat = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => [...p]));

    const tensor = cat(encodeTensor(new onnx.TensorProto({ name: 'w', dataType: 1, dims: [1], rawData: Uint8Array.of(0, 0, 128, 63) })), unknownFixed64);
    const attr = cat(onnx.AttributeProto.encode(new onnx.AttributeProto({ name: 'alpha', f: 0.5 }), w()).finish(), futureEnum);
    const node = cat(
      onnx.NodeProto.encode(new onnx.NodeProto({ opType: 'Relu', input: ['x'], output: ['y'] }), w()).finish(),
      w().uint32((5 << 3) | 2).bytes(attr).finish(),
      unknownFixed32,
    );
    const graph = cat(
      w().uint32((1 << 3) | 2).bytes(node).finish(),
      w().uint32((5 << 3) | 2).bytes(tensor).finish(),
      unknownBytes,
    );
    const model = cat(
      w().uint32((1 << 3) | 0).int64(8).finish(),
      w().uint32((7 << 3) | 2).bytes(graph).finish(),
      w().uint32((8 << 3) | 2).bytes(onnx.OperatorSetIdProto.encode(new onnx.OperatorSetIdProto({ version: 17 }), w()).finish()).finish(),
      unknownVarint,
    );

    const decoded = decodeModel(model);
    expect(decoded.$unknowns).toHaveLength(1);
    expect(decoded.graph?.$unknowns).toHaveLength(1);
    expect(decoded.graph?.node[0]?.$unknowns).toHaveLength(1);
    expect(decoded.graph?.initializer[0]?.$unknowns).toHaveLength(1);
    expect(decoded.graph?.node[0]?.attribute[0]?.$unknowns).toHaveLength(1);
    const again = encodeModel(decoded);
    // Unknown fields go back at the end of their message, which is where they were.
    expect(Buffer.from(again)).toEqual(Buffer.from(model));
    expect(messageDiff(decoded, decodeModel(again))).toBeUndefined();
  });
});

describe('packed and unpacked repeated fields', () => {
  const w = () => protobuf.Writer.create();

  /** `canonical` is how the .proto declares them: dims unpacked (proto2 default), the data fields packed. */
  function tensorBytes(form: 'packed' | 'unpacked' | 'canonical'): Uint8Array {
    const out = w();
    const ints = (field: number, values: number[], write: (wr: protobuf.Writer, v: number) => void, wire: number) => {
      if (form === 'packed' || (form === 'canonical' && field !== 1)) {
        out.uint32((field << 3) | 2).fork();
        for (const v of values) write(out, v);
        out.ldelim();
      } else {
        for (const v of values) write(out.uint32((field << 3) | wire), v);
      }
    };
    ints(1, [2, 3], (wr, v) => wr.int64(v), 0);
    out.uint32((2 << 3) | 0).int32(DataType.FLOAT);
    ints(4, [1.5, -2, 0, 3.25, Number.NaN, -0], (wr, v) => wr.float(v), 5);
    ints(5, [-1, 7, 2 ** 31 - 1], (wr, v) => wr.int32(v), 0);
    ints(7, [-(2 ** 40), 5], (wr, v) => wr.int64(v), 0);
    ints(10, [1e300, -0.5], (wr, v) => wr.double(v), 1);
    ints(11, [2 ** 52, 3], (wr, v) => wr.uint64(v), 0);
    return out.finish();
  }

  it('decode to the same TensorProto', () => {
    const packed = decodeTensor(tensorBytes('packed'));
    const unpacked = decodeTensor(tensorBytes('unpacked'));
    expect(messageDiff(packed, unpacked)).toBeUndefined();
    expect(packed.dims).toEqual([2, 3]);
    expect(packed.floatData).toEqual([1.5, -2, 0, 3.25, Number.NaN, -0]);
    expect(packed.int32Data).toEqual([-1, 7, 2 ** 31 - 1]);
    expect(packed.int64Data).toEqual([-(2 ** 40), 5]);
    expect(packed.doubleData).toEqual([1e300, -0.5]);
    expect(packed.uint64Data).toEqual([2 ** 52, 3]);
    // Written back as the .proto declares, whichever form was read.
    expect(Buffer.from(encodeTensor(unpacked))).toEqual(Buffer.from(tensorBytes('canonical')));
    expect(Buffer.from(encodeTensor(packed))).toEqual(Buffer.from(tensorBytes('canonical')));
  });

  it('decode to the same AttributeProto floats and ints', () => {
    const attr = (packed: boolean) => {
      const out = w().uint32((1 << 3) | 2).string('a');
      if (packed) {
        out.uint32((7 << 3) | 2).fork().float(1).float(-2.5).ldelim();
        out.uint32((8 << 3) | 2).fork().int64(-3).int64(INT64_MAX).ldelim();
      } else {
        out.uint32((7 << 3) | 5).float(1).uint32((7 << 3) | 5).float(-2.5);
        out.uint32((8 << 3) | 0).int64(-3).uint32((8 << 3) | 0).int64(INT64_MAX);
      }
      return out.finish();
    };
    const a = onnx.AttributeProto.decode(attr(true));
    const b = onnx.AttributeProto.decode(attr(false));
    expect(messageDiff(a, b)).toBeUndefined();
    expect(a.floats).toEqual([1, -2.5]);
  });
});

describe('tensor payloads are views, not copies', () => {
  const model = cnn({ seed: 1 });

  it('decode: raw_data points into the input buffer', () => {
    const bytes = encodeModel(model.proto);
    const decoded = decodeModel(bytes);
    const big = decoded.graph?.initializer.filter((t) => t.rawData.length >= 1024) ?? [];
    expect(big.length).toBeGreaterThan(0);
    for (const t of big) {
      expect(t.rawData.buffer).toBe(bytes.buffer);
      expect(t.rawData.byteOffset).toBeGreaterThanOrEqual(bytes.byteOffset);
    }
  });

  it('encode: large payloads are the model\'s own arrays among the chunks', () => {
    const { chunks, byteLength } = encodeModelChunks(model.proto);
    const big = model.proto.graph?.initializer.filter((t) => t.rawData.length >= 4096) ?? [];
    expect(big.length).toBeGreaterThan(0);
    for (const t of big) expect(chunks).toContain(t.rawData);
    expect(chunks.reduce((s, c) => s + c.length, 0)).toBe(byteLength);
  });
});

describe('the chunked writer matches protobufjs byte for byte', () => {
  it.each([
    ['a CNN', () => cnn({ seed: 5 }).proto],
    ['a small transformer encoder', () => transformerEncoder({ layers: 1, seed: 9 }).proto],
    ['INT64 extremes', int64Model],
  ])('%s', (_name, make) => {
    const proto = make();
    const ours = encodeModel(proto);
    const reference = referenceEncode(proto);
    expect(ours.length).toBe(reference.length);
    // Buffer.compare rather than toEqual: vitest's deep equality walks megabytes element by element.
    expect(Buffer.compare(ours, reference)).toBe(0);
  });
});
