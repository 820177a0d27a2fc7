import { ForgeError, ForgeErrorCode } from '../errors.js';

/**
 * Reusable memory for data read once and dropped: a weight still in its file that a pass reads for
 * its statistics, or that the writer reads again to convert. Fresh memory costs a page fault on
 * every first touch (the kernel zeroes each page), which on a virtual machine can cost more than
 * reading the bytes; reading into pages already mapped skips that (`npm run bench -- large` measures
 * the streamed passes).
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

/**
 * Calls `use` with `byteLength` bytes of lent memory (contents undefined), returned to the pool after.
 * `use` must be synchronous: the memory goes back to the pool when it returns, so a promise (which
 * would read the memory later, after someone else got it) is refused.
 */
export function withScratch<T>(byteLength: number, use: (bytes: Uint8Array) => T): T {
  const buffer = acquire(byteLength);
  try {
    const result = use(new Uint8Array(buffer, 0, byteLength));
    if (typeof (result as { then?: unknown } | null)?.then === 'function') {
      throw new ForgeError(ForgeErrorCode.INTERNAL, 'withScratch: the callback returned a promise; lent memory is only valid while a synchronous callback runs');
    }
    return result;
  } finally {
    release(buffer);
  }
}

type TypedCtor<T> = { new (buffer: ArrayBufferLike, byteOffset: number, length: number): T; readonly BYTES_PER_ELEMENT: number };

/**
 * `length` elements of `Ctor` over lent bytes (`into` of a derive, or `withScratch`'s), or undefined
 * when there are none or they are too short or misaligned for that type (then the caller allocates).
 */
export function lentView<T>(into: Uint8Array | undefined, Ctor: TypedCtor<T>, length: number): T | undefined {
  if (!into || into.byteOffset % Ctor.BYTES_PER_ELEMENT !== 0 || into.length < length * Ctor.BYTES_PER_ELEMENT) return undefined;
  return new Ctor(into.buffer, into.byteOffset, length);
}
