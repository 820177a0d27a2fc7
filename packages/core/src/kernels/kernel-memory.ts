/**
 * Scratch space in the kernels' own memory. Large arrays pass through it in chunks of
 * CHUNK_ELEMENTS, so memory stays small (a few MB whatever the tensor size) and the data is copied
 * once in and once out per chunk while it is still in cache, never as a second whole-array copy.
 */
import type { KernelExports } from './kernel-instance.js';

/** Elements per chunk: 64 Ki float32 in (256 KB) plus the output fit a core's L2 cache. */
export const CHUNK_ELEMENTS = 1 << 16;

const PAGE = 65536;

/**
 * Lays out buffers of the given byte sizes, 16-byte aligned, from the kernels' heap base, growing the
 * memory when needed, and returns their addresses. Views into memory.buffer must be created after
 * this call: growing detaches the previous buffer.
 */
export function reserve(kernels: KernelExports, ...byteSizes: number[]): number[] {
  let at = kernels.heap_base();
  const pointers = byteSizes.map((size) => {
    const p = at;
    at += Math.ceil(size / 16) * 16;
    return p;
  });
  const have = kernels.memory.buffer.byteLength;
  if (at > have) kernels.memory.grow(Math.ceil((at - have) / PAGE));
  return pointers;
}

/** Elements to process per kernel call for an array of n elements. */
export function chunkLength(n: number): number {
  return Math.max(1, Math.min(n, CHUNK_ELEMENTS));
}
