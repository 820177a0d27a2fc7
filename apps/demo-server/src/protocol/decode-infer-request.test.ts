// The JSON tensor rules of the decoder, without a server (conformance.test.ts sends the same over HTTP):
// `data` is flat or nested exactly as the shape, and each value has the JSON type its datatype takes.
import { describe, expect, it } from 'vitest';
import type { ValueInfo } from '@onnx-forge/runtime';
import { decodeInferRequest } from './decode-infer-request.js';

const EMPTY = Buffer.alloc(0);
const LIMITS = { maxElements: 1_000_000 };

/** Decodes a request with one input `x` of `type` and any dims of `rank`; the message of the 400 it answers, or undefined. */
function refusal(datatype: string, type: ValueInfo['type'], shape: number[], data: unknown): string | undefined {
  const inputs: ValueInfo[] = [{ name: 'x', type, shape: shape.map((_, i) => `d${i}`) }];
  try {
    decodeInferRequest({ inputs: [{ name: 'x', datatype, shape, data }] }, EMPTY, inputs, ['y'], LIMITS);
    return undefined;
  } catch (e) {
    expect(e).toMatchObject({ code: 'FORGE_BAD_INPUT', details: { status: 400, input: 'x' } });
    return (e as Error).message;
  }
}

const decode = (datatype: string, type: ValueInfo['type'], shape: number[], data: unknown) =>
  decodeInferRequest({ inputs: [{ name: 'x', datatype, shape, data }] }, EMPTY, [{ name: 'x', type, shape: shape.map((_, i) => `d${i}`) }], ['y'], LIMITS).feeds.x;

describe('JSON data and the declared shape', () => {
  it('takes data flat or nested exactly as the shape, row-major either way', () => {
    const flat = decode('FP32', 'float32', [2, 3], [1, 2, 3, 4, 5, 6]);
    const nested = decode('FP32', 'float32', [2, 3], [[1, 2, 3], [4, 5, 6]]);
    expect(Array.from(nested?.data as Float32Array)).toEqual(Array.from(flat?.data as Float32Array));
    expect(nested?.dims).toEqual([2, 3]);
    expect(Array.from(decode('INT32', 'int32', [], [7])?.data as Int32Array)).toEqual([7]);
  });

  it('takes empty tensors: flat [], or nested down to the level that is empty', () => {
    expect(decode('FP32', 'float32', [0, 3], [])?.data).toHaveLength(0);
    expect(decode('FP32', 'float32', [2, 0, 3], [[], []])?.data).toHaveLength(0);
    expect(refusal('FP32', 'float32', [2, 0, 3], [[], [], []])).toMatch(/data nested as \[3, 0\] does not match shape \[2, 0, 3\]/);
  });

  it('refuses nesting that is not the shape, saying what was expected and what was found', () => {
    expect(refusal('FP32', 'float32', [1, 3, 32, 32], [Array(1536).fill(0), Array(1536).fill(0)])).toBe(
      "input 'x': data nested as [2, 1536] does not match shape [1, 3, 32, 32]; give it flat (3072 values) or nested as the shape",
    );
    expect(refusal('FP32', 'float32', [2, 3], [[1, 2], [3, 4], [5, 6]])).toMatch(/data nested as \[3, 2\] does not match shape \[2, 3\]/);
    expect(refusal('FP32', 'float32', [6], [[1, 2, 3], [4, 5, 6]])).toMatch(/data nested as \[2, 3\] does not match shape \[6\]/);
    expect(refusal('FP32', 'float32', [2, 3], [[[1, 2, 3], [4, 5, 6]]])).toMatch(/data nested as \[1, 2, 3\] does not match shape \[2, 3\]/);
  });

  it('refuses ragged data, naming where it breaks', () => {
    expect(refusal('FP32', 'float32', [2, 3], [[1, 2, 3], [4, 5]])).toBe("input 'x': data is not rectangular: data[1] holds 2 values where data[0] holds 3; give it flat (6 values) or nested as the shape [2, 3]");
    expect(refusal('FP32', 'float32', [2, 2], [[1, 2], [3, [4]]])).toMatch(/data\[1\]\[1\] is an array where data\[0\]\[0\] is a value/);
    expect(refusal('FP32', 'float32', [2, 2], [[1, 2], 3])).toMatch(/data\[1\] is a value where data\[0\] is an array/);
  });

  it('still refuses flat data of the wrong length with the count the shape needs', () => {
    expect(refusal('FP32', 'float32', [2, 3], [1, 2, 3, 4, 5])).toBe("input 'x' has 5 values but shape [2, 3] needs 6");
  });
});

describe('JSON values and the datatype', () => {
  it('refuses booleans in numeric tensors, numbers in BOOL and non-strings in BYTES, naming the position', () => {
    expect(refusal('FP32', 'float32', [3], [1, true, 3])).toBe("input 'x': value true at index 1 is not a number: FP32 data takes JSON numbers (true and false go in BOOL tensors)");
    expect(refusal('UINT8', 'uint8', [2, 2], [[1, 2], [3, false]])).toMatch(/^input 'x': value false at data\[1\]\[1\] \(index 3\) is not a number: UINT8/);
    expect(refusal('BOOL', 'bool', [2], [true, 1])).toBe("input 'x': value 1 at index 1 is not a boolean: BOOL data takes JSON true or false");
    expect(refusal('BOOL', 'bool', [2], [null, true])).toMatch(/value null at index 0 is not a boolean/);
    expect(refusal('BYTES', 'string', [2], ['a', true])).toBe("input 'x': value true at index 1 is not a string: BYTES data takes JSON strings");
  });

  it('refuses strings, null and objects in numeric tensors (INT64 strings too: large values go as binary)', () => {
    expect(refusal('FP64', 'float64', [2], [1, '2'])).toMatch(/^input 'x': value "2" at index 1 is not a number: FP64 data takes JSON numbers$/);
    expect(refusal('INT64', 'int64', [2], ['9007199254740993', 1])).toMatch(/value "9007199254740993" at index 0 is not a number: INT64 data takes JSON numbers \(send int64 values beyond ±2\^53 as binary data\)/);
    expect(refusal('INT32', 'int32', [1], [null])).toMatch(/value null at index 0 is not a number/);
    expect(refusal('FP16', 'float16', [1], [{ long: 'x'.repeat(100) }])).toMatch(/value \{"long":"x+\.\.\. at index 0 is not a number/);
  });

  it('keeps the checks that come after the JSON type: integers, and their range', () => {
    expect(refusal('INT32', 'int32', [2], [1, 1.5])).toMatch(/value 1\.5 at index 1 is not an integer/);
    expect(refusal('INT8', 'int8', [2, 1], [[1], [200]])).toMatch(/value 200 at index 1 is outside the range of INT8/);
    expect(Array.from(decode('BOOL', 'bool', [2, 2], [[true, false], [false, true]])?.data as Uint8Array)).toEqual([1, 0, 0, 1]);
    expect(decode('BYTES', 'string', [2], ['a', ''])?.data).toEqual(['a', '']);
  });
});

describe('JSON data nested very deep', () => {
  it('is refused as not the shape, without walking it and without listing every level', () => {
    const deep = JSON.parse(`${'['.repeat(50_000)}1${']'.repeat(50_000)}`) as unknown;
    expect(refusal('FP32', 'float32', [1, 1], [deep])).toBe("input 'x': data nested as 50001 levels deep does not match shape [1, 1]; give it flat (1 values) or nested as the shape");
  });
});
