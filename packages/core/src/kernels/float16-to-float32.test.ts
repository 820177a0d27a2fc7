import { fc, test } from '@fast-check/vitest';
import { expect, it } from 'vitest';
import { ForgeError } from '../errors.js';
import { float16BitsToFloat32 } from '../numeric/float16.js';
import { describeBackends } from './testing/describe-backends.js';
import { float16ToFloat32 } from './float16-to-float32.js';
import { float32ToFloat16 } from './float32-to-float16.js';

const ALL_HALVES = Uint16Array.from({ length: 65536 }, (_, i) => i);

describeBackends('float16ToFloat32', () => {
  it('matches float16BitsToFloat32 on all 65536 bit patterns, keeping NaN payloads and -0', () => {
    const out = float16ToFloat32(ALL_HALVES);
    const bits = new Uint32Array(out.buffer);
    const wrong: string[] = [];
    for (let h = 0; h < 65536; h++) {
      const want = float16BitsToFloat32(h);
      // A NaN keeps its sign and payload, shifted into the float32 mantissa.
      const ok = Number.isNaN(want)
        ? bits[h] === (((h & 0x8000) << 16) | 0x7f800000 | ((h & 0x3ff) << 13)) >>> 0
        : Object.is(out[h], want);
      if (!ok) wrong.push(`0x${h.toString(16)} -> ${out[h]}, want ${want}`);
    }
    expect(wrong).toEqual([]);
  });

  it('round-trips every half through float32 back to the same bits (NaNs come back quiet)', () => {
    const back = float32ToFloat16(float16ToFloat32(ALL_HALVES), undefined, { clamp: false });
    const wrong: number[] = [];
    for (let h = 0; h < 65536; h++) {
      const isNaN = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
      if (back[h] !== (isNaN ? h | 0x200 : h)) wrong.push(h);
    }
    expect(wrong).toEqual([]);
  });

  test.prop([fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 41, size: 'max' })])('handles every tail length', (halves) => {
    const out = float16ToFloat32(Uint16Array.from(halves), new Float32Array(halves.length));
    halves.forEach((h, i) => {
      const want = float16BitsToFloat32(h);
      expect(Number.isNaN(want) ? Number.isNaN(out[i]) : Object.is(out[i], want)).toBe(true);
    });
  });

  it('rejects a wrong-sized dst', () => {
    expect(() => float16ToFloat32(new Uint16Array(3), new Float32Array(2))).toThrow(ForgeError);
  });
});
