import { rawByteLength, type TypedArray } from '../dtype.js';
import { ForgeError, ForgeErrorCode } from '../errors.js';
import type { ByteSource } from '../io/byte-source.js';
import { onnx } from '../proto/onnx.generated.js';
import type { TensorProto } from '../proto/types.js';
import { toNumber } from './int64.js';
import { withScratch } from './scratch-pool.js';

/**
 * Data of a tensor that is not in memory: a region of a source (a weight of a model read lazily,
 * still in its file), or a producer that computes it (a weight a pass converted from a lazy one,
 * made again when the writer reaches it). Such a tensor has no `rawData` of its own;
 * `tensorRawBytes` reads or produces its bytes on demand and keeps nothing, and `writeModel` streams
 * them to the output in order, so a model larger than memory goes through the same passes as a
 * small one.
 */
export type PendingData =
  | { readonly kind: 'region'; readonly source: ByteSource; readonly offset: number; readonly length: number }
  | { readonly kind: 'deferred'; readonly length: number; readonly produce: (into?: Uint8Array) => Uint8Array };

const PENDING = new WeakMap<TensorProto, PendingData>();

const own = (t: TensorProto, key: string) => Object.prototype.hasOwnProperty.call(t, key);

/** The pending data of `t`, if its data is not in memory (raw data set since takes precedence). */
export function pendingData(t: TensorProto): PendingData | undefined {
  if (own(t, 'rawData')) return undefined;
  return PENDING.get(t);
}

/** Whether the tensor's data is read or produced on demand rather than held in memory. */
export function isLazy(t: TensorProto): boolean {
  return pendingData(t) !== undefined;
}

function clearData(t: TensorProto): void {
  delete (t as Partial<TensorProto>).rawData;
  t.floatData = [];
  t.int32Data = [];
  t.int64Data = [];
  t.doubleData = [];
  t.uint64Data = [];
  t.stringData = [];
  t.externalData = [];
  delete (t as Partial<TensorProto>).dataLocation;
}

/** Attaches pending data to `t`, whose own data fields are cleared. */
export function setPendingData(t: TensorProto, data: PendingData): void {
  clearData(t);
  PENDING.set(t, data);
}

/** Forgets pending data (the tensor was given data of its own). */
export function dropPendingData(t: TensorProto): void {
  PENDING.delete(t);
}

/** Makes `t` read its data from `[offset, offset + length)` of `source` when needed. */
export function setTensorRegion(t: TensorProto, source: ByteSource, offset: number, length: number): void {
  setPendingData(t, { kind: 'region', source, offset, length });
}

function bytesOf(a: TypedArray | Uint8Array): Uint8Array {
  return a instanceof Uint8Array ? a : new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/**
 * Gives `t` the type `dataType` and data that `produce` computes when something reads it or the
 * writer reaches it (called again on every read: it must give the same bytes each time). Its length
 * follows from the dims and the type. The writer offers `into`, lent memory of exactly that length
 * (at byte offset 0, so any typed view of it is aligned), valid until `produce` returns and the
 * writer has written the result: a producer may fill it and return it (or a view of it) rather than
 * new memory. Other readers offer nothing and keep what they get.
 */
export function deferTensorData(t: TensorProto, dataType: number, produce: (into?: Uint8Array) => TypedArray | Uint8Array): void {
  let count = 1;
  for (const d of t.dims) count *= toNumber(d, `dimension of tensor "${t.name}"`);
  const length = rawByteLength(dataType, count);
  t.dataType = dataType;
  setPendingData(t, {
    kind: 'deferred',
    length,
    produce: (into) => {
      const bytes = bytesOf(produce(into));
      if (bytes.length !== length) {
        throw new ForgeError(ForgeErrorCode.INTERNAL, `the producer of tensor "${t.name}" gave ${bytes.length} bytes, its dims and type need ${length}`, { details: { tensor: t.name } });
      }
      return bytes;
    },
  });
}

/** The bytes of pending data, synchronously (passes read weights this way). */
export function readPendingSync(t: TensorProto, p: PendingData): Uint8Array {
  if (p.kind === 'deferred') return p.produce();
  if (!p.source.readSync) {
    throw new ForgeError(
      ForgeErrorCode.EXTERNAL_DATA,
      `tensor "${t.name}" is still in "${p.source.name}", which can only be read asynchronously here; convert weights where synchronous reads exist (Node, or a Web Worker for a File)`,
      { details: { tensor: t.name, source: p.source.name } },
    );
  }
  return p.source.readSync(p.offset, p.length);
}

/** The bytes of pending data, asynchronously (the writer, and sources that only read that way). */
export async function readPending(t: TensorProto, p: PendingData): Promise<Uint8Array> {
  return p.kind === 'deferred' ? p.produce() : p.source.read(p.offset, p.length);
}

/** Bytes a writer copies from a source per read. */
const COPY_CHUNK = 16 << 20;

/**
 * Hands the bytes of pending data to `sink` in order, which must have consumed each piece when it
 * returns (the writer writes it synchronously): produced data is made in lent memory, a region is
 * copied a chunk at a time through lent memory (or read chunk by chunk where only async reads exist),
 * so writing a converted model takes no fresh memory per weight.
 */
export async function emitPending(p: PendingData, sink: (bytes: Uint8Array) => void): Promise<void> {
  if (p.kind === 'deferred') {
    withScratch(p.length, (into) => sink(p.produce(into)));
    return;
  }
  const { source, offset, length } = p;
  const readSync = source.readSync;
  if (readSync) {
    withScratch(Math.min(COPY_CHUNK, length), (into) => {
      for (let done = 0; done < length; ) {
        const n = Math.min(COPY_CHUNK, length - done);
        sink(readSync.call(source, offset + done, n, into));
        done += n;
      }
    });
    return;
  }
  for (let done = 0; done < length; ) {
    const n = Math.min(COPY_CHUNK, length - done);
    sink(await source.read(offset + done, n));
    done += n;
  }
}

/** Byte length of pending data. */
export function pendingLength(p: PendingData): number {
  return p.length;
}

/**
 * A detached copy of `t` (name, type, dims, and its data by reference: the same view or the same
 * pending data), for a producer that reads the tensor after a pass has changed or removed it.
 */
export function snapshotTensor(t: TensorProto): TensorProto {
  const copy = new onnx.TensorProto({ name: t.name, dataType: t.dataType, dims: [...t.dims] });
  const p = pendingData(t);
  if (p) {
    PENDING.set(copy, p);
    return copy;
  }
  if (own(t, 'rawData')) copy.rawData = t.rawData;
  copy.floatData = t.floatData;
  copy.int32Data = t.int32Data;
  copy.int64Data = t.int64Data;
  copy.doubleData = t.doubleData;
  copy.uint64Data = t.uint64Data;
  copy.stringData = t.stringData;
  if (t.dataLocation) {
    copy.dataLocation = t.dataLocation;
    copy.externalData = t.externalData;
  }
  return copy;
}

/** Gives `target` the same pending data as `source` (a copy of a model keeps its lazy weights lazy). */
export function sharePendingData(source: TensorProto, target: TensorProto): void {
  const p = pendingData(source);
  if (p) setPendingData(target, p);
}
