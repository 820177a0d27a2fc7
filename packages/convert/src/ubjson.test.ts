import { ForgeErrorCode, isForgeError } from '@onnx-forge/core';
import { describe, expect, it } from 'vitest';
import { toUbjson } from './testing/ubjson-writer.js';
import { looksLikeUbjsonBytes, readUbjson } from './ubjson.js';

const bytes = (...parts: (string | number[])[]): Uint8Array => Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? [...Buffer.from(p, 'latin1')] : p)));
/** An int8 length marker and the length, then the key's bytes. */
const key = (k: string): number[] => [0x69, k.length, ...Buffer.from(k)];

function damaged(input: Uint8Array): string {
  try {
    readUbjson(input);
  } catch (e) {
    expect(isForgeError(e, ForgeErrorCode.INVALID_MODEL)).toBe(true);
    return (e as Error).message;
  }
  return expect.unreachable();
}

describe('readUbjson', () => {
  it('reads back what the XGBoost-layout writer wrote, typed arrays included, as JSON.parse would', () => {
    const value = {
      s: 'é ✓',
      n: [0, -1, 127, -128, 300, -40000, 2 ** 31, -(2 ** 40)],
      f: 0.5,
      t: true,
      z: null,
      nested: { a: [[1], { b: 'c' }] },
      left_children: [1, -1, -1],
      split_conditions: [0.25, -1.5, 3],
      default_left: [1, 0, 0],
    };
    const read = readUbjson(toUbjson(value, { left_children: 'l', split_conditions: 'd', default_left: 'U' }));
    expect(JSON.parse(JSON.stringify(read))).toEqual(value);
  });

  it('reads float32 values exactly, as XGBoost stored them', () => {
    const threshold = Math.fround(0.1);
    expect(readUbjson(toUbjson({ c: [threshold] }, { c: 'd' }))).toEqual({ c: [threshold] });
  });

  it('reads the rest of draft 12: arrays closed by ], counted and typed objects, no-ops, chars, float64 and high-precision numbers', () => {
    const f64 = [0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18]; // 3.141592653589793
    expect(readUbjson(bytes('[', 'N', 'i', [5], 'C', 'x', 'D', f64, 'H', key('1e3'), ']'))).toEqual([5, 'x', Math.PI, 1000]);
    expect(readUbjson(bytes('{', '#', 'i', [2], key('a'), 'T', key('b'), 'F'))).toEqual({ a: true, b: false });
    expect(readUbjson(bytes('{', '$', 'U', '#', 'i', [2], key('a'), [7], key('b'), [8]))).toEqual({ a: 7, b: 8 });
    expect(readUbjson(bytes('[', '$', 'I', '#', 'i', [2], [0xff, 0xfe, 0x01, 0x00]))).toEqual([-2, 256]);
    expect(readUbjson(bytes('{', 'N', key('a'), 'Z', '}'))).toEqual({ a: null });
  });

  it('keeps a key named __proto__ as a plain key, not the prototype', () => {
    const read = readUbjson(bytes('{', key('__proto__'), '{', key('polluted'), 'T', '}', '}')) as Record<string, unknown>;
    expect(Object.keys(read)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses damaged input with FORGE_INVALID_MODEL and the byte where it went wrong', () => {
    const whole = toUbjson({ learner: { trees: [[1, 2, 3]] } });
    for (const cut of [1, 5, whole.length - 3, whole.length - 1]) expect(damaged(whole.subarray(0, cut))).toMatch(/damaged at byte \d+: the file ends inside a value \(truncated\?\)/);
    expect(damaged(bytes('{', key('a'), 'T', '}', 'xx'))).toMatch(/2 bytes follow the end of the model/);
    expect(damaged(bytes('{', key('a'), 'Q', '}'))).toMatch(/damaged at byte 4: unknown marker "Q"/);
    // A count past the file's size is refused before any room is made for it.
    expect(damaged(bytes('[', '#', 'l', [0x7f, 0xff, 0xff, 0xff], 'Z'))).toMatch(/counts 2147483647 elements, more than the file has bytes/);
    expect(damaged(bytes('[', '$', 'd', '#', 'i', [4], [0, 0, 0, 0]))).toMatch(/truncated/);
    expect(damaged(bytes('[', '$', 'd', 'i', [4]))).toMatch(/a typed container has no count/);
    expect(damaged(bytes('{', 'S', key('a'), 'T', '}'))).toMatch(/the string length has marker "S", not an integer/);
    expect(damaged(bytes('[', 'i', [0x7f], 'L', [0x00, 0x40, 0, 0, 0, 0, 0, 0], ']'))).toMatch(/the integer 18014398509481984 is past what a JavaScript number holds exactly/);
    expect(damaged(bytes('S', 'i', [2], [0xc3, 0x28]))).toMatch(/a string is not UTF-8/);
    expect(damaged(bytes('['.repeat(300), ']'.repeat(300)))).toMatch(/containers nest more than 256 deep/);
  });

  it('knows a UBJSON object by its first key length marker', () => {
    expect(looksLikeUbjsonBytes(toUbjson({ learner: {} }))).toBe(true);
    expect(looksLikeUbjsonBytes(Buffer.from('{"learner": {}}'))).toBe(false);
    expect(looksLikeUbjsonBytes(Buffer.from('{'))).toBe(false);
  });
});
