import { fc, test } from '@fast-check/vitest';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { fromFloat16, fromInt64, tensorFromArray, toFloat16, toInt64, zerosTensor } from './tensor.js';

function badInput(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return `${(e as { code?: string }).code}: ${(e as Error).message}`;
  }
  return 'no error';
}

describe('fp16 helpers', () => {
  test.prop([fc.float({ noNaN: true, min: -65504, max: 65504 })])('fp32 → fp16 → fp32 is within half an fp16 ulp', (v) => {
    const back = fromFloat16(toFloat16([v]))[0] as number;
    const exp = Math.floor(Math.log2(Math.max(Math.abs(v), 2 ** -14)));
    const ulp = 2 ** (Math.max(exp, -14) - 10);
    expect(Math.abs(back - Math.fround(v))).toBeLessThanOrEqual(ulp / 2);
  });

  test.prop([fc.integer({ min: 0, max: 0xffff })])('fp16 bits → fp32 → fp16 bits is exact (NaN stays NaN)', (bits) => {
    const f = fromFloat16([bits])[0] as number;
    const again = toFloat16([f])[0] as number;
    if (Number.isNaN(f)) expect(Number.isNaN(fromFloat16([again])[0])).toBe(true);
    else expect(again).toBe(bits);
  });

  it('keeps signed zero and infinities, and overflows past 65504 to infinity unless asked to clamp', () => {
    expect(Array.from(toFloat16([0, -0, Infinity, -Infinity, 65504, 65520, 1e6]))).toEqual([0, 0x8000, 0x7c00, 0xfc00, 0x7bff, 0x7c00, 0x7c00]);
    expect(Array.from(toFloat16([65520, -1e6, 1e-9], { clamp: true }))).toEqual([0x7bff, 0xfbff, 0]);
  });

  it('agrees with what onnxruntime computes for a Cast to float16', async () => {
    const { ModelBuilder } = await import('@onnx-forge/core');
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', 'float32', [6]);
    b.output(b.op('Cast', [x], { to: 10 }, { outputs: ['y'] }), 'float16', [6]);
    const s = await ort.InferenceSession.create(b.build().encode());
    const values = new Float32Array([0.1, -3.14159, 1e-7, 70000, 2049, 0.333333]);
    const out = await s.run({ x: new ort.Tensor('float32', values, [6]) });
    expect(Array.from(out.y?.data as Uint16Array)).toEqual(Array.from(toFloat16(values)));
    await s.release();
  });
});

describe('int64 helpers', () => {
  test.prop([fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })])('bigints round-trip exactly', (v) => {
    expect(toInt64([v])[0]).toBe(v);
  });

  test.prop([fc.maxSafeInteger()])('safe integers round-trip through numbers', (v) => {
    expect(fromInt64(toInt64([v]))).toEqual([v]);
  });

  it('refuses values it would round', () => {
    expect(badInput(() => toInt64([2 ** 53 + 2]))).toMatch(/^FORGE_BAD_INPUT: .*not an integer that int64 can hold exactly \(use a bigint\)/);
    expect(badInput(() => toInt64([1.5]))).toMatch(/FORGE_BAD_INPUT/);
    expect(badInput(() => toInt64([2n ** 64n]))).toMatch(/does not fit in int64/);
    expect(badInput(() => fromInt64(new BigInt64Array([2n ** 60n])))).toMatch(/beyond ±2\^53; pass \{ lossy: true \}/);
    expect(fromInt64(new BigInt64Array([2n ** 60n]), { lossy: true })).toEqual([2 ** 60]);
    expect(Array.from(toInt64(['-9223372036854775808']))).toEqual([-(2n ** 63n)]);
  });
});

describe('tensorFromArray', () => {
  it('takes the shape from nested arrays and converts to the container of the type', () => {
    const t = tensorFromArray([[1, 2, 3], [4, 5, 6]], 'int64');
    expect(t.dims).toEqual([2, 3]);
    expect(t.data).toEqual(new BigInt64Array([1n, 2n, 3n, 4n, 5n, 6n]));
    expect(tensorFromArray([true, false], 'bool').data).toEqual(new Uint8Array([1, 0]));
    expect(tensorFromArray([1, 2, 3, 4], 'float16', [2, 2]).data).toEqual(toFloat16([1, 2, 3, 4]));
    expect(tensorFromArray(['a', 'b'], 'string').data).toEqual(['a', 'b']);
    expect(tensorFromArray(new Float32Array([1, 2]), 'float64').data).toEqual(new Float64Array([1, 2]));
    expect(tensorFromArray([[1, 2], [3, 4]], 'float32', [4]).dims).toEqual([4]);
  });

  it('refuses ragged arrays, wrong counts and non-integers for integer types', () => {
    expect(badInput(() => tensorFromArray([[1, 2], [3]], 'float32'))).toMatch(/not rectangular/);
    expect(badInput(() => tensorFromArray([1, 2, 3], 'float32', [2, 2]))).toMatch(/3 values do not fill dims \[2, 2\]/);
    expect(badInput(() => tensorFromArray([1.5], 'int32'))).toMatch(/not an integer/);
    expect(badInput(() => tensorFromArray([-1], 'uint64'))).toMatch(/does not fit in uint64/);
  });

  it('refuses integers outside the range of their type instead of wrapping them, as for int64', () => {
    const cases: [number, string][] = [[256, 'uint8'], [-1, 'uint8'], [128, 'int8'], [-129, 'int8'], [65536, 'uint16'], [-32769, 'int16'], [2 ** 31, 'int32'], [-1, 'uint32'], [2 ** 32, 'uint32']];
    for (const [v, type] of cases) expect(badInput(() => tensorFromArray([0, v], type as never)), `${v} as ${type}`).toMatch(new RegExp(`^FORGE_BAD_INPUT: value ${v} at index 1 does not fit in ${type}`));
    expect(Array.from(tensorFromArray([255, 0], 'uint8').data as Uint8Array)).toEqual([255, 0]);
    expect(Array.from(tensorFromArray([-(2 ** 31), 2 ** 31 - 1], 'int32').data as Int32Array)).toEqual([-(2 ** 31), 2 ** 31 - 1]);
    expect(Array.from(tensorFromArray([2 ** 32 - 1], 'uint32').data as Uint32Array)).toEqual([2 ** 32 - 1]);
  });

  it('makes zero tensors of any type', () => {
    expect(zerosTensor('int64', [2, 2]).data).toEqual(new BigInt64Array(4));
    expect(zerosTensor('string', [2]).data).toEqual(['', '']);
  });
});
