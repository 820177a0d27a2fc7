import { DataType } from '../dtype.js';
import type { TensorProto } from '../proto/types.js';
import { tensorRawBytes, tensorToFloat32 } from './tensor.js';
import { pendingData } from './tensor-data.js';
import { withScratch } from './scratch-pool.js';

// Tensor data read once through lent memory (withScratch, scratch-pool.ts).

/**
 * Calls `use` with the raw bytes of `t`: a weight still in its file is read into lent memory (valid
 * only during `use`), any other tensor gives its bytes as `tensorRawBytes` does.
 */
export function withTensorBytes<T>(t: TensorProto, use: (bytes: Uint8Array) => T): T {
  const p = pendingData(t);
  if (p?.kind === 'region' && p.source.readSync) {
    const { source, offset, length } = p;
    return withScratch(length, (into) => use((source.readSync as NonNullable<typeof source.readSync>)(offset, length, into)));
  }
  return use(tensorRawBytes(t));
}

/**
 * Calls `use` with the values of `t` as float32, for reading once: a weight still in its file is read
 * into lent memory, unaligned float32 bytes are copied into lent memory, other types are converted
 * as `tensorToFloat32` does. `use` must not keep the array.
 */
export function withTensorFloat32<T>(t: TensorProto, use: (values: Float32Array) => T): T {
  if (t.dataType !== DataType.FLOAT) return use(tensorToFloat32(t));
  return withTensorBytes(t, (bytes) => {
    const n = bytes.length >> 2;
    if (bytes.byteOffset % 4 === 0) return use(new Float32Array(bytes.buffer, bytes.byteOffset, n));
    return withScratch(n * 4, (copy) => {
      copy.set(bytes.subarray(0, n * 4));
      return use(new Float32Array(copy.buffer, 0, n));
    });
  });
}
