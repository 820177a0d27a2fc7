import { describe, expect, it } from 'vitest';
import { DataType } from '../dtype.js';
import { ForgeErrorCode } from '../errors.js';
import { onnx } from '../proto/onnx.generated.js';
import { createTensor, scalarTensor, tensorRawBytes, tensorToArray, tensorToFloat32, tensorToInts } from './tensor.js';

describe('tensor helpers', () => {
  it('reads typed fields and raw data the same way', () => {
    const typed = new onnx.TensorProto({ name: 't', dataType: DataType.FLOAT, dims: [3], floatData: [1, -2.5, 3] });
    const raw = createTensor('t', DataType.FLOAT, [3], new Float32Array([1, -2.5, 3]));
    expect(Array.from(tensorToFloat32(typed))).toEqual([1, -2.5, 3]);
    expect(tensorRawBytes(typed)).toEqual(tensorRawBytes(raw));
    const i64 = new onnx.TensorProto({ name: 'i', dataType: DataType.INT64, dims: [2], int64Data: [5, -7] });
    expect(tensorToInts(i64)).toEqual([5, -7]);
    const f16 = new onnx.TensorProto({ name: 'h', dataType: DataType.FLOAT16, dims: [2], int32Data: [0x3c00, 0xc000] });
    expect(Array.from(tensorToFloat32(f16))).toEqual([1, -2]);
  });

  it('copies when raw data is not aligned for its element type', () => {
    const buf = new Uint8Array(9);
    new DataView(buf.buffer).setFloat32(1, 1.5, true);
    new DataView(buf.buffer).setFloat32(5, -4, true);
    const t = new onnx.TensorProto({ name: 'u', dataType: DataType.FLOAT, dims: [2] });
    t.rawData = buf.subarray(1);
    expect(Array.from(tensorToArray(t) as Float32Array)).toEqual([1.5, -4]);
  });

  it('refuses data that does not fit the dims', () => {
    expect(() => createTensor('x', DataType.FLOAT, [4], new Float32Array(3))).toThrow(expect.objectContaining({ code: ForgeErrorCode.INVALID_OPTIONS }));
  });

  it('4-bit typed data: corrupt dims never size the buffer', () => {
    const packed = new onnx.TensorProto({ name: 'q', dataType: DataType.INT4, dims: [3], int32Data: [0x21, 0x03] });
    expect(Array.from(tensorRawBytes(packed))).toEqual([0x21, 0x03]);
    // A dim of 2^40 or -5 with two entries of data: a 512 GiB buffer or a raw RangeError before.
    for (const dims of [[2 ** 40], [-5], [7]]) {
      const t = new onnx.TensorProto({ name: 'q', dataType: DataType.UINT4, dims, int32Data: [1, 2] });
      expect(() => tensorRawBytes(t), String(dims)).toThrow(expect.objectContaining({ code: ForgeErrorCode.INVALID_MODEL }));
    }
  });

  it('makes scalars and vectors of any numeric type', () => {
    expect(tensorToInts(scalarTensor('a', DataType.INT64, [1, 2, 3]))).toEqual([1, 2, 3]);
    expect(Array.from(tensorToFloat32(scalarTensor('b', DataType.FLOAT16, 0.5)))).toEqual([0.5]);
    expect(scalarTensor('c', DataType.FLOAT, 2).dims).toEqual([]);
  });
});
