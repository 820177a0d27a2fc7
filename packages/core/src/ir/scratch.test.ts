import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DataType } from '../dtype.js';
import { fileSource } from '../io/file-source.js';
import { memorySource } from '../io/byte-source.js';
import { tempFolders } from '../testing/temp-folders.js';
import { withScratch } from './scratch-pool.js';
import { withTensorBytes, withTensorFloat32 } from './scratch.js';
import { createTensor, tensorRawBytes } from './tensor.js';
import { setTensorRegion } from './tensor-data.js';

const folder = tempFolders('forge-scratch-', afterAll);

/** A float32 tensor whose values live in a file at byte `offset` (not 4-aligned when odd). */
async function lazyTensor(values: Float32Array, offset: number) {
  const file = join(folder(), 'weights.bin');
  const bytes = new Uint8Array(offset + values.byteLength);
  bytes.set(new Uint8Array(values.buffer), offset);
  writeFileSync(file, bytes);
  const t = createTensor('w', DataType.FLOAT, [values.length], new Float32Array(values.length));
  setTensorRegion(t, await fileSource(file), offset, values.byteLength);
  return t;
}

describe('lent memory for data read once', () => {
  it('reuses one buffer for uses one after another, and lends another one to a nested use', () => {
    const lent: ArrayBufferLike[] = [];
    withScratch(1024, (a) => {
      lent.push(a.buffer);
      withScratch(1024, (b) => {
        expect(b.buffer).not.toBe(a.buffer);
        lent.push(b.buffer);
      });
    });
    withScratch(512, (c) => expect(lent).toContain(c.buffer));
    withScratch(4096, (d) => {
      expect(d.length).toBe(4096);
      expect(lent).not.toContain(d.buffer);
    });
  });

  it('reads a weight in its file into the lent memory, with the values the file holds', async () => {
    const values = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 100);
    const t = await lazyTensor(values, 0);
    const seen: ArrayBufferLike[] = [];
    for (let i = 0; i < 2; i++) {
      withTensorFloat32(t, (v) => {
        expect(v).toEqual(values);
        seen.push(v.buffer);
      });
    }
    // The second read lands in the buffer the first one used: no fresh memory per read.
    expect(seen[1]).toBe(seen[0]);
    // tensorRawBytes still hands out bytes of its own, which its callers may keep.
    const kept = tensorRawBytes(t);
    withTensorBytes(t, (b) => expect(b.buffer).not.toBe(kept.buffer));
    expect(new Float32Array(kept.buffer, kept.byteOffset, 1000)).toEqual(values);
  });

  it('gives aligned float32 values for bytes at an odd offset, and views without a copy for memory', async () => {
    const values = Float32Array.from({ length: 33 }, (_, i) => i - 16.5);
    expect(withTensorFloat32(await lazyTensor(values, 3), (v) => Array.from(v))).toEqual(Array.from(values));
    const inMemory = createTensor('m', DataType.FLOAT, [33], values);
    withTensorBytes(inMemory, (b) => expect(b.buffer).toBe(inMemory.rawData.buffer));
    // A source holding the bytes already returns a view of them, whatever buffer it is offered.
    const held = new Uint8Array(64).fill(7);
    const into = new Uint8Array(64);
    expect(memorySource(held).readSync?.(8, 16, into).buffer).toBe(held.buffer);
  });

  it('refuses an async callback, which would read the memory after it went back to the pool', () => {
    expect(() => withScratch(16, async () => 1)).toThrow(/returned a promise/);
  });

  it('converts other types as tensorToFloat32 does', () => {
    const t = createTensor('i', DataType.INT32, [3], Int32Array.of(-2, 0, 7));
    expect(Array.from(withTensorFloat32(t, (v) => v))).toEqual([-2, 0, 7]);
  });
});
