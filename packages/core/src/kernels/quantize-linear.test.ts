import { fc, test } from '@fast-check/vitest';
import { expect, it } from 'vitest';
import { ForgeError } from '../errors.js';
import { dequantizeLinear } from './dequantize-linear.js';
import { describeBackends } from './testing/describe-backends.js';
import { MAX_ROW } from './axis-layout.js';
import { CHUNK_ELEMENTS } from './kernel-memory.js';
import { quantizeLinear } from './quantize-linear.js';
import { axisCase, channelOf, float32Array, float32Value } from './testing/axis-arbitraries.js';

/** Round half to even, written independently of the implementation. */
function rint(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

/** ONNX QuantizeLinear for one value, straight from the spec with onnxruntime's float32 division. */
function quantizeOne(x: number, s: number, zp: number, qmin: number, qmax: number): number {
  if (Number.isNaN(x)) return qmin; // as onnxruntime's CPU kernel
  const q = rint(Math.fround(x / s)) + zp;
  return Math.min(Math.max(q, qmin), qmax);
}

const positiveScale = fc.float({ min: Math.fround(1e-6), max: Math.fround(1e3), noNaN: true });

interface QCase {
  src: Float32Array;
  dims: number[];
  axis: number;
  scales: Float32Array;
  zps: Int32Array;
  unsigned: boolean;
  qmin: number;
  qmax: number;
}

const qCase: fc.Arbitrary<QCase> = fc
  .record({ layout: axisCase, unsigned: fc.boolean(), narrow: fc.constantFrom('full', 'symmetric', 'reduced') })
  .chain(({ layout: { dims, axis }, unsigned, narrow }) => {
    const n = dims.reduce((a, b) => a * b, 1);
    const channels = dims[axis < 0 ? axis + dims.length : axis] as number;
    const [qmin, qmax] = unsigned
      ? narrow === 'reduced' ? [0, 127] : [0, 255]
      : narrow === 'symmetric' ? [-127, 127] : narrow === 'reduced' ? [-64, 63] : [-128, 127];
    return fc.record({
      src: float32Array(n),
      dims: fc.constant(dims),
      axis: fc.constant(axis),
      scales: fc.array(positiveScale, { minLength: channels, maxLength: channels }).map((xs) => Float32Array.from(xs)),
      zps: fc
        .array(fc.integer(unsigned ? { min: 0, max: 255 } : { min: -128, max: 127 }), { minLength: channels, maxLength: channels })
        .map((xs) => Int32Array.from(xs)),
      unsigned: fc.constant(unsigned),
      qmin: fc.constant(qmin),
      qmax: fc.constant(qmax),
    });
  });

describeBackends('quantizeLinear', () => {
  test.prop([fc.array(float32Value, { maxLength: 70, size: 'max' }), positiveScale, fc.integer({ min: -128, max: 127 })], { numRuns: 300 })(
    'per tensor equals the spec reference (int8)',
    (xs, scale, zp) => {
      const src = Float32Array.from(xs);
      const dst = new Int8Array(src.length);
      quantizeLinear(src, scale, zp, dst);
      expect(Array.from(dst)).toEqual(Array.from(src, (x) => quantizeOne(x, scale, zp, -128, 127)));
    },
  );

  test.prop([fc.array(fc.integer({ min: -400, max: 400 }), { minLength: 1, maxLength: 70, size: 'max' }), fc.integer({ min: -12, max: 12 }), fc.integer({ min: 0, max: 255 })], {
    numRuns: 200,
  })('rounds exact .5 ties to even and saturates (uint8)', (ks, e, zp) => {
    const scale = 2 ** e;
    // (k + 0.5) * 2^e is exact, so x / scale is exactly k + 0.5.
    const src = Float32Array.from(ks, (k) => (k + 0.5) * scale);
    const dst = new Uint8Array(src.length);
    quantizeLinear(src, scale, zp, dst);
    expect(Array.from(dst)).toEqual(ks.map((k) => Math.min(Math.max((k % 2 === 0 ? k : k + 1) + zp, 0), 255)));
  });

  test.prop([qCase], { numRuns: 200 })('per axis equals the spec reference for any shape, axis and range', (c) => {
    const dst = c.unsigned ? new Uint8Array(c.src.length) : new Int8Array(c.src.length);
    quantizeLinear(c.src, c.scales, c.zps, dst, { dims: c.dims, axis: c.axis, qmin: c.qmin, qmax: c.qmax });
    const channel = channelOf(c.dims, c.axis);
    const want = Array.from(c.src, (x, i) => {
      const ch = channel(i);
      return quantizeOne(x, c.scales[ch] as number, c.zps[ch] as number, c.qmin, c.qmax);
    });
    expect(Array.from(dst)).toEqual(want);
  });

  test.prop([qCase], { numRuns: 150 })('dequantizeLinear equals (q - zp) * scale in float32, per axis', (c) => {
    const q = c.unsigned ? Uint8Array.from(c.src, (x) => x & 0xff) : Int8Array.from(c.src, (x) => x);
    const dst = new Float32Array(q.length);
    dequantizeLinear(q, c.scales, c.zps, dst, { dims: c.dims, axis: c.axis });
    const channel = channelOf(c.dims, c.axis);
    const want = Float32Array.from(q, (v, i) => Math.fround((v - (c.zps[channel(i)] as number)) * (c.scales[channel(i)] as number)));
    expect(Array.from(dst)).toEqual(Array.from(want));
  });

  test.prop([qCase], { numRuns: 150 })('quantize then dequantize is within half a step inside the representable range', (c) => {
    const q = c.unsigned ? new Uint8Array(c.src.length) : new Int8Array(c.src.length);
    const opts = { dims: c.dims, axis: c.axis, qmin: c.qmin, qmax: c.qmax };
    quantizeLinear(c.src, c.scales, c.zps, q, opts);
    const back = new Float32Array(q.length);
    dequantizeLinear(q, c.scales, c.zps, back, opts);
    const channel = channelOf(c.dims, c.axis);
    const outside: number[] = [];
    c.src.forEach((x, i) => {
      const s = c.scales[channel(i)] as number;
      const zp = c.zps[channel(i)] as number;
      if (!(x >= (c.qmin - zp) * s && x <= (c.qmax - zp) * s)) return;
      // Half a step, plus float32 rounding of the quotient and of the product.
      if (Math.abs((back[i] as number) - x) > s / 2 + Math.abs(x) * 2 ** -22 + s * 2 ** -20) outside.push(i);
    });
    expect(outside).toEqual([]);
  });

  it('quantizes multi-chunk MatMul (axis 1) and Conv (axis 0) weights, and rows too long to keep scales per position', () => {
    const layouts: [number[], number][] = [[[257, 771], 1], [[70, 3, 33, 31], 0], [[3, CHUNK_ELEMENTS + 5], 1], [[2, MAX_ROW + 3], 1]];
    for (const [dims, axis] of layouts) {
      const n = dims.reduce((a, b) => a * b, 1);
      const channels = dims[axis] as number;
      const src = new Float32Array(n).map((_, i) => Math.sin(i * 0.11) * 3);
      const scales = new Float32Array(channels).map((_, c) => 0.01 + c * 1e-4);
      const zps = new Int32Array(channels).map((_, c) => (c % 7) - 3);
      const dst = new Int8Array(n);
      quantizeLinear(src, scales, zps, dst, { dims, axis });
      const channel = channelOf(dims, axis);
      let wrong = 0;
      src.forEach((x, i) => {
        if (dst[i] !== quantizeOne(x, scales[channel(i)] as number, zps[channel(i)] as number, -128, 127)) wrong++;
      });
      expect(wrong).toBe(0);
      const back = new Float32Array(n);
      dequantizeLinear(dst, scales, zps, back, { dims, axis });
      let off = 0;
      dst.forEach((v, i) => {
        if (back[i] !== Math.fround((v - (zps[channel(i)] as number)) * (scales[channel(i)] as number))) off++;
      });
      expect(off).toBe(0);
    }
  });

  it('quantizes NaN to qmin, as onnxruntime does, and ±Inf to the limits', () => {
    const dst = new Uint8Array(3);
    quantizeLinear(Float32Array.of(NaN, Infinity, -Infinity), 0.1, 128, dst, { qmin: 1 });
    expect(Array.from(dst)).toEqual([1, 255, 1]);
  });

  it('rejects inconsistent parameters with FORGE_INVALID_OPTIONS', () => {
    const src = new Float32Array(6);
    const dst = new Int8Array(6);
    expect(() => quantizeLinear(src, 1, 0, new Int8Array(5))).toThrow(ForgeError);
    expect(() => quantizeLinear(src, new Float32Array(3), 0, dst)).toThrow(/without an axis/);
    expect(() => quantizeLinear(src, new Float32Array(2), 0, dst, { dims: [2, 3], axis: 1 })).toThrow(/2 scales for 3 channels/);
    expect(() => quantizeLinear(src, new Float32Array(3), new Int32Array(2), dst, { dims: [2, 3], axis: 1 })).toThrow(/zero points/);
    expect(() => quantizeLinear(src, 1, 200, dst)).toThrow(/zero point 200/);
    expect(() => quantizeLinear(src, 1, 0.5, dst)).toThrow(/zero point 0.5/);
    expect(() => quantizeLinear(src, 1, 0, dst, { qmin: 10, qmax: 5 })).toThrow(/qmin/);
    expect(() => quantizeLinear(src, 1, 0, new Uint8Array(6), { qmin: -1 })).toThrow(/qmin/);
    expect(() => quantizeLinear(src, 1, 0, new Int16Array(6) as unknown as Int8Array)).toThrow(/Int8Array or a Uint8Array/);
  });
});
