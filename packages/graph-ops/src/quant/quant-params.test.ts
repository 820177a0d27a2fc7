import { fc, test } from '@fast-check/vitest';
import { DataType, dequantizeLinear, quantizeLinear } from '@onnx-forge/core';
import { describe, expect, it } from 'vitest';
import { roundHalfEven } from './numeric.js';
import { computeQuantParams, quantType } from './quant-params.js';
import { quantizeBias, quantizeWeight } from './weight-quantizer.js';

const f32 = fc.float({ min: -1e4, max: 1e4, noNaN: true, noDefaultInfinity: true });

describe('quantType', () => {
  it.each([
    ['int8', true, false, -127, 127],
    ['int8', false, false, -128, 127],
    ['int8', true, true, -64, 64],
    ['uint8', false, false, 0, 255],
    ['uint8', true, true, 0, 127],
  ] as const)('%s symmetric=%s reduceRange=%s uses [%i, %i]', (name, sym, reduce, qmin, qmax) => {
    const t = quantType(name, sym, reduce);
    expect([t.qmin, t.qmax]).toEqual([qmin, qmax]);
    expect(t.dataType).toBe(name === 'int8' ? DataType.INT8 : DataType.UINT8);
  });
});

describe('roundHalfEven', () => {
  it.each([[0.5, 0], [1.5, 2], [2.5, 2], [-0.5, -0], [-1.5, -2], [3.2, 3], [-3.7, -4]])('rounds %d to %d', (x, y) => {
    expect(roundHalfEven(x) + 0).toBe(y + 0); // the sign of zero does not matter here
  });
});

describe('computeQuantParams', () => {
  test.prop([f32, f32, fc.constantFrom('int8', 'uint8'), fc.boolean(), fc.boolean()])(
    'zero is exact and every value in range dequantizes within half a step',
    (a, b, name, symmetric, reduce) => {
      const [lo, hi] = a <= b ? [a, b] : [b, a];
      const type = quantType(name, symmetric, reduce);
      const { scale, zeroPoint } = computeQuantParams(lo, hi, type);
      expect(scale).toBeGreaterThan(0);
      expect(zeroPoint).toBeGreaterThanOrEqual(type.qmin);
      expect(zeroPoint).toBeLessThanOrEqual(type.qmax);
      const values = Float32Array.of(lo, hi, 0, (lo + hi) / 2);
      const q = name === 'int8' ? new Int8Array(4) : new Uint8Array(4);
      quantizeLinear(values, scale, zeroPoint, q, { qmin: type.qmin, qmax: type.qmax });
      expect(q[2]).toBe(zeroPoint);
      const back = new Float32Array(4);
      dequantizeLinear(q, scale, zeroPoint, back);
      expect(back[2]).toBe(0);
      for (let i = 0; i < 4; i++) expect(Math.abs((back[i] as number) - (values[i] as number))).toBeLessThanOrEqual(scale * 0.5 + 1e-6 * Math.abs(values[i] as number) + 1e-30);
    },
  );

  it('a zero-width range gets scale 1 (never a division by zero)', () => {
    expect(computeQuantParams(0, 0, quantType('uint8', false)).scale).toBe(1);
    expect(computeQuantParams(0, 0, quantType('int8', true)).scale).toBe(1);
  });

  it('symmetric int8 puts the zero point at 0 and maps ±max to ±127', () => {
    const p = computeQuantParams(-2, 1, quantType('int8', true));
    expect(p.zeroPoint).toBe(0);
    expect(p.scale).toBeCloseTo(2 / 127, 7);
  });
});

describe('quantizeWeight', () => {
  it('per-channel gives each channel its own scale along the axis', () => {
    // Column 0 spans ±1, column 1 spans ±100.
    const w = Float32Array.of(1, 100, -1, -100, 0.5, 50);
    const r = quantizeWeight(w, [3, 2], quantType('int8', true), 1);
    if (!r.ok) throw new Error(r.reason);
    expect(Array.from(r.weight.scale)).toEqual([Math.fround(1 / 127), Math.fround(100 / 127)]);
    expect(Array.from(r.weight.data)).toEqual([127, 127, -127, -127, 64, 64]);
  });

  it.each([[NaN], [Infinity]])('refuses weights holding %d with a reason', (bad) => {
    const w = Float32Array.of(1, bad, 2, 3);
    expect(quantizeWeight(w, [4], quantType('int8', true))).toMatchObject({ ok: false, reason: expect.stringMatching(/Inf or NaN/) });
    expect(quantizeWeight(w, [2, 2], quantType('int8', true), 0)).toMatchObject({ ok: false });
  });
});

describe('quantizeBias', () => {
  it('stores bias / (input scale x weight scale) per channel', () => {
    const r = quantizeBias(Float32Array.of(1, -2), 0.5, Float32Array.of(0.1, 0.2));
    expect(r).toMatchObject({ ok: true });
    if (!r.ok) return;
    expect(Array.from(r.data)).toEqual([20, -20]);
    expect(Array.from(r.scale)).toEqual([Math.fround(0.05), Math.fround(0.1)]);
  });

  it('refuses a bias that overflows int32 instead of wrapping it', () => {
    expect(quantizeBias(Float32Array.of(1e6), 1e-6, Float32Array.of(1e-6))).toMatchObject({ ok: false, reason: expect.stringMatching(/int32/) });
  });
});
