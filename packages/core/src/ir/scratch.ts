import { DataType } from '../dtype.js';
import type { TensorProto } from '../proto/types.js';
import { tensorRawBytes, tensorToFloat32 } from './tensor.js';
import { pendingData } from './tensor-data.js';

/**
 * Reusable memory for data read once and dropped: a weight still in its file that a pass reads for
 * its statistics, or that the writer reads again to convert. Fresh memory costs a page fault on
 * every first touch, and on a virtual machine that costs more than reading the bytes (a streamed
 * INT4 pass over a 3.35 GB decoder spent a third of its time zeroing fresh pages for its reads:
 * `npm run bench -- large`); reading into pages already mapped skips that.
 *
 * Buffers are lent for the length of a callback and must not be kept after it returns. Nested use
 * gets another buffer. Free buffers are dropped after a second without use, so a long-running
 * process does not keep the largest weight it once read.
 */

const IDLE_MS = 1000;
const KEEP = 4;

const free: ArrayBuffer[] = [];
let lastUse = 0;
let timer: ReturnType<typeof setTimeout> | undefined;

function acquire(byteLength: number): ArrayBuffer {
  let best = -1;
  for (let i = 0; i < free.length; i++) {
    const b = free[i] as ArrayBuffer;
    if (b.byteLength >= byteLength && (best < 0 || b.byteLength < (free[best] as ArrayBuffer).byteLength)) best = i;
  }
  if (best >= 0) return free.splice(best, 1)[0] as ArrayBuffer;
  // Too small for this use: dropped, so the pool grows to the largest weight rather than multiplying.
  if (free.length) free.splice(free.reduce((s, b, i) => (b.byteLength < (free[s] as ArrayBuffer).byteLength ? i : s), 0), 1);
  return typeof Buffer !== 'undefined' ? Buffer.allocUnsafeSlow(byteLength).buffer : new ArrayBuffer(byteLength);
}

function release(buffer: ArrayBuffer): void {
  if (free.length < KEEP) free.push(buffer);
  lastUse = Date.now();
  if (timer === undefined) arm(IDLE_MS);
}

function arm(ms: number): void {
  timer = setTimeout(() => {
    timer = undefined;
    const idle = Date.now() - lastUse;
    if (idle < IDLE_MS) return arm(IDLE_MS - idle);
    free.length = 0;
  }, ms);
  (timer as { unref?: () => void }).unref?.();
}

/** Calls `use` with `byteLength` bytes of lent memory (contents undefined), returned to the pool after. */
export function withScratch<T>(byteLength: number, use: (bytes: Uint8Array) => T): T {
  const buffer = acquire(byteLength);
  try {
    return use(new Uint8Array(buffer, 0, byteLength));
  } finally {
    release(buffer);
  }
}

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
